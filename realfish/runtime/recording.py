"""Record a run, and replay a router from it: the router alone, fed what it read, reaches the state it had.

A recorded run (`Emulation(record=DIR)`, `realfish converge --record DIR`) leaves in DIR:
  ROUTER.DAEMON.rec   what each daemon read from its emulated TCP connections, and when, in virtual ns
                      (native/src/record.c writes it: connects and their outcomes, accepts, every read's bytes);
  meta.json           where the virtual clock started, each router's index and boot instant;
  fibs.json           each router's FIB at the end of the run: the state a replay must reach.

A replay (`Emulation(network.part(routers), replay=Recording(DIR))`, `realfish replay`) starts only the given
routers, on a clock that starts where the recorded one did, and boots each at its recorded instant. The
`Replayer`, inside the controller, stands in for every peer: a connect() gets the answer it got then, a
pending one ends when it ended then, a peer's connection is offered to the router's listener when it was then,
and every read's bytes are written for the router to read at the virtual instant it read them, each read's
bytes only once the router has read the previous ones (so it reads them in the same pieces and order). What
the router sends is read and dropped. The router runs unmodified: the same inputs at the same instants make
it compute the same state, which `compare` checks against fibs.json.

Not recorded: ospfd's raw IP packets (a router with ospfd cannot be replayed yet).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import struct
import termios
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realfish.runtime.broker import Attempt, Listener
from realfish.runtime.controller import Connection, stream_pair
from realfish.runtime.vclock import NONE

if TYPE_CHECKING:
    from realfish.runtime.controller import Client, Controller

HEAD = struct.Struct("<qIIq")  # struct rec_head in record.c: vtime, kind, len, conn
FIONREAD = termios.FIONREAD
REPLAYED_DAEMONS = ("bgpd",)  # the daemons with emulated TCP; the rest read only their own router's state


class RecordingError(ValueError):
    pass


@dataclass(slots=True)
class Event:
    vtime: int
    kind: str  # c r a d e (record.c)
    conn: int
    data: bytes


def read_events(path: Path) -> list[Event]:
    raw = path.read_bytes()
    out, off = [], 0
    while off < len(raw):
        if off + HEAD.size > len(raw):
            raise RecordingError(f"{path}: truncated record header at byte {off}")
        vtime, kind, n, conn = HEAD.unpack_from(raw, off)
        off += HEAD.size
        if off + n > len(raw) or chr(kind) not in "cradel":
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
        for name in ("fibs.json", "meta.json"):
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
        return read_events(path) if path.exists() else []

    def fibs(self) -> dict[str, list[dict[str, Any]]]:
        path = self.dir / "fibs.json"
        if not path.exists():
            raise RecordingError(f"{path} is missing: the recorded run did not finish")
        data: dict[str, list[dict[str, Any]]] = json.loads(path.read_text())
        return data

    def check(self, routers: list[str], daemons: dict[str, list[str]]) -> None:
        for r in routers:
            if r not in self.meta["index"]:
                raise RecordingError(f"{self.dir}: router {r!r} was not in the recorded run")
            if "ospfd" in daemons.get(r, []):
                raise RecordingError(f"{r}: runs ospfd, whose raw IP packets are not recorded; only routers "
                                     "whose neighbours are all BGP can be replayed")


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
class _Stream:
    """One daemon's recorded inputs and how far the replay is."""

    events: list[Event]  # in the order the daemon met them, without its connects
    connects: deque[Event]  # its connect() calls, answered in order
    pos: int = 0
    last_written: int = -1  # the connection written last: the next event waits until the daemon read it
    unsent: bytes = b""  # what did not fit in that connection's buffer yet


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
    divergences: list[str] = field(default_factory=list)
    delivered: int = 0
    late: int = 0
    bytes_in: int = 0  # written to the routers
    bytes_out: int = 0  # read from them (and dropped)
    total: int = 0

    def __post_init__(self) -> None:
        for r in self.routers:
            for d in REPLAYED_DAEMONS:
                evs = self.recording.events(r, d)
                self.streams[(r, d)] = _Stream([e for e in evs if e.kind != "c"],
                                               deque(e for e in evs if e.kind == "c"))
                self.total += len(evs)

    # -- what the controller asks -----------------------------------------------------------------------------
    def connect(self, c: Client, a: Attempt) -> None:
        """A connect() of a replayed daemon: the answer it got in the recorded run."""
        assert self.ctl is not None
        s = self.streams.get((c.router, c.daemon))
        ev = s.connects.popleft() if s and s.connects else None
        if ev is None:
            self._diverged(f"{c.router}/{c.daemon}: connect to {a.dst}:{a.dport} that the recorded run did not make")
            self.ctl._reply(c, f"ERR {errno.ETIMEDOUT}")
            return
        request, _, reply = ev.data.decode().partition("\n")
        rw, w = request.split(), reply.split()
        if (rw[4], int(rw[5])) != (str(a.dst), a.dport):
            self._diverged(f"{c.router}/{c.daemon}: connect to {a.dst}:{a.dport} where the recorded run "
                           f"connected to {rw[4]}:{rw[5]}")
        key = (c.router, c.daemon, int(w[1]) if len(w) > 1 and w[0] in ("OK", "PENDING") else -1)
        if w[0] == "OK":
            fd = self._open(key, a.id, f"{c.router} {w[2]}:{w[3]} -> {a.dst}:{a.dport}", (a.pid, -1))
            self.ctl._reply(c, f"OK {a.id} {w[2]} {w[3]}", fd)
            os.close(fd)
        elif w[0] == "PENDING":
            r, a.wake_fd = os.pipe()
            self.ctl.attempts[a.id] = a
            self.waiting[key] = a
            self.ctl._reply(c, f"PENDING {a.id}", r)
            os.close(r)
        else:
            self.ctl._reply(c, reply)

    def pump(self) -> int:
        """Deliver what is due; return the virtual instant of the next event (NONE when none is left)."""
        assert self.ctl is not None and self.ctl.clock is not None
        self._drain()
        now = self.ctl.clock.now_ns()
        nxt = NONE
        for (router, daemon), s in self.streams.items():
            while s.pos < len(s.events):
                ev = s.events[s.pos]
                if ev.vtime > now:
                    nxt = min(nxt, ev.vtime)
                    break
                if not self._ready(router, daemon, s, ev):
                    break  # the daemon has not come to it yet (bytes it has not read hold the clock)
                self.late += ev.vtime < now
                self._deliver(router, daemon, s, ev)
                s.pos += 1
                self.delivered += 1
        return nxt

    def done(self) -> bool:
        return all(s.pos == len(s.events) and not s.unsent for s in self.streams.values())

    def summary(self) -> dict[str, Any]:
        return {"events": self.total, "connects_unasked": sum(len(s.connects) for s in self.streams.values()),
                "delivered": self.delivered, "undelivered": sum(len(s.events) - s.pos for s in self.streams.values()),
                "late": self.late, "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out, "divergences": self.divergences[:50]}

    def close(self) -> None:
        for sock in self.ends.values():
            sock.close()
        self.ends.clear()

    # -- delivery ---------------------------------------------------------------------------------------------
    def _deliver(self, router: str, daemon: str, s: _Stream, ev: Event) -> None:
        assert self.ctl is not None
        key = (router, daemon, ev.conn)
        if ev.kind == "a":
            self._accept(key, ev)
        elif ev.kind == "r":
            a = self.waiting.pop(key, None)
            w = ev.data.decode().split()
            if a is None:
                self._diverged(f"{router}/{daemon}: no pending connect for recorded connection {ev.conn}")
            elif w[0] == "OK":
                fd = self._open(key, a.id, f"{router} {w[1]}:{w[2]} -> {a.dst}:{a.dport}", (a.pid, -1))
                self.ctl._finish(a, fd, 0, w[1], int(w[2]))
            else:
                self.ctl._finish(a, None, int(w[1]), "", 0)
        elif ev.kind in "de":
            cid = self.conns.get(key, -1)
            sock = self.ends.get(cid)
            if sock is None or cid not in self.ctl.connections:
                self._diverged(f"{router}/{daemon}: recorded connection {ev.conn} is not open to take "
                               f"{'bytes' if ev.kind == 'd' else 'its end'}")
            elif ev.kind == "e":
                sock.shutdown(socket.SHUT_WR)
            else:
                s.last_written, s.unsent = cid, ev.data
                self._write(s)

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
        self._keep(key, cid, mine, theirs, f"{w[3]}:{w[4]} -> {router} {w[1]}:{w[2]}", (-1, lst.pid))
        theirs.close()

    def _listener(self, router: str, addr: str, port: int) -> Listener | None:
        assert self.ctl is not None
        for lst in self.ctl.broker.listeners.values():
            if lst.router == router and lst.port == port and (lst.addr is None or str(lst.addr) == addr):
                return lst
        return None

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
        self.ctl.register(Connection(cid, key[0], "(recording)", (os.dup(theirs.fileno()), os.dup(mine.fileno())),
                                     description, pids))

    def _write(self, s: _Stream) -> None:
        sock = self.ends.get(s.last_written)
        if sock is None:
            s.unsent = b""
            return
        try:
            n = sock.send(s.unsent)
        except BlockingIOError:
            return
        except OSError as e:  # the router closed it while its bytes were on the way
            self._diverged(f"connection {s.last_written}: {len(s.unsent)} recorded bytes not delivered: {e}")
            n = len(s.unsent)
        self.bytes_in += n
        s.unsent = s.unsent[n:]

    def _ready(self, router: str, daemon: str, s: _Stream, ev: Event) -> bool:
        """May the event be delivered now? Only once the daemon has read all that was written to it, and has
        got to where the event can happen: listening (and configured) for a peer's connection, waiting for a
        connect's outcome, holding the connection the bytes are for."""
        assert self.ctl is not None
        if not self._read_by_router(s):
            return False
        key = (router, daemon, ev.conn)
        if ev.kind == "a":
            w = ev.data.decode().split()
            return router not in self.ctl.broker.booting and self._listener(router, w[1], int(w[2])) is not None
        if ev.kind == "r":
            return key in self.waiting
        return key in self.conns

    def _read_by_router(self, s: _Stream) -> bool:
        """Has the daemon read everything written to it so far?"""
        assert self.ctl is not None
        if s.unsent:
            self._write(s)
            if s.unsent:
                return False
        conn = self.ctl.connections.get(s.last_written)
        if conn is None:
            return True
        buf = bytearray(4)
        try:
            fcntl.ioctl(conn.ends[0], FIONREAD, buf)
        except OSError:
            return True
        return int.from_bytes(buf, "little") == 0

    def _drain(self) -> None:
        """Read and drop what the routers sent; forget the connections they closed."""
        assert self.ctl is not None
        for cid, sock in list(self.ends.items()):
            if cid not in self.ctl.connections:
                sock.close()
                del self.ends[cid]
                continue
            while True:
                try:
                    data = sock.recv(1 << 16)
                except (BlockingIOError, ConnectionResetError):
                    break
                if not data:
                    break
                self.bytes_out += len(data)

    def _diverged(self, what: str) -> None:
        self.divergences.append(what)
