"""What crosses between the parts of a cluster run: one TCP connection each way between every two parts.

Inside a part nothing changes: daemons talk over UNIX socketpairs the part's controller made, and no BGP byte
passes through Python. An emulated connection whose ends are in two parts is two such socketpairs, one per
part, and the two controllers' relays carry its bytes between their free ends (`Mesh`). The same links carry
what every part must know of the others to decide a connect as one machine would (`ClusterPeers`): every FIB
line zebra sends in a part (so each broker walks the whole network's FIBs), each part's listeners (so a
connect meets the listener's port, minimum TTL and MD5 keys), and OSPF's raw packets to a router of another
part (a datagram from a sink the sender's daemon writes into, written into the receiver's inbox there).

Frames: kind (1 byte), length (4), payload. Every frame counts as in flight from the moment it is queued
(`sent`) until the receiving part has handled it (`received`: applied, or written into the local socket, where
the part's own clock sees it): the coordinator moves the clock only when the sums over all parts agree.
"""

from __future__ import annotations

import array
import fcntl
import ipaddress
import json
import os
import queue
import selectors
import socket
import struct
import termios
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from realfish.runtime.broker import Attempt, Listener, Verdict
from realfish.runtime.peers import Client, Connection, LivePeers, Switchboard, stream_pair
from realfish.runtime.raw import datagram_pair

FIB, LISTENERS, OPEN, DATA, CLOSE, RAW = 1, 2, 3, 4, 5, 6
_HEAD = struct.Struct("!BI")
_GID = struct.Struct("!Q")
FIONREAD = termios.FIONREAD
# How a part's failure begins when it only lost its link to another part (which is then the one that failed)
LINK_LOST = "lost the relay link"
# Listener ids of another part's listeners in a part's broker: part p's listener i is (p + 1) * _SPACE + i
_SPACE = 10**9


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return bytes(buf)


def _unread(sock: socket.socket) -> int:
    buf = array.array("i", [0])
    try:
        fcntl.ioctl(sock.fileno(), FIONREAD, buf, True)
    except (OSError, ValueError):  # closed meanwhile (a connection's close, on another thread): nothing unread
        return 0
    return buf[0]


@dataclass
class _End:
    """A local socket whose bytes go to another part: one end of a cross-part connection, or a raw sink."""

    sock: socket.socket
    part: int
    gid: int = 0  # the connection's id across parts (its connecting part's index << 32 | attempt id)
    raw: tuple[str, int] | None = None  # (router, proto) for a sink of raw packets


