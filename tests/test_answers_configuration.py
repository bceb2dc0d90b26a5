"""bgpProcessConfiguration, bgpPeerConfiguration and the three OSPF configuration questions on a small converged
snapshot: an IOS router (r1), an EOS router (r2) and an FRR router (r3).

    r2 (EOS, AS 65002) -- 10.0.12.0/24, OSPF area 0, p2p -- r1 (IOS, AS 65001) -- 10.0.13.0/24, area 1 stub -- r3 (FRR)

r1 reflects routes to its iBGP client r3; its BGP router ID and OSPF router ID are not configured (the routers
choose them: its loopback), one interface is shut, one neighbor shut down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pybatfish.datamodel.answer.table import TableAnswer

from realfish.answers import UnsupportedQuestion, answer
from realfish.answers.state import SnapshotState, build

pytestmark = pytest.mark.frr

CONFIGS = {
    "r1.cfg": """hostname r1
interface Loopback0
 ip address 10.255.0.1 255.255.255.255
interface GigabitEthernet0/0
 ip address 10.0.12.1 255.255.255.0
 ip ospf network point-to-point
 ip ospf hello-interval 5
interface GigabitEthernet0/1
 ip address 10.0.13.1 255.255.255.0
 ip ospf cost 77
interface GigabitEthernet0/2
 ip address 10.0.99.1 255.255.255.0
 shutdown
router ospf 1
 passive-interface Loopback0
 area 1 stub
 redistribute static subnets route-map STATIC_TO_OSPF
 network 10.0.12.0 0.0.0.255 area 0
 network 10.0.13.0 0.0.0.255 area 1
 network 10.0.99.0 0.0.0.255 area 0
 network 10.255.0.1 0.0.0.0 area 0
router bgp 65001
 bgp cluster-id 9.9.9.9
 bgp bestpath as-path multipath-relax
 bgp bestpath compare-routerid
 neighbor RR peer-group
 neighbor RR remote-as 65001
 neighbor RR route-reflector-client
 neighbor 10.0.12.2 remote-as 65002
 neighbor 10.0.12.2 description to r2
 neighbor 10.0.12.2 route-map IN in
 neighbor 10.0.12.2 route-map OUT out
 neighbor 10.0.12.2 send-community
 neighbor 10.0.13.3 peer-group RR
 neighbor 10.9.9.9 remote-as 65009
 neighbor 10.9.9.9 shutdown
 maximum-paths ibgp 4
ip route 192.0.2.0 255.255.255.0 Null0
route-map IN permit 10
route-map OUT permit 10
route-map STATIC_TO_OSPF permit 10
""",
    "r2.cfg": """! device: r2 (vEOS, EOS-4.23.0F)
hostname r2
interface Ethernet1
 no switchport
 ip address 10.0.12.2/24
 ip ospf network point-to-point
 ip ospf hello-interval 5
interface Loopback0
 ip address 10.255.0.2/32
ip routing
router ospf 1
 router-id 10.255.0.2
 network 10.0.12.0/24 area 0.0.0.0
 network 10.255.0.2/32 area 0.0.0.0
router bgp 65002
 router-id 10.255.0.2
 maximum-paths 4
 neighbor 10.0.12.1 remote-as 65001
""",
    "r3.cfg": """frr version 8.4
frr defaults traditional
hostname r3
interface eth0
 ip address 10.0.13.3/24
 ip ospf dead-interval 60
interface lo
 ip address 10.255.0.3/32
router ospf
 network 10.0.13.0/24 area 1
 network 10.255.0.3/32 area 1
 area 1 stub
router bgp 65001
 neighbor 10.0.13.1 remote-as internal
 neighbor 10.0.13.1 description rr
