"""traceroute answers against Batfish's own (refs/traceroute-1-2.ref and traceroute-2-1.ref on example-live).

Per row (matched by the Flow, Batfish's deprecated `state`/`tag` aside): TraceCount, and the traces as a
multiset keyed by their path (disposition, then each hop's node with its input and output interface). Traces on
the same path must agree on every step's type, action and details (interfaces, filter names and types, the
Routing step's routes as protocol/network/next hop and its forwarding detail, Inbound's interface, the final
Delivered/ArpError step). Every difference is listed with its reason in expectations/traceroute.yaml; the test
fails on an unexplained one and on a listed one that no longer occurs. pybatfish must decode the answers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from compat_tests.conftest import EXAMPLE, load_ref
from compat_tests.routes_compare import check, load
from realfish.answers import answer
from realfish.answers.state import SnapshotState
from realfish.diff.rows import next_hop_text

pytestmark = pytest.mark.frr

CASES = {
    "traceroute-1-2": ("@enter(as1core1)", {"dstIps": "host1"}),
    "traceroute-2-1": ("host2", {"dstIps": "1.0.1.1"}),
}


def question(start: str, headers: dict[str, Any], cls: str = "TracerouteQuestion", **extra: Any) -> dict[str, Any]:
    variables = {"startLocation": {"value": start}, "headers": {"value": headers},
                 **{k: {"value": v} for k, v in extra.items()}}
    return {"class": f"org.batfish.question.traceroute.{cls}", "differential": False,
            "instance": {"instanceName": "traceroute", "variables": variables}}


def flow_text(flow: dict[str, Any]) -> str:
    from pybatfish.datamodel.flow import Flow

    return str(Flow.from_dict(flow))


def _step_text(step: dict[str, Any]) -> str:
    d = step.get("detail") or {}
    kind, action = step["type"], step["action"]
    if kind == "EnterInputInterface":
        return f"{action}({d['inputInterface']['interface']})"
    if kind == "ExitOutputInterface":
        return f"{action}({d['outputInterface']['interface']})"
    if kind == "Originate":
        return f"{action}({d['originatingVrf']})"
    if kind == "Filter":
        return f"{action}({d['filter']} {d['type']})"
    if kind == "Inbound":
        return f"{action}({d.get('interface')})"
    if kind in ("Delivered", "ArpError"):
        return f"{kind}:{action}({d['outputInterface']['interface']} {d.get('resolvedNexthopIp')})"
    if kind == "Routing":
        routes = sorted(f"{r['protocol']} {r['network']} {next_hop_text(r.get('nextHop'))}"
                        for r in d.get("routes") or [])
        fwd = d.get("forwardingDetail") or {}
        where = " ".join(str(fwd[k]) for k in ("outputInterface", "resolvedNextHopIp") if k in fwd)
        return f"{action}({'; '.join(routes)} => {fwd.get('type')} {where})".replace(" )", ")")
    return f"{kind}:{action}"


def _ifaces(hop: dict[str, Any]) -> str:
    into = out = ""
    for s in hop["steps"]:
        d = s.get("detail") or {}
        if s["type"] == "EnterInputInterface":
            into = d["inputInterface"]["interface"]
        if s["type"] == "ExitOutputInterface":
            out = d["outputInterface"]["interface"]
    return f"{hop['node']['name']}[{into}>{out}]"


def path_text(trace: dict[str, Any]) -> str:
    return f"{trace['disposition']}: " + " ".join(_ifaces(h) for h in trace["hops"])


def hop_texts(trace: dict[str, Any]) -> list[str]:
    return [f"{h['node']['name']}: " + " ".join(_step_text(s) for s in h["steps"]) for h in trace["hops"]]


def trace_differences(flow: str, ours: list[dict[str, Any]], ref: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Traces keyed by path (repeated paths numbered #2...); a path on both sides compares hop by hop."""

    def index(traces: list[dict[str, Any]]) -> dict[str, list[str]]:
        seen: Counter[str] = Counter()
        out = {}
        for t in traces:
            k = path_text(t)
            seen[k] += 1
            out[k if seen[k] == 1 else f"{k} #{seen[k]}"] = hop_texts(t)
        return out

    a, b = index(ours), index(ref)
    diffs = []
    for k in sorted(set(a) | set(b)):
        if k not in a or k not in b:
            diffs.append({"row": f"{flow} | {k}", "ours": "present" if k in a else None,
                          "batfish": "present" if k in b else None})
            continue
        for i, (x, y) in enumerate(zip(a[k], b[k], strict=True)):
            if x != y:
                diffs.append({"row": f"{flow} | {k} | hop {i + 1}", "ours": x, "batfish": y})
    return diffs


