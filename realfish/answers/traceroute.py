"""traceroute and bidirectionalTraceroute: Batfish's virtual traceroute over the routers' own FIBs.

The question names start locations (locationSpec) and header constraints; like Batfish's
TracerouteAnswererHelper we build one flow per active start location:

* `node`, `node[iface]`: the interface's own address as source, starting in the interface's VRF (Originate);
* `@enter(node[iface])`: a host on the interface's link sends it (source: the link's first host address that no
  snapshot device owns; /30 and longer links have none and are skipped), entering the interface.

Unspecified headers follow Batfish's TRACEROUTE flow preference (BDDFlowConstraintGenerator): UDP to 33434 from
49152 if the constraints allow, else the first of its TCP/UDP/ICMP preferences that fits, packet length 512,
the lowest value otherwise. An IP spec (`dstIps`, `srcIps`) resolves to its lowest address; a location there
means the addresses of its interfaces.

`realfish.answers.forwarding` walks each flow; rows are Batfish's: Flow, Traces (pruned to maxTraces as
Batfish's TracePruner does), TraceCount. bidirectionalTraceroute then traces each successful trace's return
flow from where the forward one ended. realfish models no stateful firewalls, so New_Sessions is always empty
and return flows are traced like any other flow.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from realfish.answers import OWN_DIFF, UnsupportedQuestion, answerer, flag, variable
from realfish.answers import table as tbl
from realfish.answers.flow import PORT_PROTOCOLS, PROTOCOL_NUMBERS, Flow
from realfish.answers.forwarding import Network, Tracer, TraceResult, host_ips
from realfish.answers.headerspace import TCP_FLAGS
from realfish.answers.properties import interface_state
from realfish.answers.specifiers import Location, SpecifierError, locations
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column

Json = dict[str, Any]
Ip = ipaddress.IPv4Address

_FLOW = Column("Flow", "Flow", "The flow", key=True, value=False)
COLUMNS = [
    _FLOW,
    Column("Traces", "Set<Trace>", "The traces for this flow"),
    Column("TraceCount", "Integer", "The total number traces for this flow"),
]
DIFF_COLUMNS = [  # TracerouteAnswerer.metadata(true): its own words, not TableDiff's
    _FLOW,
    Column("Snapshot_Traces", "Set<Trace>", "The traces in the BASE snapshot"),
    Column("Snapshot_TraceCount", "Integer", "The total number traces in the BASE snapshot"),
    Column("Reference_Traces", "Set<Trace>", "The traces in the DELTA snapshot"),
    Column("Reference_TraceCount", "Integer", "The total number traces in the DELTA snapshot"),
]
BIDIR_COLUMNS = [
    Column("Forward_Flow", "Flow", "The forward flow.", key=True, value=False),
    Column("Forward_Traces", "List<Trace>", "The forward traces."),
    Column("New_Sessions", "List<String>", "Sessions initialized by the forward trace.", key=True, value=False),
    Column("Reverse_Flow", "Flow", "The reverse flow.", key=True, value=False),
    Column("Reverse_Traces", "List<Trace>", "The reverse traces."),
]
DEFAULT_MAX_TRACES = 32  # TracePruner.DEFAULT_MAX_TRACES
HOST_SUBNET_MAX_PREFIX_LENGTH = 29  # Prefix.HOST_SUBNET_MAX_PREFIX_LENGTH: only such links may hold hosts

# -- header constraints: integer sets and Batfish's flow preference ------------------------------------------

Ranges = list[tuple[int, int]]
Box = dict[str, Ranges]  # field -> allowed values; one product of per-field sets

_FIELDS: dict[str, int] = {"proto": 255, "sport": 65535, "dport": 65535, "itype": 255, "icode": 255,
                           "dscp": 63, "ecn": 3, "frag": 8191, "plen": 65535, **{f: 1 for f in TCP_FLAGS}}
_APPLICATIONS = {"dns": (17, "53"), "http": (6, "80"), "https": (6, "443"), "mysql": (6, "3306"),
                 "snmp": (17, "161"), "ssh": (6, "22"), "telnet": (6, "23")}
_ICMP_APPLICATIONS = {"echo-reply": (0, 0), "echo-request": (8, 0)}


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo <= hi:
                out.append((lo, hi))
    return sorted(out)


def _box_and(box: Box, cond: Box) -> Box | None:
    out = dict(box)
    for k, v in cond.items():
        out[k] = _intersect(out[k], v)
        if not out[k]:
            return None
    return out


def int_space(spec: Any, top: int) -> Ranges:
    """Batfish's IntegerSpace text: `22`, `1-100`, `22, 53-99`, `!22` (everything but), or a number/list."""
    if isinstance(spec, int):
        return [(spec, spec)]
    terms = spec if isinstance(spec, list) else str(spec).split(",")
    pos: Ranges = []
    neg: Ranges = []
    for raw in terms:
        t = str(raw).strip()
        if not t:
            continue
        target = neg if t.startswith("!") else pos
        first, _, last = t.lstrip("!").strip().partition("-")
        try:
            target.append((int(first), int(last) if last else int(first)))
        except ValueError:
            raise UnsupportedQuestion(f"cannot read {spec!r} as a set of integers") from None
    out = sorted(pos) if pos else [(0, top)]
    for n_lo, n_hi in neg:
        out = [r for a, b in out for r in ((a, min(b, n_lo - 1)), (max(a, n_hi + 1), b)) if r[0] <= r[1]]
    return out


