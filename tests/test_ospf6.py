"""OSPFv3 under the emulation.

First libreal's raw IPv6 sockets on their own (no FRR): an agent per router holding an IPPROTO_OSPFIGP socket set
up as ospf6d sets it up (IPV6_RECVPKTINFO, IPV6_MULTICAST_LOOP off), on test_ospf's LAN (a, b, c) and
point-to-point link (b, c). Each interface's only IPv6 address is the link-local one the interface table gives
it, as on a kernel before zebra adds any. Negative checks read up to a marker sent afterwards, as in test_ospf.
Then real FRR: tests/data/ospf6-chain, three routers running ospf6d only (r1 -p2p- r2 -LAN- r3), converges
with every router's IPv6 routes in the report's FIB, over the neighbours' link-local addresses, and the namespace
baseline (kernel raw sockets, kernel FIBs) gives the same FIBs.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from realfish.baseline import Baseline
from realfish.convert import load_network
from realfish.dataplane import fib_diff
from realfish.ospf import _hms
from realfish.runtime import Emulation
from realfish.runtime.controller import Controller
from realfish.runtime.recording import Recording
from tests.test_ospf import AGENT, AGENT_LOOP, LAN, P2P, Agent, lan_agents, lan_network
from tests.test_recording import replay_each_alone

ALL_SPF6, ALL_DR6 = "ff02::5", "ff02::6"

# A raw IPv6 socket of protocol 89 set up as ospf6d sets it up (ospf6_serv_sock), driven by JSON lines (test_ospf's
# AGENT_LOOP). The payload's first 16 bytes carry the marker.
AGENT6 = r"""
import json, select, socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 89)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
s.setblocking(False)

def read_one(cmd):
    data, anc, flags, src = s.recvmsg(65536, 256)
    out = {"marker": data[:16].rstrip(b"\0").decode(errors="replace"), "len": len(data), "from": src[0],
           "scope": src[3], "data": data.hex()}
    for level, kind, payload in anc:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            addr, ifindex = struct.unpack("=16sI", payload)
            out["pktinfo"] = [ifindex, socket.inet_ntop(socket.AF_INET6, addr)]
        elif level == socket.IPPROTO_IPV6 and kind == socket.IPV6_HOPLIMIT:
            out["hoplimit"] = struct.unpack("=i", payload)[0]
    return out

def handle(op, cmd, out):
    if op in ("join", "leave"):
        mreq = socket.inet_pton(socket.AF_INET6, cmd["group"]) + struct.pack("=I", cmd["ifindex"])
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP if op == "join" else socket.IPV6_LEAVE_GROUP, mreq)
    elif op == "opt":
        s.setsockopt(cmd.get("level", socket.IPPROTO_IPV6), cmd["name"], cmd["value"])
    elif op == "getopt":
        out["value"] = s.getsockopt(cmd.get("level", socket.IPPROTO_IPV6), cmd["name"])
    elif op == "send":
        payload = cmd["marker"].encode().ljust(max(cmd.get("size", 16), 16), b"\0")
        src = socket.inet_pton(socket.AF_INET6, cmd.get("src", "::"))
        anc = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, src + struct.pack("=I", cmd.get("ifindex", 0)))]
        out["sent"] = s.sendmsg([payload], anc, 0, (cmd["dst"], 0, 0, cmd.get("scope", 0)))
""" + AGENT_LOOP

Lan = tuple[dict[str, Agent], Controller]


@pytest.fixture
def lan6(tmp_path: Path) -> Iterator[Lan]:
    with lan_agents(tmp_path, AGENT6) as out:
        yield out


def _lla(router: str, ifname: str) -> str:
    """The router's link-local address on ifname, as the interface table gives it (index: its place in the net)."""
    net = lan_network()
    index = list(net.routers).index(router)
    return str(net.routers[router].link_local(net.routers[router].interfaces[ifname], index))


def _checksum(src: str, dst: str, payload: bytes) -> int:
    """RFC 8200 8.1 over the pseudo-header (next header 89) and the payload: 0 when the checksum in it holds."""
    data = socket_bytes(src) + socket_bytes(dst) + struct.pack("!I3xB", len(payload), 89) + payload
    data += b"\0" * (len(data) & 1)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def socket_bytes(addr: str) -> bytes:
    return ipaddress.IPv6Address(addr).packed


