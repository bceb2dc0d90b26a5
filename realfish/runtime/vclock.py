"""The virtual clock, controller side: a thin ctypes layer over libreal's scheduler (native/src/sched.c).

The clock lives in a file of the run directory that every daemon maps (native/src/vclock.h has the layout).
Daemons read time from it and publish, per thread, the virtual deadline they wait for; the controller calls
`step()`, which returns once it has moved the clock to the earliest deadline and woken the threads due, or
after a short wait if something can still run. The GIL is released while C waits.
"""

from __future__ import annotations

import ctypes
import mmap
import struct
import time
from pathlib import Path

NONE = (1 << 63) - 1
SECOND = 1_000_000_000
FIXED_START_NS = 1000 * SECOND
FIXED_EPOCH_NS = 1_767_225_600 * SECOND  # 2026-01-01T00:00:00Z
BUSY, ADVANCED, IDLE_UNTIL_LIMIT, IDLE_FOREVER = 0, 1, 2, 3
# Where native/src/vclock.h puts the slots in the shared file (x86-64): `nslots` at 40, the slots (24 bytes:
# state, proc, tid, pad, deadline) at 327776. A test checks `now` (at 8) against rf_sched_now.
_NOW_AT, _NSLOTS_AT, _SLOTS_AT, _SLOT = 8, 40, 327776, struct.Struct("=iiiiq")
_SLOTS_MAX, _SLOT_BLOCKED = 16384, 2


