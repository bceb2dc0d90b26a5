"""Batfish's answer JSON: a TableAnswerElement with column metadata and rows, as pybatfish decodes it.

Cells follow Batfish's schemas exactly (pybatfish asserts on some key sets): a Node is {"id", "name"}, an
Interface {"hostname", "interface"}, lists are JSON arrays, an absent value is null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TABLE_CLASS = "org.batfish.datamodel.table.TableAnswerElement"


@dataclass(frozen=True)
class Column:
    name: str
    schema: str
    description: str
    key: bool = False
    value: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "schema": self.schema, "description": self.description,
                "isKey": self.key, "isValue": self.value}


def node(name: str) -> dict[str, str]:
    return {"id": f"node-{name}", "name": name}


def interface(hostname: str, name: str) -> dict[str, str]:
    return {"hostname": hostname, "interface": name}


def summary(n: int) -> dict[str, Any]:
    return {"notes": f"Found {n} results", "numFailed": 0, "numPassed": 0, "numResults": n}


def table(columns: list[Column], rows: list[dict[str, Any]], text_desc: str = "") -> dict[str, Any]:
    """One TableAnswerElement (rows keep only the declared columns, missing cells are null)."""
    names = [c.name for c in columns]
    metadata: dict[str, Any] = {"columnMetadata": [c.to_json() for c in columns]}
    if text_desc:
        metadata["textDesc"] = text_desc
    return {"class": TABLE_CLASS, "metadata": metadata,
            "rows": [{n: r.get(n) for n in names} for r in rows],
            "summary": summary(len(rows)), "excludedRows": [], "warnings": []}


def answer(question: dict[str, Any], element: dict[str, Any], status: str = "SUCCESS") -> dict[str, Any]:
    """The Answer envelope pybatfish reads from GET .../answer."""
    return {"question": question, "status": status, "summary": element["summary"], "answerElements": [element]}


def differential(columns: list[Column], snapshot_rows: list[dict[str, Any]], reference_rows: list[dict[str, Any]],
                 text_desc: str = "") -> dict[str, Any]:
    """Batfish's generic table diff (TableDiff): key columns, then Snapshot_X / Reference_X per value column,
    one row per key present in either side whose values differ (or that is present in one side only)."""
    keys = [c for c in columns if c.key]
    values = [c for c in columns if c.value and not c.key]
    out_cols = list(keys)
    for c in values:
        out_cols.append(Column(f"Snapshot_{c.name}", c.schema, c.description, False, True))
        out_cols.append(Column(f"Reference_{c.name}", c.schema, c.description, False, True))

    def index(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        import json

        return {json.dumps([r.get(k.name) for k in keys], sort_keys=True): r for r in rows}

    snap, ref = index(snapshot_rows), index(reference_rows)
    rows = []
    for k in sorted(set(snap) | set(ref)):
        a, b = snap.get(k), ref.get(k)
        if a is not None and b is not None and all(a.get(c.name) == b.get(c.name) for c in values):
            continue
        base = a if a is not None else b
        assert base is not None
        row = {c.name: base.get(c.name) for c in keys}
        for c in values:
            row[f"Snapshot_{c.name}"] = a.get(c.name) if a else None
            row[f"Reference_{c.name}"] = b.get(c.name) if b else None
        rows.append(row)
    return table(out_cols, rows, text_desc)
