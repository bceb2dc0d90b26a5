"""OSPF costs from link speeds, as the devices compute them (tests/data/vendor-speeds, configs as the vendors
write them, every router with `auto-cost reference-bandwidth 100000`, i.e. 100 Gb/s):

    r1 (IOS) Te0/1 ---10.0.12.0/24--- Te0/1 r2 (IOS)
    Gi0/0 |                                  | Gi0/2 (`bandwidth 40000000`: 40 Gb/s)
    10.0.13.0/24                        10.0.23.0/24
    swp1  |  (`link-speed 1000`)             | swp2 (`link-speed 40000`)
          +----------- leaf1 (Cumulus) ------+

The IOS costs are the vendor's (reference / bandwidth, truncated): Gi0/0 100, Te0/1 10, Gi0/2 2 (FRR's own
rounding would make it 3), loopbacks 12 (8 Gb/s). leaf1 runs its frr.conf as written: ospfd divides by the port
speed zebra reads through ethtool (rounded): swp1 100, swp2 3; its loopback costs 0. Without the port speeds
both of leaf1's ports would cost 10 (ospfd's fallback), and every route below through leaf1 would change.
The namespace baseline (veths, which always say 10 Gb/s) must give the same FIBs and metrics.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from realfish.baseline import Baseline, speed_stand_ins
from realfish.convert import convert_snapshot
from realfish.dataplane import FibEntry, fib_diff
from realfish.runtime import Emulation

LAB = Path(__file__).parent / "data" / "vendor-speeds"

frr_only = pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/lib/frr/ospfd").exists()
                              or shutil.which("vtysh") is None, reason="needs root and FRR 8.4 installed")

# (router, prefix) -> (metric, next hops) as the devices compute them
EXPECTED = {
    ("leaf1", "10.255.0.1/32"): (3 + 10 + 12, {"10.0.23.2"}),  # swp2, r2, r1's loopback; not swp1 (100 + 12)
    ("leaf1", "10.255.0.2/32"): (3 + 12, {"10.0.23.2"}),
    ("leaf1", "10.0.12.0/24"): (3 + 10, {"10.0.23.2"}),
    ("r2", "10.0.13.0/24"): (2 + 100, {"10.0.23.3"}),  # through leaf1, whose swp1 costs 100 (1 Gb/s)
    ("r2", "10.255.0.3/32"): (2, {"10.0.23.3"}),
    ("r1", "10.255.0.3/32"): (10 + 2, {"10.0.12.2"}),  # not Gi0/0 (100)
    ("r1", "10.0.23.0/24"): (10 + 2, {"10.0.12.2"}),  # not Gi0/0 + swp2 (100 + 3)
}


@pytest.mark.frr
def test_port_speeds_reach_the_network() -> None:
    net = convert_snapshot(LAB).network
    speeds = {(r, i.name): i.speed_mbps for r, router in net.routers.items() for i in router.interfaces.values()
              if i.name != "lo"}
    # Cumulus link-speed; IOS by port type (Batfish's defaults), `bandwidth` being no port speed
    assert speeds == {("leaf1", "swp1"): 1000, ("leaf1", "swp2"): 40000, ("r1", "gi0-0"): 1000,
                      ("r1", "te0-1"): 10000, ("r2", "te0-1"): 10000, ("r2", "gi0-2"): 1000}
    assert speed_stand_ins(net.routers["leaf1"]) == "interface swp1\n bandwidth 1000\nexit\n" \
                                                    "interface swp2\n bandwidth 40000\nexit\n"
    assert speed_stand_ins(net.routers["r1"]) == "interface gi0-0\n bandwidth 1000\nexit\n"


def _routes(fibs: dict[str, list[FibEntry]]) -> dict[tuple[str, str], tuple[int, set[str]]]:
    return {(r, e.prefix): (e.metric, {n.ip or "" for n in e.nexthops}) for r, entries in fibs.items()
            for e in entries if (r, e.prefix) in EXPECTED}


@frr_only
@pytest.mark.frr
@pytest.mark.root
def test_ospf_costs_follow_port_speeds_as_on_the_devices() -> None:
    fibs, speeds = {}, {}
    for runtime in (Emulation, Baseline):
        net = convert_snapshot(LAB).network
        with runtime(net, settle=4.0) as runner:
            report = runner.converge(timeout=300, shows=["show interface swp1 json"])
            assert not report.problems, report.problems
            fibs[runner.runtime] = {name: rr.fib for name, rr in report.routers.items()}
            speeds[runner.runtime] = report.routers["leaf1"].show["show interface swp1 json"]["swp1"]
    assert _routes(fibs["real"]) == EXPECTED
    assert _routes(fibs["baseline"]) == EXPECTED
    assert fib_diff(fibs["baseline"], fibs["real"], ("baseline", "realfish")) == []
    # zebra read the port's speed itself under the emulation; the baseline's veth says 10 Gb/s, and the
    # stand-in `bandwidth` is what ospfd divides by there
    assert speeds["real"]["speed"] == 1000 and "bandwidth" not in speeds["real"]
    assert speeds["baseline"]["speed"] == 10000 and speeds["baseline"]["bandwidth"] == 1000
