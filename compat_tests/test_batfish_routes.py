"""routes answers against Batfish's own reference answers (refs/*.ref), row by row.

Key: Node, VRF, Network, Protocol, Next_Hop; values: Metric, Admin_Distance, Tag. Every difference must be listed
with its reason in expectations/routes.yaml, and every listed difference must still occur.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from compat_tests.conftest import DC_AS_REUSE, EXAMPLE, load_ref
from compat_tests.routes_compare import check, differences, load
from realfish.answers import answer
from realfish.answers.routes import ipv4_rows
from realfish.answers.state import SnapshotState

pytestmark = pytest.mark.frr

KEYS = ["Node", "VRF", "Network", "Protocol", "Next_Hop"]
VALUES = ["Metric", "Admin_Distance", "Tag"]
DIFF_KEYS = ["Node", "VRF", "Network", "Entry_Presence", "Snapshot_Protocol", "Snapshot_Next_Hop",
             "Reference_Protocol", "Reference_Next_Hop"]
DIFF_VALUES = ["Snapshot_Metric", "Reference_Metric", "Snapshot_Admin_Distance", "Reference_Admin_Distance",
               "Snapshot_Tag", "Reference_Tag"]


def routes_question(differential: bool = False, **variables: Any) -> dict[str, Any]:
    q: dict[str, Any] = {"class": "org.batfish.question.routes.RoutesQuestion", "differential": differential,
                         "instance": {"instanceName": "routes",
                                      "variables": {k: {"value": v} for k, v in variables.items()}}}
    return q


def compare(case: str, element: dict[str, Any], ref: dict[str, Any], keys: list[str], values: list[str]) -> None:
    assert element["metadata"] == ref["metadata"], "column metadata differs from Batfish's"
    # Batfish models no IPv6 routes: realfish's IPv6 rows are routes it cannot have, not differences
    found = differences(ipv4_rows(element["rows"]), ref["rows"], keys, values)
    explained, problems = check(found, load("routes.yaml"), case)
    agree = len(ref["rows"]) - sum(1 for d in found if d["batfish"] is not None)
    print(f"{case}: {agree}/{len(ref['rows'])} Batfish rows identical, {len(element['rows'])} rows ours, "
          f"{len(found)} differences ({explained} explained)")
    assert not problems, "\n".join(problems)


def test_routes_example_live(example_live: SnapshotState) -> None:
    element = answer(routes_question(), example_live)["answerElements"][0]
    compare("example-live", element, load_ref(EXAMPLE / "refs" / "routes.ref"), KEYS, VALUES)


def test_routes_dc_as_reuse(dc_as_reuse: SnapshotState) -> None:
    element = answer(routes_question(), dc_as_reuse)["answerElements"][0]
    compare("dc-as-reuse", element, load_ref(DC_AS_REUSE / "refs" / "routes-dc-as-reuse.ref"), KEYS, VALUES)


def test_routes_differential(example_live_ba: SnapshotState, example_candidate: SnapshotState) -> None:
    """refs/commands: `set-reference-snapshot basic-example-candidate`, then `get routes differential=true` on
    the current snapshot, live-with-bgp-announcements (example-live's configs and an external announcement of
    4.0.0.0/8 to as1border2, delivered by a hidden outside speaker): Batfish's 3 rows, exactly."""
    element = answer(routes_question(differential=True), example_live_ba, example_candidate)["answerElements"][0]
    compare("routes-diff", element, load_ref(EXAMPLE / "refs" / "routes-diff.ref"), DIFF_KEYS, DIFF_VALUES)


def test_routes_pybatfish_frame(example_live: SnapshotState) -> None:
    """pybatfish decodes our answer into the same columns and cell types as Batfish's."""
    table = pytest.importorskip("pybatfish.datamodel.answer.table")
    ours = table.TableAnswer(json.loads(json.dumps(answer(routes_question(), example_live)))).frame()
    ref = table.TableAnswer({"answerElements": [load_ref(EXAMPLE / "refs" / "routes.ref")]}).frame()
    assert list(ours.columns) == list(ref.columns)
    for col in ref.columns:
        assert {type(v).__name__ for v in ours[col]} == {type(v).__name__ for v in ref[col]}, col
    # rows both answers have come in the same order (Batfish's MAIN_RIB_COMPARATOR)
    cols = ["Node", "VRF", "Network", "Next_Hop", "Protocol"]
    a = [tuple(map(str, r)) for r in ours[cols].values]
    b = [tuple(map(str, r)) for r in ref[cols].values]
    common = set(a) & set(b)
    assert [x for x in a if x in common] == [x for x in b if x in common]
