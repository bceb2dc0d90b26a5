"""BGP interface peers (BGP unnumbered) in the session and peer answers, as Batfish gives them for
`neighbor IFACE interface ...`: tests/data/unnumbered-fabric, a Cumulus-style fabric where spine1 (AS 65000) peers
over a peer group on every link and the leaves with `neighbor swp1 interface remote-as external`; leaf3 (iBGP
`remote-as internal`, `v6only`) and spine1's swp3 (remote-as 65099) do not accept each other, and spine1's swp4 has
no link. Batfish matches two interface peers when their interfaces are the two ends of one point-to-point link
and each remote-as accepts the other's AS (BgpTopologyUtils.addUnnumberedPeerEdges); such sessions have no IPs,
their interfaces instead, and type EBGP_UNNUMBERED / IBGP_UNNUMBERED.

The configured answers need only the conversion (vtysh's dry run, which the conversion runs to find rejected lines,
is left out but in the one `frr` test); the status answer's bgpd tables are FRR 8.4.4's JSON shapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from realfish import rejected
from realfish.answers import answer
from realfish.answers.state import SnapshotState
from realfish.convert import ConvertedSnapshot, convert_snapshot
from realfish.dataplane import Dataplane, RouterTables

FABRIC = Path(__file__).parent / "data" / "unnumbered-fabric"


def convert(monkeypatch: pytest.MonkeyPatch) -> ConvertedSnapshot:
    monkeypatch.setattr(rejected, "dry_run", lambda configs: {})
    return convert_snapshot(FABRIC)


@pytest.mark.frr
def test_fabric_configs_pass_frrs_own_check() -> None:
    """FRR 8.4.4's vtysh accepts every line (interface peers, `v6only`, peer groups over interfaces)."""
    conv = convert_snapshot(FABRIC)
    assert {s.file: s.status for s in conv.statuses} == {f"configs/{n}.cfg": "PASSED"
                                                        for n in ("leaf1", "leaf2", "leaf3", "spine1")}
    bad = ("unrecognized", "error", "unsupported", "rejected", "warning")
    assert not [n for s in conv.statuses for n in s.notes if n.kind in bad]


def ask(snapshot: SnapshotState, cls: str, **params: Any) -> list[dict[str, Any]]:
    q = {"class": f"org.batfish.question.{cls}", "differential": False,
         "instance": {"instanceName": "q", "variables": {k: {"value": v} for k, v in params.items()}}}
    rows: list[dict[str, Any]] = answer(q, snapshot, None)["answerElements"][0]["rows"]
    return rows


def _iface(r: dict[str, Any], col: str) -> tuple[str, str] | None:
    v = r[col]
    return (v["hostname"], v["interface"]) if v else None


def by_interface(rows: list[dict[str, Any]], status: str) -> dict[tuple[str, str] | None, tuple[Any, ...]]:
    return {_iface(r, "Local_Interface"): (r["Remote_Node"]["name"] if r["Remote_Node"] else None,
                                           _iface(r, "Remote_Interface"), r["Session_Type"], r[status])
            for r in rows}


def test_interface_peers_match_across_their_link(monkeypatch: pytest.MonkeyPatch) -> None:
    conv = convert(monkeypatch)
    rows = ask(SnapshotState("fabric", conv), "bgpsessionstatus.BgpSessionCompatibilityQuestion")
    assert all(r["Local_IP"] is None and r["Remote_IP"] is None for r in rows), rows
    assert by_interface(rows, "Configured_Status") == {
        ("leaf1", "swp1"): ("spine1", ("spine1", "swp1"), "EBGP_UNNUMBERED", "UNIQUE_MATCH"),
        ("leaf2", "swp1"): ("spine1", ("spine1", "swp2"), "EBGP_UNNUMBERED", "UNIQUE_MATCH"),
        ("leaf3", "swp1"): (None, None, "IBGP_UNNUMBERED", "HALF_OPEN"),
        ("spine1", "swp1"): ("leaf1", ("leaf1", "swp1"), "EBGP_UNNUMBERED", "UNIQUE_MATCH"),
        ("spine1", "swp2"): ("leaf2", ("leaf2", "swp1"), "EBGP_UNNUMBERED", "UNIQUE_MATCH"),
        ("spine1", "swp3"): (None, None, "EBGP_UNNUMBERED", "HALF_OPEN"),
        ("spine1", "swp4"): (None, None, "EBGP_UNNUMBERED", "HALF_OPEN"),
    }
    matched = {(r["Node"]["name"], r["Local_Interface"]["interface"]): (r["Local_AS"], r["Remote_AS"],
                                                                       r["Address_Families"])
               for r in rows if r["Configured_Status"] == "UNIQUE_MATCH"}
    assert matched[("spine1", "swp2")] == (65000, "65002", ["IPV4_UNICAST"])
    assert matched[("leaf1", "swp1")] == (65001, "65000", ["IPV4_UNICAST"])
    # the question's filters see them like any session
    assert len(ask(SnapshotState("fabric", conv), "bgpsessionstatus.BgpSessionCompatibilityQuestion",
                   type="EBGP_UNNUMBERED", status="HALF_OPEN")) == 2


