"""Packet filters the routers do not run but Batfish models: interface ACLs and a host's iptables rules.

FRR has no interface ACLs and the emulated hosts run no firewall, so the traceroute answerers evaluate these
from the parsed configs, the way Batfish does:

* IOS/EOS ACLs (`model.Acl`): lines in order, the first match decides, an implicit deny at the end. A standard
  ACL matches the source address only. An ACL an interface names but nobody defines filters nothing (IOS
  passes all traffic then; Batfish sets no filter).
* iptables (`model.Device.iptables`, hosts): Batfish turns each chain into a filter named `table::CHAIN`
  (`filter::INPUT` is every host interface's ingress filter, `filter::OUTPUT` its egress filter). Only
  `-j ACCEPT` and `-j DROP` rules count (Batfish skips the other targets), matching on `-p`, `-s`, `-d`,
  `--sport`, `--dport`; `-i`/`-o` are ignored as Batfish ignores them for hosts; the chain policy is the last
  line. When the other chains filter anything (not "simple" in Batfish's words), Batfish applies no filter at
  all, and neither do we (the same test interfaceProperties makes for its filter names).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from realfish.answers.headerspace import Packet
from realfish.answers.properties import host_filters
from realfish.model import Acl, AclLine, Device, IptablesRule

if TYPE_CHECKING:
    from dd.autoref import Function

    from realfish.answers.flow import Flow

TCP, UDP, ICMP = 6, 17, 1

# IOS/EOS protocol keywords in ACL lines
ACL_PROTOCOLS = {"icmp": 1, "igmp": 2, "ipinip": 4, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ahp": 51, "ah": 51,
                 "eigrp": 88, "ospf": 89, "nos": 94, "pim": 103, "pcp": 108, "vrrp": 112, "sctp": 132}

# IOS port names (tcp and udp share a namespace where they agree)
PORT_NAMES = {
    "bgp": 179, "biff": 512, "bootpc": 68, "bootps": 67, "chargen": 19, "cmd": 514, "daytime": 13, "discard": 9,
    "dnsix": 195, "domain": 53, "echo": 7, "exec": 512, "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70,
    "hostname": 101, "https": 443, "ident": 113, "irc": 194, "isakmp": 500, "klogin": 543, "kshell": 544,
    "ldap": 389, "login": 513, "lpd": 515, "mobile-ip": 434, "nameserver": 42, "netbios-dgm": 138,
    "netbios-ns": 137, "netbios-ss": 139, "nntp": 119, "non500-isakmp": 4500, "ntp": 123, "pim-auto-rp": 496,
    "pop2": 109, "pop3": 110, "rip": 520, "smtp": 25, "snmp": 161, "snmptrap": 162, "ssh": 22, "sunrpc": 111,
    "syslog": 514, "tacacs": 49, "talk": 517, "telnet": 23, "tftp": 69, "time": 37, "uucp": 540, "who": 513,
    "whois": 43, "www": 80, "xdmcp": 177,
}

# IOS ICMP message names -> (type, code or None)
ICMP_NAMES = {
    "echo-reply": (0, None), "unreachable": (3, None), "net-unreachable": (3, 0), "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2), "port-unreachable": (3, 3), "packet-too-big": (3, 4),
    "source-quench": (4, None), "redirect": (5, None), "echo": (8, None), "router-advertisement": (9, None),
    "router-solicitation": (10, None), "time-exceeded": (11, None), "ttl-exceeded": (11, 0),
    "parameter-problem": (12, None), "timestamp-request": (13, None), "timestamp-reply": (14, None),
}

_IGNORED_FLAGS = {"log", "log-input"}


@dataclass(frozen=True)
class Match:
    """What one filter line matches: every condition at once (None: any value). Written once per line and read
    two ways: concretely for one flow (`matches`, traceroute and reachability) and as the exact set of packets
    (`space`, the filter questions)."""

    protocol: int | None = None
    src: tuple[int, int] | None = None  # (address, bits that must equal it): a prefix or a wildcard's complement
    dst: tuple[int, int] | None = None
    src_ports: tuple[tuple[int, int], ...] | None = None  # a port condition also requires TCP or UDP
    dst_ports: tuple[tuple[int, int], ...] | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    established: bool = False  # ACK or RST set
    fragments: bool = False  # not the first fragment
    dscp: int | None = None
    nothing: bool = False  # e.g. a protocol name realfish does not know: the line matches no packet

    def matches(self, flow: Flow) -> bool:
        if self.nothing:
            return False
        if self.protocol is not None and flow.ip_protocol != self.protocol:
            return False
        for spec, ip in ((self.src, flow.src_ip), (self.dst, flow.dst_ip)):
            if spec is not None and int(ip) & spec[1] != spec[0]:
                return False
        if self.src_ports is not None or self.dst_ports is not None:
            if flow.ip_protocol not in (TCP, UDP):
                return False
            for ranges, port in ((self.src_ports, flow.src_port), (self.dst_ports, flow.dst_port)):
                if ranges is not None and (port is None or not any(lo <= port <= hi for lo, hi in ranges)):
                    return False
        if self.icmp_type is not None and flow.icmp_type != self.icmp_type:
            return False
        if self.icmp_code is not None and flow.icmp_code != self.icmp_code:
            return False
        if self.established and not (flow.tcp_flags["ack"] or flow.tcp_flags["rst"]):
            return False
        if self.fragments and flow.fragment_offset == 0:
            return False
        return self.dscp is None or flow.dscp == self.dscp

    def space(self, pkt: Packet) -> Function:
        """Every packet this line matches."""
        if self.nothing:
            return pkt.false
        out = pkt.true
        if self.protocol is not None:
            out &= pkt.value("ip_protocol", self.protocol)
        for field, spec in (("src_ip", self.src), ("dst_ip", self.dst)):
            if spec is not None:
                out &= pkt.masked(field, spec[0], spec[1])
        if self.src_ports is not None or self.dst_ports is not None:
            out &= pkt.value("ip_protocol", TCP) | pkt.value("ip_protocol", UDP)
            for field, ranges in (("src_port", self.src_ports), ("dst_port", self.dst_ports)):
                if ranges is not None:
                    out &= pkt.ranges(field, ranges)
        if self.icmp_type is not None:
            out &= pkt.value("icmp_type", self.icmp_type)
        if self.icmp_code is not None:
            out &= pkt.value("icmp_code", self.icmp_code)
        if self.established:
            out &= pkt.flag("ack") | pkt.flag("rst")
        if self.fragments:
            out &= ~pkt.value("fragment_offset", 0)
        if self.dscp is not None:
            out &= pkt.value("dscp", self.dscp)
        return out


@dataclass(frozen=True)
class FilterLine:
    permit: bool
    match: Match
    name: str  # Batfish's name for the line: its text in the config


@dataclass(frozen=True)
class Filter:
    """A named filter: lines in order, the first match decides; past the last line `default_permit` (an ACL's
    implicit deny, an iptables chain's policy)."""

    name: str
    lines: tuple[FilterLine, ...]
    default_permit: bool = False

    def first_match(self, flow: Flow) -> int | None:
        return next((i for i, line in enumerate(self.lines) if line.match.matches(flow)), None)

    def permits(self, flow: Flow) -> bool:
        i = self.first_match(flow)
        return self.default_permit if i is None else self.lines[i].permit

    def permitted_space(self, pkt: Packet) -> Function:
        """Every packet the filter permits."""
        out, rest = pkt.false, pkt.true
        for line in self.lines:
            took = rest & line.match.space(pkt)
            if line.permit:
                out |= took
            rest &= ~took
        return out | rest if self.default_permit else out


# -- IOS/EOS ACLs --------------------------------------------------------------------------------------------


def _address(spec: str) -> tuple[int, int] | None:
    if spec == "any":
        return None
    if " " in spec:  # non-contiguous wildcard: address and wildcard mask
        addr, wild = (int(ipaddress.IPv4Address(x)) for x in spec.split())
        care = ~wild & 0xFFFFFFFF
        return addr & care, care
    net = ipaddress.IPv4Network(spec, strict=False)
    return int(net.network_address), int(net.netmask)


def port_number(word: str) -> int:
    return int(word) if word.isdigit() else PORT_NAMES[word.lower()]


def _ports(spec: str) -> tuple[tuple[int, int], ...] | None:
    if not spec:
        return None
    op, *args = spec.split()
    vals = [port_number(a) for a in args]
    if op == "eq":
        return tuple((v, v) for v in sorted(vals))
    if op == "neq":
        out, lo = [], 0
        for v in sorted(set(vals)):
            if lo <= v - 1:
                out.append((lo, v - 1))
            lo = v + 1
        return tuple(out + ([(lo, 65535)] if lo <= 65535 else []))
    if op == "gt":
        return ((vals[0] + 1, 65535),) if vals[0] < 65535 else ()
    if op == "lt":
        return ((0, vals[0] - 1),) if vals[0] > 0 else ()
    return ((vals[0], vals[1]),)  # range


def _flag_conditions(flags: str, protocol: int | None) -> dict[str, Any]:
    words = [w.lower() for w in flags.split() if w.lower() not in _IGNORED_FLAGS]
    out: dict[str, Any] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w == "established":
            out["established"] = True
        elif w == "fragments":
            out["fragments"] = True
        elif w == "dscp" and i + 1 < len(words):
            i += 1
            if words[i].isdigit():
                out["dscp"] = int(words[i])
        elif protocol == ICMP and w in ICMP_NAMES:
            out["icmp_type"], out["icmp_code"] = ICMP_NAMES[w]
        elif protocol == ICMP and w.isdigit():  # numeric type [code]
            out["icmp_type"] = int(w)
            if i + 1 < len(words) and words[i + 1].isdigit():
                i += 1
                out["icmp_code"] = int(words[i])
        # anything else (precedence, tos, time-range, ...) does not narrow the match here
        i += 1
    return out


def acl_line_match(line: AclLine, kind: str) -> Match:
    if kind == "standard":
        return Match(src=_address(line.src))
    proto = line.protocol.lower()
    number: int | None = None
    if proto not in ("ip", "ipv4"):
        number = int(proto) if proto.isdigit() else ACL_PROTOCOLS.get(proto)
        if number is None:
            return Match(nothing=True)
    return Match(protocol=number, src=_address(line.src), dst=_address(line.dst), src_ports=_ports(line.src_ports),
                 dst_ports=_ports(line.dst_ports), **_flag_conditions(line.flags, number))


def acl_filter(acl: Acl) -> Filter:
    """An ACL as a filter, its lines named as Batfish names them."""
    return Filter(acl.name, tuple(FilterLine(line.action == "permit", acl_line_match(line, acl.kind),
                                             line.name or line.text)
                                  for line in acl.lines))


def acl_permits(acl: Acl, flow: Flow) -> bool:
    return acl_filter(acl).permits(flow)


# -- iptables ------------------------------------------------------------------------------------------------


def _port_range(text: str) -> tuple[tuple[int, int], ...]:
    lo, _, hi = text.partition(":")
    return ((int(lo or 0), int(hi) if hi else int(lo)),)


def _prefix(text: str) -> tuple[int, int]:
    net = ipaddress.IPv4Network(text, strict=False)
    return int(net.network_address), int(net.netmask)


def _parse_rule(text: str) -> FilterLine | None:
    """One `-A CHAIN ...` rule; None when its target is neither ACCEPT nor DROP (Batfish skips those)."""
    words = text.split()
    opts: dict[str, str] = {}
    i = 2
    while i < len(words):
        if words[i].startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            opts[words[i]] = words[i + 1]
            i += 2
        else:
            i += 1
    target = opts.get("-j", opts.get("--jump", "")).upper()
    if target not in ("ACCEPT", "DROP"):
        return None
    cond: dict[str, Any] = {}
    proto = opts.get("-p", opts.get("--protocol"))
    if proto is not None and proto.lower() != "all":
        cond["protocol"] = int(proto) if proto.isdigit() else ACL_PROTOCOLS.get(proto.lower())
        if cond["protocol"] is None:
            return FilterLine(target == "ACCEPT", Match(nothing=True), text)
    for opt, key in (("-s", "src"), ("--source", "src"), ("-d", "dst"), ("--destination", "dst")):
        if opt in opts:
            cond[key] = _prefix(opts[opt])
    for opt, key in (("--sport", "src_ports"), ("--source-port", "src_ports"), ("--dport", "dst_ports"),
                     ("--destination-port", "dst_ports")):
        if opt in opts:
            cond[key] = _port_range(opts[opt])
    return FilterLine(target == "ACCEPT", Match(**cond), text)


def iptables_chains(rules: list[IptablesRule]) -> dict[str, Filter]:
    """Each `table::CHAIN` as a filter: its ACCEPT/DROP rules, then its policy."""
    chains: dict[str, tuple[list[FilterLine], bool]] = {}
    for r in rules:
        name = f"{r.table}::{r.chain}"
        lines, policy = chains.get(name, ([], True))
        if r.text.startswith("-P "):
            policy = r.text.split()[-1].upper() != "DROP"
        elif r.text.startswith(("-A ", "-I ")):
            parsed = _parse_rule(r.text)
            if parsed is not None:
                lines.append(parsed)
        chains[name] = (lines, policy)
    return {name: Filter(name, tuple(lines), policy) for name, (lines, policy) in chains.items()}


def iptables_filters(device: Device) -> tuple[Filter | None, Filter | None]:
    """A host's (ingress, egress) filters from its iptables rules, as Batfish applies them to every interface:
    only when its other chains do not filter (decided as interfaceProperties decides it)."""
    chains = iptables_chains(device.iptables)
    ingress, egress = host_filters(device)
    return (chains.get(ingress) if ingress else None), (chains.get(egress) if egress else None)


def device_filters(device: Device) -> dict[str, Filter]:
    """Every filter a device defines, by name, as Batfish lists them for a filterSpec: its IPv4 ACLs, or a
    host's iptables chains."""
    if device.kind == "host" and device.iptables:
        return iptables_chains(device.iptables)
    return {name: acl_filter(acl) for name, acl in device.acls.items() if not acl.ipv6}


def interface_filters(device: Device, ifname: str) -> tuple[Filter | None, Filter | None]:
    """(ingress, egress) filters of one interface."""
    if device.kind == "host" and device.iptables:
        return iptables_filters(device)
    iface = device.interfaces.get(ifname)
    if iface is None:
        return None, None

    def make(name: str | None) -> Filter | None:
        acl = device.acls.get(name) if name else None
        return acl_filter(acl) if acl is not None else None

    return make(iface.acl_in), make(iface.acl_out)
