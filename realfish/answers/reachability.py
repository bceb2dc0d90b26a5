"""reachability and detectLoops: Batfish's flow searches, made concrete over the routers' own FIBs.

Batfish answers both symbolically: a BDD over every packet header and start location, then one example flow per
start location (IngressLocation) picked by its DEBUGGING flow preference, traced with the traceroute engine.
realfish cannot enumerate every packet, so it searches a finite set of candidate flows that stands for the
classes of packets the network treats differently, traces each with `realfish.answers.forwarding`, and keeps,
per start location, the first candidate (in a fixed order) for which some trace meets the question:

* start locations (pathConstraints.startLocation, default every location): an interface location starts in its
  interface's VRF (Originate) and, as Batfish's IngressLocation, the interfaces of one node and VRF make one
  start; an `@enter(node[iface])` location enters the interface. Source IP: `srcIps`' lowest address, else the
  location's lowest (its interfaces' addresses; for a link, its lowest host that no device owns), as
  traceroute picks it; a start without one is skipped, as Batfish does.
* destinations: within `dstIps` (default: every address; with invertSearch, every address outside it), the
  lowest address of each dstIps term, then, in address order, one or two representatives of each
  longest-prefix-match class of the union of every router's FIB prefixes (its lowest address and its lowest
  host address no device owns), the class no FIB prefix covers, every snapshot interface address (each is
  accepted somewhere), and the addresses the snapshot's ACL lines name.
* other headers: Batfish's DEBUGGING preference, approximated: ICMP echo-request when the constraints allow ICMP,
  else traceroute's TRACEROUTE preference (UDP 49152 -> 33434, where Batfish's DEBUGGING preference would pick
  another UDP/TCP port); then, for the filters, one header per protocol/port the snapshot's ACL lines and
  iptables rules match, when the constraints allow it.
* a trace meets the question when its disposition is in `actions` (success = ACCEPTED, DELIVERED_TO_SUBNET,
  EXITS_NETWORK; failure = the rest), its last node is in endLocation, it leaves a transitLocations node for
  another node (when transit nodes are given) and leaves no forbiddenLocations node.

Limits vs Batfish: only these candidates are tried, so a flow that only some other header or address would
show (an ACL on a source address other than the one picked, a port no ACL line names) is missed; the example flow
may differ from Batfish's (Batfish prefers non-private addresses and its own port order); invertSearch inverts
the destination addresses only (other inverted header fields are refused). Rows are Batfish's: Flow, Traces
(every trace of the flow, pruned to maxTraces), TraceCount. Batfish refuses reachability in differential mode,
and so does realfish. detectLoops is the same search over every start location with no constraints, for
traces that end in LOOP, run only for the destinations whose forwarding graph has a cycle and from the nodes
that reach one (`loop_candidates`), since filters cannot make a flow loop.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from realfish.answers import OWN_DIFF, UnsupportedQuestion, answerer, flag, node_set, variable
from realfish.answers import table as tbl
from realfish.answers.filters import ACL_PROTOCOLS, ICMP_NAMES, iptables_chains, port_number
from realfish.answers.flow import Flow
from realfish.answers.forwarding import SUCCESS, Network, Tracer, TraceResult
from realfish.answers.headerspace import TCP_FLAGS
from realfish.answers.specifiers import SpecifierError, locations
from realfish.answers.state import SnapshotState
from realfish.answers.traceroute import (
    COLUMNS,
    DEFAULT_MAX_TRACES,
    Headers,
    application_boxes,
    choose_headers,
    flow_key,
    int_space,
    ip_protocols,
    location_active,
    location_ips,
    prune,
)

Json = dict[str, Any]
Ip = ipaddress.IPv4Address
Ranges = list[tuple[int, int]]

FAILURE = ("DENIED_IN", "DENIED_OUT", "INSUFFICIENT_INFO", "LOOP", "NEIGHBOR_UNREACHABLE", "NO_ROUTE",
           "NULL_ROUTED")
DISPOSITIONS = (*SUCCESS, *FAILURE)
ALL_IPS: Ranges = [(0, 2**32 - 1)]
TEXT = "Paths for flow ${Flow}"


def dispositions(spec: Any) -> set[str]:
    """A dispositionSpec: `success`, `failure` and disposition names, joined by `,` (case-insensitive)."""
    terms = spec if isinstance(spec, list) else str(spec).split(",")
    out: set[str] = set()
    for raw in terms:
        t = str(raw).strip().upper()
        if t == "SUCCESS":
            out |= set(SUCCESS)
        elif t == "FAILURE":
            out |= set(FAILURE)
        elif t in DISPOSITIONS:
            out.add(t)
        elif t:
            raise UnsupportedQuestion(f"unknown disposition {raw!r}; expected success, failure or one of "
                                      f"{', '.join(DISPOSITIONS)}")
    return out


# -- IP spaces as sorted, disjoint ranges --------------------------------------------------------------------


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _subtract(a: Ranges, b: Ranges) -> Ranges:
    out = a
    for blo, bhi in b:
        out = [r for lo, hi in out for r in ((lo, min(hi, blo - 1)), (max(lo, bhi + 1), hi)) if r[0] <= r[1]]
    return out


def _clip(a: Ranges, lo: int, hi: int) -> Ranges:
    return [(max(x, lo), min(y, hi)) for x, y in a if max(x, lo) <= min(y, hi)]


def _net_range(net: ipaddress.IPv4Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def ip_space(spec: Any, state: SnapshotState) -> tuple[Ranges, list[int]]:
    """An ipSpaceSpec as ranges, and each term's lowest address (in the spec's order): IPs, prefixes, ranges
    `a - b`, wildcards `a:mask`, or a location (its interfaces' addresses), joined by `,`."""
    ranges: Ranges = []
    firsts: list[int] = []
    for raw in (spec if isinstance(spec, list) else str(spec).split(",")):
        term = str(raw).strip()
        if not term:
            continue
        got: Ranges
        wildcard = 0
        try:
            if re.fullmatch(r"[\d.]+\s*-\s*[\d.]+", term):
                lo, hi = (int(Ip(x.strip())) for x in term.split("-"))
                got = [(lo, hi)] if lo <= hi else []
            elif ":" in term:
                addr, wildcard = (int(Ip(x)) for x in term.split(":"))
                got = [_net_range(ipaddress.IPv4Network((addr & ~wildcard, 32 - bin(wildcard).count("1")),
                                                        strict=False))]
            else:
                got = [_net_range(ipaddress.IPv4Network(term, strict=False))]
        except ValueError:
            try:
                locs = locations(term, state)
            except SpecifierError as e:
                raise UnsupportedQuestion(f"cannot read IP specifier {spec!r}: {e}") from None
            got = [(ip, ip) for loc in locs if location_active(state, loc) for ip in location_ips(state, loc)]
        if got and got[0][1] - got[0][0] != wildcard and ":" in term:  # the range has the mask's size when contiguous
            raise UnsupportedQuestion(f"non-contiguous IP wildcard {term!r} is not supported")
        got = _merge(got)
        if got:
            firsts.append(got[0][0])
        ranges += got
    if not ranges:
        raise UnsupportedQuestion(f"Specified IP {spec!r} could not be resolved to any IP.")
    return _merge(ranges), firsts


# -- start locations -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """One of Batfish's IngressLocations: a node's VRF (originate) or an interface a packet enters."""

    node: str
    vrf: str | None
    interface: str | None
    src_ip: int


def starts(spec: Any, state: SnapshotState, src: int | None) -> list[Start]:
    """The active start locations a locationSpec names, grouped into ingress locations, with a source IP."""
    try:
        locs = locations(spec or "/.*/", state)
        if not spec:  # Batfish's ALL_LOCATIONS: every interface and every interface link
            locs |= {("link", n, i) for _k, n, i in locs}
    except SpecifierError as e:
        raise UnsupportedQuestion(f"startLocation: {e}") from None
    groups: dict[tuple[str, str | None, str | None], list[int]] = {}
    for loc in sorted(locs):
        if not location_active(state, loc):
            continue
        kind, node, ifname = loc
        key = (node, state.devices[node].interfaces[ifname].vrf or "default", None) if kind == "interface" \
            else (node, None, ifname)
        groups.setdefault(key, []).extend(location_ips(state, loc))
    out = [Start(n, v, i, src if src is not None else min(ips)) for (n, v, i), ips in groups.items()
           if src is not None or ips]
    return sorted(out, key=lambda s: (s.node, s.vrf or "", s.interface or ""))


# -- candidate headers ---------------------------------------------------------------------------------------


def _within(value: int | None, ranges: Ranges) -> bool:
    return value is not None and any(lo <= value <= hi for lo, hi in ranges)


def _fits(h: Json, c: Headers) -> bool:
    """Whether a candidate header lies within the question's header constraints."""
    def has(key: str) -> bool:
        return h.get(key) not in (None, "", [])

    if has("ipProtocols") and not _within(c.ip_protocol, ip_protocols(h["ipProtocols"])):
        return False
    for key, value, top in (("srcPorts", c.src_port, 65535), ("dstPorts", c.dst_port, 65535),
                            ("icmpTypes", c.icmp_type, 255), ("icmpCodes", c.icmp_code, 255),
                            ("dscps", c.dscp, 63), ("ecns", c.ecn, 3), ("fragmentOffsets", c.fragment_offset, 8191),
                            ("packetLengths", c.packet_length, 65535)):
        if has(key) and not _within(value, int_space(h[key], top)):
            return False
    if has("applications"):
        pick = {"proto": c.ip_protocol, "dport": c.dst_port, "itype": c.icmp_type, "icode": c.icmp_code}
        if not any(all(_within(pick[f], r) for f, r in box.items()) for box in application_boxes(h["applications"])):
            return False
    if has("tcpFlags"):
        if c.ip_protocol != 6:
            return False
        flags = dict(zip(TCP_FLAGS, c.flags, strict=True))
        matches = h["tcpFlags"] if isinstance(h["tcpFlags"], list) else [h["tcpFlags"]]
        if not any(all(flags[f] == int(bool((m.get("tcpFlags") or {}).get(f))) for f in TCP_FLAGS
                       if m.get(f"use{f.capitalize()}", True)) for m in matches):
            return False
    return True


def _lowest_port(spec: str) -> str | None:
    """An IOS port match (`eq 23`, `range 1 5`, `gt 1023`, ...) as the lowest port it matches, as text."""
    if not spec:
        return None
    op, *args = spec.split()
    vals = [port_number(a) for a in args]
    lowest = {"eq": vals[0], "range": vals[0], "gt": vals[0] + 1, "lt": 0, "neq": 0 if vals[0] else 1}.get(op)
    return str(lowest) if lowest is not None else None


def _filter_constraints(state: SnapshotState) -> list[Json]:
    """One header constraint per protocol/port match of the snapshot's ACL lines and iptables rules."""
    out: list[Json] = []
    for dev in state.devices.values():
        for acl in dev.acls.values():
            for line in acl.lines:
                proto = line.protocol.lower()
                if acl.kind == "standard" or proto in ("ip", "ipv4"):
                    continue
                c: Json = {"ipProtocols": proto if proto.isdigit() else str(ACL_PROTOCOLS.get(proto, proto))}
                for key, spec in (("srcPorts", line.src_ports), ("dstPorts", line.dst_ports)):
                    port = _lowest_port(spec)
                    if port is not None:
                        c[key] = port
                words = line.flags.lower().split()
                if proto == "icmp" and words and words[0] in ICMP_NAMES:
                    c["icmpTypes"] = str(ICMP_NAMES[words[0]][0])
                out.append(c)
        for chain in iptables_chains(dev.iptables).values():
            for rule in chain.lines:
                m = rule.match
                if m.protocol is None:
                    continue
                c = {"ipProtocols": str(m.protocol)}
                for key, rng in (("srcPorts", m.src_ports), ("dstPorts", m.dst_ports)):
                    if rng:
                        c[key] = str(rng[0][0])
                out.append(c)
    return out


def candidate_headers(h: Json, state: SnapshotState) -> list[Headers]:
    """The preferred header first (ICMP echo-request when allowed), then one per filter match that fits."""
    out: list[Headers] = []

    def add(constraints: Json) -> None:
        try:
            c = choose_headers(constraints)
        except UnsupportedQuestion:
            return  # the constraints leave no packet
        if _fits(h, c) and c not in out:
            out.append(c)

    if not any(h.get(k) not in (None, "", []) for k in ("srcPorts", "dstPorts", "tcpFlags", "applications")):
        add({**h, "ipProtocols": "ICMP"})  # _fits drops it when h's own protocols exclude ICMP
    add(h)
    for c in _filter_constraints(state):
        add(c)
    if not out:
        raise UnsupportedQuestion("the header constraints leave no packet")
    return out


# -- candidate destinations ----------------------------------------------------------------------------------


def candidate_destinations(net: Network, state: SnapshotState, space: Ranges, firsts: list[int]) -> list[Ip]:
    """The destinations to try (see the module docstring), the dstIps terms' own addresses first."""
    prefixes: set[ipaddress.IPv4Network] = set()
    for node in state.tables().routers:
        for vrf in {i.vrf or "default" for i in state.devices[node].interfaces.values()} | {"default"}:
            prefixes |= set(net.fib(node, vrf).entries)
    owned = sorted(int(ip) for ip in net.owners)
    picks: set[int] = {ip for ip in owned if any(lo <= ip <= hi for lo, hi in space)}
    ordered = sorted(prefixes, key=lambda n: n.prefixlen)
    for p in ordered:
        lo, hi = _net_range(p)
        cls = _clip(space, lo, hi)
        cls = _subtract(cls, _merge(_net_range(q) for q in ordered if q.prefixlen > p.prefixlen and q.subnet_of(p)))
        if not cls:
            continue
        picks.add(cls[0][0])
        hosts = _subtract(_clip(cls, lo + 1, hi - 1) if p.prefixlen < 31 else cls, [(ip, ip) for ip in owned])
        if hosts:
            picks.add(hosts[0][0])
    uncovered = _subtract(space, _merge(_net_range(p) for p in prefixes))
    if uncovered:
        picks.add(uncovered[0][0])
    for dev in state.devices.values():  # addresses an ACL line names may be treated apart
        for acl in dev.acls.values():
            for line in acl.lines:
                for spec in (line.src, line.dst):
                    if spec != "any" and " " not in spec:
                        lo, hi = _net_range(ipaddress.IPv4Network(spec, strict=False))
                        inside = _clip(space, lo, hi)
                        if inside:
                            picks.add(inside[0][0])
    head = [ip for ip in dict.fromkeys(firsts) if any(lo <= ip <= hi for lo, hi in space)]
    return [Ip(ip) for ip in head + sorted(picks - set(head))]


# -- the search ----------------------------------------------------------------------------------------------

TraceTest = Callable[[Json], bool]


def _flow(s: Start, dst: Ip, hdr: Headers) -> Flow:
    return Flow(s.node, Ip(s.src_ip), dst, hdr.ip_protocol, hdr.src_port, hdr.dst_port,
                ingress_interface=s.interface, ingress_vrf=s.vrf, icmp_type=hdr.icmp_type, icmp_code=hdr.icmp_code,
                flags=hdr.flags, dscp=hdr.dscp, ecn=hdr.ecn, fragment_offset=hdr.fragment_offset,
                packet_length=hdr.packet_length)


def search(tracer: Tracer, start_list: list[Start], headers: list[Headers], dsts: list[Ip],
           meets: TraceTest) -> list[tuple[Flow, list[TraceResult]]]:
    """Per start, the first candidate flow (headers, then destinations) with a trace that `meets`."""
    found: list[tuple[Flow, list[TraceResult]]] = []
    for s in start_list:
        hit = next(((f, r) for hdr in headers for dst in dsts
                    for f in [_flow(s, dst, hdr)] for r in [tracer.trace(f)] if any(meets(t.trace) for t in r)),
                   None)
        if hit is not None:
            found.append(hit)
    return sorted(found, key=lambda fr: flow_key(fr[0]))


def _rows(found: list[tuple[Flow, list[TraceResult]]], max_traces: int) -> list[Json]:
    rows = []
    for f, results in found:
        traces = [r.trace for r in results]
        rows.append({"Flow": f.to_json(), "Traces": [traces[i] for i in prune(traces, max_traces)],
                     "TraceCount": len(traces)})
    return rows


def _json_param(question: Json, name: str) -> Json:
    value = variable(question, name) or {}
    return json.loads(value) if isinstance(value, str) else dict(value)


def _max_traces(question: Json) -> int:
    value = variable(question, "maxTraces", DEFAULT_MAX_TRACES)
    return int(value) if value is not None else DEFAULT_MAX_TRACES


def path_test(question: Json, paths: Json, state: SnapshotState) -> TraceTest:
    """A trace's test: its disposition is in `actions`, and it meets the path constraints."""
    wanted = dispositions(variable(question, "actions", "success"))
    if not wanted:
        raise UnsupportedQuestion("Invalid empty set of actions specified")

    def nodes(name: str) -> set[str] | None:
        spec = paths.get(name)
        if spec in (None, ""):
            return None
        return node_set({"instance": {"variables": {name: {"value": spec}}}}, name, state)

    # ReachabilityParametersResolver's checks; transit and forbidden sets that name no node constrain nothing
    end, transit, forbidden = nodes("endLocation"), nodes("transitLocations") or None, \
        nodes("forbiddenLocations") or None
    if end is not None and not end:
        raise UnsupportedQuestion("No final nodes")
    if transit and forbidden and transit <= forbidden:
        raise UnsupportedQuestion("All required transit nodes are also forbidden")

    def meets(trace: Json) -> bool:
        hops = [h["node"]["name"] for h in trace["hops"]]
        left = set(hops[:-1])  # nodes the flow left for another node
        return (trace["disposition"] in wanted and (end is None or hops[-1] in end)
                and (transit is None or bool(left & transit)) and (forbidden is None or not left & forbidden))

    return meets


@answerer("specifiers.SpecifiersReachabilityQuestion", diff=OWN_DIFF)
def reachability(question: Json, snapshot: SnapshotState, reference: SnapshotState | None) -> Json:
    if reference is not None:
        raise UnsupportedQuestion("This question should not be run in differential mode. Instead, consider: "
                                  "differentialReachability, or routes in differential mode")
    h = _json_param(question, "headers")
    paths = _json_param(question, "pathConstraints")
    invert = flag(question, "invertSearch")
    if invert and any(h.get(k) not in (None, "", []) for k in h if k not in ("dstIps", "srcIps")):
        raise UnsupportedQuestion("invertSearch: realfish inverts the destination addresses only; drop the other "
                                  "header constraints")
    if h.get("dstIps"):
        space, firsts = ip_space(h["dstIps"], snapshot)
    else:
        space, firsts = ALL_IPS, []
    if invert:
        space, firsts = _subtract(ALL_IPS, space), []
    src = ip_space(h["srcIps"], snapshot)[0][0][0] if h.get("srcIps") else None  # the lowest, as traceroute
    start_list = starts(paths.get("startLocation"), snapshot, src)
    tracer = Tracer(Network(snapshot), flag(question, "ignoreFilters"))
    headers = candidate_headers({k: v for k, v in h.items() if k not in ("dstIps", "srcIps")}, snapshot)
    dsts = candidate_destinations(tracer.net, snapshot, space, firsts)
    found = search(tracer, start_list, headers, dsts, path_test(question, paths, snapshot))
    return tbl.answer(question, tbl.table(COLUMNS, _rows(found, _max_traces(question)), TEXT))


def loop_candidates(net: Network, dsts: list[Ip]) -> tuple[list[Ip], set[str]]:
    """The destinations whose forwarding graph has a cycle, and the nodes from which one is reachable.

    Per destination, each (node, VRF) forwards to the (node, VRF)s that answer ARP for its FIB actions' next hops
    (nothing when it accepts the packet or null-routes it). A flow can only loop where that graph has a cycle:
    filters can stop a flow, never make one loop. So the exact search (a trace per candidate flow, which takes
    minutes on a few hundred routers) runs only for these destinations and start nodes; usually there are
    none."""
    looping: list[Ip] = []
    nodes: set[str] = set()
    vertices = [(n, v) for n, dev in net.state.devices.items() for v in sorted({i.vrf or "default"
                                                                              for i in dev.interfaces.values()})]
    for dst in dsts:
        succ: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for node, vrf in vertices:
            out: set[tuple[str, str]] = set()
            match = net.fib(node, vrf).lookup(dst) if net.accepting_interface(node, vrf, dst) is None else None
            for action, _route in match[1] if match else []:
                if action.interface is None:
                    continue
                arp_ip = action.arp_ip if action.arp_ip is not None else dst
                out |= {(n, net.vrf_of(n, i)) for n, i in net.edges.get((node, action.interface), [])
                        if net.replies_to_arp(n, i, arp_ip)}
            succ[(node, vrf)] = out
        reaches = _reaches_cycle(succ)
        if reaches:
            looping.append(dst)
            nodes |= {n for n, _v in reaches}
    return looping, nodes


def _reaches_cycle(succ: dict[tuple[str, str], set[tuple[str, str]]]) -> set[tuple[str, str]]:
    """Vertices from which a cycle is reachable (iterative DFS: white/grey/black)."""
    state: dict[tuple[str, str], int] = {}  # 1 on the stack, 2 done
    bad: set[tuple[str, str]] = set()
    for root in succ:
        if root in state:
            continue
        stack = [(root, iter(sorted(succ.get(root, ()))))]
        state[root] = 1
        while stack:
            v, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[v] = 2
                if stack and v in bad:
                    bad.add(stack[-1][0])
                continue
            seen = state.get(nxt)
            if seen == 1 or (seen == 2 and nxt in bad):
                bad.add(v)  # a back edge (cycle) or a vertex that reaches one
            elif seen is None:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(succ.get(nxt, ())))))
    return bad


@answerer("loop.DetectLoopsQuestion")
def detect_loops(question: Json, snapshot: SnapshotState, reference: SnapshotState | None) -> Json:
    tracer = Tracer(Network(snapshot))
    dsts, nodes = loop_candidates(tracer.net, candidate_destinations(tracer.net, snapshot, ALL_IPS, []))
    start_list = [s for s in starts(None, snapshot, None) if s.node in nodes] if dsts else []
    found = search(tracer, start_list, candidate_headers({}, snapshot), dsts, lambda t: t["disposition"] == "LOOP")
    return tbl.answer(question, tbl.table(COLUMNS, _rows(found, _max_traces(question)), TEXT))
