"""Routers' configs cut per daemon by one vtysh (realfish/runtime/daemon_configs.py, native/src/split.c): each
line goes where vtysh sends it, keeps its line number in frr.conf, and stays with its own router."""

from __future__ import annotations

import pytest

from realfish.runtime import daemon_configs

pytestmark = pytest.mark.frr  # one vtysh cuts the configs

R1 = """frr defaults traditional
hostname r1
interface eth0
 ip address 10.0.0.1/31
 ip ospf cost 7
exit
ip route 192.0.2.0/24 Null0
route-map OUT permit 10
 set metric 5
exit
router bgp 65001
 neighbor 10.0.0.0 remote-as 65002
 address-family ipv4 unicast
  neighbor 10.0.0.0 route-map OUT out
 exit-address-family
exit
router ospf
 network 10.0.0.0/31 area 0
exit
"""

R2 = """interface eth1
 ip address 10.0.0.0/31
!
ip frobnicate everything
router bgp 65002
 neighbor 10.0.0.1 remote-as 65001
"""


def test_lines_go_where_vtysh_sends_them() -> None:
    cut = daemon_configs.split({"r1": R1, "r2": R2}, ["zebra", "staticd", "bgpd", "ospfd"])
    r1, r2 = cut["r1"], cut["r2"]
    assert [t for _, t in r1.files["staticd"]] == ["frr defaults traditional", "ip route 192.0.2.0/24 Null0"]
    assert (4, " ip address 10.0.0.1/31") in r1.files["zebra"] and (5, " ip ospf cost 7") in r1.files["ospfd"]
    assert " ip address 10.0.0.1/31" not in r1.text("ospfd") and "router bgp" not in r1.text("zebra")
    bgp = r1.files["bgpd"]
    assert (11, "router bgp 65001") in bgp and (14, "  neighbor 10.0.0.0 route-map OUT out") in bgp
    for daemon in ("zebra", "bgpd", "ospfd"):  # route-maps go to every daemon that has them
        assert (8, "route-map OUT permit 10") in r1.files[daemon], daemon
    assert "hostname" not in r1.text("zebra")  # vtysh keeps it: the daemons take the router's name otherwise
    assert not any(t.strip() in ("enable", "configure", "end") for ts in r1.files.values() for _, t in ts)
    # r2's lines are r2's, numbered in r2's file; vtysh's grammar rejects line 4 there
    assert (1, "interface eth1") in r2.files["zebra"]
    assert (6, " neighbor 10.0.0.1 remote-as 65001") in r2.files["bgpd"]
    assert "router bgp 65001" not in r2.text("bgpd") and "router bgp 65002" in r2.text("bgpd")
    assert [(e.line, e.text) for e in r2.errors] == [(4, "ip frobnicate everything")] and not r1.errors
    at = [t for _, t in bgp].index("router bgp 65001") + 1  # its line in bgpd.conf
    assert at < 11 and r1.source_line("bgpd", at) == 11


def test_a_daemon_the_router_does_not_run_gets_nothing() -> None:
    cut = daemon_configs.split({"r1": R1}, ["zebra", "staticd"])
    assert set(cut["r1"].files) == {"zebra", "staticd"}
    assert "router bgp" not in cut["r1"].text("zebra")