def test_peer_configuration_lists_interface_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    conv = convert(monkeypatch)
    rows = ask(SnapshotState("fabric", conv), "bgpproperties.BgpPeerConfigurationQuestion",
               nodes="spine1")
    # Batfish: an unnumbered peer's row has its Local_Interface and neither Local_IP nor Remote_IP
    assert [(r["Local_Interface"], r["Local_IP"], r["Remote_IP"], r["Peer_Group"], r["Remote_AS"])
            for r in rows] == [("swp1", None, None, "fabric", None), ("swp2", None, None, "fabric", None),
                               ("swp3", None, None, None, "65099"), ("swp4", None, None, "fabric", None)]
    [leaf1] = ask(SnapshotState("fabric", conv), "bgpproperties.BgpPeerConfigurationQuestion",
                  nodes="leaf1")
    assert (leaf1["Local_Interface"], leaf1["Description"], leaf1["Local_AS"]) == ("swp1", "spine1", 65001)


def _neighbor(state: str, local: str, foreign: str, las: int, ras: int) -> dict[str, Any]:
    """`show bgp vrf all neighbors json` for an interface peer (FRR 8.4.4 keys it by the interface)."""
    up = state == "Established"
    return {"bgpNeighborAddr": foreign, "bgpState": state, "localAs": las, "remoteAs": ras,
            "hostLocal": local if up else None, "hostForeign": foreign if up else None,
            "addressFamilyInfo": {"ipv4Unicast": {}} if up else {}}


def test_session_status_of_interface_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    """spine1-leaf1 came up, spine1-leaf2 did not (configured to, so NOT_ESTABLISHED with its remote)."""
    conv = convert(monkeypatch)
    s1, l1 = "fe80::ff:fe03:2", "fe80::ff:fe00:2"
    shows = {"spine1": {"default": {"vrfName": "default",
                                    "swp1": _neighbor("Established", s1, l1, 65000, 65001),
                                    "swp2": _neighbor("Active", "", "", 65000, 65002),
                                    "swp3": _neighbor("Active", "", "", 65000, 65099),
                                    "swp4": _neighbor("Idle", "", "", 65000, 0)}},
             "leaf1": {"default": {"swp1": _neighbor("Established", l1, s1, 65001, 65000)}},
             "leaf2": {"default": {"swp1": _neighbor("Active", "", "", 65002, 0)}},
             "leaf3": {"default": {"swp1": _neighbor("Active", "", "", 65003, 65003)}}}
    tables = {n: RouterTables("router", {}, show={"bgp_neighbors": doc}) for n, doc in shows.items()}
    snapshot = SnapshotState("fabric", conv, Dataplane(True, tables))
    rows = ask(snapshot, "bgpsessionstatus.BgpSessionStatusQuestion")
    assert all(r["Local_IP"] is None and r["Remote_IP"] is None for r in rows), rows
    assert by_interface(rows, "Established_Status") == {
        ("leaf1", "swp1"): ("spine1", ("spine1", "swp1"), "EBGP_UNNUMBERED", "ESTABLISHED"),
        ("leaf2", "swp1"): ("spine1", ("spine1", "swp2"), "EBGP_UNNUMBERED", "NOT_ESTABLISHED"),
        ("leaf3", "swp1"): (None, None, "IBGP_UNNUMBERED", "NOT_COMPATIBLE"),
        ("spine1", "swp1"): ("leaf1", ("leaf1", "swp1"), "EBGP_UNNUMBERED", "ESTABLISHED"),
        ("spine1", "swp2"): ("leaf2", ("leaf2", "swp1"), "EBGP_UNNUMBERED", "NOT_ESTABLISHED"),
        ("spine1", "swp3"): (None, None, "EBGP_UNNUMBERED", "NOT_COMPATIBLE"),
        ("spine1", "swp4"): (None, None, "EBGP_UNNUMBERED", "NOT_COMPATIBLE"),
    }
    # bgpEdges: one row per direction of the session that came up, by interface and without IPs
    edges = ask(snapshot, "edges.EdgesQuestion", edgeType="bgp")
    assert sorted((e["Node"]["name"], e["Interface"], e["Remote_Node"]["name"], e["Remote_Interface"], e["IP"],
                   e["Remote_IP"]) for e in edges) == [("leaf1", "swp1", "spine1", "swp1", None, None),
                                                       ("spine1", "swp1", "leaf1", "swp1", None, None)]
