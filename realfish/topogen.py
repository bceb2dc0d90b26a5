"""Generated benchmark networks, written as snapshots: fat-trees, rings and chains of eBGP routers.

Each generator writes SNAPSHOT/configs/<router>.cfg (FRR integrated configs) and
SNAPSHOT/batfish/layer1_topology.json, and returns the same network as `realfish.convert.load_network` reads it back.

Plan (the one DESIGN.md measures):
- fat-tree(k), k even: (k/2)^2 spines `spine-I`; k pods of k/2 aggregation routers `agg-P-I` and k/2 ToRs
  `tor-P-I`. Every ToR links to every agg of its pod; agg I of each pod links to spines
  I*(k/2) .. I*(k/2)+k/2-1. 5k^2/4 routers, k^3/2 links.
- ring(n) / chain(n): routers `rI`, rI linked to rI+1 (and r(n-1) to r0 for the ring).
- eBGP on every link, one session per link between the interface addresses. ASNs: spines 65000, the aggs of
  pod P 65100+P, ToR number T (pod-major) 4200000000+T, ring/chain router I 4200000000+I (4-byte private).
- Addresses: link L is the L-th /31 of 10.0.0.0/8 (the lower address on the upper tier, or on the
  lower-numbered ring router). Router number N (in generation order) has loopback 10.255.0.0 + N + 1 as /32,
  also its BGP router-id. Each ToR (and each ring/chain router) has its own /24 from 172.16.0.0/12 configured
  on lo and originated with `network` (the connected route lets FRR's import check pass).
- FRR defaults everywhere else: no timers, no tuning; only `no bgp ebgp-requires-policy`, without which
  FRR 8.4 exchanges no eBGP routes in a network that has no route policies.
- ospf_ibgp_grid(rows, cols): the other common design, OSPF as the IGP and iBGP between loopbacks. Routers `rI`
  in a grid (rI linked to its right and lower neighbours), same address plan; OSPF area 0 on every link (as
  point-to-point) and loopback, FRR's default timers; one AS, iBGP from loopback to loopback (update-source lo)
  with the first and the last router as route reflectors of all the others; every router originates its /24.
  One timer is set, BGP's connect-retry (5 s, as FRR's own topotests set it): bgpd connects as soon as zebra says
  the peer is reachable, which can be just before zebra's route is in the FIB (on a kernel too); the attempt
  then fails and FRR's default would wait 120 s before the next.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from realfish.snapshot import write_snapshot
from realfish.topology import Interface, Network, Router, Segment

SPINE_ASN = 65000
POD_ASN_BASE = 65100
PRIVATE_ASN4_BASE = 4200000000
LINK_SPACE = ipaddress.IPv4Network("10.0.0.0/8")
LOOPBACK_SPACE = ipaddress.IPv4Network("10.255.0.0/16")
PREFIX_SPACE = ipaddress.IPv4Network("172.16.0.0/12")


@dataclass
class _Port:
    ifname: str
    address: ipaddress.IPv4Interface
    peer_ip: ipaddress.IPv4Address
    peer_asn: int


@dataclass
class _Node:
    name: str
    asn: int
    loopback: ipaddress.IPv4Address
    prefix: ipaddress.IPv4Network | None = None  # originated /24, configured on lo
    ports: list[_Port] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"hostname {self.name}", "!"]
        for p in self.ports:
            lines += [f"interface {p.ifname}", f" ip address {p.address}", "!"]
        lines += ["interface lo", f" ip address {self.loopback}/32"]
        if self.prefix is not None:
            lines.append(f" ip address {self.prefix.network_address + 1}/{self.prefix.prefixlen}")
        lines += ["!", f"router bgp {self.asn}", f" bgp router-id {self.loopback}",
                  " no bgp ebgp-requires-policy"]
        lines += [f" neighbor {p.peer_ip} remote-as {p.peer_asn}" for p in self.ports]
        if self.prefix is not None:
            lines += [" !", " address-family ipv4 unicast", f"  network {self.prefix}",
                      " exit-address-family"]
        lines += ["!", ""]
        return "\n".join(lines)


class _Builder:
    def __init__(self) -> None:
        self.nodes: dict[str, _Node] = {}
        self.links: list[tuple[str, str, str, str]] = []  # (router, ifname, router, ifname)
        self.prefixes = 0

    def node(self, name: str, asn: int, originate: bool) -> None:
        n = len(self.nodes)
        if n + 1 >= LOOPBACK_SPACE.num_addresses - 1:
            raise ValueError(f"too many routers for the loopback plan ({LOOPBACK_SPACE})")
        prefix = None
        if originate:
            if self.prefixes >= PREFIX_SPACE.num_addresses // 256:
                raise ValueError(f"too many originating routers for the /24 plan ({PREFIX_SPACE})")
            prefix = ipaddress.IPv4Network((int(PREFIX_SPACE.network_address) + 256 * self.prefixes, 24))
            self.prefixes += 1
        self.nodes[name] = _Node(name, asn, LOOPBACK_SPACE.network_address + n + 1, prefix)

    def link(self, upper: str, lower: str) -> None:
        base = LINK_SPACE.network_address + 2 * len(self.links)
        if base + 1 > LINK_SPACE.broadcast_address or base + 1 in LOOPBACK_SPACE:
            raise ValueError(f"too many links for the address plan ({LINK_SPACE} below {LOOPBACK_SPACE})")
        a, b = self.nodes[upper], self.nodes[lower]
        pa = _Port(f"eth{len(a.ports)}", ipaddress.IPv4Interface((int(base), 31)), base + 1, b.asn)
        pb = _Port(f"eth{len(b.ports)}", ipaddress.IPv4Interface((int(base) + 1, 31)), base, a.asn)
        a.ports.append(pa)
        b.ports.append(pb)
        self.links.append((a.name, pa.ifname, b.name, pb.ifname))

    def write(self, outdir: str | Path, overwrite: bool, render: Callable[[_Node], str] | None = None) -> Network:
        cfgdir = Path(outdir) / "configs"
        net = Network()
        for node in self.nodes.values():
            text = render(node) if render else node.render()
            router = Router(node.name, config=text, source=str(cfgdir / f"{node.name}.cfg"))
            for p in node.ports:
                router.add_interface(Interface(p.ifname, [p.address]))
            router.interfaces["lo"].addresses.append(ipaddress.IPv4Interface(f"{node.loopback}/32"))
            if node.prefix is not None:
                router.interfaces["lo"].addresses.append(
                    ipaddress.IPv4Interface(f"{node.prefix.network_address + 1}/{node.prefix.prefixlen}"))
            net.add_router(router)
        net.segments = [Segment(f"seg{i}", [(r1, i1), (r2, i2)])
                        for i, (r1, i1, r2, i2) in enumerate(self.links)]
        net.validate()
        write_snapshot(net, outdir, overwrite=overwrite)
        return net


def fattree(k: int, outdir: str | Path, *, overwrite: bool = False) -> Network:
    """A k-ary fat-tree of 5k^2/4 eBGP routers (k even, >= 2) written as a snapshot in `outdir`."""
    if k < 2 or k % 2:
        raise ValueError(f"fat-tree k must be an even number >= 2, not {k}")
    h = k // 2
    if POD_ASN_BASE + k - 1 > 65534:
        raise ValueError(f"k={k}: too many pods for one 2-byte ASN per pod")
    b = _Builder()
    for s in range(h * h):
        b.node(f"spine-{s}", SPINE_ASN, originate=False)
    tor_number = 0
    for p in range(k):
        for i in range(h):
            b.node(f"agg-{p}-{i}", POD_ASN_BASE + p, originate=False)
        for j in range(h):
            b.node(f"tor-{p}-{j}", PRIVATE_ASN4_BASE + tor_number, originate=True)
            tor_number += 1
    for p in range(k):
        for i in range(h):
            for j in range(h):
                b.link(f"agg-{p}-{i}", f"tor-{p}-{j}")
    for p in range(k):
        for i in range(h):
            for m in range(h):
                b.link(f"spine-{i * h + m}", f"agg-{p}-{i}")
    return b.write(outdir, overwrite)


def _line(n: int, outdir: str | Path, closed: bool, overwrite: bool) -> Network:
    b = _Builder()
    for i in range(n):
        b.node(f"r{i}", PRIVATE_ASN4_BASE + i, originate=True)
    for i in range(n - 1):
        b.link(f"r{i}", f"r{i + 1}")
    if closed:
        b.link(f"r{n - 1}", "r0")
    return b.write(outdir, overwrite)


def ring(n: int, outdir: str | Path, *, overwrite: bool = False) -> Network:
    """n >= 3 eBGP routers in a ring, one AS each, each originating a /24."""
    if n < 3:
        raise ValueError(f"a ring needs at least 3 routers, not {n}")
    return _line(n, outdir, True, overwrite)


def chain(n: int, outdir: str | Path, *, overwrite: bool = False) -> Network:
    """n >= 1 eBGP routers in a line, one AS each, each originating a /24."""
    if n < 1:
        raise ValueError(f"a chain needs at least 1 router, not {n}")
    return _line(n, outdir, False, overwrite)


IBGP_ASN = 65500


def ospf_ibgp_grid(rows: int, cols: int, outdir: str | Path, *, overwrite: bool = False,
                   connect_retry: int | None = 5) -> Network:
    """rows x cols routers (at least 2) running OSPF as the IGP and iBGP between loopbacks (see the module plan);
    connect_retry None keeps FRR's default (120 s)."""
    if rows < 1 or cols < 1 or rows * cols < 2:
        raise ValueError(f"a grid needs at least 2 routers, not {rows}x{cols}")
    b = _Builder()
    names = [f"r{i}" for i in range(rows * cols)]
    for name in names:
        b.node(name, IBGP_ASN, originate=True)
    for r in range(rows):
        for c in range(cols):
            here = r * cols + c
            if c + 1 < cols:
                b.link(names[here], names[here + 1])
            if r + 1 < rows:
                b.link(names[here], names[here + cols])
    reflectors = [b.nodes[names[0]], b.nodes[names[-1]]]

    def render(node: _Node) -> str:
        lines = [f"hostname {node.name}", "!"]
        for p in node.ports:
            lines += [f"interface {p.ifname}", f" ip address {p.address}", " ip ospf network point-to-point", "!"]
        assert node.prefix is not None
        lines += ["interface lo", f" ip address {node.loopback}/32",
                  f" ip address {node.prefix.network_address + 1}/{node.prefix.prefixlen}", "!",
                  "router ospf", f" ospf router-id {node.loopback}", f" network {LINK_SPACE} area 0", "!",
                  f"router bgp {IBGP_ASN}", f" bgp router-id {node.loopback}"]
        reflector = node in reflectors
        peers = [n for n in b.nodes.values() if n is not node and (reflector or n in reflectors)]
        for n in peers:
            lines += [f" neighbor {n.loopback} remote-as {IBGP_ASN}", f" neighbor {n.loopback} update-source lo"]
            if connect_retry is not None:
                lines.append(f" neighbor {n.loopback} timers connect {connect_retry}")
        lines += [" !", " address-family ipv4 unicast", f"  network {node.prefix}"]
        if reflector:
            lines += [f"  neighbor {n.loopback} route-reflector-client" for n in peers if n not in reflectors]
        lines += [" exit-address-family", "!", ""]
        return "\n".join(lines)

    return b.write(outdir, overwrite, render)
