"""The broker: who owns which address, who listens where, and which TCP connections may open.

A connection opens exactly when it would on real routers: the destination address belongs to an emulated
router that listens on the port, and a path exists both ways over the current emulated FIBs (the connected
subnet for single-hop eBGP, learned routes for iBGP between loopbacks), within the socket's TTL and the
listener's minimum TTL (GTSM), with matching TCP-MD5 keys. Otherwise the caller gets what a kernel gives:
ENETUNREACH when its own FIB has no route, ECONNREFUSED when nothing listens, and a SYN that goes unanswered
(the attempt stays pending, re-tried whenever a FIB changes, until TCP's ~127 s give-up) when the path, the
TTL or the key is wrong further away.
"""

from __future__ import annotations

import collections
import errno
import ipaddress
import itertools
from dataclasses import dataclass, field

from realfish.runtime.fib import Fib, IPAddress
from realfish.topology import Network

SYN_GIVE_UP_NS = 127 * 10**9  # Linux: tcp_syn_retries=6 -> 1+2+4+8+16+32+64 s
MAX_HOPS = 64


@dataclass
class Listener:
    id: int
    router: str
    family: int  # 4 or 6
    addr: IPAddress | None  # None: wildcard
    port: int
    v6only: bool
    minttl: int = 0
    md5: dict[IPAddress, str] = field(default_factory=dict)
    channel: object = None  # the controller's end of the accept channel
    pid: int = 0


@dataclass
class Attempt:
    """One connect() as the broker sees it."""

    id: int
    router: str
    family: int
    src: IPAddress | None
    sport: int
    dst: IPAddress
    dport: int
    ttl: int
    md5: str | None
    started: int  # ns: virtual with the virtual clock, else wall (CLOCK_MONOTONIC)
    wake_fd: int = -1  # write end of the pipe the connecting daemon waits on
    pid: int = 0


@dataclass
class Verdict:
    ok: bool = False
    err: int = 0  # errno to give now (ENETUNREACH, ECONNREFUSED) when not ok and not pending
    pending: bool = False
    listener: Listener | None = None
    src: IPAddress | None = None
    why: str = ""
    # (local, peer) as the accepting side sees them, when not (dst, src): link-local addresses name the link,
    # which is the acceptor's own interface there
    accepted_as: tuple[str, str] | None = None


