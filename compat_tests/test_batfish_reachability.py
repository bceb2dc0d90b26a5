"""reachability and detectLoops on example-live, against expectations read from its configs (there is no
Batfish .ref for these questions):

* as2core1 applies `blocktelnet` (deny tcp any any eq telnet) inbound on GigabitEthernet2/0 (the link to
  as2dist1, 2.23.11.0/24) and GigabitEthernet3/0 (to as2dist2, 2.23.12.0/24), and both dist routers reach
  as2border1 through as2core1: a telnet search for failures from /as2dist/ finds, per dist router, a flow that
  dies DENIED_IN there; with ignoreFilters, or for SSH, there is none.
* host1's iptables INPUT chain drops everything but UDP 53 and TCP 22: the pybatfish doc notebook's search from
  every as2 node to host1 gives one row per as2 node (7), each an accepted flow of one of those services.
* the example network forwards without loops: detectLoops finds none.
"""

from __future__ import annotations

from typing import Any

import pytest

from realfish.answers import answer
from realfish.answers.state import SnapshotState

pytestmark = pytest.mark.frr

AS2 = {"as2border1", "as2border2", "as2core1", "as2core2", "as2dept1", "as2dist1", "as2dist2"}


def reach(state: SnapshotState, start: str, headers: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    variables = {"pathConstraints": {"value": {"startLocation": start}}, "headers": {"value": headers},
                 **{k: {"value": v} for k, v in extra.items()}}
    q = {"class": "org.batfish.question.specifiers.SpecifiersReachabilityQuestion", "differential": False,
         "includeOneTableKeys": True, "instance": {"instanceName": "reachability", "variables": variables}}
    rows: list[dict[str, Any]] = answer(q, state)["answerElements"][0]["rows"]
    return rows


def test_telnet_blocked_at_as2core1(example_live: SnapshotState) -> None:
    telnet = {"dstIps": "as2border1", "applications": "telnet"}
    rows = reach(example_live, "/as2dist/", telnet, actions="failure")
    facing = {"as2dist1": "GigabitEthernet2/0", "as2dist2": "GigabitEthernet3/0"}
    assert {r["Flow"]["ingressNode"] for r in rows} == set(facing)
    for row in rows:
        flow = row["Flow"]
        assert (flow["ipProtocol"], flow["dstPort"]) == ("TCP", 23)
        denied = [t for t in row["Traces"] if t["disposition"] == "DENIED_IN"]
        assert denied, row["Traces"]
        for t in denied:
            hop = t["hops"][-1]
            assert hop["node"]["name"] == "as2core1"
            enter, filt = hop["steps"][0], hop["steps"][-1]
            assert enter["detail"]["inputInterface"]["interface"] == facing[flow["ingressNode"]]
            assert (filt["type"], filt["action"], filt["detail"]["filter"], filt["detail"]["type"]) == (
                "Filter", "DENIED", "blocktelnet", "INGRESS_FILTER")
    assert reach(example_live, "/as2dist/", telnet, actions="failure", ignoreFilters=True) == []
    assert reach(example_live, "/as2dist/", {"dstIps": "as2border1", "applications": "ssh"}, actions="failure") == []


def test_as2_reaches_host1_on_its_open_services(example_live: SnapshotState) -> None:
    rows = reach(example_live, "/as2/", {"dstIps": "host1"})
    assert sorted(r["Flow"]["ingressNode"] for r in rows) == sorted(AS2)
    for row in rows:
        flow = row["Flow"]
        assert flow["dstIp"] == "2.128.0.101" and flow["ingressVrf"] == "default"
        assert (flow["ipProtocol"], flow.get("dstPort")) in {("UDP", 53), ("TCP", 22)}
        assert all(t["disposition"] == "ACCEPTED" and t["hops"][-1]["node"]["name"] == "host1"
                   for t in row["Traces"])
    # ICMP is what host1 drops: searching for failures finds it from every as2 node
    failing = reach(example_live, "/as2/", {"dstIps": "host1"}, actions="failure")
    assert sorted(r["Flow"]["ingressNode"] for r in failing) == sorted(AS2)
    assert all(r["Flow"]["ipProtocol"] == "ICMP" for r in failing)


def test_no_forwarding_loops(example_live: SnapshotState) -> None:
    q = {"class": "org.batfish.question.loop.DetectLoopsQuestion", "differential": False,
         "instance": {"instanceName": "detectLoops", "variables": {}}}
    element = answer(q, example_live)["answerElements"][0]
    assert [c["name"] for c in element["metadata"]["columnMetadata"]] == ["Flow", "Traces", "TraceCount"]
    assert element["rows"] == []
