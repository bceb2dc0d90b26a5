"""The pieces of a cluster run without FRR: the clock's deadlines as the scheduler sees them, the relay between
two parts, and the coordinator's rounds over parts that only keep time."""

from __future__ import annotations

import mmap
import socket
import struct
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("networkx")

from realfish import topogen  # noqa: E402
from realfish.cluster.coordinator import Coordinator, LocalParts, PartFailed  # noqa: E402
from realfish.cluster.part import QUANTUM_NS  # noqa: E402
from realfish.cluster.relay import CLOSE, DATA, FIB, Mesh  # noqa: E402
from realfish.runtime.emulation import BOOT_GAP  # noqa: E402
from realfish.runtime.vclock import FIXED_START_NS, NONE, SECOND, VirtualClock  # noqa: E402


def test_deadlines_are_where_the_scheduler_moves(tmp_path: Path) -> None:
    """Blocked threads' deadlines written into the shared file as a daemon's libreal writes them: deadlines()
    reads the ones within the quantum of the first, and the scheduler's own step moves the clock to the last
    of those (the layout Python reads is the C one)."""
    from realfish.runtime.libreal import libreal_path

    clock = VirtualClock(libreal_path(), tmp_path / "vclock", tokens=2, start_ns=10 * SECOND, offset_ns=0)
    try:
        assert clock.shared_now() == clock.now_ns() == 10 * SECOND
        assert clock.deadlines(QUANTUM_NS) == []
        first = 12 * SECOND
        slots = [(2, first + 3 * QUANTUM_NS), (2, first), (1, first - SECOND), (2, first + QUANTUM_NS // 2)]
        with open(clock.path, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
            for i, (state, deadline) in enumerate(slots):
                struct.pack_into("=iiiiq", m, 327776 + 24 * i, state, 0, 0, 0, deadline)
            struct.pack_into("=i", m, 40, len(slots))
        assert clock.deadlines(QUANTUM_NS) == [first, first + QUANTUM_NS // 2]  # a running thread's is no deadline
        clock.freeze(False)
        wall_limit = time.monotonic() + 10
        while clock.now_ns() == 10 * SECOND and time.monotonic() < wall_limit:
            clock.step(NONE)
        assert clock.now_ns() == first + QUANTUM_NS // 2
    finally:
        clock.close()


def _meshes() -> tuple[Mesh, Mesh, list[tuple[int, int, bytes]]]:
    a, b = Mesh(0, "127.0.0.1"), Mesh(1, "127.0.0.1")
    got: list[tuple[int, int, bytes]] = []

    def handler(part: int, kind: int, payload: bytes) -> None:
        got.append((part, kind, payload))
        if kind == DATA:
            b.deliver(int.from_bytes(payload[:8], "big"), payload[8:])
        elif kind == CLOSE:
            b.detach(int.from_bytes(payload, "big"))

    b.handler = handler
    addrs = {0: a.address, 1: b.address}
    import threading

    t = threading.Thread(target=b.link, args=(addrs,))
    t.start()
    a.link(addrs)
    t.join()
    return a, b, got


def _until(pred: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.001)


def test_relay_carries_bytes_and_closes_and_counts_frames() -> None:
    a, b, got = _meshes()
    try:
        daemon_a, relay_a = socket.socketpair()
        daemon_b, relay_b = socket.socketpair()
        a.attach(7, 1, relay_a)
        b.attach(7, 0, relay_b)
        a.broadcast(FIB, b'["r1", "RT add 10.0.0.0/8"]')
        daemon_a.sendall(b"hello " * 1000)
        data = b""
        while len(data) < 6000:
            data += daemon_b.recv(65536)
        assert data == b"hello " * 1000
        assert got[0] == (0, FIB, b'["r1", "RT add 10.0.0.0/8"]')  # in order with the bytes
        daemon_a.close()  # the daemon closes: the other side's daemon reads the end
        daemon_b.settimeout(10)
        assert daemon_b.recv(10) == b""
        _until(lambda: a.counts()["frames_sent"] == b.counts()["frames_received"], "every frame handled")
        assert a.counts()["bytes_out"] == b.counts()["bytes_in"] == 6000
        assert a.unread() == 0
    finally:
        a.close()
        b.close()


class _TimeOnlyPart:
    """A part with no routers that keeps the coordinator's time: timers at given instants, events at some."""

    def __init__(self, timers: list[int], events: dict[int, int]) -> None:
        self.now = FIXED_START_NS
        self.limit = FIXED_START_NS
        self.timers = sorted(timers)
        self.events = events  # instant -> an event happens there
        self.last_event = 0
        self.steps = 0
        self.booted: list[tuple[int, list[str]]] = []
        self.fail_at: int | None = None

    def status(self, wait_s: float = 0.0) -> dict[str, Any]:
        if self.fail_at is not None and self.now >= self.fail_at:
            raise RuntimeError("the controller died")
        due = [t for t in self.timers if t <= self.limit]
        self.now = self.limit  # an idle part's clock waits at its limit
        for t in due:
            if t in self.events:
                self.last_event = t
        self.timers = [t for t in self.timers if t > self.limit]
        self.steps += 1
        ds = [t for t in self.timers if t <= self.timers[0] + QUANTUM_NS] if self.timers else []
        return {"now": self.now, "idle": True, "steps": self.steps, "deadlines": ds, "last_event": self.last_event,
                "frames_sent": 0, "frames_received": 0}

    def boot(self, names: list[str]) -> None:
        self.booted.append((self.now, names))

    def advance(self, limit: int) -> None:
        self.limit = limit


def test_coordinator_boots_in_batches_then_runs_to_the_end_of_quiet(tmp_path: Path) -> None:
    net = topogen.chain(3, tmp_path / "c")  # three batches: each router neighbours the next
    s = SECOND
    a = _TimeOnlyPart([FIXED_START_NS + 10 * s, FIXED_START_NS + 10 * s + QUANTUM_NS // 2], {})
    b = _TimeOnlyPart([FIXED_START_NS + 20 * s], {FIXED_START_NS + 20 * s: 1})
    parts = LocalParts([a, b], [["r1"], ["r2"]])
    co = Coordinator(net, parts, quiet=60)
    co.run(timeout=30)
    gap = int(BOOT_GAP * s)
    boots = [FIXED_START_NS + i * gap for i in range(len(net.boot_batches(16)))]
    assert [t for t, _ in a.booted] == boots and [t for t, _ in b.booted] == boots
    assert co.converged and co.now == FIXED_START_NS + 20 * s + 60 * s  # quiet from b's last event
    # rounds: up to each boot, a's two timers in one (within the quantum), b's timer, the end of quiet
    assert co.rounds == (len(boots) - 1) + 1 + 1 + 1
    parts.close()


def test_coordinator_names_the_failed_part(tmp_path: Path) -> None:
    net = topogen.chain(2, tmp_path / "c")
    a, b = _TimeOnlyPart([FIXED_START_NS + 5 * SECOND], {}), _TimeOnlyPart([], {})
    b.fail_at = FIXED_START_NS + 5 * SECOND
    parts = LocalParts([a, b], [["r1"], ["r2"]])
    with pytest.raises(PartFailed, match=r"part 1 \(1 routers: r2; in this process\) failed: .*controller died"):
        Coordinator(net, parts, quiet=60).run(timeout=30)
    parts.close()


def test_an_unreachable_cluster_is_a_clear_error_at_once() -> None:
    """`--cluster HOST:PORT` where nothing listens: ray.init would retry for minutes; realfish says so now."""
    pytest.importorskip("ray")
    from realfish.cluster.actor import connect

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(RuntimeError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}: .*refused"):
        connect(f"127.0.0.1:{port}")
    with pytest.raises(ValueError, match="HOST:PORT"):
        connect("head-without-port")
