"""`realfish diff` against a live service (a second `realfish serve` on loopback), its input checks, and
`realfish ask`. The example networks' acceptance is in compat_tests/test_diff.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from realfish import cli, topogen
from realfish.diff import rows, sources
from tests.test_service import serving


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diff") / "chain"
    topogen.chain(3, root)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with serving(tmp_path_factory.mktemp("data")) as port:
        yield port


@pytest.mark.frr
def test_diff_against_a_live_service(chain: Path, server: int, tmp_path: Path) -> None:
    """The snapshot goes to the service with pybatfish and both sides answer; realfish against itself: no
    difference, every row matched, exit 0."""
    out = tmp_path / "d.json"
    rc = cli.main(["diff", str(chain), "--batfish", f"127.0.0.1:{server}", "--questions",
                   "routes,bgpSessionStatus,ipOwners", "--format", "json", "-o", str(out)])
    doc = json.loads(out.read_text())
    assert rc == 0 and doc["differences"] == 0 and doc["against"] == f"Batfish at 127.0.0.1:{server}"
    assert [q["question"] for q in doc["questions"]] == ["routes", "bgpSessionStatus", "ipOwners"]
    for q in doc["questions"]:
        assert q["batfish_rows"] == q["realfish_rows"] == q["matched"] > 0


FILTERS = {  # how r1 keeps r0's prefix from r2: the line in r1's address family, the lines after
    "route-map": ("  neighbor 10.0.0.3 route-map block out\n",
                  "ip prefix-list r0 seq 5 permit 172.16.0.0/24\n!\nroute-map block deny 10\n"
                  " match ip address prefix-list r0\n!\nroute-map block permit 20\n!\n",
                  "BGP policy: route-map block on r1 (out, neighbor 10.0.0.3) denies 172.16.0.0/24"),
    "prefix-list": ("  neighbor 10.0.0.3 prefix-list others out\n",
                    "ip prefix-list others seq 5 deny 172.16.0.0/24\nip prefix-list others seq 10 permit any\n!\n",
                    "BGP policy: prefix-list others on r1 (out, neighbor 10.0.0.3) denies 172.16.0.0/24"),
}


@pytest.mark.frr
@pytest.mark.parametrize("kind", sorted(FILTERS))
def test_diff_live_finds_a_difference(chain: Path, server: int, tmp_path: Path, kind: str) -> None:
    """The service answers the snapshot as given; realfish answers a copy where r1 filters r0's prefix toward
    r2: the lost route is the difference, blamed on r1's policy (bgpd's outbound policy for r2)."""
    import shutil

    from realfish.answers.state import build
    from realfish.diff.report import build_report

    line, tail, cause = FILTERS[kind]
    changed = tmp_path / "chain"
    shutil.copytree(chain, changed)
    cfg = changed / "configs" / "r1.cfg"
    text = cfg.read_text()
    assert "  network 172.16.1.0/24\n" in text
    cfg.write_text(text.replace("  network 172.16.1.0/24\n", "  network 172.16.1.0/24\n" + line) + tail)
    asked = sources.live(f"127.0.0.1:{server}", chain, [("routes", {})])
    state = build(changed, "changed")
    assert state.dataplane is not None and state.dataplane.converged
    doc = build_report(str(changed), "live", state, asked)
    diffs = doc["questions"][0]["differences"]
    assert [(d["kind"], d["key"]["Node"], d["key"]["Network"]) for d in diffs] == [
        ("only_batfish", "r2", "172.16.0.0/24")]
    assert diffs[0]["explanation"]["cause"] == cause


@pytest.mark.frr
def test_diff_live_best_path(server: int, tmp_path: Path) -> None:
    """A ring of 4: r0 reaches r2's prefix through r1 (ties broken by router ID). In realfish's copy r0 gives
    r3's routes local preference 200: bgpd selects the path through r3, for its reason."""
    import shutil

    from realfish.answers.state import build
    from realfish.diff.report import build_report

    ring = tmp_path / "ring"
    topogen.ring(4, ring)
    changed = tmp_path / "changed"
    shutil.copytree(ring, changed)
    cfg = changed / "configs" / "r0.cfg"
    text = cfg.read_text()
    assert "  network 172.16.0.0/24\n" in text
    cfg.write_text(text.replace("  network 172.16.0.0/24\n",
                                "  network 172.16.0.0/24\n  neighbor 10.0.0.6 route-map prefer in\n")
                   + "route-map prefer permit 10\n set local-preference 200\n!\n")
    asked = sources.live(f"127.0.0.1:{server}", ring, [("routes", {"nodes": "r0", "protocols": "bgp"})])
    state = build(changed, "changed")
    assert state.dataplane is not None and state.dataplane.converged
    doc = build_report(str(changed), "live", state, asked)
    diffs = doc["questions"][0]["differences"]
    # r2's prefix comes to r0 over two paths of one hop each: local preference picks r3's. r1's comes through
    # r3 only if r3 itself chose r2's path for it over r0's, a tie of two eBGP paths of equal length that FRR
    # breaks by age (the first to arrive, both at one virtual instant), where Batfish breaks it by router ID.
    found = {(d["kind"], d["key"]["Network"], d["key"]["Next_Hop"]) for d in diffs}
    r2s = {("only_batfish", "172.16.2.0/24", "ip 10.0.0.1"), ("only_realfish", "172.16.2.0/24", "ip 10.0.0.6")}
    r1s = {("only_batfish", "172.16.1.0/24", "ip 10.0.0.1"), ("only_realfish", "172.16.1.0/24", "ip 10.0.0.6")}
    assert found in (r2s, r2s | r1s)
    assert {d["explanation"]["cause"] for d in diffs} == {"bgpd on r0 selects another best path (Local Pref)"}
    assert "local preference 200" in diffs[0]["explanation"]["evidence"]


