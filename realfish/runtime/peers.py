"""Where the peers of the routers the controller serves live, and what they may do through the controller.

The controller (controller.py) answers every daemon's control message (docs/control-channel.md). What a daemon's
connect() meets at the other end is a `Peers` strategy's to say:
  LivePeers   the peers run here: the broker decides over the current emulated FIBs, and a connect it cannot
              complete stays pending until the FIBs change or TCP gives up;
  Replayer    (replayer.py) the peers are a recorded run's: every answer and every input is the recording's.
Both act only through the controller's public surface, `Switchboard`: reply to a daemon, keep a connect pending
and finish it, offer a connection to a listener, register a connection's ends.
"""

from __future__ import annotations

import errno
import heapq
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Protocol

from realfish.runtime.broker import SYN_GIVE_UP_NS, Attempt, Broker, IPAddress, Listener, Verdict
from realfish.runtime.raw import RawInboxes
from realfish.runtime.vclock import NONE, VirtualClock

SO_SNDBUFFORCE = 32
# A UNIX stream socket charges every write as a whole buffer against SO_SNDBUF (212992 bytes by default), where
# TCP packs small writes together and grows its buffer to tcp_wmem's maximum (4 MiB). With the default, a burst
# of small BGP messages can fill the emulated connection after a few hundred writes, and bgpd then queues the
# rest in its own heap, which the kernel's TCP buffers would have held on a real host.
TCP_SNDBUF_MAX = 4 * 2**20


@dataclass
class Client:
    """One daemon's control channel (a daemon says HELLO with its router, name, pid and clock entry)."""

    sock: socket.socket
    router: str = "?"
    daemon: str = "?"
    pid: int = 0
    proc: int = -1  # index in the virtual clock's process table
    listeners: set[int] = field(default_factory=set)


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


class Switchboard(Protocol):
    """What peers may use of the controller; they are called under its lock, on its thread."""

    clock: VirtualClock | None
    broker: Broker
    raw: RawInboxes  # the emulated raw sockets' inboxes
    attempts: dict[int, Attempt]  # connects whose outcome is pending: pend() adds one, finish() takes it away

    def reply(self, c: Client, text: str, fd: int | None = None) -> None:
        """Answer the daemon's request (with a descriptor, which the caller still closes)."""

    def pend(self, c: Client, a: Attempt) -> None:
        """Answer a connect with PENDING: the daemon waits on a pipe until finish()."""

    def finish(self, a: Attempt, fd: int | None, err: int, laddr: str, lport: int) -> None:
        """A pending connect ends: opened (fd, the daemon's end) or failed (err); the daemon asks with RESOLVE."""

    def offer(self, listener: Listener, msg: str, end: socket.socket) -> None:
        """Put a connection's end in a listener's accept queue."""

    def register(self, conn: Connection) -> None:
        """A connection is open: its ends count for bytes in flight, a dead daemon's close."""

    def drop_end(self, cid: int) -> None:
        """The peer's end of a connection is gone: the router reads the end."""

    def connection(self, cid: int) -> Connection | None:
        """An open connection (None once either daemon closed it)."""

    def unasked(self, cid: int) -> bool:
        """Has a connect finished without its daemon having asked how (RESOLVE) yet?"""

    def clients_of(self, router: str, daemon: str) -> list[Client]:
        """The control channels of one router's daemon (a forked daemon's zygote is not among them)."""

    def drain(self) -> None:
        """Handle every message already waiting on any daemon's channel."""

    def note(self, what: str) -> None:
        """A line in the run's journal, at the current virtual instant."""


class Peers(Protocol):
    """Where the peers of the controller's routers live (the controller calls every method under its lock)."""

    # The clock may watch a daemon's descriptors in place (vclock.watch; a thread's eventfd borrowed at each wake)
    # rather than the controller keeping a duplicate of each
    in_place: bool

    def connect(self, c: Client, a: Attempt) -> None:
        """A daemon's connect(): answer it (reply, or pend and later finish)."""

    def raw_peer(self, c: Client, router: str, proto: int) -> int | None:
        """A descriptor that writes into `router`'s raw inbox for `proto` (the caller closes it), or None."""

    def event(self) -> None:
        """Something the broker decides by changed (a connection, listener, address, route)."""

    def changed(self) -> None:
        """Something outside the messages changed what the broker decides (a batch of routers booted)."""

    def settle(self, busy: bool) -> None:
        """A batch of messages is handled (busy: more are waiting)."""

    def due(self, limit: int) -> tuple[int, bool]:
        """Before the clock may move (to `limit` at most): the virtual instant of the peers' next event (NONE if
        none), and whether the clock is to stop there before it wakes the timers due then."""


