"""Cumulus Linux in Batfish's concatenated format: one file per switch holding, in order,

1. the hostname (first line that is neither blank nor a `#` comment),
2. /etc/network/interfaces (from `# This file describes the network interfaces`), ifupdown2 syntax,
3. /etc/cumulus/ports.conf (from `# ports.conf --`): port breakouts, no effect on routing,
4. /etc/frr/frr.conf (from `frr version`): read by `FrrParser` and run as written.

Addresses configured in the interfaces file are what the kernel gives zebra on a real switch; the renderer
writes them into the FRR config as `interface X / ip address A/P` lines ahead of the frr.conf text.
Bridges, VLAN-aware bridging, bonds, MLAG (clag), VRR and VXLAN are layer-2 features the emulation does not
have: reported as unsupported.
"""

from __future__ import annotations

import ipaddress

from realfish.model import Device, StaticRoute
from realfish.parsers.frrconf import FrrParser
from realfish.parsers.tree import Node, parse_tree
from realfish.status import FileStatus

INTERFACES_MARKER = "# This file describes the network interfaces"
PORTS_MARKER = "# ports.conf --"
FRR_MARKER = "frr version"

_IGNORED_ATTRS = {"link-duplex", "link-autoneg", "hwaddress", "alias", "mstpctl-bpduguard",
                  "mstpctl-portadminedge", "mstpctl-portbpdufilter", "mstpctl-treeprio", "ip-forward",
                  "ip6-forward", "arp-accept", "post-down", "pre-down", "up", "down", "dns-nameserver",
                  "dns-search", "netmask", "broadcast", "network"}
_L2_ATTRS = ("bridge-", "bond-", "clag", "clagd-", "vxlan-", "address-virtual", "vrr", "mstpctl-")


def parse_cumulus(text: str, file: str, status: FileStatus | None = None) -> tuple[Device, FileStatus]:
    status = status or FileStatus(file, "CUMULUS_CONCATENATED")
    device = Device(hostname="", format="CUMULUS_CONCATENATED", source=file)
    lines = text.splitlines()
    status.lines = len(lines)

    def find(marker: str, start: int = 0) -> int | None:
        for i in range(start, len(lines)):
            if lines[i].strip().startswith(marker):
                return i + 1  # 1-based
        return None

    ifaces_at = find(INTERFACES_MARKER)
    ports_at = find(PORTS_MARKER, ifaces_at or 0)
    frr_at = find(FRR_MARKER, ports_at or ifaces_at or 0)
    # hostname: first non-blank, non-# line before the interfaces file
    for i, raw in enumerate(lines[: (ifaces_at or 1) - 1], start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        device.hostname = s.split()[0].lower()
        device.original_hostname = s.split()[0]
        status.note(i, "translated", s, "hostname")
        if len(s.split()) > 1:
            status.note(i, "unrecognized", s, "a hostname is one word")
        break
    if ifaces_at is None:
        status.note(None, "unrecognized", "", f"no `{INTERFACES_MARKER}` section")
    else:
        end = (ports_at or frr_at or len(lines) + 1) - 1
        _interfaces(text, device, status, ifaces_at, end)
    if ports_at is not None:
        end = (frr_at or len(lines) + 1) - 1
        for i in range(ports_at, end + 1):
            s = lines[i - 1].strip()
            if s:
                status.note(i, "ignored", s, "ports.conf: port speeds and breakouts")
    if frr_at is not None:
        first = (device.hostname, device.original_hostname)
        FrrParser(text, file, status, start_line=frr_at, device=device).parse()
        if first[0]:  # Batfish names a Cumulus switch after the file's first line
            device.hostname, device.original_hostname = first
    device.format = "CUMULUS_CONCATENATED"
    status.format = "CUMULUS_CONCATENATED"
    return device, status


def _interfaces(text: str, device: Device, status: FileStatus, start: int, end: int) -> None:
    tree = parse_tree(text, "#", start, end)
    for line, s, why in tree.skipped:
        status.note(line, "ignored", s, why)
    for n in tree.roots:
        head = n.words[0]
        if head in ("auto", "allow-hotplug", "allow-auto"):
            status.note(n.line, "ignored", n.text, "interface bring-up at boot")
        elif head == "iface" and len(n.words) >= 2:
            _iface(n, device, status)
        elif head == "source" or head == "source-directory":
            status.note(n.line, "unsupported", n.text, "included files are not in the snapshot")
        else:
            status.note(n.line, "unrecognized", n.text, "This syntax is unrecognized")
        for c in (c for c in n.walk() if c is not n and head != "iface"):
            status.note(c.line, "unrecognized", c.text, "This syntax is unrecognized")


def _iface(n: Node, device: Device, status: FileStatus) -> None:
    name = n.words[1]
    iface = device.interface(name, n.line, kind="loopback" if name == "lo" else None)
    if "dhcp" in n.words[2:]:
        status.note(n.line, "unsupported", n.text, "DHCP addressing is not modelled")
    else:
        status.note(n.line, "translated", n.text)
    for c in n.walk():
        if c is n:
            continue
        key = c.words[0]
        args = c.words[1:]
        try:
            if key == "address" and args:
                iface.addresses.append(ipaddress.ip_interface(args[0]))
                status.note(c.line, "translated", c.text)
            elif key == "mtu" and args and args[0].isdigit():
                iface.mtu = int(args[0])
                status.note(c.line, "translated", c.text)
            elif key == "link-speed" and args and args[0].isdigit() and int(args[0]) > 0:
                iface.speed_kbps = int(args[0]) * 1000  # Mb/s, the port's speed, which zebra reads
                status.note(c.line, "translated", c.text)
            elif key == "vrf" and args:
                iface.vrf = args[0]
                status.note(c.line, "translated", c.text, "VRF membership recorded; VRFs are not emulated yet")
            elif key == "vrf-table":
                device.vrfs.add(name)
                iface.kind = "other"
                status.note(c.line, "translated", c.text, "VRF device")
            elif key == "vlan-id" and args and args[0].isdigit():
                iface.encapsulation_vlan = int(args[0])
                status.note(c.line, "translated", c.text)
            elif key == "vlan-raw-device":
                status.note(c.line, "translated", c.text, "VLAN interface on a bridge: routed as its own L3 port")
            elif key == "gateway" and args:
                nh = ipaddress.ip_address(args[0])
                default = ipaddress.ip_network("0.0.0.0/0" if nh.version == 4 else "::/0")
                device.static_routes.append(StaticRoute(default, nh, line=c.line))
                status.note(c.line, "translated", c.text, "default route")
            elif key == "description" or key in _IGNORED_ATTRS:
                status.note(c.line, "ignored", c.text, "no effect on routing")
            elif key.startswith(_L2_ATTRS):
                status.note(c.line, "unsupported", c.text, "layer-2 feature (bridge, bond, MLAG, VRR, VXLAN) "
                            "is not emulated")
            elif key in ("post-up", "pre-up"):
                status.note(c.line, "unsupported", c.text, "shell commands are not run")
            else:
                status.note(c.line, "unrecognized", c.text, "This syntax is unrecognized")
        except ValueError as e:
            status.note(c.line, "error", c.text, f"invalid value, line skipped: {e}")
