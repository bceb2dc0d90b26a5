"""Exploring orders of events: the seeds' boot orders, and the FIB entries that differ between runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from realfish import explore, topogen
from realfish.diff import orders, page, report, rows, text
from realfish.runtime.emulation import BOOT_GAP, boot_gaps

BLACKHOLE = {"prefix": "2.128.0.0/16", "protocol": "bgp", "nexthops": [{"ip": None, "interface": "blackhole"}]}
VIA_IBGP = {"prefix": "2.128.0.0/16", "protocol": "bgp", "nexthops": [{"ip": "2.12.11.2", "interface": "g1"}]}
OTHER = {"prefix": "10.0.0.0/8", "protocol": "ospf", "nexthops": [{"ip": "10.1.1.1", "interface": "g0"}]}


def test_varying_lists_each_outcome_with_counts_and_seeds() -> None:
    runs = [(0, {"b1": [BLACKHOLE, OTHER], "b2": [OTHER]}),
            (1, {"b1": [VIA_IBGP, OTHER], "b2": [OTHER]}),
            (2, {"b1": [BLACKHOLE, OTHER], "b2": [OTHER]}),
            (3, {"b1": [OTHER], "b2": [OTHER]})]
    [v] = explore.varying(runs)  # OTHER is the same everywhere: not listed
    assert (v["router"], v["prefix"]) == ("b1", "2.128.0.0/16")
    assert [(o["fib"], o["count"], o["seeds"], o["seed"]) for o in v["outcomes"]] == [
        ([BLACKHOLE], 2, [0, 2], 0), ([VIA_IBGP], 1, [1], 1), (None, 1, [3], 3)]
    lines = explore.summary({"orders": 4, "seeds": [0, 1, 2, 3], "varying": [v]})
    assert "1 FIB entries differ" in lines[0]
    assert lines[1] == ("  b1 2.128.0.0/16: bgp via blackhole (2x, --seed 0) | bgp via 2.12.11.2 (1x, --seed 1) | "
                        "no route (1x, --seed 3)")
    assert explore.varying(runs[:1]) == []
    assert [explore.seeds_text(s) for s in ([0, 1], [0, 1, 2, 3], [1, 2, 5, 6, 7, 9], [])] == [
        "0, 1", "0..3", "1, 2, 5..7, 9", ""]


def test_seeds_boot_in_other_orders_and_phases(tmp_path: Path) -> None:
    net = topogen.fattree(4, tmp_path)
    assert net.boot_batches(16) == net.boot_batches(16, 0)
    assert net.boot_batches(16, 7) == net.boot_batches(16, 7)  # a seed is an order, the same each time
    shuffled = {tuple(map(tuple, net.boot_batches(16, s))) for s in range(1, 6)}
    assert len(shuffled) > 1
    adj = net.neighbours()
    for s in range(1, 6):
        batches = net.boot_batches(16, s)
        assert sorted(n for b in batches for n in b) == sorted(net.routers)
        assert all(not adj[n].intersection(b) for b in batches for n in b)
    assert boot_gaps(3, 0) == [0.0, BOOT_GAP, BOOT_GAP]
    gaps = boot_gaps(4, 5)
    assert gaps == boot_gaps(4, 5) and gaps[0] == 0.0
    assert all(BOOT_GAP <= g < BOOT_GAP + 1 and abs(g * 1000 - round(g * 1000)) < 1e-6 for g in gaps[1:])
    assert len({g % 1 for g in gaps[1:]}) > 1  # other phases of FRR's whole-second timers


@pytest.mark.frr
def test_converge_explore_reports_orders(tmp_path: Path) -> None:
    """A network with one outcome: every order gives the same FIBs, and the report says which orders ran."""
    snap = tmp_path / "snap"
    topogen.ring(3, snap)
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "realfish.cli", "converge", str(snap), "--json", str(out),
                           "--explore", "3", "--seed", "4"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["explore"]["orders"] == 3 and doc["explore"]["seeds"] == [4, 5, 6]
    assert doc["explore"]["varying"] == [] and all(doc["explore"]["converged"].values())
    assert doc["order"]["seed"] == 4 and sorted(n for b in doc["order"]["boot"] for n in b) == ["r0", "r1", "r2"]
    assert "explored 3 orders" in proc.stderr


@pytest.mark.frr
def test_unordered_runs_on_request(tmp_path: Path) -> None:
    """`--unordered` runs daemons at once (no turns), and refuses a seed, which names an ordered run's order."""
    snap = tmp_path / "snap"
    topogen.ring(3, snap)
    out = tmp_path / "report.json"
    cli = [sys.executable, "-m", "realfish.cli", "converge", str(snap), "--json", str(out), "--unordered"]
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["converged"] and not doc["order"]["ordered"] and doc["order"]["seed"] is None
    assert doc["virtual"]["turns"] == 0
    proc = subprocess.run([*cli, "--seed", "3"], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "not with --unordered" in proc.stderr


# -- realfish diff --explore: realfish's rows over orders, and differences against Batfish in some orders only --

ROUTE_KEYS, ROUTE_VALUES = ["Node", "VRF", "Network", "Next_Hop", "Protocol"], ["Metric", "Admin_Distance", "Tag"]


def route(node: str, network: str, hop: str, metric: int = 0) -> dict[str, Any]:
    return {"Node": {"id": f"node-{node}", "name": node}, "VRF": "default", "Network": network,
            "Next_Hop": {"type": "ip", "ip": hop}, "Protocol": "bgp", "Metric": metric, "Admin_Distance": 20,
            "Tag": None}


STEADY = route("r0", "10.0.0.0/24", "10.1.0.1")
VIA_R1, VIA_R2 = route("r0", "10.9.0.0/24", "10.1.0.1"), route("r0", "10.9.0.0/24", "10.2.0.1")


def test_rows_that_differ_between_orders() -> None:
    """A row present in some orders only, and one whose value changes, each with its outcomes; a row the same in
    every order is not listed."""
    runs = [(0, [STEADY, VIA_R1]), (1, [STEADY, VIA_R2]), (2, [STEADY, VIA_R1]),
            (3, [STEADY, VIA_R1 | {"Metric": 5}])]
    found = {v["key"]: v["outcomes"] for v in orders.varying(runs, ROUTE_KEYS, ROUTE_VALUES)}
    assert sorted(found) == ["r0 | default | 10.9.0.0/24 | ip 10.1.0.1 | bgp", "r0 | default | 10.9.0.0/24 | ip "
                                                                             "10.2.0.1 | bgp"]
    via_r1 = found["r0 | default | 10.9.0.0/24 | ip 10.1.0.1 | bgp"]
    assert [(o["values"], o["count"], o["seeds"], o["seed"]) for o in via_r1] == [
        ({"Metric": "0", "Admin_Distance": "20", "Tag": "-"}, 2, [0, 2], 0), (None, 1, [1], 1),
        ({"Metric": "5", "Admin_Distance": "20", "Tag": "-"}, 1, [3], 3)]
    assert [(o["values"] is None, o["count"]) for o in found["r0 | default | 10.9.0.0/24 | ip 10.2.0.1 | bgp"]] == [
        (True, 3), (False, 1)]
    assert orders.outcome_text(via_r1[1]) == "absent (1x, seed 1)"
    assert orders.varying(runs[:1], ROUTE_KEYS, ROUTE_VALUES) == []


def explain_in(seed: int) -> orders.Explain:
    return lambda question, d: {"cause": f"{question} {d.kind} seen first under seed {seed}", "evidence": ""}


def test_differences_against_batfish_in_some_orders_only() -> None:
    """Batfish has r0's route via r1. Order 0 agrees, order 1 goes via r2, order 2 has both: the differences
    exist in order 1 (and 2) only, are listed although the first order has none, explained in the first order
    that had them, and flagged in text and HTML; a difference of every order is not flagged."""
    q = orders.Question("routes", {}, ROUTE_KEYS, ROUTE_VALUES, [STEADY, VIA_R1, route("r9", "10.0.0.0/8", "1.1.1.1")])
    got = [orders.Order(0, [[STEADY, VIA_R1]], explain_in(0)), orders.Order(1, [[STEADY, VIA_R2]], explain_in(1)),
           orders.Order(2, [[STEADY, VIA_R1, VIA_R2]], explain_in(2))]
    [entry] = orders.across([q], got)
    assert (entry["matched"], entry["realfish_rows"], entry["batfish_rows"]) == (2, 2, 3)  # the first order's
    found = {(d["kind"], d["key"]["Node"], d["key"]["Next_Hop"]): (d["seeds"], d["explanation"]["cause"])
             for d in entry["differences"]}
    assert found == {("only_batfish", "r0", "ip 10.1.0.1"): ([1], "routes only_batfish seen first under seed 1"),
                     ("only_realfish", "r0", "ip 10.2.0.1"): ([1, 2], "routes only_realfish seen first under seed 1"),
                     ("only_batfish", "r9", "ip 1.1.1.1"): ([0, 1, 2], "routes only_batfish seen first under seed 0")}
    assert len(entry["varying"]) == 2
    doc = report.document("snap", "stored", [entry], [0, 1, 2], {})
    assert (doc["differences"], doc["explore"]["varying"], doc["explore"]["in_some_orders"]) == (3, 2, 2)
    out = text.render(doc)
    assert "only in Batfish: r0 | default | 10.9.0.0/24 | ip 10.1.0.1 | bgp (in 1 of 3 orders (seeds 1))" in out
    assert "only in Batfish: r9 | default | 10.0.0.0/8 | ip 1.1.1.1 | bgp\n" in out
    assert ("routes r0 | default | 10.9.0.0/24 | ip 10.1.0.1 | bgp: Metric 0, Admin_Distance 20, Tag - (2x, seed "
            "0) | absent (1x, seed 1)") in out
    assert "2 rows of realfish's answers differ between them; 2 differences are in some orders only" in out
    assert "  1 row (1 in some orders only): routes only_batfish seen first under seed 1\n" in out
    assert "  1 row: routes only_batfish seen first under seed 0\n" in out
    html = page.render(doc)
    assert "<table id='varying'>" in html and "(in 2 of 3 orders (seeds 1, 2))" in html


def test_one_order_gives_the_diff_as_before() -> None:
    """Without --explore: the same entry as a plain comparison, no seeds, no varying, no explore section."""
    q = orders.Question("routes", {}, ROUTE_KEYS, ROUTE_VALUES, [STEADY, VIA_R1])
    [entry] = orders.across([q], [orders.Order(0, [[STEADY, VIA_R2]], explain_in(0))])
    matched, diffs = rows.compare([STEADY, VIA_R1], [STEADY, VIA_R2], ROUTE_KEYS, ROUTE_VALUES)
    assert entry["matched"] == matched == 1 and "varying" not in entry
    assert [(d["kind"], d["key"]) for d in entry["differences"]] == [(d.kind, d.key) for d in diffs]
    assert all("seeds" not in d for d in entry["differences"])
    assert "explore" not in report.document("snap", "stored", [entry], None, {})
    [entry] = orders.across([q], [orders.Order(0, [[STEADY, VIA_R1]], explain_in(0))], explored=True)  # --explore 1
    assert entry["varying"] == [] and entry["differences"] == []


# -- the snapshot setting: batfish/realfish_settings.json, the service's orders, initIssues ------------------------


@pytest.mark.parametrize(("text", "orders", "issue"), [
    ('{"explore": 5}', 5, None),
    ('{"explore": 0}', 1, "explore must be a whole number of orders of events, 1 or more, not 0"),
    ('{"explore": true}', 1, "not true"),
    ('{"explore": 2, "colour": "red"}', 2, "unknown setting 'colour' is ignored"),
    ('[5]', 1, "expected a JSON object"),
    ('{"explore": ', 1, "invalid JSON"),
])
def test_settings_file(tmp_path: Path, text: str, orders: int, issue: str | None) -> None:
    from realfish.convert import ConvertedSnapshot, read_settings
    from realfish.status import init_issues_rows

    (tmp_path / "batfish").mkdir()
    (tmp_path / "batfish" / "realfish_settings.json").write_text(text)
    conv = ConvertedSnapshot(tmp_path)
    read_settings(conv)
    assert conv.explore == orders
    details = [r["Details"] for r in init_issues_rows(conv.other)]
    assert (details == []) if issue is None else (len(details) == 1 and issue in details[0])


def tables(fib: list[dict[str, Any]]) -> Any:
    from realfish.dataplane import RouterTables

    return RouterTables("router", {"gi0-0": "GigabitEthernet0/0"}, fib=fib)


def test_other_orders_recorded_and_a_failed_one_fails_the_snapshot(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    """`convergence.explore` with the runs themselves replaced: seed 1 reaches another FIB entry (interfaces by
    the user's names), seed 2 does not converge, seed 3 raises (and the steps go on). The varying entry lists
    both outcomes of the orders that ran; the snapshot is then not converged, each failure named by its seed."""
    from realfish import convergence
    from realfish.convert import ConvertedSnapshot
    from realfish.dataplane import Dataplane

    via = {"prefix": "10.9.0.0/24", "protocol": "bgp", "nexthops": [{"ip": "10.1.0.1", "interface": "gi0-0"}]}
    other = {**via, "nexthops": [{"ip": "10.2.0.1", "interface": "gi0-0"}]}
    made = {1: Dataplane(True, {"b1": tables([other])}),
            2: Dataplane(False, {"b1": tables([via])}, failures=[{"router": "b1", "what": "bgpd died"}])}
    seen = []

    def compute(network: Any, **kw: Any) -> Dataplane:
        seen.append(kw["seed"])
        if kw["seed"] == 3:
            raise RuntimeError("no such daemon")
        return made[kw["seed"]]

    class Heard(convergence.Steps):
        def exploring(self, seed: int, orders: int) -> None:
            seen.append(f"{seed}/{orders}")

        def failed(self, error: Exception) -> bool:
            return True

    monkeypatch.setattr(convergence, "compute", compute)
    conv = ConvertedSnapshot(tmp_path, explore=4)
    first = Dataplane(True, {"b1": tables([via])})
    convergence.explore(conv, first, Heard(), 60.0, None)
    assert seen == ["1/4", 1, "2/4", 2, "3/4", 3]
    ex = first.explore
    assert ex is not None and ex["orders"] == 4 and ex["converged"] == {"0": True, "1": True, "2": False, "3": False}
    [v] = ex["varying"]
    assert (v["router"], v["prefix"]) == ("b1", "10.9.0.0/24")
    assert [(o["fib"][0]["nexthops"], o["seeds"]) for o in v["outcomes"]] == [
        ([{"ip": "10.1.0.1", "interface": "GigabitEthernet0/0"}], [0, 2]),
        ([{"ip": "10.2.0.1", "interface": "GigabitEthernet0/0"}], [1])]
    assert not first.converged and first.failures == [
        {"router": "b1", "what": "seed 2: bgpd died"},
        {"router": None, "what": "seed 3: the convergence failed: RuntimeError: no such daemon"}]
    assert Dataplane.from_json(json.loads(json.dumps(first.to_json()))).explore == ex  # kept in dataplane.json


def test_init_issues_name_each_route_that_depends_on_timing(tmp_path: Path) -> None:
    from realfish.answers import answer
    from realfish.answers.state import SnapshotState
    from realfish.convert import ConvertedSnapshot
    from realfish.dataplane import Dataplane
    from realfish.diff import questions

    v = explore.varying([(0, {"b1": [BLACKHOLE]}), (1, {"b1": [VIA_IBGP]}), (2, {"b1": [BLACKHOLE]})])
    dp = Dataplane(True, explore={"orders": 3, "seeds": [0, 1, 2], "converged": {}, "varying": v})
    rows = answer(questions.question("initIssues"), SnapshotState("s", ConvertedSnapshot(tmp_path), dp))
    [row] = [r for r in rows["answerElements"][0]["rows"] if r["Type"] == "Answer depends on timing"]
    assert row["Nodes"] == ["b1"] and row["Source_Lines"] is None
    assert row["Details"].startswith("2.128.0.0/16 in the FIB of b1 differs between 3 orders of events: bgp via "
                                     "blackhole (2x, seed 0) | bgp via 2.12.11.2 (1x, seed 1). Answers show seed 0's "
                                     "outcome")
    dp.explore = None
    rows = answer(questions.question("initIssues"), SnapshotState("s", ConvertedSnapshot(tmp_path), dp))
    assert rows["answerElements"][0]["rows"] == []


@pytest.mark.frr
def test_pybatfish_user_asks_for_orders_in_the_snapshot(tmp_path: Path) -> None:
    """`Session.get("realfish")` on a ring of 3 whose snapshot asks for 2 orders: the parse converges under both
    (the work log says so), ends normally, and initIssues has no timing row, since every order agrees."""
    from pybatfish.client.session import Session

    snap = tmp_path / "ring"
    topogen.ring(3, snap)
    (snap / "batfish" / "realfish_settings.json").write_text('{"explore": 2}\n')
    bf: Any = Session.get("realfish")
    try:
        bf.set_network("n")
        bf.init_snapshot(str(snap), name="s")  # raises if the parse work ends abnormally
        issues = bf.q.initIssues().answer().frame()
        assert not (issues["Type"] == "Answer depends on timing").any()
        ex = bf.service.worker.state("n", "s").dataplane.explore
        assert ex == {"orders": 2, "seeds": [0, 1], "converged": {"0": True, "1": True}, "varying": []}
        [log] = [p.read_text() for p in bf.service.data_dir.rglob("worklogs/*.log") if "Converging" in p.read_text()]
        assert "order of events 2 of 2 (seed 1" in log and "explored 2 orders (seeds 0, 1): 0 FIB entries" in log
    finally:
        bf.close()


# Batfish's example network with as2core2's three `mtu` lines removed: FRR 8.4.4 reaches one of two FIBs
# (docs/explore.md): seed 0 does not leave a border's aggregate 2.128.0.0/16 to the other, some seeds do.
EXAMPLE_LIVE = Path(__file__).resolve().parents[2] / "shared/compat/batfish-example/snapshots/example-live"


def mtu_free_example(tmp_path: Path) -> Path:
    import shutil

    snap = tmp_path / "mtu-free"
    shutil.copytree(EXAMPLE_LIVE, snap)
    cfg = snap / "configs" / "as2core2.cfg"
    lines = cfg.read_text().splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.strip().startswith("mtu ")]
    assert len(lines) - len(kept) == 3
    cfg.write_text("".join(kept))
    return snap


def aggregate_route(snap: Path, tmp_path: Path, seed: int | None) -> tuple[list[list[str]], dict[str, Any]]:
    """as2border1's and as2border2's 2.128.0.0/16 next hops after one converge with `seed` (None: the default run),
    and the report."""
    out = tmp_path / f"seed-{seed}.json"
    proc = subprocess.run([sys.executable, "-m", "realfish.cli", "converge", str(snap), "--json", str(out),
                           *(["--seed", str(seed)] if seed is not None else [])],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    hops = [[str(h["ip"] or h["interface"]) for e in doc["routers"][b]["fib"] if e["prefix"] == "2.128.0.0/16"
             for h in e["nexthops"]] for b in ("as2border1", "as2border2")]
    return hops, doc


@pytest.mark.frr
@pytest.mark.slow
def test_explore_finds_both_outcomes_and_seeds_reproduce_them(tmp_path: Path) -> None:
    """`--explore 15` finds FRR's two outcomes on both border routers, each with a seed: under some seeds a border
    leaves its aggregate to the other over iBGP, under seed 0 (every run's default) both discard it. Rerun, a seed
    gives its outcome again, and a run without a seed is seed 0's, ordered."""
    snap = mtu_free_example(tmp_path)
    out = tmp_path / "explore.json"
    proc = subprocess.run([sys.executable, "-m", "realfish.cli", "converge", str(snap), "--json", str(out),
                           "--explore", "15"], capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    varying = {(v["router"], v["prefix"]): v["outcomes"] for v in json.loads(out.read_text())["explore"]["varying"]}
    other: dict[str, tuple[int, list[str]]] = {}
    for border, peer_side in (("as2border1", "2.12.1"), ("as2border2", "2.12.2")):
        outcomes = varying[(border, "2.128.0.0/16")]
        by_seed = {o["seed"]: sorted(str(h["ip"] or h["interface"]) for e in o["fib"] for h in e["nexthops"])
                   for o in outcomes}
        assert by_seed.pop(0) == ["blackhole"] and len(by_seed) == 1, outcomes
        (seed, via), = by_seed.items()
        assert via == [f"{peer_side}1.2", f"{peer_side}2.2"], outcomes  # to the cores, over iBGP
        assert f"{border} 2.128.0.0/16" in proc.stderr
        other[border] = seed, via
    seed, via = other["as2border1"]
    for _ in range(2):
        hops, doc = aggregate_route(snap, tmp_path, seed)
        assert hops[0] == via
        assert doc["order"]["ordered"] and doc["order"]["seed"] == seed and doc["virtual"]["turns"] > 0
    hops, doc = aggregate_route(snap, tmp_path, None)
    assert hops == [["blackhole"], ["blackhole"]]
    assert doc["order"]["ordered"] and doc["order"]["seed"] == 0


def normalised(journal: list[tuple[int, str]]) -> list[str]:
    """A journal with times from its first line, without thread ids, lines of one instant sorted (daemons that
    boot together start at once, each in its own process: their first lines may interleave)."""
    import re

    t0 = journal[0][0]
    out: dict[int, list[str]] = {}
    for t, what in journal:
        what = re.sub(r"(/\w+):\d+", r"\1", what)
        if what.startswith("clock: woke "):
            what = "clock: woke " + " ".join(sorted(what.split()[2:]))
        out.setdefault(t - t0, []).append(what)
    return [f"{t} {w}" for t in sorted(out) for w in sorted(out[t])]


@pytest.mark.frr
def test_ordered_runs_repeat_event_by_event(tmp_path: Path) -> None:
    """Two runs of an OSPF + iBGP grid, as any run is by default (ordered): the same FIBs, and the same events at
    the same virtual instants, connections and route changes included (unordered runs differ here: which end of a
    session opens first, collisions), up to what ordering leaves to a daemon's own threads: in about 1 run of 12
    (docs/explore.md) a clock move wakes a bgpd thread in one run and not in the other (bgpd's I/O, keepalive and
    main threads run at once inside its turn), and the runs may go on differently from there. Any other first
    difference is an ordering bug."""
    from realfish.runtime import Emulation

    net = topogen.ospf_ibgp_grid(2, 2, tmp_path / "snap")
    journals, fibs = [], []
    for _ in range(2):
        with Emulation(net) as emu:
            emu.converge(timeout=300)
            assert emu.controller is not None and emu.ordered
            journals.append(normalised(emu.controller.journal()))
            fibs.append({r: sorted(json.dumps(e.to_json(), sort_keys=True) for e in emu.fib(r))
                         for r in net.routers})
    assert fibs[0] == fibs[1]
    assert any(" connect " in f" {line}" for line in journals[0]) and len(journals[0]) > 50
    diff = next((i for i, (a, b) in enumerate(zip(*journals, strict=False)) if a != b), None)
    if diff is None:
        assert len(journals[0]) == len(journals[1])
        return
    first, second = journals[0][diff], journals[1][diff]
    woke = [line.split(" clock: woke ", 1) for line in (first, second)]
    assert all(len(w) == 2 for w in woke) and woke[0][0] == woke[1][0], (
        f"first difference at line {diff} is not a clock move's wake-ups: {journals[0][diff - 3:diff + 3]} against "
        f"{journals[1][diff - 3:diff + 3]}")
    only_one = set(woke[0][1].split()) ^ set(woke[1][1].split())
    assert only_one and all(t.endswith("/bgpd") for t in only_one), (first, second)