def ip_protocols(spec: Any) -> Ranges:
    terms = spec if isinstance(spec, list) else str(spec).split(",")
    pos: set[int] = set()
    neg: set[int] = set()
    for raw in terms:
        t = str(raw).strip()
        if not t:
            continue
        target = neg if t.startswith("!") else pos
        name = t.lstrip("!").strip().upper()
        num = int(name) if name.isdigit() else PROTOCOL_NUMBERS.get(name)
        if num is None:
            raise UnsupportedQuestion(f"unknown IP protocol {t!r}")
        target.add(num)
    values = (pos or set(range(256))) - neg
    return [(v, v) for v in sorted(values)]


def application_boxes(spec: Any) -> list[Box]:
    terms = spec if isinstance(spec, list) else str(spec).split(",")
    boxes: list[Box] = []
    for raw in terms:
        t = str(raw).strip().lower()
        if not t:
            continue
        if t in _APPLICATIONS:
            proto, ports = _APPLICATIONS[t]
            boxes.append({"proto": [(proto, proto)], "dport": int_space(ports, 65535)})
        elif t in _ICMP_APPLICATIONS:
            itype, icode = _ICMP_APPLICATIONS[t]
            boxes.append({"proto": [(1, 1)], "itype": [(itype, itype)], "icode": [(icode, icode)]})
        elif t.split("/")[0] in ("tcp", "udp"):
            name, _, ports = t.partition("/")
            proto = 6 if name == "tcp" else 17
            boxes.append({"proto": [(proto, proto)], **({"dport": int_space(ports, 65535)} if ports else {})})
        elif t.split("/")[0] == "icmp":
            parts = t.split("/")
            box: Box = {"proto": [(1, 1)]}
            if len(parts) > 1:
                box["itype"] = [(int(parts[1]), int(parts[1]))]
            if len(parts) > 2:
                box["icode"] = [(int(parts[2]), int(parts[2]))]
            boxes.append(box)
        else:
            raise UnsupportedQuestion(f"unknown application {raw!r}")
    return boxes