class Broker:
    def __init__(self, network: Network):
        self.fibs: dict[str, Fib] = {}
        # Every router address, and the IPv4 subnets on loopbacks (all of which is local): whether anyone at
        # all owns a destination, asked of every pending attempt after every batch of events
        self.owned: collections.Counter[IPAddress] = collections.Counter()
        self.lo_subnets: collections.Counter[tuple[int, int]] = collections.Counter()  # (prefix length, network)
        self.lo_lengths: collections.Counter[int] = collections.Counter()
        self.new_owners: set[IPAddress] = set()  # addresses added since take_new_owners()
        self.lo_changed = False  # a subnet on a loopback changed since (it owns all of its addresses)
        self.segment: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for index, (name, router) in enumerate(network.routers.items()):
            ifnames = {i.ifindex: i.name for i in router.interfaces.values()}
            self.fibs[name] = Fib(ifnames, up=set(ifnames))
            self.address(name, True, 1, "127.0.0.1/8")
            self.address(name, True, 1, "::1/128")
            for i in router.interfaces.values():  # the kernel's own link-local addresses (interface_table's)
                if i.name != "lo":
                    self.address(name, True, i.ifindex, f"{router.link_local(i, index)}/64")
        for seg in network.segments:
            members = [(r, network.routers[r].interfaces[i].ifindex) for r, i in seg.members]
            for m in members:
                self.segment[m] = [o for o in members if o != m]
        self.listeners: dict[int, Listener] = {}
        self.listeners_version = 0  # changes whenever a daemon's listener does (a cluster's part publishes them)
        self.booting: set[str] = set()  # routers being configured: connections to them are refused
        self.ports: dict[str, itertools.count[int]] = {}
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def ephemeral_port(self, router: str) -> int:
        counter = self.ports.setdefault(router, itertools.count(32768))
        return 32768 + (next(counter) - 32768) % 28000

    def address(self, router: str, add: bool, ifindex: int, prefix: str) -> None:
        """An address zebra configured (or removed) on one of the router's interfaces."""
        fib = self.fibs[router]
        iface = ipaddress.ip_interface(prefix)
        if (iface in fib.addresses.get(ifindex, [])) == add:
            return
        if add:
            self.new_owners.add(iface.ip)
        fib.address(add, ifindex, prefix)
        delta = 1 if add else -1
        self.owned[iface.ip] += delta
        plen = iface.network.prefixlen
        if fib.ifnames.get(ifindex) == "lo" and iface.version == 4 and plen < 32:
            self.lo_changed = True
            self.lo_subnets[(plen, int(iface.network.network_address))] += delta
            self.lo_lengths[plen] += delta

    def take_new_owners(self) -> tuple[set[IPAddress], bool]:
        """The addresses added, and whether a loopback subnet changed, since the last call."""
        added, lo = self.new_owners, self.lo_changed
        self.new_owners, self.lo_changed = set(), False
        return added, lo

    def anyone_owns(self, ip: IPAddress) -> bool:
        if self.owned[ip] > 0:
            return True
        if ip.version != 4:
            return False
        x = int(ip)
        return any(self.lo_subnets[(plen, x >> (32 - plen) << (32 - plen))] > 0
                   for plen, n in self.lo_lengths.items() if n > 0)

    def owns(self, router: str, ip: IPAddress) -> bool:
        return self.fibs[router].owns(ip)

    # -- forwarding over the emulated FIBs ---------------------------------------------------------------------
    def walk(self, router: str, dst: IPAddress) -> tuple[str | None, int, str]:
        """Follow the FIBs from router toward dst: (router that owns dst or None, hops taken, why it failed)."""
        here, hops = router, 0
        while hops <= MAX_HOPS:
            fib = self.fibs[here]
            if fib.owns(dst):
                return here, hops, ""
            found = fib.lookup(dst)
            if found is None:
                return None, hops, f"{here} has no route to {dst}"
            kind, net, nexthops = found
            if kind == "blackhole" or not nexthops:
                return None, hops, f"{here} drops {dst} ({net} is a blackhole or has no usable nexthop)"
            hop = nexthops[0]  # one flow takes one path; the first is as good as the kernel's hash here
            target = hop.gateway or dst
            nxt = None
            for peer, _ifindex in self.segment.get((here, hop.ifindex), []):
                if self.fibs[peer].owns(target):
                    nxt = peer
                    break
            if nxt is None:
                name = fib.ifnames.get(hop.ifindex, hop.ifindex)
                return None, hops, f"{here}: nobody answers ARP for {target} on {name}"
            here, hops = nxt, hops + 1
        return None, hops, f"forwarding loop toward {dst}"

    def decide(self, a: Attempt) -> Verdict:
        if isinstance(a.dst, ipaddress.IPv6Address) and a.dst.is_link_local:
            return self._decide_link_local(a)
        fib = self.fibs[a.router]
        first = fib.lookup(a.dst)
        if not fib.owns(a.dst) and (first is None or first[0] == "blackhole"):
            return Verdict(err=errno.ENETUNREACH, why=f"{a.router} has no route to {a.dst}")
        src = a.src
        if src is None:
            if fib.owns(a.dst):
                src = a.dst
            else:
                assert first is not None
                hop = first[2][0]
                src = fib.source_for(hop.ifindex, hop.gateway or a.dst)
            if src is None:
                return Verdict(err=errno.EADDRNOTAVAIL, why=f"{a.router} has no source address toward {a.dst}")
        owner, hops, why = self.walk(a.router, a.dst)
        if owner is None:
            return Verdict(pending=True, why=why)
        if owner in self.booting:  # as a router not yet up would: a RST, whatever vtysh has fed it so far
            return Verdict(err=errno.ECONNREFUSED, src=src, why=f"{owner} is being configured")
        if hops > a.ttl:
            return Verdict(pending=True, why=f"{a.dst} is {hops} hops away, beyond TTL {a.ttl}")
        back, _, why_back = self.walk(owner, src)
        if back != a.router:
            return Verdict(pending=True, why=f"no path back from {owner} to {src}: {why_back}")
        listener = self.find_listener(owner, a.family, a.dst, a.dport)
        if listener is None:
            return Verdict(err=errno.ECONNREFUSED, src=src, why=f"nothing listens on {a.dst} port {a.dport}")
        arriving_ttl = a.ttl - max(0, hops - 1)
        if listener.minttl and arriving_ttl < listener.minttl:
            return Verdict(pending=True, why=f"TTL {arriving_ttl} below {owner}'s minimum {listener.minttl}")
        if listener.md5.get(src) != a.md5:
            return Verdict(pending=True, why=f"TCP-MD5 keys of {a.router} and {owner} differ")
        return Verdict(ok=True, listener=listener, src=src)

    def _decide_link_local(self, a: Attempt) -> Verdict:
        """A link-local destination (BGP unnumbered): only on the link its scope names (the connecting router's
        ifindex), from the router's own link-local address there; no routing, one hop."""
        assert isinstance(a.dst, ipaddress.IPv6Address)
        scope = int(a.dst.scope_id or 0)
        dst = ipaddress.IPv6Address(a.dst.packed)
        fib = self.fibs[a.router]
        if not scope or scope not in fib.ifnames:
            return Verdict(err=errno.EINVAL, why=f"{a.router}: link-local {a.dst} names no interface")
        mine = [x.ip for x in fib.addresses.get(scope, []) if x.version == 6 and x.ip.is_link_local]
        if not mine or scope not in fib.up:
            return Verdict(err=errno.EADDRNOTAVAIL, why=f"{a.router} has no link-local address on {scope}")
        src = mine[0]
        owner = next(((r, i) for r, i in self.segment.get((a.router, scope), []) if dst in
                      [x.ip for x in self.fibs[r].addresses.get(i, [])] and i in self.fibs[r].up), None)
        if owner is None:
            return Verdict(pending=True, why=f"{a.router}: nobody answers neighbour discovery for {a.dst}")
        router, ifindex = owner
        if router in self.booting:
            return Verdict(err=errno.ECONNREFUSED, why=f"{router} is being configured")
        listener = self.find_listener(router, 6, dst, a.dport)
        if listener is None:
            return Verdict(err=errno.ECONNREFUSED, why=f"nothing listens on {dst} port {a.dport}")
        if listener.minttl and a.ttl < listener.minttl:
            return Verdict(pending=True, why=f"TTL {a.ttl} below {router}'s minimum {listener.minttl}")
        keys = {ipaddress.ip_address(k.packed): v for k, v in listener.md5.items()}  # the key's scope aside
        if keys.get(src) != a.md5:
            return Verdict(pending=True, why=f"TCP-MD5 keys of {a.router} and {router} differ")
        return Verdict(ok=True, listener=listener, src=ipaddress.IPv6Address(f"{src}%{scope}"),
                       accepted_as=(f"{dst}%{ifindex}", f"{src}%{ifindex}"))

    def find_listener(self, router: str, family: int, dst: IPAddress, port: int) -> Listener | None:
        exact = wild = None
        for lst in self.listeners.values():
            if lst.router != router or lst.port != port:
                continue
            if lst.family == family or (lst.family == 6 and family == 4 and not lst.v6only):
                if lst.addr == dst:
                    exact = lst
                elif lst.addr is None:
                    wild = lst if wild is None or lst.family == family else wild
        return exact or wild

    def bind_ok(self, router: str, addr: str) -> bool:
        if addr in ("0.0.0.0", "::", "*"):
            return True
        return self.owns(router, ipaddress.ip_address(addr))

    @staticmethod
    def expired(a: Attempt, now_ns: int) -> bool:
        """Has the kernel given up on its SYNs? `now_ns` on the clock `a.started` is on (virtual or wall)."""
        return now_ns - a.started >= SYN_GIVE_UP_NS
