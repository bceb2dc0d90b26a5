"""reachability and detectLoops on traceroute's small snapshot (tests/test_traceroute.py draws it): static routes
give a loop (10.99/16 between r1 and r2), null routes (10.66/16 on r1, 10.77/16 on r2 and r3 after r1's ECMP),
and r3's BLOCK ACL denies UDP to 3.3.3.3:33434 (ICMP passes); r2 has no default route.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from realfish.answers import UnsupportedQuestion, answer
from realfish.answers.reachability import dispositions
from realfish.answers.state import SnapshotState
from tests import test_traceroute

snap = test_traceroute.snap  # the same snapshot, converged once for this module


def question(cls: str, **variables: Any) -> dict[str, Any]:
    return {"class": f"org.batfish.question.{cls}",
            "instance": {"instanceName": "q", "variables": {k: {"value": v} for k, v in variables.items()}}}


def reach(snapshot: SnapshotState, start: str, **variables: Any) -> list[dict[str, Any]]:
    paths = {"startLocation": start, **variables.pop("paths", {})}
    q = question("specifiers.SpecifiersReachabilityQuestion", pathConstraints=paths, **variables)
    rows: list[dict[str, Any]] = answer(q, snapshot)["answerElements"][0]["rows"]
    return rows


def outcomes(row: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(t["disposition"], [h["node"]["name"] for h in t["hops"]]) for t in row["Traces"]]


@pytest.mark.frr
def test_success_is_one_icmp_flow_per_start(snap: SnapshotState) -> None:
    (row,) = reach(snap, "r1", headers={"dstIps": "3.3.3.3"})
    flow = row["Flow"]
    assert (flow["ingressNode"], flow["ingressVrf"], flow["dstIp"], flow["ipProtocol"]) == ("r1", "default",
                                                                                           "3.3.3.3", "ICMP")
    assert flow["srcIp"] == "1.1.1.1"  # r1's lowest interface address, as traceroute picks it
    assert outcomes(row) == [("ACCEPTED", ["r1", "r3"])] and row["TraceCount"] == 1


@pytest.mark.frr
def test_failure_finds_the_acl_denial(snap: SnapshotState) -> None:
    # ICMP passes BLOCK; the UDP flow to the port BLOCK names is the one that fails
    (row,) = reach(snap, "r1", headers={"dstIps": "3.3.3.3"}, actions="failure")
    assert (row["Flow"]["ipProtocol"], row["Flow"]["dstPort"]) == ("UDP", 33434)
    assert outcomes(row) == [("DENIED_IN", ["r1", "r3"])]
    filt = row["Traces"][0]["hops"][-1]["steps"][-1]
    assert (filt["type"], filt["action"], filt["detail"]["filter"]) == ("Filter", "DENIED", "BLOCK")
    assert reach(snap, "r1", headers={"dstIps": "3.3.3.3"}, actions="failure", ignoreFilters=True) == []
    assert reach(snap, "r1", headers={"dstIps": "3.3.3.3", "ipProtocols": "ICMP"}, actions="failure") == []


@pytest.mark.frr
def test_explicit_disposition_and_end_location(snap: SnapshotState) -> None:
    (row,) = reach(snap, "r1", headers={"dstIps": "10.66.0.0/16"}, actions="NULL_ROUTED")
    assert ipaddress.ip_address(row["Flow"]["dstIp"]) in ipaddress.ip_network("10.66.0.0/16")
    assert outcomes(row) == [("NULL_ROUTED", ["r1"])]
    # r1 spreads 10.77/16 over r2 and r3, which both null-route it: some trace ends at r3, none at r1
    (row,) = reach(snap, "r1", headers={"dstIps": "10.77.0.0/16"}, actions="NULL_ROUTED", paths={"endLocation": "r3"})
    assert sorted(outcomes(row)) == [("NULL_ROUTED", ["r1", "r2"]), ("NULL_ROUTED", ["r1", "r3"])]
    assert reach(snap, "r1", headers={"dstIps": "10.77.0.0/16"}, actions="NULL_ROUTED",
                 paths={"endLocation": "r1"}) == []


@pytest.mark.frr
def test_transit_and_forbidden_locations(snap: SnapshotState) -> None:
    h = {"dstIps": "3.3.3.3"}
    assert reach(snap, "r1", headers=h, paths={"transitLocations": "r2"}) == []
    assert len(reach(snap, "r1", headers=h, paths={"forbiddenLocations": "r2"})) == 1
    assert reach(snap, "r1", headers=h, paths={"forbiddenLocations": "r1"}) == []  # r1 forwards it onwards
    assert len(reach(snap, "r1", headers=h, paths={"transitLocations": "r1"})) == 1
    with pytest.raises(UnsupportedQuestion, match="also forbidden"):
        reach(snap, "r1", headers=h, paths={"transitLocations": "r2", "forbiddenLocations": "r2, r3"})
    with pytest.raises(UnsupportedQuestion, match="No final nodes"):
        reach(snap, "r1", headers=h, paths={"endLocation": "/nomatch/"})


@pytest.mark.frr
def test_invert_search(snap: SnapshotState) -> None:
    # r2 routes nothing in 128.0.0.0/1: inside 0.0.0.0/1 something succeeds, outside nothing does
    (row,) = reach(snap, "r2", headers={"dstIps": "0.0.0.0/1"})
    assert ipaddress.ip_address(row["Flow"]["dstIp"]) in ipaddress.ip_network("0.0.0.0/1")
    assert reach(snap, "r2", headers={"dstIps": "0.0.0.0/1"}, invertSearch=True) == []
    (row,) = reach(snap, "r2", headers={"dstIps": "0.0.0.0/1"}, invertSearch=True, actions="NO_ROUTE")
    assert ipaddress.ip_address(row["Flow"]["dstIp"]) in ipaddress.ip_network("128.0.0.0/1")
    with pytest.raises(UnsupportedQuestion, match="invertSearch"):
        reach(snap, "r2", headers={"dstIps": "0.0.0.0/1", "dstPorts": "22"}, invertSearch=True)


@pytest.mark.frr
def test_start_locations_group_by_vrf_and_enter_links(snap: SnapshotState) -> None:
    rows = reach(snap, "r1", headers={"dstIps": "3.3.3.3"})
    assert len(rows) == 1  # every r1 interface starts in the default VRF: one IngressLocation
    rows = reach(snap, "@enter(r3[GigabitEthernet0/2])", headers={"dstIps": "3.3.3.3"})
    (row,) = rows
    assert row["Flow"]["ingressInterface"] == "GigabitEthernet0/2" and "ingressVrf" not in row["Flow"]
    assert row["Flow"]["srcIp"] == "10.34.0.2"  # the link's lowest address no device owns


@pytest.mark.frr
def test_detect_loops(snap: SnapshotState) -> None:
    rows = answer(question("loop.DetectLoopsQuestion"), snap)["answerElements"][0]["rows"]
    assert rows
    for row in rows:
        assert any(t["disposition"] == "LOOP" for t in row["Traces"])
        assert ipaddress.ip_address(row["Flow"]["dstIp"]) in ipaddress.ip_network("10.99.0.0/16")
    starts = {(r["Flow"]["ingressNode"], r["Flow"].get("ingressVrf")) for r in rows}
    assert {("r1", "default"), ("r2", "default")} <= starts


@pytest.mark.frr
def test_differential_is_refused_as_batfish_does(snap: SnapshotState) -> None:
    q = question("specifiers.SpecifiersReachabilityQuestion", pathConstraints={"startLocation": "r1"})
    with pytest.raises(UnsupportedQuestion, match="differential"):
        answer(q, snap, snap)


@pytest.mark.frr
def test_pybatfish_decodes_the_answers(snap: SnapshotState) -> None:
    from pybatfish.datamodel.answer.table import TableAnswer
    from pybatfish.datamodel.flow import Flow as PyFlow
    from pybatfish.datamodel.flow import Trace

    for q in (question("specifiers.SpecifiersReachabilityQuestion", actions="failure"),
              question("loop.DetectLoopsQuestion")):
        frame = TableAnswer(answer(q, snap)).frame()
        assert list(frame.columns) == ["Flow", "Traces", "TraceCount"] and len(frame) > 0
        for _, row in frame.iterrows():
            assert isinstance(row["Flow"], PyFlow)
            assert all(isinstance(t, Trace) for t in row["Traces"])
            str(row["Flow"])


def test_dispositions_spec() -> None:
    assert dispositions("success") == {"ACCEPTED", "DELIVERED_TO_SUBNET", "EXITS_NETWORK"}
    assert dispositions("failure, accepted") >= {"ACCEPTED", "LOOP", "DENIED_IN", "NO_ROUTE"}
    assert "ACCEPTED" not in dispositions("failure")
    with pytest.raises(UnsupportedQuestion):
        dispositions("nowhere")


def test_loop_precheck_finds_every_vertex_that_reaches_a_cycle() -> None:
    from realfish.answers.reachability import _reaches_cycle

    a, b, c, d, e, f = ((x, "default") for x in "abcdef")
    # a -> b -> c -> b (cycle b, c); d -> a; e -> f (no cycle)
    succ = {a: {b}, b: {c}, c: {b}, d: {a}, e: {f}, f: set()}
    assert _reaches_cycle(succ) == {a, b, c, d}
    assert _reaches_cycle({e: {f}, f: set()}) == set()
    assert _reaches_cycle({a: {a}}) == {a}  # a self-loop
