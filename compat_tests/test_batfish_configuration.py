"""The five protocol configuration questions on Batfish's example network (example-live), against facts read
from its configs, and, for as1border1, against Batfish's own answer: its BGP section is the same as that of
pybatfish's `tests/integration/facts/fact_snapshot/configs/basic.cfg` (bar `maximum-paths eibgp 5` for
`maximum-paths 5`, which Batfish turns into the same multipath settings), whose bgpProcessConfiguration and
bgpPeerConfiguration values pybatfish's `expected_facts/basic.yml` records (Batfish's output), and rows Batfish
printed for the example network in pybatfish's configProperties doc notebook."""

from __future__ import annotations

from typing import Any

import pytest
from pybatfish.datamodel.answer.table import TableAnswer

from realfish.answers import answer
from realfish.answers.state import SnapshotState

pytestmark = pytest.mark.frr


def ask(snapshot: SnapshotState, cls: str, **params: Any) -> list[dict[str, Any]]:
    q = {"class": f"org.batfish.question.{cls}", "differential": False,
         "instance": {"instanceName": cls.split(".")[-1], "variables": {k: {"value": v} for k, v in params.items()}}}
    frame = TableAnswer({"answerElements": answer(q, snapshot)["answerElements"]}).frame()
    return [dict(r) for r in frame.to_dict("records")]


# expected_facts/basic.yml, BGP section (node `basic`), as Batfish answered it
BASIC_PROCESS = {"Multipath_EBGP": True, "Multipath_IBGP": True, "Multipath_Match_Mode": "EXACT_PATH",
                 "Route_Reflector": False, "Router_ID": "1.1.1.1", "Tie_Breaker": "ARRIVAL_ORDER", "VRF": "default"}
BASIC_PEERS: dict[str, dict[str, Any]] = {
    "1.10.1.1": {"Cluster_ID": None, "Export_Policy": [], "Import_Policy": [], "Is_Passive": False, "Local_AS": 1,
                 "Local_IP": "1.1.1.1", "Local_Interface": None, "Peer_Group": "as1", "Remote_AS": "1",
                 "Route_Reflector_Client": False, "Send_Community": True, "VRF": "default"},
    "10.12.11.2": {"Cluster_ID": None, "Export_Policy": ["as1_to_as2"], "Import_Policy": ["as2_to_as1"],
                   "Is_Passive": False, "Local_AS": 1, "Local_IP": "10.12.11.1", "Local_Interface": None,
                   "Peer_Group": "as2", "Remote_AS": "2", "Route_Reflector_Client": False, "Send_Community": True,
                   "VRF": "default"},
    "3.2.2.2": {"Cluster_ID": None, "Export_Policy": [], "Import_Policy": [], "Is_Passive": False, "Local_AS": 1,
                "Local_IP": None, "Local_Interface": None, "Peer_Group": "bad-ebgp", "Remote_AS": "666",
                "Route_Reflector_Client": False, "Send_Community": False, "VRF": "default"},
    "5.6.7.8": {"Cluster_ID": None, "Export_Policy": [], "Import_Policy": [], "Is_Passive": False, "Local_AS": 1,
                "Local_IP": None, "Local_Interface": None, "Peer_Group": "xanadu", "Remote_AS": "555",
                "Route_Reflector_Client": False, "Send_Community": False, "VRF": "default"},
}


def test_bgp_process_as_batfish_answers_basic(example_live: SnapshotState) -> None:
    [row] = ask(example_live, "bgpproperties.BgpProcessConfigurationQuestion", nodes="as1border1")
    assert {k: row[k] for k in BASIC_PROCESS} == BASIC_PROCESS
    assert sorted(row["Neighbors"]) == sorted(BASIC_PEERS)
    rows = {r["Node"]: r for r in ask(example_live, "bgpproperties.BgpProcessConfigurationQuestion")}
    # every router has `bgp router-id`; the cores reflect to their `as1`/`as2` peer-groups
    assert len(rows) == 13 and all(r["Router_ID"] for r in rows.values())
    assert {n for n, r in rows.items() if r["Route_Reflector"]} == {"as1core1", "as2core1", "as2core2", "as3core1"}


def test_bgp_peers_as_batfish_answers_basic(example_live: SnapshotState) -> None:
    rows = ask(example_live, "bgpproperties.BgpPeerConfigurationQuestion", nodes="as1border1")
    got = {str(r["Remote_IP"]): r for r in rows}
    assert {ip: {k: r[k] for k in BASIC_PEERS[ip]} for ip, r in got.items()} == BASIC_PEERS


