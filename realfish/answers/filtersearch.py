"""testFilters, searchFilters and filterLineReachability: Batfish's filter questions, over the same filters the
traceroute answerer applies (`realfish.answers.filters`: IOS/EOS ACLs, a host's iptables chains).

* testFilters: one flow per node and start location from the header constraints (the constraints' packet
  picked as Batfish picks it: TESTFILTER preference, then the lowest values), run through every filter the
  `filters` spec names; a row per filter and flow: the action, the line that matched (`no-match` when none did)
  and the ACL trace.
* searchFilters: per filter, the exact set of packets within the headers (inverted with invertSearch) that the
  filter permits, denies (`action="deny"`) or that one line matches (`matchLine N`), as a BDD
  (`realfish.answers.headerspace`); when it is not empty, one example flow from it, with testFilters' row. With
  a reference snapshot, per filter present in both, an example of the packets the snapshot permits and the
  reference does not, and of the reverse, with both snapshots' rows (Batfish's TableDiff of the two).
* filterLineReachability: a line is unreachable when no packet that passed the lines above it matches it; its
  blocking lines are the earlier lines, by their overlap with it (largest first), until they cover it, plus
  the largest one with another action (Batfish's findBlockingPropsForLine). Lines that match no packet at all
  are INDEPENDENTLY_UNMATCHABLE. Identical filters are reported once with all their sources.

Batfish also builds filters realfish does not model (IOS zone-based firewall policies, Junos/ASA structures);
those are not in any answer.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from realfish.answers import OWN_DIFF, UnsupportedQuestion, answerer, flag, node_set, variable
from realfish.answers import table as tbl
from realfish.answers.filters import Filter, FilterLine, device_filters, interface_filters
from realfish.answers.flow import PORT_PROTOCOLS, Flow
from realfish.answers.headerspace import ICMP, TCP, TCP_FLAGS, WIDTH, Packet
from realfish.answers.reachability import ip_space
from realfish.answers.specifiers import SpecifierError, interfaces, locations, resolve
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column
from realfish.answers.traceroute import application_boxes, int_space, ip_protocols, location_active, location_ips

if TYPE_CHECKING:
    from dd.autoref import Function

Json = dict[str, Any]

COLUMNS = [
    Column("Node", "Node", "Node", key=True, value=False),
    Column("Filter_Name", "String", "Filter name", key=True, value=False),
    Column("Flow", "Flow", "Evaluated flow", key=True, value=False),
    Column("Action", "String", "Outcome"),
    Column("Line_Content", "String", "Line content"),
    Column("Trace", "List<TraceTree>", "ACL trace"),
]
TEST_TEXT = "Filter ${Filter_Name} on node ${Node} will ${Action} flow ${Flow} at line ${Line_Content}"
REACHABILITY_COLUMNS = [
    Column("Sources", "List<String>", "Filter sources", key=True, value=False),
    Column("Unreachable_Line", "String", "Filter line that cannot be matched (i.e., unreachable)",
           key=True, value=False),
    Column("Unreachable_Line_Action", "String", "Action performed by the unreachable line (e.g., PERMIT or DENY)",
           key=True, value=False),
    Column("Blocking_Lines", "List<String>", "Lines that, when combined, cover the unreachable line"),
    Column("Different_Action", "Boolean", "Whether unreachable line has an action different from the blocking "
           "line(s)"),
    Column("Reason", "String", "The reason a line is unreachable"),
    Column("Additional_Info", "String", "Additional information", value=False),
]
REACHABILITY_TEXT = "Filters ${Sources} contain an unreachable line: ${Unreachable_Line}"
_TEXT_FRAGMENT = "org.batfish.datamodel.TraceElement$TextFragment"

# field names of traceroute's header boxes -> the BDD's
_BOX_FIELDS = {"proto": "ip_protocol", "sport": "src_port", "dport": "dst_port", "itype": "icmp_type",
               "icode": "icmp_code", "dscp": "dscp", "ecn": "ecn", "frag": "fragment_offset",
               "plen": "packet_length", **{f: f"tcp_{f}" for f in TCP_FLAGS}}


# -- which filters -------------------------------------------------------------------------------------------


def filters_of(spec: Any, state: SnapshotState, node: str) -> list[Filter]:
    """filterSpec on one node: names (case-insensitive) or `/regex/` over its filters, `@in(ifaces)` and
    `@out(ifaces)` (the filters applied there), with `,` `&` `\\`; sorted by name."""
    device = state.devices[node]
    known = device_filters(device)

    def applied(direction: int) -> Any:
        def fn(arg: str) -> set[str]:
            try:
                ifs = interfaces(arg, state, {node})
            except SpecifierError as e:
                raise UnsupportedQuestion(f"filters: {e}") from None
            found = (interface_filters(device, i)[direction] for _n, i in ifs)
            return {f.name for f in found if f is not None}
        return fn

    try:
        names = resolve(spec, known, {"in": applied(0), "out": applied(1)})
    except SpecifierError as e:
        raise UnsupportedQuestion(f"filters: {e}") from None
    return [known[n] for n in sorted(names) if n in known]


# -- header constraints as a set of packets ------------------------------------------------------------------


def _headers(question: Json) -> Json:
    h = variable(question, "headers") or {}
    return json.loads(h) if isinstance(h, str) else dict(h)


def _given(h: Json, key: str) -> bool:
    return h.get(key) not in (None, "", [])


def header_space(pkt: Packet, h: Json, state: SnapshotState, src_ranges: Iterable[tuple[int, int]] | None = None
                 ) -> Function:
    """Every packet the header constraints allow (PacketHeaderConstraintsUtil.toBDD); `src_ranges` stand in
    for srcIps when the caller resolved them (from a start location)."""
    out = pkt.true
    if src_ranges is not None:
        out &= pkt.ranges("src_ip", src_ranges)
    elif _given(h, "srcIps"):
        out &= pkt.ranges("src_ip", ip_space(h["srcIps"], state)[0])
    if _given(h, "dstIps"):
        out &= pkt.ranges("dst_ip", ip_space(h["dstIps"], state)[0])
    for key, field in (("srcPorts", "src_port"), ("dstPorts", "dst_port"), ("icmpTypes", "icmp_type"),
                       ("icmpCodes", "icmp_code"), ("dscps", "dscp"), ("ecns", "ecn"),
                       ("fragmentOffsets", "fragment_offset"), ("packetLengths", "packet_length")):
        if _given(h, key):
            out &= pkt.ranges(field, int_space(h[key], (1 << WIDTH[field]) - 1))
    if _given(h, "ipProtocols"):
        out &= pkt.ranges("ip_protocol", ip_protocols(h["ipProtocols"]))
    if _given(h, "applications"):
        apps = pkt.false
        for box in application_boxes(h["applications"]):
            one = pkt.true
            for k, ranges in box.items():
                one &= pkt.ranges(_BOX_FIELDS[k], ranges)
            apps |= one
        out &= apps
    if _given(h, "tcpFlags"):
        flags = pkt.false
        for m in h["tcpFlags"] if isinstance(h["tcpFlags"], list) else [h["tcpFlags"]]:
            want = m.get("tcpFlags") or {}
            one = pkt.value("ip_protocol", TCP)
            for f in TCP_FLAGS:
                if m.get(f"use{f.capitalize()}", True):
                    one &= pkt.flag(f) if want.get(f) else ~pkt.flag(f)
            flags |= one
        out &= flags
    return out


def example_flow(pkt: Packet, space: Function, node: str, interface: str | None = None) -> Flow | None:
    """Batfish's representative flow of a set of packets (None if it is empty), starting at `node`: entering
    `interface`, else in its default VRF."""
    v = pkt.example(space)
    if v is None:
        return None
    proto = v["ip_protocol"]
    return Flow(ingress_node=node, ingress_interface=interface, ingress_vrf=None if interface else "default",
                src_ip=ipaddress.IPv4Address(v["src_ip"]), dst_ip=ipaddress.IPv4Address(v["dst_ip"]),
                ip_protocol=proto, src_port=v["src_port"] if proto in PORT_PROTOCOLS else None,
                dst_port=v["dst_port"] if proto in PORT_PROTOCOLS else None,
                icmp_type=v["icmp_type"] if proto == ICMP else None,
                icmp_code=v["icmp_code"] if proto == ICMP else None,
                flags=tuple(v[f"tcp_{f}"] if proto == TCP else 0 for f in TCP_FLAGS), dscp=v["dscp"],
                ecn=v["ecn"], fragment_offset=v["fragment_offset"], packet_length=v["packet_length"])


# -- rows ----------------------------------------------------------------------------------------------------


def _action(permit: bool) -> str:
    return "PERMIT" if permit else "DENY"


def filter_row(node: str, flt: Filter, flow: Flow) -> Json:
    """testFilters' row for one flow through one filter (TestFiltersAnswerer.getRow)."""
    i = flt.first_match(flow)
    line: FilterLine | None = flt.lines[i] if i is not None else None
    trace = [] if line is None else [{"traceElement": {"fragments": [
        {"class": _TEXT_FRAGMENT, "text": f"Matched line {line.name}"}]}, "children": []}]
    return {"Node": tbl.node(node), "Filter_Name": flt.name, "Flow": flow.to_json(),
            "Action": _action(flt.permits(flow)), "Line_Content": line.name if line else "no-match",
            "Trace": trace}


