"""Cluster runs (realfish.cluster): parts on a local Ray cluster of two nodes started here (`ray start --head`
and `ray start --address`, each with its own resources), under one virtual clock. The FIBs must be a one-part
run's, the parts on different nodes, and a part killed mid-run must end the run with an error naming it and
leave nothing behind."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("networkx")

from realfish import topogen  # noqa: E402
from realfish.cluster import actor  # noqa: E402
from realfish.cluster.coordinator import PartFailed  # noqa: E402
from realfish.runtime import Emulation  # noqa: E402
from realfish.runtime.recording import Recording  # noqa: E402
from realfish.topology import Network  # noqa: E402

pytestmark = [pytest.mark.frr]

def _wait(pred: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """Two Ray nodes on this machine, 2 CPUs and a resource of its own each (`ray start --head` and `ray start
    --address`, each in its own session), stopped at the end by their PIDs' process groups."""
    head = actor.LocalRay(2, {"node_a": 1})
    nodes = [head]
    try:
        nodes.append(actor.LocalRay(2, {"node_b": 1}, join=head.address))
        actor.connect(head.address)
        _wait(lambda: sum(1 for n in ray.nodes() if n["Alive"]) == 2, "two Ray nodes alive")
        yield head.address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for node in reversed(nodes):
            node.stop()


def _fibs(doc: dict[str, Any]) -> dict[str, Any]:
    return {n: r["fib"] for n, r in doc["routers"].items()}


def _one_part(net: Network) -> dict[str, Any]:
    with Emulation(net, ordered=False) as emu:
        return emu.converge(timeout=600).to_json()


def _check_parts(doc: dict[str, Any], n: int) -> None:
    parts = doc["parts"]
    assert parts["count"] == n and doc["converged"], doc["problems"]
    assert len({p["node"] for p in parts["list"]}) == 2, "the parts must use both Ray nodes"
    assert parts["bytes_between_parts"] > 0 and parts["clock_rounds"] > 0
    for p in parts["list"]:
        assert not Path(p["run_dir"]).exists(), f"{p['run_dir']} left behind"


@pytest.mark.parametrize("n", [2, 3])
def test_fattree_k4_in_parts_same_fibs(cluster: str, tmp_path: Path, n: int) -> None:
    net = topogen.fattree(4, tmp_path / "ft")
    doc = actor.converge(net, n, cluster, timeout=600)
    _check_parts(doc, n)
    assert _fibs(doc) == _fibs(_one_part(net))


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 3])
def test_grid_in_parts_same_fibs(cluster: str, tmp_path: Path, n: int) -> None:
    """OSPF and iBGP between loopbacks: OSPF packets cross between parts, and iBGP sessions open over routes
    other parts' zebras installed."""
    net = topogen.ospf_ibgp_grid(3, 3, tmp_path / "grid")
    doc = actor.converge(net, n, cluster, timeout=600)
    _check_parts(doc, n)
    assert doc["parts"]["packets_between_parts"] > 0
    assert _fibs(doc) == _fibs(_one_part(net))


@pytest.mark.slow
def test_fattree_k8_in_parts_same_fibs(cluster: str, tmp_path: Path) -> None:
    net = topogen.fattree(8, tmp_path / "ft")
    one = _fibs(_one_part(net))
    for n in (2, 3):
        doc = actor.converge(net, n, cluster, timeout=1200)
        _check_parts(doc, n)
        assert _fibs(doc) == one, f"{n} parts"


def test_recorded_in_parts_replays_each_router(cluster: str, tmp_path: Path) -> None:
    """`--record` in parts: one recording of the whole run (each part's routers' files, the whole network's
    indexes and boot instants, every part's clock moves), from which every router replays alone to the FIB it
    had in the run, whichever part it ran in and wherever its peers ran."""
    net = topogen.fattree(4, tmp_path / "ft")
    rec = tmp_path / "rec"
    doc = actor.converge(net, 2, cluster, timeout=600, record=rec)
    _check_parts(doc, 2)
    recording = Recording(rec)
    assert sorted(recording.meta["index"]) == sorted(net.routers)
    assert sorted(recording.meta["boot"]) == sorted(net.routers)
    assert recording.fibs() == _fibs(doc)
    cut = {r for p in doc["parts"]["list"] for r in p["names"]}
    assert cut == set(net.routers)
    for name in sorted(net.routers):
        with Emulation(net.part([name]), replay=recording) as emu:
            report = emu.converge(timeout=120)
        replay = report.extra["replay"]
        assert not replay["fib_differences"] and not report.problems, (name, replay, report.problems)
        assert replay["delivered"] > 0, name


