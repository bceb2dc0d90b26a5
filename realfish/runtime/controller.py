"""The controller: one UNIX seqpacket server that every libreal-loaded daemon talks to.

libreal sends one text line per message; some get a reply (with a descriptor passed by SCM_RIGHTS), some do
not (FIB updates, closes). All state lives in the `Broker`; this module is the wire and the bookkeeping the
runtime uses to tell when the network is quiet: the time of the last event, the attempts still pending, and
the bytes in flight on emulated connections (read with SIOCOUTQ on the controller's duplicates of both ends).
"""

from __future__ import annotations

import array
import errno
import fcntl
import heapq
import ipaddress
import os
import resource
import selectors
import socket
import termios
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from realfish.runtime.broker import SYN_GIVE_UP_NS, Attempt, Broker, IPAddress, Listener, Verdict
from realfish.runtime.raw import RawInboxes
from realfish.runtime.vclock import ADVANCED, IDLE_FOREVER, NONE, VirtualClock

if TYPE_CHECKING:
    from realfish.runtime.recording import Replayer

SIOCOUTQ = termios.TIOCOUTQ
SO_SNDBUFFORCE = 32
# A UNIX stream socket charges every write as a whole buffer against SO_SNDBUF (212992 bytes by default), where
# TCP packs small writes together and grows its buffer to tcp_wmem's maximum (4 MiB). With the default, a burst
# of small BGP messages can fill the emulated connection after a few hundred writes, and bgpd then queues the
# rest in its own heap, which the kernel's TCP buffers would have held on a real host.
TCP_SNDBUF_MAX = 4 * 2**20


class ControllerFailed(RuntimeError):
    """The controller's thread died: nothing answers the daemons or moves the clock."""


# The router name a zygote (zygote.py) says hello with: it is no router, and its children say their own.
ZYGOTE = "-"


@dataclass
class Client:
    sock: socket.socket
    router: str = "?"
    daemon: str = "?"
    pid: int = 0
    proc: int = -1  # index in the virtual clock's process table
    listeners: set[int] = field(default_factory=set)




# A connection closed within this long of opening (virtual ns) was refused by the peer's BGP, not a session.
CYCLE_NS = 1_000_000_000


@dataclass
class Connection:
    id: int
    client_router: str
    server_router: str
    ends: tuple[int, ...]  # controller's duplicates of both ends, for the in-flight count
    description: str
    pids: tuple[int, int] = (0, 0)  # the two daemons, so a crash closes the connection as a kernel would
    key: tuple[object, ...] = ()  # (client, its address, server, address, port): the same attempt again
    opened_ns: int = 0


