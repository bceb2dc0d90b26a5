"""Sets of packet headers, exactly, as binary decision diagrams (the `dd` package's pure-Python BDDs).

The filter questions (searchFilters, filterLineReachability) must say whether *some* packet matches a query, or
prove that none does, over every header field at once; an ACL line is a conjunction of per-field conditions
(prefixes, non-contiguous wildcards, port ranges, protocol, ICMP type/code, TCP flags, ...), and the set of
packets that reaches line N is what no earlier line took. A BDD holds such sets exactly and canonically: union,
intersection, difference and emptiness are cheap and exact, a wildcard mask is as easy as a prefix, and a witness
can be read off. This is also how Batfish answers these questions (JavaBDD), so the same variables in the same
order let us pick the same example flow: Batfish's BDDPacket fields, most significant bit first, and its
TESTFILTER flow preference (BDDFlowConstraintGenerator) followed by the lowest assignment in variable order.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dd.autoref import Function

Ranges = Sequence[tuple[int, int]]
TCP_FLAGS = ("ack", "cwr", "ece", "fin", "psh", "rst", "syn", "urg")  # Batfish's order, in Flow JSON too

# Batfish's BDDPacket fields in its variable order, with their widths
FIELDS: tuple[tuple[str, int], ...] = (
    ("dst_ip", 32), ("src_ip", 32), ("dst_port", 16), ("src_port", 16), ("ip_protocol", 8), ("icmp_code", 8),
    ("icmp_type", 8), *((f"tcp_{f}", 1) for f in TCP_FLAGS), ("dscp", 6), ("ecn", 2), ("fragment_offset", 13),
    ("packet_length", 16),
)
WIDTH = dict(FIELDS)
TCP, UDP, ICMP = 6, 17, 1
EPHEMERAL_LOWEST = 49152
DEFAULT_PACKET_LENGTH = 512
_PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
_DOCUMENTATION = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")


class Packet:
    """A BDD manager whose variables are the header fields' bits; every set of packets is a `Function` of it."""

    def __init__(self) -> None:
        from dd.autoref import BDD  # imported when first needed: it takes ~0.4 s (it loads networkx)

        self.bdd = BDD()
        self.vars: list[str] = [f"{name}{i}" for name, width in FIELDS for i in range(width)]
        self.bdd.declare(*self.vars)
        self.true: Function = self.bdd.true
        self.false: Function = self.bdd.false
        self._preference: list[Function] | None = None

    def _bits(self, field: str) -> list[Function]:
        """The field's bit variables, most significant first."""
        return [self.bdd.var(f"{field}{i}") for i in range(WIDTH[field])]

    def value(self, field: str, v: int) -> Function:
        return self.masked(field, v, (1 << WIDTH[field]) - 1)

    def masked(self, field: str, v: int, care: int) -> Function:
        """Packets whose `field` equals `v` on the bits set in `care` (a prefix, or a wildcard's complement)."""
        width = WIDTH[field]
        out = self.true
        for i, bit in enumerate(self._bits(field)):
            pos = width - 1 - i
            if care >> pos & 1:
                out &= bit if v >> pos & 1 else ~bit
        return out

    def prefix(self, field: str, net: ipaddress.IPv4Network) -> Function:
        return self.masked(field, int(net.network_address), int(net.netmask))

    def geq(self, field: str, lo: int) -> Function:
        out = self.true  # built from the least significant bit up: x >= lo on the bits seen so far
        for i, bit in enumerate(reversed(self._bits(field))):
            out = bit & out if lo >> i & 1 else bit | out
        return out

    def leq(self, field: str, hi: int) -> Function:
        out = self.true
        for i, bit in enumerate(reversed(self._bits(field))):
            out = ~bit | out if hi >> i & 1 else ~bit & out
        return out

    def ranges(self, field: str, ranges: Iterable[tuple[int, int]]) -> Function:
        out = self.false
        top = (1 << WIDTH[field]) - 1
        for lo, hi in ranges:
            out |= (self.geq(field, lo) if lo > 0 else self.true) & (self.leq(field, hi) if hi < top else self.true)
        return out

    def flag(self, name: str) -> Function:
        return self.bdd.var(f"tcp_{name}0")

    # -- picking an example packet, as Batfish does ----------------------------------------------------------

    def _any_of(self, field: str, nets: Iterable[str]) -> Function:
        out = self.false
        for n in nets:
            out |= self.prefix(field, ipaddress.IPv4Network(n))
        return out

    def testfilter_preference(self) -> list[Function]:
        """BDDFlowConstraintGenerator's TESTFILTER preference: TCP, then UDP, then ICMP constraints, the default
        packet length, then the IP constraints."""
        if self._preference is not None:
            return self._preference
        tcp, udp, icmp = (self.value("ip_protocol", p) for p in (TCP, UDP, ICMP))
        src_eph, dst_eph = self.geq("src_port", EPHEMERAL_LOWEST), self.geq("dst_port", EPHEMERAL_LOWEST)
        prefs = [tcp & src_eph & ~dst_eph, tcp & ~src_eph & dst_eph]
        for port in ("src_port", "dst_port"):
            prefs += [tcp & self.value(port, p) for p in (80, 443, 22)] + [tcp & ~self.value(port, 0)]
        prefs += [tcp & ~self.flag(f) for f in ("cwr", "ece", "psh", "urg", "fin", "rst")]
        syn, ack = self.flag("syn"), self.flag("ack")
        prefs += [tcp & syn & ~ack, tcp & ack & syn, tcp & ack, tcp]
        prefs += [udp & self.ranges("dst_port", [(33434, 33534)]) & src_eph, udp & src_eph & ~dst_eph,
                  udp & ~src_eph & dst_eph]
        for port in ("src_port", "dst_port"):
            prefs += [udp & self.value(port, p) for p in (53, 161, 162)] + [udp & ~self.value(port, 0)]
        prefs.append(udp)
        code0 = self.value("icmp_code", 0)
        prefs += [icmp & self.value("icmp_type", 8) & code0, icmp & code0, icmp]
        prefs.append(self.value("packet_length", DEFAULT_PACKET_LENGTH))
        src_private, dst_private = self._any_of("src_ip", _PRIVATE), self._any_of("dst_ip", _PRIVATE)
        prefs += [~self._any_of("src_ip", _DOCUMENTATION), ~self._any_of("dst_ip", _DOCUMENTATION),
                  src_private & ~dst_private, ~src_private & dst_private]
        for ip in ("src_ip", "dst_ip"):
            prefs += [self.value(ip, int(ipaddress.IPv4Address("8.8.8.8"))),
                      self.value(ip, int(ipaddress.IPv4Address("1.1.1.1"))),
                      self.geq(ip, int(ipaddress.IPv4Address("1.0.0.0"))),
                      self.leq(ip, int(ipaddress.IPv4Address("126.255.255.254")))]
        self._preference = prefs
        return prefs

    def example(self, space: Function) -> dict[str, int] | None:
        """One packet of `space` (None if it is empty): each preference that still leaves packets narrows the
        set (BDDRepresentativePicker), then every bit is the lowest it can be, in variable order (satOne)."""
        if space == self.false:
            return None
        for pref in self.testfilter_preference():
            narrowed = space & pref
            if narrowed != self.false:
                space = narrowed
        values = dict.fromkeys(WIDTH, 0)
        for name, width in FIELDS:
            for i in range(width):
                bit = self.bdd.var(f"{name}{i}")
                low = space & ~bit
                if low != self.false:
                    space = low
                else:
                    space &= bit
                    values[name] |= 1 << (width - 1 - i)
        return values
