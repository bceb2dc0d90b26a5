"""The answer table builder: declared columns only, so a misspelt cell name fails instead of becoming null."""

from __future__ import annotations

import dataclasses

import pytest

from realfish.answers import table as tbl

COLUMNS = [tbl.Column("Node", "Node", "Node", key=True, value=False), tbl.Column("Metric", "Long", "Metric")]


def test_a_cell_left_out_is_null() -> None:
    rows = tbl.table(COLUMNS, [{"Node": tbl.node("r1")}])["rows"]
    assert rows == [{"Node": {"id": "node-r1", "name": "r1"}, "Metric": None}]


def test_a_misspelt_cell_raises() -> None:
    with pytest.raises(tbl.UnknownColumn, match="Metrc"):
        tbl.table(COLUMNS, [{"Node": tbl.node("r1"), "Metrc": 3}])


def test_flags_are_named_and_become_batfish_metadata() -> None:
    with pytest.raises(TypeError):
        tbl.Column("Node", "Node", "Node", True, False)  # type: ignore[misc]
    meta = tbl.table(COLUMNS, [])["metadata"]["columnMetadata"]
    assert [(c["name"], c["isKey"], c["isValue"]) for c in meta] == [("Node", True, False), ("Metric", False, True)]
    assert [tbl.Column.from_json(c) for c in meta] == COLUMNS
    assert {f.name for f in dataclasses.fields(tbl.Column) if f.kw_only} == {"key", "value"}
