"""routes / bgpRib / lpmRoutes / BGP session answerers on small hand-made tables (FRR 8.4.4's JSON shapes)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from realfish.answers import UnsupportedQuestion, answer
from realfish.answers.routes import diff_rows, ipv4_rows, next_hop_key, prefix_match, protocols
from realfish.answers.state import SnapshotState
from realfish.convert import ConvertedSnapshot
from realfish.dataplane import Dataplane, RouterTables
from realfish.model import BgpPeer, BgpProcess, Device, StaticRoute

Net = ipaddress.IPv4Network


def hop(**kw: Any) -> dict[str, Any]:
    return {"active": True, **kw}


def route(prefix: str, protocol: str, hops: list[dict[str, Any]], distance: int = 0, metric: int = 0,
          selected: bool = True, **kw: Any) -> dict[str, Any]:
    e = {"prefix": prefix, "protocol": protocol, "vrfName": "default", "distance": distance, "metric": metric,
         "nexthops": hops, **kw}
    if selected:
        e["selected"] = True
    return e


def device(name: str, addrs: dict[str, list[str]], bgp: BgpProcess | None = None) -> Device:
    d = Device(name, "CISCO_IOS", f"configs/{name}.cfg", bgp=bgp)
    for ifname, prefixes in addrs.items():
        iface = d.interface(ifname)
        iface.addresses = [ipaddress.IPv4Interface(p) for p in prefixes]
    return d


def snapshot(devices: list[Device], shows: dict[str, dict[str, Any]],
             name_maps: dict[str, dict[str, str]] | None = None) -> SnapshotState:
    conv = ConvertedSnapshot(Path("."), {d.hostname: d for d in devices})
    tables = {d.hostname: RouterTables("router", (name_maps or {}).get(d.hostname, {}), show=shows.get(d.hostname, {}))
              for d in devices}
    return SnapshotState("test", conv, Dataplane(True, tables))


def interfaces(**ifs: tuple[str, list[str]]) -> dict[str, Any]:
    return {n: {"operationalStatus": st, "vrfName": "default",
                "ipAddresses": [{"address": a, "secondary": False} for a in addrs]} for n, (st, addrs) in ifs.items()}


# r1: connected + local, OSPF intra and E2 (ECMP), an iBGP route over a recursive next hop, an eBGP route, a local
# aggregate, a static route with an interface; one down interface and a /32 loopback.
R1_ROUTES = {
    "10.0.0.0/24": [route("10.0.0.0/24", "connected", [hop(interfaceName="gi0-0", directlyConnected=True)])],
    "1.1.1.1/32": [route("1.1.1.1/32", "connected", [hop(interfaceName="lo", directlyConnected=True)])],
    "2.2.2.2/32": [route("2.2.2.2/32", "ospf", [hop(ip="10.0.0.2", interfaceName="gi0-0")], 110, 2)],
    "9.9.9.0/24": [route("9.9.9.0/24", "ospf", [hop(ip="10.0.0.2", interfaceName="gi0-0"),
                                                 hop(ip="10.0.1.2", interfaceName="gi1-0")], 110, 20, tag=7)],
    "3.3.3.0/24": [route("3.3.3.0/24", "bgp", [hop(ip="2.2.2.2", recursive=True),
                                                hop(ip="10.0.0.2", interfaceName="gi0-0", resolver=True)], 200, 50),
                   route("3.3.3.0/24", "ospf", [hop(ip="10.0.0.2", interfaceName="gi0-0")], 110, 5, selected=False)],
    "4.4.4.0/24": [route("4.4.4.0/24", "bgp", [hop(ip="10.0.0.2", interfaceName="gi0-0")], 20, 0)],
    "5.0.0.0/8": [route("5.0.0.0/8", "bgp", [hop(blackhole=True, unreachable=True)], 200, 0)],
    "0.0.0.0/0": [route("0.0.0.0/0", "static", [hop(ip="10.0.0.2", interfaceName="gi0-0")], 1, 0)],
}
R1_BGP = {"default": {"routerId": "1.1.1.1", "routes": {
    "3.3.3.0/24": [{"valid": True, "bestpath": True, "pathFrom": "internal", "peerId": "2.2.2.2", "path": "3",
                    "origin": "IGP", "metric": 50, "locPrf": 100, "weight": 0,
                    "nexthops": [{"ip": "2.2.2.2", "afi": "ipv4"}]},
                   {"valid": True, "pathFrom": "external", "peerId": "10.0.1.2", "path": "4 3", "origin": "IGP",
                    "metric": 0, "locPrf": 100, "weight": 0, "nexthops": [{"ip": "10.0.1.2", "afi": "ipv4"}]}],
    "4.4.4.0/24": [{"valid": True, "bestpath": True, "pathFrom": "external", "peerId": "10.0.0.2", "path": "4",
                    "origin": "IGP", "weight": 0, "nexthops": [{"ip": "10.0.0.2", "afi": "ipv4"}]}],
    "5.0.0.0/8": [{"valid": True, "bestpath": True, "pathFrom": "external", "peerId": "(unspec)", "path": "",
                   "origin": "IGP", "weight": 32768, "nexthops": [{"ip": "::", "afi": "ipv6"}]}],
}}}
R1_BGP_DETAIL = {"default": {"routes": {
    "3.3.3.0/24": [{"prefix": "3.3.3.0/24"},
                   # deliberately in the other order: attributes must follow the peer, not the position
                   {"aspath": {"string": "4 3"}, "community": {"list": ["4:1"]}, "nexthops": [{"ip": "10.0.1.2"}],
                    "peer": {"peerId": "10.0.1.2", "routerId": "4.4.4.4"}},
                   {"aspath": {"string": "3"}, "community": {"list": ["65000:10", "3:2"]}, "originatorId": "3.3.3.3",
                    "clusterList": {"list": ["2.2.2.2"]}, "nexthops": [{"ip": "2.2.2.2"}],
                    "peer": {"peerId": "2.2.2.2", "routerId": "2.2.2.2"}}],
    "5.0.0.0/8": [{"prefix": "5.0.0.0/8"}, {"aspath": {"string": "Local"}, "aggregated": True, "local": True,
                                            "nexthops": [{"ip": "::", "afi": "ipv6"}], "peer": {"peerId": "::"}}],
}}}
R1_OSPF = {"default": {"vrfName": "default", "2.2.2.2/32": {"routeType": "N", "cost": 2},
                       "9.9.9.0/24": {"routeType": "N E2", "cost": 1, "type2cost": 20}}}
NAME_MAP = {"r1": {"gi0-0": "GigabitEthernet0/0", "gi1-0": "GigabitEthernet1/0", "gi2-0": "GigabitEthernet2/0",
                   "lo": "Loopback0"}}


def r1_snapshot() -> SnapshotState:
    r1 = device("r1", {"GigabitEthernet0/0": ["10.0.0.1/24"], "GigabitEthernet1/0": ["10.0.1.1/24"],
                       "GigabitEthernet2/0": ["10.0.2.1/24"], "Loopback0": ["1.1.1.1/32"]})
    r1.static_routes.append(StaticRoute(Net("0.0.0.0/0"), ipaddress.IPv4Address("10.0.0.2"), "GigabitEthernet0/0"))
    shows = {"r1": {"routes": R1_ROUTES, "bgp_routes": R1_BGP, "bgp_detail": R1_BGP_DETAIL, "ospf_routes": R1_OSPF,
                    "interfaces": interfaces(**{"gi0-0": ("up", ["10.0.0.1/24"]), "gi1-0": ("up", ["10.0.1.1/24"]),
                                                "gi2-0": ("down", ["10.0.2.1/24"]), "lo": ("up", ["1.1.1.1/32"])})}}
    return snapshot([r1], shows, NAME_MAP)


def ask(state: SnapshotState, cls: str, reference: SnapshotState | None = None, top: dict[str, Any] | None = None,
        **variables: Any) -> dict[str, Any]:
    q = {"class": f"org.batfish.question.{cls}", **(top or {}),
         "instance": {"instanceName": "q", "variables": {k: {"value": v} for k, v in variables.items()}}}
    return answer(q, state, reference)["answerElements"][0]


def brief(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["Network"], r["Protocol"], r["Next_Hop"], r["Metric"], r["Admin_Distance"], r["Tag"]) for r in rows]


def test_main_rib_rows_like_batfish() -> None:
    rows = ask(r1_snapshot(), "routes.RoutesQuestion")["rows"]
    gi0 = {"type": "interface", "interface": "GigabitEthernet0/0"}
    assert brief(rows) == [
        ("0.0.0.0/0", "static", {**gi0, "ip": "10.0.0.2"}, 0, 1, None),
        ("1.1.1.1/32", "connected", {"type": "interface", "interface": "Loopback0"}, 0, 0, None),
        ("2.2.2.2/32", "ospf", {**gi0, "ip": "10.0.0.2"}, 2, 110, None),
        ("3.3.3.0/24", "ibgp", {"type": "ip", "ip": "2.2.2.2"}, 50, 200, None),  # not the resolving hop
        ("4.4.4.0/24", "bgp", {"type": "ip", "ip": "10.0.0.2"}, 0, 20, None),
        ("5.0.0.0/8", "aggregate", {"type": "discard"}, 0, 200, None),
        ("9.9.9.0/24", "ospfE2", {**gi0, "ip": "10.0.0.2"}, 20, 110, 7),  # one row per ECMP next hop
        ("9.9.9.0/24", "ospfE2", {"type": "interface", "interface": "GigabitEthernet1/0", "ip": "10.0.1.2"},
         20, 110, 7),
        ("10.0.0.0/24", "connected", gi0, 0, 0, None),
        ("10.0.0.1/32", "local", gi0, 0, 0, None),  # the kernel's local route; none for the down gi2-0
        ("10.0.1.1/32", "local", {"type": "interface", "interface": "GigabitEthernet1/0"}, 0, 0, None),
    ]
    assert all(r["Node"] == {"id": "node-r1", "name": "r1"} and r["VRF"] == "default" for r in rows)


def test_main_rib_filters() -> None:
    state = r1_snapshot()
    assert [r["Network"] for r in ask(state, "routes.RoutesQuestion", protocols="ospf")["rows"]] == \
        ["2.2.2.2/32", "9.9.9.0/24", "9.9.9.0/24"]
    assert [r["Protocol"] for r in ask(state, "routes.RoutesQuestion", protocols="bgp, aggregate")["rows"]] == \
        ["ibgp", "bgp", "aggregate"]
    assert [r["Network"] for r in ask(state, "routes.RoutesQuestion", network="10.0.0.1",
                                      prefixMatchType="LONGEST_PREFIX_MATCH")["rows"]] == ["10.0.0.1/32"]
    assert ask(state, "routes.RoutesQuestion", network="10.0.0.0/24")["rows"][0]["Protocol"] == "connected"
    assert ask(state, "routes.RoutesQuestion", vrfs="other")["rows"] == []
    assert ask(state, "routes.RoutesQuestion", nodes="r2")["rows"] == []
    with pytest.raises(UnsupportedQuestion):
        ask(state, "routes.RoutesQuestion", protocols="nosuch")


def test_protocol_specifier_groups() -> None:
    assert protocols(None) is None and protocols("all") is None
    assert protocols("ospf-ext") == {"ospfE1", "ospfE2"}
    assert protocols("igp") == {"ospf", "ospfIA", "ospfE1", "ospfE2", "isisL1", "isisL2", "eigrp", "eigrpEX", "rip"}
    assert protocols("ebgp") == {"bgp"}
    # Batfish resolves the names first, then expands them: "bgp" still brings iBGP along
    assert protocols("bgp, !ibgp") == {"bgp", "ibgp"}


def test_prefix_match_types() -> None:
    nets = [Net("10.0.0.0/8"), Net("10.1.0.0/16"), Net("10.1.1.0/24"), Net("11.0.0.0/8")]
    assert prefix_match("EXACT", Net("10.1.0.0/16"), nets) == {Net("10.1.0.0/16")}
    assert prefix_match("LONGER_PREFIXES", Net("10.1.0.0/16"), nets) == {Net("10.1.0.0/16"), Net("10.1.1.0/24")}
    assert prefix_match("SHORTER_PREFIXES", Net("10.1.0.0/16"), nets) == {Net("10.0.0.0/8"), Net("10.1.0.0/16")}
    assert prefix_match("LONGEST_PREFIX_MATCH", Net("10.1.2.0/24"), nets) == {Net("10.1.0.0/16")}
    assert prefix_match("EXACT", None, nets) == set(nets)


def test_next_hop_order_is_batfish_comparator() -> None:
    hops = [{"type": "ip", "ip": "1.1.1.1"}, {"type": "interface", "interface": "Gi10", "ip": "1.1.1.1"},
            {"type": "interface", "interface": "Gi2"}, {"type": "discard"},
            {"type": "interface", "interface": "Gi9", "ip": "1.1.1.1"}]
    assert sorted(hops, key=next_hop_key) == [hops[3], hops[2], hops[4], hops[1], hops[0]]


def _row(network: str, nh: str, metric: int, protocol: str = "ospf") -> dict[str, Any]:
    return {"Node": {"id": "node-r1", "name": "r1"}, "VRF": "default", "Network": network,
            "Next_Hop": {"type": "ip", "ip": nh}, "Protocol": protocol, "Metric": metric, "Admin_Distance": 110,
            "Tag": None}


def test_routes_diff_semantics() -> None:
    snap = [_row("1.0.0.0/8", "9.9.9.1", 5), _row("1.0.0.0/8", "9.9.9.2", 5), _row("2.0.0.0/8", "9.9.9.1", 1),
            _row("3.0.0.0/8", "9.9.9.1", 1)]
    ref = [_row("1.0.0.0/8", "9.9.9.1", 7), _row("1.0.0.0/8", "9.9.9.2", 5), _row("2.0.0.0/8", "9.9.9.1", 1),
           _row("4.0.0.0/8", "9.9.9.1", 1)]
    got = [(r["Network"], r["Entry_Presence"], (r["Snapshot_Next_Hop"] or r["Reference_Next_Hop"])["ip"],
            r["Snapshot_Metric"], r["Reference_Metric"]) for r in diff_rows(snap, ref)]
    # an unchanged network is left out; a changed one lists all its next hops, the unchanged ones included
    assert got == [
        ("1.0.0.0/8", "Only in Reference", "9.9.9.1", None, 7),
        ("1.0.0.0/8", "Only in Snapshot", "9.9.9.1", 5, None),
        ("1.0.0.0/8", "Unchanged", "9.9.9.2", 5, 5),
        ("3.0.0.0/8", "Only in Snapshot", "9.9.9.1", 1, None),
        ("4.0.0.0/8", "Only in Reference", "9.9.9.1", None, 1),
    ]
    only_snap = next(r for r in diff_rows(snap, ref) if r["Network"] == "3.0.0.0/8")
    assert only_snap["Reference_Next_Hop"] is None and only_snap["Reference_Protocol"] is None


def test_routes_differential_answer_columns() -> None:
    state = r1_snapshot()
    element = ask(state, "routes.RoutesQuestion", reference=state)
    assert element["rows"] == []
    assert [c["name"] for c in element["metadata"]["columnMetadata"]][:4] == ["Node", "VRF", "Network",
                                                                              "Entry_Presence"]


def test_lpm_routes() -> None:
    state = r1_snapshot()
    rows = ask(state, "lpmroutes.LpmRoutesQuestion", ip="9.9.9.9")["rows"]
    assert rows == [{"Node": {"id": "node-r1", "name": "r1"}, "VRF": "default", "Ip": "9.9.9.9",
                     "Network": "9.9.9.0/24", "Num_Routes": 2}]
    assert ask(state, "lpmroutes.LpmRoutesQuestion", ip="200.0.0.1")["rows"][0]["Network"] == "0.0.0.0/0"


def test_bgp_rib_best_and_backup() -> None:
    state = r1_snapshot()
    best = ask(state, "routes.RoutesQuestion", top={"rib": "bgp"})["rows"]
    assert [(r["Network"], r["Status"], r["Protocol"]) for r in best] == [
        ("3.3.3.0/24", ["BEST"], "ibgp"), ("4.4.4.0/24", ["BEST"], "bgp"), ("5.0.0.0/8", ["BEST"], "aggregate")]
    ibgp = best[0]
    assert ibgp["Communities"] == ["3:2", "65000:10"] and ibgp["Originator_Id"] == "3.3.3.3"
    assert ibgp["Cluster_List"] == [int(ipaddress.IPv4Address("2.2.2.2"))] and ibgp["AS_Path"] == "3"
    assert ibgp["Received_From_IP"] == "2.2.2.2" and ibgp["Next_Hop"] == {"type": "ip", "ip": "2.2.2.2"}
    agg = best[2]
    assert agg["Next_Hop"] == {"type": "discard"} and agg["Received_From_IP"] == "0.0.0.0"
    assert agg["Originator_Id"] == "1.1.1.1" and agg["Weight"] == 32768 and agg["AS_Path"] == ""
    both = ask(state, "routes.RoutesQuestion", top={"rib": "bgp"}, status="BEST,BACKUP")["rows"]
    backup = [r for r in both if r["Status"] == ["BACKUP"]]
    assert [(r["Network"], r["AS_Path"], r["Communities"], r["Originator_Id"]) for r in backup] == [
        ("3.3.3.0/24", "4 3", ["4:1"], "4.4.4.4")]


# -- BGP sessions: r1 (AS 1) and r2 (AS 2) on 10.0.0.0/24; r1 also peers with an unknown address, and with r2's
# loopback over iBGP without an update-source.


def bgp_snapshot(r2_state: str = "Established") -> SnapshotState:
    p1 = BgpProcess("1", peers={"10.0.0.2": BgpPeer("10.0.0.2", remote_as="2"),
                                "192.0.2.9": BgpPeer("192.0.2.9", remote_as="9"),
                                "2.2.2.2": BgpPeer("2.2.2.2", remote_as="1")})
    p2 = BgpProcess("2", peers={"10.0.0.1": BgpPeer("10.0.0.1", remote_as="1")})
    r1 = device("r1", {"GigabitEthernet0/0": ["10.0.0.1/24"]}, p1)
    r2 = device("r2", {"GigabitEthernet0/0": ["10.0.0.2/24"], "Loopback0": ["2.2.2.2/32"]}, p2)

    def nbr(state: str, local: str, foreign: str, las: int, ras: int) -> dict[str, Any]:
        up = state == "Established"
        return {"bgpState": state, "localAs": las, "remoteAs": ras, "hostLocal": local if up else None,
                "hostForeign": foreign if up else None, "addressFamilyInfo": {"ipv4Unicast": {}}}

    shows: dict[str, dict[str, Any]] = {"r1": {"bgp_neighbors": {"default": {"vrfName": "default",
                                                  "10.0.0.2": nbr(r2_state, "10.0.0.1", "10.0.0.2", 1, 2),
                                                  "192.0.2.9": nbr("Active", "", "", 1, 9),
                                                  "2.2.2.2": nbr("Active", "", "", 1, 1)}}},
             "r2": {"bgp_neighbors": {"default": {"10.0.0.1": nbr(r2_state, "10.0.0.2", "10.0.0.1", 2, 1)}}}}
    return snapshot([r1, r2], shows)


def test_bgp_session_compatibility_statuses() -> None:
    rows = ask(bgp_snapshot(), "bgpsessionstatus.BgpSessionCompatibilityQuestion")["rows"]
    got = {(r["Node"]["name"], r["Remote_IP"]["value"]): (r["Configured_Status"], r["Session_Type"],
                                                         r["Local_IP"], (r["Remote_Node"] or {}).get("name"))
           for r in rows}
    assert got == {
        ("r1", "2.2.2.2"): ("LOCAL_IP_UNKNOWN_STATICALLY", "IBGP", None, None),
        ("r1", "10.0.0.2"): ("UNIQUE_MATCH", "EBGP_SINGLEHOP", "10.0.0.1", "r2"),
        ("r1", "192.0.2.9"): ("NO_LOCAL_IP", "EBGP_SINGLEHOP", None, None),
        ("r2", "10.0.0.1"): ("UNIQUE_MATCH", "EBGP_SINGLEHOP", "10.0.0.2", "r1"),
    }


def test_bgp_session_status_and_edges() -> None:
    state = bgp_snapshot()
    rows = ask(state, "bgpsessionstatus.BgpSessionStatusQuestion", nodes="r1", remoteNodes="r2")["rows"]
    assert [(r["Remote_IP"], r["Established_Status"], r["Remote_AS"], r["Address_Families"]) for r in rows] == [
        ({"schema": "Ip", "value": "10.0.0.2"}, "ESTABLISHED", "2", ["IPV4_UNICAST"])]
    every = ask(state, "bgpsessionstatus.BgpSessionStatusQuestion", status="NOT_COMPATIBLE")["rows"]
    assert sorted(r["Remote_IP"]["value"] for r in every) == ["192.0.2.9", "2.2.2.2"]
    edges = ask(state, "edges.EdgesQuestion", top={"edgeType": "bgp"})["rows"]
    assert [(e["Node"]["name"], e["IP"], e["AS_Number"], e["Remote_Node"]["name"], e["Remote_IP"],
             e["Remote_AS_Number"]) for e in edges] == [("r1", "10.0.0.1", "1", "r2", "10.0.0.2", "2"),
                                                        ("r2", "10.0.0.2", "2", "r1", "10.0.0.1", "1")]


def test_bgp_session_not_established() -> None:
    state = bgp_snapshot("Connect")
    rows = ask(state, "bgpsessionstatus.BgpSessionStatusQuestion", nodes="r1")["rows"]
    status = {r["Remote_IP"]["value"]: (r["Established_Status"], (r["Remote_Node"] or {}).get("name"))
              for r in rows}
    assert status["10.0.0.2"] == ("NOT_ESTABLISHED", "r2")
    assert ask(state, "edges.EdgesQuestion", top={"edgeType": "bgp"})["rows"] == []


def test_differential_answers_are_batfish_table_diffs() -> None:
    """Questions without a diff of their own get Batfish's generic TableDiff (Answerer.answerDiff)."""
    up, down = bgp_snapshot(), bgp_snapshot("Connect")
    element = ask(up, "bgpsessionstatus.BgpSessionStatusQuestion", reference=down)
    rows = {(r["Node"]["name"], r["Remote_IP"]["value"]): (r["KeyPresence"], r["Snapshot_Established_Status"],
                                                          r["Reference_Established_Status"]) for r in element["rows"]}
    assert rows == {("r1", "10.0.0.2"): ("In both", "ESTABLISHED", "NOT_ESTABLISHED"),
                    ("r2", "10.0.0.1"): ("In both", "ESTABLISHED", "NOT_ESTABLISHED")}
    assert ask(up, "lpmroutes.LpmRoutesQuestion", reference=up, ip="10.0.0.1")["rows"] == []
    with pytest.raises(UnsupportedQuestion, match="differential"):  # Batfish's bgpRib diff is its own
        ask(r1_snapshot(), "routes.RoutesQuestion", reference=r1_snapshot(), top={"rib": "bgp"})


