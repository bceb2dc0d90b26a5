"""libreal's clock and wait hooks, one by one, without FRR: a test process loads libreal with LD_PRELOAD, calls
each hook through ctypes (libc's name resolves to libreal's hook first) and reports virtual times, while a
controller here runs the virtual clock. On the virtual clock a wait of N seconds ends exactly N virtual seconds
later (the clock jumps to the deadline when nothing else can run), so every check is exact and none depends on
how fast the machine is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from realfish.runtime.broker import Broker
from realfish.runtime.controller import Controller
from realfish.runtime.emulation import interface_table
from realfish.runtime.libreal import libreal_path
from realfish.runtime.vclock import SECOND, VirtualClock
from realfish.topology import Interface, Network, Router

START, OFFSET = 5000 * SECOND, 1_767_225_600 * SECOND


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Controller, VirtualClock, Path]]:
    net = Network()
    net.add_router(Router("a", "hostname a\n", interfaces={"eth0": Interface("eth0")}))
    (tmp_path / "a.if").write_text(interface_table(net.routers["a"], 0))
    clock = VirtualClock(libreal_path(), tmp_path / "vclock", tokens=2, start_ns=START, offset_ns=OFFSET)
    ctl = Controller(Broker(net), str(tmp_path / "control.sock"), clock=clock)
    clock.freeze(False)
    ctl.start()
    try:
        yield ctl, clock, tmp_path
    finally:
        ctl.stop()
        clock.close()


# What every test program starts with: libc's functions (libreal's hooks come first) and a few helpers.
PRELUDE = """
import ctypes, json, os, select, threading, time
libc = ctypes.CDLL(None, use_errno=True)

class timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

class timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]

MONOTONIC, REALTIME, CPU = 1, 0, 2  # CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_PROCESS_CPUTIME_ID

def now(clk=MONOTONIC):
    ts = timespec()
    assert libc.clock_gettime(clk, ctypes.byref(ts)) == 0
    return ts.tv_sec * 10**9 + ts.tv_nsec

