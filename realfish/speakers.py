"""The outside world as real BGP speakers: one hidden FRR router per outside address.

An `OutsideSpeaker` owns one outside address (an announcement's `srcIp`, an ISP's peer address), sits on the
L2 segment of the snapshot interfaces whose subnet holds it, and opens ordinary BGP sessions to them. What it
sends is set by FRR's own configuration, so the snapshot's routers receive real UPDATEs and their own import
policy, best-path selection and re-advertisement decide what happens:

- each route is originated with `network P route-map ORIG-n` (`no bgp network import-check`: it needs no RIB
  entry) and its attributes are set per neighbor by an outbound route-map (`set metric`, `set origin`,
  `set community`, `set local-preference` on iBGP, `set ip next-hop` for a third-party next hop);
- the AS path is the announcement's, exactly: on eBGP the speaker does not put its own AS in front
  (`neighbor X attribute-unchanged as-path`) and the outbound route-map prepends the path's AS sequence;
- an AS_SET at the end of the path ({7018,7019}) cannot be written by a route-map, so FRR computes it: the
  route is an `aggregate-address P as-set summary-only` of two components (P's halves) whose paths are the
  set's first AS and its other ASes, and BGP aggregation turns their differing ASes into the set. A set
  anywhere but at the end, or on a /32, cannot be built this way and is reported;
- what its neighbors send it is denied (it is a source, not a transit).

Speakers are `Router(kind="speaker")`: they run like any router, but answers and reports never list them
(Batfish does not list the peers of external announcements either).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from realfish.announcements import Announcement
from realfish.topology import Interface, Network, Router, Segment

SPEAKER = "speaker"  # Router.kind of a hidden outside speaker


@dataclass
class Route:
    """What the speaker sends one neighbor for one prefix."""

    network: ipaddress.IPv4Network
    as_path: list[list[int]]
    communities: list[str] = field(default_factory=list)
    med: int | None = None
    local_pref: int | None = None
    origin: str = "igp"
    next_hop: ipaddress.IPv4Address | None = None


@dataclass
class Neighbor:
    ip: ipaddress.IPv4Address
    asn: int
    router: str  # the snapshot router it belongs to
    ifname: str  # that router's Linux interface facing the speaker
    routes: list[Route] = field(default_factory=list)


@dataclass
class OutsideSpeaker:
    name: str
    address: ipaddress.IPv4Interface
    asn: int
    neighbors: list[Neighbor] = field(default_factory=list)
    label: str = ""  # what it stands for, for messages ("external announcements", "ISP AS 7018")

    def neighbor(self, ip: ipaddress.IPv4Address, asn: int, router: str, ifname: str) -> Neighbor:
        for n in self.neighbors:
            if n.ip == ip:
                return n
        n = Neighbor(ip, asn, router, ifname)
        self.neighbors.append(n)
        return n

    def config(self) -> str:
        """The speaker's frr.conf (see the module docstring)."""
        seq_parts, set_parts = _split_paths(self)
        lines = ["frr version 8.4.4", "frr defaults traditional", f"hostname {self.name}", "!",
                 "interface eth0", f" ip address {self.address.with_prefixlen}", "exit", "!",
                 f"router bgp {self.asn}", f" bgp router-id {self.address.ip}", " no bgp ebgp-requires-policy",
                 " no bgp network import-check", " no bgp default ipv4-unicast"]
        lines += [f" neighbor {n.ip} remote-as {n.asn}" for n in self.neighbors]
        lines += [" !", " address-family ipv4 unicast"]
        tail: list[str] = []
        for i, (net, aset) in enumerate(sorted(set_parts.items(), key=lambda kv: kv[0])):
            if not aset:
                lines.append(f"  network {net}")
                continue
            halves = list(net.subnets(1))
            groups = [aset[:1], aset[1:]]
            for j, (half, asns) in enumerate(zip(halves, groups, strict=True)):
                lines.append(f"  network {half} route-map ORIG-{i}-{j}")
                tail += [f"route-map ORIG-{i}-{j} permit 10"]
                tail += [f" set as-path prepend {' '.join(map(str, asns))}"] if asns else []
                tail += ["exit", "!"]
            lines.append(f"  aggregate-address {net} as-set summary-only")
        for k, n in enumerate(self.neighbors):
            lines += [f"  neighbor {n.ip} activate", f"  neighbor {n.ip} route-map DENY-ALL in",
                      f"  neighbor {n.ip} route-map TO-{k} out"]
            if n.asn != self.asn:
                lines.append(f"  neighbor {n.ip} attribute-unchanged as-path")
            tail += _out_map(k, n, seq_parts, self.asn)
        lines += [" exit-address-family", "exit", "!"]
        prefixes = sorted({r.network for n in self.neighbors for r in n.routes})
        tail += [f"ip prefix-list P-{p.network_address}-{p.prefixlen} seq 5 permit {p}" for p in prefixes]
        tail += ["!", "route-map DENY-ALL deny 10", "exit", "!"]
        return "\n".join(lines + tail) + "\n"

    def router(self) -> Router:
        r = Router(self.name, config=self.config(), source=self.label, kind=SPEAKER)
        r.add_interface(Interface("eth0", [self.address]))
        return r


def _split_paths(sp: OutsideSpeaker) -> tuple[dict[tuple[int, ipaddress.IPv4Network], list[int]],
                                               dict[ipaddress.IPv4Network, list[int]]]:
    """Per (neighbor, prefix): the AS sequence the outbound map prepends; per prefix: the trailing AS_SET
    the origination builds ([] for none). Callers checked that one prefix has one set for all neighbors."""
    seqs: dict[tuple[int, ipaddress.IPv4Network], list[int]] = {}
    sets: dict[ipaddress.IPv4Network, list[int]] = {}
    for k, n in enumerate(sp.neighbors):
        for r in n.routes:
            seq, aset = split_path(r.as_path)
            seqs[(k, r.network)] = seq
            sets[r.network] = aset
    return seqs, sets


