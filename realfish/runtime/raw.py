"""Inboxes of emulated raw IP sockets (libreal's raw.c): the controller makes them and hands them out.

Each raw socket a daemon opens (ospfd's IPPROTO_OSPF) is one end of an AF_UNIX datagram socketpair made here;
the controller keeps the other end, the inbox's write end. A daemon that sends to a router asks once for a
duplicate of that router's write end and then writes packets into it directly: the controller only does this
bookkeeping, never a packet. Holding every write end also shows the packets in flight (SIOCOUTQ: bytes written
and not yet read), which the quiescence check counts like bytes on emulated TCP connections.

A connected pair and not a named socket, because the kernel caps an unconnected AF_UNIX datagram receiver at
net.unix.max_dgram_qlen (10) queued packets; a connected pair is capped only by the write end's buffer, set here
to what a kernel raw socket gets once ospfd asks for 8 MiB.
"""

from __future__ import annotations

import array
import fcntl
import os
import socket
import termios
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from realfish.runtime.vclock import VirtualClock

SO_SNDBUFFORCE = 32  # not in Python's socket module
INBOX_BYTES = 8 << 20
SIOCOUTQ = termios.TIOCOUTQ


@dataclass
class Inbox:
    id: int
    router: str
    proto: int
    pid: int
    writer: socket.socket  # our end: duplicates of it go to the senders


def datagram_pair(send_bytes: int = INBOX_BYTES) -> tuple[socket.socket, socket.socket]:
    """(reading end, writing end) of an AF_UNIX datagram pair whose writer may queue `send_bytes`."""
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        writer.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, send_bytes)  # root: beyond net.core.wmem_max
    except OSError:
        writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_bytes)
    return reader, writer


class RawInboxes:
    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.clock = clock  # the virtual clock must not move while a packet waits in an inbox
        self.by_id: dict[int, Inbox] = {}
        self.current: dict[tuple[str, int], Inbox] = {}  # the newest socket of a router for a protocol receives

    def open(self, inbox_id: int, router: str, proto: int, pid: int, reader: int = -1) -> socket.socket:
        """Make an inbox; return the daemon's end (the caller sends it and closes its copy). `reader`: the
        daemon's number in the clock's process table, in an ordered run: the clock then watches the daemon's end,
        so a packet waiting there is known to be that daemon's input (the writer's end, tracked here, shows no
        queued datagram)."""
        theirs, ours = datagram_pair()
        inbox = Inbox(inbox_id, router, proto, pid, ours)
        if self.clock:
            self.clock.track(ours.fileno())
            if reader >= 0 and self.clock.ordered:
                mine = os.dup(theirs.fileno())
                self.clock.watch(mine, reader)
                os.close(mine)  # the watch lasts while the daemon holds its end
        self.by_id[inbox_id] = inbox
        self.current[(router, proto)] = inbox
        return theirs

    def writer(self, router: str, proto: int) -> int | None:
        """A new descriptor that writes into the router's inbox for proto (the caller closes it), or None."""
        inbox = self.current.get((router, proto))
        return os.dup(inbox.writer.fileno()) if inbox else None

    def close(self, inbox_id: int) -> None:
        inbox = self.by_id.pop(inbox_id, None)
        if inbox is None:
            return
        if self.current.get((inbox.router, inbox.proto)) is inbox:
            del self.current[(inbox.router, inbox.proto)]
        if self.clock:
            self.clock.untrack(inbox.writer.fileno())
        inbox.writer.close()

    def gone(self, pid: int) -> None:
        """A daemon exited: its sockets are closed, as the kernel closes them."""
        for inbox in [i for i in self.by_id.values() if i.pid == pid]:
            self.close(inbox.id)

    def in_flight(self) -> int:
        """Bytes of packets written into inboxes and not read yet."""
        total = 0
        buf = array.array("i", [0])
        for inbox in self.by_id.values():
            try:
                fcntl.ioctl(inbox.writer.fileno(), SIOCOUTQ, buf, True)
                total += buf[0]
            except OSError:
                pass
        return total

    def close_all(self) -> None:
        for inbox_id in list(self.by_id):
            self.close(inbox_id)
