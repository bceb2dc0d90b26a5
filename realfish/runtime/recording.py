"""Record a run, and replay a router from it: the router alone, fed what it read, reaches the state it had.

A recorded run (`Emulation(record=DIR)`, `realfish converge --record DIR`) leaves in DIR:
  ROUTER.DAEMON.rec   what each daemon read from its emulated TCP connections and raw IP sockets, and when, in
                      virtual ns (native/src/record.c writes it: connects and their outcomes, accepts, every
                      read's bytes, every packet from another router; and how its writes and sends went);
  meta.json           where the virtual clock started, each router's index and boot instant;
  clock               every instant the virtual clock moved to (int64 ns), where a replay fires timers;
  fibs.json           each router's FIB at the end of the run: the state a replay must reach.

A replay (`Emulation(network.part(routers), replay=Recording(DIR))`, `realfish replay`) starts only the given
routers, on a clock that starts where the recorded one did, and boots each at its recorded instant. The
`Replayer`, inside the controller, stands in for every peer: a connect() gets the answer it got then, a
pending one ends when it ended then, a peer's connection is offered to the router's listener when it was then,
and every read's bytes are written for the router to read at the virtual instant it read them, each read's
bytes only once the router has read the previous ones (so it reads them in the same pieces and order). A
packet another router sent (OSPF) goes into the router's raw inbox at the instant the router read it, once the
router has sent as many packets to other routers as it had then (the answer after the question). What the
router sends is read and dropped: its raw packets to any router go into sinks the replayer holds. Inputs go in
while the daemon is idle, all that are ready at once, with the daemon held until they are there (`_play`); the
clock fires the router's timers where the recorded clock moved (`VirtualClock.follow`). The router runs
unmodified: the same inputs at the same instants and in the same places make it compute the same state, which
`compare` checks against fibs.json. (docs/replay.md says what the recording cannot pin down.)
"""

from __future__ import annotations

import array
import errno
import fcntl
import ipaddress
import json
import os
import socket
import struct
import termios
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realfish.runtime.broker import Attempt, Listener
from realfish.runtime.controller import Connection, stream_pair
from realfish.runtime.raw import datagram_pair
from realfish.runtime.vclock import NONE

if TYPE_CHECKING:
    from realfish.runtime.controller import Client, Controller

HEAD = struct.Struct("<qIIq")  # struct rec_head in record.c: vtime, kind, len, conn
FIONREAD = termios.FIONREAD
SIOCOUTQ = termios.TIOCOUTQ
REPLAYED_DAEMONS = ("bgpd", "ospfd", "ospf6d")  # the daemons with inputs from other routers; the rest read their own
ACCEPT_WAIT_S = 1.0
LOOP_INPUTS = "pa"  # inputs the event loop's thread takes: packets, accepted connections (bgpd reads in another)
WOKEN_WAIT_S = 0.02  # for a daemon the clock woke to reach its hold (it only has to be scheduled: <= 1 ms seen)


def _queued(fd: int, request: int) -> int:
    """Bytes waiting on a socket: to be read (FIONREAD), or not yet read by the other end (SIOCOUTQ); 0 for a
    descriptor already closed."""
    buf = bytearray(4)
    try:
        fcntl.ioctl(fd, request, buf)
    except OSError:
        return 0
    return int.from_bytes(buf, "little")


class RecordingError(ValueError):
    pass


@dataclass(slots=True)
class Event:
    vtime: int
    kind: str  # c r a d e w p s k (record.c)
    conn: int
    data: bytes
    poll: int = 0  # the daemon's event loop polls before it ('k' records; _stream counts them)


def read_events(path: Path, length: int | None = None) -> list[Event]:
    """The records of one file (up to `length` bytes: where the run ended)."""
    raw = path.read_bytes()[:length]
    out, off = [], 0
    while off < len(raw):
        if off + HEAD.size > len(raw):
            raise RecordingError(f"{path}: truncated record header at byte {off}")
        vtime, kind, n, conn = HEAD.unpack_from(raw, off)
        off += HEAD.size
        if off + n > len(raw) or chr(kind) not in "cradewpsk":
            raise RecordingError(f"{path}: bad record at byte {off - HEAD.size} (kind {kind}, length {n})")
        out.append(Event(vtime, chr(kind), conn, raw[off:off + n]))
        off += n
    return out