def test_multicast_reaches_the_segment_from_the_link_local_address(lan6: Lan) -> None:
    ag, ctl = lan6
    for name in ag:
        assert ag[name](op="join", ifindex=LAN, group=ALL_SPF6) == {}
    for name in ("b", "c"):
        assert ag[name](op="join", ifindex=P2P, group=ALL_SPF6) == {}
    assert ag["a"](op="send", marker="hello", dst=ALL_SPF6, ifindex=LAN, size=40)["sent"] == 40
    for name in ("b", "c"):
        (p,) = ag[name](op="recv", until="hello")["got"]
        assert p["pktinfo"] == [LAN, ALL_SPF6], "arriving ifindex, the header's destination"
        assert (p["from"], p["scope"]) == (_lla("a", "eth0"), LAN), "from a's link-local address, scoped"
        assert p["len"] == 40 and p["hoplimit"] == 1, "payload only (no IPv6 header); multicast hop limit 1"
    # IPV6_MULTICAST_LOOP 0: a did not get its own packet; c's hello on the LAN is the first a reads.
    ag["c"](op="send", marker="from-c", dst=ALL_SPF6, ifindex=LAN)
    assert ag["a"].markers("from-c") == ["from-c"]
    # b's packet on the point-to-point link reaches c there, and nobody on the LAN.
    ag["b"](op="send", marker="p2p", dst=ALL_SPF6, ifindex=P2P)
    (p,) = ag["c"](op="recv", until="p2p")["got"]
    assert p["pktinfo"] == [P2P, ALL_SPF6] and p["from"] == _lla("b", "eth1")
    ag["b"](op="send", marker="lan-after", dst=ALL_SPF6, ifindex=LAN)
    assert ag["a"].markers("lan-after") == ["lan-after"]
    ag["c"].markers("lan-after")
    assert ctl.raw.in_flight() > 0, "b has not read c's `from-c`: the controller sees it in flight"
    assert ag["b"].markers("from-c") == ["from-c"]
    assert ctl.raw.in_flight() == 0


def test_groups_and_unicast_filter_like_the_kernel(lan6: Lan) -> None:
    ag, _ = lan6
    for name in ag:
        ag[name](op="join", ifindex=LAN, group=ALL_SPF6)
    ag["b"](op="join", ifindex=LAN, group=ALL_DR6)  # b is DR: only it takes AllDRouters
    ag["a"](op="send", marker="to-drs", dst=ALL_DR6, ifindex=LAN)
    ag["a"](op="send", marker="after-drs", dst=ALL_SPF6, ifindex=LAN)
    assert ag["b"].markers("after-drs") == ["to-drs", "after-drs"]
    assert ag["c"].markers("after-drs") == ["after-drs"], "c did not join ff02::6"
    # Unicast to c's link-local address on the LAN: c takes it with its own address as destination; b does not.
    c_lla = _lla("c", "eth0")
    ag["a"](op="send", marker="to-c", dst=c_lla, scope=LAN)
    ag["a"](op="send", marker="after-c", dst=ALL_SPF6, ifindex=LAN)
    got = ag["c"](op="recv", until="after-c")["got"]
    assert [p["marker"] for p in got] == ["to-c", "after-c"]
    assert got[0]["pktinfo"] == [LAN, c_lla] and got[0]["hoplimit"] == 64, "unicast: the default hop limit 64"
    assert ag["b"].markers("after-c") == ["after-c"]
    # Left group: no longer taken.
    ag["b"](op="leave", ifindex=LAN, group=ALL_DR6)
    ag["a"](op="send", marker="drs-again", dst=ALL_DR6, ifindex=LAN)
    ag["a"](op="send", marker="after-again", dst=ALL_SPF6, ifindex=LAN)
    assert ag["b"].markers("after-again") == ["after-again"]