def _start_points(question: Json, state: SnapshotState, node: str) -> list[str | None]:
    """Where flows start on `node`: an `@enter` location's interface, or None (originating in the default
    VRF, which every other location means)."""
    spec = variable(question, "startLocation")
    if not spec:
        return [None]
    try:
        locs = locations(spec, state)
    except SpecifierError as e:
        raise UnsupportedQuestion(f"startLocation: {e}") from None
    starts = {(i if kind == "link" else None) for kind, n, i in locs
              if n == node and location_active(state, (kind, n, i))}
    return sorted(starts, key=lambda s: s or "")


# -- testFilters ---------------------------------------------------------------------------------------------


@answerer("testfilters.TestFiltersQuestion")
def test_filters(question: Json, state: SnapshotState, _reference: SnapshotState | None) -> Json:
    h = _headers(question)
    pkt = Packet()
    rows: list[Json] = []
    for node in sorted(node_set(question, "nodes", state)):
        flts = filters_of(variable(question, "filters"), state, node)
        if not flts:
            continue
        flows: dict[tuple[Any, ...], Flow] = {}
        for start in _start_points(question, state, node):
            for src in _source_spaces(h, state, node, start):
                flow = example_flow(pkt, header_space(pkt, h, state, src), node, start)
                if flow is None:
                    raise UnsupportedQuestion("No valid flow found for specified parameters: the header "
                                              "constraints leave no packet")
                flows[tuple(sorted(flow.to_json().items()))] = flow
        rows += [filter_row(node, f, flow) for f in flts for flow in flows.values()]
    return tbl.answer(question, tbl.table(COLUMNS, rows, TEST_TEXT))


