"""Batfish's ISP modelling (batfish/isp_config.json): ISP nodes and the Internet as real BGP speakers, listed in
answers as Batfish lists them. One border router (AS 64500) with two eBGP neighbors: AS7018 (Internet-connected,
the default) and AS3356 (`internetConnection: false`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from realfish.answers.state import SnapshotState, build
from realfish.assertions import StateAsker
from realfish.convert import convert_snapshot, write_conversion

pytestmark = pytest.mark.frr

BORDER = """frr defaults traditional
hostname border
interface eth0
 ip address 10.10.0.1/30
interface eth1
 ip address 10.10.1.1/30
interface eth2
 ip address 10.10.2.1/30
ip route 93.184.216.0/24 blackhole
router bgp 64500
 no bgp ebgp-requires-policy
 neighbor 10.10.0.2 remote-as 7018
 neighbor 10.10.1.2 remote-as 3356
 neighbor 10.10.2.2 remote-as 2914
 address-family ipv4 unicast
  network 93.184.216.0/24
 exit-address-family
"""
ISP_CONFIG = {
    "borderInterfaces": [{"borderInterface": {"hostname": "border", "interface": f"eth{i}"}} for i in range(3)]
    + [{"borderInterface": {"hostname": "border", "interface": "eth9"}}],
    "filter": {"onlyRemoteAsns": [7018, 3356]},  # eth2's AS2914 is filtered out
    "ispNodeInfos": [{"asn": 3356, "name": "level3", "internetConnection": False},
                     {"asn": 7018, "additionalAnnouncements": [{"prefix": "203.0.113.0/24"}]}],
    "ispPeeringInfos": [{"peer1": {"asn": 7018}, "peer2": {"asn": 3356}}],
}


def write(root: Path, config: dict[str, Any]) -> Path:
    (root / "configs").mkdir(parents=True)
    (root / "batfish").mkdir()
    (root / "configs" / "border.cfg").write_text(BORDER)
    (root / "batfish" / "isp_config.json").write_text(json.dumps(config))
    return root


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> SnapshotState:
    return build(write(tmp_path_factory.mktemp("isp") / "snap", ISP_CONFIG), "isp")


def test_isp_and_internet_nodes_are_listed(state: SnapshotState) -> None:
    nodes = {r["Node"]["name"] for r in StateAsker(state).ask("nodeProperties")}
    assert nodes == {"border", "isp_7018", "isp_3356", "internet"}


def test_routes_through_the_isps(state: SnapshotState) -> None:
    rib = {(r["Node"]["name"], r["Network"]): r for r in StateAsker(state).ask("routes", rib="bgp")}
    assert rib[("border", "0.0.0.0/0")]["AS_Path"] == "7018 65537"  # the Internet's default, via the ISP
    assert rib[("border", "0.0.0.0/0")]["Next_Hop"] == {"type": "ip", "ip": "10.10.0.2"}
    assert rib[("isp_7018", "93.184.216.0/24")]["AS_Path"] == "64500"
    assert rib[("internet", "93.184.216.0/24")]["AS_Path"] == "7018 64500"
    assert ("internet", "93.184.216.0/24") in rib and not any(n == "isp_2914" for n, _ in rib)
    traces = StateAsker(state).ask("traceroute", startLocation="border",
                                   headers={"srcIps": "93.184.216.1", "dstIps": "8.8.8.8"})
    hops = {tuple(h["node"]["name"] for h in t["hops"]) for r in traces for t in r["Traces"]}
    assert hops == {("border", "isp_7018", "internet")}
    assert {t["disposition"] for r in traces for t in r["Traces"]} == {"EXITS_NETWORK"}


def test_status_reports_what_is_not_modelled(tmp_path: Path) -> None:
    conv = convert_snapshot(write(tmp_path / "snap", ISP_CONFIG))
    st = conv.status_of("batfish/isp_config.json")
    assert st is not None and sorted(st.nodes) == ["internet", "isp_3356", "isp_7018"]
    notes = [(n.kind, n.text, n.message) for n in st.notes]
    assert ("translated", "borderInterfaces #0", "border eth0 peers with isp_7018 at 10.10.0.2") in notes
    assert any(k == "warning" and t == "borderInterfaces #2" and "fits the filter" in m for k, t, m in notes)
    assert any(k == "warning" and t == "borderInterfaces #3" and "no interface 'eth9'" in m for k, t, m in notes)
    assert any(k == "unsupported" and t == "ispPeeringInfos" for k, t, _ in notes)
    assert any(k == "unsupported" and "additionalAnnouncements" in m for k, _, m in notes)
    bad = convert_snapshot(write(tmp_path / "bad", {}))
    (tmp_path / "bad" / "batfish" / "isp_config.json").write_text("{\n oops")
    bad = convert_snapshot(tmp_path / "bad")
    st2 = bad.status_of("batfish/isp_config.json")
    assert st2 is not None and st2.status == "FAILED" and st2.notes[0].line == 2


def test_parse_status_lists_both_outside_files(tmp_path: Path) -> None:
    root = write(tmp_path / "snap", ISP_CONFIG)
    (root / "external_bgp_announcements.json").write_text(json.dumps({"Announcements": [
        {"type": "ebgp_sent", "network": "192.0.2.0/24", "srcIp": "10.10.2.2", "dstNode": "border",
         "asPath": [[2914]], "communities": []}]}))
    out = write_conversion(convert_snapshot(root), tmp_path / "out")
    status = {s["file"]: s for s in json.loads((out / "realfish" / "parse_status.json").read_text())}
    assert status["batfish/isp_config.json"]["counts"]["translated"] == 2
    assert status["external_bgp_announcements.json"]["counts"]["translated"] == 1
    maps = json.loads((out / "realfish" / "name_maps.json").read_text())
    assert maps["outside-10-10-2-2"]["kind"] == "speaker" and maps["isp_7018"]["format"] == "CISCO_IOS"


def test_reserved_addresses_blocked_at_the_internet(state: SnapshotState) -> None:
    """Batfish's default ISP traffic filtering: no packet to reserved space crosses into the Internet."""
    traces = StateAsker(state).ask("traceroute", startLocation="border",
                                   headers={"srcIps": "93.184.216.1", "dstIps": "192.0.2.77"})
    found = {(t["disposition"], tuple(h["node"]["name"] for h in t["hops"])) for r in traces for t in r["Traces"]}
    assert found == {("DENIED_OUT", ("border", "isp_7018"))}
    private = StateAsker(state).ask("traceroute", startLocation="border", headers={"dstIps": "8.8.8.8"})
    assert {t["disposition"] for r in private for t in r["Traces"]} == {"DENIED_OUT"}  # from 10.10.0.0/16


def test_the_internet_node_runs_every_line(state: SnapshotState) -> None:
    """Batfish's Internet node has 240.254.254.1/30 on `out`: zebra takes it with `allow-reserved-ranges` (class E
    is martian to FRR otherwise), so no line of the generated configs is rejected."""
    assert state.dataplane is not None and not state.dataplane.rejected
    rib = {(r["Node"]["name"], r["Network"]) for r in StateAsker(state).ask("routes")}
    assert ("internet", "240.254.254.0/30") in rib
