"""The emulation end to end with real FRR daemons: routes, bad configs, crashes, host isolation, clean-up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from realfish import topogen
from realfish.convert import load_network
from realfish.runtime import Emulation
from realfish.runtime.zygote import ForkedDaemon
from realfish.topology import Network
from tests.faults import abort_after_start


def host_view(net: Network) -> dict[str, object]:
    """The host's routes (IPv4 and IPv6: `table all` lists both), links and addresses, and any host TCP socket on a
    router's address or BGP's port (other host sockets come and go by themselves, e.g. earlier tests' loopback
    connections leaving TIME-WAIT)."""
    run = lambda *a: subprocess.run(list(a), capture_output=True, text=True).stdout  # noqa: E731
    ours = {str(a.ip) for r in net.routers.values() for i in r.interfaces.values() for a in i.addresses}
    tcp = [line for line in run("ss", "-tan").splitlines()[1:]
           if ":179 " in line + " " or {f.rsplit(":", 1)[0] for f in line.split()[3:5]} & ours]
    return {"route": run("ip", "route", "show", "table", "all"), "link": run("ip", "-o", "link"),
            "addr": run("ip", "-o", "addr"), "tcp": tcp}


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed daemon whose parent died waits for PID 1 to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _leftovers(run_dir: Path, pids: list[int]) -> list[str]:
    left = [f"pid {p}" for p in pids if _running(p)]
    if run_dir.exists():
        left.append(str(run_dir))
    rid = run_dir.name.rsplit("-", 1)[-1][:8]
    left += [str(p) for p in Path("/var/run/frr").glob(f"rf{rid}-*")]
    left += [str(p) for p in Path("/var/tmp/frr").glob("*") if p.name.rsplit(".", 1)[-1] in map(str, pids)]
    return left


@pytest.mark.frr
def test_chain_routes_and_host_isolation(tmp_path: Path) -> None:
    net = topogen.chain(4, tmp_path / "snap")
    before = host_view(net)
    with Emulation(net) as emu:
        emu.converge(timeout=120)
        during = host_view(net)
        pids = emu.pids()
        fibs = {name: {e.prefix: e for e in emu.fib(name)} for name in net.routers}
        run_dir = emu.run_dir
    # Every router has every other router's /24, learned over BGP, through its neighbour toward it.
    prefixes = {name: next(str(a.network) for a in r.interfaces["lo"].addresses if a.network.prefixlen == 24)
                for name, r in net.routers.items()}
    for name, fib in fibs.items():
        for other, prefix in prefixes.items():
            if other != name:
                assert fib[prefix].protocol == "bgp", (name, prefix, fib.get(prefix))
                assert len(fib[prefix].nexthops) == 1
    assert fibs["r0"][prefixes["r3"]].nexthops[0].interface == "eth0"
    # Nothing of the emulation on the host: no route, link, address or TCP socket appeared.
    assert during == before
    assert _leftovers(run_dir, pids) == []


@pytest.mark.frr
def test_rejected_config_line_is_reported(tmp_path: Path) -> None:
    net = topogen.chain(2, tmp_path / "snap")
    router = net.routers["r1"]
    router.config += "router bgp 4200000001\n neighbor 10.99.0.1 frobnicate\n"
    bad_line = len(router.config.splitlines()) - 0
    with Emulation(net) as emu:
        emu.converge(timeout=120)
        errors = emu.report.routers["r1"].errors
    assert len(errors) == 1
    assert f"line {bad_line}" in errors[0] and "frobnicate" in errors[0] and ".log" in errors[0]
    assert emu.report.routers.get("r0") is None or not emu.report.routers["r0"].errors


@pytest.mark.frr
def test_a_message_the_controller_cannot_handle_is_a_problem(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon gets EIO (it must not wait for ever) and the run goes on, but the report says what the
    controller could not do, which daemon asked, and where the controller failed."""
    from realfish.runtime.controller import VERBS, Controller, Verb

    def broken(self: Controller, c: Any, m: Any) -> None:
        if c.router == "r1" and c.daemon == "bgpd":
            raise KeyError("a bug")
        Controller._on_listen(self, c, m)

    monkeypatch.setitem(VERBS, "LISTEN", Verb(broken, replies=True))
    net = topogen.chain(2, tmp_path / "snap")
    with Emulation(net) as emu:
        report = emu.converge(timeout=120)
    problems = [p for p in report.problems if p.startswith("controller: r1/bgpd: cannot handle b'LISTEN")]
    assert problems and "KeyError('a bug')" in problems[0] and "test_emulation.py" in problems[0], report.problems


