"""Virtual time: timers cost no wall-clock time, and the users' timers stay as they are."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from realfish import topogen
from realfish.runtime import Emulation
from realfish.runtime.emulation import quiet_period


def peers(emu: Emulation, router: str) -> dict[str, dict]:
    return emu.show(router, "show bgp summary json")["ipv4Unicast"]["peers"]


@pytest.mark.frr
def test_an_hour_of_keepalives_with_default_timers(tmp_path: Path) -> None:
    net = topogen.chain(2, tmp_path / "snap")
    assert "timers" not in net.routers["r0"].config  # FRR defaults: keepalive 60 s, hold 180 s
    with Emulation(net) as emu:
        emu.converge(timeout=120)
        journal = emu.controller.journal()  # type: ignore[union-attr]
        pids = {p.pid: key for key, p in emu.procs.items()}
        before = peers(emu, "r0")
        assert all(p["state"] == "Established" for p in before.values())
        start_v, start_wall = emu.clock.elapsed(), time.monotonic()  # type: ignore[union-attr]
        emu.run_for(3600)
        wall = time.monotonic() - start_wall
        after = peers(emu, "r0")
        virtual = emu.clock.elapsed() - start_v  # type: ignore[union-attr]
    assert virtual >= 3600
    for peer, state in after.items():
        assert state["state"] == "Established", "the session survived an hour of virtual time"
        # (compared with before: when both routers open at the same instant, FRR's collision handling may drop
        # one of the two connections while the session comes up, as on real routers)
        assert state["connectionsDropped"] == before[peer]["connectionsDropped"]
        # One keepalive a minute each way: an hour adds about 60 messages (a little jitter either way).
        assert 55 <= state["msgRcvd"] - before[peer]["msgRcvd"] <= 65, (before[peer], state)
    print(f"an hour of virtual time took {wall:.2f} s of wall time")
    assert wall < 60, "an hour of idle timers should cost seconds, not the hour"
    # The controller's record of the run, in virtual-time order: the session's connection, the routes zebra
    # installed, and every clock move with exactly which daemon threads it woke.
    times = [t for t, _ in journal]
    assert times == sorted(times)
    assert any(what.startswith("connect ") for _, what in journal)
    assert any(what.startswith(("r0 RT", "r1 RT")) for _, what in journal)
    woken = [w for _, what in journal if what.startswith("clock: woke ") for w in what.split()[2:]]
    assert woken and all(w.rsplit(":", 1)[0].split("/")[0] in ("r0", "r1") for w in woken), woken[:5]
    assert {w.rsplit(":", 1)[0] for w in woken} <= {f"{r}/{d}" for r, d in pids.values()}


@pytest.mark.frr
def test_clock_stands_still_until_configured_and_quiet_period_follows_timers(tmp_path: Path) -> None:
    net = topogen.chain(2, tmp_path / "snap")
    assert quiet_period(net) == 360.0  # twice BGP's default hold time
    for r in net.routers.values():
        r.config = r.config.replace(" no bgp ebgp-requires-policy\n",
                                    " no bgp ebgp-requires-policy\n timers bgp 3 10\n")
    assert "timers bgp 3 10" in net.routers["r0"].config
    with Emulation(net) as emu:
        report = emu.converge(timeout=120)
        v = report.extra["virtual"]
    assert 0 < v["converge_s"] < 20, v  # sessions up and routes in within a few virtual seconds
    assert v["end_s"] >= v["quiet_s"] and v["clock_advances"] > 0


@pytest.mark.frr
def test_users_timers_are_not_rewritten(tmp_path: Path) -> None:
    net = topogen.chain(2, tmp_path / "snap")
    with Emulation(net) as emu:
        emu.converge(timeout=120)
        running = emu.show("r0", "show running-config")
    assert "timers" not in running and "coalesce" not in running


def test_unread_bytes_nobody_polls_do_not_stop_the_clock(tmp_path: Path) -> None:
    """Bytes in flight hold the clock (a reader is about to run), but not forever: bgpd may keep a connection it
    no longer reads (the losing side of a collision), whose bytes would otherwise stop the emulation for good.
    Once nothing has run and the same bytes stayed unread for a moment, the clock moves again."""
    import socket

    from realfish.runtime.libreal import libreal_path
    from realfish.runtime.vclock import BUSY, IDLE_FOREVER, VirtualClock

    clock = VirtualClock(libreal_path(), tmp_path / "vclock", tokens=2)
    a, b = socket.socketpair()
    try:
        for end in (a, b):  # as the controller does: both ends of a connection
            clock.track(end.fileno())
        a.send(b"x" * 100)  # never read
        clock.freeze(False)
        assert clock.step() == BUSY  # at first they count as about to be read
        start = time.monotonic()
        results: list[int] = []
        while time.monotonic() - start < 2 and (not results or results[-1] == BUSY):
            results.append(clock.step())
        assert results[-1] == IDLE_FOREVER, results[-5:]
        assert clock.counts()["parks"] == 1
        a.send(b"y")  # new bytes: held again until they too stay unread
        assert clock.step() == BUSY
    finally:
        for end in (a, b):
            clock.untrack(end.fileno())
        clock.close()
        a.close()
        b.close()


def test_a_watched_end_counts_while_data_waits_and_goes_with_its_last_holder(tmp_path: Path) -> None:
    """The controller watches the daemons' ends without keeping a descriptor (vclock.watch): the registration
    counts while bytes wait to be read, not once they are read or the peer is gone, and ends when the last
    holder (the daemon) closes its own descriptor: nothing of a dead daemon's ends stays behind."""
    import os
    import socket

    from realfish.runtime.libreal import libreal_path
    from realfish.runtime.vclock import VirtualClock

    clock = VirtualClock(libreal_path(), tmp_path / "vclock", tokens=2)
    daemon_end, peer = socket.socketpair()
    try:
        ours = os.dup(daemon_end.fileno())  # as the controller gets it: a duplicate, through SCM_RIGHTS
        assert clock.watch(ours)
        os.close(ours)
        assert clock.in_flight() == 0
        peer.send(b"x" * 100)
        assert clock.in_flight() == 1  # bytes wait for the daemon
        assert daemon_end.recv(100) == b"x" * 100
        assert clock.in_flight() == 0
        peer.send(b"y")
        daemon_end.close()  # the daemon's last descriptor: the watch goes with it
        assert clock.in_flight() == 0
        pipe_r, pipe_w = os.pipe()
        dup_r = os.dup(pipe_r)
        assert clock.watch(dup_r)
        os.close(dup_r)
        os.write(pipe_w, b"z")
        assert clock.in_flight() == 1
        os.close(pipe_w)  # the writer gone, the byte still there: the reader is about to see it and its end
        assert clock.in_flight() == 0
        os.close(pipe_r)
    finally:
        clock.close()
        peer.close()


