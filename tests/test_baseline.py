"""The namespace baseline end to end: real FRR daemons, one network namespace per router (root and FRR)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from realfish.baseline import Baseline, _eui64
from realfish.topology import Interface, Network, Router, Segment

pytestmark = [pytest.mark.frr, pytest.mark.root, pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/lib/frr/zebra").exists() or shutil.which("vtysh") is None,
    reason="needs root and FRR 8.4 installed",
)]


def chain(n: int, extra: dict[int, str] | None = None) -> Network:
    """r1 - r2 - ... - rn, eBGP with one AS per router, each originating 10.128.i.0/24 (on lo)."""
    net = Network()
    for i in range(1, n + 1):
        lines = [f"hostname r{i}", "interface lo", f" ip address 10.128.{i}.1/24", "exit"]
        ifaces: list[Interface] = []
        neighbors = []
        for j in (i - 1, i + 1):
            if not 1 <= j <= n:
                continue
            lo_, hi = min(i, j), max(i, j)
            me = 1 if i == lo_ else 2
            addr = ipaddress.ip_interface(f"10.0.{lo_}.{me}/30")
            peer = ipaddress.ip_interface(f"10.0.{lo_}.{3 - me}/30")
            ifname = f"eth{lo_}{hi}"
            ifaces.append(Interface(ifname, [addr]))
            lines += [f"interface {ifname}", f" ip address {addr}", "exit"]
            neighbors.append((peer.ip, 65000 + j))
        lines += [f"router bgp {65000 + i}", f" bgp router-id 10.128.{i}.1", " no bgp ebgp-requires-policy"]
        lines += [f" neighbor {ip} remote-as {asn}" for ip, asn in neighbors]
        lines += [" address-family ipv4 unicast", f"  network 10.128.{i}.0/24", " exit-address-family"]
        lines.append("exit")
        if extra and i in extra:
            lines.append(extra[i])
        r = Router(f"r{i}", "\n".join(lines) + "\n", source=f"r{i}.conf")
        r.interfaces["lo"].addresses.append(ipaddress.ip_interface(f"10.128.{i}.1/24"))
        for iface in ifaces:
            r.add_interface(iface)
        net.add_router(r)
    for i in range(1, n):
        net.segments.append(Segment(f"l{i}", [(f"r{i}", f"eth{i}{i + 1}"), (f"r{i + 1}", f"eth{i}{i + 1}")]))
    return net


def namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


def alive(pids: list[int]) -> list[int]:
    return [p for p in pids if Path(f"/proc/{p}").exists()]


def test_chain_converges_and_cleans_up() -> None:
    n = 3
    runner = Baseline(chain(n), settle=2.0)
    with runner:
        rep = runner.converge(timeout=60)
        prefix = f"rf{runner.run_id}-"
        assert len(namespaces(prefix)) == n
        pids = runner.pids()
        assert len(pids) == 3 * n  # zebra, staticd, bgpd
        run_dir = runner.run_dir
    assert rep.converged and not rep.problems
    for i in range(1, n + 1):
        fib = {e.prefix: e for e in rep.routers[f"r{i}"].fib}
        # a subnet on lo is "local" (table local), so only the link subnets are connected in table main
        assert fib[f"10.0.{min(i, n - 1)}.0/30"].protocol == "connected"
        assert f"10.128.{i}.0/24" not in fib
        for j in range(1, n + 1):
            if j == i:
                continue
            e = fib[f"10.128.{j}.0/24"]
            assert e.protocol == "bgp", e
            # next hop: the neighbour towards j, on the link towards j
            k = i + 1 if j > i else i - 1
            lo_, hi = min(i, k), max(i, k)
            gw = f"10.0.{lo_}.{1 if k == lo_ else 2}"
            assert [(h.ip, h.interface) for h in e.nexthops] == [(gw, f"eth{lo_}{hi}")]
            assert e.distance == 20
    assert rep.converge_s < 20
    assert namespaces(prefix) == []
    assert alive(pids) == []
    assert not run_dir.exists()
    assert not Path(f"/var/run/frr/rf{runner.run_id}-r1").exists()


def test_rejected_config_line_is_reported() -> None:
    net = chain(2, extra={2: "router bgp 65002\n neighbor 1.2.3.4 bogus"})
    bad_line = net.routers["r2"].config.splitlines().index(" neighbor 1.2.3.4 bogus") + 1
    runner = Baseline(net, settle=1.0)
    with runner:
        runner.start()
        errors = runner.report.routers["r2"].errors
        pids = runner.pids()
        prefix = f"rf{runner.run_id}-"
    assert any(f"r2.conf line {bad_line}: neighbor 1.2.3.4 bogus" in e for e in errors), errors
    assert errors[0].startswith("r2: ")
    assert runner.report.routers["r1"].errors == []
    assert errors == [p for p in runner.report.problems if p.startswith("r2:")]
    assert namespaces(prefix) == [] and alive(pids) == []


def test_close_after_partial_start_removes_everything() -> None:
    net = chain(2)
    runner = Baseline(net)
    prefix = f"rf{runner.run_id}-"

    def boom(router: Router) -> tuple[str, list[str]]:
        raise KeyboardInterrupt

    runner._apply = boom  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt), runner:
        runner.start()
    assert runner.closed
    assert namespaces(prefix) == []
    assert alive([p.pid for ps in runner.procs.values() for _, p in ps]) == []
    runner.close()  # idempotent


def lan() -> Network:
    """r1, r2, r3 on one LAN (a bridge), eBGP over IPv4 and IPv6; r1 also has a stub link and an interface in
    no segment, r2 a jumbo MTU."""
    net = Network()
    for i in (1, 2, 3):
        v4 = ipaddress.ip_interface(f"192.168.0.{i}/24")
        v6 = ipaddress.ip_interface(f"fd00::{i}/64")
        lines = [f"hostname r{i}", "interface lo", f" ip address 10.128.{i}.1/24",
                 f" ipv6 address fd10:{i}::1/64", "exit", "interface lan0", f" ip address {v4}",
                 f" ipv6 address {v6}", "exit"]
        if i == 1:
            lines += ["interface stub0", " ip address 172.16.1.1/24", "exit",
                      "interface alone0", " ip address 172.16.2.1/24", "exit"]
        lines += [f"router bgp {65000 + i}", f" bgp router-id 10.128.{i}.1", " no bgp ebgp-requires-policy"]
        for j in (1, 2, 3):
            if j != i:
                lines += [f" neighbor 192.168.0.{j} remote-as {65000 + j}",
                          f" neighbor fd00::{j} remote-as {65000 + j}"]
        lines += [" address-family ipv4 unicast", f"  network 10.128.{i}.0/24"]
        lines += [f"  no neighbor fd00::{j} activate" for j in (1, 2, 3) if j != i]
        lines += [" exit-address-family", " address-family ipv6 unicast", f"  network fd10:{i}::/64"]
        lines += [f"  neighbor fd00::{j} activate" for j in (1, 2, 3) if j != i]
        lines += [" exit-address-family", "exit"]
        r = Router(f"r{i}", "\n".join(lines) + "\n")
        r.add_interface(Interface("lan0", [v4, v6], mtu=9000 if i == 2 else 1500))
        if i == 1:
            r.add_interface(Interface("stub0", [ipaddress.ip_interface("172.16.1.1/24")]))
            r.add_interface(Interface("alone0", [ipaddress.ip_interface("172.16.2.1/24")]))
        net.add_router(r)
    net.segments = [Segment("lan", [("r1", "lan0"), ("r2", "lan0"), ("r3", "lan0")]),
                    Segment("stub", [("r1", "stub0")])]
    return net


def test_lan_stub_and_ipv6() -> None:
    runner = Baseline(lan(), settle=2.0)
    with runner:
        rep = runner.converge(timeout=60)
        host = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert not any(f": {name}" in host for name in ("lan0", "stub0", "alone0", "p1@", "p2@", "b1:")), host
        links = subprocess.run(["ip", "-n", runner.ns_of["r1"], "-o", "link"], capture_output=True,
                               text=True).stdout
        for ifname in ("lo", "lan0", "stub0", "alone0"):
            assert f" {ifname}" in links and "state DOWN" not in links.split(f" {ifname}")[1].split("\n")[0]
        r2 = subprocess.run(["ip", "-n", runner.ns_of["r2"], "link", "show", "lan0"], capture_output=True,
                            text=True).stdout
        assert "mtu 9000" in r2
    assert rep.converged and not rep.problems, rep.problems
    fib1 = {e.prefix: e for e in rep.routers["r1"].fib}
    for p in ("192.168.0.0/24", "172.16.1.0/24", "172.16.2.0/24", "fd00::/64"):
        assert fib1[p].protocol == "connected"
    for j in (2, 3):
        assert fib1[f"10.128.{j}.0/24"].protocol == "bgp"
        assert fib1[f"10.128.{j}.0/24"].nexthops[0].ip == f"192.168.0.{j}"
        e6 = fib1[f"fd10:{j}::/64"]
        assert e6.protocol == "bgp" and e6.nexthops[0].interface == "lan0" and e6.nexthops[0].ip
    assert not any(p.startswith("fe80") or p.startswith("ff") for p in fib1)


def test_ospf_lan_waits_for_adjacencies() -> None:
    """OSPF on a broadcast LAN: the FIB stays unchanged while interfaces are in Waiting (DR election); the
    runner must not take that for convergence."""
    net = Network()
    for i in (1, 2, 3):
        a = ipaddress.ip_interface(f"192.168.0.{i}/24")
        cfg = "\n".join([
            f"hostname o{i}", "interface lo", f" ip address 10.0.0.{i}/32", " ip ospf area 0", "exit",
            "interface lan0", f" ip address {a}", " ip ospf area 0", " ip ospf hello-interval 1",
            " ip ospf dead-interval 4", " ip ospf retransmit-interval 1", "exit",
            "router ospf", f" ospf router-id 10.0.0.{i}", "exit"]) + "\n"
        r = Router(f"o{i}", cfg)
        r.add_interface(Interface("lan0", [a]))
        net.add_router(r)
    net.segments = [Segment("lan", [("o1", "lan0"), ("o2", "lan0"), ("o3", "lan0")])]
    runner = Baseline(net, settle=1.5)
    with runner:
        rep = runner.converge(timeout=60)
    assert rep.converged and not rep.problems, rep.problems
    for i in (1, 2, 3):
        fib = {e.prefix: e for e in rep.routers[f"o{i}"].fib}
        for j in (1, 2, 3):
            if j != i:
                e = fib[f"10.0.0.{j}/32"]
                assert e.protocol == "ospf" and e.distance == 110
                assert [(h.ip, h.interface) for h in e.nexthops] == [(f"192.168.0.{j}", "lan0")]


def test_session_that_never_comes_up_is_accepted_and_listed() -> None:
    net = chain(2, extra={1: "router bgp 65001\n neighbor 192.0.2.1 remote-as 65099"})
    runner = Baseline(net, settle=1.0)
    with runner:
        rep = runner.converge(timeout=60)
    assert rep.converged
    down = rep.extra["baseline"]["sessions_down"]
    assert len(down) == 1 and down[0].startswith("r1: BGP 192.0.2.1 "), down
    assert {e.prefix for e in rep.routers["r2"].fib if e.protocol == "bgp"} == {"10.128.1.0/24"}


def test_bgp_unnumbered_over_link_local_addresses() -> None:
    """`neighbor eth0 interface` on a link with no IPv4 address: the kernel's link-local addresses, router
    advertisements and IPv6 TCP between them bring the session up, and each loopback is reached over the
    other's link-local address (RFC 5549), as the reference the emulation is to match (issue 16)."""
    net = Network()
    for i in (1, 2):
        cfg = (f"hostname r{i}\ninterface lo\n ip address 10.255.0.{i}/32\nexit\nrouter bgp 6500{i}\n"
               f" bgp router-id 10.255.0.{i}\n no bgp ebgp-requires-policy\n"
               " neighbor eth0 interface remote-as external\n"
               " address-family ipv4 unicast\n  redistribute connected\n exit-address-family\nexit\n")
        net.add_router(Router(f"r{i}", cfg, interfaces={"eth0": Interface("eth0")}))
    net.segments = [Segment("l", [("r1", "eth0"), ("r2", "eth0")])]
    with Baseline(net, settle=2.0) as runner:
        report = runner.converge(timeout=120, shows=["show bgp summary json"])
    assert not report.problems and not report.extra["baseline"].get("sessions_down"), report.problems
    routers = list(net.routers.values())
    lla = {r.name: str(_eui64(r.mac(r.interfaces["eth0"], i))) for i, r in enumerate(routers)}
    for me, other in (("r1", "r2"), ("r2", "r1")):
        rr = report.routers[me]
        assert rr.show["show bgp summary json"]["ipv4Unicast"]["peers"]["eth0"]["state"] == "Established"
        got = {(e.prefix, e.protocol, tuple((n.ip, n.interface) for n in e.nexthops)) for e in rr.fib}
        assert (f"10.255.0.{other[1]}/32", "bgp", ((lla[other], "eth0"),)) in got, got