def stream_pair() -> tuple[socket.socket, socket.socket]:
    """An emulated TCP connection: a UNIX stream socketpair with TCP's send buffer."""
    pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    for sock in pair:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, TCP_SNDBUF_MAX)
        except PermissionError:  # not root: as much as net.core.wmem_max allows
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, TCP_SNDBUF_MAX)
    return pair


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
                 replayer: Replayer | None = None):
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
        # Replaying (recording.py): the replayer stands in for every peer, connects and data come from the
        # recording, and the broker's reachability decisions are not asked.
        self.replayer = replayer
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
        self.clients: dict[int, Client] = {}
        self.attempts: dict[int, Attempt] = {}  # pending ones
        self.resolved: dict[int, tuple[int | None, int, str, int]] = {}  # id -> (fd, errno, laddr, lport)
        self.connections: dict[int, Connection] = {}
        # pid -> id -> (our duplicate of a daemon's pipe or UNIX socket or -1 if only watched, its inode)
        self.local: dict[int, dict[int, tuple[int, int]]] = {}
        self.conns_of: dict[int, set[int]] = {}  # pid -> its daemon's connections (a dead daemon's are closed)
        self._give_ups: list[tuple[int, int]] = []  # (started, attempt id), a heap (_give_up_ns)
        self._parked: dict[IPAddress, set[int]] = {}  # attempts to an address nobody owns (_retry_pending)
        self.proc_of: dict[int, int] = {}  # pid -> its number in the clock's process table (HELLO)
        self._ranks: dict[str, int] = {}  # router -> its place by name (rank)
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
        self.limit_ns = NONE  # the clock never moves past this (virtual ns): the end of a quiet period, a run_for
        # What the controller did, in order, one "virtual-ns what" line each: on disk as it happens (a long run
        # would otherwise hold it all in memory, and a crash would lose it)
        self.journal_path = os.path.join(os.path.dirname(path), "journal.log")
        self._journal = open(self.journal_path, "w")
        self.events = 0
        self.log: list[str] = []
        self.exited: list[Client] = []
        self._stop = threading.Event()
        self._dirty = False
        self._retried = 0.0  # when pending attempts were last looked at
        self._draining = False
        self.thread = threading.Thread(target=self._run, name="realfish-controller", daemon=True)
        self.failure: str | None = None  # the controller's own crash, with its traceback

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
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
        self._dirty = True

    def changed(self) -> None:
        """Something outside the messages changed what the broker decides: look at pending attempts again, now
        (before the clock can move)."""
        with self.lock:
            if not self.replayer:
                self._retry_pending()

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
            ready = self.sel.select(timeout=0 if self.clock else 0.05)
            for key, _ in ready:
                if key.fileobj is self.server:
                    self._accept()
                else:
                    self._read(key.data)
            with self.lock:
                # Pending attempts change only with the broker's state (an event) or by expiring. Look at them
                # once the messages waiting are handled (before the clock may move), or a few times a second
                # under a steady stream; not once per message (hundreds wait while routers boot).
                now = time.monotonic()
                # (A replay's pending attempts end when the recording says.) With the virtual clock an attempt's
                # fate changes only with the broker's state (an event) or when the clock reaches its give-up
                # instant; in real time, it may expire any moment.
                give_up = self._give_up_ns()
                if not self.replayer and ((self._dirty and not ready) or
                                          (self.attempts and not self.clock and now - self._retried > 0.1) or
                                          (self.clock and give_up <= self.clock.now_ns())):
                    self._dirty = False
                    self._retried = now
                    self._retry_pending()
                    give_up = self._give_up_ns()
            if self.clock and not ready:
                # Nothing to answer: let the clock move if the whole emulation is idle (a replay's next event
                # is a deadline too).
                hold = False
                with self.lock:
                    limit = min(self.limit_ns, give_up)  # a connect's give-up is a deadline too
                    if self.replayer:
                        due, hold = self.replayer.pump(limit)
                        hold = hold and due <= limit
                        limit = min(limit, due)
                r = self.clock.step(limit, hold)
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
            return  # gone while a CONNECT drained the channels (_drain)
        try:
            data, fds = _recv_nowait(client.sock)
        except BlockingIOError:
            return  # its message was handled already, by _drain
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
                self.log.append(f"{client.router}/{client.daemon}: cannot handle {data[:200]!r}: {e!r}")
                if data.split(b" ", 1)[0] in (b"BIND", b"LISTEN", b"CONNECT", b"RESOLVE", b"HELLO", b"RAW",
                                              b"RAWPEER"):
                    self._reply(client, f"ERR {errno.EIO}")
            finally:
                if self.clock:
                    self.clock.message_done()

    def rank(self, router: str, daemon: str) -> int:
        """A daemon's place in an ordered run's turns: by router name, then zebra, staticd, bgpd, ospfd, other."""
        if not self._ranks:
            self._ranks = {r: i for i, r in enumerate(sorted(self.broker.fibs))}
        if router not in self._ranks:
            return 0  # a zygote, or a router not in the network: after every known one
        kinds = ("zebra", "staticd", "bgpd", "ospfd", "ospf6d")
        return 1 + self._ranks[router] * 8 + (kinds.index(daemon) if daemon in kinds else len(kinds))

    def _watched(self, fd: int, reader: int = -1) -> bool:
        """A daemon's descriptor, given to the clock to watch without our keeping it (vclock.watch): True if it
        was, and `fd` is closed; False in a replay (the replayer reads and closes ends itself) or if the clock
        cannot watch it. Holding a duplicate of every daemon's pipes and connection ends needs about 45
        descriptors per router, more than the controller may have at k=24 and beyond."""
        if self.clock is None or self.replayer is not None or not self.clock.watch(fd, reader):
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

    def _reply(self, client: Client, text: str, fd: int | None = None) -> None:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))] if fd is not None else []
        try:
            client.sock.sendmsg([text.encode()], anc)
        except OSError as e:
            self.log.append(f"reply to {client.router}/{client.daemon} failed: {e}")

    # -- messages ---------------------------------------------------------------------------------------------
    def _handle(self, c: Client, line: str, fd: int = -1) -> None:
        words = line.split()
        op = words[0]
        fib = self.broker.fibs.get(c.router)
        if op == "THREAD" and self.clock and fd >= 0:
            remote = int(words[4]) if len(words) > 4 and not self.replayer else -1
            self.clock.set_wake(int(words[1]), fd, c.pid, remote)
        elif op == "TRACK" and self.clock and fd >= 0:
            self._track(c, int(words[1]), fd)
        elif fd >= 0:
            os.close(fd)
        if op in ("THREAD", "TRACK"):
            return
        if op == "UNTRACK":
            self._untrack(c.pid, int(words[1]))
            return
        if op == "HELLO":
            c.router, c.daemon, c.pid = words[1], words[2], int(words[3])
            c.proc = int(words[4]) if len(words) > 4 else -1
            self.proc_of[c.pid] = c.proc
            if self.clock and c.proc >= 0:
                self.clock.set_rank(c.proc, self.rank(c.router, c.daemon))
            known = c.router in self.broker.fibs or c.router == ZYGOTE
            self._reply(c, "OK" if known else f"ERR {errno.ENOENT}")
        elif op == "RT" and fib is not None:
            fib.route(line)
            self._event(route=True)
            self._record(self.last_event_v, f"{c.router} {line}")
        elif op == "NH" and fib is not None:
            fib.nexthop(line)
        elif op == "ADDR" and fib is not None:
            self.broker.address(c.router, words[1] == "add", int(words[2]), words[3])
            self._event(route=True)
            self._record(self.last_event_v, f"{c.router} {line}")
        elif op == "BIND":
            ok = self.broker.bind_ok(c.router, words[2])
            self._reply(c, "OK" if ok else f"ERR {errno.EADDRNOTAVAIL}")
        elif op == "LISTEN":
            self._listen(c, int(words[1]), words[2], int(words[3]), words[4] == "1")
        elif op == "UNLISTEN":
            self._unlisten(int(words[1]))
            c.listeners.discard(int(words[1]))
        elif op == "LOPT":
            self._listener_option(int(words[1]), words[2], words[3:])
        elif op == "CONNECT":
            self._connect(c, words)
        elif op == "RESOLVE":
            self._resolve(c, int(words[1]))
        elif op == "CLOSE":
            self._close(int(words[1]))
        elif op in ("RAW", "RAWPEER", "RAWCLOSE"):
            self._raw(c, words)
        else:
            self.log.append(f"{c.router}/{c.daemon}: unknown message {line[:200]!r}")

    def _listen(self, c: Client, family: int, addr: str, port: int, v6only: bool) -> None:
        ip = None if addr in ("*", "0.0.0.0", "::") else ipaddress.ip_address(addr)
        for lst in self.broker.listeners.values():
            if (lst.router, lst.family, lst.addr, lst.port) == (c.router, family, ip, port) and port:
                self._reply(c, f"ERR {errno.EADDRINUSE}")
                return
        if port == 0:
            port = self.broker.ephemeral_port(c.router)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        lst = Listener(self.broker.next_id(), c.router, family, ip, port, v6only, channel=ours, pid=c.pid)
        self.broker.listeners[lst.id] = lst
        c.listeners.add(lst.id)
        self._reply(c, f"OK {lst.id} {port}", theirs.fileno())
        theirs.close()
        self._event()

    def _unlisten(self, lid: int) -> None:
        lst = self.broker.listeners.pop(lid, None)
        if lst and isinstance(lst.channel, socket.socket):
            lst.channel.close()

    def _listener_option(self, lid: int, name: str, args: list[str]) -> None:
        lst = self.broker.listeners.get(lid)
        if lst is None:
            return
        if name == "minttl":
            lst.minttl = int(args[0])
        elif name == "md5":
            ip = ipaddress.ip_address(args[0])
            if args[1] == "-":
                lst.md5.pop(ip, None)
            else:
                lst.md5[ip] = args[1]
        self._event()

    def _connect(self, c: Client, w: list[str]) -> None:
        # CONNECT fam laddr lport raddr rport ttl md5hex|-
        family, laddr, lport, raddr, rport, ttl, md5 = int(w[1]), w[2], int(w[3]), w[4], int(w[5]), int(w[6]), w[7]
        src = None if laddr in ("*", "0.0.0.0", "::") else ipaddress.ip_address(laddr)
        a = Attempt(self.broker.next_id(), c.router, family, src, lport, ipaddress.ip_address(raddr), rport, ttl,
                    None if md5 == "-" else md5, self._now_ns(), pid=c.pid)
        if self.replayer:
            self.replayer.connect(c, a)
            return
        self._drain()
        v = self.broker.decide(a)
        if v.ok:
            fd, laddr_s, lport_i = self._open(a, v)
            self._reply(c, f"OK {a.id} {laddr_s} {lport_i}", fd)
            os.close(fd)
        elif v.err == errno.ENETUNREACH or v.err == errno.EADDRNOTAVAIL:
            self._reply(c, f"ERR {v.err}")
        else:
            r, wfd = os.pipe()
            a.wake_fd = wfd
            self.attempts[a.id] = a
            heapq.heappush(self._give_ups, (a.started, a.id))
            self._record(self.clock.now_ns() if self.clock else 0, f"pending {a.id} {a.router} -> {a.dst}:{a.dport}")
            self._reply(c, f"PENDING {a.id}", r)
            os.close(r)
            if v.err:  # refused: the RST comes straight back
                self._finish(a, None, v.err, "", 0)

    def _drain(self, rounds: int = 100) -> None:
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
                ready = [key for key, _ in self.sel.select(timeout=0) if key.fileobj is not self.server]
                if not ready:
                    return
                for key in ready:
                    self._read(key.data)
        finally:
            self._draining = False

    def _open(self, a: Attempt, v: Verdict) -> tuple[int, str, int]:
        """Make the connection: a socketpair, one end to the listener's accept channel. Returns the other."""
        assert v.listener is not None and v.src is not None
        sport = a.sport or self.broker.ephemeral_port(a.router)
        mine, theirs = stream_pair()
        local, peer = v.accepted_as or (str(a.dst), str(v.src))
        self.offer(v.listener, f"{a.id} {local} {a.dport} {peer} {sport}", theirs)
        self.register(Connection(a.id, a.router, v.listener.router, (os.dup(mine.fileno()), os.dup(theirs.fileno())),
                                 f"{a.router} {v.src}:{sport} -> {v.listener.router} {a.dst}:{a.dport}",
                                 (a.pid, v.listener.pid), (a.router, str(v.src), v.listener.router, str(a.dst),
                                                           a.dport)))
        theirs.close()
        fd = os.dup(mine.fileno())
        mine.close()
        return fd, str(v.src), sport

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
        self._record(self.clock.now_ns() if self.clock else 0, f"connect {conn.id} {conn.description}")
        self.connections[conn.id] = conn
        for pid in conn.pids:
            self.conns_of.setdefault(pid, set()).add(conn.id)
        conn.opened_ns = self._now_ns()
        if not conn.key or conn.key not in self._cycled:
            self._event()

    def _finish(self, a: Attempt, fd: int | None, err: int, laddr: str, lport: int) -> None:
        if err:
            self._record(self.clock.now_ns() if self.clock else 0,
                         f"failed {a.id} {a.router} -> {a.dst}:{a.dport} {errno.errorcode.get(err, err)}")
        self.attempts.pop(a.id, None)
        self.resolved[a.id] = (fd, err, laddr, lport)
        if a.wake_fd >= 0:
            os.close(a.wake_fd)  # POLLHUP on the daemon's pipe: its SO_ERROR check asks us for the outcome
            a.wake_fd = -1

    def _now_ns(self) -> int:
        """Now, on the clock that times pending connects: the virtual one if there is one."""
        return self.clock.now_ns() if self.clock else time.monotonic_ns()

    def _give_up_ns(self) -> int:
        """The virtual instant the first pending connect times out (the clock stops there), or NONE."""
        if not self.clock or not self.attempts or self.replayer:
            return NONE
        # The earliest pending attempt, from a heap that drops finished ones as it meets them: hundreds are
        # pending while routers boot, and this is asked once per loop.
        while self._give_ups:
            started, aid = self._give_ups[0]
            a = self.attempts.get(aid)
            if a is not None and a.started == started:
                return started + SYN_GIVE_UP_NS
            heapq.heappop(self._give_ups)
        return min(a.started for a in self.attempts.values()) + SYN_GIVE_UP_NS

    def _retry_pending(self) -> None:
        now = self._now_ns()
        # A SYN into the void stays so until some router takes the address: such attempts are parked by
        # destination and looked at again only when that address (or a loopback subnet) appears.
        added, lo_changed = self.broker.take_new_owners()
        if lo_changed:
            self._parked.clear()
        for ip in added:
            self._parked.pop(ip, None)
        parked = set().union(*self._parked.values()) if self._parked else set()
        for a in list(self.attempts.values()):
            if a.id in parked or not self.broker.anyone_owns(a.dst):
                if a.id not in parked:
                    self._parked.setdefault(a.dst, set()).add(a.id)
                if self.broker.expired(a, now):
                    self._finish(a, None, errno.ETIMEDOUT, "", 0)
                continue
            v = self.broker.decide(a)
            if v.ok:
                fd, laddr, lport = self._open(a, v)
                self._finish(a, fd, 0, laddr, lport)
            elif v.err and v.err != errno.ENETUNREACH:
                self._finish(a, None, v.err, "", 0)
            elif self.broker.expired(a, now):
                self._finish(a, None, errno.ETIMEDOUT, "", 0)

    def _resolve(self, c: Client, aid: int) -> None:
        if aid in self.attempts:
            self._reply(c, "PENDING")
            return
        fd, err, laddr, lport = self.resolved.pop(aid, (None, errno.ETIMEDOUT, "", 0))
        if fd is not None:
            self._reply(c, f"OK {laddr} {lport}", fd)
            os.close(fd)
        else:
            self._reply(c, f"ERR {err}")

    def _raw(self, c: Client, w: list[str]) -> None:
        """`RAW proto` opens an inbox (its end goes back), `RAWPEER router proto` hands out a writer to a router's
        inbox, `RAWCLOSE id` (no reply) closes one. Packets never pass through here (raw.py)."""
        if w[0] == "RAW":
            inbox_id = self.broker.next_id()
            theirs = self.raw.open(inbox_id, c.router, int(w[1]), c.pid)
            self._reply(c, f"OK {inbox_id}", theirs.fileno())
            theirs.close()
        elif w[0] == "RAWPEER":
            # A replay's routers send to sinks, even to each other: their peers are the recording's.
            if self.replayer and w[1] != c.router:
                fd: int | None = self.replayer.sink(c.router, c.daemon)
            else:
                fd = self.raw.writer(w[1], int(w[2]))
            if fd is None:
                self._reply(c, f"ERR {errno.ENOENT}")
            else:
                self._reply(c, "OK", fd)
                os.close(fd)
        else:
            self.raw.close(int(w[1]))

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
            at_once = bool(conn.key) and self._now_ns() - conn.opened_ns < CYCLE_NS
            if not (at_once and conn.key in self._cycled):
                if at_once:
                    self._cycled.add(conn.key)
                self._event()  # a failed attempt closing is no news; an established connection closing is

