"""rtnetlink messages as the baseline's FIB watch counts them: built by hand here, so no socket or root is needed."""

from __future__ import annotations

import socket
import struct

from realfish import rtnetlink as nl

_HDR = struct.Struct("=IHHII")
_RTMSG = struct.Struct("=BBBBBBBBI")


def route(kind: int, family: int = socket.AF_INET, table: int = nl.RT_TABLE_MAIN, rtype: int = 1, flags: int = 0,
          dst: bytes = b"\x0a\x00\x00\x00", table_attr: int | None = None) -> bytes:
    body = _RTMSG.pack(family, 8 * len(dst), 0, 0, table, 0, 0, rtype, flags) + nl.rtattr(nl.RTA_DST, dst)
    if table_attr is not None:
        body += nl.rtattr(nl.RTA_TABLE, struct.pack("=I", table_attr))
    return _HDR.pack(_HDR.size + len(body), kind, 0, 0, 0) + body


def test_attributes_round_trip_with_padding() -> None:
    buf = nl.rtattr(1, b"\x01\x02\x03") + nl.rtattr(15, b"abcd")
    assert len(buf) == 16 and list(nl.attrs(buf, 0, len(buf))) == [(1, b"\x01\x02\x03"), (15, b"abcd")]


def test_only_changes_to_the_main_table_count() -> None:
    fe80 = b"\xfe\x80" + b"\0" * 14
    counted = [route(nl.RTM_NEWROUTE), route(nl.RTM_DELROUTE), route(nl.RTM_NEWROUTE, table=252, table_attr=254),
               _HDR.pack(_HDR.size, nl.RTM_NEWNEXTHOP, 0, 0, 0)]
    ignored = [route(nl.RTM_NEWROUTE, table=255),  # the local table
               route(nl.RTM_NEWROUTE, table_attr=1000),  # RTA_TABLE says which table, beyond 255
               route(nl.RTM_NEWROUTE, rtype=nl.RTN_MULTICAST), route(nl.RTM_NEWROUTE, flags=nl.RTM_F_CLONED),
               route(nl.RTM_NEWROUTE, family=socket.AF_INET6, dst=fe80)]
    assert nl.fib_changes(b"".join(counted)) == len(counted)
    assert nl.fib_changes(b"".join(ignored)) == 0
    assert nl.fib_changes(b"".join(counted + ignored)) == len(counted)