def test_checksum_option_fills_and_checks(lan6: Lan) -> None:
    ag, _ = lan6
    for name in ("a", "b"):
        ag[name](op="join", ifindex=LAN, group=ALL_SPF6)
    assert ag["a"](op="getopt", name=7)["value"] == -1, "IPV6_CHECKSUM: off unless asked for"
    assert ag["a"](op="opt", name=7, value=3)["errno"] == errno.EINVAL, "an odd offset"
    ag["a"](op="opt", name=7, value=16)  # after the 16-byte marker
    ag["b"](op="opt", name=7, value=16)
    ag["a"](op="send", marker="summed", dst=ALL_SPF6, ifindex=LAN, size=24)
    (p,) = ag["b"](op="recv", until="summed")["got"]
    assert _checksum(p["from"], ALL_SPF6, bytes.fromhex(p["data"])) == 0, "filled by the sender's libreal"
    # A sender without the option leaves the field as it wrote it (zero): the receiver's kernel drops that.
    ag["a"](op="opt", name=7, value=-1)
    ag["a"](op="send", marker="unsummed", dst=ALL_SPF6, ifindex=LAN, size=24)
    ag["a"](op="opt", name=7, value=16)
    ag["a"](op="send", marker="after", dst=ALL_SPF6, ifindex=LAN, size=24)
    assert ag["b"].markers("after") == ["after"]


def test_sending_errors(lan6: Lan) -> None:
    ag, _ = lan6
    a = ag["a"]
    assert a(op="send", marker="x", dst="2001:db8::9")["errno"] == errno.ENETUNREACH, "off-link: no IPv6 FIB"
    assert a(op="send", marker="x", dst=ALL_SPF6, ifindex=42)["errno"] == errno.ENODEV
    assert a(op="send", marker="x", dst=ALL_SPF6, ifindex=LAN, src=_lla("b", "eth0"))["errno"] == errno.EINVAL, \
        "a source address that is not the router's"
    assert a(op="send", marker="x", dst=ALL_SPF6, ifindex=LAN, size=1500)["errno"] == errno.EMSGSIZE, \
        "1500 bytes and the 40-byte IPv6 header exceed eth0's MTU"
    assert a(op="join", ifindex=42, group=ALL_SPF6)["errno"] == errno.ENODEV
    assert a(op="join", ifindex=LAN, group="fe80::1")["errno"] == errno.EINVAL
    assert a(op="getopt", level=1, name=38)["value"] == 89, "SO_PROTOCOL"


def test_ospfv2_and_ospfv3_do_not_cross(tmp_path: Path) -> None:
    """ospfd and ospf6d are both protocol 89: an IPv4 packet never reaches the IPv6 socket or the reverse."""
    with lan_agents(tmp_path, AGENT6) as (six, _):
        b4 = Agent("b", tmp_path, AGENT)  # an ospfd next to b's ospf6d
        a4 = Agent("a", tmp_path, AGENT)
        try:
            b4(op="join", ifindex=LAN, group="224.0.0.5")
            six["b"](op="join", ifindex=LAN, group=ALL_SPF6)
            a4(op="send", marker="v2", dst="224.0.0.5", ifindex=LAN)
            six["a"](op="send", marker="v3", dst=ALL_SPF6, ifindex=LAN)
            assert six["b"].markers("v3") == ["v3"]
            assert b4.markers("v2") == ["v2"]
        finally:
            a4.close()
            b4.close()


# -- real FRR --------------------------------------------------------------------------------------------------

SNAPSHOT = Path(__file__).parent / "data" / "ospf6-chain"
frr_only = pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/lib/frr/ospf6d").exists()
                              or shutil.which("vtysh") is None, reason="needs root and FRR 8.4 installed")