@pytest.mark.frr
def test_diff_live_rejected_line(chain: Path, server: int, tmp_path: Path) -> None:
    """r1's neighbor line for r2 has a word FRR does not know: FRR rejects it, r1 has no session to r2, and the
    lost session and routes are blamed on that line (file, line number, FRR's message)."""
    import shutil

    from realfish.answers.state import build
    from realfish.diff.report import build_report

    changed = tmp_path / "chain"
    shutil.copytree(chain, changed)
    cfg = changed / "configs" / "r1.cfg"
    text = cfg.read_text()
    line = " neighbor 10.0.0.3 remote-as 4200000002\n"
    assert line in text
    cfg.write_text(text.replace(line, line.rstrip("\n") + " bogus\n"))
    asked = sources.live(f"127.0.0.1:{server}", chain, [("bgpSessionStatus", {}), ("routes", {})])
    state = build(changed, "changed", quiet=50)  # r2 retries every 120 s: never 360 s of quiet
    assert state.dataplane is not None and state.dataplane.converged
    doc = build_report(str(changed), "live", state, asked)
    diffs = [d for q in doc["questions"] for d in q["differences"]]
    assert diffs and {d["explanation"]["cause"] for d in diffs} == {
        "FRR rejected the BGP configuration between r1 - r2"}
    assert "r1.cfg line 17: 'neighbor 10.0.0.3 remote-as 4200000002 bogus'" in diffs[0]["explanation"]["evidence"]


@pytest.mark.frr
def test_diff_live_rejected_peer_group_line(chain: Path, server: int, tmp_path: Path) -> None:
    """r1 puts r2 in a peer-group whose remote-as line FRR rejects (it names the group, not r2): the session and
    routes lost are blamed on FRR's rejection, and the group's line is cited with the neighbor's."""
    import shutil

    from realfish.answers.state import build
    from realfish.diff.report import build_report

    changed = tmp_path / "chain"
    shutil.copytree(chain, changed)
    cfg = changed / "configs" / "r1.cfg"
    text = cfg.read_text()
    line = " neighbor 10.0.0.3 remote-as 4200000002\n"
    assert line in text
    cfg.write_text(text.replace(line, " neighbor R2 peer-group\n neighbor R2 remote-as 4200000002 bogus\n"
                                      " neighbor 10.0.0.3 peer-group R2\n"))
    asked = sources.live(f"127.0.0.1:{server}", chain, [("bgpSessionStatus", {}), ("routes", {})])
    state = build(changed, "changed", quiet=50)
    assert state.dataplane is not None and state.dataplane.converged
    doc = build_report(str(changed), "live", state, asked)
    diffs = [d for q in doc["questions"] for d in q["differences"]]
    assert diffs and {d["explanation"]["cause"] for d in diffs} == {
        "FRR rejected the BGP configuration between r1 - r2"}
    assert "r1.cfg line 18: 'neighbor R2 remote-as 4200000002 bogus'" in diffs[0]["explanation"]["evidence"]


@pytest.mark.frr
def test_a_difference_nothing_explains_stays_unexplained(chain: Path) -> None:
    """Batfish's side made to disagree where the routers and configs give no reason (realfish's own answers,
    one node's Router_ID and one interface's description altered): those rows are counted unexplained, not
    given a cause."""
    import copy

    from realfish.answers import answer
    from realfish.answers.state import build
    from realfish.diff import questions
    from realfish.diff.report import build_report

    state = build(chain, "chain")
    asked = []
    for name, column, value in (("nodeProperties", "Configuration_Format", "CISCO_IOS"),
                                ("interfaceProperties", "Description", "uplink")):
        element = copy.deepcopy(answer(questions.question(name), state)["answerElements"][0])
        element["rows"][0][column] = value
        asked.append(sources.Asked(name, {}, element))
    doc = build_report(str(chain), "altered", state, asked)
    diffs = [d for q in doc["questions"] for d in q["differences"]]
    assert [(d["kind"], d["columns"]) for d in diffs] == [("changed", ["Configuration_Format"]),
                                                          ("changed", ["Description"])]
    assert doc["unexplained"] == 2 and all(d["explanation"] is None for d in diffs)