def _source_spaces(h: Json, state: SnapshotState, node: str, start: str | None
                   ) -> list[list[tuple[int, int]] | None]:
    """srcIps as given (None: resolved from the headers), else as Batfish infers them from the location: for a
    packet entering an interface, a host of its link (traceroute's pick); otherwise each active interface's own
    addresses (a node without addresses: any source)."""
    if _given(h, "srcIps"):
        return [None]
    if start is not None:
        return [[(ip, ip)] for ip in location_ips(state, ("link", node, start))] or [[(0, 2**32 - 1)]]
    spaces: list[list[tuple[int, int]] | None] = []
    for name, iface in sorted(state.devices[node].interfaces.items()):
        ips = [int(a.ip) for a in iface.addresses if isinstance(a, ipaddress.IPv4Interface)]
        if ips and location_active(state, ("interface", node, name)):
            spaces.append(sorted((ip, ip) for ip in ips))
    return spaces or [[(0, 2**32 - 1)]]


# -- searchFilters -------------------------------------------------------------------------------------------


def _query_space(question: Json, pkt: Packet, flt: Filter) -> Function:
    """The packets the question's action asks for, before the header constraints."""
    action = str(variable(question, "action", "permit") or "permit").strip().lower()
    permitted = flt.permitted_space(pkt)
    if action == "permit":
        return permitted
    if action == "deny":
        return ~permitted
    if action.startswith("matchline"):
        try:
            n = int(action[len("matchline"):].strip())
        except ValueError:
            raise UnsupportedQuestion(f"action {action!r}: expected matchLine <number>") from None
        if not 0 <= n < len(flt.lines):
            return pkt.false
        before = pkt.false
        for line in flt.lines[:n]:
            before |= line.match.space(pkt)
        return flt.lines[n].match.space(pkt) & ~before
    raise UnsupportedQuestion(f"action {action!r}: expected permit, deny or matchLine <number>")


