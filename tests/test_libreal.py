"""libreal on its own, without FRR: a test process loads it with LD_PRELOAD and talks to a controller that
runs here, so each interposed call is checked against an independent implementation (pyroute2 speaks
netlink; Python's socket module speaks TCP)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from realfish.runtime.broker import Broker
from realfish.runtime.controller import Controller
from realfish.runtime.emulation import interface_table
from realfish.runtime.libreal import libreal_path
from realfish.topology import Interface, Network, Router, Segment


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Network, Controller, Path]]:
    net = Network()
    for name in ("a", "b", "c"):
        net.add_router(Router(name, f"hostname {name}\n", interfaces={"eth0": Interface("eth0", mtu=9000),
                                                                      "eth1": Interface("eth1")}))
    net.segments = [Segment("ab", [("a", "eth0"), ("b", "eth0")]), Segment("bc", [("b", "eth1"), ("c", "eth0")])]
    for i, (name, router) in enumerate(net.routers.items()):
        (tmp_path / f"{name}.if").write_text(interface_table(router, i))
    ctl = Controller(Broker(net), str(tmp_path / "control.sock"))
    ctl.start()
    try:
        yield net, ctl, tmp_path
    finally:
        ctl.stop()


def run_as(router: str, tmp: Path, code: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LD_PRELOAD=str(libreal_path()), REALFISH_CONTROL=str(tmp / "control.sock"),
               REALFISH_ROUTER=router, REALFISH_DAEMON="test", REALFISH_IFTABLE=str(tmp / f"{router}.if"))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_netlink_links_addresses_and_routes(lab: tuple[Network, Controller, Path]) -> None:
    net, ctl, tmp = lab
    # pyroute2 encodes and decodes; the socket is a plain one, so libreal sees exactly these messages.
    proc = run_as("a", tmp, """
        import json, socket
        from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REQUEST
        from pyroute2.netlink.rtnl import RTM_DELROUTE, RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWROUTE
        from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
        from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
        from pyroute2.netlink.rtnl.marshal import MarshalRtnl
        from pyroute2.netlink.rtnl.rtmsg import rtmsg

        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        s.bind((0, 0))
        seq = 0
        def talk(msg, kind, flags, **fields):
            global seq
            seq += 1
            msg["header"]["type"], msg["header"]["flags"] = kind, NLM_F_REQUEST | flags
            msg["header"]["sequence_number"] = seq
            for k, v in fields.items():
                msg[k] = v
            msg.encode()
            s.send(msg.data)
            out = []
            s.setblocking(False)
            try:
                while True:
                    out += MarshalRtnl().parse(s.recv(65536))
            except BlockingIOError:
                pass
            return out
        links = [(m["index"], m.get_attr("IFLA_IFNAME"), m.get_attr("IFLA_MTU"))
                 for m in talk(ifinfmsg(), RTM_GETLINK, NLM_F_DUMP) if m["header"]["type"] == 16]
        acks = talk(ifaddrmsg(), RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE, family=2, prefixlen=24, index=2,
                    attrs=[("IFA_LOCAL", "10.0.0.1"), ("IFA_ADDRESS", "10.0.0.1")])
        addrs = [(m["index"], m.get_attr("IFA_ADDRESS"), m["prefixlen"])
                 for m in talk(ifaddrmsg(), RTM_GETADDR, NLM_F_DUMP, family=2) if m["header"]["type"] == 20]
        route = dict(family=2, dst_len=24, table=254, proto=186, type=1)
        talk(rtmsg(), RTM_NEWROUTE, NLM_F_CREATE, attrs=[("RTA_DST", "10.9.0.0"), ("RTA_GATEWAY", "10.0.0.2"),
                                                         ("RTA_OIF", 2)], **route)
        talk(rtmsg(), RTM_NEWROUTE, NLM_F_CREATE, attrs=[("RTA_DST", "10.8.0.0"), ("RTA_MULTIPATH", [
            {"oif": 2, "attrs": [("RTA_GATEWAY", "10.0.0.2")]},
            {"oif": 2, "attrs": [("RTA_GATEWAY", "10.0.0.3")]}])], **route)
        talk(rtmsg(), RTM_NEWROUTE, NLM_F_CREATE, attrs=[("RTA_DST", "10.7.0.0"), ("RTA_OIF", 2)], **route)
        talk(rtmsg(), RTM_DELROUTE, 0, attrs=[("RTA_DST", "10.7.0.0")], **route)
        print(json.dumps({"links": links, "addrs": addrs, "ack": acks[0]["error"] if acks else None}))
    """)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["links"] == [[1, "lo", 65536], [2, "eth0", 9000], [3, "eth1", 1500]]
    assert [2, "10.0.0.1", 24] in out["addrs"] and [1, "127.0.0.1", 8] in out["addrs"]
    assert out["ack"] == 0
    fib = ctl.broker.fibs["a"]
    entries = {e.prefix: e for e in fib.entries()}
    assert entries["10.0.0.0/24"].protocol == "connected"
    assert entries["10.9.0.0/24"].protocol == "bgp"
    assert {(n.ip, n.interface) for n in entries["10.9.0.0/24"].nexthops} == {("10.0.0.2", "eth0")}
    assert {n.ip for n in entries["10.8.0.0/24"].nexthops} == {"10.0.0.2", "10.0.0.3"}
    assert "10.7.0.0/24" not in entries


def test_tcp_connect_accept_and_names(lab: tuple[Network, Controller, Path]) -> None:
    net, ctl, tmp = lab
    ctl.broker.address("a", True, 2, "10.0.0.1/24")
    ctl.broker.address("b", True, 2, "10.0.0.2/24")
    server = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", 179)); s.listen(5)
            print("listening", flush=True)
            c, peer = s.accept()
            data = c.recv(100)
            c.sendall(data.upper())
            print(peer[0], c.getsockname()[0], c.getsockname()[1], flush=True)
        """)],
        env=dict(os.environ, LD_PRELOAD=str(libreal_path()), REALFISH_CONTROL=str(tmp / "control.sock"),
                 REALFISH_ROUTER="b", REALFISH_DAEMON="test", REALFISH_IFTABLE=str(tmp / "b.if")),
        stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        client = run_as("a", tmp, """
            import socket, errno
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
            s.connect(("10.0.0.2", 179))
            s.sendall(b"open")
            print(s.recv(100).decode(), s.getpeername()[0], s.getsockname()[0])
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            print(t.connect_ex(("192.0.2.1", 179)) == errno.ENETUNREACH)
            u = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            print(u.connect_ex(("10.0.0.2", 2000)) == errno.ECONNREFUSED)
        """)
        assert client.returncode == 0, client.stderr
        lines = client.stdout.split("\n")
        assert lines[0] == "OPEN 10.0.0.2 10.0.0.1"
        assert lines[1] == "True", "no route: ENETUNREACH at once"
        assert lines[2] == "True", "nothing listening: ECONNREFUSED"
        peer, local, port = server.communicate(timeout=10)[0].split()
        assert (peer, local, port) == ("10.0.0.1", "10.0.0.2", "179")
    finally:
        server.kill()
        server.wait()