class Mesh:
    """This part's links to every other part, and the pump that reads its local ends."""

    def __init__(self, index: int, host: str) -> None:
        self.index = index
        self.server = socket.create_server((host, 0))
        self.address = (host, self.server.getsockname()[1])
        self.handler: Callable[[int, int, bytes], None] = lambda part, kind, payload: None
        self.lock = threading.Lock()
        self.sent = self.received = 0  # frames queued here, frames from others handled here
        self.bytes_out = self.bytes_in = self.packets_out = self.packets_in = 0
        self.failure: str | None = None
        self._out: dict[int, queue.Queue[bytes | None]] = {}
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._ends: dict[int, _End] = {}  # gid -> connection end
        self._sinks: list[_End] = []
        self._sel = selectors.EpollSelector()
        self._closing = False
        self._pump = threading.Thread(target=self._run_pump, name="realfish-relay-pump", daemon=True)

    # -- links ------------------------------------------------------------------------------------------------
    def link(self, addresses: dict[int, tuple[str, int]]) -> None:
        """Connect to every other part (`addresses`: index -> host, port), and take their connections."""
        others = [p for p in addresses if p != self.index]
        for p in others:
            s = socket.create_connection(addresses[p], timeout=30)
            s.settimeout(None)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(_GID.pack(self.index))
            self._socks.append(s)
            q: queue.Queue[bytes | None] = queue.Queue()
            self._out[p] = q
            self._start(self._send_loop, s, q, p)
        self.server.settimeout(30)
        for _ in others:
            s, _addr = self.server.accept()
            s.settimeout(None)
            (p,) = _GID.unpack(_recv_exact(s, _GID.size))
            self._socks.append(s)
            self._start(self._receive_loop, s, int(p))
        self._pump.start()

    def _start(self, fn: Callable[..., None], *args: object) -> None:
        t = threading.Thread(target=fn, args=args, name="realfish-relay", daemon=True)
        t.start()
        self._threads.append(t)

    def _send_loop(self, s: socket.socket, q: queue.Queue[bytes | None], part: int) -> None:
        while (frame := q.get()) is not None:
            try:
                s.sendall(frame)
            except OSError as e:
                if not self._closing:
                    self.failure = f"{LINK_LOST} to part {part}: {e}"
                return

    def _receive_loop(self, s: socket.socket, part: int) -> None:
        try:
            while True:
                kind, n = _HEAD.unpack(_recv_exact(s, _HEAD.size))
                payload = _recv_exact(s, n)
                self.handler(part, kind, payload)
                with self.lock:
                    self.received += 1
        except (OSError, ConnectionError) as e:
            if not self._closing:
                self.failure = f"{LINK_LOST} from part {part}: {e}"

    def send(self, part: int, kind: int, payload: bytes) -> None:
        with self.lock:
            self.sent += 1
            if kind == DATA:
                self.bytes_out += len(payload) - _GID.size
            elif kind == RAW:
                self.packets_out += 1
        self._out[part].put(_HEAD.pack(kind, len(payload)) + payload)

    def broadcast(self, kind: int, payload: bytes) -> None:
        for p in self._out:
            self.send(p, kind, payload)

    # -- local ends -------------------------------------------------------------------------------------------
    def attach(self, gid: int, part: int, sock: socket.socket) -> None:
        """A cross-part connection's free end here: what the daemon writes goes to `part`."""
        end = _End(sock, part, gid)
        with self.lock:
            self._ends[gid] = end
        self._sel.register(sock, selectors.EVENT_READ, end)

    def attach_sink(self, sock: socket.socket, part: int, router: str, proto: int) -> None:
        end = _End(sock, part, raw=(router, proto))
        with self.lock:
            self._sinks.append(end)
        self._sel.register(sock, selectors.EVENT_READ, end)

    def deliver(self, gid: int, data: bytes) -> None:
        with self.lock:
            end = self._ends.get(gid)
            self.bytes_in += len(data)
        if end is not None:
            try:
                end.sock.sendall(data)
            except OSError:
                self.detach(gid)

    def detach(self, gid: int) -> None:
        with self.lock:
            end = self._ends.pop(gid, None)
        if end is not None:
            try:
                self._sel.unregister(end.sock)
            except (KeyError, ValueError):
                pass
            end.sock.close()

    def unread(self) -> int:
        """Bytes written by this part's daemons that the pump has not read yet."""
        with self.lock:
            ends = [e.sock for e in self._ends.values()] + [e.sock for e in self._sinks]
        return sum(_unread(s) for s in ends)

    def _run_pump(self) -> None:
        while not self._closing:
            for key, _ in self._sel.select(timeout=0.05):
                end: _End = key.data
                try:
                    data = end.sock.recv(1 << 16)
                except OSError:
                    data = b""
                if end.raw is not None:
                    if data:
                        head = json.dumps(end.raw).encode()
                        self.send(end.part, RAW, struct.pack("!H", len(head)) + head + data)
                    continue
                if data:
                    self.send(end.part, DATA, _GID.pack(end.gid) + data)
                else:  # the daemon closed its end
                    self.send(end.part, CLOSE, _GID.pack(end.gid))
                    self.detach(end.gid)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"frames_sent": self.sent, "frames_received": self.received, "bytes_out": self.bytes_out,
                    "bytes_in": self.bytes_in, "packets_out": self.packets_out, "packets_in": self.packets_in}

    def close(self) -> None:
        self._closing = True
        for q in self._out.values():
            q.put(None)
        for s in self._socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        if self._pump.is_alive():
            self._pump.join(timeout=2)
        for t in self._threads:
            t.join(timeout=2)
        with self.lock:
            ends = list(self._ends.values()) + self._sinks
            self._ends.clear()
            self._sinks.clear()
        for e in ends:
            e.sock.close()
        self._sel.close()
        self.server.close()


@dataclass
class RemoteListener:
    """A listener of another part, as this part's broker holds it (the channel of its `Listener`)."""

    part: int
    lid: int


