"""OSPF under the emulation.

First libreal's raw IP sockets on their own (no FRR): one agent process per router, under LD_PRELOAD, driven
over stdin/stdout, against a controller running here. The addresses come from a separate "zebra" process through
emulated netlink, as on a real router: the raw socket's process must see them without seeing that netlink.
Then real FRR: an MTU mismatch keeps one adjacency out of Full, and a 20-router OSPF + iBGP network gives the
same FIBs as the namespace baseline.

Negative checks ("this router did not get that packet") need no sleeping: a packet is in every receiver's
queue when the sender's sendmsg() returns, so each check sends a marker packet afterwards and reads up to it.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from realfish import topogen
from realfish.baseline import Baseline
from realfish.dataplane import fib_diff
from realfish.runner import Runner
from realfish.runtime import Emulation
from realfish.runtime.broker import Broker
from realfish.runtime.controller import Controller
from realfish.runtime.emulation import interface_table, libreal_path
from realfish.topology import Interface, Network, Router, Segment

ALL_SPF, ALL_DR = "224.0.0.5", "224.0.0.6"
LAN, P2P = 2, 3  # ifindex of eth0 (the LAN a, b, c share) and eth1 (b's and c's point-to-point link)
ADDRS = {"a": [(LAN, "10.0.0.1/24")], "b": [(LAN, "10.0.0.2/24"), (P2P, "10.0.1.2/24")],
         "c": [(LAN, "10.0.0.3/24"), (P2P, "10.0.1.3/24")]}

# Installs addresses through emulated netlink, as zebra does (a separate process: zebra's).
ZEBRA = """
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.bind((0, 0))
for seq, (ifindex, prefix) in enumerate(eval(sys.argv[1]), start=1):
    addr, plen = prefix.split("/")
    a = socket.inet_aton(addr)
    attrs = struct.pack("=HH4s", 8, 2, a) + struct.pack("=HH4s", 8, 1, a)  # IFA_LOCAL, IFA_ADDRESS
    body = struct.pack("=BBBBI", socket.AF_INET, int(plen), 0, 0, ifindex) + attrs
    s.send(struct.pack("=IHHII", 16 + len(body), 20, 0x405, seq, 0) + body)  # RTM_NEWADDR, REQUEST|ACK|CREATE
    err = struct.unpack_from("=i", s.recv(4096), 16)[0]
    assert err == 0, err
"""

# A raw IPPROTO_OSPF socket set up as ospfd sets it up, driven by JSON lines.
AGENT = r"""
import json, select, socket, struct, sys
IP_PKTINFO, IP_HDRINCL, IP_MULTICAST_LOOP, IP_ADD_MEMBERSHIP = 8, 3, 34, 35
MCAST_JOIN_GROUP, MCAST_LEAVE_GROUP = 42, 45
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 89)
s.setsockopt(socket.IPPROTO_IP, IP_HDRINCL, 1)
s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
s.setblocking(False)

def group_req(ifindex, group):
    sin = struct.pack("=HH4s", socket.AF_INET, 0, socket.inet_aton(group)).ljust(128, b"\0")
    return struct.pack("=I4x", ifindex) + sin

def packet(marker, size, src, dst):
    payload = marker.encode().ljust(max(size, 16), b"\0")
    # total length, id and checksum left 0: the kernel fills them in, so must the emulation
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 0, 0, 0, 1, 89, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return hdr, payload

def checksum_ok(hdr):
    total = sum(struct.unpack("!10H", hdr))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF

def read_one(cmd):
    if cmd.get("recvfrom"):
        data, src = s.recvfrom(65536)
        info = None
    else:
        data, anc, flags, src = s.recvmsg(65536, socket.CMSG_SPACE(12))
        info = None
        for level, kind, payload in anc:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                ifindex, spec, addr = struct.unpack("=I4s4s", payload)
                info = [ifindex, socket.inet_ntoa(spec), socket.inet_ntoa(addr)]
    tot_len, ident = struct.unpack_from("!HH", data, 2)
    return {"marker": data[20:36].rstrip(b"\0").decode(), "len": len(data), "tot_len": tot_len, "id": ident,
            "csum_ok": checksum_ok(data[:20]), "src": socket.inet_ntoa(data[12:16]),
            "dst": socket.inet_ntoa(data[16:20]), "from": src[0], "pktinfo": info}

