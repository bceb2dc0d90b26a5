"""The drop-in, end to end: pybatfish's own client against `realfish serve` on loopback, on Batfish's example
network, compared with Batfish's answers exactly as the in-process compat tests compare them (same expectations
files), plus every other answerer asked once through `bf.q`.

One server (a subprocess, stopped by PID) serves the module; example-live and example-candidate are uploaded as
directories, converged by the server in the background while pybatfish polls, as a user's script would do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pybatfish.client.session import Session
from pybatfish.datamodel.answer.table import TableAnswer
from pybatfish.datamodel.flow import HeaderConstraints, PathConstraints

from compat_tests import test_batfish_routes as routes_compat
from compat_tests import test_batfish_traceroute as traceroute_compat
from compat_tests.conftest import EXAMPLE, load_ref
from compat_tests.routes_compare import check, load
from tests.test_service import start_server, stop_server

pytestmark = pytest.mark.frr


@pytest.fixture(scope="module")
def bf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    proc, port = start_server("--data-dir", str(tmp_path_factory.mktemp("data")))
    try:
        session: Any = Session(host="127.0.0.1", port=port)
        session.set_network("example")
        session.init_snapshot(str(EXAMPLE / "snapshots" / "example-candidate"), name="candidate")
        session.init_snapshot(str(EXAMPLE / "snapshots" / "example-live-with-bgp-announcements"), name="live-ba")
        session.init_snapshot(str(EXAMPLE / "snapshots" / "example-live"), name="live")
        yield session
    finally:
        err = stop_server(proc)
        assert proc.returncode == 0, err


def element(ans: TableAnswer) -> dict[str, Any]:
    return dict(ans["answerElements"][0])


SNAPSHOTS = {"live": "example-live", "live-ba": "example-live-with-bgp-announcements",
             "candidate": "example-candidate"}


def test_routes(bf: Any) -> None:
    ans = bf.q.routes().answer()
    ref = load_ref(EXAMPLE / "refs" / "routes.ref")
    routes_compat.compare("example-live", element(ans), ref, routes_compat.KEYS, routes_compat.VALUES)
    # pybatfish's frame: Batfish's columns, and each column's cells of the same Python types as from Batfish's answer
    ours, theirs = ans.frame(), TableAnswer({"answerElements": [ref]}).frame()
    assert list(ours.columns) == list(theirs.columns)
    for col in ours.columns:
        assert {type(v).__name__ for v in ours[col]} == {type(v).__name__ for v in theirs[col]}, col


def test_routes_differential(bf: Any) -> None:
    """The snapshot with Batfish's external announcement against the candidate: Batfish's rows, exactly (the
    route from the hidden outside speaker, as eBGP on as1border2 and as iBGP on as1border1 and as1core1)."""
    ans = bf.q.routes().answer(snapshot="live-ba", reference_snapshot="candidate")
    ref = load_ref(EXAMPLE / "refs" / "routes-diff.ref")
    routes_compat.compare("routes-diff", element(ans), ref, routes_compat.DIFF_KEYS, routes_compat.DIFF_VALUES)
    assert element(ans)["rows"] == [{c["name"]: r.get(c["name"]) for c in ref["metadata"]["columnMetadata"]}
                                    for r in ref["rows"]]
    frame = ans.frame()
    assert sorted(frame["Node"].astype(str)) == ["as1border1", "as1border2", "as1core1"]
    assert not any("outside" in str(n) for n in bf.q.nodeProperties().answer(snapshot="live-ba").frame()["Node"])


def test_bgp_session_status(bf: Any) -> None:
    ans = bf.q.bgpSessionStatus(nodes="as2.*", remoteNodes="as3.*").answer()
    ref = load_ref(EXAMPLE / "refs" / "bgpSessionStatus.ref")
    assert element(ans)["metadata"] == ref["metadata"]
    assert element(ans)["rows"] == [{c["name"]: r.get(c["name"]) for c in ref["metadata"]["columnMetadata"]}
                                    for r in ref["rows"]]


@pytest.mark.parametrize("case", sorted(traceroute_compat.CASES))
def test_traceroute(bf: Any, case: str) -> None:
    start, headers = traceroute_compat.CASES[case]
    ans = bf.q.traceroute(startLocation=start, headers=HeaderConstraints(**headers)).answer()
    ref = load_ref(EXAMPLE / "refs" / f"{case}.ref")
    found = traceroute_compat.differences(element(ans), ref)
    _, problems = check(found, load("traceroute.yaml"), case)
    assert not problems, "\n".join(problems)
    assert all(t.disposition for traces in ans.frame()["Traces"] for t in traces)


def test_what_if_fork_without_as2core2(bf: Any) -> None:
    """Deactivating as2core2 (the router with the MTU mismatches) converges a changed network: none of its
    sessions is up and no route uses it any more."""
    bf.fork_snapshot("live", name="no-as2core2", deactivate_nodes=["as2core2"])
    bf.set_snapshot("live")  # fork_snapshot made the fork current; the other tests ask the live snapshot
    sessions = bf.q.bgpSessionStatus(nodes="as2core2").answer(snapshot="no-as2core2").frame()
    # its interfaces are down, so (as in Batfish) its sessions are not even compatible any more
    assert len(sessions) > 0 and set(sessions["Established_Status"]) == {"NOT_COMPATIBLE"}
    before = bf.q.routes(nodes="as2core2").answer(snapshot="live").frame()
    after = bf.q.routes(nodes="as2core2").answer(snapshot="no-as2core2").frame()
    assert len(before) > 0 and len(after) == 0
    owners = bf.q.ipOwners().answer(snapshot="live").frame()
    core2_ips = set(owners[owners["Node"] == "as2core2"]["IP"])
    everyone = bf.q.routes().answer(snapshot="no-as2core2").frame()
    used = {nh.ip for nh in everyone["Next_Hop"] if getattr(nh, "ip", None)}
    assert core2_ips and not core2_ips & used
    bf.delete_snapshot("no-as2core2")


# Every other answerer, once through pybatfish: (question, keyword arguments, a column the frame must have,
# the least number of rows example-live gives).
OTHERS = [
    ("bgpRib", {"nodes": "as1border1"}, "AS_Path", 1),
    ("lpmRoutes", {"ip": "2.128.0.1"}, "Num_Routes", 1),
    ("bgpSessionCompatibility", {}, "Configured_Status", 1),
    ("bgpEdges", {}, "Remote_AS_Number", 2),
    ("layer3Edges", {}, "Remote_Interface", 38),
    ("edges", {"edgeType": "ospf"}, "Remote_Interface", 1),
    ("ospfEdges", {}, "Remote_Interface", 1),
    ("ospfSessionCompatibility", {}, "Session_Status", 1),
    ("ipOwners", {"duplicatesOnly": True}, "Active", 2),
    ("nodeProperties", {}, "Configuration_Format", 15),
    ("interfaceProperties", {"nodes": "as1border1"}, "Primary_Address", 1),
    ("fileParseStatus", {}, "File_Format", 17),
    ("initIssues", {}, "Details", 0),
    ("bidirectionalTraceroute", {"startLocation": "host2", "headers": HeaderConstraints(dstIps="1.0.1.1")},
     "Reverse_Traces", 1),
    ("reachability", {"pathConstraints": PathConstraints(startLocation="/as2/"),
                      "headers": HeaderConstraints(dstIps="host1")}, "TraceCount", 7),
    ("detectLoops", {}, "Traces", 0),
    ("bgpProcessConfiguration", {}, "Router_ID", 1),
    ("bgpPeerConfiguration", {}, "Remote_AS", 1),
    ("ospfProcessConfiguration", {}, "Area_Border_Router", 1),
    ("ospfInterfaceConfiguration", {}, "OSPF_Cost", 1),
    ("ospfAreaConfiguration", {}, "Area_Type", 1),
]


@pytest.mark.parametrize("name,kwargs,column,least", OTHERS, ids=[o[0] for o in OTHERS])
def test_every_answerer(bf: Any, name: str, kwargs: dict[str, Any], column: str, least: int) -> None:
    frame = getattr(bf.q, name)(**kwargs).answer().frame()
    assert column in frame.columns
    assert len(frame) >= least, frame


