"""Configs as the vendors write them (tests/data/vendor-lab), converged by real FRR, answered as Batfish answers.

    r2 (EOS, 65002) --10.0.12.0/24-- r1 (IOS, 65001, `show running-config` output) --10.0.13.0/24-- leaf1 (Cumulus FRR)

- r1 accepts r2 through `bgp listen range 10.0.12.0/24 peer-group SPOKES` only (dynamic neighbors); leaf1 is
  a plain neighbor, sent r1's routes with community 65001:1. r1's file starts with IOS's `Building
  configuration...` / `Current configuration : N bytes` header. OSPF area 0 with r2, area 1 on loopbacks
  summarised by `area 1 range 10.1.0.0/16` (a discard route on r1).
- r2 (EOS) originates `aggregate-address 10.20.0.0/16`, whose only contributor is `ip route 10.20.5.0/24 Null0`:
  EOS advertises the aggregate, FRR alone would not.
- leaf1 writes its community list in the older syntax (`ip community-list 11 permit 65001:1`, rejected by FRR
  8.4.4 as written), matches it to set local-preference 200, and has two lines FRR rejects: one vtysh's grammar
  rejects (line 17), one only bgpd does (line 16: an undefined peer-group).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pybatfish.datamodel.answer import TableAnswer

from realfish.answers import answer
from realfish.answers.state import SnapshotState, build

pytestmark = pytest.mark.frr

LAB = Path(__file__).parent / "data" / "vendor-lab"


@pytest.fixture(scope="module")
def lab() -> SnapshotState:
    return build(LAB, "lab", timeout=300)


def ask(snapshot: SnapshotState, cls: str, **params: Any) -> list[dict[str, Any]]:
    """Rows as pybatfish's frame() gives them (which also checks that pybatfish can read every row)."""
    q = {"class": f"org.batfish.question.{cls}", "differential": False,
         "instance": {"instanceName": "q", "variables": {k: {"value": v} for k, v in params.items()}}}
    ans = TableAnswer({"answerElements": answer(q, snapshot, None)["answerElements"]})
    return [dict(r) for r in ans.frame().to_dict("records")]


def test_parse_status_follows_batfish_and_the_daemons(lab: SnapshotState) -> None:
    status = {r["File_Name"]: r["Status"] for r in ask(lab, "initialization.FileParseStatusQuestion")}
    # the show-run header is not configuration (Batfish skips it); EOS's file has nothing FRR rejects
    assert status == {"configs/r1.cfg": "PASSED", "configs/r2.cfg": "PASSED",
                      "configs/leaf1": "PARTIALLY_UNRECOGNIZED"}
    issues = [r for r in ask(lab, "initialization.InitIssuesQuestion") if r["Nodes"] == ["leaf1"]]
    rejected = sorted((r["Source_Lines"][0].lines[0], r["Line_Text"], r["Details"]) for r in issues
                      if r["Type"] == "Parse warning")
    assert rejected == [
        (16, "neighbor 10.0.13.9 peer-group NOPE", "FRR rejects this line: % Configure the peer-group first (bgpd)"),
        (17, "neighbor 10.0.13.1 frobnicate", "FRR rejects this line: % Unknown command[25]"),
    ]
    st = lab.conv.status_of("configs/leaf1")
    assert st is not None
    old = next(n for n in st.notes if n.line == 10)
    assert old.kind == "translated" and "bgp community-list 11 permit 65001:1" in old.message


def test_dynamic_neighbors_are_sessions_as_in_batfish(lab: SnapshotState) -> None:
    compat = {(r["Node"], r["Remote_Node"]): r
              for r in ask(lab, "bgpsessionstatus.BgpSessionCompatibilityQuestion")}
    dyn = compat[("r1", "r2")]
    assert (dyn["Configured_Status"], dyn["Local_IP"], str(dyn["Remote_IP"]), dyn["Remote_AS"],
            dyn["Session_Type"]) == ("DYNAMIC_MATCH", "10.0.12.1", "10.0.12.2", "65002", "EBGP_SINGLEHOP")
    assert compat[("r2", "r1")]["Configured_Status"] == "UNIQUE_MATCH"
    status = {(r["Node"], r["Remote_Node"]): r["Established_Status"]
              for r in ask(lab, "bgpsessionstatus.BgpSessionStatusQuestion")}
    assert status[("r1", "r2")] == status[("r2", "r1")] == "ESTABLISHED"
    assert status[("r1", "leaf1")] == status[("leaf1", "r1")] == "ESTABLISHED"


def test_eos_aggregate_is_advertised_from_a_static_contributor(lab: SnapshotState) -> None:
    r1 = {r["Network"]: r for r in ask(lab, "routes.RoutesQuestion", nodes="r1")}
    assert r1["10.20.0.0/16"]["Protocol"] == "bgp" and r1["10.20.0.0/16"]["Next_Hop"].ip == "10.0.12.2"
    assert "10.20.5.0/24" not in r1  # the contributor itself stays on r2, as on EOS
    r2 = [r for r in ask(lab, "routes.RoutesQuestion", nodes="r2") if r["Network"] == "10.20.0.0/16"]
    assert [(r["Protocol"], type(r["Next_Hop"]).__name__) for r in r2] == [("aggregate", "NextHopDiscard")]
    # the renderer's stand-in for the contributor is not one of r2's BGP routes
    assert "10.20.5.0/24" not in {r["Network"] for r in ask(lab, "routes.RoutesQuestion", nodes="r2", rib="bgp")}


def test_ospf_summary_discard_is_batfish_discard(lab: SnapshotState) -> None:
    rows = [r for r in ask(lab, "routes.RoutesQuestion", nodes="r1") if r["Network"] == "10.1.0.0/16"]
    assert [type(r["Next_Hop"]).__name__ for r in rows] == ["NextHopDiscard"]
    r2 = {r["Network"]: r for r in ask(lab, "routes.RoutesQuestion", nodes="r2")}
    assert r2["10.1.0.0/16"]["Protocol"] == "ospfIA"  # the summary, not the two /24s
    assert "10.1.1.0/24" not in r2


def test_older_frr_community_list_still_matches(lab: SnapshotState) -> None:
    rib = {r["Network"]: r for r in ask(lab, "routes.RoutesQuestion", nodes="leaf1", rib="bgp")}
    assert rib["1.1.1.1/32"]["Local_Pref"] == 200 and rib["10.20.0.0/16"]["Local_Pref"] == 200
    assert rib["1.1.1.1/32"]["Communities"] == ["65001:1"]