""",
}


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> SnapshotState:
    root: Path = tmp_path_factory.mktemp("config")
    (root / "configs").mkdir()
    for name, text in CONFIGS.items():
        (root / "configs" / name).write_text(text)
    return build(root, "config")


def ask(snapshot: SnapshotState, cls: str, **params: Any) -> TableAnswer:
    """Answer as pybatfish asks, and check that pybatfish decodes every row."""
    q = {"class": f"org.batfish.question.{cls}", "differential": False,
         "instance": {"instanceName": cls.split(".")[-1], "variables": {k: {"value": v} for k, v in params.items()}}}
    ans = answer(q, snapshot)
    decoded = TableAnswer({"answerElements": ans["answerElements"]})
    assert len(decoded.frame()) == len(ans["answerElements"][0]["rows"])
    return decoded


def rows(ans: TableAnswer) -> list[dict[str, Any]]:
    return [dict(r) for r in ans.frame().to_dict("records")]


def columns(ans: TableAnswer) -> list[str]:
    return [c.name for c in ans.metadata.column_metadata]


def by_node(ans: TableAnswer) -> dict[str, dict[str, Any]]:
    return {r["Node"]: r for r in rows(ans)}


# -- BGP ----------------------------------------------------------------------------------------------------

BGP_PROCESS = "bgpproperties.BgpProcessConfigurationQuestion"
BGP_PEER = "bgpproperties.BgpPeerConfigurationQuestion"


def test_bgp_process_columns_and_values(snap: SnapshotState) -> None:
    ans = ask(snap, BGP_PROCESS)
    assert columns(ans) == ["Node", "VRF", "Router_ID", "Confederation_ID", "Confederation_Members",
                            "Multipath_EBGP", "Multipath_IBGP", "Multipath_Match_Mode", "Neighbors",
                            "Route_Reflector", "Tie_Breaker"]
    got = by_node(ans)
    r1, r2, r3 = got["r1"], got["r2"], got["r3"]
    # no router ID configured on r1: bgpd's choice (its loopback), as Batfish's would be
    assert (r1["VRF"], r1["Router_ID"]) == ("default", "10.255.0.1")
    assert (r1["Confederation_ID"], r1["Confederation_Members"]) == (None, None)
    assert (r1["Multipath_EBGP"], r1["Multipath_IBGP"]) == (False, True)  # maximum-paths ibgp 4
    assert (r1["Multipath_Match_Mode"], r1["Tie_Breaker"]) == ("PATH_LENGTH", "ROUTER_ID")
    assert r1["Neighbors"] == ["10.0.12.2", "10.0.13.3"]  # 10.9.9.9 is shut down: no peer
    assert r1["Route_Reflector"] is True
    # EOS: `maximum-paths 4` is for both; defaults Batfish's EOS conversion picks are not claimed
    assert (r2["Router_ID"], r2["Multipath_EBGP"], r2["Multipath_IBGP"]) == ("10.255.0.2", True, True)
    assert (r2["Multipath_Match_Mode"], r2["Tie_Breaker"], r2["Route_Reflector"]) == (None, None, False)
    assert r3["Neighbors"] == ["10.0.13.1"]
    # Batfish's FRR model: multipath always on, its process default tie-breaker
    assert (r3["Multipath_EBGP"], r3["Multipath_IBGP"], r3["Multipath_Match_Mode"], r3["Tie_Breaker"]) == (
        True, True, "EXACT_PATH", "ARRIVAL_ORDER")


def test_bgp_process_properties_and_nodes(snap: SnapshotState) -> None:
    ans = ask(snap, BGP_PROCESS, nodes="r1", properties="Neighbors")
    assert columns(ans) == ["Node", "VRF", "Router_ID", "Neighbors"]
    assert [r["Node"] for r in rows(ans)] == ["r1"]
    with pytest.raises(UnsupportedQuestion):
        ask(snap, BGP_PROCESS, properties="No_Such_Property")


def test_bgp_peer_columns_and_values(snap: SnapshotState) -> None:
    ans = ask(snap, BGP_PEER)
    assert columns(ans) == ["Node", "VRF", "Session_VRF", "Local_AS", "Local_IP", "Local_Interface",
                            "Confederation", "Remote_AS", "Remote_IP", "Description", "Route_Reflector_Client",
                            "Cluster_ID", "Peer_Group", "Import_Policy", "Export_Policy", "Send_Community",
                            "Is_Passive"]
    got = {(r["Node"], str(r["Remote_IP"])): r for r in rows(ans)}
    assert set(got) == {("r1", "10.0.12.2"), ("r1", "10.0.13.3"), ("r2", "10.0.12.1"), ("r3", "10.0.13.1")}
    ebgp = got[("r1", "10.0.12.2")]
    assert (ebgp["VRF"], ebgp["Session_VRF"], ebgp["Local_AS"], ebgp["Local_IP"], ebgp["Local_Interface"]) == (
        "default", None, 65001, "10.0.12.1", None)
    assert (ebgp["Confederation"], ebgp["Remote_AS"], ebgp["Description"]) == (None, "65002", "to r2")
    assert (ebgp["Route_Reflector_Client"], ebgp["Cluster_ID"], ebgp["Peer_Group"]) == (False, None, None)
    assert (ebgp["Import_Policy"], ebgp["Export_Policy"]) == (["IN"], ["OUT"])
    assert (ebgp["Send_Community"], ebgp["Is_Passive"]) == (True, False)
    client = got[("r1", "10.0.13.3")]
    assert (client["Remote_AS"], client["Route_Reflector_Client"], client["Cluster_ID"]) == ("65001", True, "9.9.9.9")
    assert (client["Peer_Group"], client["Send_Community"], client["Import_Policy"]) == ("RR", False, [])
    assert got[("r2", "10.0.12.1")]["Send_Community"] is False  # EOS: only when told to
    frr = got[("r3", "10.0.13.1")]
    # FRR: remote-as internal is the local AS; communities are sent unless told not to
    assert (frr["Remote_AS"], frr["Local_AS"], frr["Description"], frr["Send_Community"]) == (
        "65001", 65001, "rr", True)
    raw = answer({"class": f"org.batfish.question.{BGP_PEER}", "instance": {}}, snap)["answerElements"][0]
    assert raw["rows"][0]["Remote_IP"] == {"schema": "Ip", "value": "10.0.12.2"}  # Batfish's SelfDescribing cell


def test_bgp_peer_properties_keep_key_columns(snap: SnapshotState) -> None:
    ans = ask(snap, BGP_PEER, nodes="r2", properties="Remote_AS, Local_AS")
    assert columns(ans) == ["Node", "VRF", "Session_VRF", "Local_AS", "Local_Interface", "Remote_AS", "Remote_IP"]
    assert [(r["Local_AS"], r["Remote_AS"]) for r in rows(ans)] == [(65002, "65001")]


# -- OSPF ---------------------------------------------------------------------------------------------------

OSPF_PROCESS = "ospfprocess.OspfProcessConfigurationQuestion"
OSPF_INTERFACE = "ospfinterface.OspfInterfaceConfigurationQuestion"
OSPF_AREA = "ospfarea.OspfAreaConfigurationQuestion"


def test_ospf_process_columns_and_values(snap: SnapshotState) -> None:
    ans = ask(snap, OSPF_PROCESS)
    assert columns(ans) == ["Node", "VRF", "Process_ID", "Areas", "Reference_Bandwidth", "Router_ID",
                            "Export_Policy_Sources", "Area_Border_Router"]
    got = by_node(ans)
    r1, r2, r3 = got["r1"], got["r2"], got["r3"]
    assert (r1["VRF"], r1["Process_ID"], r1["Areas"], r1["Reference_Bandwidth"]) == ("default", "1", ["0", "1"],
                                                                                      100e6)
    # no OSPF router ID configured: ospfd's choice (the loopback)
    assert (r1["Router_ID"], r1["Export_Policy_Sources"], r1["Area_Border_Router"]) == (
        "10.255.0.1", ["STATIC_TO_OSPF"], True)
    assert (r2["Router_ID"], r2["Areas"], r2["Area_Border_Router"], r2["Export_Policy_Sources"]) == (
        "10.255.0.2", ["0"], False, [])
    assert (r3["Process_ID"], r3["Areas"], r3["Area_Border_Router"]) == ("default", ["1"], False)
    assert (r2["Reference_Bandwidth"], r3["Reference_Bandwidth"]) == (100e6, 100e9)  # Batfish's FRR: Cumulus's
    ans = ask(snap, OSPF_PROCESS, properties="Router_ID, RFC1583_Compatible")  # never shown, as in Batfish
    assert columns(ans) == ["Node", "VRF", "Process_ID", "Router_ID"]


def test_ospf_interface_columns_and_values(snap: SnapshotState) -> None:
    ans = ask(snap, OSPF_INTERFACE)
    assert columns(ans) == ["Interface", "VRF", "Process_ID", "OSPF_Area_Name", "OSPF_Enabled", "OSPF_Passive",
                            "OSPF_Cost", "OSPF_Network_Type", "OSPF_Hello_Interval", "OSPF_Dead_Interval"]
    got = {(r["Interface"].hostname, r["Interface"].interface): r for r in rows(ans)}
    assert set(got) == {("r1", "GigabitEthernet0/0"), ("r1", "GigabitEthernet0/1"), ("r1", "GigabitEthernet0/2"),
                        ("r1", "Loopback0"), ("r2", "Ethernet1"), ("r2", "Loopback0"), ("r3", "eth0"),
                        ("r3", "lo")}
    p2p = got[("r1", "GigabitEthernet0/0")]
    assert (p2p["VRF"], p2p["Process_ID"], p2p["OSPF_Area_Name"], p2p["OSPF_Enabled"], p2p["OSPF_Passive"]) == (
        "default", "1", 0, True, False)
    # IOS: dead follows a configured hello (4x)
    assert (p2p["OSPF_Cost"], p2p["OSPF_Network_Type"], p2p["OSPF_Hello_Interval"], p2p["OSPF_Dead_Interval"]) == (
        1, "POINT_TO_POINT", 5, 20)
    stub = got[("r1", "GigabitEthernet0/1")]
    assert (stub["OSPF_Area_Name"], stub["OSPF_Cost"], stub["OSPF_Network_Type"]) == (1, 77, "BROADCAST")
    assert (stub["OSPF_Hello_Interval"], stub["OSPF_Dead_Interval"]) == (10, 40)
    assert got[("r1", "Loopback0")]["OSPF_Passive"] is True
    frr = got[("r3", "eth0")]
    # FRR: no default network type in Batfish's FRR model; timers as ospfd runs them
    assert (frr["Process_ID"], frr["OSPF_Network_Type"], frr["OSPF_Hello_Interval"], frr["OSPF_Dead_Interval"]) == (
        "default", None, 10, 60)
    assert (frr["OSPF_Cost"], got[("r3", "lo")]["OSPF_Cost"]) == (10, 0)  # ospfd's own (loopbacks cost 0 in FRR)
    assert (got[("r2", "Ethernet1")]["OSPF_Cost"], got[("r2", "Ethernet1")]["OSPF_Dead_Interval"]) == (10, 20)
    ans = ask(snap, OSPF_INTERFACE, nodes="r2", properties="OSPF_Dead_Interval, OSPF_Area_Name")
    assert columns(ans) == ["Interface", "VRF", "Process_ID", "OSPF_Area_Name", "OSPF_Dead_Interval"]
    assert len(rows(ans)) == 2


def test_ospf_area_columns_and_values(snap: SnapshotState) -> None:
    ans = ask(snap, OSPF_AREA)
    assert columns(ans) == ["Node", "VRF", "Process_ID", "Area", "Area_Type", "Active_Interfaces",
                            "Passive_Interfaces"]
    got = {(r["Node"], r["Area"]): r for r in rows(ans)}  # pybatfish reads the String column as text
    assert set(got) == {("r1", "0"), ("r1", "1"), ("r2", "0"), ("r3", "1")}
    raw = answer({"class": f"org.batfish.question.{OSPF_AREA}", "instance": {}}, snap)["answerElements"][0]
    assert raw["rows"][0]["Area"] == 0  # Batfish puts the area's number (a Long) there
    backbone = got[("r1", "0")]
    assert (backbone["VRF"], backbone["Process_ID"], backbone["Area_Type"]) == ("default", "1", "NONE")
    assert (backbone["Active_Interfaces"], backbone["Passive_Interfaces"]) == (
        ["GigabitEthernet0/0", "GigabitEthernet0/2"], ["Loopback0"])
    assert (got[("r1", "1")]["Area_Type"], got[("r1", "1")]["Active_Interfaces"]) == ("STUB", ["GigabitEthernet0/1"])
    assert (got[("r3", "1")]["Area_Type"], got[("r3", "1")]["Process_ID"]) == ("STUB", "default")
    assert [r["Node"] for r in rows(ask(snap, OSPF_AREA, nodes="r2"))] == ["r2"]


def test_differential_is_the_generic_table_diff(snap: SnapshotState) -> None:
    q = {"class": f"org.batfish.question.{BGP_PEER}", "differential": True, "instance": {}}
    ans = answer(q, snap, snap)
    decoded = TableAnswer({"answerElements": ans["answerElements"]})
    assert len(decoded.frame()) == 0  # the same snapshot: no differences
    assert "Snapshot_Remote_AS" in columns(decoded)