class ClusterPeers(LivePeers):
    """The routers' peers run here or in other parts: the broker (over the whole network's FIBs and every
    part's listeners) decides each connect as on one machine; one whose listener is in another part opens
    there, through the relay."""

    def __init__(self, ctl: Switchboard, mesh: Mesh, part_of: dict[str, int]) -> None:
        super().__init__(ctl)
        self.mesh = mesh
        self.part_of = part_of
        self.index = mesh.index
        self._listeners: object = None  # what was last published of this part's listeners
        self._listeners_version = -1  # the broker's listeners_version then
        self._sinks: dict[tuple[str, int], socket.socket] = {}
        # the controller's lock: peers are called under it, and what other parts send is applied under it
        self.lock: threading.RLock = ctl.lock  # type: ignore[attr-defined]
        mesh.handler = self._receive

    # -- this part's side -------------------------------------------------------------------------------------
    def _open(self, a: Attempt, v: Verdict) -> tuple[int, str, int]:
        assert v.listener is not None and v.src is not None
        remote = v.listener.channel
        if not isinstance(remote, RemoteListener):
            return super()._open(a, v)
        sport = a.sport or self.ctl.broker.ephemeral_port(a.router)
        mine, relay = stream_pair()
        local, peer = v.accepted_as or (str(a.dst), str(v.src))
        gid = self.index << 32 | a.id
        desc = f"{a.router} {v.src}:{sport} -> {v.listener.router} {a.dst}:{a.dport}"
        self.mesh.send(remote.part, OPEN, json.dumps({"gid": gid, "lid": remote.lid, "client": a.router,
                                                      "msg": f"{local} {a.dport} {peer} {sport}",
                                                      "desc": desc}).encode())
        self.mesh.attach(gid, remote.part, relay)
        self.ctl.register(Connection(a.id, a.router, v.listener.router, (os.dup(mine.fileno()),), desc + " (relay)",
                                     (a.pid, 0), (a.router, str(v.src), v.listener.router, str(a.dst), a.dport)))
        fd = os.dup(mine.fileno())
        mine.close()
        return fd, str(v.src), sport

    def raw_peer(self, c: Client, router: str, proto: int) -> int | None:
        part = self.part_of.get(router, self.index)
        if part == self.index:
            return super().raw_peer(c, router, proto)
        sink = self._sinks.get((router, proto))
        if sink is None:
            reader, sink = datagram_pair()
            self._sinks[(router, proto)] = sink
            self.mesh.attach_sink(reader, part, router, proto)
        return os.dup(sink.fileno())

    def event(self) -> None:
        super().event()
        broker = self.ctl.broker
        if broker.listeners_version == self._listeners_version:
            return
        self._listeners_version = broker.listeners_version
        mine = sorted((lst.id, lst.router, lst.family, str(lst.addr) if lst.addr else None, lst.port, lst.v6only,
                       lst.minttl, sorted((str(k), v) for k, v in lst.md5.items()))
                      for lst in broker.listeners.values() if not isinstance(lst.channel, RemoteListener))
        if mine != self._listeners:
            self._listeners = mine
            self.mesh.broadcast(LISTENERS, json.dumps(mine).encode())

    def fib_line(self, router: str, line: str) -> None:
        """The controller's hook: a FIB line of one of this part's routers, for every other part."""
        self.mesh.broadcast(FIB, json.dumps([router, line]).encode())

    def close(self) -> None:
        for s in self._sinks.values():
            s.close()
        self._sinks.clear()

    # -- what other parts send --------------------------------------------------------------------------------
    def _receive(self, part: int, kind: int, payload: bytes) -> None:
        if kind == DATA:
            (gid,) = _GID.unpack_from(payload)
            self.mesh.deliver(gid, payload[_GID.size:])
            return
        if kind == CLOSE:
            (gid,) = _GID.unpack(payload)
            self.mesh.detach(gid)
            return
        if kind == RAW:
            (n,) = struct.unpack_from("!H", payload)
            router, proto = json.loads(payload[2:2 + n])
            with self.mesh.lock:
                self.mesh.packets_in += 1
            with self.lock:
                fd = self.ctl.raw.writer(router, int(proto))
            if fd is not None:
                try:
                    os.write(fd, payload[2 + n:])
                except OSError:
                    pass  # a full inbox drops the packet, as a kernel's would
                finally:
                    os.close(fd)
            return
        with self.lock:
            if kind == FIB:
                self._fib(*json.loads(payload))
            elif kind == LISTENERS:
                self._remote_listeners(part, json.loads(payload))
            elif kind == OPEN:
                self._accept(part, json.loads(payload))
            self.changed()  # pending connects meet the new state now, before this frame counts as handled

    def _fib(self, router: str, line: str) -> None:
        broker = self.ctl.broker
        fib = broker.fibs[router]
        w = line.split()
        if w[0] == "NH":
            fib.nexthop(line)
        elif w[0] == "RT":
            fib.route(line)
        elif w[0] == "ADDR":
            broker.address(router, w[1] == "add", int(w[2]), w[3])

    def _remote_listeners(self, part: int, items: list[list[Any]]) -> None:
        listeners = self.ctl.broker.listeners
        lo, hi = (part + 1) * _SPACE, (part + 2) * _SPACE
        for old in [k for k in listeners if lo <= k < hi]:
            del listeners[old]
        for lid, router, family, addr, port, v6only, minttl, md5 in items:
            key = lo + int(lid)
            listeners[key] = Listener(key, str(router), int(family), ipaddress.ip_address(addr) if addr else None,
                                      int(port), bool(v6only), int(minttl),
                                      {ipaddress.ip_address(k): v for k, v in md5},
                                      channel=RemoteListener(part, int(lid)))

    def _accept(self, part: int, req: dict[str, Any]) -> None:
        """Another part's daemon connects to a listener here: its end of the connection, and the relay's."""
        gid = int(req["gid"])
        lst = self.ctl.broker.listeners.get(int(req["lid"]))
        if lst is None or isinstance(lst.channel, RemoteListener):  # gone since: the connection closes at once
            self.mesh.send(part, CLOSE, _GID.pack(gid))
            return
        theirs, relay = stream_pair()
        cid = self.ctl.broker.next_id()
        self.mesh.attach(gid, part, relay)
        self.ctl.offer(lst, f"{cid} {req['msg']}", theirs)
        self.ctl.register(Connection(cid, str(req["client"]), lst.router, (os.dup(theirs.fileno()),),
                                     f"{req['desc']} (relay)", (lst.pid, 0)))
        theirs.close()