def _traceroute_preference() -> list[Box]:
    """BDDFlowConstraintGenerator's TRACEROUTE preference: UDP, then TCP, then ICMP constraints, then length."""
    eph, not_eph, nonzero = [(49152, 65535)], [(0, 49151)], [(1, 65535)]
    udp, tcp, icmp = {"proto": [(17, 17)]}, {"proto": [(6, 6)]}, {"proto": [(1, 1)]}
    prefs: list[Box] = [
        {**udp, "dport": [(33434, 33534)], "sport": eph},
        {**udp, "sport": eph, "dport": not_eph},
        {**udp, "sport": not_eph, "dport": eph},
    ]
    for field in ("sport", "dport"):
        prefs += [{**udp, field: [(p, p)]} for p in (53, 161, 162)] + [{**udp, field: nonzero}]
    prefs.append(udp)
    prefs += [{**tcp, "sport": eph, "dport": not_eph}, {**tcp, "sport": not_eph, "dport": eph}]
    for field in ("sport", "dport"):
        prefs += [{**tcp, field: [(p, p)]} for p in (80, 443, 22)] + [{**tcp, field: nonzero}]
    prefs += [{**tcp, f: [(0, 0)]} for f in ("cwr", "ece", "psh", "urg", "fin", "rst")]
    prefs += [{**tcp, "syn": [(1, 1)], "ack": [(0, 0)]}, {**tcp, "ack": [(1, 1)], "syn": [(1, 1)]},
              {**tcp, "ack": [(1, 1)]}, tcp]
    prefs += [{**icmp, "itype": [(8, 8)], "icode": [(0, 0)]}, {**icmp, "icode": [(0, 0)]}, icmp]
    prefs.append({"plen": [(512, 512)]})
    return prefs


@dataclass
class Headers:
    """The flow headers chosen from the question's constraints (everything but addresses and start)."""

    ip_protocol: int
    src_port: int | None
    dst_port: int | None
    icmp_type: int | None
    icmp_code: int | None
    flags: tuple[int, ...]
    dscp: int
    ecn: int
    fragment_offset: int
    packet_length: int


def choose_headers(h: Json) -> Headers:
    """Apply the constraints, then each preference that still leaves a packet, then take the lowest values."""
    base: Box = {k: [(0, top)] for k, top in _FIELDS.items()}
    cond: Box = {}
    for key, field in (("srcPorts", "sport"), ("dstPorts", "dport"), ("icmpTypes", "itype"),
                       ("icmpCodes", "icode"), ("dscps", "dscp"), ("ecns", "ecn"), ("fragmentOffsets", "frag"),
                       ("packetLengths", "plen")):
        if h.get(key) not in (None, "", []):
            cond[field] = int_space(h[key], _FIELDS[field])
    if h.get("ipProtocols") not in (None, "", []):
        cond["proto"] = ip_protocols(h["ipProtocols"])
    flag_boxes: list[Box] = [{}]
    if h.get("tcpFlags"):
        flag_boxes = []
        for m in h["tcpFlags"] if isinstance(h["tcpFlags"], list) else [h["tcpFlags"]]:
            flags = m.get("tcpFlags") or {}
            flag_boxes.append({f: [(int(bool(flags.get(f))),) * 2] for f in TCP_FLAGS
                               if m.get(f"use{f.capitalize()}", True)})
    app_boxes = application_boxes(h["applications"]) if h.get("applications") not in (None, "", []) else [{}]
    space: list[Box] = []
    for a in app_boxes:  # a union of boxes: the applications' and the TCP flag matches' alternatives
        for f in flag_boxes:
            b = _box_and(base, cond)
            b = _box_and(b, a) if b is not None else None
            b = _box_and(b, f) if b is not None else None
            if b is not None:
                space.append(b)
    if not space:
        raise UnsupportedQuestion("the header constraints leave no packet")
    for pref in _traceroute_preference():
        narrowed = [b for b in (_box_and(x, pref) for x in space) if b is not None]
        if narrowed:
            space = narrowed
    pick = {k: v[0][0] for k, v in space[0].items()}
    proto = pick["proto"]
    return Headers(proto, pick["sport"] if proto in PORT_PROTOCOLS else None,
                   pick["dport"] if proto in PORT_PROTOCOLS else None,
                   pick["itype"] if proto == 1 else None, pick["icode"] if proto == 1 else None,
                   tuple(pick[f] for f in TCP_FLAGS), pick["dscp"], pick["ecn"], pick["frag"], pick["plen"])


# -- addresses -----------------------------------------------------------------------------------------------