def _search_headers(question: Json, pkt: Packet, state: SnapshotState) -> Function:
    space = header_space(pkt, _headers(question), state)
    return ~space if flag(question, "invertSearch") else space


def _searched(question: Json, state: SnapshotState) -> list[tuple[str, Filter]]:
    found = [(node, f) for node in sorted(node_set(question, "nodes", state))
             for f in filters_of(variable(question, "filters"), state, node)]
    if not found:
        raise UnsupportedQuestion("No matching filters")
    return found


@answerer("searchfilters.SearchFiltersQuestion", diff=OWN_DIFF)
def search_filters(question: Json, state: SnapshotState, reference: SnapshotState | None) -> Json:
    if reference is not None:
        return _search_filters_diff(question, state, reference)
    pkt = Packet()
    headers = _search_headers(question, pkt, state)
    rows = []
    for node, flt in _searched(question, state):
        flow = example_flow(pkt, _query_space(question, pkt, flt) & headers, node)
        if flow is not None:
            rows.append(filter_row(node, flt, flow))
    return tbl.answer(question, tbl.table(COLUMNS, rows))


def _search_filters_diff(question: Json, state: SnapshotState, reference: SnapshotState) -> Json:
    """Per filter in both snapshots, an example of what the snapshot's filter answers and the reference's
    does not, then of the reverse, each with both snapshots' rows; a filter (or node) in one snapshot only is
    a row with just its name (includeOneTableKeys); diffed as Batfish's TableDiff does."""
    pkt = Packet()
    headers = _search_headers(question, pkt, state)
    ours = {(n, f.name): f for n, f in _safe_searched(question, state)}
    theirs = {(n, f.name): f for n, f in _safe_searched(question, reference)}
    one_table = question.get("includeOneTableKeys") is not False
    snap_rows: list[Json] = []
    ref_rows: list[Json] = []
    both_nodes = {n for n, _ in ours} & {n for n, _ in theirs}
    for (node, name), flt in ours.items():
        other = theirs.get((node, name))
        if other is None:
            if one_table and node in both_nodes:
                snap_rows.append({"Node": tbl.node(node), "Filter_Name": name})
            continue
        a = _query_space(question, pkt, flt) & headers
        b = _query_space(question, pkt, other) & headers
        for space in (a & ~b, b & ~a):
            flow = example_flow(pkt, space, node)
            if flow is not None:
                snap_rows.append(filter_row(node, flt, flow))
                ref_rows.append(filter_row(node, other, flow))
    if one_table:
        ref_rows += [{"Node": tbl.node(n), "Filter_Name": name} for n, name in theirs
                     if n in both_nodes and (n, name) not in ours]
        snap_rows += [{"Node": tbl.node(n)} for n in sorted({n for n, _ in ours} - both_nodes)]
        ref_rows += [{"Node": tbl.node(n)} for n in sorted({n for n, _ in theirs} - both_nodes)]
    return tbl.answer(question, tbl.differential(COLUMNS, snap_rows, ref_rows, one_table))


