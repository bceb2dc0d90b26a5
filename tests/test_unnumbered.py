"""BGP unnumbered under the emulation: `neighbor swpN interface` (in a peer group) on every link of a small
leaf-spine fabric with no IPv4 address on any link. Each session runs between the two ends' IPv6 link-local
addresses, which bgpd learns from the router advertisements zebra sends and receives on the interface (libreal's
raw ICMPv6, raw6.c); routes to the loopbacks go over the neighbours' link-local addresses (RFC 5549). The
namespace baseline (real kernels: link-local addresses, RAs, IPv6 TCP) runs the same configs: same FIBs.

    spine1 (65000)   spine2 (65000)
      | \\  \\          / /  |            every leaf: swp1 to spine1, swp2 to spine2
    leaf1 leaf2 leaf3 (65001..65003)   spines: swpN to leafN (so the two ends of a link have different ifindexes)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from realfish.baseline import Baseline
from realfish.dataplane import FibEntry, fib_diff
from realfish.runner import Runner
from realfish.runtime import Emulation
from realfish.topology import Interface, Network, Router, Segment

pytestmark = [pytest.mark.frr, pytest.mark.root, pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/lib/frr/bgpd").exists() or shutil.which("vtysh") is None,
    reason="needs root and FRR 8.4 installed",
)]

LEAVES, SPINES = 3, 2


def _config(name: str, asn: int, loopback: str, ports: list[str]) -> str:
    lines = ["frr version 8.4.4", "frr defaults datacenter", f"hostname {name}", "!", "interface lo",
             f" ip address {loopback}/32", "exit", "!", f"router bgp {asn}", f" bgp router-id {loopback}",
             " bgp bestpath as-path multipath-relax", " neighbor fabric peer-group",
             " neighbor fabric remote-as external"]
    lines += [f" neighbor {p} interface peer-group fabric" for p in ports]
    lines += [" address-family ipv4 unicast", "  redistribute connected", " exit-address-family", "exit", ""]
    return "\n".join(lines)


def fabric() -> Network:
    net = Network()
    for s in range(1, SPINES + 1):
        ports = [f"swp{n}" for n in range(1, LEAVES + 1)]
        net.add_router(Router(f"spine{s}", _config(f"spine{s}", 65000, f"10.255.1.{s}", ports),
                              interfaces={p: Interface(p) for p in ports}))
    for leaf in range(1, LEAVES + 1):
        ports = [f"swp{n}" for n in range(1, SPINES + 1)]
        net.add_router(Router(f"leaf{leaf}", _config(f"leaf{leaf}", 65000 + leaf, f"10.255.2.{leaf}", ports),
                              interfaces={p: Interface(p) for p in ports}))
    net.segments = [Segment(f"s{s}l{leaf}", [(f"spine{s}", f"swp{leaf}"), (f"leaf{leaf}", f"swp{s}")])
                    for s in range(1, SPINES + 1) for leaf in range(1, LEAVES + 1)]
    return net


def _sessions(runner: Runner) -> dict[str, dict[str, str]]:
    out = {}
    for name in runner.network.routers:
        peers = runner.show(name, "show bgp summary json")["ipv4Unicast"]["peers"]
        out[name] = {p: v["state"] for p, v in peers.items()}
    return out


def test_unnumbered_fabric_has_the_baselines_fibs() -> None:
    fibs: dict[str, dict[str, list[FibEntry]]] = {}
    for runtime in (Baseline, Emulation):
        with runtime(fabric(), settle=3.0) as runner:
            report = runner.converge(timeout=300)
            assert not report.problems, report.problems
            sessions = _sessions(runner)
            fibs[runner.runtime] = {name: runner.fib(name) for name in runner.network.routers}
            net = runner.network
        assert all(state == "Established" for peers in sessions.values() for state in peers.values()), sessions
        assert sum(len(p) for p in sessions.values()) == 2 * LEAVES * SPINES
    assert fib_diff(fibs["baseline"], fibs["real"], ("baseline", "realfish")) == []
    # ...and they are what the fabric gives: every other leaf's loopback over both spines, each next hop the
    # spine's link-local address on that link (RFC 5549)
    index = {name: i for i, name in enumerate(net.routers)}
    for leaf in range(1, LEAVES + 1):
        me = f"leaf{leaf}"
        routes = {e.prefix: {(n.ip, n.interface) for n in e.nexthops} for e in fibs["real"][me]}
        want = {(str(net.routers[f"spine{s}"].link_local(net.routers[f"spine{s}"].interfaces[f"swp{leaf}"],
                                                            index[f"spine{s}"])), f"swp{s}")
                for s in range(1, SPINES + 1)}
        for other in range(1, LEAVES + 1):
            if other != leaf:
                assert routes[f"10.255.2.{other}/32"] == want, (me, routes)


def test_unnumbered_routes_and_traceroute_answers() -> None:
    """An FRR snapshot (tests/data/unnumbered-frr: two routers, `neighbor eth0 interface`, the link only in
    layer1_topology.json) answered as Batfish answers unnumbered routes: next hop 169.254.0.1 (Batfish's, and the
    IPv4 gateway FRR puts behind the peer's link-local address), and a traceroute that crosses the link."""
    from pybatfish.datamodel.answer import TableAnswer

    from realfish.answers import answer
    from realfish.answers.state import build

    snapshot = build(Path(__file__).parent / "data" / "unnumbered-frr", "unnumbered", timeout=300)

    def ask(cls: str, **params: object) -> list[dict[str, object]]:
        q = {"class": f"org.batfish.question.{cls}", "differential": False,
             "instance": {"instanceName": "q", "variables": {k: {"value": v} for k, v in params.items()}}}
        frame = TableAnswer({"answerElements": answer(q, snapshot, None)["answerElements"]}).frame()
        return [dict(r) for r in frame.to_dict("records")]

    assert not ask("initialization.InitIssuesQuestion")
    bgp = {(r["Node"], r["Network"]): r for r in ask("routes.RoutesQuestion") if r["Protocol"] == "bgp"}
    assert set(bgp) == {("r1", "10.255.0.2/32"), ("r2", "10.255.0.1/32")}
    assert all(getattr(r["Next_Hop"], "ip", None) == "169.254.0.1" for r in bgp.values()), bgp
    [row] = ask("traceroute.TracerouteQuestion", startLocation="r1", headers={"dstIps": "10.255.0.2"})
    traces = row["Traces"]
    assert [t.disposition for t in traces] == ["ACCEPTED"]  # type: ignore[attr-defined]
    assert [h.node for h in traces[0].hops] == ["r1", "r2"]  # type: ignore[index]


def test_unnumbered_fabric_session_answers() -> None:
    """tests/data/unnumbered-fabric (a peer group over spine1's interfaces, `neighbor swp1 interface remote-as
    external` on the leaves, an iBGP leaf that matches nobody, a port without a cable) converged and asked as
    pybatfish asks: the sessions Batfish finds compatible come up over IPv6 link-local, each row naming both
    interfaces and no IPs; the others are NOT_COMPATIBLE."""
    from pybatfish.datamodel.answer import TableAnswer

    from realfish.answers import answer
    from realfish.answers.state import build

    snapshot = build(Path(__file__).parent / "data" / "unnumbered-fabric", "fabric", timeout=300)
    q = {"class": "org.batfish.question.bgpsessionstatus.BgpSessionStatusQuestion", "differential": False,
         "instance": {"instanceName": "q", "variables": {}}}
    frame = TableAnswer({"answerElements": answer(q, snapshot, None)["answerElements"]}).frame()
    got = {(r.Local_Interface.hostname, r.Local_Interface.interface):
           (r.Remote_Interface and (r.Remote_Interface.hostname, r.Remote_Interface.interface),
            r.Session_Type, r.Established_Status, r.Local_IP, r.Remote_IP) for r in frame.itertuples()}
    assert got == {
        ("leaf1", "swp1"): (("spine1", "swp1"), "EBGP_UNNUMBERED", "ESTABLISHED", None, None),
        ("leaf2", "swp1"): (("spine1", "swp2"), "EBGP_UNNUMBERED", "ESTABLISHED", None, None),
        ("leaf3", "swp1"): (None, "IBGP_UNNUMBERED", "NOT_COMPATIBLE", None, None),
        ("spine1", "swp1"): (("leaf1", "swp1"), "EBGP_UNNUMBERED", "ESTABLISHED", None, None),
        ("spine1", "swp2"): (("leaf2", "swp1"), "EBGP_UNNUMBERED", "ESTABLISHED", None, None),
        ("spine1", "swp3"): (None, "EBGP_UNNUMBERED", "NOT_COMPATIBLE", None, None),
        ("spine1", "swp4"): (None, "EBGP_UNNUMBERED", "NOT_COMPATIBLE", None, None),
    }, got
