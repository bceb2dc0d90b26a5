"""Which format a config file is in, decided the way Batfish's VendorConfigurationFormatDetector does.

Order (Batfish's): empty; an explicit `!BATFISH_FORMAT: x` / `#BATFISH-FORMAT: x` line; a RANCID
`!RANCID-CONTENT-TYPE: x` header; then content signatures: Cumulus concatenated (`# This file describes the
network interfaces`), Cumulus NCLU, F5, IOS-XR, iptables, Palo Alto, VyOS, Arista (`! device: ... EOS-`,
`boot system flash...swi`, `ip community-list regexp`), Juniper (`set system host-name`, `system {`), and
finally Cisco (`interface ...`, `!` as first character, `ip access-list`): NX-OS, ASA or IOS.

One addition: plain FRR (frr.conf on its own), which Batfish has no format for (it would call it CISCO_IOS),
is recognized by FRR's own markers (`frr version`, `frr defaults`) or, without them, by FRR's address syntax
(`ip address A/P` on an interface) in a file with no IOS/EOS tells. It is reported as format FRR.
"""

from __future__ import annotations

import re

_BATFISH_FORMAT = re.compile(r"(?m)^[!#] *BATFISH[-_]FORMAT *: *([a-zA-Z0-9_-]+)")
_RANCID = re.compile(r"(?m)^[!#]RANCID-CONTENT-TYPE: ([a-zA-Z0-9_-]+)")
_BANNER = re.compile(r"(?m)^banner ")

_RANCID_TYPES = {
    "arista": "ARISTA", "ios": "CISCO_IOS", "cisco-ncs": "CISCO_IOS", "ios-nx": "CISCO_NX", "cisco-nx": "CISCO_NX",
    "ios-xr": "CISCO_IOS_XR", "cisco-xr": "CISCO_IOS_XR", "ios-xr7": "CISCO_IOS_XR", "cisco-xr7": "CISCO_IOS_XR",
    "ios-exr": "CISCO_IOS_XR", "cisco-exr": "CISCO_IOS_XR", "dnos9": "FORCE10", "dnos10": "FORCE10",
    "force10": "FORCE10", "f5": "F5_BIGIP_STRUCTURED", "bigip": "F5_BIGIP_STRUCTURED",
    "bigip13": "F5_BIGIP_STRUCTURED", "fortigate": "FORTIOS", "fortigate-full": "FORTIOS", "foundry": "FOUNDRY",
    "a10": "A10_ACOS", "mrv": "MRV", "ibmbnt": "IBM_BNT",
    "frr": "UNSUPPORTED", "zebra": "UNSUPPORTED",  # Batfish: stand-alone FRR is not one of its formats
}

_SIGNATURES: list[tuple[str, re.Pattern[str]]] = [
    ("A10_ACOS", re.compile(r"(?m)version \d+.\d+.\d+[\w.-]*, build \d+ \([A-Za-z]+-\d{1,2}-\d{4},\d\d:\d\d\)")),
    ("CHECK_POINT_GATEWAY", re.compile(r"(?m)^# Configuration of [\w-]+\R+# Language version: ".replace(
        r"\R", r"[\r\n]"))),
    ("FORTIOS", re.compile(r"config system global")),
    ("RUCKUS_ICX", re.compile(r"module \d+ icx")),
    ("CADANT", re.compile(r"(?m)^shelfname")),
    ("CUMULUS_CONCATENATED", re.compile(r"(?m)^# This file describes the network interfaces")),
    ("CUMULUS_NCLU", re.compile(r"(?m)^net del all$")),
    ("F5", re.compile(r"(?m)^tmsh .*$")),
    ("CISCO_IOS_XR", re.compile(r"IOS XR")),
    ("FLAT_VYOS", re.compile(r"set system config-management commit-revisions")),
]
_IPTABLES_WORDS = ("INPUT", "OUTPUT", "FORWARD")
_ARISTA = [re.compile(r"(?m)^.*boot system flash.*\.swi"), re.compile(r"(?m)^! device: .*\(.*EOS-\d.*"),
           re.compile(r"(?m)^ip (ext)?community-list regexp")]
_JUNIPER = [re.compile(r"(?m)^set (groups [^ ][^ ]* )?system host-name "), re.compile(r"(?m)^firewall *\{"),
            re.compile(r"(?m)^policy-options *\{"), re.compile(r"(?m)^snmp *\{")]