def ts_of(ns):
    return timespec(ns // 10**9, ns % 10**9)

out = {}
"""


def run(tmp: Path, code: str, timeout: float = 60) -> dict:
    env = dict(os.environ, LD_PRELOAD=str(libreal_path()), REALFISH_CONTROL=str(tmp / "control.sock"),
               REALFISH_ROUTER="a", REALFISH_DAEMON="test", REALFISH_IFTABLE=str(tmp / "a.if"),
               REALFISH_VCLOCK=str(tmp / "vclock"))
    # (the timeout only ends a test that hangs: a virtual wait that never ends fails the test either way)
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code) + "\nprint(json.dumps(out))"],
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    result: dict = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_clocks_read_the_virtual_clock(lab: tuple[Controller, VirtualClock, Path]) -> None:
    _, clock, tmp = lab
    out = run(tmp, """
        out["mono"], out["real"], out["cpu"] = now(MONOTONIC), now(REALTIME), now(CPU)
        out["boot"], out["raw"] = now(7), now(4)  # CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW
        tv = timeval()
        assert libc.gettimeofday(ctypes.byref(tv), None) == 0
        out["tod"] = tv.tv_sec * 10**6 + tv.tv_usec
        libc.time.restype = ctypes.c_long
        out["time"] = libc.time(None)
        out["py"] = time.monotonic_ns()  # Python's own clock goes through clock_gettime too
    """)
    # Nothing waited, so the clock never moved: every virtual clock reads exactly where it started.
    assert out["mono"] == out["boot"] == out["raw"] == out["py"] == START
    assert out["real"] == START + OFFSET
    assert out["tod"] == (START + OFFSET) // 1000 and out["time"] == (START + OFFSET) // SECOND
    assert 0 < out["cpu"] < START, "CPU-time clocks stay real"
    assert clock.now_ns() == START


def test_sleeps_take_exactly_their_virtual_time(lab: tuple[Controller, VirtualClock, Path]) -> None:
    _, clock, tmp = lab
    out = run(tmp, """
        def took(fn):
            t = now()
            r = fn()
            return [now() - t, r]
        out["nanosleep"] = took(lambda: libc.nanosleep(ctypes.byref(ts_of(1_500_000_000)), None))
        out["clock_nanosleep"] = took(lambda: libc.clock_nanosleep(MONOTONIC, 0, ctypes.byref(ts_of(2 * 10**9)),
                                                                   None))
        TIMER_ABSTIME = 1
        out["abs_monotonic"] = took(lambda: libc.clock_nanosleep(
            MONOTONIC, TIMER_ABSTIME, ctypes.byref(ts_of(now() + 3 * 10**9)), None))
        out["abs_realtime"] = took(lambda: libc.clock_nanosleep(
            REALTIME, TIMER_ABSTIME, ctypes.byref(ts_of(now(REALTIME) + 4 * 10**9)), None))
        out["usleep"] = took(lambda: libc.usleep(250_000))
        out["sleep"] = took(lambda: libc.sleep(5))
        out["py_sleep"] = took(lambda: time.sleep(0.75))
    """)
    assert out["nanosleep"] == [1_500_000_000, 0]
    assert out["clock_nanosleep"] == [2 * SECOND, 0]
    assert out["abs_monotonic"] == [3 * SECOND, 0]
    assert out["abs_realtime"] == [4 * SECOND, 0], "an absolute CLOCK_REALTIME deadline, less the offset"
    assert out["usleep"] == [250_000_000, 0]
    assert out["sleep"] == [5 * SECOND, 0]
    assert out["py_sleep"][0] == 750_000_000
    assert clock.now_ns() - START == sum(v[0] for v in out.values())


def test_polls_wait_virtually_for_their_timeout_or_their_descriptors(
        lab: tuple[Controller, VirtualClock, Path]) -> None:
    _, _, tmp = lab
    out = run(tmp, """
        r, w = os.pipe()
        def took(fn):
            t = now()
            res = fn()
            return [now() - t, res]
        p = select.poll()
        p.register(r, select.POLLIN)
        out["poll_timeout"] = took(lambda: len(p.poll(2000)))
        os.write(w, b"x")
        out["poll_ready"] = took(lambda: len(p.poll(2000)))
        os.read(r, 1)
        out["select_timeout"] = took(lambda: len(select.select([r], [], [], 1.25)[0]))
        ep = select.epoll()
        ep.register(r, select.EPOLLIN)
        out["epoll_timeout"] = took(lambda: len(ep.poll(3.5)))
        os.write(w, b"y")
        out["epoll_ready"] = took(lambda: len(ep.poll(3.5)))
        os.read(r, 1)
        class pollfd(ctypes.Structure):
            _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]
        fds = (pollfd * 1)(pollfd(r, 1, 0))
        out["ppoll_timeout"] = took(lambda: libc.ppoll(fds, 1, ctypes.byref(ts_of(4 * 10**9)), None))
        out["ppoll_zero"] = took(lambda: libc.ppoll(fds, 1, ctypes.byref(ts_of(0)), None))
        # Bytes a thread writes after a virtual second end another thread's wait there, not at its timeout.
        def later():
            time.sleep(1)
            os.write(w, b"z")
        threading.Thread(target=later).start()
        out["poll_woken"] = took(lambda: len(p.poll(60_000)))
    """)
    assert out["poll_timeout"] == [2 * SECOND, 0]
    assert out["poll_ready"] == [0, 1]
    assert out["select_timeout"] == [1_250_000_000, 0]
    assert out["epoll_timeout"] == [3_500_000_000, 0]
    assert out["epoll_ready"] == [0, 1]
    assert out["ppoll_timeout"] == [4 * SECOND, 0]
    assert out["ppoll_zero"] == [0, 0]
    assert out["poll_woken"] == [SECOND, 1]


def test_condition_waits_use_the_conditions_own_clock(lab: tuple[Controller, VirtualClock, Path]) -> None:
    """pthread_cond_timedwait's deadline is on the clock the condition was made with (CLOCK_REALTIME unless its
    attribute says CLOCK_MONOTONIC): libreal notes it at pthread_cond_init (glibc keeps it in a private field).
    A monotonic deadline read as a realtime one, or the reverse, would be off by the whole epoch offset."""
    _, _, tmp = lab
    out = run(tmp, """
        ETIMEDOUT = 110
        def new_cond(clk):
            attr = ctypes.create_string_buffer(8)
            assert libc.pthread_condattr_init(attr) == 0
            if clk is not None:
                assert libc.pthread_condattr_setclock(attr, clk) == 0
            cond = ctypes.create_string_buffer(48)
            assert libc.pthread_cond_init(cond, attr) == 0
            return cond
        mutex = ctypes.create_string_buffer(40)
        assert libc.pthread_mutex_init(mutex, None) == 0
        def timed(cond, clk, wait_ns):
            libc.pthread_mutex_lock(mutex)
            t = now()
            r = libc.pthread_cond_timedwait(cond, mutex, ctypes.byref(ts_of(now(clk) + wait_ns)))
            took = now() - t
            libc.pthread_mutex_unlock(mutex)
            return [took, r]
        mono, real, default = new_cond(MONOTONIC), new_cond(REALTIME), new_cond(None)
        out["monotonic"] = timed(mono, MONOTONIC, 3 * 10**9)
        out["realtime"] = timed(real, REALTIME, 4 * 10**9)
        out["default"] = timed(default, REALTIME, 5 * 10**9)
        # The same memory made a realtime condition again: its clock is the new one.
        assert libc.pthread_cond_destroy(mono) == 0
        assert libc.pthread_cond_init(mono, None) == 0
        out["remade"] = timed(mono, REALTIME, 6 * 10**9)
        # A signal from another thread after a virtual second ends the wait then, not at its deadline.
        def signal_later():
            time.sleep(1)
            libc.pthread_mutex_lock(mutex)
            libc.pthread_cond_signal(real)
            libc.pthread_mutex_unlock(mutex)
        threading.Thread(target=signal_later).start()
        out["signaled"] = timed(real, REALTIME, 60 * 10**9)
    """)
    assert out["monotonic"] == [3 * SECOND, 110]
    assert out["realtime"] == [4 * SECOND, 110]
    assert out["default"] == [5 * SECOND, 110]
    assert out["remade"] == [6 * SECOND, 110]
    assert out["signaled"] == [SECOND, 0]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_hooks_called_before_libreals_constructor(tmp_path: Path) -> None:
    """A library's constructor may run before libreal's and call a hooked function: the hook loads libreal's
    table of real functions first (bind, listen, connect and accept once called a NULL pointer there)."""
    (tmp_path / "early.c").write_text(textwrap.dedent("""
        #include <stdio.h>
        #include <sys/socket.h>
        #include <time.h>
        #include <unistd.h>
        int early_result = -99;
        __attribute__((constructor)) static void early(void)
        {
            struct sockaddr sa = {0};
            struct timespec ts;
            early_result = listen(-1, 0) + bind(-1, &sa, sizeof(sa)) + connect(-1, &sa, sizeof(sa)) +
                           accept(-1, NULL, NULL) + clock_gettime(CLOCK_MONOTONIC, &ts);
        }
    """))
    (tmp_path / "main.c").write_text(textwrap.dedent("""
        #include <stdio.h>
        extern int early_result;
        int main(void) { printf("%d\\n", early_result); return 0; }
    """))
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "libearly.so"), str(tmp_path / "early.c")],
                   check=True)
    subprocess.run(["gcc", "-o", str(tmp_path / "main"), str(tmp_path / "main.c"), f"-L{tmp_path}", "-learly",
                    f"-Wl,-rpath,{tmp_path}"], check=True)
    proc = subprocess.run([str(tmp_path / "main")], env=dict(os.environ, LD_PRELOAD=str(libreal_path())),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "-4", "four failed calls (EBADF) and a clock read"


def test_a_raw_futex_wait_counts_as_blocked(lab: tuple[Controller, VirtualClock, Path]) -> None:
    """FRR's RCU thread waits with syscall(SYS_futex) directly: libreal counts it as blocked while it waits, or
    the clock would never move again (a thread that looks running holds it). Here one thread waits on a futex
    word while the main thread sleeps two virtual seconds, then wakes it."""
    _, _, tmp = lab
    out = run(tmp, """
        SYS_futex, FUTEX_WAIT, FUTEX_WAKE = 202, 0, 1
        word = ctypes.c_int(0)
        libc.syscall.restype = ctypes.c_long
        def wait():
            while word.value == 0:
                libc.syscall(ctypes.c_long(SYS_futex), ctypes.byref(word), ctypes.c_long(FUTEX_WAIT),
                             ctypes.c_long(0), None, None, ctypes.c_long(0))
        t = threading.Thread(target=wait)
        t.start()
        start = now()
        time.sleep(2)
        word.value = 1
        libc.syscall(ctypes.c_long(SYS_futex), ctypes.byref(word), ctypes.c_long(FUTEX_WAKE), ctypes.c_long(1),
                     None, None, ctypes.c_long(0))
        t.join()
        out["slept"] = now() - start
    """)
    assert out["slept"] == 2 * SECOND


def test_a_broadcast_wakes_every_untimed_waiter_at_its_instant(lab: tuple[Controller, VirtualClock, Path]) -> None:
    """pthread_cond_wait without a deadline blocks (the clock may move past it); pthread_cond_broadcast after a
    3-second sleep in another thread wakes both waiters then (new threads count as running until they block,
    so the clock cannot move before they wait)."""
    _, _, tmp = lab
    out = run(tmp, """
        cond, mutex = ctypes.create_string_buffer(48), ctypes.create_string_buffer(40)
        assert libc.pthread_cond_init(cond, None) == 0 and libc.pthread_mutex_init(mutex, None) == 0
        start, woke, flag = now(), [], [0]
        def waiter():
            libc.pthread_mutex_lock(mutex)
            while not flag[0]:
                libc.pthread_cond_wait(cond, mutex)
            woke.append(now() - start)
            libc.pthread_mutex_unlock(mutex)
        threads = [threading.Thread(target=waiter) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(3)
        libc.pthread_mutex_lock(mutex)
        flag[0] = 1
        libc.pthread_cond_broadcast(cond)
        libc.pthread_mutex_unlock(mutex)
        for t in threads:
            t.join()
        out["woke"] = woke
    """)
    assert out["woke"] == [3 * SECOND, 3 * SECOND]