def test_refuses_other_host_sockets(lab: tuple[Network, Controller, Path]) -> None:
    _, _, tmp = lab
    proc = run_as("a", tmp, """
        import socket
        try:
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            print("opened")
        except PermissionError:
            print("refused")
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.sendto(b"x", ("127.0.0.1", 9))
            print("sent")
        except OSError:
            print("dropped")
        print(socket.gethostname())
    """)
    assert proc.stdout.split() == ["refused", "dropped", "a"]
    assert "refusing socket(AF_PACKET" in proc.stderr


def test_ethtool_reports_each_ports_speed_from_the_table(lab: tuple[Network, Controller, Path]) -> None:
    """zebra's SIOCETHTOOL on its datagram socket, answered from the interface table as a veth's driver answers:
    the legacy ETHTOOL_GSET zebra 8.4 uses (speed split in two 16-bit halves), the newer GLINKSETTINGS with the
    kernel's handshake on the size of its link-mode masks, no link settings for lo, ENODEV for no such port."""
    net, _, tmp = lab
    router = Router("a", "hostname a\n", interfaces={"eth0": Interface("eth0", speed_mbps=400_000),
                                                      "eth1": Interface("eth1", speed_mbps=100)})
    (tmp / "a.if").write_text(interface_table(router, 0))
    proc = run_as("a", tmp, """
        import ctypes, fcntl, json, socket, struct
        SIOCETHTOOL, GSET, GDRVINFO, GLINKSETTINGS = 0x8946, 1, 3, 0x4C
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        def ask(name, data):
            buf = bytearray(data)
            addr = (ctypes.c_char * len(buf)).from_buffer(buf)
            ifr = struct.pack("16sP", name.encode(), ctypes.addressof(addr)).ljust(40, b"\\0")
            try:
                fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
            except OSError as e:
                return e.errno
            return bytes(buf)
        out = {}
        for name in ("eth0", "eth1", "lo", "eth9"):
            r = ask(name, struct.pack("=I", GSET).ljust(44, b"\\0"))
            if isinstance(r, bytes):
                cmd, _, _, speed, duplex = struct.unpack_from("=IIIHB", r)
                speed_hi = struct.unpack_from("=H", r, 28)[0]
                r = [cmd, speed_hi << 16 | speed, duplex]
            out[name] = r
        out["drvinfo"] = ask("eth0", struct.pack("=I", GDRVINFO).ljust(196, b"\\0"))
        hs = ask("eth1", struct.pack("=I", GLINKSETTINGS).ljust(48, b"\\0"))
        nwords = struct.unpack_from("=b", hs, 15)[0]  # link_mode_masks_nwords
        full = ask("eth1", (struct.pack("=I", GLINKSETTINGS) + bytes(11) + struct.pack("=b", -nwords)).ljust(
            48 + 12 * -nwords, b"\\0"))
        out["glinksettings"] = [nwords, struct.unpack_from("=I", full, 4)[0], struct.unpack_from("=b", full, 15)[0]]
        print(json.dumps(out))
    """)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["eth0"] == [1, 400_000, 1] and out["eth1"] == [1, 100, 1]  # DUPLEX_FULL
    assert out["lo"] == errno.EOPNOTSUPP and out["eth9"] == errno.ENODEV and out["drvinfo"] == errno.EOPNOTSUPP
    nwords, speed, nwords_back = out["glinksettings"]
    assert nwords < 0 and speed == 100 and nwords_back == -nwords


