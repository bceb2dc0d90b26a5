"""The language Cisco IOS, Arista EOS and FRR share, read into the device model.

The three CLIs share their shape (Quagga, FRR's ancestor, copied IOS; EOS copied IOS): hierarchy by
indentation, `interface X`, `router bgp N` with `neighbor` lines and address families, `router ospf`,
`route-map`, `ip prefix-list`, community and as-path lists, ACLs, `ip route`. `CiscoLikeParser` reads that
common language, with IOS's meaning where the dialects differ; each dialect is a subclass that says where its
syntax or its defaults differ (`IosParser` in ios.py, `EosParser` in eos.py, `FrrParser` in frrconf.py).

Every line ends in exactly one status (realfish.status): translated, ignored (no effect on routing or
forwarding, e.g. `ntp server`), unsupported (has an effect realfish cannot express; the reason is given),
unrecognized, or error (invalid value). A final sweep marks any line no handler claimed as unrecognized, so
nothing can be dropped silently.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from typing import Literal

from realfish.model import (
    FRR_FORMATS,
    Acl,
    AclLine,
    AsPathList,
    AsPathListEntry,
    BgpAggregate,
    BgpListenRange,
    BgpNetwork,
    BgpPeer,
    BgpProcess,
    CommunityList,
    CommunityListEntry,
    Device,
    DeviceInterface,
    OspfArea,
    OspfProcess,
    PrefixList,
    PrefixListEntry,
    Redistribution,
    RouteMap,
    RouteMapClause,
    RouteMapMatch,
    RouteMapSet,
    StaticRoute,
    StructureDefinition,
    StructureReference,
    canonical_ifname,
)
from realfish.parsers.tree import Node, Tree, parse_tree
from realfish.status import FileStatus, LineKind, LineNote

Action = Literal["permit", "deny"]


class BadValue(ValueError):
    """A value in a recognized line is invalid; the line is reported as an error and skipped."""


# -- values --------------------------------------------------------------------------------------------------


def mask_len(mask: str) -> int:
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
    except ValueError:
        raise BadValue(f"{mask!r} is not a contiguous netmask") from None


def wildcard_len(wildcard: str) -> int | None:
    """Prefix length of a contiguous wildcard (0.0.0.255 -> 24); None when not contiguous."""
    try:
        w = int(ipaddress.IPv4Address(wildcard))
    except ValueError:
        raise BadValue(f"{wildcard!r} is not an IPv4 wildcard") from None
    inv = (~w) & 0xFFFFFFFF
    bits = bin(inv).count("1")
    return bits if inv == ((0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF) else None


def ipv4(text: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise BadValue(f"{text!r} is not an IPv4 address") from None


def iface_addr(words: list[str]) -> ipaddress.IPv4Interface:
    """`A/P` or `A MASK` (words after `ip address`)."""
    if not words:
        raise BadValue("missing address")
    try:
        if "/" in words[0]:
            return ipaddress.IPv4Interface(words[0])
        if len(words) < 2:
            raise BadValue(f"{words[0]} without a mask")
        return ipaddress.IPv4Interface((words[0], mask_len(words[1])))
    except ValueError as e:
        raise BadValue(str(e)) from None


def prefix(words: list[str]) -> tuple[ipaddress.IPv4Network, int]:
    """`A/P` or `A MASK` -> (network, words used). Host bits are cleared (IOS does it too)."""
    if not words:
        raise BadValue("missing prefix")
    try:
        if "/" in words[0]:
            return ipaddress.IPv4Network(words[0], strict=False), 1
        if len(words) < 2:
            raise BadValue(f"{words[0]} without a mask")
        return ipaddress.IPv4Network((words[0], mask_len(words[1])), strict=False), 2
    except ValueError as e:
        raise BadValue(str(e)) from None


def _speed_kbps(words: list[str]) -> int | None:
    """IOS `speed 100` (Mb/s), EOS `speed [forced] 10g|100gfull|1000full|40g-4`: kb/s; None for `auto` and
    anything else that names no fixed speed."""
    if words[:1] == ["forced"]:
        words = words[1:]
    if not words:
        return None
    m = re.fullmatch(r"(\d+)(g|m)?(?:full|half)?(?:-\d+)?", words[0])
    if m is None or int(m.group(1)) == 0:
        return None
    return int(m.group(1)) * (1_000_000 if m.group(2) == "g" else 1000)


def classful(addr: ipaddress.IPv4Address) -> ipaddress.IPv4Network:
    first = int(addr) >> 24
    plen = 8 if first < 128 else 16 if first < 192 else 24
    return ipaddress.IPv4Network((addr, plen), strict=False)


def dotted_area(text: str) -> str:
    if text.isdigit():
        return str(ipaddress.IPv4Address(int(text) & 0xFFFFFFFF))
    return str(ipv4(text))


def integer(text: str, lo: int = 0, hi: int = 2**32 - 1) -> int:
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise BadValue(f"{text!r} is not an integer from {lo} to {hi}")
    return int(text)


# IOS "type 7" passwords: the clear text XORed with this public table from an offset the first two digits give
_TYPE7 = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def ios_type7(text: str) -> str:
    if len(text) < 4 or len(text) % 2 or not text[:2].isdigit():
        raise BadValue(f"{text!r} is not an IOS type 7 password")
    try:
        codes = [int(text[i:i + 2], 16) for i in range(2, len(text), 2)]
    except ValueError as e:
        raise BadValue(f"{text!r} is not an IOS type 7 password") from e
    seed = int(text[:2])
    return "".join(chr(c ^ ord(_TYPE7[(seed + i) % len(_TYPE7)])) for i, c in enumerate(codes))


def asn(text: str) -> str:
    if "." in text:  # asdot
        hi, _, lo = text.partition(".")
        return str(integer(hi, 0, 65535) * 65536 + integer(lo, 0, 65535))
    return str(integer(text, 1))


# -- the parser ----------------------------------------------------------------------------------------------

# Top-level commands with no effect on routing or forwarding (management, logging, hardware, services).
_NUMBERED_ACL = re.compile(r"^\s*access-list\s+\S+\s+(?:seq\s+\d+\s+)?", re.I)  # Batfish's line name: the rest

# Batfish's names (CiscoStructureType / CiscoStructureUsage) for what a reference must point at and why
ACL_REF = "ipv4/6 acl"  # any IPv4 or IPv6 ACL, standard or extended
_MATCH_REFERENCES = {
    "prefix-list": ("ipv4 prefix-list", "route-map match ip prefix-list"),
    "next-hop-prefix-list": ("ipv4 prefix-list", "route-map match ip next-hop prefix-list"),
    "acl": (ACL_REF, "route-map match ip access-list"),
    "community": ("community-list", "route-map match community-list"),
    "community-exact": ("community-list", "route-map match community-list"),
    "as-path": ("as-path access-list", "route-map match as-path access-list"),
}

IGNORED_TOP = {
    "version", "service", "boot-start-marker", "boot-end-marker", "boot", "aaa", "ntp", "logging", "clock",
    "enable", "username", "snmp-server", "multilink", "control-plane", "line", "end", "archive",
    "memory-size", "license", "redundancy", "call-home", "diagnostic", "errdisable", "hw-module", "platform",
    "cdp", "lldp", "alias", "exception", "scheduler", "process", "spanning-tree", "vtp", "management",
    "switch", "transceiver", "daemon", "event-handler", "dns", "terminal", "mac", "system", "tacacs-server",
    "tacacs", "radius-server", "radius", "sflow", "queue-monitor", "hardware", "prompt", "power", "vlan",
    "crypto", "key", "file", "monitor", "ssh", "privilege", "port-channel", "load-interval", "dot1x",
    "mpls", "qos", "policy-map", "class-map", "password", "frr", "debug", "agentx", "log", "ptp", "dhcp",
    "feature", "tftp-server", "banner", "security", "macro", "udld", "vrrp", "template", "mls", "wrr-queue",
    "access-session", "device-tracking", "ipv6", "login", "stopbits", "exec-timeout", "exit", "xconnect",
}
# `ip X` / `no ip X` / `ipv6 X` commands with no effect on the emulated control plane.
IGNORED_IP = {
    "domain", "domain-name", "domain-lookup", "domain-list", "name-server", "cef", "http", "ftp", "tftp",
    "ssh", "scp", "forward-protocol", "tcp", "icmp", "bgp-community", "source-route", "finger", "dhcp",
    "subnet-zero", "classless", "flow-export", "flow-cache", "flow-top-talkers", "igmp", "multicast-routing",
    "options", "host", "as-path-regex-mode", "radius", "tacacs", "sla", "vrf", "rcmd", "accounting-threshold",
    "default-gateway", "unicast-routing", "hardware", "load-sharing", "virtual-router", "name", "arp",
    "forwarding", "nht", "import-table", "protocol", "nat", "pim", "mroute", "msdp", "ospf",
}
IGNORED_INTERFACE = {
    "negotiation", "speed", "duplex", "media-type", "cdp", "load-interval", "keepalive", "mop", "logging",
    "storm-control", "spanning-tree", "lldp", "service-policy", "link-detect", "flowcontrol", "hold-queue",
    "carrier-delay", "snmp", "qos", "priority-queue", "mls", "wrr-queue", "power", "udld", "errdisable",
    "mac", "mac-address", "arp", "ptp", "sflow", "transceiver", "error-correction", "phy", "dhcp",
    "evpn", "multicast", "macro", "auto", "small-frame", "srr-queue", "trust", "dot1x", "authentication",
    "mab", "access-session", "device-tracking", "no", "exit", "ipv6", "tx-queue", "rx-queue",
}
IGNORED_INTERFACE_IP = {
    "route-cache", "redirects", "proxy-arp", "unreachables", "mroute-cache", "directed-broadcast",
    "helper-address", "dhcp", "flow", "igmp", "pim", "nbar", "verify", "virtual-reassembly", "tcp", "local-proxy-arp",
    "mask-reply", "accounting", "information-reply", "nat", "policy", "sticky-arp", "attached-host",
}


class CiscoLikeParser:
    FORMAT = "CISCO_IOS"
    # Vendor defaults that differ from FRR's; the renderer makes them explicit.
    EBGP_REQUIRES_POLICY = False  # IOS/EOS accept eBGP routes without a policy; FRR 8.4 requires one
    # IOS: `bgp default ipv4-unicast` activates IPv6 neighbors in IPv4 unicast too; EOS only with
    # `bgp default ipv4-unicast transport ipv6`
    IPV4_UNICAST_OVER_IPV6 = True
    BGP_DISTANCES: tuple[int, int, int] | None = None  # (ebgp, ibgp, local); None: FRR's 20/200/200
    SEND_COMMUNITY_DEFAULT = False  # IOS/EOS send no communities unless told; FRR sends them all
    MAXIMUM_PATHS_DEFAULT: int | None = 1  # IOS/EOS: one path; FRR: 64
    COMMENTS = "!"
    CANONICAL_NAMES = True  # expand IOS abbreviations (Gi0/0); FRR's names are Linux names, taken as written
    ADDRESSES_ADD = False  # a second `ip address` without `secondary` replaces the first, as on IOS/EOS

    def __init__(self, text: str, file: str, status: FileStatus | None = None, start_line: int = 1,
                 end_line: int | None = None, device: Device | None = None):
        self.text = text
        self.status = status or FileStatus(file, self.FORMAT)
        self.device = device or Device(hostname="", format=self.FORMAT, source=file)
        self.start_line = start_line
        self.end_line = end_line
        self.done: set[int] = set()
        self.ospf_by_id: dict[str, OspfProcess] = {}
        self.switchport_default = False  # EOS: Ethernet ports are switchports unless routed
        self.routed: set[str] = set()  # interfaces with `no switchport`
        self.policy_lines: dict[tuple[str, str], int] = {}  # (peer key, attribute) -> line that set it

    def ifname(self, name: str) -> str:
        """The full interface name for an abbreviation (`Gi0/0`); FRR-family names are taken as written."""
        return canonical_ifname(name) if self.CANONICAL_NAMES else name

    # -- recording -------------------------------------------------------------------------------------------

    def define(self, kind: str, name: str, n: Node, whole: bool = True) -> None:
        """Record a named structure's definition: the line, and with `whole` every line under it."""
        lines = [c.line for c in n.walk()] if whole else [n.line]
        for d in self.device.definitions:
            if d.type == kind and d.name == name:
                d.lines = sorted(set(d.lines) | set(lines))
                return
        self.device.definitions.append(StructureDefinition(kind, name, sorted(lines)))

    def define_used(self, kind: str, name: str, n: Node) -> None:
        """A structure that refers to itself (Batfish never reports it unused): one line."""
        self.define(kind, name, n, whole=False)
        self.refer(kind, name, kind, n.line)

    def refer(self, kind: str, name: str, usage: str, line: int) -> None:
        self.device.references.append(StructureReference(kind, name, usage, line))

    def mark(self, n: Node, kind: LineKind, message: str = "") -> None:
        if n.line in self.done:
            return
        self.done.add(n.line)
        if kind != "translated" or message:
            self.status.note(n.line, kind, n.text, message, n.context)
        elif kind == "translated":
            self.status.note(n.line, kind, n.text, "", n.context)

    def ok(self, n: Node, message: str = "") -> None:
        self.mark(n, "translated", message)

    def mark_block(self, n: Node, kind: LineKind, message: str, inner: str, subtree: bool = True) -> None:
        """Mark a line, and (with subtree) every line under it, with one status."""
        self.mark(n, kind, message)
        if subtree:
            for c in n.children:
                for d in c.walk():
                    self.mark(d, kind, inner)

    def ign(self, n: Node, why: str = "no effect on routing or forwarding", subtree: bool = True) -> None:
        self.mark_block(n, "ignored", why, why, subtree)

    def unsup(self, n: Node, why: str, subtree: bool = True) -> None:
        self.mark_block(n, "unsupported", why, f"inside an unsupported block: {why}", subtree)

    def ipv6_line(self, n: Node, why: str) -> None:
        """An IPv6 BGP/static/policy line (block): not in the model, so not rendered for this vendor."""
        self.unsup(n, why)

    def unrec(self, n: Node, subtree: bool = True) -> None:
        self.mark_block(n, "unrecognized", "This syntax is unrecognized", "inside an unrecognized block", subtree)

    def guarded(self, n: Node, fn: Callable[[Node], None]) -> None:
        try:
            fn(n)
        except BadValue as e:
            self.mark(n, "error", f"invalid value, line skipped: {e}")
        except (IndexError, ValueError) as e:
            self.mark(n, "unrecognized", f"This syntax is unrecognized ({type(e).__name__})")

    # -- driver ----------------------------------------------------------------------------------------------

    def tree(self) -> Tree:
        return parse_tree(self.text, self.COMMENTS, self.start_line, self.end_line)

    def parse(self) -> Device:
        tree = self.tree()
        for line, text, why in tree.skipped:
            self.done.add(line)
            self.status.notes.append(_note(line, text, why))
        self.status.lines = max(self.status.lines, tree.lines)
        for n in tree.roots:
            self.guarded(n, self.top)
        for n in tree.walk():  # the sweep: nothing is dropped silently
            if n.line not in self.done:
                self.unrec(n, subtree=False)
        self.finish()
        return self.device

    def finish(self) -> None:
        d = self.device
        for iface in d.interfaces.values():
            if (self.switchport_default and iface.kind == "physical" and not iface.addresses
                    and not iface.switchport and iface.name not in self.routed):
                iface.switchport = True
        self.check_references()

    def check_references(self) -> None:
        """Undefined structures are warnings, as in Batfish's undefinedReferences."""
        d = self.device
        if d.bgp is None:
            return
        for peer in list(d.bgp.peers.values()) + list(d.bgp.groups.values()):
            for attr in ("route_map_in", "route_map_out"):
                rm = getattr(peer, attr)
                if rm and rm not in d.route_maps:
                    line = self.policy_lines.get((peer.key, attr), peer.line)
                    self.status.note(line, "warning", "", f"neighbor {peer.key}: route-map {rm} is not "
                                     "defined (FRR denies every route through an undefined route-map)")

    # -- top level -------------------------------------------------------------------------------------------

    def top(self, n: Node) -> None:
        w = n.words
        head = w[0].lower()
        if head == "hostname":
            self.hostname(n)
        elif head in ("interface", "int"):
            self.interface(n)
        elif head == "router" and len(w) >= 2:
            kind = w[1].lower()
            if kind == "bgp":
                self.router_bgp(n)
            elif kind == "ospf":
                self.router_ospf(n)
            else:
                self.unsup(n, f"routing protocol `router {w[1]}` is not modelled (realfish runs BGP, OSPFv2 and "
                              "static routes)")
        elif head == "route-map":
            self.route_map(n)
        elif head == "ip" and len(w) >= 2:
            self.top_ip(n)
        elif head == "ipv6" and len(w) >= 3 and w[1] == "route" and self.FORMAT not in FRR_FORMATS:
            self.static_route6(n)
        elif head == "ipv6" and len(w) >= 2 and w[1] in ("route", "prefix-list", "access-list"):
            self.ipv6_line(n, "IPv6 routing policy is not modelled yet")
        elif head == "access-list":
            self.numbered_acl(n)
        elif head == "bgp" and len(w) >= 2 and w[1] in ("community-list", "as-path", "extcommunity-list"):
            self.top_ip(n, offset=0)
        elif head == "no":
            self.top_no(n)
        elif head == "switchport":  # EOS: `switchport default mode routed|access`
            self.switchport_default = "routed" not in [x.lower() for x in w]
            self.ok(n)
        elif head in ("vrf", "ip vrf") and len(w) >= 2:
            self.vrf(n)
        elif head in IGNORED_TOP:
            self.ign(n)
        elif n.text.strip().startswith(("Building configuration", "Current configuration")):
            # `show running-config`'s own header, not configuration: Batfish's Cisco grammar skips it too
            self.ign(n, "show running-config header")
        else:
            self.unrec(n)

    def top_no(self, n: Node) -> None:
        w = [x.lower() for x in n.words]
        if len(w) >= 3 and w[1] == "ip" and w[2] == "routing":
            if len(w) >= 5 and w[3] == "vrf":
                self.ok(n, f"VRF {n.words[4]} does not route")
            else:
                self.device.ip_routing = False
                self.ok(n, "the device does not route: it is modelled as a host")
        elif len(w) >= 3 and w[1] in ("ip", "ipv6") and (w[2] in IGNORED_IP or w[2] == "routing"):
            self.ign(n)
        elif len(w) >= 2 and (w[1] in IGNORED_TOP or w[1] in ("ip", "ipv6")):
            self.ign(n)
        else:
            self.unrec(n)

    def hostname(self, n: Node) -> None:
        if len(n.words) < 2:
            raise BadValue("hostname without a name")
        name = n.words[1].strip('"')
        self.device.original_hostname = name
        self.device.hostname = name.lower()
        self.ok(n)

    def vrf(self, n: Node) -> None:
        # `vrf definition X` (IOS-XE/EOS), `ip vrf X` (IOS), `vrf instance X` (EOS), `vrf X` (FRR)
        w = n.words
        name = w[2] if len(w) >= 3 and w[1] in ("definition", "instance") else w[1]
        self.device.vrfs.add(name)
        self.ok(n, "VRF defined; routing inside VRFs is not emulated yet")
        for c in n.walk():
            if c is not n:
                self.ign(c, "VRF attribute (route distinguisher, targets): not used without VRF emulation")

    # -- interfaces ------------------------------------------------------------------------------------------

    def interface(self, n: Node) -> None:
        if len(n.words) < 2:
            raise BadValue("interface without a name")
        name = self.ifname("".join(n.words[1:2]))
        if len(n.words) > 2 and n.words[2] not in ("vrf",) and n.words[2][0].isdigit():
            name = self.ifname(n.words[1] + n.words[2])  # `interface Ethernet 1` (EOS accepts a space)
        iface = self.device.interface(name, n.line)
        self.ok(n)
        self.define("interface", name, n)
        self.refer("interface", name, "interface", n.line)  # Batfish's self-reference: never unused
        if len(n.words) >= 4 and n.words[2] == "vrf":
            iface.vrf = n.words[3]
        for c in n.children:
            self.guarded(c, functools.partial(self.interface_line, iface))

    def interface_line(self, iface: DeviceInterface, n: Node) -> None:
        w = n.words
        low = [x.lower() for x in w]
        head = low[0]
        if head == "description":
            iface.description = n.text.split(None, 1)[1] if len(w) > 1 else ""
            self.ok(n)
        elif head == "shutdown":
            iface.shutdown = True
            self.ok(n)
        elif low[:2] == ["no", "shutdown"]:
            iface.shutdown = False
            self.ok(n)
        elif low[:3] == ["no", "ip", "address"]:
            iface.addresses = [a for a in iface.addresses if a.version == 6]
            self.ok(n)
        elif head == "ip" and len(w) >= 2 and low[1] == "address":
            self.interface_address(iface, n)
        elif head == "ipv6" and len(w) >= 3 and low[1] == "address":
            if low[2] in ("autoconfig", "dhcp") or "link-local" in low:
                self.unsup(n, "IPv6 autoconfiguration and configured link-local addresses are not emulated (the "
                              "interface has its EUI-64 link-local address)")
                return
            if len(w) > 3:
                self.unsup(n, f"IPv6 address option(s) {' '.join(w[3:])} not modelled")
                return
            try:
                addr = ipaddress.IPv6Interface(w[2])
            except ValueError:
                raise BadValue(f"{w[2]!r} is not an IPv6 address/prefix") from None
            iface.addresses.append(addr)
            self.ok(n)
        elif head in ("mtu", "l2") or low[:2] == ["ip", "mtu"]:
            if head == "l2":
                self.ign(n)
                return
            iface.mtu = integer(w[-1], 64, 65535)
            self.ok(n)
        elif head == "bandwidth":
            iface.bandwidth_kbps = integer(w[1], 1)
            self.ok(n, "used for the OSPF cost")
        elif head == "speed":
            iface.speed = " ".join(low[1:])
            iface.speed_kbps = _speed_kbps(low[1:]) or iface.speed_kbps
            if _speed_kbps(low[1:]) is not None:
                self.ok(n, "the link speed: the bandwidth (OSPF cost) unless `bandwidth` is set")
            else:
                self.ign(n)
        elif low[:2] == ["ip", "proxy-arp"] or low[:3] == ["no", "ip", "proxy-arp"]:
            iface.proxy_arp = head != "no"  # answered by the traceroute's ARP; FRR has no such setting
            self.ign(n)
        elif low[:2] == ["spanning-tree", "portfast"]:
            iface.portfast = iface.portfast or low[2:3] != ["disable"]
            self.ign(n)
        elif head == "encapsulation" and len(w) >= 3 and low[1] == "dot1q":
            iface.encapsulation_vlan = integer(w[2], 1, 4094)
            self.ok(n, "802.1Q tag: the subinterface is a separate L3 interface")
        elif (head == "vrf" and len(w) >= 2) or low[:2] == ["ip", "vrf"]:
            iface.vrf = w[-1]
            self.ok(n, "VRF membership recorded; VRFs are not emulated yet (the interface routes in the "
                       "default VRF)")
        elif head == "ip" and len(w) >= 3 and low[1] == "access-group":
            if low[-1] == "out":
                iface.acl_out = w[2]
            else:
                iface.acl_in = w[2]
            self.refer(ACL_REF, w[2], f"interface {'outgoing' if low[-1] == 'out' else 'incoming'} ip access-list",
                       n.line)
            self.ok(n, "interface ACL: FRR has none; kept in the model for the traceroute answerer")
        elif head == "ip" and len(w) >= 2 and low[1] == "ospf":
            self.interface_ospf(iface, n)
        elif head == "switchport":
            if len(w) == 1:
                iface.switchport = True
                self.ok(n, "layer-2 port: no routing on it")
            else:
                self.ign(n, "layer-2 switching attribute (VLANs are not emulated)")
        elif low[:2] == ["no", "switchport"]:
            iface.switchport = False
            self.routed.add(iface.name)
            self.ok(n)
        elif head == "channel-group":
            self.unsup(n, "link aggregation (channel-group) is not emulated; the member is left unlinked")
        elif head in ("standby", "vrrp", "glbp"):
            self.unsup(n, "first-hop redundancy (HSRP/VRRP/GLBP) is not emulated")
        elif head == "ip" and len(w) >= 2 and low[1] in IGNORED_INTERFACE_IP:
            self.ign(n)
        elif head == "no" and len(w) >= 3 and low[1] == "ip" and low[2] in IGNORED_INTERFACE_IP:
            self.ign(n)
        elif head == "no" and len(w) >= 2 and low[1] in IGNORED_INTERFACE:
            self.ign(n)
        elif head == "no" and len(w) >= 2 and low[1] == "mtu":
            iface.mtu = None
            self.ok(n)
        elif head in IGNORED_INTERFACE:
            self.ign(n)
        elif head == "exit-if":
            self.ign(n, "end of block")
        else:
            self.unrec(n)

    def interface_address(self, iface: DeviceInterface, n: Node) -> None:
        w = n.words[2:]
        if w and w[0].lower() in ("dhcp", "negotiated", "unnumbered"):
            self.unsup(n, f"`ip address {w[0]}`: only static addresses are modelled")
            return
        addr = iface_addr(w)
        secondary = "secondary" in [x.lower() for x in w]
        v4 = [a for a in iface.addresses if a.version == 4]
        if secondary or not v4 or self.ADDRESSES_ADD:
            if addr not in iface.addresses:
                iface.addresses.append(addr)
        else:  # a second primary replaces the first, as on the device
            iface.addresses = [addr if a is v4[0] else a for a in iface.addresses]
        self.ok(n)

    def interface_ospf(self, iface: DeviceInterface, n: Node) -> None:
        w = n.words
        low = [x.lower() for x in w]
        sub = low[2] if len(low) > 2 else ""
        if sub == "cost":
            iface.ospf_cost = integer(w[3], 1, 65535)
        elif sub == "area":  # EOS, FRR: ip ospf area A
            iface.ospf_area = dotted_area(w[3])
        elif sub.isdigit() and len(w) >= 5 and low[3] == "area":  # IOS: ip ospf PID area A
            iface.ospf_area = dotted_area(w[4])
        elif sub == "network":
            iface.ospf_network_type = "point-to-point" if "point-to-point" in low else low[3]
        elif sub == "hello-interval":
            iface.ospf_hello = integer(w[3], 1, 65535)
        elif sub == "dead-interval":
            if low[3] == "minimal":
                self.unsup(n, "sub-second OSPF hellos are not emulated")
                return
            iface.ospf_dead = integer(w[3], 1, 65535)
        elif sub == "priority":
            iface.ospf_priority = integer(w[3], 0, 255)
        elif sub == "passive":
            iface.ospf_passive = True
        elif sub in ("authentication", "authentication-key", "message-digest-key"):
            if not self.interface_ospf_auth(iface, n, sub, w[3:]):
                return
        elif sub in ("bfd", "mtu-ignore", "retransmit-interval", "transmit-delay", "demand-circuit"):
            self.unsup(n, f"`ip ospf {sub}` is not modelled")
            return
        else:
            self.unrec(n)
            return
        self.ok(n)

    def interface_ospf_auth(self, iface: DeviceInterface, n: Node, sub: str, w: list[str]) -> bool:
        """`ip ospf authentication [message-digest|null]`, `ip ospf authentication-key [0|7] KEY`,
        `ip ospf message-digest-key ID md5 [0|7] KEY`; False when the line is marked (unsupported) here."""
        low = [x.lower() for x in w]
        if sub == "authentication":
            if low and low[0] not in ("message-digest", "null"):
                self.unsup(n, f"OSPF authentication `{' '.join(w)}` is not modelled")
                return False
            iface.ospf_auth = low[0] if low else "simple"
        else:
            if sub == "message-digest-key":
                if len(low) < 3 or low[1] != "md5":
                    raise BadValue("expected `message-digest-key ID md5 KEY`")
                key_id, w, low = integer(w[0], 1, 255), w[2:], low[2:]
            key = self.ospf_key(n, w, low)
            if key is None:
                return False
            if sub == "message-digest-key":
                iface.ospf_md5_keys[key_id] = key
            else:
                iface.ospf_auth_key = key
        iface.ospf_auth_lines.append(n.line)
        return True

    def ospf_key(self, n: Node, w: list[str], low: list[str]) -> str | None:
        """The key of an OSPF key line's `[0|7] KEY` (IOS type 7 decoded, as both ends' routers compare the
        clear key); None when it cannot be read here (the line is marked unsupported)."""
        if len(w) == 2 and low[0] == "0":
            return w[1]
        if len(w) == 2 and low[0] == "7" and self.FORMAT == "CISCO_IOS":
            return ios_type7(w[1])
        if len(w) == 1:
            return w[0]
        self.unsup(n, f"OSPF key in the form `{' '.join(w[:-1])} ...` is not modelled")
        return None

    # -- static routes, lists --------------------------------------------------------------------------------

    def top_ip(self, n: Node, offset: int = 1) -> None:
        """`ip ...` top-level commands; with offset=0, FRR's `bgp community-list` / `bgp as-path ...`."""
        w = n.words
        sub = w[offset].lower() if offset else w[1].lower()
        if sub == "route":
            self.static_route(n)
        elif sub == "prefix-list":
            self.prefix_list(n)
        elif sub == "community-list":
            self.community_list(n, offset)
        elif sub == "as-path" and len(w) > 2 and w[2] == "access-list":
            self.as_path_list(n, offset)
        elif sub == "access-list":
            self.named_acl(n)
        elif sub == "routing":
            self.device.ip_routing = True
            self.ok(n)
        elif sub in ("extcommunity-list", "large-community-list"):
            self.unsup(n, f"{sub} is not modelled")
        elif (sub == "domain-name" or (sub == "domain" and len(w) > 2 and w[2].lower() == "name")):
            self.device.domain_name = w[-1]  # `ip domain name X` / `ip domain-name X`
            self.ok(n, "domain name: no effect on routing (nodeProperties)")
        elif sub == "as-path" and len(w) > 2 and w[2] == "regex-mode":
            self.ign(n, "regex evaluation mode: FRR matches as-path regexes on the path string")
        elif sub in IGNORED_IP:
            self.ign(n)
        elif sub in ("vrf",):
            self.vrf(n)
        else:
            self.unrec(n)

    def static_route(self, n: Node) -> None:
        w = n.words[2:]
        vrf = None
        if w and w[0] == "vrf":
            vrf, w = w[1], w[2:]
        net, used = prefix(w)
        w = w[used:]
        route = StaticRoute(net, vrf=vrf, line=n.line)
        i = 0
        while i < len(w):
            tok = w[i]
            low = tok.lower()
            if _is_ipv4(tok):
                route.next_hop = ipaddress.IPv4Address(tok)
            elif tok.isdigit() and route.next_hop is None and route.interface is None:
                raise BadValue("a static route needs a next hop or an interface before its distance")
            elif tok.isdigit():
                route.distance = integer(tok, 1, 255)
            elif low == "tag":
                route.tag = integer(w[i + 1])
                i += 1
            elif low in ("name", "description"):
                i += 1
            elif low in ("permanent", "track", "global", "multicast"):
                if low == "track":
                    i += 1
            elif low in ("null0", "null") or low.startswith("null"):
                route.interface = "Null0"
            elif route.interface is None and route.next_hop is None:
                route.interface = self.ifname(tok)
            else:
                raise BadValue(f"unexpected {tok!r}")
            i += 1
        if route.next_hop is None and route.interface is None:
            raise BadValue("a static route needs a next hop or an interface")
        self.device.static_routes.append(route)
        self.ok(n)

    def prefix_list(self, n: Node) -> None:
        w = n.words
        v6 = w[0] == "ipv6"
        name = w[2]
        rest = w[3:]
        self.define(f"ipv{6 if v6 else 4} prefix-list", name, n)
        if not rest or rest[0] in ("description", "sequence-number"):
            self.device.prefix_lists.setdefault(name, PrefixList(name, v6))
            self.ign(n, "prefix-list description")
            return
        pl = self.device.prefix_lists.setdefault(name, PrefixList(name, v6))
        seq = None
        if rest[0] == "seq":
            seq, rest = integer(rest[1]), rest[2:]
        if seq is None:
            seq = (max((e.seq for e in pl.entries), default=0) // 5 + 1) * 5
        action = _action(rest[0])
        try:
            net = ipaddress.ip_network(rest[1], strict=False)
        except ValueError:
            raise BadValue(f"{rest[1]!r} is not a prefix") from None
        entry = PrefixListEntry(seq, action, net, line=n.line)
        i = 2
        while i + 1 < len(rest) + 1 and i < len(rest):
            if rest[i] == "ge":
                entry.ge = integer(rest[i + 1], 0, 128)
            elif rest[i] == "le":
                entry.le = integer(rest[i + 1], 0, 128)
            elif rest[i] == "eq":
                entry.ge = entry.le = integer(rest[i + 1], 0, 128)
            else:
                raise BadValue(f"unexpected {rest[i]!r}")
            i += 2
        pl.entries = [e for e in pl.entries if e.seq != seq] + [entry]
        pl.entries.sort(key=lambda e: e.seq)
        self.ok(n)

    def community_list(self, n: Node, offset: int) -> None:
        w = n.words[offset + 1:] if offset else n.words[2:]
        kind = None
        if w[0] in ("standard", "expanded"):
            kind, w = w[0], w[1:]
        elif w[0] == "regexp":  # EOS
            kind, w = "expanded", w[1:]
        name = w[0]
        if kind is None:
            kind = "standard" if name.isdigit() and int(name) < 100 else "expanded" if name.isdigit() else None
        if kind is None:
            raise BadValue("a named community-list needs `standard` or `expanded`")
        rest = w[1:]
        if rest and rest[0] == "seq":
            rest = rest[2:]
        action = _action(rest[0])
        values = " ".join(rest[1:])
        if kind == "standard":
            values = " ".join(_community(v) for v in rest[1:])
        cl = self.device.community_lists.setdefault(name, CommunityList(name, kind == "expanded"))
        self.define(f"{'expanded' if cl.expanded else 'standard'} community-list", name, n)
        cl.entries.append(CommunityListEntry(action, values, n.line))
        self.ok(n)

    def as_path_list(self, n: Node, offset: int) -> None:
        w = n.words[3:]
        name = w[0]
        rest = w[1:]
        if rest and rest[0] == "seq":
            rest = rest[2:]
        action = _action(rest[0])
        regex = " ".join(rest[1:])
        if regex.endswith(" any") or regex.endswith(" string"):  # EOS: trailing origin / mode keyword
            regex = regex.rsplit(" ", 1)[0]
        al = self.device.as_path_lists.setdefault(name, AsPathList(name))
        self.define("as-path access-list", name, n)
        al.entries.append(AsPathListEntry(action, regex, n.line))
        self.ok(n)

    # -- ACLs ------------------------------------------------------------------------------------------------

    def numbered_acl(self, n: Node) -> None:
        w = n.words
        name = w[1]
        if not name.isdigit():  # FRR: access-list NAME [seq N] permit|deny ...
            acl_kind: Literal["standard", "extended"] = "extended" if "ip" in w[2:5] else "standard"
        else:
            num = int(name)
            acl_kind = "standard" if num < 100 or 1300 <= num < 2000 else "extended"
        rest = w[2:]
        if rest and rest[0] == "seq":
            rest = rest[2:]
        if rest and rest[0] == "remark":
            self.ign(n, "remark")
            return
        acl = self.device.acls.setdefault(name, Acl(name, acl_kind))
        self.define(f"{acl.kind} ipv4 access-list", name, n)
        acl.lines.append(self.acl_line(rest, acl.kind, n, _NUMBERED_ACL.sub("", n.text)))
        self.define_used(f"{acl.kind} ipv4 access-list line", f"{name}: {acl.lines[-1].name}", n)
        self.ok(n, "ACL: used by route-maps (FRR access-list) and interfaces (traceroute answerer)")

    def named_acl(self, n: Node) -> None:
        w = n.words
        if len(w) >= 4 and w[2] in ("standard", "extended"):
            kind: Literal["standard", "extended"] = "standard" if w[2] == "standard" else "extended"
            name = w[3]
        elif len(w) >= 3:  # EOS: ip access-list NAME (extended)
            kind, name = "extended", w[2]
            if w[2] == "standard" and len(w) >= 4:
                kind, name = "standard", w[3]
        else:
            raise BadValue("access-list without a name")
        acl = self.device.acls.setdefault(name, Acl(name, kind))
        self.define(f"{kind} ipv{6 if acl.ipv6 else 4} access-list", name, n)
        self.ok(n)
        for c in n.children:
            def entry(c: Node, acl: Acl = acl) -> None:
                words = c.words
                if words[0].isdigit():  # sequence number (IOS-XE, EOS)
                    words = words[1:]
                if words and words[0] in ("remark", "statistics", "counters", "fragment-rules"):
                    self.ign(c, "ACL remark/statistics")
                    return
                acl.lines.append(self.acl_line(words, acl.kind, c, c.text))
                self.define_used(f"{acl.kind} ipv{6 if acl.ipv6 else 4} access-list line",
                                 f"{acl.name}: {c.text}", c)
                self.ok(c)
            self.guarded(c, entry)

    def acl_line(self, w: list[str], kind: str, n: Node, name: str) -> AclLine:
        action = _action(w[0])
        line = AclLine(action, text=n.text, name=name, line=n.line)
        if kind == "standard":
            line.src, _ = _acl_addr(w[1:])
            return line
        line.protocol = w[1].lower()
        rest = w[2:]
        line.src, used = _acl_addr(rest)
        rest = rest[used:]
        line.src_ports, used = _acl_ports(rest)
        rest = rest[used:]
        line.dst, used = _acl_addr(rest)
        rest = rest[used:]
        line.dst_ports, used = _acl_ports(rest)
        line.flags = " ".join(rest[used:])
        return line

    # -- route-maps ------------------------------------------------------------------------------------------

    def route_map(self, n: Node) -> None:
        w = n.words
        name = w[1]
        action: Action = "permit"
        seq = 10
        if len(w) >= 3:
            if w[2] in ("permit", "deny"):
                action = _action(w[2])
                if len(w) >= 4:
                    seq = integer(w[3], 0, 65535)
            else:
                seq = integer(w[2], 0, 65535)
        rm = self.device.route_maps.setdefault(name, RouteMap(name))
        self.define("route-map", name, n)
        self.define("route-map-clause", f"{name} {seq}", n)
        self.refer("route-map-clause", f"{name} {seq}", "route-map-clause", n.line)
        clause = rm.clause(seq, action, n.line)
        self.ok(n)
        for c in n.children:
            self.guarded(c, functools.partial(self.route_map_line, clause))

    def route_map_line(self, clause: RouteMapClause, n: Node) -> None:
        w = n.words
        low = [x.lower() for x in w]
        if low[0] == "match":
            self.route_map_match(clause, n, w[1:], low[1:])
        elif low[0] == "set":
            self.route_map_set(clause, n, w[1:], low[1:])
        elif low[0] == "continue":
            clause.continue_to = integer(w[1]) if len(w) > 1 else -1
            self.ok(n)
        elif low[0] == "description":
            clause.description = n.text.split(None, 1)[1] if len(w) > 1 else ""
            self.ign(n, "description")
        elif low[:2] == ["on-match", "next"]:
            clause.continue_to = -1
            self.ok(n)
        elif low[0] in ("exit",):
            self.ign(n, "end of block")
        else:
            self.unrec(n)

    def route_map_match(self, clause: RouteMapClause, n: Node, w: list[str], low: list[str]) -> None:
        m: RouteMapMatch | None = None
        if low[:3] == ["ip", "address", "prefix-list"]:
            m = RouteMapMatch("prefix-list", w[3:], n.line)
        elif low[:2] == ["ip", "address"]:
            m = RouteMapMatch("acl", w[2:], n.line)
        elif low[:3] == ["ip", "next-hop", "prefix-list"]:
            m = RouteMapMatch("next-hop-prefix-list", w[3:], n.line)
        elif low[0] == "community":
            args = [x for x in w[1:] if x.lower() != "exact-match"]
            m = RouteMapMatch("community-exact" if "exact-match" in low else "community", args, n.line)
        elif low[0] == "as-path":
            m = RouteMapMatch("as-path", w[1:], n.line)
        elif low[0] == "tag":
            m = RouteMapMatch("tag", w[1:], n.line)
        elif low[0] == "metric":
            m = RouteMapMatch("metric", w[1:], n.line)
        elif low[0] == "interface":
            m = RouteMapMatch("interface", [self.ifname(x) for x in w[1:]], n.line)
        elif low[0] == "source-protocol":
            m = RouteMapMatch("source-protocol", low[1:], n.line)
        elif low[0] in ("ipv6", "route-type", "extcommunity", "large-community", "local-preference", "rpki"):
            self.unsup(n, f"`match {' '.join(w)}` is not modelled")
            return
        else:
            self.unrec(n)
            return
        if not m.args:
            raise BadValue("match without a value")
        ref = _MATCH_REFERENCES.get(m.kind)
        if ref is not None:
            for name in m.args:
                self.refer(ref[0], name, ref[1], n.line)
        clause.matches.append(m)
        self.ok(n)

    def route_map_set(self, clause: RouteMapClause, n: Node, w: list[str], low: list[str]) -> None:
        s: RouteMapSet | None = None
        if low[0] == "local-preference":
            s = RouteMapSet("local-preference", [str(integer(w[1]))], n.line)
        elif low[0] == "metric" and len(w) >= 2:
            val = w[1]
            if not re.fullmatch(r"[+-]?\d+", val):
                raise BadValue(f"metric {val!r}")
            s = RouteMapSet("metric", [val], n.line)
        elif low[0] == "weight":
            s = RouteMapSet("weight", [str(integer(w[1], 0, 65535))], n.line)
        elif low[0] == "community":
            if low[1:] == ["none"]:
                s = RouteMapSet("community-none", [], n.line)
            else:
                additive = "additive" in low
                vals = [_community(x) for x in w[1:] if x.lower() != "additive"]
                s = RouteMapSet("community", vals + (["additive"] if additive else []), n.line)
        elif low[:2] == ["as-path", "prepend"]:
            vals = [v for v in w[2:] if v.isdigit()]
            if not vals or len(vals) != len(w[2:]):
                self.unsup(n, "only `set as-path prepend ASN...` with literal AS numbers is modelled")
                return
            s = RouteMapSet("as-path-prepend", vals, n.line)
        elif low[0] == "origin":
            s = RouteMapSet("origin", [low[1]], n.line)
        elif low[:2] == ["ip", "next-hop"]:
            arg = low[2]
            if arg in ("peer-address", "self") or _is_ipv4(w[2]):
                s = RouteMapSet("next-hop", [w[2] if _is_ipv4(w[2]) else arg], n.line)
            else:
                self.unsup(n, f"`set ip next-hop {w[2]}` is not modelled")
                return
        elif low[0] == "tag":
            s = RouteMapSet("tag", [str(integer(w[1]))], n.line)
        elif low[0] in ("comm-list", "community-list") and low[-1] == "delete":
            s = RouteMapSet("comm-list-delete", [w[1]], n.line)
            self.refer("community-list", w[1], "route-map delete community", n.line)
        elif low[0] == "metric-type":
            t = low[1].replace("type-", "").replace("external", "2").replace("internal", "1")
            s = RouteMapSet("metric-type", [t], n.line)
        elif low[0] in ("extcommunity", "large-community", "dampening", "ipv6", "interface", "level",
                        "distance", "src", "vrf", "global", "mpls-label"):
            self.unsup(n, f"`set {' '.join(w)}` is not modelled")
            return
        else:
            self.unrec(n)
            return
        clause.sets.append(s)
        self.ok(n)

    # -- OSPF ------------------------------------------------------------------------------------------------

    def router_ospf(self, n: Node) -> None:
        w = n.words
        pid = w[2] if len(w) >= 3 and w[2].isdigit() else "1"
        proc = self.ospf_by_id.get(pid)
        if proc is None:
            proc = OspfProcess(process_id=pid, line=n.line)
            self.ospf_by_id[pid] = proc
            self.device.ospf.append(proc)
        if "vrf" in w:
            proc.vrf = w[w.index("vrf") + 1]
        self.ok(n)
        for c in n.children:
            self.guarded(c, functools.partial(self.ospf_line, proc))

    def ospf_line(self, proc: OspfProcess, n: Node) -> None:
        w = n.words
        low = [x.lower() for x in w]
        head = low[0]
        if head == "router-id" or low[:2] == ["ospf", "router-id"]:
            proc.router_id = str(ipv4(w[-1]))
        elif head == "network":
            self.ospf_network(proc, n)
            return
        elif head == "passive-interface":
            if low[1] == "default":
                proc.passive_default = True
            else:
                proc.passive.add(self.ifname("".join(w[1:])))
        elif low[:2] == ["no", "passive-interface"]:
            if low[2] == "default":
                proc.passive_default = False
            else:
                name = self.ifname("".join(w[2:]))
                proc.non_passive.add(name)
                proc.passive.discard(name)
        elif head == "redistribute":
            proc.redistribute.append(self.redistribution(w[1:], n, "ospf"))
            if low[1] in ("connected", "static") and "subnets" not in low and self.FORMAT == "CISCO_IOS":
                self.ok(n, "without `subnets` IOS redistributes only classful networks; rendered as FRR's "
                           "redistribute, which takes every subnet")
                return
        elif low[:2] == ["default-information", "originate"]:
            proc.default_originate = True
            proc.default_originate_always = "always" in low
            if "metric" in low:
                proc.default_originate_metric = integer(low[low.index("metric") + 1])
            if "metric-type" in low:
                proc.default_originate_metric_type = integer(low[low.index("metric-type") + 1], 1, 2)
            if "route-map" in low:
                self.unsup(n, "default-information originate route-map is not modelled")
                return
        elif low[:2] == ["auto-cost", "reference-bandwidth"]:
            val = integer(w[2], 1)
            if len(low) > 3 and low[3] == "gbps":
                val *= 1000
            proc.reference_bandwidth_mbps = val
        elif head == "maximum-paths":
            proc.maximum_paths = integer(w[1], 1, 64)
        elif head == "distance" and len(w) == 2:
            proc.distance = integer(w[1], 1, 255)
        elif head == "area":
            self.ospf_area(proc, n)
            return
        elif head == "log-adjacency-changes" or (head == "no" and low[1:2] == ["log-adjacency-changes"]):
            proc.log_adjacency_changes = head != "no"
            self.ign(n, "logging")
            return
        elif head in ("timers", "max-metric", "bfd", "graceful-restart", "nsf", "capability", "ispf",
                      "summary-address", "distribute-list", "neighbor", "compatible", "prefix-suppression",
                      "fast-reroute", "mpls", "segment-routing", "max-lsa", "distance", "default-metric"):
            self.unsup(n, f"OSPF `{head}` is not modelled")
            return
        elif head in ("exit", "shutdown") and head == "exit":
            self.ign(n, "end of block")
            return
        else:
            self.unrec(n)
            return
        self.ok(n)

    def ospf_network(self, proc: OspfProcess, n: Node) -> None:
        w = n.words[1:]
        if "/" in w[0]:
            net = ipaddress.IPv4Network(w[0], strict=False)
            rest = w[1:]
        else:
            plen = wildcard_len(w[1])
            if plen is None:
                if len(w) < 4 or w[2].lower() != "area":
                    raise BadValue("network statement without an area")
                proc.wildcard_networks.append((ipv4(w[0]), ipv4(w[1]), dotted_area(w[3])))
                self.ok(n, "non-contiguous wildcard: rendered as `ip ospf area` on the interfaces it matches")
                return
            net = ipaddress.IPv4Network((w[0], plen), strict=False)
            rest = w[2:]
        if len(rest) < 2 or rest[0].lower() != "area":
            raise BadValue("network statement without an area")
        proc.networks.append((net, dotted_area(rest[1])))
        self.ok(n)

    def ospf_area(self, proc: OspfProcess, n: Node) -> None:
        w = n.words
        low = [x.lower() for x in w]
        area = proc.areas.setdefault(dotted_area(w[1]), OspfArea(dotted_area(w[1])))
        what = low[2] if len(low) > 2 else ""
        if what == "stub":
            area.stub = True
            area.no_summary = "no-summary" in low
        elif what == "nssa":
            area.nssa = True
            area.no_summary = "no-summary" in low
        elif what == "range":
            net, used = prefix(w[3:])
            area.ranges.append((net, "not-advertise" not in low))
        elif what == "authentication":
            area.authentication = "message-digest" if "message-digest" in low else "simple"
            area.authentication_line = n.line
        elif what in ("virtual-link", "filter-list", "default-cost"):
            self.unsup(n, f"OSPF `area ... {what}` is not modelled")
            return
        else:
            self.unrec(n)
            return
        self.ok(n)

    def redistribution(self, w: list[str], n: Node, process: str) -> Redistribution:
        low = [x.lower() for x in w]
        proto = low[0]
        if proto not in ("connected", "static", "ospf", "bgp", "rip", "kernel", "isis", "eigrp", "attached-host"):
            raise BadValue(f"cannot redistribute {w[0]!r}")
        r = Redistribution(proto, line=n.line, subnets="subnets" in low or self.FORMAT != "CISCO_IOS")
        if "route-map" in low:
            r.route_map = w[low.index("route-map") + 1]
            self.refer("route-map", r.route_map, f"{process} redistribute {proto} route-map", n.line)
        if "metric" in low:
            r.metric = integer(w[low.index("metric") + 1])
        if "metric-type" in low:
            r.metric_type = integer(w[low.index("metric-type") + 1].replace("type-", ""), 1, 2)
        return r

    # -- BGP -------------------------------------------------------------------------------------------------

    def router_bgp(self, n: Node) -> None:
        w = n.words
        if len(w) < 3:
            raise BadValue("router bgp without an AS number")
        if len(w) >= 5 and w[3] == "vrf":
            self.unsup(n, f"BGP in VRF {w[4]} is not emulated yet")
            return
        if self.device.bgp is not None and self.device.bgp.asn != asn(w[2]):
            raise BadValue("a second BGP process")
        if self.device.bgp is None:
            self.device.bgp = BgpProcess(asn(w[2]), line=n.line, ebgp_requires_policy=self.EBGP_REQUIRES_POLICY,
                                         default_ipv4_unicast_v6_transport=self.IPV4_UNICAST_OVER_IPV6)
        bgp = self.device.bgp
        self.ok(n)
        for c in n.children:
            self.guarded(c, functools.partial(self.bgp_line, bgp, af=False))

    def bgp_line(self, bgp: BgpProcess, n: Node, *, af: bool) -> None:
        w = n.words
        low = [x.lower() for x in w]
        head = low[0]
        if head == "address-family":
            if af:
                raise BadValue("nested address-family")
            self.bgp_af(bgp, n)
            return
        if head == "neighbor" and len(w) >= 3:
            self.bgp_neighbor(bgp, n, af)
            return
        if head == "no" and len(w) >= 3 and low[1] == "neighbor":
            self.bgp_no_neighbor(bgp, n)
            return
        if head == "router-id" or low[:2] == ["bgp", "router-id"]:
            bgp.router_id = str(ipv4(w[-1]))
        elif low[:2] == ["bgp", "log-neighbor-changes"]:
            bgp.log_neighbor_changes = True
            self.ign(n, "logging")
            return
        elif low[:3] == ["bgp", "bestpath", "as-path"] and low[3:4] == ["multipath-relax"]:
            bgp.multipath_relax = True
        elif low[:3] == ["bgp", "bestpath", "compare-routerid"]:
            bgp.compare_router_id = True
        elif low[:2] == ["bgp", "always-compare-med"]:
            bgp.always_compare_med = True
        elif low[:2] == ["bgp", "deterministic-med"]:
            bgp.deterministic_med = True
        elif low[:3] == ["bgp", "default", "local-preference"]:
            bgp.default_local_pref = integer(w[3])
        elif low[:3] == ["bgp", "default", "ipv4-unicast"] and low[3:] == ["transport", "ipv6"]:
            bgp.default_ipv4_unicast_v6_transport = True  # EOS: IPv6 neighbors active in IPv4 unicast too
        elif low[:4] == ["no", "bgp", "default", "ipv4-unicast"] and low[4:] == ["transport", "ipv6"]:
            bgp.default_ipv4_unicast_v6_transport = False
        elif low == ["no", "bgp", "default", "ipv4-unicast"]:
            bgp.default_ipv4_unicast = False
        elif low[:2] == ["bgp", "cluster-id"]:
            bgp.cluster_id = w[2]
        elif low[:2] == ["timers", "bgp"]:
            bgp.keepalive, bgp.holdtime = integer(w[2], 0, 65535), integer(w[3], 0, 65535)
        elif low[:2] == ["distance", "bgp"]:
            bgp.distance_ebgp, bgp.distance_ibgp, bgp.distance_local = (integer(x, 1, 255) for x in w[2:5])
        elif head == "maximum-paths":
            self.bgp_maximum_paths(bgp, n)
            return
        elif head == "network":
            self.bgp_network(bgp, n)
            return
        elif head == "aggregate-address":
            net, used = prefix(w[1:])
            rest = low[1 + used:]
            unknown = [x for x in rest if x not in ("summary-only", "as-set")]
            if unknown:
                self.unsup(n, f"aggregate-address option(s) {' '.join(unknown)} not modelled")
                return
            bgp.aggregates.append(BgpAggregate(net, "summary-only" in rest, "as-set" in rest, n.line))
        elif head == "redistribute":
            bgp.redistribute.append(self.redistribution(w[1:], n, "bgp"))
        elif head in ("no",) and low[1:] in (["synchronization"], ["auto-summary"]):
            self.ok(n, "the default")
            return
        elif head in ("synchronization",):
            bgp.synchronization = True
            self.unsup(n, "BGP synchronization is not modelled (FRR has none)")
            return
        elif head == "auto-summary":
            self.unsup(n, "BGP auto-summary is not modelled")
            return
        elif low[:2] == ["bgp", "dampening"]:
            if len(w) > 2:
                self.unsup(n, "dampening parameters are not modelled (FRR's defaults are used)")
            else:
                bgp.dampening = True
                self.ok(n)
            return
        elif low[:2] == ["bgp", "additional-paths"]:
            self.ok(n, "additional paths: the neighbors' `advertise additional-paths` become FRR addpath")
            return
        elif low[:3] == ["bgp", "listen", "range"]:
            self.bgp_listen_range(bgp, n)
            return
        elif low[:3] == ["bgp", "listen", "limit"] and len(w) == 4:
            bgp.listen_limit = integer(w[3], 1, 65535)
        elif low[:2] == ["bgp", "ebgp-requires-policy"] or low[:3] == ["no", "bgp", "ebgp-requires-policy"]:
            bgp.ebgp_requires_policy = head != "no"
        elif head in ("exit-address-family", "exit"):
            self.ign(n, "end of block")
            return
        elif head in ("bgp", "default-information", "default-metric", "table-map", "bfd", "graceful-restart",
                      "update-delay", "distance", "vrf", "rd", "route-target", "vni", "advertise-all-vni"):
            self.unsup(n, f"BGP `{' '.join(w[:2])}` is not modelled")
            return
        else:
            self.unrec(n)
            return
        self.ok(n)

    def bgp_listen_range(self, bgp: BgpProcess, n: Node) -> None:
        """IOS `bgp listen range P peer-group G`; EOS also `... peer group G [remote-as N]`."""
        w = n.words
        low = [x.lower() for x in w]
        net, used = prefix(w[3:])
        rest, rest_low = w[3 + used:], low[3 + used:]
        if rest_low[:1] == ["peer-group"] and len(rest) >= 2:
            group, opts = rest[1], rest_low[2:]
        elif rest_low[:2] == ["peer", "group"] and len(rest) >= 3:
            group, opts = rest[2], rest_low[3:]
        else:
            raise BadValue("`bgp listen range` needs `peer-group NAME`")
        if net.version != 4:
            self.ipv6_line(n, "IPv6 BGP neighbors are not modelled yet")
            return
        # IOS prints `bgp listen` before the `neighbor G peer-group` line that defines the group
        bgp.groups.setdefault(group, BgpPeer(group, is_group=True, line=n.line))
        if opts[:1] == ["remote-as"] and len(opts) == 2:
            bgp.groups[group].remote_as = asn(opts[1])
        elif opts:
            self.unsup(n, f"`bgp listen range` option(s) {' '.join(opts)} not modelled")
            return
        bgp.listen_ranges.append(BgpListenRange(net, group, n.line))
        self.ok(n)

    def bgp_af(self, bgp: BgpProcess, n: Node) -> None:
        low = [x.lower() for x in n.words]
        fam = low[1] if len(low) > 1 else ""
        safi = low[2] if len(low) > 2 else "unicast"
        if fam == "ipv4" and safi == "unicast" and "vrf" not in low:
            self.ok(n)
            for c in n.children:
                self.guarded(c, functools.partial(self.bgp_line, bgp, af=True))
        elif fam == "ipv6" and safi == "unicast" and "vrf" not in low and self.FORMAT not in FRR_FORMATS:
            self.ok(n)
            for c in n.children:
                self.guarded(c, functools.partial(self.bgp_line6, bgp))
        elif fam == "ipv6" and safi == "unicast" and "vrf" not in low:
            self.ipv6_line(n, "BGP address family ipv6 unicast is not modelled yet")
        else:
            self.unsup(n, f"BGP address family {' '.join(n.words[1:])} is not emulated yet")

    def bgp_line6(self, bgp: BgpProcess, n: Node) -> None:
        """A line of IOS/EOS `address-family ipv6 [unicast]`: which neighbors carry IPv6 unicast, and the
        networks and redistribution it originates. Other per-family settings are reported, not applied (the
        neighbors' policy fields are IPv4 unicast's)."""
        w = n.words
        low = [x.lower() for x in w]
        head = low[0]
        if head in ("neighbor", "no") and low[-1] == "activate" and len(w) == (4 if head == "no" else 3):
            key = _canonical_peer(w[2] if head == "no" else w[1])
            p = bgp.peers.get(key) or bgp.groups.get(key)
            if p is None:
                raise BadValue(f"neighbor {key} is not defined")
            p.activate6 = head != "no"
        elif head == "network" and len(w) >= 2:
            if len(w) > 2:
                self.unsup(n, f"IPv6 network option(s) {' '.join(w[2:])} not modelled")
                return
            try:
                net = ipaddress.IPv6Network(w[1], strict=False)
            except ValueError:
                raise BadValue(f"{w[1]!r} is not an IPv6 prefix") from None
            bgp.networks6.append(BgpNetwork(net, None, n.line))
        elif head == "redistribute" and len(w) >= 2:
            if low[1] not in ("connected", "static") or len(w) > 2:
                self.unsup(n, "IPv6 redistribution other than plain `redistribute connected|static` is not "
                              "modelled")
                return
            bgp.redistribute6.append(Redistribution(low[1], line=n.line))
        elif head in ("exit-address-family", "exit"):
            self.ign(n, "end of block")
            return
        elif head == "neighbor":
            self.unsup(n, "per-neighbor settings in address-family ipv6 are not modelled (only `activate`)")
            return
        elif head in ("maximum-paths", "aggregate-address", "distance", "bgp", "default-information", "no",
                      "table-map", "default-metric"):
            self.unsup(n, f"`{' '.join(w[:2])}` in address-family ipv6 is not modelled")
            return
        else:
            self.unrec(n)
            return
        self.ok(n)

    def static_route6(self, n: Node) -> None:
        """IOS/EOS `ipv6 route [vrf V] PREFIX [INTERFACE] [NEXT-HOP] [DISTANCE] [tag T] [name N]`."""
        w = n.words[2:]
        vrf = None
        if w and w[0].lower() == "vrf":
            vrf, w = w[1], w[2:]
        try:
            net = ipaddress.IPv6Network(w[0], strict=False)
        except (IndexError, ValueError):
            raise BadValue(f"{' '.join(w[:1])!r} is not an IPv6 prefix") from None
        route = StaticRoute(net, vrf=vrf, line=n.line)
        i = 1
        while i < len(w):
            tok, low = w[i], w[i].lower()
            if _is_ipv6(tok) and route.next_hop is None:
                route.next_hop = ipaddress.IPv6Address(tok)
            elif tok.isdigit() and (route.next_hop is not None or route.interface is not None):
                route.distance = integer(tok, 1, 255)
            elif low == "tag" and i + 1 < len(w):
                route.tag = integer(w[i + 1])
                i += 1
            elif low == "name" and i + 1 < len(w):
                i += 1
            elif low.startswith("null"):
                route.interface = "Null0"
            elif route.interface is None and route.next_hop is None and not tok.isdigit():
                route.interface = self.ifname(tok)
            else:
                raise BadValue(f"unexpected {tok!r}")
            i += 1
        if route.next_hop is None and route.interface is None:
            raise BadValue("a static route needs a next hop or an interface")
        if route.next_hop is not None and route.next_hop.is_link_local and route.interface is None:
            raise BadValue("a link-local next hop needs its interface")
        self.device.static_routes.append(route)
        self.ok(n)

    def bgp_maximum_paths(self, bgp: BgpProcess, n: Node) -> None:
        low = [x.lower() for x in n.words]
        if low[1] == "ibgp":
            bgp.maximum_paths_ibgp = integer(low[2], 1, 64)
        elif low[1] == "eibgp":
            bgp.maximum_paths_ebgp = bgp.maximum_paths_ibgp = integer(low[2], 1, 64)
            self.ok(n, "eibgp (one multipath set mixing eBGP and iBGP paths) is rendered as separate eBGP and "
                       "iBGP limits; FRR does not mix them")
            return
        else:
            bgp.maximum_paths_ebgp = integer(low[1], 1, 128)
            if self.FORMAT != "CISCO_IOS" or "ecmp" in low:  # EOS: `maximum-paths N [ecmp M]` is for both
                bgp.maximum_paths_ibgp = bgp.maximum_paths_ebgp
        self.ok(n)

    def bgp_network(self, bgp: BgpProcess, n: Node) -> None:
        w = n.words[1:]
        low = [x.lower() for x in w]
        if "/" in w[0]:
            net = ipaddress.IPv4Network(w[0], strict=False)
            rest = low[1:]
        elif len(w) >= 3 and low[1] == "mask":
            net = ipaddress.IPv4Network((w[0], mask_len(w[2])), strict=False)
            rest = low[3:]
        else:
            net = classful(ipv4(w[0]))
            rest = low[1:]
        rm = None
        if "route-map" in rest:
            rm = w[low.index("route-map") + 1]
        elif [x for x in rest if x not in ("backdoor",)]:
            raise BadValue(f"unexpected {' '.join(rest)}")
        if "backdoor" in rest:
            self.unsup(n, "BGP backdoor networks are not modelled")
            return
        bgp.networks.append(BgpNetwork(net, rm, n.line))
        if rm is not None:
            self.refer("route-map", rm, "bgp ipv4 network statement route-map", n.line)
        self.ok(n)

    def peer(self, bgp: BgpProcess, key: str, line: int) -> BgpPeer:
        if key in bgp.groups:
            return bgp.groups[key]
        if key not in bgp.peers:
            if not (_is_ipv4(key) or _is_ipv6(key)):
                raise BadValue(f"neighbor {key!r} is neither an address nor a defined peer-group")
            bgp.peers[key] = BgpPeer(key, line=line)
        return bgp.peers[key]

    def bgp_neighbor(self, bgp: BgpProcess, n: Node, af: bool) -> None:
        w = n.words
        if w[1].lower() == "interface" and len(w) >= 3 and self.FORMAT == "ARISTA" and not af:
            self.eos_interface_peers(bgp, n)
            return
        if [x.lower() for x in w[2:4]] == ["peer", "group"]:  # EOS 4.23+: `peer group` for IOS's `peer-group`
            w = [*w[:2], "peer-group", *w[4:]]
        low = [x.lower() for x in w]
        key = _canonical_peer(w[1])
        what = low[2]
        if what == "peer-group" and len(w) == 3:
            bgp.groups.setdefault(key, BgpPeer(key, is_group=True, line=n.line))
            self.define("bgp peer-group", key, n)
            self.ok(n)
            return
        if what == "interface" or (not _is_ipv4(key) and key not in bgp.groups and key not in bgp.peers
                                   and what == "remote-as" and self.FORMAT in FRR_FORMATS):
            if self.FORMAT not in FRR_FORMATS:
                self.unsup(n, "BGP unnumbered (neighbor on an interface) is not translated for this vendor")
                return
            # FRR: `neighbor IFACE interface [v6only] [peer-group G | remote-as R]` makes an interface peer
            p = bgp.peers.setdefault(key, BgpPeer(key, interface=True, line=n.line))
            self.define_used("bgp neighbor", f"{key} (VRF default)", n)
            rest, rest_w = low[3:] if what == "interface" else low[2:], w[3:] if what == "interface" else w[2:]
            if rest[:1] == ["v6only"]:
                rest, rest_w = rest[1:], rest_w[1:]
            if rest[:1] == ["peer-group"] and len(rest) == 2:
                if rest_w[1] not in bgp.groups:
                    raise BadValue(f"peer-group {rest_w[1]!r} is not defined")
                p.peer_group = rest_w[1]
                self.refer("bgp peer-group", rest_w[1], "bgp neighbor statement", n.line)
            elif rest[:1] == ["remote-as"] and len(rest) == 2:
                p.remote_as = rest[1] if rest[1] in ("external", "internal") else asn(rest_w[1])
            elif rest:
                raise BadValue(f"unexpected {' '.join(rest_w)}")
            self.ok(n, "BGP unnumbered: FRR runs it as written (IPv6 link-local sessions, RFC 5549 routes)")
            return
        p = self.peer(bgp, key, n.line)
        arg = w[3] if len(w) > 3 else None
        if not p.is_group and what != "peer-group":  # Batfish: every other neighbor line defines the neighbor
            self.define_used("bgp neighbor", f"{key} (VRF default)", n)
        if what == "remote-as":
            p.remote_as = arg if arg in ("external", "internal") else asn(arg or "")
        elif what == "peer-group":
            if arg not in bgp.groups:
                raise BadValue(f"peer-group {arg!r} is not defined")
            p.peer_group = arg
            self.refer("bgp peer-group", str(arg), "bgp neighbor statement", n.line)
        elif what == "description":
            p.description = n.text.split(None, 3)[3] if len(w) > 3 else ""
            self.ign(n, "description")
            return
        elif what == "update-source":
            if _is_ipv4(arg or ""):
                p.update_source = arg
            else:
                p.update_source = self.ifname("".join(w[3:]))
                self.refer("interface", p.update_source, "update-source interface", n.line)
        elif what == "ebgp-multihop":
            p.ebgp_multihop = integer(arg, 1, 255) if arg else 255
        elif what == "next-hop-self":
            p.next_hop_self = True
        elif what == "route-reflector-client":
            p.route_reflector_client = True
        elif what == "send-community":
            kind = low[3] if len(low) > 3 else "standard"
            if kind in ("standard", "both", "all"):
                p.send_community = True
            if kind in ("extended", "both", "all"):
                p.send_community_extended = True
        elif what == "remove-private-as":
            p.remove_private_as = True
        elif what == "allowas-in":
            p.allowas_in = integer(arg, 1, 10) if arg and arg.isdigit() else 3
        elif what in ("route-map", "prefix-list", "filter-list", "distribute-list") and len(w) >= 5:
            direction = low[4]
            if what == "distribute-list":
                self.unsup(n, "neighbor distribute-list is not modelled")
                return
            attr = {"route-map": "route_map", "prefix-list": "prefix_list", "filter-list": "filter_list"}[what]
            setattr(p, f"{attr}_{'in' if direction == 'in' else 'out'}", w[3])
            kind = {"route-map": "route-map", "prefix-list": "ipv4 prefix-list",
                    "filter-list": "as-path access-list"}[what]
            self.refer(kind, w[3], f"bgp {'inbound' if direction == 'in' else 'outbound'} {what}", n.line)
            self.policy_lines[(p.key, f"{attr}_{'in' if direction == 'in' else 'out'}")] = n.line
        elif what == "password":
            p.password = w[-1]
        elif what == "timers" and len(w) >= 5:
            if low[3] == "connect":
                self.ign(n, "connect-retry timer")
                return
            p.keepalive, p.holdtime = integer(w[3], 0, 65535), integer(w[4], 0, 65535)
        elif what == "shutdown":
            p.shutdown = True
        elif what == "activate":
            p.activate = True
        elif what == "default-originate":
            if "route-map" in low:
                self.unsup(n, "default-originate route-map is not modelled")
                return
            p.default_originate = True
        elif what == "soft-reconfiguration":
            p.soft_reconfiguration = True
        elif what == "weight":
            p.weight = integer(arg or "", 0, 65535)
        elif what == "local-as":
            p.local_as = asn(arg or "")
            if len(w) > 4:
                self.unsup(n, "local-as options (no-prepend, replace-as) are not modelled")
                return
        elif what in ("maximum-prefix", "maximum-routes"):
            p.maximum_prefix = integer(arg or "", 0)
            if what == "maximum-routes" and p.maximum_prefix == 0:
                p.maximum_prefix = None  # EOS: 0 means no limit
        elif what == "advertisement-interval":
            p.advertisement_interval = integer(arg or "", 0, 600)
        elif what == "advertise" and "additional-paths" in low:
            p.addpath_tx_all_paths = True
            self.ok(n, "rendered as FRR addpath-tx-all-paths")
            return
        elif what == "next-hop" and low[3:5] == ["address-family", "ipv6"]:
            # EOS: IPv4 routes to this neighbor over an IPv6 next hop (RFC 5549); FRR does it by itself for
            # interface peers (extended next hop)
            self.ok(n, "FRR's interface peers send IPv4 routes with IPv6 next hops by themselves")
            return
        elif what in ("version", "log-neighbor-changes", "capability", "dont-capability-negotiate"):
            self.ign(n, "session detail without effect on routes")
            return
        elif what == "transport" and "passive" in low:
            self.unsup(n, "transport connection-mode passive is not modelled")
            return
        elif what in ("fall-over", "bfd", "ttl-security", "as-override", "unsuppress-map", "inherit",
                      "send-label", "additional-paths", "enforce-first-as", "disable-connected-check"):
            self.unsup(n, f"neighbor `{what}` is not modelled")
            return
        else:
            self.unrec(n)
            return
        self.ok(n)

    def eos_interface_peers(self, bgp: BgpProcess, n: Node) -> None:
        """EOS `neighbor interface RANGE peer-group G [remote-as N]`: a BGP unnumbered peer (IPv6 link-local
        session) on each interface of the range (`Ethernet1`, `Ethernet1-4`, `Ethernet49/1`, `Et1,Et3`)."""
        w = n.words
        low = [x.lower() for x in w]
        rest, rest_w = low[3:], w[3:]
        if rest[:2] == ["peer", "group"]:
            rest, rest_w = ["peer-group", *rest[2:]], ["peer-group", *rest_w[2:]]
        if rest[:1] != ["peer-group"] or len(rest) < 2:
            raise BadValue("`neighbor interface` needs `peer-group NAME`")
        group = rest_w[1]
        if group not in bgp.groups:
            raise BadValue(f"peer-group {group!r} is not defined")
        opts = rest[2:]
        if opts[:1] == ["peer-filter"]:
            self.unsup(n, "peer-filter (the remote AS a peer-filter accepts) is not modelled: no session rendered")
            return
        if opts and (opts[0] != "remote-as" or len(opts) != 2):
            raise BadValue(f"unexpected {' '.join(rest_w[2:])}")
        names = []
        for part in w[2].split(","):
            m = re.fullmatch(r"(.*?)(\d+)-(\d+)", part)
            if m and int(m.group(2)) <= int(m.group(3)) and int(m.group(3)) - int(m.group(2)) < 512:
                names += [f"{m.group(1)}{i}" for i in range(int(m.group(2)), int(m.group(3)) + 1)]
            else:
                names.append(part)
        for name in (self.ifname(x) for x in names):
            p = bgp.peers.setdefault(name, BgpPeer(name, interface=True, line=n.line))
            p.peer_group = group
            if opts:
                p.remote_as = asn(rest_w[3])
            self.define_used("bgp neighbor", f"{name} (VRF default)", n)
            self.refer("interface", name, "bgp neighbor interface", n.line)
        self.refer("bgp peer-group", group, "bgp neighbor statement", n.line)
        self.ok(n, "BGP unnumbered: an IPv6 link-local session on each interface (FRR `neighbor IFACE interface`), "
                   "IPv4 routes over IPv6 next hops (RFC 5549)")

    def bgp_no_neighbor(self, bgp: BgpProcess, n: Node) -> None:
        low = [x.lower() for x in n.words]
        key = _canonical_peer(n.words[2])
        p = bgp.peers.get(key) or bgp.groups.get(key)
        what = low[3] if len(low) > 3 else ""
        if p is None or not what:
            self.unrec(n)
            return
        if what == "activate":
            p.activate = False
        elif what == "send-community":
            p.send_community = False
            p.send_community_extended = False
        elif what == "shutdown":
            p.shutdown = False
        else:
            self.unsup(n, f"`no neighbor ... {what}` is not modelled")
            return
        self.ok(n)


# -- helpers -------------------------------------------------------------------------------------------------


def _note(line: int, text: str, why: str) -> LineNote:
    return LineNote(line, "ignored", text, why)


def _action(word: str) -> Action:
    low = word.lower()
    if low == "permit":
        return "permit"
    if low == "deny":
        return "deny"
    raise BadValue(f"expected permit or deny, got {word!r}")


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def _canonical_peer(text: str) -> str:
    """A neighbor key: an IPv6 address in its one text form (IOS prints `2001:DB8::1`), anything else as is."""
    return str(ipaddress.IPv6Address(text)) if _is_ipv6(text) else text


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
        return True
    except ValueError:
        return False


_WELL_KNOWN = {"internet": "internet", "no-export": "no-export", "no-advertise": "no-advertise",
               "local-as": "local-AS", "no-peer": "no-peer", "graceful-shutdown": "graceful-shutdown"}


def _community(text: str) -> str:
    low = text.lower()
    if low in _WELL_KNOWN:
        return _WELL_KNOWN[low]
    if re.fullmatch(r"\d+:\d+", text):
        hi, lo = text.split(":")
        if int(hi) > 65535 or int(lo) > 65535:
            raise BadValue(f"community {text!r} out of range")
        return text
    if text.isdigit() and int(text) < 2**32:  # old-format decimal
        v = int(text)
        return f"{v >> 16}:{v & 0xFFFF}"
    raise BadValue(f"{text!r} is not a community")


def _acl_addr(w: list[str]) -> tuple[str, int]:
    if not w:
        raise BadValue("missing address")
    low = w[0].lower()
    if low in ("any", "any4"):
        return "any", 1
    if low == "host":
        return f"{ipv4(w[1])}/32", 2
    if "/" in w[0]:
        return str(ipaddress.IPv4Network(w[0], strict=False)), 1
    addr = ipv4(w[0])
    if len(w) >= 2 and _is_ipv4(w[1]):
        plen = wildcard_len(w[1])
        if plen is None:
            return f"{addr} {w[1]}", 2
        return str(ipaddress.IPv4Network((addr, plen), strict=False)), 2
    return f"{addr}/32", 1


_PORT_OPS = {"eq": 1, "neq": 1, "gt": 1, "lt": 1, "range": 2}


def _acl_ports(w: list[str]) -> tuple[str, int]:
    if w and w[0].lower() in _PORT_OPS:
        k = _PORT_OPS[w[0].lower()]
        return " ".join(w[: 1 + k]), 1 + k
    return "", 0