# -- IPv6 rows: zebra's `show ipv6 route vrf all json` and bgpd's IPv6 table as FRR 8.4.4 prints them (taken from
# tests/data/bgp6-over-ospf6's r3: OSPFv3 over the link-local address, eBGP from r4 whose next hop zebra holds as
# r4's link-local address, the link-local prefix of each interface, an unselected OSPFv3 copy of a connected one)

def _v6(prefix: str, protocol: str, hops: list[dict[str, Any]], distance: int = 0, metric: int = 0,
        selected: bool = True) -> dict[str, Any]:
    return route(prefix, protocol, hops, distance, metric, selected, prefixLen=int(prefix.split("/")[1]))


R3_ROUTES6 = {
    "2001:db8:12::/64": [_v6("2001:db8:12::/64", "ospf6",
                             [hop(ip="fe80::ff:fe01:3", afi="ipv6", interfaceName="eth0", fib=True)], 110, 20)],
    "2001:db8:23::/64": [_v6("2001:db8:23::/64", "ospf6", [hop(interfaceName="eth0", directlyConnected=True)],
                             110, 10, selected=False),
                         _v6("2001:db8:23::/64", "connected", [hop(interfaceName="eth0", directlyConnected=True)])],
    "2001:db8:ff::3/128": [_v6("2001:db8:ff::3/128", "connected", [hop(interfaceName="lo", directlyConnected=True)])],
    "2001:db8:4444::/48": [_v6("2001:db8:4444::/48", "bgp",
                               [hop(ip="fe80::ff:fe03:2", afi="ipv6", interfaceName="eth1", fib=True)], 20, 0)],
    "2001:db8:99::/48": [_v6("2001:db8:99::/48", "bgp", [hop(ip="2001:db8:ff::1", recursive=True),
                                                         hop(ip="fe80::ff:fe01:3", interfaceName="eth0",
                                                             resolver=True)], 200, 0)],
    "fe80::/64": [_v6("fe80::/64", "connected", [hop(interfaceName="eth1", directlyConnected=True)])],
}
R3_BGP6 = {"default": {"vrfName": "default", "routes": {
    "2001:db8:4444::/48": [{"valid": True, "bestpath": True, "pathFrom": "external", "peerId": "2001:db8:34::4",
                            "path": "65004", "nexthops": [{"ip": "2001:db8:34::4", "afi": "ipv6", "scope": "global"},
                                                          {"ip": "fe80::ff:fe03:2", "afi": "ipv6",
                                                           "scope": "link-local", "used": True}]}],
    "2001:db8:99::/48": [{"valid": True, "bestpath": True, "pathFrom": "internal", "peerId": "2001:db8:ff::1",
                          "path": "", "nexthops": [{"ip": "2001:db8:ff::1", "afi": "ipv6", "used": True}]}]}}}


