"""Routers' daemons forked from an initialised image: one zygote per daemon kind per run (native/src/zygote.c).

A zygote is an unmodified FRR daemon started under libreal with REALFISH_ZYGOTE set: it runs FRR's whole
initialisation (command graph, YANG modules, logging, privileges) once, stops at frr_config_fork(), FRR's own
daemonise point, and from there forks a child per router when asked. The child takes its router's identity and
goes on into FRR's config reading and event loop; the image's pages stay shared copy-on-write.

The runtime holds each child as a `ForkedDaemon`, which answers like a `subprocess.Popen` (pid, poll, wait,
send_signal, kill): the zygote is its parent and reports its exit status; signals go through a pidfd, so a
reused PID is never signalled.
"""

from __future__ import annotations

import array
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from realfish import frr
from realfish.clean import proc_state
from realfish.runtime.controller import ZYGOTE

# Daemons whose start-up is forked: all that the emulation runs.
FORKED_DAEMONS = ("zebra", "staticd", "bgpd", "ospfd", "ospf6d")


class ZygoteFailed(RuntimeError):
    pass


@dataclass
class Fork:
    """One router's daemon to fork: its name, directory, FRR pathspace, random seed and recording directory."""

    router: str
    rdir: Path
    pathspace: str
    seed: int
    record: Path | None = None


def _readable(sock: socket.socket, timeout: float) -> bool:
    """poll, not select: a run's descriptors go far past select's 1024."""
    p = select.poll()
    p.register(sock, select.POLLIN)
    return bool(p.poll(timeout * 1000))


