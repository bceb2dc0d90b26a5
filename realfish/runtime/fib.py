"""A router's emulated FIB: the addresses and the routes zebra installed through (emulated) netlink.

Connected subnets come from the interface addresses, as the kernel derives them; routes and nexthop objects
come from zebra's RTM_NEWROUTE/RTM_NEWNEXTHOP messages, which libreal forwards as text lines. Lookups are
longest-prefix match over the main table, connected first at equal length (the kernel's metric 0).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from realfish.dataplane import FibEntry, NextHop

T = TypeVar("T")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAIN_TABLE = 254
RTN_UNICAST = 1
# Route protocol numbers zebra uses (/etc/iproute2/rt_protos.d/frr.conf) and the names iproute2 prints.
PROTOCOLS = {2: "kernel", 3: "boot", 4: "static", 11: "zebra", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip",
             190: "ripng", 191: "nhrp", 192: "eigrp", 193: "ldp", 194: "sharp", 195: "pbr", 196: "static",
             197: "openfabric", 198: "srte"}
ROUTE_TYPES = {1: "unicast", 6: "blackhole", 7: "unreachable", 8: "prohibit"}


@dataclass(frozen=True, slots=True)
class Hop:
    gateway: IPAddress | None
    ifindex: int


@dataclass(slots=True)
class Route:
    prefix: IPNetwork
    protocol: int
    kind: int  # rtm_type
    metric: int
    hops: tuple[Hop, ...] = ()
    nhid: int = 0


@dataclass(slots=True)
class NexthopObject:
    id: int
    hop: Hop | None = None
    group: tuple[int, ...] = ()
    blackhole: bool = False


def _fields(line: str) -> tuple[list[str], dict[str, str], list[str]]:
    words = line.split()
    plain = [w for w in words if "=" not in w]
    kv: dict[str, str] = {}
    hops: list[str] = []
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            if k == "nh":
                hops.append(v)
            else:
                kv[k] = v
    return plain, kv, hops


# Every router's FIB holds the same prefixes and, route after route, the same next hops: parsed once and shared
# (a k=12 fat-tree's 14616 routes took 20 MiB of the controller as separate objects).
_INTERNED: dict[str, object] = {}


def _interned(text: str, make: Callable[[str], T]) -> T:
    if len(_INTERNED) > 200_000:
        _INTERNED.clear()  # a long-lived service converges many networks: do not keep them all
    obj = _INTERNED.get(text)
    if obj is None:
        obj = _INTERNED[text] = make(text)
    return obj  # type: ignore[return-value]


def _network(text: str) -> IPNetwork:
    return _interned("n" + text, lambda t: ipaddress.ip_network(t[1:], strict=False))


def _parse_hop(text: str) -> Hop:
    gw, oif = text[1:].rsplit("@", 1)
    return Hop(None if gw in ("-", "") else ipaddress.ip_address(gw), int(oif))


def _hop(text: str) -> Hop:
    return _interned("h" + text, _parse_hop)


@dataclass
class Fib:
    ifnames: dict[int, str]
    up: set[int] = field(default_factory=set)
    addresses: dict[int, list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]] = field(default_factory=dict)
    routes: dict[IPNetwork, Route] = field(default_factory=dict)
    nexthops: dict[int, NexthopObject] = field(default_factory=dict)
    # lookup() answers, forgotten at every update: the broker asks the same questions of the same
    # FIBs again and again (every pending connection attempt, after every event anywhere)
    _memo: dict[IPAddress, object] = field(default_factory=dict, init=False, repr=False, compare=False)
    # routes by (version, prefix length) and network bits, and the lengths present longest first: a lookup
    # tries each length once instead of testing every route (hundreds per router, per lookup, per connect)
    _index: dict[tuple[int, int], dict[int, IPNetwork]] = field(default_factory=dict, init=False, repr=False,
                                                                 compare=False)
    _lengths: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _connected: dict[IPNetwork, int] | None = field(default=None, init=False, repr=False, compare=False)
    _local: tuple[set[IPAddress], list[IPNetwork]] | None = field(default=None, init=False, repr=False,
                                                                  compare=False)

    # -- updates from libreal ----------------------------------------------------------------------------------
    def address(self, add: bool, ifindex: int, prefix: str) -> None:
        self._memo.clear()
        self._connected = self._local = None
        iface = ipaddress.ip_interface(prefix)
        have = self.addresses.setdefault(ifindex, [])
        if add and iface not in have:
            have.append(iface)
        elif not add and iface in have:
            have.remove(iface)

    def route(self, line: str) -> None:
        """`RT add|del PREFIX table=.. proto=.. type=.. metric=.. nhid=.. [nh=GW@OIF]...`"""
        self._memo.clear()
        plain, kv, hops = _fields(line)
        op, prefix = plain[1], _network(plain[2])
        if int(kv.get("table", MAIN_TABLE)) != MAIN_TABLE:
            return
        if op == "del":
            if self.routes.pop(prefix, None) is not None:
                self._unindex(prefix)
            return
        if prefix not in self.routes:
            self._indexed(prefix)
        self.routes[prefix] = Route(prefix, int(kv.get("proto", 0)), int(kv.get("type", RTN_UNICAST)),
                                    int(kv.get("metric", 0)), tuple(_hop(h) for h in hops),
                                    int(kv.get("nhid", 0)))

    def nexthop(self, line: str) -> None:
        """`NH add|del id=.. gw=.. oif=.. blackhole=0|1 group=ID,ID|-`"""
        self._memo.clear()
        plain, kv, _ = _fields(line)
        nid = int(kv["id"])
        if plain[1] == "del":
            self.nexthops.pop(nid, None)
            return
        group = tuple(int(x) for x in kv.get("group", "-").split(",") if x not in ("-", ""))
        gw, oif = kv.get("gw", "-"), int(kv.get("oif", 0))
        hop = None if group else Hop(None if gw == "-" else ipaddress.ip_address(gw), oif)
        self.nexthops[nid] = NexthopObject(nid, hop, group, kv.get("blackhole") == "1")

    def _indexed(self, net: IPNetwork) -> None:
        v, n = net.version, net.prefixlen
        bucket = self._index.setdefault((v, n), {})
        if not bucket:
            self._lengths[v] = sorted({*self._lengths.get(v, []), n}, reverse=True)
        bucket[int(net.network_address) >> (net.max_prefixlen - n)] = net

    def _unindex(self, net: IPNetwork) -> None:
        v, n = net.version, net.prefixlen
        bucket = self._index.get((v, n), {})
        bucket.pop(int(net.network_address) >> (net.max_prefixlen - n), None)
        if not bucket:
            self._lengths[v] = [x for x in self._lengths.get(v, []) if x != n]

    # -- reading -----------------------------------------------------------------------------------------------
    def hops_of(self, route: Route) -> tuple[tuple[Hop, ...], bool]:
        """The route's next hops (resolving nexthop objects), and whether it is a blackhole."""
        if route.kind != RTN_UNICAST:
            return (), True
        if not route.nhid:
            return route.hops, False
        obj = self.nexthops.get(route.nhid)
        if obj is None:
            return (), True
        if obj.blackhole:
            return (), True
        if obj.hop:
            return (obj.hop,), False
        members = [self.nexthops.get(i) for i in obj.group]
        return tuple(m.hop for m in members if m and m.hop), False

    def connected(self) -> dict[IPNetwork, int]:
        if self._connected is None:
            self._connected = self._connected_now()
        return self._connected

    def _connected_now(self) -> dict[IPNetwork, int]:
        nets: dict[IPNetwork, int] = {}
        for ifindex, addrs in self.addresses.items():
            if ifindex not in self.up:
                continue
            for a in addrs:
                if (a.version == 4 and a.network.prefixlen == 32) or a.ip.is_loopback:
                    continue  # the kernel puts an IPv4 host address in the local table only, with no subnet route
                    # (an IPv6 /128 gets its main-table route like any IPv6 prefix: addrconf_prefix_route)
                if a.version == 4 and self.ifnames.get(ifindex) == "lo":
                    continue  # an IPv4 subnet on lo is all local (table local), not a main-table route
                if a.version == 6 and a.ip.is_link_local:
                    continue  # fe80::/64 on every link: reached by scope, never by lookup (broker.py); IPv4's
                    # 169.254/16 is an ordinary subnet to the kernel (Batfish's ISP links use it)
                nets.setdefault(a.network, ifindex)
        return nets

    def owns(self, ip: IPAddress) -> bool:
        """Local delivery, as the kernel's local table has it: every address, and all of an IPv4 subnet on lo.
        (Only addresses change it, not routes: kept until the next address change.)"""
        if self._local is None:
            up = [(i, addrs) for i, addrs in self.addresses.items() if i in self.up]
            self._local = ({a.ip for _, addrs in up for a in addrs},
                           [a.network for i, addrs in up if self.ifnames.get(i) == "lo" for a in addrs
                            if a.version == 4])
        ips, lo_nets = self._local
        return ip in ips or (ip.version == 4 and any(ip in n for n in lo_nets))

    def lookup(self, ip: IPAddress) -> tuple[str, IPNetwork, tuple[Hop, ...]] | None:
        """Longest-prefix match: ("connected"|"route"|"blackhole", prefix, hops)."""
        if ip not in self._memo:
            self._memo[ip] = self._lookup(ip)
        return self._memo[ip]  # type: ignore[return-value]

    def _lookup(self, ip: IPAddress) -> tuple[str, IPNetwork, tuple[Hop, ...]] | None:
        best: tuple[int, int, str, IPNetwork, tuple[Hop, ...]] | None = None
        for net, ifindex in self.connected().items():
            if net.version == ip.version and ip in net:
                cand: tuple[int, int, str, IPNetwork, tuple[Hop, ...]] = (
                    net.prefixlen, 1, "connected", net, (Hop(None, ifindex),))
                best = cand if best is None or cand[:2] > best[:2] else best
        bits, x = ip.max_prefixlen, int(ip)
        for n in self._lengths.get(ip.version, []):
            if best is not None and n < best[0]:
                break  # a connected subnet at least as long wins
            hit = self._index[(ip.version, n)].get(x >> (bits - n))
            if hit is not None:
                hops, dead = self.hops_of(self.routes[hit])
                cand = (n, 0, "blackhole" if dead else "route", hit, hops)
                best = cand if best is None or cand[:2] > best[:2] else best
                break
        if best is None:
            return None
        return best[2], best[3], best[4]

    def source_for(self, ifindex: int, toward: IPAddress) -> IPAddress | None:
        """The source address the kernel would pick for a packet leaving on ifindex toward an address."""
        addrs = [a for a in self.addresses.get(ifindex, []) if a.version == toward.version]
        for a in addrs:
            if toward in a.network:
                return a.ip
        if addrs:
            return addrs[0].ip
        for i in sorted(self.addresses):  # fall back to any address, loopback's first (Linux does similar)
            for a in self.addresses[i]:
                if a.version == toward.version and not a.ip.is_loopback:
                    return a.ip
        return None

    def entries(self) -> list[FibEntry]:
        out = [FibEntry(str(net), "connected", 0, 0, [NextHop(None, self.ifnames.get(i, str(i)))])
               for net, i in self.connected().items()]
        for net, route in self.routes.items():
            hops, dead = self.hops_of(route)
            proto = PROTOCOLS.get(route.protocol, str(route.protocol))
            nhs = [NextHop(str(h.gateway) if h.gateway else None, self.ifnames.get(h.ifindex, str(h.ifindex)))
                   for h in hops]
            if dead:
                nhs = [NextHop(None, ROUTE_TYPES.get(route.kind, "blackhole"))]
            out.append(FibEntry(str(net), proto, 0, route.metric, nhs))
        return out