def r3_snapshot() -> SnapshotState:
    r3 = device("r3", {})
    shows = {"r3": {"routes": {"10.3.0.0/24": [route("10.3.0.0/24", "connected",
                                                     [hop(interfaceName="eth1", directlyConnected=True)])]},
                    "routes6": R3_ROUTES6, "bgp_routes6": R3_BGP6,
                    "interfaces": interfaces(eth0=("up", ["2001:db8:23::3/64", "fe80::ff:fe02:2/64"]),
                                             eth1=("up", ["10.3.0.1/24", "2001:db8:34::3/64"]),
                                             eth2=("down", ["2001:db8:56::3/64"]),
                                             lo=("up", ["2001:db8:ff::3/128"]))}}
    return snapshot([r3], shows)


def test_ipv6_routes_in_the_routes_answer() -> None:
    state = r3_snapshot()
    element = ask(state, "routes.RoutesQuestion")
    eth0, eth1 = {"type": "interface", "interface": "eth0"}, {"type": "interface", "interface": "eth1"}
    assert brief(element["rows"]) == [
        ("10.3.0.0/24", "connected", eth1, 0, 0, None),  # IPv4 first, then IPv6, each in address order
        ("10.3.0.1/32", "local", eth1, 0, 0, None),
        ("2001:db8:12::/64", "ospf3", {**eth0, "ip": "fe80::ff:fe01:3"}, 20, 110, None),
        ("2001:db8:23::/64", "connected", eth0, 0, 0, None),  # not the unselected OSPFv3 copy
        ("2001:db8:23::3/128", "local", eth0, 0, 0, None),
        ("2001:db8:34::3/128", "local", eth1, 0, 0, None),  # none for the down eth2, none for lo's /128
        ("2001:db8:99::/48", "ibgp", {"type": "ip", "ip": "2001:db8:ff::1"}, 0, 200, None),  # the BGP next hop
        ("2001:db8:ff::3/128", "connected", {"type": "interface", "interface": "lo"}, 0, 0, None),  # 00ff < 4444
        ("2001:db8:4444::/48", "bgp", {**eth1, "ip": "fe80::ff:fe03:2"}, 0, 20, None),  # link-local: with its link
    ]  # and no fe80::/64
    # pybatfish reads the whole answer
    from pybatfish.datamodel.answer import TableAnswer
    frame = TableAnswer({"answerElements": [element]}).frame()
    assert list(frame["Network"])[2:4] == ["2001:db8:12::/64", "2001:db8:23::/64"]
    assert frame["Next_Hop"][2].ip == "fe80::ff:fe01:3"
    # the filters take IPv6 prefixes; an IPv4 one never matches an IPv6 route
    lpm = ask(state, "routes.RoutesQuestion", network="2001:db8:4444::1", prefixMatchType="LONGEST_PREFIX_MATCH")
    assert [r["Network"] for r in lpm["rows"]] == ["2001:db8:4444::/48"]
    longer = ask(state, "routes.RoutesQuestion", network="2001:db8::/32", prefixMatchType="LONGER_PREFIXES")
    assert len(longer["rows"]) == 7
    assert [r["Network"] for r in ask(state, "routes.RoutesQuestion", network="0.0.0.0/0",
                                      prefixMatchType="LONGER_PREFIXES")["rows"]] == ["10.3.0.0/24", "10.3.0.1/32"]
    assert [r["Network"] for r in ask(state, "routes.RoutesQuestion", protocols="ospf3")["rows"]] == [
        "2001:db8:12::/64"]
    assert ask(state, "routes.RoutesQuestion", protocols="ospf")["rows"] == []  # Batfish's ospf: OSPFv2 only


def test_comparisons_with_batfish_leave_ipv6_rows_out() -> None:
    rows = ask(r3_snapshot(), "routes.RoutesQuestion")["rows"]
    assert [r["Network"] for r in ipv4_rows(rows)] == ["10.3.0.0/24", "10.3.0.1/32"]