def test_stored_answer_forms(tmp_path: Path) -> None:
    element = {"metadata": {"columnMetadata": []}, "rows": []}
    for doc in (element, [element], {"answerElements": [element]}):
        assert sources.table_element(doc, "x") == element
    with pytest.raises(ValueError, match="not a Batfish table answer"):
        sources.table_element({"rows": 3}, "x")


def test_bad_inputs_exit_2(chain: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["diff", str(chain), "--batfish-answers", str(tmp_path)]) == 2
    assert "questions.yaml" in capsys.readouterr().err
    (tmp_path / "questions.yaml").write_text("- {question: nosuch, answer: a.json}\n")
    assert cli.main(["diff", str(chain), "--batfish-answers", str(tmp_path)]) == 2
    assert "unknown question 'nosuch'" in capsys.readouterr().err
    (tmp_path / "questions.yaml").write_text("- {question: routes, answer: missing.json}\n")
    assert cli.main(["diff", str(chain), "--batfish-answers", str(tmp_path)]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_rows_matched_on_keys() -> None:
    b = [{"Node": {"name": "r1"}, "Network": "10.0.0.0/24", "Metric": 1},
         {"Node": {"name": "r1"}, "Network": "10.0.1.0/24", "Metric": 1},
         {"Node": {"name": "r2"}, "Network": "10.0.0.0/24", "Metric": 5}]
    r = [{"Node": {"name": "r1"}, "Network": "10.0.0.0/24", "Metric": 1},
         {"Node": {"name": "r1"}, "Network": "10.0.1.0/24", "Metric": 2},
         {"Node": {"name": "r3"}, "Network": "10.0.0.0/24", "Metric": 5}]
    matched, diffs = rows.compare(b, r, ["Node", "Network"], ["Metric"])
    assert matched == 1
    assert [(d.kind, d.key["Node"], d.columns) for d in diffs] == [
        ("changed", "r1", ["Metric"]), ("only_batfish", "r2", []), ("only_realfish", "r3", [])]


def test_cells_compared_whatever_the_key_order() -> None:
    """A structure's definition serialised with its keys in another order is the same cell; cells print as
    pybatfish prints them (a node by name, an interface as host[name])."""
    a = {"schema": "Object", "value": {"name": "101", "lines": [{"action": "PERMIT", "name": "x"}]}}
    b = {"value": {"lines": [{"name": "x", "action": "PERMIT"}], "name": "101"}, "schema": "Object"}
    assert rows.cell_text(a) == rows.cell_text(b)
    assert rows.cell_text(a) != rows.cell_text({"schema": "Object", "value": {"name": "101", "lines": []}})
    assert rows.cell_text({"id": "node-r1", "name": "r1"}) == "r1"
    assert rows.cell_text({"hostname": "r1", "interface": "eth0"}) == "r1[eth0]"
    assert rows.cell_text({"type": "interface", "interface": "eth0", "ip": "10.0.0.1"}) == "interface eth0 ip 10.0.0.1"


@pytest.mark.frr
def test_ask(chain: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ask", str(chain), "bgpSessionStatus", "nodes=r1", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Node,VRF,Session_VRF,Local_AS")
    assert len(lines) == 3 and all(",ESTABLISHED" in x and x.startswith("r1,") for x in lines[1:])
    assert cli.main(["ask", str(chain), "routes", "nodes=r0", "protocols=bgp"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["Node", "VRF", "Network", "Next_Hop", "Protocol", "Metric",
                                             "Admin_Distance", "Tag"]
    assert "(2 rows)" in table and table.count(" bgp ") == 2
    assert cli.main(["ask", str(chain), "routes", "nosuchparameter=1"]) == 2
    assert "no parameter 'nosuchparameter'" in capsys.readouterr().err


@pytest.mark.frr
def test_diff_explore_two_orders(tmp_path: Path) -> None:
    """`--explore 2` on a ring of 3 against stored answers (realfish's own routes with one row taken out): both
    orders converge, no row of realfish's differs between them, and the one difference is in both orders."""
    from realfish.answers import answer
    from realfish.answers.state import build
    from realfish.diff import questions, text

    ring = tmp_path / "ring"
    topogen.ring(3, ring)
    element = answer(questions.question("routes"), build(ring, "ring"))["answerElements"][0]
    gone = element["rows"].pop()
    stored = tmp_path / "stored"
    stored.mkdir()
    (stored / "routes.json").write_text(json.dumps(element))
    (stored / "questions.yaml").write_text("- {question: routes, answer: routes.json}\n")
    out = tmp_path / "d.json"
    rc = cli.main(["diff", str(ring), "--batfish-answers", str(stored), "--explore", "2", "--format", "json",
                   "-o", str(out)])
    doc = json.loads(out.read_text())
    assert rc == 1 and doc["explore"] == {"orders": 2, "seeds": [0, 1], "varying": 0, "in_some_orders": 0}
    [q] = doc["questions"]
    assert q["varying"] == []
    [d] = q["differences"]
    assert d["kind"] == "only_realfish" and d["realfish"] == gone and d["seeds"] == [0, 1]
    assert "explored 2 orders of events (seeds 0, 1): 0 rows" in text.render(doc)
