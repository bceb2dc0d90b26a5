"""External BGP announcements (Batfish's external_bgp_announcements.json), sent by hidden outside speakers.

A two-router network: `edge` (AS 65001) hears the outside world from 10.0.9.9 (AS 65009) through an import
policy, and passes what it keeps to `inner` (AS 65002) over eBGP. The import policy drops 198.51.100.0/24,
keeps the rest only with community 65009:1, and gives 203.0.113.0/24 local preference 250.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from pybatfish.client.session import Session

from realfish import speakers
from realfish.announcements import Announcement, read_announcements
from realfish.answers.state import SnapshotState, build
from realfish.assertions import (
    AssertionFailed,
    StateAsker,
    assert_flows_fail,
    assert_flows_succeed,
    assert_route_absent,
    assert_route_present,
)
from realfish.convert import convert_snapshot
from realfish.status import FileStatus

EDGE = """frr defaults traditional
hostname edge
interface eth0
 ip address 10.0.9.1/24
interface eth1
 ip address 10.0.12.1/30
router bgp 65001
 bgp router-id 10.0.12.1
 no bgp ebgp-requires-policy
 neighbor 10.0.9.9 remote-as 65009
 neighbor 10.0.9.8 remote-as 65001
 neighbor 10.0.12.2 remote-as 65002
 address-family ipv4 unicast
  neighbor 10.0.9.9 route-map FROM-OUTSIDE in
 exit-address-family
bgp community-list standard TAGGED seq 5 permit 65009:1
ip prefix-list BOGON seq 5 permit 198.51.100.0/24
ip prefix-list PREFERRED seq 5 permit 203.0.113.0/24
route-map FROM-OUTSIDE deny 10
 match ip address prefix-list BOGON
route-map FROM-OUTSIDE permit 20
 match ip address prefix-list PREFERRED
 match community TAGGED
 set local-preference 250
route-map FROM-OUTSIDE permit 30
 match community TAGGED
"""
INNER = """frr defaults traditional
hostname inner
interface eth0
 ip address 10.0.12.2/30
router bgp 65002
 bgp router-id 10.0.12.2
 no bgp ebgp-requires-policy
 neighbor 10.0.12.1 remote-as 65001
