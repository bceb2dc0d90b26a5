"""What a config sets that the device model does not hold, recorded on the model so answers can say "unknown"
rather than "none": nodeProperties' NTP servers when the config has an `ntp server` line, say, or an interface's
HSRP groups under `standby`. Read from the parse status, which keeps every line's text, once the snapshot is
converted (`realfish.convert`); named as Batfish's properties (plus `RIP`, and `Bandwidth` for a host file that
sets one).
"""

from __future__ import annotations

import re

from realfish.model import Device, canonical_ifname
from realfish.status import FileStatus

# Property -> the lines that would set it (lower-cased, matched at the start of a line's text).
NODE = {
    "NTP_Servers": r"ntp server\b",
    "DNS_Servers": r"(ip )?name-server\b|ip name server\b|dns server\b",
    "Logging_Servers": r"logging (host |server )?\d|logging (host|server)\b",
    "SNMP_Trap_Servers": r"snmp-server host\b",
    "TACACS_Servers": r"tacacs-server host\b|tacacs server\b",
    "Authentication_Key_Chains": r"key chain\b",
    "IKE_Phase1_Keys": r"crypto (isakmp|ikev2|keyring)\b",
    "IKE_Phase1_Policies": r"crypto (isakmp|ikev2)\b",
    "IKE_Phase1_Proposals": r"crypto (isakmp|ikev2)\b",
    "IPsec_Peer_Configs": r"crypto (map|ipsec)\b|tunnel protection\b",
    "IPsec_Phase2_Policies": r"crypto (map|ipsec)\b",
    "IPsec_Phase2_Proposals": r"crypto ipsec\b",
    "PBR_Policies": r"ip policy route-map\b",
    "Zones": r"zone security\b|zone-member security\b",
}
OTHER = {"RIP": r"router rip\b"}  # decides properties (Rip_Enabled) that are not sets
INTERFACE = {
    "HSRP_Groups": r"standby\b",
    "VRRP_Groups": r"vrrp\b",
    "DHCP_Relay_Addresses": r"ip helper-address\b|ip dhcp relay\b|dhcp relay\b",
}


def record(dev: Device, status: FileStatus | None) -> None:
    """Fill `dev.unread` and each interface's from the lines of its file (none without a status)."""
    if status is None:
        return
    device: list[str] = []
    by_iface: dict[str, list[str]] = {}
    for n in status.notes:
        text = " ".join(n.text.lower().split())
        device.append(text)
        words = n.context.split()
        if len(words) >= 2 and words[0].lower() == "interface":
            iface = dev.find_interface(canonical_ifname(words[1]))
            if iface is not None:
                by_iface.setdefault(iface.name, []).append(text)
    dev.unread = {prop for prop, pattern in (NODE | OTHER).items() if any(re.match(pattern, t) for t in device)}
    if dev.format == "HOST" and any("bandwidth" in n.message.lower() for n in status.notes):
        dev.unread.add("Bandwidth")
    for name, lines in by_iface.items():
        dev.interfaces[name].unread = {prop for prop, pattern in INTERFACE.items()
                                       if any(re.match(pattern, t) for t in lines)}