def split_path(path: list[list[int]]) -> tuple[list[int], list[int]]:
    """An AS path as (sequence, trailing set); ValueError when the speaker cannot send it."""
    seq: list[int] = []
    for pos, seg in enumerate(path):
        if len(seg) == 1:
            seq.append(seg[0])
            continue
        if pos != len(path) - 1:
            raise ValueError(f"AS path {path}: an AS_SET before the end of the path cannot be originated by FRR "
                             "(only a trailing set, through aggregation)")
        return seq, sorted(set(seg))
    return seq, []


def _out_map(k: int, n: Neighbor, seqs: dict[tuple[int, ipaddress.IPv4Network], list[int]],
             own_as: int) -> list[str]:
    """Route-map TO-k: what neighbor k gets, one clause per prefix (everything else is denied)."""
    out = []
    for i, r in enumerate(sorted(n.routes, key=lambda r: r.network), start=1):
        out += [f"route-map TO-{k} permit {i * 10}",
                f" match ip address prefix-list P-{r.network.network_address}-{r.network.prefixlen}"]
        seq = seqs[(k, r.network)]
        if seq:
            out.append(f" set as-path prepend {' '.join(map(str, seq))}")
        if r.med is not None:
            out.append(f" set metric {r.med}")
        out.append(f" set origin {r.origin}")
        out.append(f" set community {' '.join(r.communities)}" if r.communities else " set community none")
        if r.local_pref is not None and n.asn == own_as:
            out.append(f" set local-preference {r.local_pref}")
        if r.next_hop is not None:
            out.append(f" set ip next-hop {r.next_hop}")
        out += ["exit", "!"]
    return out


def speaker_name(ip: ipaddress.IPv4Address, taken: set[str]) -> str:
    base = f"outside-{str(ip).replace('.', '-')}"
    name, i = base, 1
    while name in taken:
        i += 1
        name = f"{base}-{i}"
    return name


def from_announcements(anns: list[Announcement], linux_name: dict[tuple[str, str], str],
                       taken: set[str]) -> tuple[list[OutsideSpeaker], list[tuple[Announcement, str]]]:
    """Speakers for the announcements (one per source address), and the announcements left out with why.
    `linux_name` maps (router, user's interface name) to the Linux name the renderer chose."""
    speakers: dict[ipaddress.IPv4Address, OutsideSpeaker] = {}
    sets: dict[tuple[ipaddress.IPv4Address, ipaddress.IPv4Network], list[int]] = {}
    left: list[tuple[Announcement, str]] = []
    for a in anns:
        try:
            _, aset = split_path(a.as_path)
        except ValueError as e:
            left.append((a, str(e)))
            continue
        if aset and a.network.prefixlen == 32:
            left.append((a, f"AS path {a.as_path}: an AS_SET on a /32 cannot be built by aggregation"))
            continue
        sp = speakers.get(a.src_ip)
        if sp is None:
            sp = OutsideSpeaker(speaker_name(a.src_ip, taken), ipaddress.IPv4Interface((a.src_ip, a.prefix_len)),
                                a.speaker_as, label="external BGP announcements")
            taken.add(sp.name)
            speakers[a.src_ip] = sp
        elif sp.asn != a.speaker_as:
            left.append((a, f"{a.src_ip} already speaks as AS {sp.asn} to another node"))
            continue
        if sets.setdefault((a.src_ip, a.network), aset) != aset:
            left.append((a, f"{a.network} from {a.src_ip} is announced with two different AS_SETs"))
            continue
        n = sp.neighbor(a.dst_ip, a.dst_as, a.dst_node, linux_name[(a.dst_node, a.dst_interface)])
        if any(r.network == a.network for r in n.routes):
            left.append((a, f"{a.network} is announced to {a.dst_node} by {a.src_ip} more than once: the first "
                            "one is sent"))
            continue
        n.routes.append(Route(a.network, a.as_path, a.communities, a.med, a.local_pref, a.origin,
                              a.next_hop if a.next_hop not in (None, a.src_ip) else None))
    for sp in speakers.values():
        components = {h for n in sp.neighbors for r in n.routes if sets[(sp.address.ip, r.network)]
                      for h in r.network.subnets(1)}
        clash = [r for n in sp.neighbors for r in n.routes if r.network in components]
        for r in clash:
            left.append((next(a for a in anns if a.network == r.network and a.src_ip == sp.address.ip),
                         f"{r.network} is also a component of an AS_SET aggregate from {sp.address.ip}"))
        for n in sp.neighbors:
            n.routes = [r for r in n.routes if r not in clash]
    return list(speakers.values()), left


def attach(net: Network, speakers: list[OutsideSpeaker]) -> list[str]:
    """Add the speakers to the network, each on the L2 segment of the interfaces it peers with; a neighbor on
    another segment than the speaker's first one is dropped (returned: why)."""
    dropped = []
    for sp in speakers:
        seg: Segment | None = None
        kept = []
        for n in sp.neighbors:
            here = net.segment_of(n.router, n.ifname)
            if seg is None:
                seg = here or Segment(f"seg-{sp.name}", [(n.router, n.ifname)])
            elif here is not seg:
                dropped.append(f"{sp.address.ip} is on {sp.neighbors[0].router}'s segment, not on {n.router}'s: "
                               f"its announcements to {n.router} are not delivered")
                continue
            kept.append(n)
        sp.neighbors = kept
        if seg is None:
            continue
        if seg not in net.segments:
            net.segments.append(seg)
        router = net.add_router(sp.router())
        seg.members.append((router.name, "eth0"))
    return dropped