def handle(op, cmd, out):
    if op in ("join", "leave"):
        s.setsockopt(socket.IPPROTO_IP, MCAST_JOIN_GROUP if op == "join" else MCAST_LEAVE_GROUP,
                     group_req(cmd["ifindex"], cmd["group"]))
    elif op == "mreq":  # struct ip_mreq: group and the interface's address
        s.setsockopt(socket.IPPROTO_IP, IP_ADD_MEMBERSHIP,
                     socket.inet_aton(cmd["group"]) + socket.inet_aton(cmd["addr"]))
    elif op == "mreqn":  # struct ip_mreqn: group, address, ifindex
        s.setsockopt(socket.IPPROTO_IP, IP_ADD_MEMBERSHIP, socket.inet_aton(cmd["group"])
                     + socket.inet_aton("0.0.0.0") + struct.pack("=i", cmd["ifindex"]))
    elif op == "opt":
        s.setsockopt(socket.IPPROTO_IP, cmd["name"], cmd["value"])
    elif op == "getopt":
        out["value"] = s.getsockopt(cmd["level"], cmd["name"])
    elif op == "bind":
        s.bind((cmd["addr"], 0))
    elif op == "send":
        hdr, payload = packet(cmd["marker"], cmd.get("size", 16), cmd.get("src", "0.0.0.0"), cmd["dst"])
        anc = []
        if cmd.get("ifindex"):
            anc = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=I4s4s", cmd["ifindex"], bytes(4), bytes(4)))]
        out["sent"] = s.sendmsg([hdr, payload], anc, 0, (cmd["dst"], 0))
