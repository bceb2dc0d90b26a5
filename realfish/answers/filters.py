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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from realfish.answers.properties import host_filters
from realfish.model import Acl, AclLine, Device, IptablesRule

if TYPE_CHECKING:
    from realfish.answers.forwarding import Flow

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
class Filter:
    """A named filter and the test it applies to a flow (True = permitted)."""

    name: str
    permits: Callable[[Flow], bool]


# -- IOS/EOS ACLs --------------------------------------------------------------------------------------------


def _addr_match(spec: str, ip: ipaddress.IPv4Address) -> bool:
    if spec == "any":
        return True
    if " " in spec:  # non-contiguous wildcard: address and wildcard mask
        addr, wild = (int(ipaddress.IPv4Address(x)) for x in spec.split())
        return (int(ip) & ~wild) == (addr & ~wild)
    return ip in ipaddress.IPv4Network(spec, strict=False)


def port_number(word: str) -> int:
    return int(word) if word.isdigit() else PORT_NAMES[word.lower()]


def _ports_match(spec: str, port: int | None) -> bool:
    if not spec:
        return True
    if port is None:
        return False
    op, *args = spec.split()
    vals = [port_number(a) for a in args]
    if op == "eq":
        return port in vals
    if op == "neq":
        return port not in vals
    if op == "gt":
        return port > vals[0]
    if op == "lt":
        return port < vals[0]
    return vals[0] <= port <= vals[1]  # range


def _flags_match(flags: str, protocol: int, flow: Flow) -> bool:
    words = [w.lower() for w in flags.split() if w.lower() not in _IGNORED_FLAGS]
    i = 0
    while i < len(words):
        w = words[i]
        if w == "established":
            if not (flow.tcp_flags["ack"] or flow.tcp_flags["rst"]):
                return False
        elif w == "fragments":
            if flow.fragment_offset == 0:
                return False
        elif w == "dscp" and i + 1 < len(words):
            i += 1
            if words[i].isdigit() and flow.dscp != int(words[i]):
                return False
        elif protocol == ICMP and w in ICMP_NAMES:
            itype, icode = ICMP_NAMES[w]
            if flow.icmp_type != itype or (icode is not None and flow.icmp_code != icode):
                return False
        elif protocol == ICMP and w.isdigit():  # numeric type [code]
            if flow.icmp_type != int(w):
                return False
            if i + 1 < len(words) and words[i + 1].isdigit():
                i += 1
                if flow.icmp_code != int(words[i]):
                    return False
        # anything else (precedence, tos, time-range, ...) does not narrow the match here
        i += 1
    return True


def acl_line_matches(line: AclLine, kind: str, flow: Flow) -> bool:
    if kind == "standard":
        return _addr_match(line.src, flow.src_ip)
    proto = line.protocol.lower()
    if proto not in ("ip", "ipv4"):
        want = int(proto) if proto.isdigit() else ACL_PROTOCOLS.get(proto)
        if want is None or flow.ip_protocol != want:
            return False
    if not (_addr_match(line.src, flow.src_ip) and _addr_match(line.dst, flow.dst_ip)):
        return False
    if line.src_ports or line.dst_ports:
        if flow.ip_protocol not in (TCP, UDP):
            return False
        if not (_ports_match(line.src_ports, flow.src_port) and _ports_match(line.dst_ports, flow.dst_port)):
            return False
    return _flags_match(line.flags, flow.ip_protocol, flow)


def acl_permits(acl: Acl, flow: Flow) -> bool:
    for line in acl.lines:
        if acl_line_matches(line, acl.kind, flow):
            return line.action == "permit"
    return False  # implicit deny


# -- iptables ------------------------------------------------------------------------------------------------


@dataclass
class _Rule:
    accept: bool
    protocol: int | None = None
    src: ipaddress.IPv4Network | None = None
    dst: ipaddress.IPv4Network | None = None
    src_ports: tuple[int, int] | None = None
    dst_ports: tuple[int, int] | None = None

    def matches(self, flow: Flow) -> bool:
        if self.protocol is not None and flow.ip_protocol != self.protocol:
            return False
        if self.src is not None and flow.src_ip not in self.src:
            return False
        if self.dst is not None and flow.dst_ip not in self.dst:
            return False
        for rng, port in ((self.src_ports, flow.src_port), (self.dst_ports, flow.dst_port)):
            if rng is not None and (port is None or not rng[0] <= port <= rng[1]):
                return False
        return True


def _port_range(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition(":")
    return int(lo or 0), int(hi) if hi else int(lo)


def _parse_rule(text: str) -> _Rule | None:
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
    rule = _Rule(accept=target == "ACCEPT")
    proto = opts.get("-p", opts.get("--protocol"))
    if proto is not None and proto.lower() != "all":
        rule.protocol = int(proto) if proto.isdigit() else ACL_PROTOCOLS.get(proto.lower())
    for opt, attr in (("-s", "src"), ("--source", "src"), ("-d", "dst"), ("--destination", "dst")):
        if opt in opts:
            setattr(rule, attr, ipaddress.IPv4Network(opts[opt], strict=False))
    for opt, attr in (("--sport", "src_ports"), ("--source-port", "src_ports"), ("--dport", "dst_ports"),
                      ("--destination-port", "dst_ports")):
        if opt in opts:
            setattr(rule, attr, _port_range(opts[opt]))
    return rule


def iptables_chains(rules: list[IptablesRule]) -> dict[str, tuple[list[_Rule], bool]]:
    """`table::CHAIN` -> (rules, policy accepts)."""
    chains: dict[str, tuple[list[_Rule], bool]] = {}
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
    return chains


def iptables_filters(device: Device) -> tuple[Filter | None, Filter | None]:
    """A host's (ingress, egress) filters from its iptables rules, as Batfish applies them to every interface:
    only when its other chains do not filter (decided as interfaceProperties decides it)."""
    chains = iptables_chains(device.iptables)

    def make(name: str | None) -> Filter | None:
        if name is None or name not in chains:
            return None
        lines, policy = chains[name]

        def permits(flow: Flow) -> bool:
            for r in lines:
                if r.matches(flow):
                    return r.accept
            return policy

        return Filter(name, permits)

    ingress, egress = host_filters(device)
    return make(ingress), make(egress)


def interface_filters(device: Device, ifname: str) -> tuple[Filter | None, Filter | None]:
    """(ingress, egress) filters of one interface."""
    if device.kind == "host" and device.iptables:
        return iptables_filters(device)
    iface = device.interfaces.get(ifname)
    if iface is None:
        return None, None

    def make(name: str | None) -> Filter | None:
        acl = device.acls.get(name) if name else None
        if acl is None:
            return None
        found = acl

        def permits(flow: Flow) -> bool:
            return acl_permits(found, flow)

        return Filter(found.name, permits)

    return make(iface.acl_in), make(iface.acl_out)
