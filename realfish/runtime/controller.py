"""The controller: one UNIX seqpacket server that every libreal-loaded daemon talks to.

libreal sends one text line per message; some get a reply (with a descriptor passed by SCM_RIGHTS), some do
not (FIB updates, closes). Every verb is in `VERBS` at the end of this module, with its handler, and in
docs/control-channel.md. The network's state lives in the `Broker`; what a daemon's connect() meets is the
peers' to say (peers.py: the routers running here, or a recording's in a replay, replayer.py). This module is
the wire and the bookkeeping the runtime uses to tell when the network is quiet: the time of the last event,
the attempts still pending, and the bytes in flight on emulated connections (read with SIOCOUTQ on the
controller's duplicates of both ends).
"""

from __future__ import annotations

import array
import errno
import fcntl
import ipaddress
import os
import resource
import selectors
import socket
import termios
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from realfish.runtime.broker import Attempt, Broker, Listener
from realfish.runtime.peers import Client, Connection, LivePeers, Peers, Switchboard
from realfish.runtime.raw import RawInboxes
from realfish.runtime.vclock import ADVANCED, IDLE_FOREVER, IDLE_UNTIL_LIMIT, NONE, VirtualClock

SIOCOUTQ = termios.TIOCOUTQ


class ControllerFailed(RuntimeError):
    """The controller's thread died: nothing answers the daemons or moves the clock."""


# The router name a zygote (zygote.py) says hello with: it is no router, and its children say their own.
ZYGOTE = "-"


# A connection closed within this long of opening (virtual ns) was refused by the peer's BGP, not a session.
CYCLE_NS = 1_000_000_000


def _recv_nowait(sock: socket.socket) -> tuple[bytes, list[int]]:
    """socket.recv_fds(), non-blocking (Python 3.11's recv_fds drops its flags argument)."""
    # libreal sends what one netlink write of zebra's changed as one message (up to 32 KiB of lines)
    data, anc, _flags, _addr = sock.recvmsg(1 << 16, socket.CMSG_SPACE(array.array("i").itemsize),
                                            socket.MSG_DONTWAIT)
    fds = array.array("i")
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    return data, list(fds)