class Recording:
    """A recorded run's directory."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        meta = self.dir / "meta.json"
        if not meta.is_file():
            raise RecordingError(f"{self.dir}: not a realfish recording (no meta.json)")
        self.meta: dict[str, Any] = json.loads(meta.read_text())
        if "boot" not in self.meta:
            raise RecordingError(f"{meta}: the recorded run never booted its routers")

    @staticmethod
    def begin(directory: str | Path, start_ns: int, offset_ns: int, routers: list[str]) -> Path:
        """Prepare DIR for a new recording (an earlier one there is replaced)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.rec"):
            old.unlink()
        for name in ("fibs.json", "meta.json", "clock"):
            (d / name).unlink(missing_ok=True)
        meta = {"start_ns": start_ns, "offset_ns": offset_ns, "index": {r: i for i, r in enumerate(routers)}}
        (d / "meta.json").write_text(json.dumps(meta, indent=1))
        return d

    @staticmethod
    def update(directory: str | Path, **items: Any) -> None:
        path = Path(directory) / "meta.json"
        meta = json.loads(path.read_text())
        meta.update(items)
        path.write_text(json.dumps(meta, indent=1))

    def events(self, router: str, daemon: str) -> list[Event]:
        path = self.dir / f"{router}.{daemon}.rec"
        return read_events(path, self.meta.get("lengths", {}).get(path.name)) if path.exists() else []

    @staticmethod
    def end(directory: str | Path, end_ns: int, moves: list[int]) -> None:
        """The recorded run ends: its last instant, and where its clock moved up to there."""
        Recording.update(directory, end_ns=end_ns)
        (Path(directory) / "clock").write_bytes(array.array("q", [m for m in moves if m <= end_ns]).tobytes())

    def instants(self) -> list[int]:
        path = self.dir / "clock"
        return array.array("q", path.read_bytes()).tolist() if path.exists() else []

    def fibs(self) -> dict[str, list[dict[str, Any]]]:
        path = self.dir / "fibs.json"
        if not path.exists():
            raise RecordingError(f"{path} is missing: the recorded run did not finish")
        data: dict[str, list[dict[str, Any]]] = json.loads(path.read_text())
        return data

    def check(self, routers: list[str]) -> None:
        for r in routers:
            if r not in self.meta["index"]:
                raise RecordingError(f"{self.dir}: router {r!r} was not in the recorded run")


def compare(recorded: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> list[str]:
    """Differences between two FIBs (report JSON entries), as lines; none means the same state."""
    def keyed(fib: list[dict[str, Any]]) -> dict[str, Any]:
        return {e["prefix"]: sorted(json.dumps(h, sort_keys=True) for h in e.get("nexthops", [])) for e in fib}

    a, b = keyed(recorded), keyed(replayed)
    out = [f"{p}: recorded only" for p in sorted(a.keys() - b.keys())]
    out += [f"{p}: replayed only" for p in sorted(b.keys() - a.keys())]
    out += [f"{p}: next hops {a[p]} recorded, {b[p]} replayed" for p in sorted(a.keys() & b.keys()) if a[p] != b[p]]
    return out


@dataclass(slots=True)
class _Close:
    """Where the peer closed a connection, as the router's recording shows it: not before `vtime` (when the
    router met the end: a read of it, or a write that failed), after the router had read the connection's bytes
    up to stream position `after` and written `written` bytes to it (so the writes that went through then go
    through now, and the one that failed fails)."""

    vtime: int
    written: int
    after: int
    reset: bool = False  # the peer closed with the router's bytes unread: the router reads ECONNRESET


@dataclass(slots=True)
class _Stream:
    """One daemon's recorded inputs and how far the replay is."""

    events: list[Event] = field(default_factory=list)  # what it read (accepts, outcomes, bytes, ends, packets)
    # per event, what the daemon had sent before it: bytes on that connection ('d'), or copies of raw packets
    # to other routers ('p')
    need: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)  # per event: connect()s the daemon had made before it
    early: list[bool] = field(default_factory=list)  # per event: read before the daemon sent anything at its instant
    # per event: a packet its event loop met in the same poll as its timers of that instant ('k' records)
    with_timers: list[bool] = field(default_factory=list)
    # The last thing of the event loop's in the replay (a packet or connection delivered, a connect() made): its
    # poll in the recording, its instant, and the daemon's live poll count then.
    anchor_poll: int = -1
    anchor_at: int = -1
    anchor_polls: int = 0
    made: int = 0  # connect()s it has made in the replay
    connects: dict[tuple[str, int], deque[Event]] = field(default_factory=dict)  # its connect()s by destination
    closes: dict[int, _Close] = field(default_factory=dict)  # by recorded connection id
    pos: int = 0
    unsent: dict[int, bytes] = field(default_factory=dict)  # per connection: what did not fit in its buffer yet


