"""routes answers against Batfish's own reference answers (refs/*.ref), row by row.

Key: Node, VRF, Network, Protocol, Next_Hop; values: Metric, Admin_Distance, Tag. Every difference must be listed
with its reason in expectations/routes.yaml, and every listed difference must still occur.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import pytest

from compat_tests.conftest import DC_AS_REUSE, EXAMPLE, load_ref
from compat_tests.routes_compare import check, differences, load, raced_aggregates
from realfish.answers import answer
from realfish.answers.routes import bgp_rib, ipv4_rows
from realfish.answers.state import SnapshotState
from realfish.model import Device

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


def aggregates(devices: dict[str, Device]) -> dict[str, set[str]]:
    """node -> the networks of its `aggregate-address` lines."""
    return {n: {str(a.prefix) for a in d.bgp.aggregates} for n, d in devices.items() if d.bgp and d.bgp.aggregates}


def varying(*states: SnapshotState) -> set[str]:
    """The aggregates that reached FRR 8.4.4's other outcome in these converged snapshots (raced_aggregates)."""
    out: set[str] = set()
    for st in states:
        aggs = aggregates(st.devices)
        out |= raced_aggregates([r for n in aggs for r in bgp_rib(st, n, {"BEST", "BACKUP"})], aggs)
    return out


def compare(case: str, element: dict[str, Any], ref: dict[str, Any], keys: list[str], values: list[str],
            raced: Collection[str] = ()) -> None:
    assert element["metadata"] == ref["metadata"], "column metadata differs from Batfish's"
    # Batfish models no IPv6 routes: realfish's IPv6 rows are routes it cannot have, not differences
    found = differences(ipv4_rows(element["rows"]), ref["rows"], keys, values)
    if raced:
        print(f"{case}: FRR 8.4.4 did not originate aggregate(s) {', '.join(sorted(raced))} on one border router "
              "in this run (raced_aggregates); their rows are not compared")
    explained, problems = check(found, load("routes.yaml"), case, raced)
    agree = len(ref["rows"]) - sum(1 for d in found if d["batfish"] is not None)
    print(f"{case}: {agree}/{len(ref['rows'])} Batfish rows identical, {len(element['rows'])} rows ours, "
          f"{len(found)} differences ({explained} explained)")
    assert not problems, "\n".join(problems)


def test_routes_example_live(example_live: SnapshotState) -> None:
    element = answer(routes_question(), example_live)["answerElements"][0]
    compare("example-live", element, load_ref(EXAMPLE / "refs" / "routes.ref"), KEYS, VALUES, varying(example_live))


def test_routes_dc_as_reuse(dc_as_reuse: SnapshotState) -> None:
    element = answer(routes_question(), dc_as_reuse)["answerElements"][0]
    compare("dc-as-reuse", element, load_ref(DC_AS_REUSE / "refs" / "routes-dc-as-reuse.ref"), KEYS, VALUES)


def test_routes_differential(example_live_ba: SnapshotState, example_candidate: SnapshotState) -> None:
    """refs/commands: `set-reference-snapshot basic-example-candidate`, then `get routes differential=true` on
    the current snapshot, live-with-bgp-announcements (example-live's configs and an external announcement of
    4.0.0.0/8 to as1border2, delivered by a hidden outside speaker): Batfish's 3 rows, exactly."""
    element = answer(routes_question(differential=True), example_live_ba, example_candidate)["answerElements"][0]
    compare("routes-diff", element, load_ref(EXAMPLE / "refs" / "routes-diff.ref"), DIFF_KEYS, DIFF_VALUES,
            varying(example_live_ba, example_candidate))


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
