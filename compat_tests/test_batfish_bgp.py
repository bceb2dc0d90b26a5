"""BGP session answers against Batfish's reference answer (refs/bgpSessionStatus.ref), every column compared.

Every difference must be listed with its reason in expectations/bgp.yaml, and every listed difference must
still occur.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from compat_tests.conftest import EXAMPLE, load_ref
from compat_tests.routes_compare import check, differences, load
from realfish.answers import answer
from realfish.answers.state import SnapshotState

pytestmark = pytest.mark.frr

KEYS = ["Node", "VRF", "Remote_IP"]
VALUES = ["Session_VRF", "Local_AS", "Local_Interface", "Local_IP", "Remote_AS", "Remote_Node", "Remote_Interface",
          "Address_Families", "Session_Type", "Established_Status"]


def question(cls: str, **variables: Any) -> dict[str, Any]:
    return {"class": f"org.batfish.question.bgpsessionstatus.{cls}", "differential": False,
            "instance": {"instanceName": cls, "variables": {k: {"value": v} for k, v in variables.items()}}}


def test_bgp_session_status_example_live(example_live: SnapshotState) -> None:
    """refs/commands: `get bgpsessionstatus nodes="as2.*", remoteNodes="as3.*"`."""
    element = answer(question("BgpSessionStatusQuestion", nodes="as2.*", remoteNodes="as3.*"),
                     example_live)["answerElements"][0]
    ref = load_ref(EXAMPLE / "refs" / "bgpSessionStatus.ref")
    assert element["metadata"] == ref["metadata"], "column metadata differs from Batfish's"
    found = differences(element["rows"], ref["rows"], KEYS, VALUES)
    explained, problems = check(found, load("bgp.yaml"), "bgpSessionStatus")
    print(f"bgpSessionStatus: {len(ref['rows']) - sum(1 for d in found if d['batfish'])}/{len(ref['rows'])} "
          f"Batfish rows identical, {len(found)} differences ({explained} explained)")
    assert not problems, "\n".join(problems)
    # the row exactly as Batfish writes it (cell by cell, JSON types included)
    assert json.loads(json.dumps(element["rows"])) == [{c["name"]: r.get(c["name"]) for c in
                                                          ref["metadata"]["columnMetadata"]} for r in ref["rows"]]


def test_bgp_sessions_consistent(example_live: SnapshotState) -> None:
    """Every session bgpd established is UNIQUE_MATCH in the configured view, and bgpEdges lists each
    established session once per direction."""
    status = answer(question("BgpSessionStatusQuestion"), example_live)["answerElements"][0]["rows"]
    compat = answer(question("BgpSessionCompatibilityQuestion"), example_live)["answerElements"][0]["rows"]
    configured = {(r["Node"]["name"], r["Remote_IP"]["value"]): r["Configured_Status"] for r in compat}
    established = [r for r in status if r["Established_Status"] == "ESTABLISHED"]
    assert established and all(configured[(r["Node"]["name"], r["Remote_IP"]["value"])] == "UNIQUE_MATCH"
                               for r in established)
    edges_q = {"class": "org.batfish.question.edges.EdgesQuestion", "edgeType": "bgp",
               "instance": {"instanceName": "bgpEdges", "variables": {}}}
    edges = answer(edges_q, example_live)["answerElements"][0]["rows"]
    pairs = {(e["Node"]["name"], e["IP"], e["Remote_Node"]["name"], e["Remote_IP"]) for e in edges}
    assert len(pairs) == len(edges) == len(established)
    assert all((b, bi, a, ai) in pairs for a, ai, b, bi in pairs)


@pytest.mark.parametrize("cls", ["BgpSessionStatusQuestion", "BgpSessionCompatibilityQuestion"])
def test_bgp_pybatfish_frame(example_live: SnapshotState, cls: str) -> None:
    table = pytest.importorskip("pybatfish.datamodel.answer.table")
    frame = table.TableAnswer(json.loads(json.dumps(answer(question(cls), example_live)))).frame()
    assert len(frame) > 0 and "Remote_IP" in frame.columns