def location_ips(state: SnapshotState, loc: Location) -> list[int]:
    """A location's source IPs (LocationInfoUtils): an interface's own addresses; for its link, the hosts of
    its subnets (/29 or shorter) that no snapshot device owns."""
    kind, node, ifname = loc
    iface = state.devices[node].interfaces[ifname]
    addrs = [a for a in iface.addresses if isinstance(a, ipaddress.IPv4Interface)]
    if kind == "interface":
        return sorted(int(a.ip) for a in addrs)
    owned = {int(a.ip) for d in state.devices.values() for i in d.interfaces.values() for a in i.addresses
             if isinstance(a, ipaddress.IPv4Interface)}
    for a in sorted(addrs, key=lambda a: int(a.network.network_address)):
        if a.network.prefixlen > HOST_SUBNET_MAX_PREFIX_LENGTH:
            continue
        lo, hi = host_ips(a.network)
        for ip in range(lo, hi + 1):
            if ip not in owned:
                return [ip]  # the lowest is all we need
    return []


def location_active(state: SnapshotState, loc: Location) -> bool:
    iface = state.devices[loc[1]].interfaces.get(loc[2])
    return iface is not None and not iface.switchport and interface_state(state, loc[1], iface)[0]


def ip_space_min(spec: str, state: SnapshotState) -> Ip:
    """The lowest address an ipSpaceSpec names (Batfish's IpSpaceRepresentative): IPs, prefixes, ranges
    `a - b`, wildcards `a:mask`, or a location (its interfaces' addresses), joined by `,`."""
    best: int | None = None
    for raw in str(spec).split(","):
        term = raw.strip()
        if not term:
            continue
        values: Iterable[int]
        try:
            if " - " in term or (term.count("-") == 1 and term.replace("-", "").replace(".", "").isdigit()):
                lo, hi = (int(Ip(x.strip())) for x in term.split("-"))
                values = [lo] if lo <= hi else []
            elif ":" in term:
                addr, mask = (int(Ip(x)) for x in term.split(":"))
                values = [addr & ~mask]
            else:
                values = [int(ipaddress.IPv4Network(term, strict=False).network_address)]
        except ValueError:
            try:
                locs = locations(term, state)
            except SpecifierError as e:
                raise UnsupportedQuestion(f"cannot read IP specifier {spec!r}: {e}") from None
            values = [ip for loc in locs if location_active(state, loc)
                      for ip in (location_ips(state, ("interface", loc[1], loc[2]))
                                 if loc[0] == "interface" else location_ips(state, loc))]
        for v in values:
            best = v if best is None else min(best, v)
    if best is None:
        raise UnsupportedQuestion(f"Specified IP {spec!r} could not be resolved to any IP.")
    return Ip(best)


# -- flows ---------------------------------------------------------------------------------------------------


def flow_key(f: Flow) -> tuple[Any, ...]:
    return (f.ingress_node, f.ingress_vrf or "", f.ingress_interface or "", int(f.src_ip), int(f.dst_ip),
            f.ip_protocol, f.src_port or 0, f.dst_port or 0)


def flows(question: Json, state: SnapshotState) -> list[Flow]:
    """One flow per active start location that has a source address (TracerouteAnswererHelper.getFlows)."""
    start = variable(question, "startLocation")
    h = variable(question, "headers") or {}
    if isinstance(h, str):
        h = json.loads(h)
    if not h.get("dstIps"):
        raise UnsupportedQuestion("Cannot perform traceroute without a destination (headers.dstIps)")
    try:
        locs = locations(start if start else "/.*/", state)
    except SpecifierError as e:
        raise UnsupportedQuestion(f"startLocation: {e}") from None
    locs = {loc for loc in locs if location_active(state, loc)}
    if not locs:
        raise UnsupportedQuestion(f"Found no active locations matching {start}")
    headers = choose_headers(h)
    dst = ip_space_min(h["dstIps"], state)
    src_fixed = ip_space_min(h["srcIps"], state) if h.get("srcIps") else None
    out: set[Flow] = set()
    for kind, node, ifname in sorted(locs):
        ips = location_ips(state, (kind, node, ifname))
        if src_fixed is None and not ips:
            continue  # Batfish skips a location it cannot give a source IP
        src = src_fixed if src_fixed is not None else Ip(ips[0])
        iface = state.devices[node].interfaces[ifname]
        out.add(Flow(node, src, dst, headers.ip_protocol, headers.src_port, headers.dst_port,
                     ingress_interface=ifname if kind == "link" else None,
                     ingress_vrf=None if kind == "link" else iface.vrf or "default",
                     icmp_type=headers.icmp_type, icmp_code=headers.icmp_code, flags=headers.flags,
                     dscp=headers.dscp, ecn=headers.ecn, fragment_offset=headers.fragment_offset,
                     packet_length=headers.packet_length))
    if not out:
        raise UnsupportedQuestion(f"Could not construct a flow for traceroute from {start}: no source IP")
    return sorted(out, key=flow_key)