class Zygote:
    def __init__(self, daemon: str, zdir: Path, argv: list[str], env: dict[str, str]):
        self.daemon = daemon
        self.zdir = zdir
        self.exits: dict[int, int] = {}  # child pid -> wait status, as the zygote reported it
        self.replies: list[list[str]] = []
        self.cpu_s = 0.0  # CPU of the children that ended
        self._reaped_at = 0.0
        self.ended = False
        self.lock = threading.Lock()  # reading the socket
        self.requests = threading.Lock()  # one fork request and its reply at a time
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        env = dict(env, REALFISH_DAEMON=daemon, REALFISH_ZYGOTE=str(theirs.fileno()), REALFISH_ZYGOTE_DIR=str(zdir))
        self.log = zdir / f"{daemon}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=zdir,
                                         stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                                         start_new_session=True)
        theirs.close()

    @classmethod
    def daemon_kind(cls, daemon: str, zdir: Path, pathspace: str, env: dict[str, str]) -> Zygote:
        """A zygote of an FRR daemon, under libreal as the zygote's own (non-)router."""
        argv = frr.daemon_argv(daemon, zdir, pathspace)
        if daemon == "zebra":
            # zebra keeps -z's argument as its own pointer and listens there after the fork point; without it it
            # listens at frr_zclientpath, which each child sets to its router's.
            i = argv.index("-z")
            del argv[i:i + 2]
        return cls(daemon, zdir, argv, dict(env, REALFISH_ROUTER=ZYGOTE, REALFISH_IFTABLE=str(zdir / "interfaces")))

    def ready(self, check: Callable[[], None], timeout: float = 60.0) -> None:
        """Wait until the zygote has initialised and stopped at its fork point. Its pid file is ours to write (FRR
        writes one only past that point): `realfish clean` finds it there after a killed run."""
        self._next(("READY",), timeout, check)
        pidfile = self.zdir / f"{self.daemon}.pid"
        pidfile.write_text(f"{self.proc.pid}\n")

    def _next(self, words: tuple[str, ...], timeout: float,
              check: Callable[[], None] | None = None) -> tuple[str, int]:
        """The zygote's next answer among `words`. `check` is called while waiting (it raises if the run cannot
        go on, e.g. its controller died: nothing answers the zygote then)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                self._take()
                reply = self.replies.pop(0) if self.replies else None
            if reply and reply[0] == "ERR":
                raise ZygoteFailed(f"the {self.daemon} zygote could not fork: {os.strerror(int(reply[1]))}")
            if reply and reply[0] in words:
                return reply[0], int(reply[1])
            if self.ended:
                tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-10:])
                raise ZygoteFailed(f"the {self.daemon} zygote ended; log {self.log}:\n{tail}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise ZygoteFailed(f"the {self.daemon} zygote did not answer within {timeout:.0f} s; log {self.log}")
            if not _readable(self.sock, min(left, 0.1)) and check:
                check()

    def _take(self) -> None:
        """Every message waiting on the socket (lock held): exit reports kept by PID, replies in order. The
        runtime's memory sampler reads exits from another thread while the main thread waits for a reply."""
        while not self.ended and _readable(self.sock, 0):
            parts = self.sock.recv(256).decode().split()
            if not parts:
                self.ended = True
            elif parts[0] == "EXIT":
                self.exits[int(parts[1])] = int(parts[2])
                self.cpu_s += int(parts[3]) / 1e6
            else:
                self.replies.append(parts)

    def fork(self, router: str, rdir: Path, pathspace: str, seed: int, record: Path | None = None) -> ForkedDaemon:
        """ROUTER's daemon, forked. Its log file (and recording file) are opened here and handed over: the child
        runs as FRR's user, which may not reach them (a recording in a directory only root can enter)."""
        return self.fork_many([Fork(router, rdir, pathspace, seed, record)])[0]

    def fork_many(self, forks: list[Fork], window: int = 32) -> list[ForkedDaemon]:
        """Several children, requests sent `window` at a time before their replies are read: one round trip to
        the zygote per window, not per router (hundreds of routers start this way). Replies come in order."""
        children: list[ForkedDaemon] = []
        with self.requests:
            for start in range(0, len(forks), window):
                chunk = forks[start:start + window]
                for f in chunk:
                    self._send_fork(f)
                for _ in chunk:
                    _, pid = self._next(("PID",), 30.0)
                    children.append(ForkedDaemon(self, pid))
        return children

    def _send_fork(self, f: Fork) -> None:
        files = [os.open(f.rdir / f"{self.daemon}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
        try:
            if f.record is not None:
                rec = f.record / f"{f.router}.{self.daemon}.rec"
                files.append(os.open(rec, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
            conf = f.rdir / f"{self.daemon}.conf"  # its part of the router's config (realfish.daemon_configs)
            msg = f"FORK {f.router} {f.rdir} {conf if conf.exists() else f.rdir / 'empty.conf'} {f.pathspace} " \
                  f"{f.seed}".encode()
            self.sock.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", files))])
        finally:
            for fd in files:
                os.close(fd)

    def reap(self) -> None:
        """Take the exit reports waiting on the socket. At most once a millisecond: a check of every daemon asks
        once per child (1,280 bgpd children at k=32), and one look at the socket answers for all of them."""
        now = time.monotonic()
        if now - self._reaped_at < 0.001:
            return
        with self.lock:
            self._take()
        self._reaped_at = now

    def signal(self, pid: int, sig: int) -> None:
        try:
            self.sock.send(f"SIGNAL {pid} {int(sig)}".encode())
        except OSError:
            pass  # the zygote is gone: so are its children's chances to be signalled by it

    def stop(self) -> None:
        """After its children: closing the socket ends the zygote; SIGTERM and SIGKILL if it does not."""
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ForkedDaemon:
    """A zygote's child, held as the runtime holds a daemon it started itself (the subset of Popen it uses).
    Signals go through the zygote, its parent, which sends them only while the pid is still its child: a pid
    that was reaped may be another process's. (A pidfd would do the same at one descriptor per daemon, and a
    large run needs every descriptor the controller may have.)"""

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.zygote.reap()
            status = self.zygote.exits.get(self.pid)
            if status is not None:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            self.zygote.signal(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def kill_directly(self) -> None:
        """SIGKILL straight to the pid, for a zygote that does not pass signals on (or report exits): only while
        the pid is the zygote's child not yet reaped (running, or a zombie), so that it cannot be another
        process's."""
        state = proc_state(self.pid)
        if state is not None and state[0] != "Z" and state[1] == self.zygote.proc.pid:
            os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"{self.zygote.daemon}[{self.pid}]", timeout or 0.0)
            # Short: another thread waiting on the same zygote may take this child's exit report off the socket.
            _readable(self.zygote.sock, min(left, 0.005) if left is not None else 0.005)
        assert self.returncode is not None
        return self.returncode