@pytest.mark.frr
@frr_only
def test_three_routers_converge_with_ipv6_routes_in_the_fib() -> None:
    net = load_network(SNAPSHOT)
    assert all(r.daemons() == ["zebra", "staticd", "ospf6d"] for r in net.routers.values())
    with Emulation(net) as emu:
        report = emu.converge(timeout=300)
        assert report.converged and not report.problems, report.problems
        neighbours = {name: emu.show(name, "show ipv6 ospf6 neighbor json")["neighbors"] for name in net.routers}
        fibs = {name: {e.prefix: e for e in emu.fib(name)} for name in net.routers}
    assert {n: sorted((x["neighborId"], x["state"]) for x in v) for n, v in neighbours.items()} == {
        "r1": [("10.0.0.2", "Full")], "r2": [("10.0.0.1", "Full"), ("10.0.0.3", "Full")],
        "r3": [("10.0.0.2", "Full")]}
    links = {"2001:db8:12::/64": ("r1", "r2"), "2001:db8:23::/64": ("r2", "r3")}
    loopbacks = {f"2001:db8:ff::{n}/128": f"r{n}" for n in (1, 2, 3)}
    # The link-local address each router's neighbour has toward it, from the interface table's MACs.
    lla = {(r, ifname): str(net.routers[r].link_local(net.routers[r].interfaces[ifname], i))
           for i, r in enumerate(net.routers) for ifname in net.routers[r].interfaces if ifname != "lo"}
    toward = {("r1", "r2"): ("eth0", "eth1"), ("r2", "r1"): ("eth1", "eth0"), ("r2", "r3"): ("eth2", "eth0"),
              ("r3", "r2"): ("eth0", "eth2")}
    path = {"r1": {"r2": "r2", "r3": "r2"}, "r2": {"r1": "r1", "r3": "r3"}, "r3": {"r1": "r2", "r2": "r2"}}
    for router, fib in fibs.items():
        for prefix, owner in loopbacks.items():
            if owner == router:
                continue
            hop = path[router][owner]
            out_if, their_if = toward[(router, hop)]
            (nh,) = fib[prefix].nexthops
            assert (nh.ip, nh.interface) == (lla[(hop, their_if)], out_if), (router, prefix, fib[prefix])
        for prefix, ends in links.items():
            kind = "connected" if router in ends else "ospf"  # zebra installs OSPFv3 routes as proto ospf (188)
            assert fib[prefix].protocol == kind, (router, prefix, fib[prefix])


@pytest.mark.frr
@pytest.mark.root
@frr_only
def test_three_routers_have_the_baselines_fibs() -> None:
    fibs = {}
    for runtime in (Baseline, Emulation):
        with runtime(load_network(SNAPSHOT), settle=3.0) as runner:
            report = runner.converge(timeout=300)
            assert report.converged and not report.problems, (runner.runtime, report.problems)
            fibs[runner.runtime] = {name: runner.fib(name) for name in runner.network.routers}
    # OSPFv3 routes: r1 and r3 learn the far loopbacks and link, r2 the two loopbacks (3 + 2 + 3)
    assert sum(e.protocol == "ospf" for fib in fibs["baseline"].values() for e in fib) == 8, fibs["baseline"]
    assert fib_diff(fibs["baseline"], fibs["real"], ("baseline", "realfish")) == []


@pytest.mark.frr
@frr_only
def test_routers_running_ospfv3_replay_alone_to_their_recorded_fibs(tmp_path: Path) -> None:
    """raw6.c records what ospf6d read from other routers (inbox key 256 + 89) and how many copies it sent, as
    raw.c does for ospfd: each router replayed alone reaches its recorded FIB."""
    net = load_network(SNAPSHOT)
    rec_dir = tmp_path / "rec"
    with Emulation(net, record=rec_dir) as emu:
        emu.converge(timeout=120)
    assert {p.name.split(".")[1] for p in rec_dir.glob("*.rec")} == {"ospf6d"}
    recording = Recording(rec_dir)
    for name in net.routers:
        events = recording.events(name, "ospf6d")
        packets = [e for e in events if e.kind == "p"]
        # read from its neighbours (not looped back): the inbox header, then the IPv6 header of next header 89
        assert packets and {e.conn for e in packets} == {256 + 89}, name
        assert all(struct.unpack_from("<IiII", e.data)[3] == 0 and e.data[16 + 6] == 89 for e in packets), name
        assert any(e.kind == "s" for e in events), name
    replay_each_alone(net, recording)


def test_ospf6d_durations_read_as_its_timerstring_writes_them() -> None:
    """The baseline's wait needs each Full neighbour's uptime: ospf6d prints "HH:MM:SS", past a day "NdHH:MM:SS"."""
    assert [_hms(t) for t in ("00:01:25", "1d02:03:04", "", "never")] == [85.0, 93784.0, 0.0, 0.0]
