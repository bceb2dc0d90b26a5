"""BGP over global IPv6 addresses under the emulation (tests/data/bgp6-over-ospf6): iBGP between r1's and r3's
IPv6 loopbacks, which only OSPFv3 routes reach (r1 -p2p- r2 -LAN- r3), and eBGP from r3 to r4 over the r3-r4
link's global addresses; r4 originates 2001:db8:4444::/48. The sessions are emulated TCP over AF_INET6, opened by
the broker when the emulated FIBs give a path both ways, as for IPv4; the routes are zebra's IPv6 installs. The
namespace baseline (kernel TCP, kernel FIBs) runs the same configs: same FIBs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from realfish.baseline import Baseline
from realfish.convert import load_network
from realfish.dataplane import FibEntry, fib_diff
from realfish.runtime import Emulation
from tests.test_emulation import host_view

pytestmark = [pytest.mark.frr, pytest.mark.root, pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/lib/frr/ospf6d").exists() or shutil.which("vtysh") is None,
    reason="needs root and FRR 8.4 installed",
)]

SNAPSHOT = Path(__file__).parent / "data" / "bgp6-over-ospf6"


def test_ipv6_sessions_and_routes_match_the_baseline() -> None:
    fibs: dict[str, dict[str, list[FibEntry]]] = {}
    for runtime in (Baseline, Emulation):
        net = load_network(SNAPSHOT)
        before = host_view(net)
        with runtime(net, settle=3.0) as runner:
            report = runner.converge(timeout=300)
            during = host_view(net)
            assert report.converged and not report.problems, (runner.runtime, report.problems)
            peers = {name: runner.show(name, "show bgp ipv6 summary json")["ipv6Unicast"]["peers"]
                     for name in ("r1", "r3", "r4")}
            fibs[runner.runtime] = {name: runner.fib(name) for name in runner.network.routers}
        assert {n: {a: p["state"] for a, p in v.items()} for n, v in peers.items()} == {
            "r1": {"2001:db8:ff::3": "Established"},
            "r3": {"2001:db8:ff::1": "Established", "2001:db8:34::4": "Established"},
            "r4": {"2001:db8:34::3": "Established"}}, runner.runtime
        assert peers["r1"]["2001:db8:ff::3"]["pfxRcd"] == 1, "r4's /48, from r3 over iBGP"
    real = {name: {e.prefix: e for e in fib} for name, fib in fibs["real"].items()}
    # r1 reaches r4's prefix over BGP, its next hop (r3's loopback) resolved over OSPFv3 toward r2
    route = real["r1"]["2001:db8:4444::/48"]
    assert route.protocol == "bgp" and [h.interface for h in route.nexthops] == ["eth0"], route
    assert real["r3"]["2001:db8:4444::/48"].nexthops[0].interface == "eth1", "r3: toward r4"
    assert "2001:db8:4444::/48" not in real["r2"], "r2 runs no BGP"
    # Nothing of the emulation on the host: no route (IPv6 ones included), link, address or TCP socket appeared.
    assert during == before
    assert fib_diff(fibs["baseline"], fibs["real"], ("baseline", "realfish")) == []


def test_ipv6_routes_in_the_routes_answer() -> None:
    """The snapshot converged as the service converges it and asked `routes` as pybatfish asks it: the IPv6 main
    RIB is in the answer (Batfish's row format: OSPFv3 as `ospf3` over the neighbour's link-local address, iBGP
    with its BGP next hop, eBGP over the peer's link-local address on its link), and frame() reads it; the IPv6
    sessions are in bgpSessionStatus."""
    from pybatfish.datamodel.answer import TableAnswer

    from realfish.answers import answer
    from realfish.answers.state import build

    snapshot = build(SNAPSHOT, "bgp6", timeout=300)
    q = {"class": "org.batfish.question.routes.RoutesQuestion", "differential": False,
         "instance": {"instanceName": "q", "variables": {"network": {"value": "2001:db8::/32"},
                                                         "prefixMatchType": {"value": "LONGER_PREFIXES"}}}}
    frame = TableAnswer({"answerElements": answer(q, snapshot, None)["answerElements"]}).frame()
    rows = {(r.Node, r.Network, r.Protocol): r.Next_Hop for r in frame.itertuples()}
    assert rows[("r1", "2001:db8:4444::/48", "ibgp")].ip == "2001:db8:ff::3"
    ebgp = rows[("r3", "2001:db8:4444::/48", "bgp")]
    assert ebgp.interface == "eth1" and ebgp.ip.startswith("fe80::"), ebgp
    ospf3 = rows[("r1", "2001:db8:ff::3/128", "ospf3")]
    assert ospf3.interface == "eth0" and ospf3.ip.startswith("fe80::"), ospf3
    assert ("r1", "2001:db8:12::1/128", "local") in rows and ("r3", "2001:db8:34::/64", "connected") in rows
    assert not [k for k in rows if k[1].startswith("fe80:")]
    # the IPv6 sessions, configured (the FRR config's IPv6 neighbors are in the model) and established
    q = {"class": "org.batfish.question.bgpsessionstatus.BgpSessionStatusQuestion", "differential": False,
         "instance": {"instanceName": "q", "variables": {}}}
    sessions = {(r["Node"]["name"], r["Remote_IP"]["value"]): (r["Local_IP"], r["Session_Type"],
                                                               r["Established_Status"])
                for r in answer(q, snapshot, None)["answerElements"][0]["rows"]}
    assert sessions == {("r1", "2001:db8:ff::3"): ("2001:db8:ff::1", "IBGP", "ESTABLISHED"),
                        ("r3", "2001:db8:ff::1"): ("2001:db8:ff::3", "IBGP", "ESTABLISHED"),
                        ("r3", "2001:db8:34::4"): ("2001:db8:34::3", "EBGP_SINGLEHOP", "ESTABLISHED"),
                        ("r4", "2001:db8:34::3"): ("2001:db8:34::4", "EBGP_SINGLEHOP", "ESTABLISHED")}