class Controller:
    def __init__(self, broker: Broker, path: str, clock: VirtualClock | None = None,
                 peers: Callable[[Switchboard], Peers] = LivePeers, turns: list[str] | None = None):
        # The controller holds duplicates of both ends of every emulated connection and of every daemon's pipes
        # and UNIX sockets (about 22 per router), and a pidfd per forked daemon: all the descriptors the hard
        # limit allows, raised (as root) to the kernel's own per-process limit: k=28 needs about 25,000.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if os.geteuid() == 0:
            try:
                hard = max(hard, int(Path("/proc/sys/fs/nr_open").read_text()))
            except (OSError, ValueError):
                pass
        if soft < hard:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            except (ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        self.broker = broker
        self.clock = clock
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.server.bind(path)
        os.chmod(path, 0o600)
        self.server.listen(1024)
        self.server.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.server, selectors.EVENT_READ)
        self.lock = threading.RLock()
        # A wake-up for the loop from other threads (wake): a cluster's part raising the limit or asking for a
        # fresh step, while the loop waits idle at the limit (idle_poll_s)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.sel.register(self._wake_r, selectors.EVENT_READ)
        self.stepped = threading.Condition()  # notified after every step of the scheduler
        self.clients: dict[int, Client] = {}
        self.attempts: dict[int, Attempt] = {}  # connects pending (pend), until they finish
        self.resolved: dict[int, tuple[int | None, int, str, int]] = {}  # id -> (fd, errno, laddr, lport)
        self.connections: dict[int, Connection] = {}
        # pid -> id -> (our duplicate of a daemon's pipe or UNIX socket or -1 if only watched, its inode)
        self.local: dict[int, dict[int, tuple[int, int]]] = {}
        self.conns_of: dict[int, set[int]] = {}  # pid -> its daemon's connections (a dead daemon's are closed)
        self.proc_of: dict[int, int] = {}  # pid -> its number in the clock's process table (HELLO)
        self._ranks: dict[str, int] = {}  # router -> its place in the turns (rank)
        self._turns = turns  # routers in the order an ordered run gives them turns (None: by name)
        self.raw = RawInboxes(clock)  # emulated raw IP sockets' inboxes (raw.py)
        self.last_event = time.monotonic()
        self.last_route_change = time.monotonic()
        self.last_event_v = 0  # the same two, in virtual ns (0 without a virtual clock)
        self.last_route_change_v = 0
        self.idle_forever = False  # the last step found nothing running and no deadline at all
        # Connections that opened and closed at once since the last route change (a peer that refuses the
        # session): the same one again is steady state, no event (else a 120 s connect-retry would keep the
        # quiet period from ever ending, though nothing changes)
        self._cycled: set[tuple[object, ...]] = set()
        # Hooks for a cluster run (realfish.cluster), None otherwise: told every FIB line a daemon sends
        # (router, line), after the broker has it
        self.fib_hook: Callable[[str, str], None] | None = None
        self.last_step = -1  # what the scheduler's last step found (vclock's BUSY, ADVANCED, IDLE_*)
        self.steps = 0  # how many steps it took
        # seconds to wait for a message when the last step found the emulation idle at the limit (0: none, the
        # loop steps again at once; a cluster's part waits there for the coordinator, maybe for a while)
        self.idle_poll_s = 0.0
        self.limit_ns = NONE  # the clock never moves past this (virtual ns): the end of a quiet period, a run_for
        # What the controller did, in order, one "virtual-ns what" line each: on disk as it happens (a long run
        # would otherwise hold it all in memory, and a crash would lose it)
        self.journal_path = os.path.join(os.path.dirname(path), "journal.log")
        self._journal = open(self.journal_path, "w")
        self.events = 0
        self.log: list[str] = []
        self.exited: list[Client] = []
        self._stop = threading.Event()
        self._draining = False
        self.thread = threading.Thread(target=self._run, name="realfish-controller", daemon=True)
        self.failure: str | None = None  # the controller's own crash, with its traceback
        # Where the routers' peers are (peers.py): running here (the broker decides), or a recording's (replayer.py)
        self.peers = peers(self)

    def start(self) -> None:
        self.thread.start()

    def wake(self) -> None:
        """Have the loop look again now (it may be waiting idle at the limit)."""
        with self.stepped:
            if self._wake_w < 0:
                return  # stopped
            try:
                os.write(self._wake_w, b"w")
            except BlockingIOError:
                pass  # a wake-up is pending already

    def wait_step(self, after: int, timeout: float) -> bool:
        """Wake the loop and wait until the scheduler has taken a step after step number `after`."""
        self.wake()
        with self.stepped:
            return self.stepped.wait_for(lambda: self.steps > after, timeout)

    def stop(self) -> None:
        self._stop.set()
        self.wake()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        with self.lock:
            for c in list(self.clients.values()):
                c.sock.close()
            for conn in self.connections.values():
                for fd in conn.ends:
                    if self.clock:
                        self.clock.untrack(fd)
                    os.close(fd)
            self.connections.clear()
            self.raw.close_all()
            for pid in list(self.local):
                for tid in list(self.local.get(pid, {})):
                    self._untrack(pid, tid)
            for a in self.attempts.values():
                if a.wake_fd >= 0:
                    os.close(a.wake_fd)
            self.attempts.clear()
            for kept, *_ in self.resolved.values():
                if kept is not None:
                    os.close(kept)
            self.resolved.clear()
            for lst in self.broker.listeners.values():
                if isinstance(lst.channel, socket.socket):
                    lst.channel.close()
        self._journal.close()
        self.sel.close()
        with self.stepped:  # (wake() writes under it: never into a descriptor number reused since)
            if self._wake_w >= 0:
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_w = -1
        self.server.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    # -- the journal ------------------------------------------------------------------------------------------
    def _record(self, vtime: int, what: str) -> None:
        self._journal.write(f"{vtime} {what}\n")

    def journal(self) -> list[tuple[int, str]]:
        """The journal so far: (virtual ns, what), in order."""
        self._journal.flush()
        with open(self.journal_path) as f:
            return [(int(t), what) for t, what in (line.rstrip("\n").split(" ", 1) for line in f)]

    # -- bookkeeping for quiescence ---------------------------------------------------------------------------
    def in_flight(self) -> int:
        """Bytes written on emulated connections and not yet read by the other daemon (with the virtual clock:
        as its scheduler counts them, one per watched end with data)."""
        if self.clock:
            with self.lock:
                return self.clock.in_flight() + self.raw.in_flight()
        total = 0
        buf = array.array("i", [0])
        with self.lock:
            for conn in self.connections.values():
                for fd in conn.ends:
                    try:
                        fcntl.ioctl(fd, SIOCOUTQ, buf, True)
                        total += buf[0]
                    except OSError:
                        pass
            total += self.raw.in_flight()
        return total

    def _event(self, route: bool = False) -> None:
        now = time.monotonic()
        self.last_event = now
        vnow = self.clock.now_ns() if self.clock else 0
        self.last_event_v = vnow
        if route:
            self.last_route_change = now
            self.last_route_change_v = vnow
            self._cycled.clear()
        self.events += 1
        self.peers.event()

    def changed(self) -> None:
        """Something outside the messages changed what the broker decides: look at pending attempts again, now
        (before the clock can move)."""
        with self.lock:
            self.peers.changed()

    # -- the loop ---------------------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except Exception:
            # Nothing answers the daemons nor moves the clock any more: the emulation says so (Emulation's
            # waits raise it) instead of waiting out its timeout.
            self.failure = traceback.format_exc()

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = 0 if self.clock else 0.05
            if self.idle_poll_s and self.last_step == IDLE_UNTIL_LIMIT:
                wait = self.idle_poll_s  # at the limit with nothing to do: no need to spin until it is raised
            ready = self.sel.select(timeout=wait)
            if any(key.fileobj == self._wake_r for key, _ in ready):
                ready = [(key, ev) for key, ev in ready if key.fileobj != self._wake_r]
                try:
                    os.read(self._wake_r, 4096)
                except BlockingIOError:
                    pass
            for key, _ in ready:
                if key.fileobj is self.server:
                    self._accept()
                else:
                    self._read(key.data)
            with self.lock:
                self.peers.settle(busy=bool(ready))
                if not self.clock or ready:
                    continue
                # Nothing to answer: let the clock move if the whole emulation is idle (the peers' next event is a
                # deadline too)
                due, hold = self.peers.due(self.limit_ns)
                hold = hold and due <= self.limit_ns
                limit = min(self.limit_ns, due)
            r = self.clock.step(limit, hold)
            with self.stepped:
                self.last_step, self.steps = r, self.steps + 1
                self.stepped.notify_all()
            if r == ADVANCED:
                self._record(self.clock.now_ns(), f"clock: woke {self._who(self.clock.woken_threads())}")
            self.idle_forever = r == IDLE_FOREVER

    def _who(self, threads: list[tuple[int, int]]) -> str:
        """`router/daemon:tid` for each woken thread (the pid when its daemon has not said hello yet)."""
        names = {c.pid: f"{c.router}/{c.daemon}" for c in self.clients.values() if c.pid}
        return " ".join(f"{names.get(pid, pid)}:{tid}" for pid, tid in threads)

    def _accept(self) -> None:
        try:
            sock, _ = self.server.accept()
        except BlockingIOError:
            return
        sock.setblocking(True)
        client = Client(sock)
        self.clients[sock.fileno()] = client
        self.sel.register(sock, selectors.EVENT_READ, client)

    def _read(self, client: Client) -> None:
        if client.sock.fileno() < 0:
            return  # gone while a CONNECT drained the channels (drain)
        try:
            data, fds = _recv_nowait(client.sock)
        except BlockingIOError:
            return  # its message was handled already, by drain
        except OSError:
            data, fds = b"", []
        if not data:
            self._gone(client)
            return
        with self.lock:
            try:
                text = data.decode(errors="replace")
                if "\n" in text:  # zebra's address and route changes of one netlink write, in order
                    for line in text.split("\n"):
                        self._handle(client, line)
                else:
                    self._handle(client, text, fds[0] if fds else -1)
            except Exception as e:  # a malformed line must not kill the controller
                where = traceback.extract_tb(e.__traceback__)[-1]
                self.log.append(f"{client.router}/{client.daemon}: cannot handle {data[:200]!r}: {e!r} "
                                f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})")
                verb = VERBS.get(data.split(b" ", 1)[0].decode(errors="replace"))
                if verb and verb.replies:  # the daemon waits for an answer
                    self.reply(client, f"ERR {errno.EIO}")
            finally:
                if self.clock:
                    self.clock.message_done()

    def rank(self, router: str, daemon: str) -> int:
        """A daemon's place in an ordered run's turns: by router (the given order, else by name), then zebra,
        staticd, bgpd, ospfd, other."""
        if not self._ranks:
            self._ranks = {r: i for i, r in enumerate(self._turns or sorted(self.broker.fibs))}
        if router not in self._ranks:
            return 0  # a zygote, or a router not in the network: after every known one
        kinds = ("zebra", "staticd", "bgpd", "ospfd", "ospf6d")
        return 1 + self._ranks[router] * 8 + (kinds.index(daemon) if daemon in kinds else len(kinds))

    def _watched(self, fd: int, reader: int = -1) -> bool:
        """A daemon's descriptor, given to the clock to watch without our keeping it (vclock.watch): True if it
        was, and `fd` is closed; False in a replay (the replayer reads and closes ends itself) or if the clock
        cannot watch it. Holding a duplicate of every daemon's pipes and connection ends needs about 45
        descriptors per router, more than the controller may have at k=24 and beyond."""
        if self.clock is None or not self.peers.in_place or not self.clock.watch(fd, reader):
            return False
        os.close(fd)
        return True

    def _track(self, c: Client, tid: int, fd: int) -> None:
        """A daemon's pipe or UNIX stream socket (libreal's track.c): bytes waiting on it hold the clock. The
        inode is kept, for tests and diagnosis; the descriptor only if it cannot be watched."""
        assert self.clock is not None
        ino = os.fstat(fd).st_ino
        if self._watched(fd, c.proc):
            fd = -1
        else:
            self.clock.track(fd, c.proc)
        self.local.setdefault(c.pid, {})[tid] = (fd, ino)

    def _untrack(self, pid: int, tid: int) -> None:
        fd, _ = self.local.get(pid, {}).pop(tid, (-1, 0))
        if fd >= 0:
            if self.clock:
                self.clock.untrack(fd)
            os.close(fd)

    def _gone(self, client: Client) -> None:
        self.sel.unregister(client.sock)
        self.clients.pop(client.sock.fileno(), None)
        client.sock.close()
        with self.lock:
            for lid in client.listeners:
                self._unlisten(lid)
            for cid in list(self.conns_of.get(client.pid, ())):
                self._close(cid)
            self.raw.gone(client.pid)
            for tid in list(self.local.get(client.pid, {})):
                self._untrack(client.pid, tid)
            self.local.pop(client.pid, None)
            if self.clock and client.proc >= 0:
                self.clock.process_gone(client.proc)
            self.exited.append(client)
            self._event()

    # -- what peers use (peers.Switchboard) -------------------------------------------------------------------
    def reply(self, client: Client, text: str, fd: int | None = None) -> None:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))] if fd is not None else []
        try:
            client.sock.sendmsg([text.encode()], anc)
        except OSError as e:
            self.log.append(f"reply to {client.router}/{client.daemon} failed: {e}")

    def pend(self, c: Client, a: Attempt) -> None:
        r, a.wake_fd = os.pipe()
        self.attempts[a.id] = a
        self.reply(c, f"PENDING {a.id}", r)
        os.close(r)

    def finish(self, a: Attempt, fd: int | None, err: int, laddr: str, lport: int) -> None:
        if err:
            self.note(f"failed {a.id} {a.router} -> {a.dst}:{a.dport} {errno.errorcode.get(err, err)}")
        self.attempts.pop(a.id, None)
        self.resolved[a.id] = (fd, err, laddr, lport)
        if a.wake_fd >= 0:
            os.close(a.wake_fd)  # POLLHUP on the daemon's pipe: its SO_ERROR check asks us for the outcome
            a.wake_fd = -1

    def offer(self, listener: Listener, msg: str, end: socket.socket) -> None:
        """Put a connection's end in a listener's accept queue (libreal's accept() reads `msg` with it)."""
        chan = listener.channel
        assert isinstance(chan, socket.socket)
        try:
            chan.sendmsg([msg.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [end.fileno()]))])
        except OSError as e:
            self.log.append(f"accept queue of {listener.router} full: {e}")

    def register(self, conn: Connection) -> None:
        """A connection is open: its ends (the controller's duplicates) count for bytes in flight."""
        if self.clock:
            # Watched ends are the daemons' alone: a dead daemon's end then closes as the kernel closes it.
            readers = [self.proc_of.get(pid, -1) for pid in conn.pids] + [-1] * len(conn.ends)  # ends[i]: pids[i]
            kept = [(end, r) for end, r in zip(conn.ends, readers, strict=False) if not self._watched(end, r)]
            conn.ends = tuple(end for end, _ in kept)
            for end, r in kept:
                self.clock.track(end, r)
        self.note(f"connect {conn.id} {conn.description}")
        self.connections[conn.id] = conn
        for pid in conn.pids:
            self.conns_of.setdefault(pid, set()).add(conn.id)
        conn.opened_ns = self.now_ns()
        if not conn.key or conn.key not in self._cycled:
            self._event()

    def drop_end(self, cid: int) -> None:
        """The peer's end of a connection is gone (a replay's peer closed it): stop watching our duplicate of it,
        and close that, so that the router reads the end."""
        conn = self.connections.get(cid)
        if conn is None or len(conn.ends) < 2:
            return
        if self.clock:
            self.clock.untrack(conn.ends[1])
        os.close(conn.ends[1])
        conn.ends = conn.ends[:1]
        self._event()

    def connection(self, cid: int) -> Connection | None:
        return self.connections.get(cid)

    def unasked(self, cid: int) -> bool:
        return cid in self.resolved

    def clients_of(self, router: str, daemon: str) -> list[Client]:
        return [c for c in self.clients.values() if (c.router, c.daemon) == (router, daemon)]

    def drain(self, rounds: int = 100) -> None:
        """Handle every message already waiting on any daemon's channel. A connect must meet the FIBs as they are
        when the daemon acts: bgpd connects to an iBGP peer as soon as zebra tells it (NHT) the peer is reachable,
        and the route zebra installed just before may still wait unread on zebra's channel (the select loop reads
        channels in no causal order). Without this, such a connect gets ENETUNREACH and bgpd waits its 120 s
        connect-retry timer."""
        if self._draining:
            return
        self._draining = True
        try:
            for _ in range(rounds):
                ready = [key for key, _ in self.sel.select(timeout=0) if isinstance(key.data, Client)]
                if not ready:
                    return
                for key in ready:
                    self._read(key.data)
        finally:
            self._draining = False

    def note(self, what: str) -> None:
        self._record(self.clock.now_ns() if self.clock else 0, what)

    def now_ns(self) -> int:
        """Now, on the clock that times pending connects: the virtual one if there is one."""
        return self.clock.now_ns() if self.clock else time.monotonic_ns()

    # -- messages (docs/control-channel.md; VERBS below) ------------------------------------------------------
    def _handle(self, c: Client, line: str, fd: int = -1) -> None:
        words = line.split()
        verb = VERBS.get(words[0])
        if fd >= 0 and not (verb and verb.takes_fd):
            os.close(fd)
        if verb is None:
            self.log.append(f"{c.router}/{c.daemon}: unknown message {line[:200]!r}")
            return
        verb.handle(self, c, Msg(words, line, fd))

    def _on_hello(self, c: Client, m: Msg) -> None:
        w = m.words
        c.router, c.daemon, c.pid = w[1], w[2], int(w[3])
        c.proc = int(w[4]) if len(w) > 4 else -1
        self.proc_of[c.pid] = c.proc
        if self.clock and c.proc >= 0:
            self.clock.set_rank(c.proc, self.rank(c.router, c.daemon))
        known = c.router in self.broker.fibs or c.router == ZYGOTE
        self.reply(c, "OK" if known else f"ERR {errno.ENOENT}")

    def _on_thread(self, c: Client, m: Msg) -> None:
        if self.clock is None or m.fd < 0:  # no clock to wake it
            if m.fd >= 0:
                os.close(m.fd)
            return
        remote = int(m.words[4]) if len(m.words) > 4 and self.peers.in_place else -1
        self.clock.set_wake(int(m.words[1]), m.fd, c.pid, remote)

    def _on_track(self, c: Client, m: Msg) -> None:
        if self.clock is None or m.fd < 0:
            if m.fd >= 0:
                os.close(m.fd)
            return
        self._track(c, int(m.words[1]), m.fd)

    def _on_untrack(self, c: Client, m: Msg) -> None:
        self._untrack(c.pid, int(m.words[1]))

    def _fib_change(self, c: Client, m: Msg) -> None:
        """RT, NH and ADDR: what zebra installed, as its netlink write said it (a zygote's zebra has no FIB)."""
        fib = self.broker.fibs.get(c.router)
        if fib is None:
            self.log.append(f"{c.router}/{c.daemon}: {m.words[0]} for a router without a FIB: {m.line[:200]!r}")
            return
        if self.fib_hook:
            self.fib_hook(c.router, m.line)
        if m.words[0] == "NH":
            fib.nexthop(m.line)
            return
        if m.words[0] == "RT":
            fib.route(m.line)
        else:
            self.broker.address(c.router, m.words[1] == "add", int(m.words[2]), m.words[3])
        self._event(route=True)
        self._record(self.last_event_v, f"{c.router} {m.line}")

    def _on_bind(self, c: Client, m: Msg) -> None:
        ok = self.broker.bind_ok(c.router, m.words[2])
        self.reply(c, "OK" if ok else f"ERR {errno.EADDRNOTAVAIL}")

    def _on_listen(self, c: Client, m: Msg) -> None:
        family, addr, port, v6only = int(m.words[1]), m.words[2], int(m.words[3]), m.words[4] == "1"
        ip = None if addr in ("*", "0.0.0.0", "::") else ipaddress.ip_address(addr)
        for lst in self.broker.listeners.values():
            if (lst.router, lst.family, lst.addr, lst.port) == (c.router, family, ip, port) and port:
                self.reply(c, f"ERR {errno.EADDRINUSE}")
                return
        if port == 0:
            port = self.broker.ephemeral_port(c.router)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        lst = Listener(self.broker.next_id(), c.router, family, ip, port, v6only, channel=ours, pid=c.pid)
        self.broker.listeners[lst.id] = lst
        self.broker.listeners_version += 1
        c.listeners.add(lst.id)
        self.reply(c, f"OK {lst.id} {port}", theirs.fileno())
        theirs.close()
        self._event()

    def _on_unlisten(self, c: Client, m: Msg) -> None:
        self._unlisten(int(m.words[1]))
        c.listeners.discard(int(m.words[1]))

    def _unlisten(self, lid: int) -> None:
        lst = self.broker.listeners.pop(lid, None)
        self.broker.listeners_version += 1
        if lst and isinstance(lst.channel, socket.socket):
            lst.channel.close()

    def _on_listener_option(self, c: Client, m: Msg) -> None:
        lst = self.broker.listeners.get(int(m.words[1]))
        if lst is None:
            return
        name, args = m.words[2], m.words[3:]
        self.broker.listeners_version += 1
        if name == "minttl":
            lst.minttl = int(args[0])
        elif name == "md5":
            ip = ipaddress.ip_address(args[0])
            if args[1] == "-":
                lst.md5.pop(ip, None)
            else:
                lst.md5[ip] = args[1]
        self._event()

    def _on_connect(self, c: Client, m: Msg) -> None:
        # CONNECT fam laddr lport raddr rport ttl md5hex|-
        w = m.words
        family, laddr, lport, raddr, rport, ttl, md5 = int(w[1]), w[2], int(w[3]), w[4], int(w[5]), int(w[6]), w[7]
        src = None if laddr in ("*", "0.0.0.0", "::") else ipaddress.ip_address(laddr)
        a = Attempt(self.broker.next_id(), c.router, family, src, lport, ipaddress.ip_address(raddr), rport, ttl,
                    None if md5 == "-" else md5, self.now_ns(), pid=c.pid)
        self.peers.connect(c, a)

    def _on_resolve(self, c: Client, m: Msg) -> None:
        aid = int(m.words[1])
        if aid in self.attempts:
            self.reply(c, "PENDING")
            return
        fd, err, laddr, lport = self.resolved.pop(aid, (None, errno.ETIMEDOUT, "", 0))
        if fd is not None:
            self.reply(c, f"OK {laddr} {lport}", fd)
            os.close(fd)
        else:
            self.reply(c, f"ERR {err}")

    def _on_close(self, c: Client, m: Msg) -> None:
        self._close(int(m.words[1]))

    def _close(self, cid: int) -> None:
        a = self.attempts.pop(cid, None)
        if a and a.wake_fd >= 0:
            os.close(a.wake_fd)
            a.wake_fd = -1
        res = self.resolved.pop(cid, None)
        if res and res[0] is not None:
            os.close(res[0])
        conn = self.connections.pop(cid, None)
        if conn:
            for pid in conn.pids:
                self.conns_of.get(pid, set()).discard(cid)
            for fd in conn.ends:
                if self.clock:
                    self.clock.untrack(fd)
                os.close(fd)
            at_once = bool(conn.key) and self.now_ns() - conn.opened_ns < CYCLE_NS
            if not (at_once and conn.key in self._cycled):
                if at_once:
                    self._cycled.add(conn.key)
                self._event()  # a failed attempt closing is no news; an established connection closing is

    # Raw IP sockets: packets never pass through here (raw.py)
    def _on_raw(self, c: Client, m: Msg) -> None:
        inbox_id = self.broker.next_id()
        theirs = self.raw.open(inbox_id, c.router, int(m.words[1]), c.pid, c.proc)
        self.reply(c, f"OK {inbox_id}", theirs.fileno())
        theirs.close()

    def _on_raw_peer(self, c: Client, m: Msg) -> None:
        fd = self.peers.raw_peer(c, m.words[1], int(m.words[2]))
        if fd is None:
            self.reply(c, f"ERR {errno.ENOENT}")
        else:
            self.reply(c, "OK", fd)
            os.close(fd)

    def _on_raw_close(self, c: Client, m: Msg) -> None:
        self.raw.close(int(m.words[1]))