def differences(element: dict[str, Any], ref: dict[str, Any], traces: str = "Traces",
                count: str = "TraceCount") -> list[dict[str, Any]]:
    def flows(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {flow_text({k: v for k, v in r["Flow"].items() if k not in ("state", "tag")}): r for r in rows}

    ours, theirs = flows(element["rows"]), flows(ref["rows"])
    diffs: list[dict[str, Any]] = []
    for f in sorted(set(ours) | set(theirs)):
        if f not in ours or f not in theirs:
            diffs.append({"row": f"{f} | row", "ours": "present" if f in ours else None,
                          "batfish": "present" if f in theirs else None})
            continue
        a, b = ours[f], theirs[f]
        if a[count] != b[count]:
            diffs.append({"row": f"{f} | {count}", "ours": str(a[count]), "batfish": str(b[count])})
        diffs += trace_differences(f, a[traces], b[traces])
    return diffs


def agreement(element: dict[str, Any], ref: dict[str, Any]) -> tuple[int, int]:
    """(Batfish traces we produce identically, Batfish traces)."""
    ours = Counter(repr((r["Flow"]["ingressNode"], path_text(t), hop_texts(t))) for r in element["rows"]
                   for t in r["Traces"])
    theirs = Counter(repr((r["Flow"]["ingressNode"], path_text(t), hop_texts(t))) for r in ref["rows"]
                     for t in r["Traces"])
    return sum((ours & theirs).values()), sum(theirs.values())


@pytest.mark.parametrize("case", sorted(CASES))
def test_traceroute_against_batfish(case: str, example_live: SnapshotState) -> None:
    start, headers = CASES[case]
    element = answer(question(start, headers), example_live)["answerElements"][0]
    ref = load_ref(EXAMPLE / "refs" / f"{case}.ref")
    assert element["metadata"] == ref["metadata"], "column metadata differs from Batfish's"
    for ours, theirs in zip(element["rows"], ref["rows"], strict=False):
        assert ours["Flow"] == {k: v for k, v in theirs["Flow"].items() if k not in ("state", "tag")}
    found = differences(element, ref)
    explained, problems = check(found, load("traceroute.yaml"), case)
    same, total = agreement(element, ref)
    print(f"{case}: {len(element['rows'])}/{len(ref['rows'])} flows, {same}/{total} Batfish traces identical "
          f"(ours {sum(len(r['Traces']) for r in element['rows'])}), {len(found)} differences ({explained} "
          "explained)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pybatfish_decodes_traceroute(case: str, example_live: SnapshotState) -> None:
    from pybatfish.datamodel.answer.table import TableAnswer
    from pybatfish.datamodel.flow import Flow, Trace

    start, headers = CASES[case]
    for cls in ("TracerouteQuestion", "BidirectionalTracerouteQuestion"):
        ans = answer(question(start, headers, cls), example_live)
        frame = TableAnswer(ans).frame()
        assert len(frame) >= 1
        flow_col, traces_col = (("Flow", "Traces") if cls == "TracerouteQuestion"
                                else ("Forward_Flow", "Forward_Traces"))
        for _, row in frame.iterrows():
            assert isinstance(row[flow_col], Flow)
            assert row[traces_col] and all(isinstance(t, Trace) for t in row[traces_col])
            for t in row[traces_col]:
                assert all(s is not None for h in t.hops for s in h.steps)  # every step type known to pybatfish
                str(t)  # pybatfish renders every step detail


def test_bidirectional_reverse_flows(example_live: SnapshotState) -> None:
    """host2 -> 1.0.1.1 is accepted on as1border1; the return flow starts there in its VRF with addresses and
    ports swapped, and as2border1's OUTSIDE_TO_INSIDE (`deny ip any host 2.128.1.101`) stops it on the way
    back."""
    element = answer(question("host2", {"dstIps": "1.0.1.1"}, "BidirectionalTracerouteQuestion"),
                     example_live)["answerElements"][0]
    assert [c["name"] for c in element["metadata"]["columnMetadata"]] == [
        "Forward_Flow", "Forward_Traces", "New_Sessions", "Reverse_Flow", "Reverse_Traces"]
    (row,) = element["rows"]
    assert row["New_Sessions"] == []
    rev = row["Reverse_Flow"]
    assert (rev["ingressNode"], rev.get("ingressVrf"), rev["srcIp"], rev["dstIp"], rev["srcPort"],
            rev["dstPort"]) == ("as1border1", "default", "1.0.1.1", "2.128.1.101", 33434, 49152)
    assert {t["disposition"] for t in row["Forward_Traces"]} == {"ACCEPTED"}
    (back,) = row["Reverse_Traces"]
    assert back["disposition"] == "DENIED_IN"
    assert [h["node"]["name"] for h in back["hops"]] == ["as1border1", "as2border1"]
    assert back["hops"][-1]["steps"][-1]["detail"]["filter"] == "OUTSIDE_TO_INSIDE"


# pybatfish's doc notebook docs/source/notebooks/forwarding.ipynb, run by Batfish on the same example network:
# bidirectionalTraceroute(startLocation='@enter(as2border1[GigabitEthernet2/0])',
# headers=HeaderConstraints(dstIps='2.34.201.10', srcIps='8.8.8.8')). Batfish's first forward trace (via as2core1)
# and its reverse trace, as pybatfish prints them; its second forward trace goes through as2core2, which FRR
# does not use (ospf-mtu-mismatch in expectations/traceroute.yaml).
DOCS_FORWARD_VIA_AS2CORE1 = """DELIVERED_TO_SUBNET
1. node: as2border1
  RECEIVED(GigabitEthernet2/0)
  FORWARDED(Forwarded out interface: GigabitEthernet1/0 with resolved next-hop IP: 2.12.11.2, Routes: [ospfE2 (Network: 2.34.201.0/24, Next Hop: interface GigabitEthernet1/0 ip 2.12.11.2)])
  TRANSMITTED(GigabitEthernet1/0)
2. node: as2core1
  RECEIVED(GigabitEthernet0/0)
  FORWARDED(Forwarded out interface: GigabitEthernet3/0 with resolved next-hop IP: 2.23.12.3, Routes: [ospfE2 (Network: 2.34.201.0/24, Next Hop: interface GigabitEthernet3/0 ip 2.23.12.3)])
  TRANSMITTED(GigabitEthernet3/0)
3. node: as2dist2
  RECEIVED(GigabitEthernet1/0)
  FORWARDED(Forwarded out interface: GigabitEthernet2/0, Routes: [connected (Network: 2.34.201.0/24, Next Hop: interface GigabitEthernet2/0)])
  TRANSMITTED(GigabitEthernet2/0)
  DELIVERED_TO_SUBNET(Output Interface: GigabitEthernet2/0, Resolved Next Hop IP: 2.34.201.10)"""  # noqa: E501
DOCS_REVERSE = """NO_ROUTE
1. node: as2dist2
  RECEIVED(GigabitEthernet2/0)
  NO_ROUTE(Discarded)"""


def test_bidirectional_as_in_pybatfish_docs(example_live: SnapshotState) -> None:
    from pybatfish.datamodel.answer.table import TableAnswer

    q = question("@enter(as2border1[GigabitEthernet2/0])", {"dstIps": "2.34.201.10", "srcIps": "8.8.8.8"},
                 "BidirectionalTracerouteQuestion")
    frame = TableAnswer(answer(q, example_live)).frame()
    assert len(frame) == 1
    row = frame.iloc[0]
    assert str(row.Forward_Flow) == ("start=as2border1 interface=GigabitEthernet2/0 "
                                     "[8.8.8.8:49152->2.34.201.10:33434 UDP]")
    assert str(row.Reverse_Flow) == ("start=as2dist2 interface=GigabitEthernet2/0 "
                                     "[2.34.201.10:33434->8.8.8.8:49152 UDP]")
    assert [str(t) for t in row.Forward_Traces] == [DOCS_FORWARD_VIA_AS2CORE1]  # Batfish: also via as2core2
    assert [str(t) for t in row.Reverse_Traces] == [DOCS_REVERSE]
    assert list(row.New_Sessions) == []
