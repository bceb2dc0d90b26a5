"""`realfish check` and the assertions: every kind passing and failing, bad expectation files, the outputs.

Three FRR routers. r1-r2: eBGP and OSPF area 0, both up. r1-r3: eBGP multihop between loopbacks that neither can
reach (compatible, never established). r1 also names 10.9.9.9, on none of its subnets (NO_LOCAL_IP: incompatible).
r2-r3: OSPF with mismatched areas. r1 and r2 point static routes for 198.51.100.0/24 at each other (a forwarding
loop); the `noloop` variant has no such routes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from realfish import check
from realfish.answers.state import SnapshotState, build
from realfish.assertions import AssertionFailed, Verdict, assert_no_forwarding_loops, evaluate
from realfish.expectations import ExpectationError, load

R1 = """frr defaults traditional
hostname r1
interface eth0
 ip address 10.1.12.1/30
 ip ospf area 0
interface eth1
 ip address 10.1.13.1/30
interface lo
 ip address 1.1.1.1/32
ip route 198.51.100.0/24 10.1.12.2
router ospf
router bgp 65001
 no bgp ebgp-requires-policy
 neighbor 10.1.12.2 remote-as 65002
 neighbor 3.3.3.3 remote-as 65003
 neighbor 3.3.3.3 ebgp-multihop 2
 neighbor 3.3.3.3 update-source lo
 neighbor 10.9.9.9 remote-as 65009
"""
R2 = """frr defaults traditional
hostname r2
interface eth0
 ip address 10.1.12.2/30
 ip ospf area 0
interface eth1
 ip address 10.1.23.2/30
 ip ospf area 0
interface lo
 ip address 2.2.2.2/32
ip route 198.51.100.0/24 10.1.12.1
router ospf
router bgp 65002
 no bgp ebgp-requires-policy
 neighbor 10.1.12.1 remote-as 65001
 address-family ipv4 unicast
  network 2.2.2.2/32
 exit-address-family
"""
R3 = """frr defaults traditional
hostname r3
interface eth0
 ip address 10.1.13.3/30
interface eth1
 ip address 10.1.23.3/30
 ip ospf area 1
interface lo
 ip address 3.3.3.3/32
router ospf
router bgp 65003
 no bgp ebgp-requires-policy
 neighbor 1.1.1.1 remote-as 65001
 neighbor 1.1.1.1 ebgp-multihop 2
 neighbor 1.1.1.1 update-source lo