@pytest.mark.frr
def test_daemons_pipes_and_zserv_sockets_hold_the_clock_until_read(tmp_path: Path) -> None:
    """Every daemon shows the controller its pipes (FRR's thread masters wake each other through them) and its
    UNIX stream sockets (zserv, vty), so that bytes waiting on them hold the clock as bytes on an emulated
    connection do; a daemon that dies takes its entries with it."""
    import os
    import signal

    net = topogen.chain(2, tmp_path / "snap")
    with Emulation(net) as emu:
        emu.converge(timeout=120)
        ctl = emu.controller
        assert ctl is not None
        tracked_pids = {pid for pid, fds in ctl.local.items() if fds}
        assert {p.pid for p in emu.procs.values()} <= tracked_pids  # every daemon has some
        # What the controller holds for zebra are zebra's own pipes and sockets (the same kernel objects), among
        # them the zserv connections it accepted from bgpd and staticd.
        zebra = emu.procs[("r0", "zebra")].pid
        links = [os.readlink(f"/proc/{zebra}/fd/{fd}") for fd in os.listdir(f"/proc/{zebra}/fd")]
        held = {ino for _fd, ino in ctl.local.get(zebra, {}).values()}
        zebras = {int(k.split("[")[1].rstrip("]")): k.split(":")[0]
                  for k in links if k.startswith(("pipe:", "socket:"))}
        assert held and held <= set(zebras), (held, zebras)
        assert sum(1 for ino in held if zebras[ino] == "socket") >= 2
        assert sum(1 for ino in held if zebras[ino] == "pipe") >= 2
        bgpd = emu.procs[("r1", "bgpd")]
        before = len(ctl.local.get(bgpd.pid, {}))
        assert before >= 3  # its pipes and its zserv socket at least
        bgpd.send_signal(signal.SIGKILL)
        bgpd.wait()
        deadline = time.monotonic() + 10
        while ctl.local.get(bgpd.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not ctl.local.get(bgpd.pid), "the dead daemon's duplicates are closed"
        # Nothing stays held: the clock still moves (an hour of r0's timers passes).
        start = emu.clock.elapsed()  # type: ignore[union-attr]
        emu.run_for(3600)
        assert emu.clock.elapsed() - start >= 3600  # type: ignore[union-attr]


def test_a_replays_clock_fires_a_timer_where_the_recorded_clock_moved(tmp_path: Path) -> None:
    """A replay runs one router without the others whose timers decided where the recorded clock stopped (the
    1 ms quantum fires timers together at the latest of them): its timers fire at the first recorded instant not
    before their deadline. Here the scheduler's shared table is written directly: one thread (a sleeping process,
    as the kernel sees it) blocked until 5 ms."""
    import ctypes
    import mmap
    import os
    import subprocess

    from realfish.runtime.libreal import libreal_path
    from realfish.runtime.vclock import ADVANCED, VirtualClock

    class Slot(ctypes.Structure):  # struct rf_vt_slot (native/src/vclock.h)
        _fields_ = [("state", ctypes.c_int32), ("proc", ctypes.c_int32), ("tid", ctypes.c_int32),
                    ("pad", ctypes.c_int32), ("deadline", ctypes.c_int64)]

    class Shm(ctypes.Structure):  # struct rf_vt_shm, up to the first slot
        _fields_ = [("magic", ctypes.c_uint32), ("frozen", ctypes.c_int32), ("now", ctypes.c_int64),
                    ("realtime_offset", ctypes.c_int64), ("running", ctypes.c_int32), ("msgs", ctypes.c_int32),
                    ("generation", ctypes.c_uint32), ("kick", ctypes.c_uint32), ("nslots", ctypes.c_int32),
                    ("nprocs", ctypes.c_int32), ("tokens_enabled", ctypes.c_int32), ("ordered", ctypes.c_int32),
                    ("waiting", ctypes.c_int32), ("pad", ctypes.c_int32),
                    ("tokens", ctypes.c_byte * 32), ("procs", ctypes.c_int32 * (10 * 8192)), ("slot0", Slot)]

    start, ms = 10**12, 10**6
    clock = VirtualClock(libreal_path(), tmp_path / "vclock", tokens=2, start_ns=start, offset_ns=0)
    sleeper = subprocess.Popen(["sleep", "60"])
    efd = os.eventfd(0, os.EFD_NONBLOCK)
    with open(clock.path, "r+b") as f:
        mem = mmap.mmap(f.fileno(), 0)
    shm = Shm.from_buffer(mem)
    try:
        clock.set_wake(0, os.dup(efd))

        def fire(shm: Shm, deadline: int) -> int:
            shm.running = 0
            shm.slot0.tid, shm.slot0.deadline, shm.slot0.state = sleeper.pid, deadline, 2  # RF_SLOT_BLOCKED
            shm.nslots = 1
            t = time.monotonic()
            while clock.step(quantum_ns=ms) != ADVANCED:
                assert time.monotonic() - t < 5, "the clock never moved"
            assert os.eventfd_read(efd) == 1  # the thread was woken
            return clock.now_ns() - start

        clock.freeze(False)
        clock.follow([start + 2 * ms, start + 7 * ms, start + 9 * ms])
        assert fire(shm, start + 5 * ms) == 7 * ms  # not at its deadline: where the recorded run's clock went
        clock.follow([])
        assert fire(shm, start + 12 * ms) == 12 * ms  # no recording: at the deadline
        # A replay holds an idle daemon while it puts several inputs in (struct rf_vt_proc: pid, running,
        # has_token, held, polls, activity, wants, rank, turns, pad): libreal's first thread to resume waits on
        # the held word.
        assert clock.proc_idle(0)
        clock.hold(0, True)
        assert shm.procs[3] == 1
        shm.procs[1] = 1  # a thread of it running
        assert not clock.proc_idle(0)
        clock.hold(0, False)
        assert shm.procs[3] == 0
    finally:
        del shm
        mem.close()
        clock.close()
        os.close(efd)
        sleeper.kill()
        sleeper.wait()


@pytest.mark.frr
def test_a_connect_nobody_answers_times_out_after_127_virtual_seconds(tmp_path: Path) -> None:
    """A SYN to an address on a connected subnet that no router owns is never answered; Linux gives up after
    127 s (tcp_syn_retries=6). On the virtual clock that is 127 virtual seconds, to the nanosecond, and the clock
    stops there even when nothing else is due (bgpd's connect-retry here is longer)."""
    from realfish.convert import load_network

    topogen.chain(1, tmp_path / "snap")
    cfg = tmp_path / "snap" / "configs" / "r0.cfg"
    cfg.write_text(cfg.read_text().replace(
        "!\nrouter bgp 4200000000\n",
        "!\ninterface eth0\n ip address 10.50.0.1/24\n!\nrouter bgp 4200000000\n"
        " neighbor 10.50.0.2 remote-as 65099\n neighbor 10.50.0.2 timers connect 300\n"))
    net = load_network(tmp_path / "snap")
    with Emulation(net) as emu:
        emu.converge(timeout=120)
        emu.run_for(130)
        assert emu.controller is not None
        journal = emu.controller.journal()
    pending = [(t, w.split()[1]) for t, w in journal if w.startswith("pending") and "-> 10.50.0.2:179" in w]
    failed = {w.split()[1]: (t, w) for t, w in journal if w.startswith("failed")}
    assert pending, journal[-20:]
    t0, aid = pending[0]
    assert aid in failed, failed
    t1, what = failed[aid]
    assert what.endswith("ETIMEDOUT") and t1 - t0 == 127 * 10**9, (t0, t1, what)