def test_zeroing_gives_whole_pages_back_and_reads_as_zeros() -> None:
    """memory.c's rf_zero (what bgpd's ring wipes become): the bytes read as zeros, as after memset, edges
    included, and the whole pages inside are no longer resident."""
    import ctypes
    import mmap

    lib = ctypes.CDLL(str(libreal_path()))
    lib.rf_zero.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    page = mmap.PAGESIZE
    region = mmap.mmap(-1, 64 * page, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    region.write(b"\xab" * len(region))
    base = ctypes.addressof(ctypes.c_char.from_buffer(region))
    start, size = base + 100, 60 * page  # not page-aligned at either end
    lib.rf_zero(start, size)
    resident = ctypes.create_string_buffer(64)  # before reading: a read maps the kernel's zero page
    assert libc.mincore(base, 64 * page, resident) == 0
    inner = [resident.raw[i] & 1 for i in range(1, 60)]  # whole pages inside the zeroed range
    assert not any(inner), inner
    assert resident.raw[0] & 1 and resident.raw[60] & 1  # the edges were written, as memset writes
    data = bytes(region)
    assert data[:100] == b"\xab" * 100
    assert data[100:100 + size] == bytes(size)
    assert data[100 + size:] == b"\xab" * (len(region) - 100 - size)


def test_netlink_has_no_silent_limits(lab: tuple[Network, Controller, Path]) -> None:
    """A route with more nexthops than 4 KiB of text reaches the FIB whole, and a netlink socket opened after
    64 others still gets the kernel's events (both were cut silently once)."""
    _, ctl, tmp = lab
    proc = run_as("a", tmp, """
        import socket
        from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST
        from pyroute2.netlink.rtnl import RTM_NEWADDR, RTM_NEWROUTE
        from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
        from pyroute2.netlink.rtnl.marshal import MarshalRtnl
        from pyroute2.netlink.rtnl.rtmsg import rtmsg

        socks = [socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) for _ in range(70)]
        socks[0].bind((0, 0))
        socks[-1].bind((0, 0x10))  # RTMGRP_IPV4_IFADDR
        def send(msg, kind, flags, **fields):
            msg["header"]["type"], msg["header"]["flags"] = kind, NLM_F_REQUEST | flags
            msg["header"]["sequence_number"] = 1
            for k, v in fields.items():
                msg[k] = v
            msg.encode()
            socks[0].send(msg.data)
        hops = [{"oif": 2, "attrs": [("RTA_GATEWAY", f"10.0.{i // 250}.{i % 250 + 2}")]} for i in range(300)]
        send(rtmsg(), RTM_NEWROUTE, NLM_F_CREATE, family=2, dst_len=24, table=254, proto=186, type=1,
             attrs=[("RTA_DST", "10.8.0.0"), ("RTA_MULTIPATH", hops)])
        send(ifaddrmsg(), RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE, family=2, prefixlen=16, index=2,
             attrs=[("IFA_LOCAL", "10.0.0.1"), ("IFA_ADDRESS", "10.0.0.1")])
        socks[-1].settimeout(10)
        events = MarshalRtnl().parse(socks[-1].recv(65536))
        print([m.get_attr("IFA_ADDRESS") for m in events if m["header"]["type"] == RTM_NEWADDR])
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['10.0.0.1']", "the 70th socket got the address event"
    entries = {e.prefix: e for e in ctl.broker.fibs["a"].entries()}
    assert len({n.ip for n in entries["10.8.0.0/24"].nexthops}) == 300


def test_interface_table_overflow_is_fatal_and_says_so(lab: tuple[Network, Controller, Path]) -> None:
    """More interfaces than libreal's table holds: the daemon stops with a "fatal:" line, which the run's report
    gives as its cause of death (it was once logged as an "unknown record" and dropped)."""
    from realfish.report import death_cause

    _, _, tmp = lab
    (tmp / "a.if").write_text("".join(f"link {i} e{i} 1500 02:00:00:00:00:01 69699 1000\n" for i in range(1, 1100)))
    proc = run_as("a", tmp, "print('ran')")
    assert proc.returncode != 0 and "ran" not in proc.stdout
    assert "fatal: " in proc.stderr and "more than 1024 interfaces" in proc.stderr, proc.stderr
    assert "more than 1024 interfaces" in death_cause(proc.stderr, proc.returncode)


def test_fork_while_another_thread_holds_the_control_channel(lab: tuple[Network, Controller, Path]) -> None:
    """fork() in one thread while another waits for the controller's answer (holding the control channel's
    lock): libreal's fork handler waits for the lock, so the child does not inherit it held by a thread it does
    not have, and can use the channel itself. Without it the child hangs at its first request, for good."""
    _, ctl, tmp = lab
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import os, socket, sys, threading, time
            print("up", flush=True)  # libreal said HELLO
            sys.stdin.readline()
            tids = []
            def bind():
                tids.append(threading.get_native_id())
                socket.socket(socket.AF_INET, socket.SOCK_STREAM).bind(("0.0.0.0", 179))  # BIND: waits
            t = threading.Thread(target=bind)
            t.start()
            while not tids:
                time.sleep(0.001)
            while not open(f"/proc/self/task/{tids[0]}/syscall").read().startswith("47 "):  # recvmsg
                time.sleep(0.001)
            print("blocked", flush=True)
            pid = os.fork()
            if pid == 0:
                socket.socket(socket.AF_INET, socket.SOCK_STREAM).bind(("0.0.0.0", 180))
                os._exit(7)
            t.join()
            print("child", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
        """)],
        env=dict(os.environ, LD_PRELOAD=str(libreal_path()), REALFISH_CONTROL=str(tmp / "control.sock"),
                 REALFISH_ROUTER="a", REALFISH_DAEMON="test", REALFISH_IFTABLE=str(tmp / "a.if")),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    assert proc.stdout.readline().strip() == "up"
    with ctl.lock:  # the controller answers nothing meanwhile
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "blocked"
        # Let the controller answer only once the fork is underway: forked already (the lock went with it), or
        # the forking thread waits in libreal's fork handler (futex) for the lock.
        deadline = time.monotonic() + 60  # (only ends a test that is broken)
        while True:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            syscall = Path(f"/proc/{proc.pid}/syscall").read_text()
            if children or syscall.startswith("202 "):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"never forked: {syscall!r} {proc.communicate()}")
            time.sleep(0.001)
    try:
        out, err = proc.communicate(timeout=60)  # (only ends a hung child: the test fails then, as it should)
    except subprocess.TimeoutExpired:
        for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split():
            os.kill(int(pid), 9)
        proc.kill()
        proc.wait()
        raise AssertionError("the forked child hung on the control channel's lock") from None
    assert proc.returncode == 0, err
    assert out.strip() == "child 7"