"""


# The agents' driver, after a script that defines `s` (the socket), `read_one(cmd)` and `handle(op, cmd, out)`.
AGENT_LOOP = r"""
print("ready", flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    op, out = cmd["op"], {}
    try:
        if op == "recv":  # everything up to and including the packet marked `until`
            got = []
            while not got or got[-1]["marker"] != cmd["until"]:
                if not select.select([s], [], [], 20)[0]:
                    break
                try:
                    got.append(read_one(cmd))
                except BlockingIOError:
                    continue  # woken for a packet this socket does not take (filtered on reading)
            out["got"] = got
        else:
            handle(op, cmd, out)
    except OSError as e:
        out["errno"] = e.errno
    print(json.dumps(out), flush=True)
"""
AGENT += AGENT_LOOP


class Agent:
    def __init__(self, name: str, tmp: Path, script: str = AGENT):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, "-c", script], env=_env(name, tmp), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready", self.stderr()

    def __call__(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.stderr()
        out: dict[str, Any] = json.loads(line)
        return out

    def markers(self, until: str) -> list[str]:
        got = self(op="recv", until=until)["got"]
        assert got and got[-1]["marker"] == until, (self.name, got)
        return [p["marker"] for p in got]

    def stderr(self) -> str:
        self.proc.kill()
        return self.proc.communicate()[1]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _env(router: str, tmp: Path) -> dict[str, str]:
    return dict(os.environ, LD_PRELOAD=str(libreal_path()), REALFISH_CONTROL=str(tmp / "control.sock"),
                REALFISH_ROUTER=router, REALFISH_DAEMON="test", REALFISH_IFTABLE=str(tmp / f"{router}.if"))


def lan_network() -> Network:
    """a, b, c on one LAN (eth0); b and c also on a point-to-point link (eth1: MTU 9000 at b, 1500 at c)."""
    net = Network()
    for name in ("a", "b", "c"):
        ifaces = {"eth0": Interface("eth0")}
        if name != "a":
            ifaces["eth1"] = Interface("eth1", mtu=9000 if name == "b" else 1500)
        net.add_router(Router(name, f"hostname {name}\n", interfaces=ifaces))
    net.segments = [Segment("lan", [("a", "eth0"), ("b", "eth0"), ("c", "eth0")]),
                    Segment("p2p", [("b", "eth1"), ("c", "eth1")])]
    return net


@contextmanager
def lan_agents(tmp_path: Path, script: str = AGENT) -> Iterator[tuple[dict[str, Agent], Controller]]:
    """lan_network()'s routers under a controller, ADDRS installed by a "zebra", one agent running `script` each."""
    net = lan_network()
    for i, (name, router) in enumerate(net.routers.items()):
        (tmp_path / f"{name}.if").write_text(interface_table(router, i, net))
    ctl = Controller(Broker(net), str(tmp_path / "control.sock"))
    ctl.start()
    agents: dict[str, Agent] = {}
    try:
        for name, addrs in ADDRS.items():
            z = subprocess.run([sys.executable, "-c", ZEBRA, repr(addrs)], env=_env(name, tmp_path),
                               capture_output=True, text=True, timeout=30)
            assert z.returncode == 0, z.stderr
            agents[name] = Agent(name, tmp_path, script)
        yield agents, ctl
    finally:
        for agent in agents.values():
            agent.close()
        ctl.stop()


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[tuple[dict[str, Agent], Controller]]:
    with lan_agents(tmp_path) as out:
        yield out


def test_interface_table_lists_segment_members() -> None:
    net = Network()
    for name in ("a", "b", "c"):
        net.add_router(Router(name, "", interfaces={"eth0": Interface("eth0"), "eth1": Interface("eth1")}))
    net.segments = [Segment("lan", [("a", "eth0"), ("b", "eth1"), ("c", "eth0"), ("c", "eth1")])]
    lines = interface_table(net.routers["c"], 2, net).splitlines()
    # c has two ports on the LAN: each port's members include c's other port (it hears its own packets there).
    assert [x for x in lines if x.split()[0] in ("segment", "member")] == [
        "segment 2 lan", "member 2 a 2", "member 2 b 3", "member 2 c 3",
        "segment 3 lan", "member 3 a 2", "member 3 b 3", "member 3 c 2"]


def test_multicast_reaches_the_segment_with_the_kernel_header(lan: tuple[dict[str, Agent], Controller]) -> None:
    ag, ctl = lan
    for name in ag:
        assert ag[name](op="join", ifindex=LAN, group=ALL_SPF) == {}
    assert ag["a"](op="opt", name=34, value=0) == {}  # IP_MULTICAST_LOOP 0, as ospfd sets it
    assert ag["a"](op="send", marker="hello", dst=ALL_SPF, ifindex=LAN, size=44)["sent"] == 64
    for name, me in (("b", "10.0.0.2"), ("c", "10.0.0.3")):
        (p,) = ag[name](op="recv", until="hello")["got"]
        assert p["pktinfo"] == [LAN, me, ALL_SPF], "arriving ifindex, local address, header destination"
        assert (p["src"], p["from"], p["dst"]) == ("10.0.0.1", "10.0.0.1", ALL_SPF), "source filled from zebra's"
        assert p["len"] == p["tot_len"] == 64 and p["id"] != 0 and p["csum_ok"], "header completed as the kernel"
    # With IP_MULTICAST_LOOP 1 (the kernel's default) the sender gets its own packet too; it did not before.
    ag["a"](op="opt", name=34, value=1)
    ag["a"](op="send", marker="looped", dst=ALL_SPF, ifindex=LAN)
    assert ag["a"].markers("looped") == ["looped"]
    assert ag["b"](op="recv", until="looped", recvfrom=True)["got"][0]["from"] == "10.0.0.1"
    assert ctl.raw.in_flight() > 0, "c has not read `looped` yet: the controller sees it in flight"
    ag["c"].markers("looped")
    assert ctl.raw.in_flight() == 0


def test_groups_unicast_and_segments_filter_like_the_kernel(lan: tuple[dict[str, Agent], Controller]) -> None:
    ag, _ = lan
    for name in ag:
        ag[name](op="join", ifindex=LAN, group=ALL_SPF)
    ag["b"](op="join", ifindex=LAN, group=ALL_DR)  # b is the DR: only it takes AllDRouters
    ag["a"](op="send", marker="to-dr", dst=ALL_DR, ifindex=LAN)
    ag["a"](op="send", marker="to-b", dst="10.0.0.2", ifindex=LAN)  # unicast on the LAN: b's address only
    ag["a"](op="send", marker="to-c", dst="10.0.0.3")  # no IP_PKTINFO: the connected subnet picks eth0
    ag["a"](op="send", marker="end", dst=ALL_SPF, ifindex=LAN)
    assert ag["b"].markers("end") == ["to-dr", "to-b", "end"]
    assert ag["c"].markers("end") == ["to-c", "end"]
    # Membership is per interface: c joined AllSPFRouters on the LAN, not on the link to b.
    ag["b"](op="send", marker="p2p-1", dst=ALL_SPF, ifindex=P2P)
    ag["c"](op="join", ifindex=P2P, group=ALL_SPF)
    ag["b"](op="send", marker="p2p-2", dst=ALL_SPF, ifindex=P2P)
    got = ag["c"](op="recv", until="p2p-2")["got"]
    assert [p["marker"] for p in got] == ["p2p-2"] and got[0]["pktinfo"][:2] == [P2P, "10.0.1.3"]
    assert ag["a"](op="send", marker="far", dst="192.0.2.1")["errno"] == errno.ENETUNREACH, "no FIB in libreal"
    ag["c"](op="leave", ifindex=LAN, group=ALL_SPF)
    ag["a"](op="send", marker="after-leave", dst=ALL_SPF, ifindex=LAN)
    ag["a"](op="send", marker="end2", dst="10.0.0.3", ifindex=LAN)
    assert ag["c"].markers("end2") == ["end2"]


def test_mtu_is_enforced_both_ways(lan: tuple[dict[str, Agent], Controller]) -> None:
    ag, _ = lan
    ag["c"](op="join", ifindex=P2P, group=ALL_SPF)
    ag["b"](op="join", ifindex=P2P, group=ALL_SPF)
    # b's side of the link has MTU 9000: it may send 4000 bytes, but c's 1500-byte interface drops them.
    assert ag["b"](op="send", marker="big", dst=ALL_SPF, ifindex=P2P, size=4000)["sent"] == 4020
    ag["b"](op="send", marker="small", dst=ALL_SPF, ifindex=P2P, size=1480)
    assert ag["c"].markers("small") == ["small"]
    assert ag["c"](op="send", marker="big", dst=ALL_SPF, ifindex=P2P, size=1481)["errno"] == errno.EMSGSIZE


def test_socket_options_and_errors(lan: tuple[dict[str, Agent], Controller], tmp_path: Path) -> None:
    ag, _ = lan
    a = ag["a"]
    assert a(op="join", ifindex=LAN, group=ALL_SPF) == {}
    assert a(op="join", ifindex=LAN, group=ALL_SPF)["errno"] == errno.EADDRINUSE
    assert a(op="leave", ifindex=LAN, group=ALL_DR)["errno"] == errno.EADDRNOTAVAIL
    assert a(op="join", ifindex=42, group=ALL_DR)["errno"] == errno.ENODEV
    assert a(op="join", ifindex=LAN, group="10.0.0.9")["errno"] == errno.EINVAL
    assert a(op="mreq", group=ALL_DR, addr="10.0.0.1") == {}, "ip_mreq: the interface by its address"
    assert a(op="mreqn", group="224.0.0.9", ifindex=LAN) == {}, "ip_mreqn: by ifindex"
    for i in range(17):  # 3 joined: the kernel's default limit is 20 per socket
        assert a(op="join", ifindex=LAN, group=f"239.0.0.{i}") == {}
    assert a(op="join", ifindex=LAN, group="239.0.1.1")["errno"] == errno.ENOBUFS
    assert a(op="getopt", level=0, name=3)["value"] == 1, "IP_HDRINCL"
    assert a(op="getopt", level=1, name=3)["value"] == 3, "SO_TYPE: SOCK_RAW"
    assert a(op="bind", addr="10.0.0.2")["errno"] == errno.EADDRNOTAVAIL, "not a's address"
    assert a(op="bind", addr="10.0.0.1") == {}
    # A raw IPv6 socket that writes its own IPv6 header (IPPROTO_RAW) is refused, with a log line.
    proc = subprocess.run([sys.executable, "-c", "import socket; socket.socket(socket.AF_INET6, socket.SOCK_RAW, 255)"],
                          env=_env("a", tmp_path), capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "raw IPv6 socket of protocol 255 is not emulated" in proc.stderr


def test_shared_address_table_follows_zebra(lan: tuple[dict[str, Agent], Controller], tmp_path: Path) -> None:
    """An address zebra adds later is the raw socket's process's at once (unicast to it is taken)."""
    ag, _ = lan
    z = subprocess.run([sys.executable, "-c", ZEBRA, repr([(LAN, "10.0.0.33/24")])], env=_env("c", tmp_path),
                       capture_output=True, text=True, timeout=30)
    assert z.returncode == 0, z.stderr
    ag["a"](op="send", marker="to-new", dst="10.0.0.33", ifindex=LAN)
    got = ag["c"](op="recv", until="to-new")["got"]
    assert got[0]["pktinfo"] == [LAN, "10.0.0.33", "10.0.0.33"]


# -- real FRR --------------------------------------------------------------------------------------------------

frr_only = pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/lib/frr/ospfd").exists()
                              or shutil.which("vtysh") is None, reason="needs root and FRR 8.4 installed")


def _ospf_chain(mtus: dict[tuple[str, str], int]) -> Network:
    """r1 - r2 - r3 over point-to-point OSPF links, loopbacks 10.255.0.N/32 in area 0."""
    net = Network()
    links = [("r1", "eth0", "r2", "eth0", "10.0.12"), ("r2", "eth1", "r3", "eth0", "10.0.23")]
    for n in (1, 2, 3):
        name = f"r{n}"
        ports = [(ifname, f"{subnet}.{n}/24") for a, ia, b, ib, subnet in links
                 for r, ifname in ((a, ia), (b, ib)) if r == name]
        cfg = [f"hostname {name}"]
        for ifname, addr in ports:
            cfg += [f"interface {ifname}", f" ip address {addr}", " ip ospf network point-to-point"]
        cfg += ["interface lo", f" ip address 10.255.0.{n}/32", "router ospf", f" ospf router-id 10.255.0.{n}",
                " network 10.0.0.0/8 area 0"]
        router = Router(name, "\n".join(cfg) + "\n")
        for ifname, addr in ports:
            router.add_interface(Interface(ifname, [ipaddress.ip_interface(addr)], mtu=mtus.get((name, ifname), 1500)))
        router.interfaces["lo"].addresses.append(ipaddress.ip_interface(f"10.255.0.{n}/32"))
        net.add_router(router)
    net.segments = [Segment(subnet, [(a, ia), (b, ib)]) for a, ia, b, ib, subnet in links]
    return net


def _neighbour_states(runner: Runner) -> dict[str, dict[str, str]]:
    out = {}
    for name in runner.network.routers:
        neighbours = runner.show(name, "show ip ospf neighbor json")["neighbors"]
        out[name] = {rid: n[0]["converged"] for rid, n in neighbours.items()}
    return out


@pytest.mark.slow
@pytest.mark.frr
@pytest.mark.root  # the baseline: network namespaces
@frr_only
def test_mtu_mismatch_keeps_that_adjacency_from_full() -> None:
    """r3's side of the r2-r3 link has MTU 1400. Same outcome on the namespace baseline (real kernels, veths)."""
    states, fibs = {}, {}
    for runtime in (Emulation, Baseline):
        with runtime(_ospf_chain({("r3", "eth0"): 1400}), settle=4.0) as runner:  # 3 x settle > hello 10 s
            runner.converge(timeout=300)
            states[runner.runtime] = _neighbour_states(runner)
            fibs[runner.runtime] = {name: runner.fib(name) for name in runner.network.routers}
            if runner.runtime == "real":
                r3_log = (runner.router_dir("r3") / "ospfd.log").read_text()
    state = states["real"]
    assert state["r1"] == {"10.255.0.2": "Full"} and state["r2"]["10.255.0.1"] == "Full"
    # The 1400-byte side refuses the 1500-byte side's database descriptions (RFC 2328 10.6) and stays in ExStart;
    # the other side, which accepts the smaller MTU, gets as far as Exchange. Neither is ever Full.
    assert state["r2"]["10.255.0.3"] == "Exchange" and state["r3"] == {"10.255.0.2": "ExStart"}
    assert "Packet[DD]: Neighbor 10.255.0.2 MTU 1500 is larger than [eth0:10.0.23.3]'s MTU 1400" in r3_log
    r1 = {e.prefix for e in fibs["real"]["r1"]}
    assert "10.255.0.2/32" in r1 and "10.255.0.3/32" not in r1, "no route through the adjacency that is not Full"
    assert states["real"] == states["baseline"]
    assert fib_diff(fibs["baseline"], fibs["real"], ("baseline", "realfish")) == []


@pytest.mark.slow
@pytest.mark.frr
@pytest.mark.root  # the baseline: network namespaces
@frr_only
def test_ospf_ibgp_network_of_20_routers_has_the_baselines_fibs(tmp_path: Path) -> None:
    """A 4x5 grid: OSPF on every link and loopback, iBGP between loopbacks through two route reflectors, every
    router originating a /24 (topogen.ospf_ibgp_grid). iBGP sessions can only open once OSPF has built the
    paths both ways, and BGP's next hops (loopbacks) resolve over OSPF's equal-cost paths."""
    fibs = {}
    for runtime in (Baseline, Emulation):
        net = topogen.ospf_ibgp_grid(4, 5, tmp_path / runtime.runtime)
        with runtime(net) as runner:
            report = runner.converge(timeout=600)
            assert not report.problems, report.problems
            assert not report.extra.get("sessions_down") and not report.extra.get("baseline", {}).get("sessions_down")
            fibs[runner.runtime] = {name: runner.fib(name) for name in net.routers}
    assert fib_diff(fibs["baseline"], fibs["real"], ("baseline", "realfish")) == []
    # ... and they are complete: all 19 other loopbacks over OSPF, all 19 other /24s over BGP, ECMP included.
    for name, entries in fibs["real"].items():
        protocols = [e.protocol for e in entries]
        assert protocols.count("ospf") >= 19 + 31 - 4 and protocols.count("bgp") == 19, (name, protocols)
    assert max(len(e.nexthops) for e in fibs["real"]["r0"]) == 2