@pytest.mark.frr
def test_dead_daemon_is_reported_and_run_goes_on(tmp_path: Path) -> None:
    """The run goes on without it, but is not converged, and says why with the line of the log that does (FRR's
    crash handler's), not the log's tail (its memory statistics)."""
    net = topogen.chain(3, tmp_path / "snap")
    with Emulation(net) as emu:
        emu.start()
        victim = emu.procs[("r2", "bgpd")]
        assert isinstance(victim, ForkedDaemon)  # its zygote reaps it and reports how it ended
        victim.send_signal(signal.SIGABRT)
        victim.wait()
        emu.wait_converged(timeout=120)
        report = emu.collect([])
        fib0 = {e.prefix for e in emu.fib("r0")}
        pids = [p.pid for p in emu.procs.values()]
        run_dir = emu.run_dir
    died = [p for p in report.problems if p.startswith("r2: bgpd died, signal 6 (SIGABRT): ")]
    assert died and "Received signal 6" in died[0] and "bgpd.log" in died[0], report.problems
    assert "memory" not in died[0].lower()
    assert report.converged is False and report.to_json()["converged"] is False
    assert report.extra["failures"] == [{"router": "r2", "what": died[0]}]
    r1_prefix = str(next(a.network for a in net.routers["r1"].interfaces["lo"].addresses
                         if a.network.prefixlen == 24))
    assert r1_prefix in fib0, "r0 and r1 still peer while r2's bgpd is gone"
    assert _leftovers(run_dir, pids) == []