def test_serve_in_parts_answers_as_one_machine(cluster: str, tmp_path: Path) -> None:
    """`realfish serve --cluster ADDRESS --partitions 2`: an unchanged pybatfish script gets the answers a
    one-machine service gives (the routes, the BGP sessions, a traceroute across the cut)."""
    from pybatfish.client.session import Session

    from tests.test_service import start_server, stop_server

    snap = tmp_path / "ft"
    topogen.fattree(4, snap)
    proc, port = start_server("--data-dir", str(tmp_path / "data"), "--cluster", cluster, "--partitions", "2")
    try:
        answers = {}
        sessions: list[tuple[str, Any]] = [("parts", Session(host="127.0.0.1", port=port)),
                                           ("one", Session.get("realfish"))]
        for where, bf in sessions:
            bf.set_network("ft")
            bf.init_snapshot(str(snap), name="ft")
            routes = bf.q.routes().answer().frame()
            # a prefix tor-0-0 learned over BGP from the farthest pod: the trace crosses the cut
            far = sorted(r for n, r, p in zip(routes["Node"], routes["Network"], routes["Protocol"], strict=True)
                         if n == "tor-0-0" and p == "bgp")[-1]
            frames = {
                "routes": routes,
                "sessions": bf.q.bgpSessionStatus().answer().frame(),
                "issues": bf.q.initIssues().answer().frame(),
                "trace": bf.q.traceroute(startLocation="tor-0-0", headers={
                    "dstIps": str(next(ipaddress.ip_network(far).hosts()))}).answer().frame(),
            }
            answers[where] = {k: sorted(map(str, f.to_dict("records"))) for k, f in frames.items()}
            if where == "one":
                bf.close()
        assert answers["parts"]["routes"] and answers["parts"]["sessions"]
        assert answers["parts"] == answers["one"]
        # the parse work's log names each part's Ray node: the snapshot did converge in parts
        text = "\n".join(p.read_text() for p in (tmp_path / "data").rglob("worklogs/*.log"))
        nodes = {line.split("on Ray node ")[1].split()[0] for line in text.splitlines() if "on Ray node " in line}
        assert "part 0: " in text and "part 1: " in text and len(nodes) == 2, text
    finally:
        err = stop_server(proc)
        assert proc.returncode == 0, err


def test_serve_in_parts_stopped_mid_run_leaves_nothing(tmp_path: Path) -> None:
    """`realfish serve --partitions 2` (its own local Ray instance) stopped by SIGTERM while a snapshot converges
    in parts: it exits cleanly, and the parts' daemons and run directories, and its Ray instance's processes and
    directory, are gone."""
    import requests
    from pybatfish.client.session import Session

    from tests.test_service import _init_quietly, start_server, stop_server

    snap = tmp_path / "ft"
    topogen.fattree(4, snap)
    rays_before = set(Path("/tmp").glob("rf-ray-*"))
    proc, port = start_server("--data-dir", str(tmp_path / "data"), "--partitions", "2")
    session: Any = Session(host="127.0.0.1", port=port)
    session.set_network("stop")
    client = threading.Thread(target=_init_quietly, args=(session, snap), daemon=True)
    client.start()
    run_dirs: list[str] = []

    def parts_up() -> bool:
        works = requests.get(f"http://127.0.0.1:{port}/v2/networks/stop/work", timeout=10).json()
        lines = [b["description"] for w in works for b in (w.get("task") or {}).get("batches", [])]
        run_dirs[:] = [line.rsplit(" ", 1)[1] for line in lines if "run directory " in line]
        # a state, not a time: both parts placed and every router of both booted (bgpd's vty socket)
        return len(run_dirs) == 2 and all(len(list(Path(d).glob("*/bgpd.vty"))) >= 10 for d in run_dirs)

    try:
        _wait(parts_up, "both parts' routers up")
        rays = set(Path("/tmp").glob("rf-ray-*")) - rays_before
        assert rays, "the service started no local Ray instance"
    finally:
        err = stop_server(proc)
    assert proc.returncode == 0, err
    for rdir in run_dirs:
        assert not Path(rdir).exists(), f"{rdir} left behind"
    for mark in [*run_dirs, *map(str, rays)]:
        leftover = subprocess.run(["pgrep", "-f", mark], capture_output=True, text=True).stdout.split()
        assert not leftover, f"processes of {mark} left: {leftover}"
    assert not [r for r in rays if r.exists()], "the service's Ray directory left behind"