# -- pruning (TracePruner) -----------------------------------------------------------------------------------


def prune(traces: list[Json], max_size: int) -> list[int]:
    """Indexes of the traces Batfish's TracePruner keeps: one per disposition, then per node, then in order."""
    if len(traces) <= max_size:
        return list(range(len(traces)))

    def nodes_of(t: Json) -> list[str]:
        return [h["node"]["name"] for h in t["hops"]]

    by_disp: dict[str, list[int]] = {}
    by_node: dict[str, list[int]] = {}
    for i, t in enumerate(traces):
        by_disp.setdefault(t["disposition"], []).append(i)
        for n in nodes_of(t):
            by_node.setdefault(n, []).append(i)
    open_disp, open_nodes = set(by_disp), set(by_node)
    used: list[int] = []

    def take(i: int) -> None:
        used.append(i)
        open_disp.discard(traces[i]["disposition"])
        open_nodes.difference_update(nodes_of(traces[i]))

    while len(used) < max_size:
        if open_disp:
            take(next(i for d in sorted(open_disp) for i in by_disp[d] if i not in used))
        elif open_nodes:
            take(next(i for n in sorted(open_nodes) for i in by_node[n] if i not in used))
        else:
            used += [i for i in range(len(traces)) if i not in used][: max_size - len(used)]
            break
    return used


Bidir = tuple[Flow, Json, "Flow | None", "Json | None"]  # forward flow and trace, reverse flow and trace


def prune_bidirectional(bidir: list[Bidir], max_size: int) -> list[int]:
    """Indexes kept by Batfish's BidirectionalTracePruner (a Pruner over, in order: forward flow, reverse flow,
    forward disposition, reverse disposition, forward node path, reverse node path): each round takes an
    object with a property value not yet covered, most important property first; then input order."""
    if len(bidir) <= max_size:
        return list(range(len(bidir)))

    def hops(t: Json | None) -> str:
        return " ".join(h["node"]["name"] for h in t["hops"]) if t else ""

    props = [lambda b: json.dumps(b[0].to_json(), sort_keys=True),
             lambda b: json.dumps(b[2].to_json() if b[2] else None, sort_keys=True),
             lambda b: b[1]["disposition"], lambda b: b[3]["disposition"] if b[3] else None,
             lambda b: hops(b[1]), lambda b: hops(b[3])]
    groups: list[dict[Any, list[int]]] = []
    for prop in props:
        g: dict[Any, list[int]] = {}
        for i, b in enumerate(bidir):
            g.setdefault(prop(b), []).append(i)
        groups.append(g)
    selected: set[int] = set()
    while len(selected) < max_size:
        picked = None
        for g in groups:
            while g and picked is None:
                value = next(iter(g))
                picked = next((i for i in g.pop(value) if i not in selected), None)
            if picked is not None:
                break
        if picked is None:
            break
        selected.add(picked)
        for g, prop in zip(groups, props, strict=True):
            g.pop(prop(bidir[picked]), None)
    rest = [i for i in range(len(bidir)) if i not in selected]
    return sorted(selected | set(rest[: max_size - len(selected)]))


# -- answerers -----------------------------------------------------------------------------------------------