@pytest.mark.frr
def test_cli_exit_status_says_a_daemon_died(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from realfish import cli

    abort_after_start(monkeypatch, "r1", "bgpd")
    monkeypatch.setattr(cli.signal, "signal", lambda *a: None)  # main() would take over pytest's handlers
    topogen.chain(2, tmp_path / "snap")
    out = tmp_path / "report.json"
    assert cli.main(["converge", str(tmp_path / "snap"), "--json", str(out)]) == 3
    import json

    doc = json.loads(out.read_text())
    assert doc["converged"] is False and any("r1: bgpd died" in p and "Received signal 6" in p
                                             for p in doc["problems"])


@pytest.mark.frr
def test_a_refused_peer_is_steady_state(tmp_path: Path) -> None:
    """r1 expects another AS than r0 has: every connect-retry (120 s) opens a connection that r1 refuses at
    once. That changes nothing, so the run converges (it used to run into its wall-time limit, the quiet period
    restarted by every retry) and lists the sessions as down."""
    import re

    net = topogen.chain(2, tmp_path / "snap")
    r1 = net.routers["r1"]
    r1.config = re.sub(r"(neighbor \S+ remote-as )\S+", r"\g<1>64999", r1.config)
    with Emulation(net) as emu:
        report = emu.converge(timeout=300)
    assert report.converged and report.extra["sessions_down"] == ["r0->10.0.0.1", "r1->10.0.0.0"]
    # the quiet period started after the first refusals, not a wall-time limit's worth of virtual time later
    assert report.extra["virtual"]["end_s"] < 3 * report.extra["virtual"]["quiet_s"]


@pytest.mark.slow
@pytest.mark.frr
def test_a_controller_that_dies_ends_the_run_with_its_traceback(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing would answer the daemons or move the clock: the run stops at once, says why, leaves nothing."""
    from realfish.runtime import controller

    def broken(self: controller.Controller) -> None:
        raise ZeroDivisionError("a bug in the controller")

    monkeypatch.setattr(controller.Controller, "_loop", broken)
    net = topogen.chain(2, tmp_path / "snap")
    start = time.monotonic()
    with pytest.raises(controller.ControllerFailed, match="ZeroDivisionError: a bug in the controller"):
        with Emulation(net) as emu:
            run_dir = emu.run_dir
            emu.converge(timeout=120)
    assert time.monotonic() - start < 60
    zygotes = [z.proc.pid for z in emu.zygotes.values()]
    assert zygotes  # it got as far as starting them
    assert _leftovers(run_dir, [p.pid for p in emu.procs.values()] + zygotes) == []


def _cli(*args: str) -> subprocess.Popen[str]:
    # SIGINT as a terminal's Ctrl-C gives it: a test run started in the background of a non-interactive shell
    # ignores SIGINT, and a child that inherits that (Python then installs no handler) would never be interrupted
    return subprocess.Popen([sys.executable, "-m", "realfish.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_daemons(run_dir_glob: str, before: set[Path], routers: int, timeout: float = 120) -> Path:
    """The new run's directory, once its routers have booted: every router's bgpd runs and the first router's
    sessions are Established (a state, not a time: the run cannot have ended, its quiet period is endless)."""
    from realfish import frr

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for d in set(Path("/tmp").glob(run_dir_glob)) - before:
            # the routers' bgpds, not the zygote's
            if len([p for p in d.glob("*/bgpd.pid") if p.parent.name != "zygote"]) < routers:
                continue
            try:
                with frr.Vty(d / "r0" / "bgpd.vty", timeout=10) as vty:
                    peers = frr.json_object(vty.command("show bgp summary json")).get("ipv4Unicast", {})
            except (OSError, ConnectionError):
                continue
            states = [p.get("state") for p in (peers.get("peers") or {}).values()]
            if states and all(s == "Established" for s in states):
                return d
        time.sleep(0.1)
    raise AssertionError("the run never booted its routers")


def _daemon_pids(run_dir: Path) -> list[int]:
    return [int(p.read_text()) for p in run_dir.glob("*/*.pid") if p.read_text().strip()]


def _long_run(tmp_path: Path, routers: int) -> tuple[subprocess.Popen[str], Path, list[int]]:
    """`realfish converge` on a chain that cannot end by itself (a quiet period of 30,000 virtual years: the
    keepalives alone keep it going for good), once its routers have booted."""
    snap = tmp_path / "snap"
    topogen.chain(routers, snap)
    before = set(Path("/tmp").glob("realfish-*"))
    proc = _cli("converge", str(snap), "--quiet", "1e12")
    run_dir = _wait_for_daemons("realfish-*", before, routers)
    assert proc.poll() is None, "the run ended by itself"
    return proc, run_dir, _daemon_pids(run_dir)


@pytest.mark.frr
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_nothing(tmp_path: Path, how: int) -> None:
    proc, run_dir, pids = _long_run(tmp_path, 3)
    proc.send_signal(how)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.terminate()  # not left running when the test fails
        proc.communicate()
        raise
    assert proc.returncode == 130, err
    assert _leftovers(run_dir, pids) == []


@pytest.mark.frr
def test_clean_after_killed_run(tmp_path: Path) -> None:
    proc, run_dir, pids = _long_run(tmp_path, 2)
    proc.kill()  # no chance to clean up: the run directory stays, and daemons may too (most exit by themselves
    proc.wait()  # once they see the controller gone; one waiting for a run slot held by a dead sibling does not)
    assert run_dir.exists()
    out = subprocess.run([sys.executable, "-m", "realfish.cli", "clean"], capture_output=True, text=True)
    assert out.returncode == 0 and str(run_dir) in out.stdout
    deadline = time.monotonic() + 10  # a stopped daemon may take a moment to exit: wait for that, not a time
    while _leftovers(run_dir, pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _leftovers(run_dir, pids) == []


@pytest.mark.frr
def test_snapshot_directory_converges_from_cli(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    topogen.ring(3, snap)
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "realfish.cli", "converge", str(snap), "--json", str(out),
                           "--show", "show bgp summary json"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    import json

    doc = json.loads(out.read_text())
    assert doc["runtime"] == "real" and set(doc["routers"]) == {"r0", "r1", "r2"}
    for name, router in doc["routers"].items():
        peers = router["show"]["show bgp summary json"]["ipv4Unicast"]["peers"]
        assert all(p["state"] == "Established" for p in peers.values()), name
        assert {"prefix", "protocol", "distance", "metric", "nexthops"} <= set(router["fib"][0])
    assert set(doc["timing"]) >= {"setup_s", "converge_s", "total_s"}
    assert doc["memory"]["peak_pss_bytes"] > 0 and doc["cpu"]["daemon_s"] > 0
    assert isinstance(load_network(snap), Network)



def test_clean_removes_orphan_pathspaces(tmp_path: Path) -> None:
    from realfish import frr
    from realfish.clean import clean

    orphan = frr.FRR_RUN / "rfzz0rph4n-r1"
    live_run = tmp_path / "realfish-ab12cd34xyz"
    live = frr.FRR_RUN / "rfab12cd34-r1"
    for d in (orphan, live_run, live):
        d.mkdir(parents=True, exist_ok=True)
    (live_run / "owner.pid").write_text(str(os.getpid()))  # a run that is still going: keep its pathspace
    try:
        log = clean(tmp_path)
        assert not orphan.exists() and any(str(orphan) in line for line in log)
        assert live.exists()
    finally:
        import shutil

        for d in (orphan, live):
            shutil.rmtree(d, ignore_errors=True)


@pytest.mark.frr
def test_clean_stops_a_kept_run_but_keeps_its_directory(tmp_path: Path) -> None:
    """`--keep` data is the user's: clean stops what a dead owner left running, never removes the directory."""
    from realfish.clean import clean

    net = topogen.chain(2, tmp_path / "snap")
    run_dir = tmp_path / "realfish-kept0001"
    with Emulation(net, run_dir=str(run_dir), keep=True, quiet=5) as emu:
        emu.converge(timeout=120)
        pids = emu.pids()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (run_dir / "owner.pid").write_text(str(dead.pid))  # its owner is gone, as after a killed run
    log = clean(tmp_path)
    assert any("kept" in line and str(run_dir) in line for line in log), log
    assert (run_dir / "r0" / "frr.conf").exists() and (run_dir / "journal.log").exists()
    assert not any(_running(p) for p in pids)
    assert clean(tmp_path) == []  # and it is left alone from then on


def test_clean_leaves_directories_that_are_not_runs(tmp_path: Path) -> None:
    """`realfish clean` removes only what a run claimed (owner.pid): a user's or a tool's directory that happens
    to share the prefix stays (a benchmark's working directory was once removed under it)."""
    from realfish.clean import clean

    other = tmp_path / "realfish-notes"
    other.mkdir()
    (other / "data.txt").write_text("mine")
    clean(tmp_path)
    assert (other / "data.txt").read_text() == "mine"
