"""The network as plain data: routers, their interfaces, and the L2 segments that join them.

Nothing here starts a process. A `Network` is what the snapshot loader (`realfish.convert.load_network`) and the
topology generator produce and what both runtimes (the emulation in `realfish.runtime` and the namespace baseline
in `realfish.baseline`) consume. Addresses listed here come from the router's config; at run time zebra installs
them itself from the FRR config, exactly as it would on a Linux box.
"""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass, field

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

# Linux interface names: at most 15 bytes, no '/', no whitespace.
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
_BGP_NEIGHBOR = re.compile(r"^\s*neighbor\s+(\S+)\s+(?:remote-as|peer-group)\b", re.M)


def valid_ifname(name: str) -> bool:
    return bool(_IFNAME_RE.match(name)) and name not in (".", "..")


# What a Linux veth reports through ethtool, so what FRR on a Linux box with virtual links reads, and also
# FRR's own fallback bandwidth when a port reports none: the speed of a port nothing else is known about.
VETH_SPEED_MBPS = 10_000


@dataclass
class Interface:
    name: str
    addresses: list[IPInterface] = field(default_factory=list)
    mtu: int = 1500
    ifindex: int = 0  # assigned by Router.add_interface: lo is 1, the others follow in order of addition
    original_name: str = ""  # the user's name when it is not a Linux name (GigabitEthernet0/0), else ""
    # The port's link speed in Mb/s, as ethtool reports it to zebra (ospfd's auto-cost divides by it). lo has
    # none, whatever this says: the kernel's loopback has no link settings.
    speed_mbps: int = VETH_SPEED_MBPS


@dataclass
class Router:
    name: str
    config: str  # integrated frr.conf text, applied as-is with vtysh
    source: str = ""  # file the config came from, for error messages
    interfaces: dict[str, Interface] = field(default_factory=dict)
    # "router"; "host": an end host (zebra and staticd, a default route); "speaker": a BGP speaker of the world
    # outside the snapshot (realfish.speakers), run like a router but listed in no answer or report
    kind: str = "router"

    def __post_init__(self) -> None:
        if "lo" not in self.interfaces:
            self.interfaces = {"lo": Interface("lo", mtu=65536, ifindex=1, speed_mbps=0), **self.interfaces}
            self._renumber()

    def _renumber(self) -> None:
        ordered = [self.interfaces["lo"]] + [i for n, i in self.interfaces.items() if n != "lo"]
        for idx, iface in enumerate(ordered, start=1):
            iface.ifindex = idx
        self.interfaces = {i.name: i for i in ordered}

    def add_interface(self, iface: Interface) -> Interface:
        if iface.name in self.interfaces:
            existing = self.interfaces[iface.name]
            for a in iface.addresses:
                if a not in existing.addresses:
                    existing.addresses.append(a)
            return existing
        if not valid_ifname(iface.name):
            raise ValueError(f"router {self.name}: interface name {iface.name!r} is not a valid Linux name")
        iface.ifindex = len(self.interfaces) + 1
        self.interfaces[iface.name] = iface
        return iface

    @property
    def name_map(self) -> dict[str, str]:
        """Linux interface name -> the user's name, for every interface (identity where they are the same)."""
        return {n: (i.original_name or n) for n, i in self.interfaces.items()}

    def daemons(self) -> list[str]:
        """FRR daemons this router needs, in start order (zebra first: the others connect to it)."""
        wanted = ["zebra", "staticd"]
        if re.search(r"^router bgp\b", self.config, re.M):
            wanted.append("bgpd")
        if re.search(r"^router ospf\b(?!6)", self.config, re.M):
            wanted.append("ospfd")
        if re.search(r"^router ospf6\b", self.config, re.M):
            wanted.append("ospf6d")
        return wanted

    def link_local(self, iface: Interface, index: int) -> ipaddress.IPv6Address:
        """The IPv6 link-local address the kernel gives the interface (EUI-64 from its MAC, addr_gen_mode 0)."""
        b = bytes(int(x, 16) for x in self.mac(iface, index).split(":"))
        eui = bytes([b[0] ^ 2]) + b[1:3] + b"\xff\xfe" + b[3:]
        return ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + eui)

    def mac(self, iface: Interface, index: int) -> str:
        """Deterministic locally administered MAC: router index and ifindex."""
        octets = [2, index >> 16, index >> 8, index, iface.ifindex >> 8, iface.ifindex]
        return ":".join(f"{b & 0xFF:02x}" for b in octets)