class VirtualClock:
    def __init__(self, library: Path, path: Path, tokens: int, start_ns: int | None = None,
                 offset_ns: int | None = None, fixed: bool = False):
        self.lib = ctypes.CDLL(str(library))
        lib = self.lib
        h, i64, i = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
        lib.rf_sched_create.argtypes = [ctypes.c_char_p, i, i64, i64]
        lib.rf_sched_create.restype = h
        lib.rf_sched_step.argtypes = [h, i64, i, i64, i, i]
        lib.rf_sched_now.argtypes = [h]
        lib.rf_sched_now.restype = i64
        lib.rf_sched_set_wake.argtypes = [h, i, i]
        lib.rf_sched_set_wake_remote.argtypes = [h, i, i, i, i]
        lib.rf_sched_watch.argtypes = [h, i]
        lib.rf_sched_watch_owned.argtypes = [h, i, i]
        lib.rf_sched_track_owned.argtypes = [h, i, i]
        lib.rf_sched_set_rank.argtypes = [h, i, i]
        lib.rf_sched_in_flight.argtypes = [h]
        lib.rf_sched_in_flight.restype = ctypes.c_long
        for fn in ("rf_sched_set_frozen", "rf_sched_track", "rf_sched_untrack", "rf_sched_proc_gone",
                   "rf_sched_proc_idle", "rf_sched_set_ordered"):
            getattr(lib, fn).argtypes = [h, i]
        for fn in ("rf_sched_msg_done", "rf_sched_last_woken", "rf_sched_close", "rf_sched_quiets"):
            getattr(lib, fn).argtypes = [h]
        lib.rf_sched_counts.argtypes = [h, ctypes.POINTER(i)]
        lib.rf_sched_set_instants.argtypes = [h, ctypes.POINTER(i64), ctypes.c_long]
        lib.rf_sched_hold_proc.argtypes = [h, i, i]
        lib.rf_sched_proc_polls.argtypes = [h, i]
        lib.rf_sched_proc_polls.restype = ctypes.c_uint
        i32p = ctypes.POINTER(ctypes.c_int32)
        lib.rf_sched_woken.argtypes = [h, i32p, i32p, i]
        self.path = path
        self.tokens = tokens
        # Start where the real clocks are, on a whole second, so timestamps in logs and `show` output look
        # ordinary (a replay starts where the recorded run started: FRR seeds its jitter with the time). FRR
        # keeps timers in microseconds: a start with a fraction of one would round them differently run to run.
        # `fixed` (ordered runs): the same start every run, 1000 s after boot on 2026-01-01 00:00:00 UTC, so
        # that FRR's random seed (srandom(time(NULL))) is the same too.
        if fixed:
            start, offset = FIXED_START_NS, FIXED_EPOCH_NS - FIXED_START_NS
        else:
            start = (time.clock_gettime_ns(time.CLOCK_MONOTONIC) // SECOND) * SECOND
            offset = (time.clock_gettime_ns(time.CLOCK_REALTIME) // SECOND) * SECOND - start
        start = start if start_ns is None else start_ns
        offset = offset if offset_ns is None else offset_ns
        self.handle = lib.rf_sched_create(str(path).encode(), tokens, start, offset)
        if not self.handle:
            raise OSError(f"cannot create the virtual clock {path}")
        self.start_ns = start
        self.offset_ns = offset
        self.advances = 0
        self.woken = 0
        self.frozen = True  # rf_sched_create starts it frozen
        self.woke_at = NONE  # the instant of the last move that woke threads (woken_threads)
        self.moves: list[int] | None = None  # a list to keep where each clock move went (a recording)
        self.ordered = False  # one daemon at a time (order)

    def now_ns(self) -> int:
        return int(self.lib.rf_sched_now(self.handle))

    def elapsed(self) -> float:
        """Virtual seconds since the clock was created."""
        return (self.now_ns() - self.start_ns) / 1e9

    def freeze(self, frozen: bool = True) -> None:
        self.frozen = frozen
        self.lib.rf_sched_set_frozen(self.handle, 1 if frozen else 0)

    def step(self, limit_ns: int = NONE, hold: bool = False, quantum_ns: int = 1_000_000, wait_us: int = 2000,
             spin_us: int = 30) -> int:
        """Move the clock if nothing can run (not past `limit_ns`; with `hold`, stop at `limit_ns` before
        waking the threads due exactly then)."""
        r = int(self.lib.rf_sched_step(self.handle, limit_ns, 1 if hold else 0, quantum_ns, wait_us, spin_us))
        if r == ADVANCED:
            self.advances += 1
            self.woken += self.last_woken()
            self.woke_at = self.now_ns()
            if self.moves is not None:
                self.moves.append(self.now_ns())
        return r

    def follow(self, instants: list[int]) -> None:
        """Move where a recorded run's clock moved: a thread's deadline fires at the first of `instants` not
        before it, not at the deadline (nor where the quantum would put it)."""
        arr = (ctypes.c_int64 * max(len(instants), 1))(*sorted(instants))
        if self.lib.rf_sched_set_instants(self.handle, arr, len(instants)) < 0:
            raise MemoryError("no memory for the recorded clock moves")

    def set_wake(self, slot: int, fd: int, pid: int = 0, remote: int = -1) -> None:
        """The eventfd that wakes a daemon thread (the clock takes ownership of the descriptor). With the daemon's
        pid and its own number for it, the clock closes `fd` and borrows the eventfd at each wake, if it can."""
        if pid > 0 and remote >= 0:
            self.lib.rf_sched_set_wake_remote(self.handle, slot, fd, pid, remote)
        else:
            self.lib.rf_sched_set_wake(self.handle, slot, fd)

    def message_done(self) -> None:
        self.lib.rf_sched_msg_done(self.handle)

    def track(self, fd: int, reader: int = -1) -> None:
        """Watch one end of an emulated connection: bytes waiting to be read on it hold the clock. Track both
        ends (the controller keeps a duplicate of each). `reader`: the clock's process number of the daemon
        that reads this end, if known (an ordered run tells its bytes from those nobody has seen)."""
        self.lib.rf_sched_track_owned(self.handle, fd, reader)

    def watch(self, fd: int, reader: int = -1) -> bool:
        """Watch a daemon's end without keeping a descriptor of it: True if the caller may close `fd` now (the
        watch lasts while the daemon holds its own descriptor), False if it must keep and track it."""
        return self.lib.rf_sched_watch_owned(self.handle, fd, reader) == 0

    def order(self) -> None:
        """One daemon at a time, in rank order (set_rank) among those that want to run: the order inside a
        virtual instant becomes the emulation's own. Before any daemon starts."""
        self.lib.rf_sched_set_ordered(self.handle, 1)
        self.ordered = True

    def set_rank(self, proc: int, rank: int) -> None:
        self.lib.rf_sched_set_rank(self.handle, proc, rank)

    def quiets(self) -> int:
        """Ordered runs: how often the controller found the frozen emulation with nothing left to run."""
        return int(self.lib.rf_sched_quiets(self.handle))

    def in_flight(self) -> int:
        """Bytes waiting on tracked ends, plus one per watched end with data waiting."""
        return int(self.lib.rf_sched_in_flight(self.handle))

    def untrack(self, fd: int) -> None:
        self.lib.rf_sched_untrack(self.handle, fd)

    def process_gone(self, proc: int) -> None:
        self.lib.rf_sched_proc_gone(self.handle, proc)

    def proc_idle(self, proc: int) -> bool:
        """Is every thread of the process blocked (none running, none woken)?"""
        return bool(self.lib.rf_sched_proc_idle(self.handle, proc))

    def polls(self, proc: int) -> int:
        """How often the process's main thread has returned from a poll."""
        return int(self.lib.rf_sched_proc_polls(self.handle, proc))

    def hold(self, proc: int, held: bool) -> None:
        """Keep an idle process from resuming until released (its first thread to wake waits)."""
        self.lib.rf_sched_hold_proc(self.handle, proc, 1 if held else 0)

    def last_woken(self) -> int:
        return int(self.lib.rf_sched_last_woken(self.handle))

    def woken_threads(self) -> list[tuple[int, int]]:
        """(pid, tid) of every thread the last clock move woke, in slot order."""
        n = self.last_woken()
        pids, tids = (ctypes.c_int32 * max(n, 1))(), (ctypes.c_int32 * max(n, 1))()
        got = self.lib.rf_sched_woken(self.handle, pids, tids, n)
        return list(zip(pids[:got], tids[:got], strict=True))

    def counts(self) -> dict[str, int]:
        out = (ctypes.c_int * 8)()
        self.lib.rf_sched_counts(self.handle, out)
        return dict(zip(("running", "messages", "threads", "processes", "generation", "parks", "proc_scans",
                         "turns"), out, strict=True))

    def deadlines(self, within_ns: int) -> list[int]:
        """The virtual deadlines of blocked threads from the first to `within_ns` after it, sorted ([] if no
        thread waits with a deadline): what a cluster's coordinator needs to move every part's clock together
        (realfish.cluster). Read from the shared file, as the scheduler reads it."""
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
            n = min(struct.unpack_from("=i", m, _NSLOTS_AT)[0], _SLOTS_MAX)
            found = [d for state, _p, _t, _x, d in _SLOT.iter_unpack(m[_SLOTS_AT:_SLOTS_AT + n * _SLOT.size])
                     if state == _SLOT_BLOCKED and d != NONE]
        if not found:
            return []
        first = min(found)
        return sorted({d for d in found if d <= first + within_ns})

    def shared_now(self) -> int:
        """`now` as the shared file has it (the same as now_ns(): for the layout's test)."""
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
            return int(struct.unpack_from("=q", m, _NOW_AT)[0])

    def close(self) -> None:
        if self.handle:
            self.lib.rf_sched_close(self.handle)
            self.handle = None
