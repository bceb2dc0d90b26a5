"""Batfish's answer JSON: a TableAnswerElement with column metadata and rows, as pybatfish decodes it.

Cells follow Batfish's schemas exactly (pybatfish asserts on some key sets): a Node is {"id", "name"}, an
Interface {"hostname", "interface"}, lists are JSON arrays, an absent value is null.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from typing import Any

TABLE_CLASS = "org.batfish.datamodel.table.TableAnswerElement"


@dataclass(frozen=True)
class Column:
    """One column of an answer, as Batfish's ColumnMetadata declares it: `key` columns identify a row, `value`
    columns are what a differential answer compares; a column can be either, both or neither."""

    name: str
    schema: str
    description: str
    _: KW_ONLY
    key: bool = False
    value: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "schema": self.schema, "description": self.description,
                "isKey": self.key, "isValue": self.value}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Column:
        return cls(doc["name"], doc["schema"], doc.get("description", ""), key=doc.get("isKey", True),
                   value=doc.get("isValue", True))


def columns_by_name(*columns: Column) -> dict[str, Column]:
    """A question's catalogue of property columns, which its `properties` parameter selects from by name."""
    return {c.name: c for c in columns}


def node(name: str) -> dict[str, str]:
    return {"id": f"node-{name}", "name": name}


def interface(hostname: str, name: str) -> dict[str, str]:
    return {"hostname": hostname, "interface": name}


def summary(n: int) -> dict[str, Any]:
    return {"notes": f"Found {n} results", "numFailed": 0, "numPassed": 0, "numResults": n}


class UnknownColumn(KeyError):
    """A row names a column its table does not declare: a misspelt name would otherwise be a silent null."""


def table(columns: list[Column], rows: list[dict[str, Any]], text_desc: str = "", *,
          unselected: Iterable[str] = ()) -> dict[str, Any]:
    """One TableAnswerElement; a cell a row leaves out is null, a cell for an undeclared column raises.
    `unselected`: the property columns a question's `properties` parameter may leave out, whose cells the rows
    carry anyway and the table drops."""
    names = [c.name for c in columns]
    declared = set(names) | set(unselected)
    for r in rows:
        if unknown := r.keys() - declared:
            raise UnknownColumn(f"row cells {sorted(unknown)} are not among the table's columns {names}")
    metadata: dict[str, Any] = {"columnMetadata": [c.to_json() for c in columns]}
    if text_desc:
        metadata["textDesc"] = text_desc
    return {"class": TABLE_CLASS, "metadata": metadata,
            "rows": [{n: r.get(n) for n in names} for r in rows],
            "summary": summary(len(rows)), "excludedRows": [], "warnings": []}


def answer(question: dict[str, Any], element: dict[str, Any], status: str = "SUCCESS") -> dict[str, Any]:
    """The Answer envelope pybatfish reads from GET .../answer."""
    return {"question": question, "status": status, "summary": element["summary"], "answerElements": [element]}


KEY_PRESENCE = Column("KeyPresence", "String", "In which table(s) is the key present")


def differential(columns: list[Column], snapshot_rows: list[dict[str, Any]], reference_rows: list[dict[str, Any]],
                 include_one_table_keys: bool = True) -> dict[str, Any]:
    """Batfish's generic table diff (TableDiff.diffTables), its answer with a reference snapshot for a question
    that has no diff of its own: the key columns, KeyPresence, then Snapshot_X and Reference_X for every other
    column. A row per snapshot row whose key the reference lacks, per pair of rows with one key whose value
    columns differ, then per reference row whose key the snapshot lacks; in that order, as Batfish emits them.
    `include_one_table_keys` (the question's includeOneTableKeys) false leaves out rows of keys in one table."""
    keys = [c for c in columns if c.key]
    others = [c for c in columns if not c.key]
    values = [c for c in others if c.value]
    out_cols = [Column(c.name, c.schema, c.description, key=True, value=False) for c in keys] + [KEY_PRESENCE]
    for c in others:
        out_cols.append(Column(f"Snapshot_{c.name}", c.schema, c.description, value=False))
        out_cols.append(Column(f"Reference_{c.name}", c.schema, c.description, value=False))

    def key(r: dict[str, Any]) -> str:
        return json.dumps([r.get(k.name) for k in keys], sort_keys=True)

    def diff_row(snap: dict[str, Any] | None, ref: dict[str, Any] | None) -> dict[str, Any]:
        base = snap if snap is not None else ref
        assert base is not None
        row = {k.name: base.get(k.name) for k in keys}
        row[KEY_PRESENCE.name] = "In both" if snap and ref else "Only in Snapshot" if snap else "Only in Reference"
        for c in others:
            row[f"Snapshot_{c.name}"] = snap.get(c.name) if snap else None
            row[f"Reference_{c.name}"] = ref.get(c.name) if ref else None
        return row

    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in reference_rows:
        by_key.setdefault(key(r), []).append(r)
    rows = []
    for a in snapshot_rows:
        matches = by_key.get(key(a))
        if matches is None:
            if include_one_table_keys:
                rows.append(diff_row(a, None))
            continue
        rows += [diff_row(a, b) for b in matches if any(a.get(c.name) != b.get(c.name) for c in values)]
    if include_one_table_keys:
        snapshot_keys = {key(a) for a in snapshot_rows}
        rows += [diff_row(None, b) for b in reference_rows if key(b) not in snapshot_keys]
    return table(out_cols, rows, "[" + ", ".join(k.name for k in keys) + "]")