def test_killed_part_ends_run_cleanly(cluster: str, tmp_path: Path) -> None:
    """SIGKILL one part's actor once its routers run: the run ends with PartFailed naming that part, and no
    daemon or run directory of either part is left."""
    net = topogen.fattree(4, tmp_path / "ft")
    placed: dict[int, tuple[int, str]] = {}
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if line.startswith("part ") and "pid " in line:
            index = int(line.split()[1].rstrip(":"))
            placed[index] = (int(line.split("pid ")[1].split(")")[0]), line.rsplit(" ", 1)[1])

    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["doc"] = actor.converge(net, 2, cluster, timeout=600, log=log)
        except PartFailed as e:
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    _wait(lambda: len(placed) == 2 or not t.is_alive(), "both parts placed")
    pid, run_dir = placed[1]
    # a state, not a time: bgpd of every router of the part has its vty socket (its routers booted)
    _wait(lambda: len(list(Path(run_dir).glob("*/bgpd.vty"))) >= 5 or not t.is_alive(), "part 1's routers up")
    assert t.is_alive(), result
    os.kill(pid, signal.SIGKILL)
    t.join(timeout=300)
    assert not t.is_alive()
    err = result.get("error")
    assert isinstance(err, PartFailed), result
    assert err.index == 1 and "part 1" in str(err)
    for _, rdir in placed.values():
        assert not Path(rdir).exists(), f"{rdir} left behind"
        leftover = subprocess.run(["pgrep", "-f", rdir], capture_output=True, text=True).stdout.split()
        assert not leftover, f"processes of {rdir} left: {leftover}"


def test_lost_node_ends_run_cleanly(tmp_path: Path) -> None:
    """The Ray node of a part stops mid-run (its own cluster here, not the module's): PartFailed names that
    part, and its daemons and run directory, which its node could no longer clean, are cleaned from here."""
    head = actor.LocalRay(1, {"node_a": 1})
    nodes = [head]
    try:
        nodes.append(actor.LocalRay(1, {"node_b": 1}, join=head.address))
        if ray.is_initialized():
            ray.shutdown()  # the module's cluster: this test has its own
        actor.connect(head.address)
        _wait(lambda: sum(1 for n in ray.nodes() if n["Alive"]) == 2, "two Ray nodes alive")
        net = topogen.fattree(4, tmp_path / "ft")
        placed: dict[int, str] = {}
        result: dict[str, Any] = {}

        def log(line: str) -> None:
            if line.startswith("part ") and "run directory" in line:
                placed[int(line.split()[1].rstrip(":"))] = line.rsplit(" ", 1)[1]

        def run() -> None:
            try:
                result["doc"] = actor.converge(net, 2, head.address, timeout=600, log=log)
            except PartFailed as e:
                result["error"] = e

        t = threading.Thread(target=run)
        t.start()
        _wait(lambda: len(placed) == 2 or not t.is_alive(), "both parts placed")
        nodes_of = {n["NodeID"]: n for n in ray.nodes()}
        worker_node = next(i for i, n in nodes_of.items() if "node_b" in n["Resources"])
        where = {i: rd for i, rd in placed.items()}
        _wait(lambda: all(len(list(Path(rd).glob("*/bgpd.vty"))) >= 5 for rd in where.values()) or
              not t.is_alive(), "both parts' routers up")
        assert t.is_alive(), result
        nodes.pop().stop()  # the worker node, with its raylet and the part's actor
        t.join(timeout=300)
        assert not t.is_alive()
        err = result.get("error")
        assert isinstance(err, PartFailed), result
        assert worker_node[:12] in str(err), str(err)
        for rdir in where.values():
            assert not Path(rdir).exists(), f"{rdir} left behind"
            leftover = subprocess.run(["pgrep", "-f", rdir], capture_output=True, text=True).stdout.split()
            assert not leftover, f"processes of {rdir} left: {leftover}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for node in reversed(nodes):
            node.stop()