def _stream(events: list[Event]) -> _Stream:
    s = _Stream()
    written: dict[int, int] = {}
    last_read: dict[int, int] = {}
    calls = copies = 0
    sent_at = -1  # the instant of the daemon's last output
    poll, polls = Event(-1, "k", 0, b""), 0  # the event loop's last poll, and how many
    for e in events:
        if e.kind == "k":
            poll, polls = e, polls + 1
            continue
        e.poll = polls
        if e.kind in "swc":
            sent_at = e.vtime
        if e.kind == "s":
            copies += int(e.data)
        elif e.kind == "c":
            w = e.data.split(b"\n", 1)[0].split()  # CONNECT fam laddr lport raddr rport ...
            s.connects.setdefault((w[4].decode(), int(w[5])), deque()).append(e)
            calls += 1
        elif e.kind == "w":
            n = int(e.data)
            if n >= 0:
                written[e.conn] = written.get(e.conn, 0) + n
            elif e.conn not in s.closes:
                s.closes[e.conn] = _Close(e.vtime, written.get(e.conn, 0), last_read.get(e.conn, -1))
        else:
            if e.kind == "e":
                c = s.closes.setdefault(e.conn, _Close(e.vtime, written.get(e.conn, 0), last_read.get(e.conn, -1)))
                c.reset = c.reset or e.data != b"0"
            elif e.kind == "d":
                last_read[e.conn] = len(s.events)
            s.need.append(copies if e.kind == "p" else written.get(e.conn, 0))
            s.early.append(sent_at != e.vtime)
            s.with_timers.append(e.kind == "p" and poll.vtime == e.vtime and poll.data == b"TI")
            s.calls.append(calls)
            s.events.append(e)
    return s


