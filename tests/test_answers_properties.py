"""Configuration and OSPF answerers on a small converged snapshot: five IOS routers whose OSPF links each break
one compatibility rule (MTU, area, area type, hello, passive, network type), and a host with iptables.

    r1 -- r2   ESTABLISHED                 r2 -- r4   AREA_MISMATCH (area 0 / area 2)
    r1 -- r3   MTU_MISMATCH (1400 / 1500)  r3 -- r4   PASSIVE_MISMATCH (r3 passive)
    r1 -- r4   AREA_TYPE_MISMATCH (stub)   r4 -- r5   NETWORK_TYPE_MISMATCH (p2p / broadcast)
    r2 -- r3   HELLO_INTERVAL_MISMATCH     r5 -- h1   no OSPF on the host
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pybatfish.datamodel.answer.table import TableAnswer

from realfish.answers import UnsupportedQuestion, answer
from realfish.answers.state import SnapshotState, build
from realfish.convert import convert_snapshot

CONFIGS = {
    "r1": """hostname r1
ntp server 10.9.9.9
interface Loopback0
 ip address 10.255.0.1 255.255.255.255
interface GigabitEthernet0/0
 description to r2
 ip address 10.0.12.1 255.255.255.0
 ip access-group EDGE in
interface GigabitEthernet0/1
 ip address 10.0.13.1 255.255.255.0
 mtu 1400
interface GigabitEthernet0/2
 ip address 10.0.14.1 255.255.255.0
router ospf 1
 router-id 10.255.0.1
 area 1 stub
 network 10.0.12.0 0.0.0.255 area 0
 network 10.0.13.0 0.0.0.255 area 0
 network 10.0.14.0 0.0.0.255 area 1
 network 10.255.0.1 0.0.0.0 area 0
ip access-list extended EDGE
 permit ip any any
access-list 10 permit 10.0.0.0 0.255.255.255
ip prefix-list LOOPS seq 5 permit 10.255.0.0/16 le 32
ip community-list standard TAGGED permit 65000:1
route-map OUT permit 10
 match ip address 10
route-map OUT permit 20
 match ip address prefix-list LOOPS
""",
    "r2": """hostname r2
interface Loopback0
 ip address 10.255.0.2 255.255.255.255
interface GigabitEthernet0/0
 ip address 10.0.12.2 255.255.255.0
 no ip proxy-arp
interface GigabitEthernet0/1
 ip address 10.0.23.2 255.255.255.0
 ip ospf hello-interval 5
interface GigabitEthernet0/2
 ip address 10.0.24.2 255.255.255.0
 speed 100
 standby 1 ip 10.0.24.1
router ospf 1
 router-id 10.255.0.2
 network 10.0.0.0 0.0.255.255 area 0
""",
    "r3": """hostname r3
interface Loopback0
 ip address 10.255.0.1 255.255.255.255
interface GigabitEthernet0/0
 ip address 10.0.13.3 255.255.255.0
interface GigabitEthernet0/1
 ip address 10.0.23.3 255.255.255.0
interface GigabitEthernet0/2
 ip address 10.0.34.3 255.255.255.0
router ospf 1
 router-id 10.255.0.3
 passive-interface GigabitEthernet0/2
 network 10.0.0.0 0.0.255.255 area 0
""",
    "r4": """hostname r4
interface GigabitEthernet0/0
 ip address 10.0.14.4 255.255.255.0
interface GigabitEthernet0/1
 ip address 10.0.24.4 255.255.255.0
interface GigabitEthernet0/2
 ip address 10.0.34.4 255.255.255.0
interface GigabitEthernet0/3
 ip address 10.0.45.4 255.255.255.0
 ip ospf network point-to-point
router ospf 1
 router-id 10.255.0.4
 network 10.0.14.0 0.0.0.255 area 1
 network 10.0.24.0 0.0.0.255 area 2
 network 10.0.34.0 0.0.0.255 area 0
 network 10.0.45.0 0.0.0.255 area 0