"""


def write(root: Path, loop: bool = True) -> Path:
    (root / "configs").mkdir(parents=True)
    for name, text in (("r1", R1), ("r2", R2), ("r3", R3)):
        if not loop:
            text = "\n".join(x for x in text.splitlines() if not x.startswith("ip route")) + "\n"
        (root / "configs" / f"{name}.cfg").write_text(text)
    return root


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("check") / "snap")


@pytest.fixture(scope="module")
def state(snap: Path) -> SnapshotState:
    return build(snap, "check")


# kind -> (parameters that hold, parameters that do not)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "assert_flows_succeed": ({"startLocation": "r1", "headers": {"dstIps": "2.2.2.2"}},
                             {"startLocation": "r1", "headers": {"dstIps": "203.0.113.9"}}),
    "assert_flows_fail": ({"startLocation": "r1", "headers": {"dstIps": "203.0.113.9"}},
                          {"startLocation": "r1", "headers": {"dstIps": "2.2.2.2"}}),
    "assert_no_unestablished_bgp_sessions": ({"nodes": "r2"}, {"nodes": "r1"}),
    "assert_no_incompatible_bgp_sessions": ({"nodes": "r2"}, {"nodes": "r1"}),
    "assert_no_incompatible_ospf_sessions": ({"nodes": "r1"}, {"nodes": "r3"}),
    "assert_route_present": ({"nodes": "r1", "prefix": "2.2.2.2/32", "protocol": "bgp", "next_hop": "10.1.12.2",
                              "as_path": "65002", "origin_as": 65002},
                             {"nodes": "r1", "prefix": "2.2.2.2/32", "as_path": "65009"}),
    "assert_route_absent": ({"nodes": "r1,r2", "prefix": "203.0.113.0/24"},
                            {"nodes": "r1", "prefix": "2.2.2.2/32", "protocol": "bgp"}),
}


@pytest.mark.frr
@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_assertion_passes_and_fails(state: SnapshotState, kind: str) -> None:
    good, bad = CASES[kind]
    ok = evaluate(state, kind, good)
    assert ok.passed, ok.text()
    assert ok.seen, "a passing assertion still says what it saw"
    no = evaluate(state, kind, bad)
    assert not no.passed, no.text()
    assert no.seen


@pytest.mark.frr
def test_what_failures_show(state: SnapshotState) -> None:
    flows = evaluate(state, "assert_flows_succeed", CASES["assert_flows_succeed"][1])
    assert any("NO_ROUTE: r1" in s for s in flows.seen)
    sessions = evaluate(state, "assert_no_unestablished_bgp_sessions", {"nodes": "r1"})
    assert "r1 -> 3.3.3.3 (AS 65003, r3): NOT_ESTABLISHED" in sessions.seen
    compat = evaluate(state, "assert_no_incompatible_bgp_sessions", {"nodes": "r1"})
    assert "r1 -> 10.9.9.9 (AS 65009, outside the snapshot): NO_LOCAL_IP" in compat.seen
    route = evaluate(state, "assert_route_present", CASES["assert_route_present"][1])
    assert route.summary.endswith("missing on r1")
    assert "r1: 2.2.2.2/32 bgp via ip 10.1.12.2 as-path [65002]" in route.seen


@pytest.mark.frr
def test_forwarding_loops(state: SnapshotState, tmp_path: Path) -> None:
    with pytest.raises(AssertionFailed, match="loop") as e:
        assert_no_forwarding_loops(state)
    assert any("LOOP" in s for s in e.value.verdict.seen)
    assert assert_no_forwarding_loops(build(write(tmp_path / "noloop", loop=False), "noloop")).passed


@pytest.mark.frr
def test_bad_parameters_are_refused(state: SnapshotState) -> None:
    with pytest.raises(ValueError, match="has no parameter 'prefx'"):
        evaluate(state, "assert_route_present", {"nodes": "r1", "prefx": "1.0.0.0/8"})
    with pytest.raises(ValueError, match="needs prefix"):
        evaluate(state, "assert_route_absent", {"nodes": "r1"})
    with pytest.raises(ValueError, match="names no node"):
        evaluate(state, "assert_route_absent", {"nodes": "nosuch", "prefix": "1.0.0.0/8"})


BAD_FILES = {
    "assertions:\n  - assert_route_present: {nodes: r1\n": (None, "not valid YAML"),
    "- assert_no_forwarding_loops:\n": (1, "expected a mapping with `assertions:`"),
    "assertions: []\n": (1, "non-empty list"),
    "asserts:\n  - x: 1\n": (1, "unknown top-level key 'asserts'"),
    "assertions:\n  - name: a\n    assert_everything: {}\n": (3, "unknown assertion 'assert_everything'"),
    "assertions:\n  - assert_route_present:\n      nodes: r1\n      prefix: 1.0.0.0/8\n      color: red\n":
        (5, "has no parameter 'color'"),
    "assertions:\n  - assert_route_absent: {nodes: r1}\n": (2, "needs prefix"),
    "assertions:\n  - assert_no_forwarding_loops:\n    assert_route_absent: {}\n": (2, "exactly one assertion kind"),
    "assertions:\n  - assert_flows_fail: [r1]\n": (2, "parameters are a mapping"),
    "assertions:\n  - just a string\n": (2, "an assertion is a mapping"),
    "assertions:\n  - assert_flows_fail: {startLocation: r1, headers: 10.0.0.1}\n": (2, "headers is a mapping"),
}


@pytest.mark.parametrize("text", list(BAD_FILES), ids=[f"bad{i}" for i in range(len(BAD_FILES))])
def test_bad_expectation_files(tmp_path: Path, text: str) -> None:
    line, why = BAD_FILES[text]
    path = tmp_path / "expect.yaml"
    path.write_text(text)
    with pytest.raises(ExpectationError, match=why.replace("(", r"\(").replace(")", r"\)")) as e:
        load(path)
    if line is not None:
        assert e.value.line == line, str(e.value)
    else:
        assert e.value.line is not None  # the YAML parser's own position
    assert str(path) in str(e.value)


@pytest.mark.frr
def test_cli_exit_status_for_a_bad_file(snap: Path, tmp_path: Path) -> None:
    bad = tmp_path / "expect.yaml"
    bad.write_text("assertions:\n  - assert_route_absent: {nodes: r1}\n")
    p = subprocess.run([sys.executable, "-m", "realfish.cli", "check", str(snap), str(bad)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2, p.stdout + p.stderr
    assert f"ERROR {bad}:2: assert_route_absent needs prefix" in p.stdout


@pytest.mark.frr
def test_outputs_json_and_junit(snap: Path, tmp_path: Path) -> None:
    exp = tmp_path / "expect.yaml"
    exp.write_text("assertions:\n"
                   "  - name: r1 has r2's loopback\n"
                   "    assert_route_present: {nodes: r1, prefix: 2.2.2.2/32}\n"
                   "  - assert_no_unestablished_bgp_sessions: {}\n"
                   "  - assert_route_absent: {nodes: nosuch, prefix: 2.2.2.2/32}\n")
    result = check.run_check(snap, exp)
    assert result.status == check.ERROR  # the third cannot be judged: its nodes name nothing
    assert any(e.startswith(f"{exp}:5: assert_route_absent: cannot be judged") for e in result.errors)
    doc = json.loads(check.render(result, "json"))
    assert (doc["status"], doc["passed"], doc["failed"], doc["converged"]) == (2, 1, 1, True)
    assert doc["results"][0]["name"] == "r1 has r2's loopback" and doc["results"][0]["passed"]
    suite = ET.fromstring(check.render(result, "junit"))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='assert_no_unestablished_bgp_sessions']/failure")
    assert failure is not None and "NOT_ESTABLISHED" in (failure.text or "")
    exp.write_text("assertions:\n  - assert_no_unestablished_bgp_sessions: {nodes: r2}\n")
    out = tmp_path / "result.xml"
    assert check.main(str(snap), str(exp), "junit", str(out)) == check.PASS
    assert ET.parse(out).getroot().get("failures") == "0"


def test_explored_orders_that_disagree_fail_the_assertion() -> None:
    ok = Verdict("assert_route_present", {"prefix": "p"}, True, "present on r1", ["r1: p via x"], "n")
    bad = Verdict("assert_route_present", {"prefix": "p"}, False, "absent on r1", ["r1: no route"], "n")
    assert check.combine((ok,)) is ok and check.combine((ok, ok)) is ok and check.combine((bad, bad)) is bad
    v = check.combine((ok, bad, ok))
    assert v is not None and not v.passed and v.name == "n"
    assert v.summary == ("depends on the order of events: holds in 2 of 3 orders (seeds 0, 2), fails in seeds 1")
    assert v.seen == ["seed 1: absent on r1", "  r1: no route"]


@pytest.mark.frr
def test_check_explore_judges_every_order(snap: Path, tmp_path: Path) -> None:
    exp = tmp_path / "expect.yaml"
    exp.write_text("assertions:\n  - assert_route_present: {nodes: r1, prefix: 2.2.2.2/32}\n")
    result = check.run_check(snap, exp, explore=2)
    assert result.status == check.PASS and result.converged and len(result.verdicts) == 1
