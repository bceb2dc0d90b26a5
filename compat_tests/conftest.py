"""Fixtures shared by the compat tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compat_tests.topotests import TopotestRuns, shared_dir
from realfish.answers.state import SnapshotState, build

# pybatfish's own tests: run by test_pybatfish_integration.py in their own pytest processes, not collected here
collect_ignore = ["pybatfish_integration"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TopotestRuns]:
    """Converged FRR topotests, one resident at a time, closed when the module's tests are done."""
    r = TopotestRuns(tmp_path_factory.mktemp("topotests"))
    try:
        yield r
    finally:
        r.close()


# -- Batfish's example networks, converged once per test session (the routers are stopped right after) ------

EXAMPLE = shared_dir() / "compat" / "batfish-example"
DC_AS_REUSE = shared_dir() / "compat" / "batfish-dc-as-reuse"


def load_ref(path: Path) -> dict[str, Any]:
    """A Batfish .ref answer file: a list holding one TableAnswerElement."""
    doc = json.loads(path.read_text())
    return doc[0] if isinstance(doc, list) else doc


@pytest.fixture(scope="session")
def example_live() -> SnapshotState:
    return build(EXAMPLE / "snapshots" / "example-live", "example-live")


@pytest.fixture(scope="session")
def example_live_ba() -> SnapshotState:
    """example-live plus external_bgp_announcements.json (4.0.0.0/8 from outside, to as1border2)."""
    return build(EXAMPLE / "snapshots" / "example-live-with-bgp-announcements", "example-with-ba")


@pytest.fixture(scope="session")
def example_candidate() -> SnapshotState:
    return build(EXAMPLE / "snapshots" / "example-candidate", "example-candidate")


@pytest.fixture(scope="session")
def dc_as_reuse() -> SnapshotState:
    return build(DC_AS_REUSE / "snapshot", "dc-as-reuse")