def test_a_listener_keeps_every_md5_key(lab: tuple[Network, Controller, Path]) -> None:
    """A BGP listener has a TCP MD5 key per neighbour with a password: all of them reach the controller (past
    64, keys were once dropped without a word, and those neighbours' sessions would have come up unsigned)."""
    _, ctl, tmp = lab
    ctl.broker.address("b", True, 2, "10.0.0.2/16")
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import socket, struct, sys
        TCP_MD5SIG = 14
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("0.0.0.0", 179))
        s.listen(5)
        for i in range(100):
            addr = struct.pack("=HH4s", socket.AF_INET, 0, socket.inet_aton(f"10.0.0.{i + 3}"))
            key = f"key{i}".encode()
            s.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, addr.ljust(128, b"\\0") + struct.pack("=BBHI", 0, 0,
                         len(key), 0) + key.ljust(80, b"\\0"))
        # A request after them: the controller answers it once it has handled every key, sent before it.
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).bind(("0.0.0.0", 180))
        print("set", flush=True)
        sys.stdin.readline()  # the listener stays open while the test looks
    """)], env=dict(os.environ, LD_PRELOAD=str(libreal_path()), REALFISH_CONTROL=str(tmp / "control.sock"),
                    REALFISH_ROUTER="b", REALFISH_DAEMON="test", REALFISH_IFTABLE=str(tmp / "b.if")),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "set"
        with ctl.lock:
            keys = {str(ip): key for lst in ctl.broker.listeners.values() if lst.router == "b"
                    for ip, key in lst.md5.items()}
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0
    assert len(keys) == 100
    assert keys["10.0.0.102"] == b"key99".hex()