def _options(question: Json) -> tuple[bool, int]:
    ignore = flag(question, "ignoreFilters")
    max_traces = variable(question, "maxTraces", DEFAULT_MAX_TRACES)
    return ignore, int(max_traces) if max_traces is not None else DEFAULT_MAX_TRACES


def trace_flows(state: SnapshotState, flow_list: list[Flow], ignore_filters: bool) -> list[list[TraceResult]]:
    tracer = Tracer(Network(state), ignore_filters)
    return [tracer.trace(f) for f in flow_list]


def _pruned(results: list[TraceResult], max_traces: int) -> list[Json]:
    traces = [r.trace for r in results]
    return [traces[i] for i in prune(traces, max_traces)]


@answerer("traceroute.TracerouteQuestion", diff=OWN_DIFF)
def traceroute(question: Json, snapshot: SnapshotState, reference: SnapshotState | None) -> Json:
    ignore, max_traces = _options(question)
    flow_list = flows(question, snapshot)
    results = trace_flows(snapshot, flow_list, ignore)
    if reference is None:
        rows = [{"Flow": f.to_json(), "Traces": _pruned(r, max_traces), "TraceCount": len(r)}
                for f, r in zip(flow_list, results, strict=True)]
        return tbl.answer(question, tbl.table(COLUMNS, rows, "Paths for flow ${Flow}"))
    if flows(question, reference) != flow_list:
        raise UnsupportedQuestion("Base and delta flow traces should have same flows: the start locations or "
                                  "addresses differ between the snapshots")
    ref_results = trace_flows(reference, flow_list, ignore)
    rows = [{"Flow": f.to_json(), "Snapshot_Traces": _pruned(a, max_traces), "Snapshot_TraceCount": len(a),
             "Reference_Traces": _pruned(b, max_traces), "Reference_TraceCount": len(b)}
            for f, a, b in zip(flow_list, results, ref_results, strict=True)]
    return tbl.answer(question, tbl.table(DIFF_COLUMNS, rows, "Paths for flow ${Flow}"))


@answerer("traceroute.BidirectionalTracerouteQuestion")
def bidirectional_traceroute(question: Json, snapshot: SnapshotState, reference: SnapshotState | None) -> Json:
    ignore, max_traces = _options(question)
    tracer = Tracer(Network(snapshot), ignore)
    reverse_cache: dict[Flow, list[TraceResult]] = {}
    # (forward flow, forward trace, reverse flow, reverse trace) as BidirectionalTrace
    bidir: list[Bidir] = []
    for flow in flows(question, snapshot):
        for fwd in tracer.trace(flow):
            rev = fwd.reverse_flow
            if rev is None:
                bidir.append((flow, fwd.trace, None, None))
                continue
            if rev not in reverse_cache:
                reverse_cache[rev] = tracer.trace(rev)
            bidir += [(flow, fwd.trace, rev, r.trace) for r in reverse_cache[rev]]
    keep = prune_bidirectional(bidir, max_traces)
    kept = [bidir[i] for i in keep]
    groups: dict[str, tuple[Flow, Flow | None, list[Json], list[Json]]] = {}
    for fwd_flow, fwd_trace, rev_flow, rev_trace in kept:
        key = json.dumps([fwd_flow.to_json(), rev_flow.to_json() if rev_flow else None], sort_keys=True)
        _, _, fwd_traces, rev_traces = groups.setdefault(key, (fwd_flow, rev_flow, [], []))
        if fwd_trace not in fwd_traces:
            fwd_traces.append(fwd_trace)
        if rev_trace is not None and rev_trace not in rev_traces:
            rev_traces.append(rev_trace)
    rows = [{"Forward_Flow": f.to_json(), "Forward_Traces": ft, "New_Sessions": [],
             "Reverse_Flow": r.to_json() if r else None, "Reverse_Traces": rt}
            for f, r, ft, rt in groups.values()]
    return tbl.answer(question, tbl.table(BIDIR_COLUMNS, rows, "Bidirectional paths for flow ${Forward_Flow}"))