@dataclass
class Segment:
    """An L2 broadcast domain: a point-to-point link has two members, a LAN more, a stub one."""

    name: str
    members: list[tuple[str, str]]  # (router name, interface name)


@dataclass
class Network:
    routers: dict[str, Router] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    # A part's whole network (part()): where the part's raw packets go in a replay, to the recording's stand-ins
    whole: Network | None = field(default=None, repr=False, compare=False)

    def add_router(self, router: Router) -> Router:
        if router.name in self.routers:
            raise ValueError(f"duplicate router name {router.name!r} ({router.source} and "
                             f"{self.routers[router.name].source})")
        self.routers[router.name] = router
        return router

    def inside(self) -> list[str]:
        """The snapshot's own routers and hosts: every router but the hidden outside speakers."""
        return [n for n, r in self.routers.items() if r.kind != "speaker"]

    def segment_of(self, router: str, ifname: str) -> Segment | None:
        for seg in self.segments:
            if (router, ifname) in seg.members:
                return seg
        return None

    def router_index(self, name: str) -> int:
        return list(self.routers).index(name)

    def neighbours(self) -> dict[str, set[str]]:
        """Routers that talk to each other: they share a segment, or one names the other's address as a BGP
        neighbor (iBGP between loopbacks has no shared segment)."""
        owner = {a.ip: r.name for r in self.routers.values() for i in r.interfaces.values() for a in i.addresses}
        adj: dict[str, set[str]] = {n: set() for n in self.routers}
        for seg in self.segments:
            for name, _ in seg.members:
                adj[name].update(o for o, _ in seg.members if o != name)
        for router in self.routers.values():
            for m in _BGP_NEIGHBOR.finditer(router.config):
                try:
                    other = owner.get(ipaddress.ip_address(m.group(1)))
                except ValueError:
                    continue  # a peer-group or interface name
                if other and other != router.name:
                    adj[router.name].add(other)
                    adj[other].add(router.name)
        return adj

    def boot_batches(self, size: int, seed: int = 0) -> list[list[str]]:
        """The routers in boot order, in batches of at most `size` where no two are neighbours (taken by name,
        or with a `seed` other than 0 in that seed's shuffled order, each into the first batch with room and no
        neighbour of it).

        Routers that boot at the same instant open their BGP sessions to each other at the same instant, and
        FRR then resolves a connection collision on every such session (an extra connection, OPENs refused,
        more memory). Real networks do not boot in lockstep, and neither does the baseline, whose daemons start
        one after another; a router booted a moment after its neighbour finds the neighbour waiting for it."""
        adj = self.neighbours()
        batches: list[list[str]] = []
        order = sorted(self.routers)
        if seed:
            random.Random(seed).shuffle(order)
        for name in order:
            for batch in batches:
                if len(batch) < size and not adj[name].intersection(batch):
                    batch.append(name)
                    break
            else:
                batches.append([name])
        return batches

    def part(self, names: list[str]) -> Network:
        """The named routers alone (a replay runs them without the rest); segments keep only their members."""
        missing = [n for n in names if n not in self.routers]
        if missing:
            raise ValueError(f"no router named {', '.join(map(repr, missing))} in the network")
        keep = set(names)
        segments = [Segment(seg.name, [m for m in seg.members if m[0] in keep]) for seg in self.segments]
        return Network({n: r for n, r in self.routers.items() if n in keep}, [s for s in segments if s.members],
                       self.whole or self)

    def validate(self) -> None:
        """Every segment member must name an existing router interface, and appear in one segment only."""
        seen: dict[tuple[str, str], str] = {}
        for seg in self.segments:
            for r, i in seg.members:
                if r not in self.routers:
                    raise ValueError(f"segment {seg.name}: unknown router {r!r}")
                if i not in self.routers[r].interfaces:
                    raise ValueError(f"segment {seg.name}: router {r} has no interface {i!r}")
                if (r, i) in seen:
                    raise ValueError(f"interface {r}:{i} is in segments {seen[(r, i)]} and {seg.name}")
                seen[(r, i)] = seg.name