def test_ospf_configuration_from_the_configs(example_live: SnapshotState) -> None:
    procs = {r["Node"]: r for r in ask(example_live, "ospfprocess.OspfProcessConfigurationQuestion")}
    assert set(procs) == {"as1border1", "as1border2", "as1core1", "as2border1", "as2border2", "as2core1",
                          "as2core2", "as2dist1", "as2dist2", "as3border1", "as3border2", "as3core1"}  # not as2dept1
    p = procs["as1border1"]
    assert (p["VRF"], p["Process_ID"], p["Areas"], p["Reference_Bandwidth"], p["Router_ID"]) == (
        "default", "1", ["1"], 100e6, "1.1.1.1")
    assert (p["Export_Policy_Sources"], p["Area_Border_Router"]) == ([], False)  # redistribute without route-map
    assert not any(r["Area_Border_Router"] for r in procs.values())  # area 1 everywhere

    rows = ask(example_live, "ospfinterface.OspfInterfaceConfigurationQuestion", nodes="as1border1|as2dist1")
    ifaces = {(r["Interface"].hostname, r["Interface"].interface): r for r in rows}
    # network 1.0.0.0/8 (as1border1) and 2.1.0.0/16, 2.23.0.0/16 (as2dist1): not 10.12.11.1, not 2.34.101.3
    assert set(ifaces) == {("as1border1", "GigabitEthernet0/0"), ("as1border1", "Loopback0"),
                           ("as2dist1", "GigabitEthernet0/0"), ("as2dist1", "GigabitEthernet1/0"),
                           ("as2dist1", "Loopback0")}
    lo = ifaces[("as1border1", "Loopback0")]
    assert (lo["OSPF_Area_Name"], lo["OSPF_Passive"], lo["OSPF_Enabled"], lo["OSPF_Network_Type"]) == (
        1, True, True, "BROADCAST")
    gi = ifaces[("as1border1", "GigabitEthernet0/0")]
    assert (gi["OSPF_Passive"], gi["OSPF_Cost"], gi["OSPF_Hello_Interval"], gi["OSPF_Dead_Interval"]) == (
        False, 1, 10, 40)

    areas = {r["Node"]: r for r in ask(example_live, "ospfarea.OspfAreaConfigurationQuestion")}
    a = areas["as1border1"]
    assert (a["Process_ID"], a["Area"], a["Area_Type"], a["Active_Interfaces"], a["Passive_Interfaces"]) == (
        "1", "1", "NONE", ["GigabitEthernet0/0"], ["Loopback0"])
    assert areas["as2dist1"]["Active_Interfaces"] == ["GigabitEthernet0/0", "GigabitEthernet1/0", "Loopback0"]


# Rows Batfish printed in pybatfish's docs/source/notebooks/configProperties.ipynb, whose snapshot is Batfish's
# example network (the same routers, peers and OSPF networks as example-live)
NOTEBOOK_PEER = {"Node": "as1border2", "VRF": "default", "Local_AS": 1, "Local_IP": "10.14.22.1",
                 "Local_Interface": None, "Confederation": None, "Remote_AS": "4", "Remote_IP": "10.14.22.4",
                 "Description": None, "Route_Reflector_Client": False, "Cluster_ID": None, "Peer_Group": "as4",
                 "Import_Policy": ["as4_to_as1"], "Export_Policy": ["as1_to_as4"], "Send_Community": False,
                 "Is_Passive": False}
NOTEBOOK_OSPF_PROCESS = {"Node": "as2border1", "VRF": "default", "Process_ID": "1", "Areas": ["1"],
                         "Reference_Bandwidth": 100000000.0, "Router_ID": "2.1.1.1", "Export_Policy_Sources": [],
                         "Area_Border_Router": False}
NOTEBOOK_OSPF_INTERFACE = {"VRF": "default", "Process_ID": "1", "OSPF_Area_Name": 1, "OSPF_Enabled": True,
                           "OSPF_Passive": False, "OSPF_Cost": 1, "OSPF_Network_Type": "BROADCAST",
                           "OSPF_Hello_Interval": 10, "OSPF_Dead_Interval": 40}  # as1core1 Gi0/0 and Gi1/0
NOTEBOOK_AREAS = {  # Node: Active_Interfaces (area 1, NONE, no passive interface)
    "as2dist2": ["GigabitEthernet0/0", "GigabitEthernet1/0", "Loopback0"],
    "as2border2": ["GigabitEthernet1/0", "GigabitEthernet2/0", "Loopback0"],
    "as3core1": ["GigabitEthernet0/0", "GigabitEthernet1/0", "Loopback0"],
    "as2core1": ["GigabitEthernet0/0", "GigabitEthernet1/0", "GigabitEthernet2/0", "GigabitEthernet3/0", "Loopback0"],
    "as1border2": ["GigabitEthernet1/0", "Loopback0"],
}


def test_rows_batfish_printed_in_the_notebook(example_live: SnapshotState) -> None:
    peers = ask(example_live, "bgpproperties.BgpPeerConfigurationQuestion", nodes="as1border2")
    peer = next(r for r in peers if str(r["Remote_IP"]) == "10.14.22.4")
    assert {k: (str(peer[k]) if k == "Remote_IP" else peer[k]) for k in NOTEBOOK_PEER} == NOTEBOOK_PEER
    [proc] = ask(example_live, "ospfprocess.OspfProcessConfigurationQuestion", nodes="as2border1")
    assert proc == NOTEBOOK_OSPF_PROCESS
    rows = ask(example_live, "ospfinterface.OspfInterfaceConfigurationQuestion", nodes="as1core1")
    got = {r["Interface"].interface: {k: r[k] for k in NOTEBOOK_OSPF_INTERFACE} for r in rows}
    assert got["GigabitEthernet0/0"] == got["GigabitEthernet1/0"] == NOTEBOOK_OSPF_INTERFACE
    areas = {r["Node"]: r for r in ask(example_live, "ospfarea.OspfAreaConfigurationQuestion")}
    for node, active in NOTEBOOK_AREAS.items():
        a = areas[node]
        assert (a["VRF"], a["Process_ID"], a["Area"], a["Area_Type"], a["Active_Interfaces"],
                a["Passive_Interfaces"]) == ("default", "1", "1", "NONE", active, [])