""",
    "r5": """hostname r5
interface GigabitEthernet0/0
 ip address 10.0.45.5 255.255.255.0
interface GigabitEthernet0/1
 ip address 10.0.55.5 255.255.255.0
 shutdown
interface GigabitEthernet0/2
 ip address 10.0.56.5 255.255.255.0
router ospf 1
 router-id 10.255.0.5
 network 10.0.0.0 0.0.255.255 area 0
""",
}
HOST = {"hostname": "h1", "iptablesFile": "iptables/h1.iptables",
        "hostInterfaces": {"eth0": {"name": "eth0", "prefix": "10.0.56.100/24", "gateway": "10.0.56.5"}}}
IPTABLES = """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
"""


def write_snapshot(root: Path, configs: dict[str, str]) -> Path:
    (root / "configs").mkdir(parents=True)
    for name, text in configs.items():
        (root / "configs" / f"{name}.cfg").write_text(text)
    (root / "hosts").mkdir()
    (root / "hosts" / "h1.json").write_text(json.dumps(HOST))
    (root / "iptables").mkdir()
    (root / "iptables" / "h1.iptables").write_text(IPTABLES)
    return root


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> SnapshotState:
    return build(write_snapshot(tmp_path_factory.mktemp("props"), CONFIGS), "props")


def question(cls: str, **params: Any) -> dict[str, Any]:
    """A question as pybatfish sends it: parameters in instance.variables, fixed fields at the top level."""
    top = {k: params.pop(k) for k in ("edgeType",) if k in params}
    return {"class": f"org.batfish.question.{cls}", "differential": False, **top,
            "instance": {"instanceName": cls.split(".")[-1], "variables": {k: {"value": v} for k, v in params.items()}}}


def ask(snapshot: SnapshotState, cls: str, reference: SnapshotState | None = None, **params: Any) -> TableAnswer:
    """Answer, and check that pybatfish decodes it (its frame is built from every row and column)."""
    ans = answer(question(cls, **params), snapshot, reference)
    decoded = TableAnswer({"answerElements": ans["answerElements"]})
    assert len(decoded.frame()) == len(ans["answerElements"][0]["rows"])
    return decoded


def frame_rows(ans: TableAnswer) -> list[dict[str, Any]]:
    return [dict(r) for r in ans.frame().to_dict("records")]


def pair(iface: Any) -> tuple[str, str]:
    return iface.hostname, iface.interface


# -- OSPF ---------------------------------------------------------------------------------------------------

EXPECTED_SESSIONS = {
    ("r1", "GigabitEthernet0/0", "r2"): "ESTABLISHED", ("r2", "GigabitEthernet0/0", "r1"): "ESTABLISHED",
    ("r1", "GigabitEthernet0/1", "r3"): "MTU_MISMATCH", ("r3", "GigabitEthernet0/0", "r1"): "MTU_MISMATCH",
    ("r1", "GigabitEthernet0/2", "r4"): "AREA_TYPE_MISMATCH", ("r4", "GigabitEthernet0/0", "r1"): "AREA_TYPE_MISMATCH",
    ("r2", "GigabitEthernet0/1", "r3"): "HELLO_INTERVAL_MISMATCH",
    ("r3", "GigabitEthernet0/1", "r2"): "HELLO_INTERVAL_MISMATCH",
    ("r2", "GigabitEthernet0/2", "r4"): "AREA_MISMATCH", ("r4", "GigabitEthernet0/1", "r2"): "AREA_MISMATCH",
    # only from the active side: Batfish starts no session from a passive interface
    ("r4", "GigabitEthernet0/2", "r3"): "PASSIVE_MISMATCH",
    ("r4", "GigabitEthernet0/3", "r5"): "NETWORK_TYPE_MISMATCH",
    ("r5", "GigabitEthernet0/0", "r4"): "NETWORK_TYPE_MISMATCH",
}


@pytest.mark.frr
def test_ospf_session_compatibility_statuses(snap: SnapshotState) -> None:
    ans = ask(snap, "ospfsession.OspfSessionCompatibilityQuestion")
    got = {(r["Interface"].hostname, r["Interface"].interface, r["Remote_Interface"].hostname): r["Session_Status"]
           for r in frame_rows(ans)}
    assert got == EXPECTED_SESSIONS
    row = next(r for r in frame_rows(ans) if r["Interface"].hostname == "r4" and r["Remote_Area"] == 0
               and r["Session_Status"] == "AREA_MISMATCH")
    assert (row["IP"], row["Area"], row["Remote_IP"], row["VRF"]) == ("10.0.24.4", 2, "10.0.24.2", "default")
    assert [c.name for c in ans.metadata.column_metadata] == [
        "Interface", "VRF", "IP", "Area", "Remote_Interface", "Remote_VRF", "Remote_IP", "Remote_Area",
        "Session_Status"]


@pytest.mark.frr
def test_ospf_session_statuses_filter_as_pybatfish_asserts(snap: SnapshotState) -> None:
    ans = ask(snap, "ospfsession.OspfSessionCompatibilityQuestion", statuses="/^(?!ESTABLISHED).*$/")
    assert {r["Session_Status"] for r in frame_rows(ans)} == set(EXPECTED_SESSIONS.values()) - {"ESTABLISHED"}
    ans = ask(snap, "ospfsession.OspfSessionCompatibilityQuestion", statuses="MTU_MISMATCH", nodes="r3")
    assert [pair(r["Remote_Interface"]) for r in frame_rows(ans)] == [("r1", "GigabitEthernet0/1")]
    with pytest.raises(UnsupportedQuestion):
        ask(snap, "ospfsession.OspfSessionCompatibilityQuestion", statuses="SOMETIMES")


@pytest.mark.frr
def test_ospf_edges_are_the_real_adjacencies(snap: SnapshotState) -> None:
    # FRR forms a Full adjacency across the p2p/broadcast mismatch (r4-r5); MTU-mismatched r1-r3 stays in ExStart
    ans = ask(snap, "edges.EdgesQuestion", edgeType="ospf")
    got = {(pair(r["Interface"]), pair(r["Remote_Interface"])) for r in frame_rows(ans)}
    links = {(("r1", "GigabitEthernet0/0"), ("r2", "GigabitEthernet0/0")),
             (("r4", "GigabitEthernet0/3"), ("r5", "GigabitEthernet0/0"))}
    assert got == links | {(b, a) for a, b in links}
    ans = ask(snap, "edges.EdgesQuestion", edgeType="ospf", nodes="r1", remoteNodes="r2,r3")
    assert [(pair(r["Interface"]), pair(r["Remote_Interface"])) for r in frame_rows(ans)] == [
        (("r1", "GigabitEthernet0/0"), ("r2", "GigabitEthernet0/0"))]


# -- edges, ownership ---------------------------------------------------------------------------------------


@pytest.mark.frr
def test_layer3_edges_with_node_filters(snap: SnapshotState) -> None:
    ans = ask(snap, "edges.EdgesQuestion", edgeType="layer3", nodes="r5", remoteNodes="/h/")
    assert frame_rows(ans) == [{"Interface": ans.frame().iloc[0]["Interface"], "IPs": ["10.0.56.5"],
                                "Remote_Interface": ans.frame().iloc[0]["Remote_Interface"],
                                "Remote_IPs": ["10.0.56.100"]}]
    assert pair(frame_rows(ans)[0]["Remote_Interface"]) == ("h1", "eth0")
    meta = {c.name: (c.isKey, c.isValue) for c in ans.metadata.column_metadata}
    assert meta == {"Interface": (True, False), "IPs": (False, True), "Remote_Interface": (True, False),
                    "Remote_IPs": (False, True)}
    every = ask(snap, "edges.EdgesQuestion", edgeType="layer3")
    assert len(every.frame()) == 2 * 8  # eight links, both directions; the shut interface has none


@pytest.mark.frr
def test_ip_owners(snap: SnapshotState) -> None:
    dups = frame_rows(ask(snap, "ipowners.IpOwnersQuestion", duplicatesOnly=True))
    assert [(r["Node"], r["Interface"], r["IP"], r["Mask"], r["Active"]) for r in dups] == [
        ("r1", "Loopback0", "10.255.0.1", 32, True), ("r3", "Loopback0", "10.255.0.1", 32, True)]
    some = frame_rows(ask(snap, "ipowners.IpOwnersQuestion", ips="10.0.55.0/24, 10.0.56.0-10.0.56.99"))
    # a shut interface still owns its address (Batfish lists it, inactive)
    assert [(r["Node"], r["Interface"], r["Active"]) for r in some] == [
        ("r5", "GigabitEthernet0/1", False), ("r5", "GigabitEthernet0/2", True)]
    assert not frame_rows(ask(snap, "ipowners.IpOwnersQuestion", ips="10.0.0.0/8 \\ 10.0.0.0/16, 10.255.0.0/16"))
    with pytest.raises(UnsupportedQuestion):
        ask(snap, "ipowners.IpOwnersQuestion", ips="@enter(r1)")


# -- properties ---------------------------------------------------------------------------------------------


@pytest.mark.frr
def test_node_properties(snap: SnapshotState) -> None:
    ans = ask(snap, "nodeproperties.NodePropertiesQuestion")
    names = [c.name for c in ans.metadata.column_metadata]
    assert names[0] == "Node" and names[1:] == sorted(names[1:]) and len(names) == 37
    rows = {r["Node"]: r for r in frame_rows(ans)}
    assert set(rows) == {"r1", "r2", "r3", "r4", "r5", "h1"}
    r1 = rows["r1"]
    assert (r1["Configuration_Format"], r1["Hostname"], r1["VRFs"]) == ("CISCO_IOS", "r1", ["default"])
    assert list(r1["IP_Access_Lists"]) == ["10", "EDGE"]
    assert list(r1["Route_Filter_Lists"]) == ["10", "LOOPS"]  # the ACL a route-map matches is a route filter
    assert list(r1["Routing_Policies"]) == ["OUT"]
    assert list(r1["Community_Match_Exprs"]) == list(r1["Community_Set_Match_Exprs"]) == ["TAGGED"]
    assert list(r1["Interfaces"]) == ["GigabitEthernet0/0", "GigabitEthernet0/1", "GigabitEthernet0/2", "Loopback0"]
    # r1 configures an NTP server the model does not hold: unknown, not "none"
    assert r1["NTP_Servers"] is None and list(rows["r2"]["NTP_Servers"]) == []
    h1 = rows["h1"]
    assert h1["Configuration_Format"] == "HOST"
    assert list(h1["IP_Access_Lists"]) == ["filter::FORWARD", "filter::INPUT", "filter::OUTPUT"]
    some = ask(snap, "nodeproperties.NodePropertiesQuestion", nodes="/r[12]/", properties="NTP_Servers, Hostname")
    assert [c.name for c in some.metadata.column_metadata] == ["Node", "Hostname", "NTP_Servers"]
    assert [r["Node"] for r in frame_rows(some)] == ["r1", "r2"]
    regex = ask(snap, "nodeproperties.NodePropertiesQuestion", nodes="r1", properties="/^(ntp|dns)_servers$/")
    assert [c.name for c in regex.metadata.column_metadata] == ["Node", "DNS_Servers", "NTP_Servers"]
    with pytest.raises(UnsupportedQuestion):
        ask(snap, "nodeproperties.NodePropertiesQuestion", properties="Favourite_Colour")


@pytest.mark.frr
def test_interface_properties(snap: SnapshotState) -> None:
    ans = ask(snap, "interfaceproperties.InterfacePropertiesQuestion")
    names = [c.name for c in ans.metadata.column_metadata]
    assert names[0] == "Interface" and names[1:] == sorted(names[1:]) and "Interface_Type" not in names
    rows = {pair(r["Interface"]): r for r in frame_rows(ans)}
    gi = rows[("r1", "GigabitEthernet0/0")]
    assert (gi["Active"], gi["Admin_Up"], gi["Description"], gi["Incoming_Filter_Name"], gi["Proxy_ARP"]) == (
        True, True, "to r2", "EDGE", True)
    assert (gi["Primary_Address"], gi["Primary_Network"], list(gi["All_Prefixes"])) == (
        "10.0.12.1/24", "10.0.12.0/24", ["10.0.12.1/24"])
    assert (gi["Bandwidth"], gi["Speed"], gi["MTU"], gi["VRF"], gi["Switchport_Mode"]) == (
        1e9, 1e9, 1500, "default", "NONE")
    assert rows[("r1", "GigabitEthernet0/1")]["MTU"] == 1400
    lo = rows[("r1", "Loopback0")]
    assert (lo["Bandwidth"], lo["Speed"]) == (8e9, None)
    assert rows[("r2", "GigabitEthernet0/0")]["Proxy_ARP"] is False
    r2gi2 = rows[("r2", "GigabitEthernet0/2")]
    assert (r2gi2["Speed"], r2gi2["Bandwidth"]) == (100e6, 100e6)  # `speed 100` (Mb/s), no bandwidth line
    assert r2gi2["HSRP_Groups"] is None and list(rows[("r2", "GigabitEthernet0/1")]["HSRP_Groups"]) == []
    shut = rows[("r5", "GigabitEthernet0/1")]
    assert (shut["Active"], shut["Admin_Up"], shut["Inactive_Reason"]) == (False, False, "Administratively down")
    assert gi["Inactive_Reason"] == ""
    eth0 = rows[("h1", "eth0")]
    assert (eth0["Incoming_Filter_Name"], eth0["Outgoing_Filter_Name"], eth0["Proxy_ARP"], eth0["Bandwidth"]) == (
        "filter::INPUT", "filter::OUTPUT", False, 1e9)
    up = ask(snap, "interfaceproperties.InterfacePropertiesQuestion", nodes="r5", excludeShutInterfaces=True,
             properties="Interface_Type, Active")
    assert [c.name for c in up.metadata.column_metadata] == ["Interface", "Active", "Interface_Type"]
    assert [(pair(r["Interface"]), r["Interface_Type"]) for r in frame_rows(up)] == [
        (("r5", "GigabitEthernet0/0"), "PHYSICAL"), (("r5", "GigabitEthernet0/2"), "PHYSICAL")]
    one = ask(snap, "interfaceproperties.InterfacePropertiesQuestion", interfaces="r1[Loopback0]", properties="MTU")
    assert [pair(r["Interface"]) for r in frame_rows(one)] == [("r1", "Loopback0")]


@pytest.mark.frr
def test_interface_down_on_the_router_is_inactive(snap: SnapshotState) -> None:
    dp = copy.deepcopy(snap.tables())
    dp.routers["r2"].show["interfaces"]["gi0-1"]["operationalStatus"] = "down"
    down = SnapshotState("down", snap.conv, dp)
    rows = frame_rows(ask(down, "interfaceproperties.InterfacePropertiesQuestion", interfaces="r2[/0.1/]",
                          properties="Active, Admin_Up, Inactive_Reason"))
    assert [(r["Active"], r["Admin_Up"]) for r in rows] == [(False, True)]
    assert rows[0]["Inactive_Reason"]


# -- parse status and differential answers ------------------------------------------------------------------


@pytest.mark.frr
def test_file_parse_status_and_init_issues(snap: SnapshotState) -> None:
    status = frame_rows(ask(snap, "initialization.FileParseStatusQuestion"))
    assert {(r["File_Name"], r["Status"], r["File_Format"]) for r in status} >= {
        ("configs/r1.cfg", "PASSED", "CISCO_IOS"), ("hosts/h1.json", "PASSED", "HOST")}
    assert next(r for r in status if r["File_Name"] == "configs/r2.cfg")["Nodes"] == ["r2"]
    issues = frame_rows(ask(snap, "initialization.InitIssuesQuestion"))
    dup = [r for r in issues if "10.255.0.1" in r["Details"]]
    assert {tuple(r["Nodes"]) for r in dup} == {("r1",), ("r3",)}


@pytest.mark.frr
def test_differential_answers(snap: SnapshotState, tmp_path: Path) -> None:
    changed = dict(CONFIGS, r2=CONFIGS["r2"].replace(" ip ospf hello-interval 5\n", " mtu 9000\n"))
    ref = SnapshotState("ref", convert_snapshot(write_snapshot(tmp_path, changed)))
    ans = ask(snap, "interfaceproperties.InterfacePropertiesQuestion", reference=ref, properties="MTU")
    # Batfish's TableDiff: keys, KeyPresence, Snapshot_/Reference_ per other column (neither key nor value)
    assert list(ans.frame().columns) == ["Interface", "KeyPresence", "Snapshot_MTU", "Reference_MTU"]
    assert [(c.name, c.isKey, c.isValue) for c in ans.metadata.column_metadata][1:] == [
        ("KeyPresence", False, True), ("Snapshot_MTU", False, False), ("Reference_MTU", False, False)]
    assert ans["answerElements"][0]["metadata"]["textDesc"] == "[Interface]"
    assert [(pair(r["Interface"]), r["KeyPresence"], r["Snapshot_MTU"], r["Reference_MTU"])
            for r in frame_rows(ans)] == [(("r2", "GigabitEthernet0/1"), "In both", 1500, 9000)]
    assert not frame_rows(ask(snap, "nodeproperties.NodePropertiesQuestion", reference=snap))


def test_differential_rows_only_in_one_snapshot() -> None:
    """TableDiff's order: snapshot rows (key missing from the reference, or values differ), then reference-only
    keys; includeOneTableKeys false keeps only keys present in both."""
    from realfish.answers import table as tbl

    cols = [tbl.Column("K", "String", "key", key=True, value=False), tbl.Column("V", "Integer", "value"),
            tbl.Column("N", "String", "neither", value=False)]
    snap = [{"K": "b", "V": 1, "N": "x"}, {"K": "a", "V": 2, "N": "x"}, {"K": "c", "V": 3, "N": "x"}]
    ref = [{"K": "d", "V": 4, "N": "y"}, {"K": "a", "V": 2, "N": "y"}, {"K": "c", "V": 5, "N": "y"}]
    rows = tbl.differential(cols, snap, ref)["rows"]
    assert [(r["K"], r["KeyPresence"], r["Snapshot_V"], r["Reference_V"], r["Reference_N"]) for r in rows] == [
        ("b", "Only in Snapshot", 1, None, None), ("c", "In both", 3, 5, "y"), ("d", "Only in Reference", None, 4, "y")]
    assert [r["K"] for r in tbl.differential(cols, snap, ref, include_one_table_keys=False)["rows"]] == ["c"]


def test_boolean_parameters() -> None:
    """pybatfish sends JSON booleans; text is read too, and "false" is false (bool("false") is not)."""
    from realfish.answers import flag

    def q(value: Any) -> dict[str, Any]:
        return {"instance": {"variables": {"ignoreFilters": {"value": value}}}}

    assert [flag(q(v), "ignoreFilters") for v in (True, False, "true", "False", None)] == [
        True, False, True, False, False]
    assert flag(q(None), "ignoreFilters", default=True)