@dataclass
class Replayer:
    """Plays the recorded peers of the replayed routers (the controller calls it under its lock)."""

    recording: Recording
    routers: list[str]
    ctl: Controller | None = None
    streams: dict[tuple[str, str], _Stream] = field(default_factory=dict)
    conns: dict[tuple[str, str, int], int] = field(default_factory=dict)  # recorded id -> replay connection id
    waiting: dict[tuple[str, str, int], Attempt] = field(default_factory=dict)  # pending connects, recorded id
    ends: dict[int, socket.socket] = field(default_factory=dict)  # the peers' ends, by replay connection id
    unread: set[int] = field(default_factory=set)  # connections the peer resets: what the router sends stays
    offered: dict[int, Listener] = field(default_factory=dict)  # connections in a listener's queue, not accepted
    drained: dict[int, int] = field(default_factory=dict)  # bytes read from the router, per connection
    sinks: dict[tuple[str, str], list[socket.socket]] = field(default_factory=dict)  # raw packets' sinks, by sender
    copies: dict[tuple[str, str], int] = field(default_factory=dict)  # raw packets read from them, by sender
    divergences: list[str] = field(default_factory=list)
    delivered: int = 0
    late: int = 0
    late_max_ns: int = 0  # the most an input came after its recorded instant
    bytes_in: int = 0  # written to the routers
    total: int = 0
    holding_since: float = 0.0  # wall time the clock has been held for an accept (-1: gave up on it)
    preheld: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # daemons held through a clock move
    ended: bool = False

    def __post_init__(self) -> None:
        for r in self.routers:
            for d in REPLAYED_DAEMONS:
                evs = self.recording.events(r, d)
                self.streams[(r, d)] = _stream(evs)
                self.total += len(evs)

    # -- what the controller asks -----------------------------------------------------------------------------
    def connect(self, c: Client, a: Attempt) -> None:
        """A connect() of a replayed daemon: the answer it got in the recorded run."""
        assert self.ctl is not None
        s = self.streams.get((c.router, c.daemon))
        waiting = s.connects.get((str(a.dst), a.dport)) if s else None
        ev = waiting.popleft() if waiting else None
        if s:
            s.made += 1
        if s is None or ev is None:
            self._diverged(f"{c.router}/{c.daemon}: connect to {a.dst}:{a.dport} that the recorded run did not make")
            self.ctl._reply(c, f"ERR {errno.ETIMEDOUT}")
            return
        self._anchor(c.router, c.daemon, s, ev)
        self._accepts_after_connect(c.router, c.daemon, s)
        w = ev.data.decode().partition("\n")[2].split()
        key = (c.router, c.daemon, int(w[1]) if len(w) > 1 and w[0] in ("OK", "PENDING") else -1)
        if w[0] == "OK":
            fd = self._open(key, a.id, f"{c.router} {w[2]}:{w[3]} -> {a.dst}:{a.dport}", (a.pid, -1))
            if key[2] in s.closes:  # the peer closed it at once
                self._close_due(c.router, c.daemon, s, key[2], self.ctl.clock.now_ns() if self.ctl.clock else 0)
            self.ctl._reply(c, f"OK {a.id} {w[2]} {w[3]}", fd)
            os.close(fd)
        elif w[0] == "PENDING":
            r, a.wake_fd = os.pipe()
            self.ctl.attempts[a.id] = a
            self.waiting[key] = a
            self.ctl._reply(c, f"PENDING {a.id}", r)
            os.close(r)
        else:
            self.ctl._reply(c, " ".join(w))

    def pump(self, limit: int = NONE) -> tuple[int, bool]:
        """Deliver what is due; return the virtual instant of the next event (NONE when none is left), and
        whether the clock is to stop there before it wakes the timers due then. The clock moves next, up to
        `limit` at most."""
        assert self.ctl is not None and self.ctl.clock is not None
        self._drain()
        now = self.ctl.clock.now_ns()
        nxt = hold_at = NONE
        for (router, daemon), s in self.streams.items():
            for conn in list(s.closes):
                nxt = min(nxt, self._close_due(router, daemon, s, conn, now))
            held = self.preheld.pop((router, daemon), [])
            if held:
                self._woken_and_held(router, daemon)
            try:
                due = self._play(router, daemon, s, now, held)
            finally:
                for proc in held:
                    self.ctl.clock.hold(proc, False)
            nxt = min(nxt, due)
            # Where a message goes relative to the daemon's timers of its instant (the clock wakes the daemon and
            # its peers at once; in the recorded run the race went one way):
            # - met in the same poll as the timers (the recording's poll says so): it goes in before the clock
            #   wakes them (the clock stops at the instant first), and the daemon meets both at once;
            # - read before the daemon sent anything at that instant: it came while its timers worked; the
            #   daemon is held through the clock's move, it goes in, and the daemon meets it at its next poll;
            # - otherwise once the daemon is done with its timers' work (idle: _play).
            if s.pos < len(s.events) and s.events[s.pos].vtime == due and now < due <= limit:
                if s.with_timers[s.pos]:
                    hold_at = min(hold_at, due)
                elif s.early[s.pos] and not self.ctl.clock.frozen and not self.ended:
                    held = []
                    if self._hold(router, daemon, held):
                        self.preheld[(router, daemon)] = held
        nxt = min(nxt, self._hold_for_accepts(now))
        return nxt, nxt == hold_at

    def release(self) -> None:
        """Hold no daemon any more (the replay ends)."""
        assert self.ctl is not None and self.ctl.clock is not None
        self.ended = True
        for procs in self.preheld.values():
            for proc in procs:
                self.ctl.clock.hold(proc, False)
        self.preheld.clear()

    def _play(self, router: str, daemon: str, s: _Stream, now: int, held: list[int]) -> int:
        """Deliver the daemon's events due now, in order; return when to look again. They go in while the
        daemon waits, all that are ready at once, and it is held until they are all there: what it finds at its
        next poll decides whether it reads another one or first sends what it has queued."""
        assert self.ctl is not None and self.ctl.clock is not None
        nxt = NONE
        while s.pos < len(s.events):
            ev = s.events[s.pos]
            if ev.vtime > now:  # (pump says where the clock stops)
                return min(nxt, ev.vtime)
            if not self._ready(router, daemon, s, ev):
                # The daemon has not come to it yet. While it runs (or has bytes to read) the clock waits
                # anyway; once it is idle and still not there, it has diverged: time goes on (the event
                # is delivered late, and counted so), or a daemon waiting for time would wait forever.
                return nxt
            later_poll = ev.kind in LOOP_INPUTS and s.anchor_at == ev.vtime and ev.poll != s.anchor_poll
            if later_poll and held:
                return min(nxt, now)  # the next poll's batch, once the daemon has met this one
            if later_poll:
                # Met at a later poll of the same instant than the event loop's last thing: it goes in once the
                # daemon has polled since (it met that alone), whether it runs or waits, or once it waits having
                # taken all it was given (it took that without polling again).
                if self._polls(router, daemon) <= s.anchor_polls and not (
                        self._idle(router, daemon) and self._all_taken(router, ev)):
                    return min(nxt, now)
                self._hold(router, daemon, held)  # if it waits; if it runs, it meets it at its next poll
            elif not held and not self._hold(router, daemon, held):
                return min(nxt, now)  # the clock waits until the daemon is idle
            if ev.kind in LOOP_INPUTS:
                self._anchor(router, daemon, s, ev)
            self._take(router, daemon, s, ev, now)
            for conn in list(s.closes):  # a close may be due right after (a connect refused at once)
                nxt = min(nxt, self._close_due(router, daemon, s, conn, now))
        return nxt

    def _clients(self, router: str, daemon: str) -> list[Client]:
        assert self.ctl is not None
        return [c for c in self.ctl.clients.values() if (c.router, c.daemon) == (router, daemon)]

    def _procs(self, router: str, daemon: str) -> list[int]:
        return [c.proc for c in self._clients(router, daemon) if c.proc >= 0]

    def _woken_and_held(self, router: str, daemon: str) -> None:
        """If the clock's last move woke the held daemon, wait (briefly) until its thread is past its poll and
        waits on the hold: what goes in now must not be in the poll that its timers ended."""
        assert self.ctl is not None and self.ctl.clock is not None
        clock = self.ctl.clock
        pids = {c.pid for c in self._clients(router, daemon)}
        if clock.woke_at != clock.now_ns() or not pids & {pid for pid, _ in clock.woken_threads()}:
            return
        deadline = time.monotonic() + WOKEN_WAIT_S
        while self._idle(router, daemon) and time.monotonic() < deadline:
            time.sleep(0.0001)

    def _anchor(self, router: str, daemon: str, s: _Stream, ev: Event) -> None:
        s.anchor_poll, s.anchor_at, s.anchor_polls = ev.poll, ev.vtime, self._polls(router, daemon)

    def _all_taken(self, router: str, ev: Event) -> bool:
        """Has the router taken all it was given of the event's kind (packets read, connections accepted)?"""
        assert self.ctl is not None
        if ev.kind == "a":
            return all(self._taken(cid) for cid in list(self.offered))
        inbox = self.ctl.raw.current.get((router, ev.conn))
        return inbox is None or _queued(inbox.writer.fileno(), SIOCOUTQ) == 0

    def _polls(self, router: str, daemon: str) -> int:
        assert self.ctl is not None and self.ctl.clock is not None
        return sum(self.ctl.clock.polls(proc) for proc in self._procs(router, daemon))

    def _idle(self, router: str, daemon: str) -> bool:
        assert self.ctl is not None and self.ctl.clock is not None
        return all(self.ctl.clock.proc_idle(proc) for proc in self._procs(router, daemon))

    def _hold(self, router: str, daemon: str, held: list[int]) -> bool:
        """Keep the daemon from resuming, if every thread of it is blocked (else let it be and say no)."""
        assert self.ctl is not None and self.ctl.clock is not None
        clock = self.ctl.clock
        procs = self._procs(router, daemon)
        for proc in procs:
            clock.hold(proc, True)
        held += procs
        if self._idle(router, daemon):  # after the hold: a thread waking now waits for it
            return True
        for proc in procs:
            clock.hold(proc, False)
        held.clear()
        return False

    def _take(self, router: str, daemon: str, s: _Stream, ev: Event, now: int) -> None:
        if ev.vtime < now:
            self.late += 1
            self.late_max_ns = max(self.late_max_ns, now - ev.vtime)
        self._deliver(router, daemon, s, ev)
        s.pos += 1
        self.delivered += 1

    def _accepts_after_connect(self, router: str, daemon: str, s: _Stream) -> None:
        """Peers' connections that the recording has right after this connect() go into the listener's queue
        before the daemon hears back: there when it next polls, as they were then (bgpd's full mesh at boot
        interleaves its connects with its peers' connections)."""
        assert self.ctl is not None and self.ctl.clock is not None
        now = self.ctl.clock.now_ns()
        while s.pos < len(s.events):
            ev = s.events[s.pos]
            if (ev.kind != "a" or ev.vtime > now or s.calls[s.pos] != s.made or ev.poll != s.anchor_poll
                    or not self._ready(router, daemon, s, ev)):
                return
            self._take(router, daemon, s, ev, now)

    def _hold_for_accepts(self, now: int) -> int:
        """Keep the clock (and the router's timers due now) until the router has accepted what was offered: in
        the recorded run the connection came while the router waited, and the scheduler does not see a
        listener's queue (a wakeup by the kernel could lose the race with a timer). Not forever: a router that
        does not accept has diverged."""
        pending = [cid for cid in list(self.offered) if not self._taken(cid)]
        if not pending:
            self.holding_since = 0.0
            return NONE
        self.holding_since = self.holding_since or time.monotonic()
        if time.monotonic() - self.holding_since > ACCEPT_WAIT_S:
            if self.holding_since > 0:
                self._diverged(f"connections {pending} not accepted within {ACCEPT_WAIT_S} s of wall time")
            self.holding_since = -1.0
            return NONE
        return now

    def done(self) -> bool:
        return all(s.pos == len(s.events) and not any(s.unsent.values()) for s in self.streams.values())

    def summary(self) -> dict[str, Any]:
        unasked = sum(len(q) for s in self.streams.values() for q in s.connects.values())
        return {"events": self.total, "connects_unasked": unasked, "delivered": self.delivered,
                "undelivered": sum(len(s.events) - s.pos for s in self.streams.values()), "late": self.late,
                "late_max_s": self.late_max_ns / 1e9,
                "bytes_in": self.bytes_in, "bytes_out": sum(self.drained.values()),
                "packets_out": sum(self.copies.values()), "divergences": self.divergences[:50]}

    def sink(self, router: str, daemon: str) -> int:
        """A descriptor for a replayed daemon's raw packets to another router (the caller passes it on and
        closes it): they go nowhere, but are counted, since the recorded peers' answers wait for them."""
        ours, theirs = datagram_pair()  # as big as an inbox: the replayer empties it at every step
        ours.setblocking(False)
        assert self.ctl is not None and self.ctl.clock is not None
        self.ctl.clock.track(ours.fileno())  # the clock waits until its packets are counted
        self.sinks.setdefault((router, daemon), []).append(ours)
        fd = os.dup(theirs.fileno())
        theirs.close()
        return fd

    def close(self) -> None:
        for socks in self.sinks.values():
            for sock in socks:
                if self.ctl and self.ctl.clock:
                    self.ctl.clock.untrack(sock.fileno())
                sock.close()
        for sock in self.ends.values():
            sock.close()
        self.ends.clear()
        self.sinks.clear()

    # -- delivery ---------------------------------------------------------------------------------------------
    def _deliver(self, router: str, daemon: str, s: _Stream, ev: Event) -> None:
        assert self.ctl is not None
        key = (router, daemon, ev.conn)
        if ev.kind == "a":
            self._accept(key, ev)
        elif ev.kind == "r":
            a = self.waiting.pop(key, None)
            w = ev.data.decode().split()
            if a is None or a.id not in self.ctl.attempts:
                self._diverged(f"{router}/{daemon}: no pending connect for recorded connection {ev.conn}")
            elif w[0] == "OK":
                fd = self._open(key, a.id, f"{router} {w[1]}:{w[2]} -> {a.dst}:{a.dport}", (a.pid, -1))
                self.ctl._finish(a, fd, 0, w[1], int(w[2]))
            else:
                self.ctl._finish(a, None, int(w[1]), "", 0)
        elif ev.kind == "d":
            cid = self.conns[key]
            if cid not in self.ends or cid not in self.ctl.connections:
                self._diverged(f"{router}/{daemon}: recorded connection {ev.conn} is not open to take bytes")
            else:
                s.unsent[cid] = ev.data
                self._write(s, cid)
        elif ev.kind == "p":
            inbox = self.ctl.raw.current.get((router, ev.conn))
            try:
                assert inbox is not None  # _ready
                inbox.writer.send(ev.data, socket.MSG_DONTWAIT)
                self.bytes_in += len(ev.data)
            except OSError as e:
                self._diverged(f"{router}/{daemon}: recorded packet (protocol {ev.conn}) not delivered: {e}")
        # 'e': the router reads the end its peer made (_close_due)

    def _close_due(self, router: str, daemon: str, s: _Stream, conn: int, now: int) -> int:
        """Close the peer's end of a connection if the recording says it is time; else when to look again."""
        assert self.ctl is not None
        c = s.closes[conn]
        cid = self.conns.get((router, daemon, conn), -1)
        if cid not in self.ends:
            return NONE  # not open yet (or closed by the router)
        if c.vtime > now:
            return c.vtime
        if s.pos <= c.after or self._router_wrote(cid) < c.written:
            return NONE  # the router has not got that far
        sock = self.ends.pop(cid)
        if not c.reset:  # a clean close: what the router sent was read
            self._drain_one(cid, sock)
        self.ctl.drop_end(cid)
        sock.close()
        del s.closes[conn]
        return NONE

    def _router_wrote(self, cid: int) -> int:
        """Bytes the router has written on a connection so far (read by us, or waiting to be)."""
        sock = self.ends.get(cid)
        return self.drained.get(cid, 0) + (_queued(sock.fileno(), FIONREAD) if sock is not None else 0)

    def _accept(self, key: tuple[str, str, int], ev: Event) -> None:
        """A peer connects: the connection goes into the router's listener, as the broker put it then."""
        assert self.ctl is not None
        w = ev.data.decode().split()  # id laddr lport raddr rport
        router, daemon = key[0], key[1]
        lst = self._listener(router, w[1], int(w[2]))
        if lst is None:
            self._diverged(f"{router}/{daemon}: no listener on {w[1]}:{w[2]} for a recorded connection from "
                           f"{w[3]}:{w[4]}")
            return
        cid = self.ctl.broker.next_id()
        mine, theirs = stream_pair()
        self.ctl.offer(lst, f"{cid} {' '.join(w[1:])}", theirs)
        self.offered[cid] = lst
        self._keep(key, cid, mine, theirs, f"{w[3]}:{w[4]} -> {router} {w[1]}:{w[2]}", (-1, lst.pid))
        theirs.close()

    def _listener(self, router: str, addr: str, port: int) -> Listener | None:
        assert self.ctl is not None
        ip = ipaddress.ip_address(addr)
        return self.ctl.broker.find_listener(router, ip.version, ip, port)

    def _open(self, key: tuple[str, str, int], cid: int, description: str, pids: tuple[int, int]) -> int:
        """A connection the router opened; returns the router's end (a descriptor to pass on)."""
        theirs, mine = stream_pair()
        self._keep(key, cid, mine, theirs, description, pids)
        fd = os.dup(theirs.fileno())
        theirs.close()
        return fd

    def _keep(self, key: tuple[str, str, int], cid: int, mine: socket.socket, theirs: socket.socket,
              description: str, pids: tuple[int, int]) -> None:
        assert self.ctl is not None
        mine.setblocking(False)
        self.ends[cid] = mine
        self.conns[key] = cid
        close = self.streams[(key[0], key[1])].closes.get(key[2])
        if close and close.reset:  # the peer will reset it: what the router sends stays unread
            self.unread.add(cid)
        self.ctl.register(Connection(cid, key[0], "(recording)", (os.dup(theirs.fileno()), os.dup(mine.fileno())),
                                     description, pids))

    def _write(self, s: _Stream, cid: int) -> None:
        sock, data = self.ends.get(cid), s.unsent.get(cid, b"")
        if sock is None or not data:
            s.unsent.pop(cid, None)
            return
        try:
            n = sock.send(data)
        except BlockingIOError:
            return
        except OSError as e:  # the router closed it while its bytes were on the way
            self._diverged(f"connection {cid}: {len(data)} recorded bytes not delivered: {e}")
            n = len(data)
        self.bytes_in += n
        s.unsent[cid] = data[n:]

    def _ready(self, router: str, daemon: str, s: _Stream, ev: Event) -> bool:
        """May the event be delivered now? Only once the daemon has read all that was written to it, and has
        got to where the event can happen: listening (and configured) for a peer's connection, waiting for a
        connect's outcome, holding the connection the bytes are for."""
        assert self.ctl is not None
        if s.made < s.calls[s.pos]:
            return False  # the router connected somewhere first (a timer at the same instant, say)
        key = (router, daemon, ev.conn)
        if ev.kind == "a":
            w = ev.data.decode().split()
            return router not in self.ctl.broker.booting and self._listener(router, w[1], int(w[2])) is not None
        if ev.kind == "r":
            return key in self.waiting
        if ev.kind == "p":  # a raw socket to take it, and the router's packets it answers sent
            return (router, ev.conn) in self.ctl.raw.current and self._copies(router, daemon) >= s.need[s.pos]
        cid = self.conns.get(key)
        if cid is None:
            return False
        if ev.kind == "e":  # the router meets the end once the peer has closed
            return ev.conn not in s.closes
        # Bytes: after the bytes before them on that connection were read (so the router reads them in the same
        # pieces), and once the router had sent what the peer answers (its OPEN, say). Bytes on different
        # connections do not wait for each other: at one virtual instant, every peer's message is there. Bytes
        # the router read before it wrote anything there (the peer's OPEN, sent as its connect completed) may
        # be there before the router has taken the connection; others wait for that.
        need = s.need[s.pos]
        return self._read_by_router(s, cid) and (need == 0 or self._taken(cid)) and self._router_wrote(cid) >= need

    def _taken(self, cid: int) -> bool:
        """Has the daemon taken the connection: accepted it, or asked how its connect ended?"""
        assert self.ctl is not None
        lst = self.offered.get(cid)
        if lst is not None:
            if isinstance(lst.channel, socket.socket) and _queued(lst.channel.fileno(), SIOCOUTQ):
                return False  # still in the queue
            del self.offered[cid]
        return cid not in self.ctl.resolved

    def _read_by_router(self, s: _Stream, cid: int) -> bool:
        """Has the daemon read everything written to it on the connection so far?"""
        assert self.ctl is not None
        if s.unsent.get(cid):
            self._write(s, cid)
            if s.unsent.get(cid):
                return False
        conn = self.ctl.connections.get(cid)
        if conn is None:
            return True
        return _queued(conn.ends[0], FIONREAD) == 0

    def _copies(self, router: str, daemon: str) -> int:
        """Raw packets the daemon has sent to other routers so far (one per receiving router)."""
        n = self.copies.get((router, daemon), 0)
        for sock in self.sinks.get((router, daemon), []):
            while True:
                try:
                    sock.recv(1)
                except OSError:  # empty (BlockingIOError), or the daemon's end closed
                    break
                n += 1
        self.copies[(router, daemon)] = n
        return n

    def _drain(self) -> None:
        """Read and drop what the routers sent; forget the connections they closed."""
        assert self.ctl is not None
        for router, daemon in self.sinks:
            self._copies(router, daemon)
        for cid, sock in list(self.ends.items()):
            if cid not in self.ctl.connections:
                sock.close()
                del self.ends[cid]
                continue
            if cid not in self.unread:
                self._drain_one(cid, sock)

    def _drain_one(self, cid: int, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(1 << 16)
            except (BlockingIOError, ConnectionResetError):
                return
            if not data:
                return
            self.drained[cid] = self.drained.get(cid, 0) + len(data)

    def _diverged(self, what: str) -> None:
        assert self.ctl is not None and self.ctl.clock is not None
        self.divergences.append(f"at {self.ctl.clock.now_ns() - self.recording.meta['start_ns']} ns: {what}")
