"""rtnetlink, the kernel's routing socket, as much of it as the baseline needs: acknowledged requests (an interface up,
a permanent neighbour entry) and a count of the route and nexthop notifications that change a namespace's main
table. A socket lives in the network namespace of the thread that created it.

Hand-written rather than pyroute2 (a test dependency only, which tests/test_libreal.py checks libreal against):
the FIB watch only counts notifications, one struct unpack per message on a non-blocking socket drained after
every event, for up to thousands of routers, where pyroute2 decodes each message into objects; the two requests
are a few lines each; and each socket must be a plain one, created by the thread that entered its router's
namespace with setns, where pyroute2 0.9 puts its own asyncio core in between.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Iterable

SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_REPLACE, NLM_F_CREATE = 0x1, 0x4, 0x100, 0x400
RTM_NEWLINK, RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWNEIGH = 16, 24, 25, 28
RTM_NEWNEXTHOP, RTM_DELNEXTHOP = 104, 105
RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE = 0x40, 0x400
RTNLGRP_NEXTHOP = 32
RTA_DST, RTA_TABLE = 1, 15
RT_TABLE_MAIN = 254
RTN_MULTICAST = 5
RTM_F_CLONED = 0x200
IFF_UP = 0x1
IFLA_IFNAME = 3
NDA_DST, NDA_LLADDR = 1, 2
NUD_PERMANENT = 0x80
_NLMSGHDR = struct.Struct("=IHHII")
_RTMSG = struct.Struct("=BBBBBBBBI")
_IFINFOMSG = struct.Struct("=BxHiII")
_NDMSG = struct.Struct("=BxxxiHBB")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def rtattr(kind: int, data: bytes) -> bytes:
    n = 4 + len(data)
    return struct.pack("=HH", n, kind) + data + b"\0" * ((4 - n % 4) % 4)


def attrs(buf: bytes, off: int, end: int) -> Iterable[tuple[int, bytes]]:
    while off + 4 <= end:
        n, kind = struct.unpack_from("=HH", buf, off)
        if n < 4:
            return
        yield kind & 0x3FFF, buf[off + 4:off + n]
        off += (n + 3) & ~3


class RtNetlink:
    """A NETLINK_ROUTE socket that lives in the namespace of the thread that created it."""

    def __init__(self, groups: int = 0):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, groups))
        self.seq = 0

    def request(self, kind: int, flags: int, payload: bytes) -> None:
        """Send one request with NLM_F_ACK and raise OSError unless the kernel acknowledges it."""
        self.seq += 1
        self.sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(payload), kind, NLM_F_REQUEST | NLM_F_ACK | flags,
                                      self.seq, 0) + payload)
        while True:
            buf = self.sock.recv(65536)
            off = 0
            while off + _NLMSGHDR.size <= len(buf):
                n, mtype, _, seq, _ = _NLMSGHDR.unpack_from(buf, off)
                if mtype == NLMSG_ERROR and seq == self.seq:
                    (err,) = struct.unpack_from("=i", buf, off + _NLMSGHDR.size)
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return
                off += (n + 3) & ~3

    def link_up(self, name: str) -> None:
        payload = _IFINFOMSG.pack(0, 0, 0, IFF_UP, IFF_UP) + rtattr(IFLA_IFNAME, name.encode() + b"\0")
        self.request(RTM_NEWLINK, 0, payload)

    def neigh_permanent(self, ifindex: int, addr: IPAddress, mac: str) -> None:
        family = socket.AF_INET if addr.version == 4 else socket.AF_INET6
        payload = (_NDMSG.pack(family, ifindex, NUD_PERMANENT, 0, 0) + rtattr(NDA_DST, addr.packed)
                   + rtattr(NDA_LLADDR, bytes.fromhex(mac.replace(":", ""))))
        self.request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, payload)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()


def fib_changes(buf: bytes) -> int:
    """How many of the messages in buf change table main (routes, nexthop objects)."""
    count = 0
    off = 0
    while off + _NLMSGHDR.size <= len(buf):
        n, mtype, _, _, _ = _NLMSGHDR.unpack_from(buf, off)
        if n < _NLMSGHDR.size:
            break
        body = off + _NLMSGHDR.size
        if mtype in (RTM_NEWNEXTHOP, RTM_DELNEXTHOP):
            count += 1
        if mtype in (RTM_NEWROUTE, RTM_DELROUTE) and body + _RTMSG.size <= off + n:
            family, dst_len, _, _, table, _, _, rtype, flags = _RTMSG.unpack_from(buf, body)
            dst = b""
            for kind, data in attrs(buf, body + _RTMSG.size, off + n):
                if kind == RTA_TABLE and len(data) >= 4:
                    table = struct.unpack_from("=I", data)[0]
                elif kind == RTA_DST:
                    dst = data
            link_local6 = family == socket.AF_INET6 and (dst[:2] == b"\xfe\x80" or dst[:1] == b"\xff")
            if table == RT_TABLE_MAIN and rtype != RTN_MULTICAST and not flags & RTM_F_CLONED \
                    and not link_local6:
                count += 1
        off += (n + 3) & ~3
    return count