class Msg(NamedTuple):
    """One control message: its words, the whole line, and the descriptor it carried (-1: none)."""

    words: list[str]
    line: str
    fd: int


@dataclass(frozen=True)
class Verb:
    handle: Callable[[Controller, Client, Msg], None]
    replies: bool  # libreal waits for an answer (rf_ctl_request): one that cannot be handled still gets ERR
    takes_fd: bool = False  # the handler keeps the descriptor the message carried; any other is closed


# The control channel, libreal to the controller: every verb and its handler. docs/control-channel.md says what
# each carries, what it answers and which of native/src sends it.
VERBS: dict[str, Verb] = {
    "HELLO": Verb(Controller._on_hello, replies=True),
    "THREAD": Verb(Controller._on_thread, replies=False, takes_fd=True),
    "TRACK": Verb(Controller._on_track, replies=False, takes_fd=True),
    "UNTRACK": Verb(Controller._on_untrack, replies=False),
    "RT": Verb(Controller._fib_change, replies=False),
    "NH": Verb(Controller._fib_change, replies=False),
    "ADDR": Verb(Controller._fib_change, replies=False),
    "BIND": Verb(Controller._on_bind, replies=True),
    "LISTEN": Verb(Controller._on_listen, replies=True),
    "UNLISTEN": Verb(Controller._on_unlisten, replies=False),
    "LOPT": Verb(Controller._on_listener_option, replies=False),
    "CONNECT": Verb(Controller._on_connect, replies=True),
    "RESOLVE": Verb(Controller._on_resolve, replies=True),
    "CLOSE": Verb(Controller._on_close, replies=False),
    "RAW": Verb(Controller._on_raw, replies=True),
    "RAWPEER": Verb(Controller._on_raw_peer, replies=True),
    "RAWCLOSE": Verb(Controller._on_raw_close, replies=False),
}