"""


def ann(network: str, path: list[list[int]], communities: list[Any], **kw: Any) -> dict[str, Any]:
    return {"type": "ebgp_sent", "network": network, "srcIp": "10.0.9.9", "dstNode": "edge", "dstIp": "10.0.9.1",
            "nextHopIp": "10.0.9.9", "asPath": path, "communities": communities, "originType": "egp", **kw}


ANNOUNCEMENTS = [
    ann("203.0.113.0/24", [[65009], [64512, 64513]], [65009 << 16 | 1, "65009:77"], med=30),
    ann("192.0.2.0/24", [[65009], [3356]], ["65009:1"], med=5, originType="incomplete"),
    ann("198.51.100.0/24", [[65009]], ["65009:1"]),  # the import policy drops it
    ann("100.64.0.0/16", [[65009]], []),  # no community: dropped by the policy too
    {"type": "ibgp_sent", "network": "198.18.0.0/15", "srcIp": "10.0.9.8", "dstNode": "edge",
     "asPath": [[64999]], "localPreference": 300, "communities": []},  # an iBGP neighbor of edge: no policy
]


def write_snapshot(root: Path, announcements: list[dict[str, Any]] | None) -> Path:
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "edge.cfg").write_text(EDGE)
    (root / "configs" / "inner.cfg").write_text(INNER)
    if announcements is not None:
        (root / "batfish").mkdir()
        (root / "batfish" / "external_bgp_announcements.json").write_text(
            json.dumps({"Announcements": announcements}))
    return root


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> SnapshotState:
    return build(write_snapshot(tmp_path_factory.mktemp("ann") / "snap", ANNOUNCEMENTS), "ann")


def bgp_rows(state: SnapshotState, node: str) -> dict[str, dict[str, Any]]:
    return {r["Network"]: r for r in StateAsker(state).ask("routes", nodes=node, rib="bgp")}


@pytest.mark.frr
def test_import_policy_decides(state: SnapshotState) -> None:
    edge = bgp_rows(state, "edge")
    assert set(edge) == {"203.0.113.0/24", "192.0.2.0/24", "198.18.0.0/15"}  # bogon and untagged: denied
    assert edge["203.0.113.0/24"]["Local_Pref"] == 250  # set by edge's own route-map
    assert edge["192.0.2.0/24"]["Local_Pref"] == 100
    assert state.dataplane is not None and state.dataplane.converged


@pytest.mark.frr
def test_attributes_arrive_as_announced(state: SnapshotState) -> None:
    r = bgp_rows(state, "edge")["203.0.113.0/24"]
    assert r["AS_Path"] == "65009 {64512,64513}"  # exactly as announced: the speaker adds nothing
    assert sorted(r["Communities"]) == ["65009:1", "65009:77"]
    assert r["Metric"] == 30 and r["Origin_Type"] == "egp"
    assert r["Next_Hop"] == {"type": "ip", "ip": "10.0.9.9"} and r["Protocol"] == "bgp"
    ibgp = bgp_rows(state, "edge")["198.18.0.0/15"]
    assert (ibgp["Protocol"], ibgp["Local_Pref"], ibgp["AS_Path"]) == ("ibgp", 300, "64999")
    other = bgp_rows(state, "edge")["192.0.2.0/24"]
    assert other["AS_Path"] == "65009 3356" and other["Metric"] == 5 and other["Origin_Type"] == "incomplete"


@pytest.mark.frr
def test_routers_re_advertise_what_they_kept(state: SnapshotState) -> None:
    inner = bgp_rows(state, "inner")
    assert set(inner) == {"203.0.113.0/24", "192.0.2.0/24", "198.18.0.0/15"}
    assert inner["203.0.113.0/24"]["AS_Path"] == "65001 65009 {64512,64513}"


@pytest.mark.frr
def test_the_speaker_is_in_no_answer(state: SnapshotState) -> None:
    asker = StateAsker(state)
    assert {r["Node"]["name"] for r in asker.ask("nodeProperties")} == {"edge", "inner"}
    assert {r["Node"]["name"] for r in asker.ask("routes")} == {"edge", "inner"}
    assert all(e["Interface"]["hostname"] != "outside" for e in asker.ask("layer3Edges"))
    assert state.dataplane is not None and set(state.dataplane.routers) == {"edge", "inner"}
    # the session itself is real and up, to an address outside the snapshot (Batfish: UNKNOWN_REMOTE)
    rows = asker.ask("bgpSessionStatus", nodes="edge")
    outside = next(r for r in rows if r["Remote_IP"]["value"] == "10.0.9.9")
    assert outside["Established_Status"] == "ESTABLISHED" and outside["Remote_Node"] is None


@pytest.mark.frr
def test_parse_status_says_what_was_delivered(tmp_path: Path) -> None:
    bad = [ANNOUNCEMENTS[0], ann("10.9.0.0/16", [[1], [2, 3], [4]], []),
           {**ANNOUNCEMENTS[1], "dstNode": "inner"}, {**ANNOUNCEMENTS[1], "network": "not-a-prefix"},
           {**ANNOUNCEMENTS[1], "srcIp": "10.7.7.7"}, {**ANNOUNCEMENTS[1], "communities": ["1:2:3"]},
           {**ANNOUNCEMENTS[1], "network": "233.252.0.0/24"}]
    conv = convert_snapshot(write_snapshot(tmp_path / "snap", bad))
    st = conv.status_of("batfish/external_bgp_announcements.json")
    assert st is not None
    notes = {n.text: (n.kind, n.message) for n in st.notes}
    assert notes["announcement #0"][0] == "translated"
    assert notes["announcement #1"][0] == "unsupported" and "AS_SET before the end" in notes["announcement #1"][1]
    assert notes["announcement #2"] == ("unsupported", "inner has no BGP neighbor 10.0.9.9 (in the default VRF): "
                                                      "the announcement would not be received")
    assert notes["announcement #3"][0] == "error" and "not an IPv4 prefix" in notes["announcement #3"][1]
    assert "no BGP neighbor 10.7.7.7" in notes["announcement #4"][1]
    assert notes["announcement #5"][0] == "error" and "not a standard community" in notes["announcement #5"][1]
    assert notes["announcement #6"][0] == "unsupported" and "multicast" in notes["announcement #6"][1]
    hidden = [r for r in conv.network.routers.values() if r.kind == speakers.SPEAKER]
    assert len(hidden) == 1 and conv.network.inside() == ["edge", "inner"]  # 10.0.9.9's, for #0
    assert "attribute-unchanged as-path" in hidden[0].config and "as-set summary-only" in hidden[0].config


def test_malformed_file_fails_with_its_line() -> None:
    st = FileStatus("external_bgp_announcements.json", "JSON")
    assert read_announcements('{"Announcements": [\n  {"network": }\n]}', {}, st) == []
    assert st.status == "FAILED" and st.notes[0].line == 2
    st2 = FileStatus("external_bgp_announcements.json", "JSON")
    read_announcements('{"announcements": []}', {}, st2)
    assert st2.status == "FAILED" and "Announcements" in st2.notes[0].message


@pytest.mark.frr
def test_withdrawn_in_a_fork_and_asserted_from_pybatfish(tmp_path: Path) -> None:
    """A fork whose announcements file no longer has 203.0.113.0/24: the route is gone everywhere, and the
    assertions work on a pybatfish Session as they do in `realfish check`."""
    snap = write_snapshot(tmp_path / "snap", ANNOUNCEMENTS)
    extra = tmp_path / "extra" / "batfish"
    extra.mkdir(parents=True)
    (extra / "external_bgp_announcements.json").write_text(json.dumps({"Announcements": ANNOUNCEMENTS[1:]}))
    bf: Any = Session.get("realfish")
    try:
        bf.set_network("ann")
        bf.init_snapshot(str(snap), name="base")
        bf.fork_snapshot("base", name="withdrawn", add_files=str(tmp_path / "extra"))
        seen = assert_route_present(bf, snapshot="base", nodes="edge,inner", prefix="203.0.113.0/24",
                                    origin_as=64513)
        assert "inner: 203.0.113.0/24 bgp via ip 10.0.12.1 as-path [65001 65009 {64512,64513}]" in seen.seen
        assert_route_absent(bf, snapshot="withdrawn", nodes="edge,inner", prefix="203.0.113.0/24")
        assert_route_present(bf, snapshot="withdrawn", nodes="inner", prefix="192.0.2.0/24", as_path="65001 65009 3356")
        with pytest.raises(AssertionFailed, match="203.0.113.0/24 present on edge, inner"):
            assert_route_absent(bf, snapshot="base", nodes="edge,inner", prefix="203.0.113.0/24")
        # traffic follows: out of the network towards the speaker, then nowhere once the route is withdrawn
        out = assert_flows_succeed(bf, snapshot="base", startLocation="inner", headers={"dstIps": "203.0.113.1"})
        assert any("EXITS_NETWORK: inner -> edge" in s for s in out.seen), out.seen
        gone = assert_flows_fail(bf, snapshot="withdrawn", startLocation="inner", headers={"dstIps": "203.0.113.1"})
        assert any("NO_ROUTE: inner" in s for s in gone.seen), gone.seen
    finally:
        bf.close()


def test_speaker_config_ibgp_and_third_party_next_hop() -> None:
    a = Announcement(ipaddress.IPv4Network("192.0.2.0/24"), ipaddress.IPv4Address("10.0.9.9"), "edge",
                     ipaddress.IPv4Address("10.0.9.1"), "eth0", 24, True, 65001, 65001,
                     next_hop=ipaddress.IPv4Address("10.0.9.50"), as_path=[[65010]], local_pref=300)
    sps, left = speakers.from_announcements([a], {("edge", "eth0"): "eth0"}, {"edge"})
    assert not left and len(sps) == 1
    config = sps[0].config()
    assert "router bgp 65001" in config and "neighbor 10.0.9.1 remote-as 65001" in config
    assert "attribute-unchanged" not in config  # iBGP adds no AS of its own
    assert " set local-preference 300" in config and " set ip next-hop 10.0.9.50" in config
    assert " set as-path prepend 65010" in config and " set community none" in config