def _safe_searched(question: Json, state: SnapshotState) -> list[tuple[str, Filter]]:
    try:
        return _searched(question, state)
    except UnsupportedQuestion:
        return []


# -- filterLineReachability ----------------------------------------------------------------------------------


def _blocking(pkt: Packet, spaces: list[Function], lines: tuple[FilterLine, ...], n: int) -> tuple[list[int], bool]:
    """findBlockingPropsForLine: the earlier lines that take packets line n would match, weighted by their
    overlap with it; those, largest first, until line n is covered, plus the largest with another action."""
    blocked = spaces[n]
    nvars = len(pkt.vars)
    weighted: list[tuple[float, int]] = []
    rest = blocked
    diff_action = False
    for i in range(n):
        if rest == pkt.false:
            break
        if spaces[i] & rest == pkt.false:
            continue
        weighted.append((-float((spaces[i] & blocked).count(nvars=nvars)), i))
        diff_action = diff_action or lines[i].permit != lines[n].permit
        rest &= ~spaces[i]
    chosen: list[int] = []
    rest = blocked
    need_diff = diff_action
    for _w, i in sorted(weighted):
        cur_diff = lines[i].permit != lines[n].permit
        if rest != pkt.false or (need_diff and cur_diff):
            rest &= ~spaces[i]
            chosen.append(i)
            need_diff = need_diff and not cur_diff
        if rest == pkt.false and not need_diff:
            break
    return sorted(chosen), diff_action


def unreachable_lines(pkt: Packet, flt: Filter) -> list[Json]:
    """The rows of one filter's unreachable lines (Sources filled in by the caller)."""
    spaces = [line.match.space(pkt) for line in flt.lines]
    rows = []
    unmatched = pkt.true
    for n, line in enumerate(flt.lines):
        row = {"Unreachable_Line": line.name, "Unreachable_Line_Action": _action(line.permit),
               "Blocking_Lines": [], "Different_Action": False, "Additional_Info": None}
        if spaces[n] == pkt.false:
            rows.append({**row, "Reason": "INDEPENDENTLY_UNMATCHABLE"})
        elif unmatched == pkt.false or spaces[n] & unmatched == pkt.false:
            chosen, diff = _blocking(pkt, spaces, flt.lines, n)
            rows.append({**row, "Reason": "BLOCKING_LINES", "Different_Action": diff,
                         "Blocking_Lines": [flt.lines[i].name for i in chosen]})
        unmatched &= ~spaces[n]
    return rows


@answerer("filterlinereachability.FilterLineReachabilityQuestion")
def filter_line_reachability(question: Json, state: SnapshotState, _reference: SnapshotState | None) -> Json:
    pkt = Packet()
    # identical filters (same lines) are analysed once, with every node and name that has them
    groups: dict[tuple[Any, ...], tuple[Filter, dict[str, list[str]]]] = {}
    for node in sorted(node_set(question, "nodes", state)):
        for flt in filters_of(variable(question, "filters"), state, node):
            key = (flt.lines, flt.default_permit)
            groups.setdefault(key, (flt, {}))[1].setdefault(node, []).append(flt.name)
    rows = []
    for flt, sources in groups.values():
        names = [f"{n}: {', '.join(sorted(acls))}" for n, acls in sorted(sources.items())]
        rows += [{"Sources": names, **r} for r in unreachable_lines(pkt, flt)]
    return tbl.answer(question, tbl.table(REACHABILITY_COLUMNS, rows, REACHABILITY_TEXT))