_PALO_ALTO = re.compile(r"(?m)(deviceconfig|send-to-panorama|panorama-server)")
_XR = re.compile(r"(?m)^\s*(interface Bundle-Ether|end-policy\b|end-set\b|ipv4 access-list\b)")
_NEXUS = [re.compile(r"boot nxos"), re.compile(r"(?m)^\s*(no\s*)?feature\s+[^\s+].*$"),
          re.compile(r"bootflash:(n\d+|/?nxos)")]
_CISCO_LIKE = re.compile(r"(?m)(^boot system flash.*$)|(^interface .*$)")
_CISCO_ACL = re.compile(r"(?m)(^(ip )?access-list.*$)")
_NEXUS_COMMIT = re.compile(r"(?m)^ *commit *$")

_FRR_MARKERS = re.compile(r"(?m)^frr (version|defaults) ")
_FRR_CIDR = re.compile(r"(?m)^\s*ip addr(ess)? \d+\.\d+\.\d+\.\d+/\d+\s*$")
_IOS_TELLS = re.compile(r"(?m)^\s*(ip address \d+\.\d+\.\d+\.\d+ \d+\.\d+\.\d+\.\d+|version \d|switchport|"
                        r"management |daemon |transceiver |spanning-tree |end$|ip routing$|"
                        r"service timestamps|boot-start-marker|no ip domain)")

# Formats realfish parses.
SUPPORTED = {"CISCO_IOS", "ARISTA", "FRR", "CUMULUS_CONCATENATED", "SONIC", "HOST", "IPTABLES"}


def detect_format(text: str) -> str:
    """Batfish's ConfigurationFormat name for this file's text (plus FRR)."""
    trimmed = text.strip()
    if not trimmed:
        return "EMPTY"
    first = trimmed[0]
    m = _BATFISH_FORMAT.search(text)
    if m:
        return m.group(1).upper()
    m = _RANCID.search(text)
    if m:
        kind = m.group(1)
        if kind in ("juniper", "juniper-srx", "junos"):
            return "JUNIPER" if "{" in text else "FLAT_JUNIPER"
        if kind == "paloalto":
            return "PALO_ALTO"
        if kind != "cisco":  # old RANCID's `cisco` says nothing: fall through to the heuristics
            return _RANCID_TYPES.get(kind, "UNKNOWN")
    not_juniper = bool(_BANNER.search(text))
    for fmt, pat in _SIGNATURES:
        if pat.search(text):
            return fmt
    if all(w in text for w in _IPTABLES_WORDS):
        return "IPTABLES"
    if "application metamux" in text or "application metawatch" in text:
        return "METAMAKO"
    if "System.SystemName" in text:
        return "MRV"
    if _PALO_ALTO.search(text):
        return "PALO_ALTO"
    if all(w in text for w in ("system", "{", "}", "config-management", "commit-revisions")):
        return "VYOS"
    if any(p.search(text) for p in _ARISTA):
        return "ARISTA"
    if _FRR_MARKERS.search(text) or (_FRR_CIDR.search(text) and not _IOS_TELLS.search(text)):
        return "FRR"
    if not not_juniper:
        if "set hostname" in text:
            return "JUNIPER_SWITCH"
        if any(p.search(text) for p in _JUNIPER) or (
                "apply-groups" in text and re.search(r"(?m)^set ", text)) or all(
                w in text for w in ("system", "{", "}", "host-name", "interfaces")):
            return "JUNIPER" if "{" in text else "FLAT_JUNIPER"
    if re.search(r"(?m)^system name", text):
        return "ALCATEL_AOS"
    if re.search(r"(?m)^set system name", text):
        return "MSS"
    if re.search(r"(?m)^netservice.*$", text):
        return "ARUBAOS"
    if re.search(r"(?m)^(ASA Version.*$)", text):
        return "CISCO_ASA"
    if _XR.search(text):
        return "CISCO_IOS_XR"
    if any(p.search(text) for p in _NEXUS):
        return "CISCO_NX"
    if _CISCO_LIKE.search(text) or first == "!" or _CISCO_ACL.search(text):
        return "CISCO_IOS"
    if _NEXUS_COMMIT.search(text):
        return "CISCO_NX"
    return "UNKNOWN"