class LivePeers:
    """The peers run here: the broker decides every connect, and one it cannot complete (a SYN that would go
    unanswered) stays pending, looked at again after every batch of broker events, until it opens, is refused
    or TCP gives up (127 s)."""

    in_place = True

    def __init__(self, ctl: Switchboard):
        self.ctl = ctl
        self._give_ups: list[tuple[int, int]] = []  # (started, attempt id), a heap (_give_up_ns)
        self._parked: dict[IPAddress, set[int]] = {}  # attempts to an address nobody owns (_retry_pending)
        self._dirty = False  # an event since the pending attempts were last looked at
        self._retried = 0.0  # when they were last looked at (wall time)

    def connect(self, c: Client, a: Attempt) -> None:
        self.ctl.drain()
        v = self.ctl.broker.decide(a)
        if v.ok:
            fd, laddr, lport = self._open(a, v)
            self.ctl.reply(c, f"OK {a.id} {laddr} {lport}", fd)
            os.close(fd)
        elif v.err == errno.ENETUNREACH or v.err == errno.EADDRNOTAVAIL:
            self.ctl.reply(c, f"ERR {v.err}")
        else:
            heapq.heappush(self._give_ups, (a.started, a.id))
            self.ctl.note(f"pending {a.id} {a.router} -> {a.dst}:{a.dport}")
            self.ctl.pend(c, a)
            if v.err:  # refused: the RST comes straight back
                self.ctl.finish(a, None, v.err, "", 0)

    def raw_peer(self, c: Client, router: str, proto: int) -> int | None:
        return self.ctl.raw.writer(router, proto)

    def event(self) -> None:
        self._dirty = True

    def changed(self) -> None:
        self._retry_pending()

    def settle(self, busy: bool) -> None:
        # Pending attempts change only with the broker's state (an event) or by expiring. Look at them once the
        # messages waiting are handled (before the clock may move), or a few times a second under a steady
        # stream; not once per message (hundreds wait while routers boot). With the virtual clock an attempt
        # expires only when the clock reaches its give-up instant; in real time, any moment.
        clock, now = self.ctl.clock, time.monotonic()
        if ((self._dirty and not busy) or (self.ctl.attempts and not clock and now - self._retried > 0.1) or
                (clock and self._give_up_ns() <= clock.now_ns())):
            self._dirty = False
            self._retried = now
            self._retry_pending()

    def due(self, limit: int) -> tuple[int, bool]:
        return self._give_up_ns(), False  # a connect's give-up is a deadline too

    def _open(self, a: Attempt, v: Verdict) -> tuple[int, str, int]:
        """Make the connection: a socketpair, one end to the listener's accept channel. Returns the other."""
        assert v.listener is not None and v.src is not None
        sport = a.sport or self.ctl.broker.ephemeral_port(a.router)
        mine, theirs = stream_pair()
        local, peer = v.accepted_as or (str(a.dst), str(v.src))
        self.ctl.offer(v.listener, f"{a.id} {local} {a.dport} {peer} {sport}", theirs)
        self.ctl.register(Connection(a.id, a.router, v.listener.router,
                                     (os.dup(mine.fileno()), os.dup(theirs.fileno())),
                                     f"{a.router} {v.src}:{sport} -> {v.listener.router} {a.dst}:{a.dport}",
                                     (a.pid, v.listener.pid),
                                     (a.router, str(v.src), v.listener.router, str(a.dst), a.dport)))
        theirs.close()
        fd = os.dup(mine.fileno())
        mine.close()
        return fd, str(v.src), sport

    def _now_ns(self) -> int:
        """Now, on the clock that times pending connects: the virtual one if there is one."""
        return self.ctl.clock.now_ns() if self.ctl.clock else time.monotonic_ns()

    def _give_up_ns(self) -> int:
        """The virtual instant the first pending connect times out (the clock stops there), or NONE."""
        attempts = self.ctl.attempts
        if not self.ctl.clock or not attempts:
            return NONE
        # The earliest pending attempt, from a heap that drops finished ones as it meets them: hundreds are
        # pending while routers boot, and this is asked once per loop.
        while self._give_ups:
            started, aid = self._give_ups[0]
            a = attempts.get(aid)
            if a is not None and a.started == started:
                return started + SYN_GIVE_UP_NS
            heapq.heappop(self._give_ups)
        return min(a.started for a in attempts.values()) + SYN_GIVE_UP_NS

    def _retry_pending(self) -> None:
        now = self._now_ns()
        broker = self.ctl.broker
        # A SYN into the void stays so until some router takes the address: such attempts are parked by
        # destination and looked at again only when that address (or a loopback subnet) appears.
        added, lo_changed = broker.take_new_owners()
        if lo_changed:
            self._parked.clear()
        for ip in added:
            self._parked.pop(ip, None)
        parked = set().union(*self._parked.values()) if self._parked else set()
        for a in list(self.ctl.attempts.values()):
            if a.id in parked or not broker.anyone_owns(a.dst):
                if a.id not in parked:
                    self._parked.setdefault(a.dst, set()).add(a.id)
                if broker.expired(a, now):
                    self.ctl.finish(a, None, errno.ETIMEDOUT, "", 0)
                continue
            v = broker.decide(a)
            if v.ok:
                fd, laddr, lport = self._open(a, v)
                self.ctl.finish(a, fd, 0, laddr, lport)
            elif v.err and v.err != errno.ENETUNREACH:
                self.ctl.finish(a, None, v.err, "", 0)
            elif broker.expired(a, now):
                self.ctl.finish(a, None, errno.ETIMEDOUT, "", 0)
