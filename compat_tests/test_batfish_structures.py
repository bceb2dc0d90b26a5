"""definedStructures, unusedStructures and undefinedReferences on Batfish's example-live against the real
Batfish's init answer (refs/init.ref: its definedStructures, every structure with its definition lines and
number of referrers, and its undefinedReferences), which these questions report from.

Structures need only the parsed configs, so the snapshot is converted, not converged.
"""

from __future__ import annotations

from typing import Any

import pytest

from compat_tests.conftest import EXAMPLE, load_ref
from realfish.answers import answer
from realfish.answers.state import SnapshotState
from realfish.convert import convert_snapshot

INIT = EXAMPLE / "refs" / "init.ref"
pytestmark = [pytest.mark.frr,
              pytest.mark.skipif(not INIT.is_file(), reason=f"Batfish's init answer not found at {INIT}")]


@pytest.fixture(scope="module")
def live() -> SnapshotState:
    return SnapshotState("example-live", convert_snapshot(EXAMPLE / "snapshots" / "example-live"))


@pytest.fixture(scope="module")
def batfish() -> dict[str, Any]:
    doc = load_ref(INIT)
    return next(e for e in doc["answerElements"] if "definedStructures" in e)


def ask(cls: str, state: SnapshotState, **variables: Any) -> list[dict[str, Any]]:
    q = {"class": f"org.batfish.question.{cls}", "differential": False,
         "instance": {"instanceName": "q", "variables": {k: {"value": v} for k, v in variables.items()}}}
    return list(answer(q, state)["answerElements"][0]["rows"])


def ranges(lines: list[int]) -> str:
    """Batfish's IntegerSpace text for a set of lines: `131-132,135`."""
    out: list[list[int]] = []
    for n in sorted(lines):
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in out)


def test_defined_structures_equal_batfish(live: SnapshotState, batfish: dict[str, Any]) -> None:
    ours = {(r["Source_Lines"]["filename"], r["Structure_Type"], r["Structure_Name"]):
            ranges(r["Source_Lines"]["lines"]) for r in ask("definedstructures.DefinedStructuresQuestion", live)}
    theirs = {(f, t, n): info["definitionLines"] for f, by_type in batfish["definedStructures"].items()
              for t, by_name in by_type.items() for n, info in by_name.items()}
    assert len(theirs) == 339
    assert ours == theirs


def test_unused_structures_equal_batfish(live: SnapshotState, batfish: dict[str, Any]) -> None:
    ours = {(r["Source_Lines"]["filename"], r["Structure_Type"], r["Structure_Name"])
            for r in ask("UnusedStructuresQuestionPlugin$UnusedStructuresQuestion", live)}
    theirs = {(f, t, n) for f, by_type in batfish["definedStructures"].items() for t, by_name in by_type.items()
              for n, info in by_name.items() if info["numReferrers"] == 0}
    assert len(theirs) == 23
    assert ours == theirs


def test_undefined_references_equal_batfish(live: SnapshotState, batfish: dict[str, Any]) -> None:
    ours = {(r["File_Name"], r["Struct_Type"], r["Ref_Name"], r["Context"], tuple(r["Lines"]["lines"]))
            for r in ask("UndefinedReferencesQuestionPlugin$UndefinedReferencesQuestion", live)}
    theirs = {(f, t, n, usage, tuple(lines)) for f, by_type in batfish["undefinedReferences"].items()
              for t, by_name in by_type.items() for n, by_usage in by_name.items()
              for usage, lines in by_usage.items()}
    assert theirs == {("configs/as2core2.cfg", "route-map", "filter-bogons", "bgp inbound route-map", (110,))}
    assert ours == theirs


def test_defined_structures_filters(live: SnapshotState) -> None:
    rows = ask("definedstructures.DefinedStructuresQuestion", live, nodes="as2dept1", types="extended.*line",
               names="RESTRICT.*")
    assert {r["Structure_Name"] for r in rows} == {
        "RESTRICT_HOST_TRAFFIC_IN: permit ip 2.128.0.0 0.0.255.255 any",
        "RESTRICT_HOST_TRAFFIC_IN: deny   ip any any", "RESTRICT_HOST_TRAFFIC_IN: permit icmp any any",
        "RESTRICT_HOST_TRAFFIC_OUT: permit ip any 2.128.0.0 0.0.255.255",
        "RESTRICT_HOST_TRAFFIC_OUT: deny   ip 1.128.0.0 0.0.255.255 2.128.0.0 0.0.255.255",
        "RESTRICT_HOST_TRAFFIC_OUT: deny   ip any any"}
    assert {r["Source_Lines"]["filename"] for r in rows} == {"configs/as2dept1.cfg"}
