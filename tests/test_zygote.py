"""Routers' daemons forked from one initialised daemon per kind (realfish/runtime/zygote.py, native/src/zygote.c):
each child is its own router's daemon, nothing crosses between routers, and nothing is left after a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from realfish import frr, topogen
from realfish.runner import ConvergeTimeout
from realfish.runtime import Emulation
from realfish.runtime.zygote import ForkedDaemon
from tests.test_emulation import _leftovers

pytestmark = pytest.mark.frr


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _fibs(emu: Emulation) -> dict[str, list[str]]:
    return {name: sorted(json.dumps(e.to_json(), sort_keys=True) for e in emu.fib(name))
            for name in emu.network.routers}


def _eventfds() -> int:
    """How many eventfds this process holds."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass  # closed meanwhile
    return sum("eventfd" in x for x in held)


def test_forked_routers_have_their_own_identity(tmp_path: Path) -> None:
    net = topogen.chain(3, tmp_path / "snap")
    # what the test process held before (a Ray client an earlier test started in it keeps gRPC's eventfds)
    before = _eventfds()
    with Emulation(net, fork=False) as emu:
        emu.converge(timeout=120)
        unforked = _fibs(emu)
    with Emulation(net) as emu:
        emu.converge(timeout=120)
        zygotes = {d: z.proc.pid for d, z in emu.zygotes.items()}
        assert set(zygotes) == {"zebra", "staticd", "bgpd"}  # no vtysh: each daemon reads its own config
        for (name, daemon), proc in emu.procs.items():
            rdir = emu.router_dir(name)
            assert isinstance(proc, ForkedDaemon) and _parent(proc.pid) == zygotes[daemon], (name, daemon)
            assert int((rdir / f"{daemon}.pid").read_text()) == proc.pid  # FRR wrote it where the child was told
            log = (rdir / f"{daemon}.log").read_text()
            assert log.count(" starting: ") == 1, (name, daemon, log[-500:])  # its own log, no sibling's lines
        for name in net.routers:  # each router's config went to its own daemons, each reading its own part
            rdir = emu.router_dir(name)
            assert not (rdir / "vtysh.log").exists()
            zebra, bgpd = (rdir / "zebra.conf").read_text(), (rdir / "bgpd.conf").read_text()
            assert " ip address " in zebra and "router bgp" not in zebra
            assert "router bgp" in bgpd and " ip address " not in bgpd
            running = frr.vtysh(rdir, "show running-config")
            assert f"hostname {name}\n" in running and "router bgp" in running
        for name, router in net.routers.items():
            rdir = emu.router_dir(name)
            links = json.loads(frr.vtysh(rdir, "show interface json"))
            assert set(links) == set(router.interfaces), name  # its zebra has its links (hot-plugged), no other's
            peers = json.loads(frr.vtysh(rdir, "show bgp neighbors json"))
            for peer in peers.values():  # the hostname capability its neighbour sent: the neighbour's own name
                assert peer["bgpState"] == "Established"
                assert peer["hostname"] in net.routers and peer["hostname"] != name
        # The controller keeps none of the daemons' eventfds (the clock borrows one at each wake, pidfd_getfd) nor
        # their pipes: its descriptors do not grow with the threads and channels of hundreds of routers.
        assert _eventfds() <= before
        forked = _fibs(emu)
        pids = [p.pid for p in emu.procs.values()] + list(zygotes.values())
        run_dir = emu.run_dir
    assert forked == unforked
    assert _leftovers(run_dir, pids) == []


def test_a_run_that_times_out_leaves_no_zygote_or_child(tmp_path: Path) -> None:
    net = topogen.chain(2, tmp_path / "snap")
    with pytest.raises(ConvergeTimeout):
        with Emulation(net, quiet=1e9) as emu:  # a quiet period no run reaches: the wall-time limit ends it
            run_dir = emu.run_dir
            emu.converge(timeout=3)
    pids = [p.pid for p in emu.procs.values()] + [z.proc.pid for z in emu.zygotes.values()]
    assert len(pids) == 2 * 3 + 3
    assert _leftovers(run_dir, pids) == []


def test_a_zygote_that_passes_no_signal_on_does_not_stop_the_stop(tmp_path: Path) -> None:
    """bgpd's zygote stopped (SIGSTOP) when the run ends: it passes no signal to its children and reports no exit.
    Stopping still ends, with its children killed straight by their pids and nothing left."""
    import signal

    net = topogen.chain(2, tmp_path / "snap")
    with Emulation(net) as emu:
        emu.converge(timeout=120)
        run_dir = emu.run_dir
        zygote = emu.zygotes["bgpd"].proc.pid
        children = [p.pid for (_, daemon), p in emu.procs.items() if daemon == "bgpd"]
        assert children and all(_parent(pid) == zygote for pid in children)
        os.kill(zygote, signal.SIGSTOP)
    pids = [p.pid for p in emu.procs.values()] + [z.proc.pid for z in emu.zygotes.values()]
    assert _leftovers(run_dir, pids) == []
