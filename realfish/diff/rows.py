"""Rows of two table answers matched on key columns: identical, changed (which columns), or only on one side."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any


def next_hop_text(nh: dict[str, Any] | None) -> str:
    """A NextHop as pybatfish prints it (`interface eth0 ip 1.2.3.4`, `ip 1.2.3.4`, `discard`)."""
    if nh is None:
        return "-"
    if nh["type"] == "interface":
        return f"interface {nh['interface']}" + (f" ip {nh['ip']}" if nh.get("ip") else "")
    if nh["type"] == "ip":
        return f"ip {nh['ip']}"
    if nh["type"] == "vrf":
        return f"vrf {nh['vrf']}"
    return str(nh["type"])


def cell_text(v: Any) -> str:
    """A cell as pybatfish prints it; null is `-`. Other objects (a structure's definition) as JSON with sorted
    keys: the two sides' serialisers order keys differently."""
    if v is None:
        return "-"
    if isinstance(v, dict) and "type" in v and set(v) <= {"type", "ip", "interface", "vrf"}:
        return next_hop_text(v)
    if isinstance(v, dict) and "name" in v and set(v) <= {"id", "name"}:  # a Node
        return str(v["name"])
    if isinstance(v, dict) and set(v) == {"hostname", "interface"}:  # an Interface, as pybatfish prints it
        return f"{v['hostname']}[{v['interface']}]"
    if isinstance(v, dict) and set(v) == {"filename", "lines"}:  # FileLines
        return f"{v['filename']}:{cell_text(v.get('lines'))}"
    if isinstance(v, dict) and "value" in v and set(v) <= {"schema", "value"}:
        return cell_text(v["value"]) if isinstance(v["value"], (dict, list)) else str(v["value"])
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True, default=str)
    if isinstance(v, list):
        return "[" + ",".join(cell_text(x) for x in v) + "]"
    return str(v)


def key_text(row: dict[str, Any], keys: list[str]) -> str:
    return " | ".join(cell_text(row.get(c)) for c in keys)


def index(rows: list[dict[str, Any]], keys: list[str]) -> dict[str, dict[str, Any]]:
    """key text -> row; a key that occurs twice is suffixed (#2) so nothing is lost."""
    out: dict[str, dict[str, Any]] = {}
    seen: Counter[str] = Counter()
    for r in rows:
        k = key_text(r, keys)
        seen[k] += 1
        out[k if seen[k] == 1 else f"{k} #{seen[k]}"] = r
    return out


@dataclass
class Difference:
    kind: str  # "only_batfish", "only_realfish", "changed"
    key: dict[str, str]  # key column -> cell text
    batfish: dict[str, Any] | None
    realfish: dict[str, Any] | None
    columns: list[str]  # changed: the value columns that differ
    explanation: dict[str, str] | None = None


def compare(batfish: list[dict[str, Any]], realfish: list[dict[str, Any]], keys: list[str],
            values: list[str]) -> tuple[int, list[Difference]]:
    """(Batfish rows matched by an identical realfish row, the differences in key order)."""
    a, b = index(batfish, keys), index(realfish, keys)
    matched, out = 0, []
    for k in sorted(set(a) | set(b)):
        ra, rb = a.get(k), b.get(k)
        row = ra if ra is not None else rb
        assert row is not None
        key = {c: cell_text(row.get(c)) for c in keys}
        if ra is None:
            out.append(Difference("only_realfish", key, None, rb, []))
        elif rb is None:
            out.append(Difference("only_batfish", key, ra, None, []))
        else:
            changed = [c for c in values if cell_text(ra.get(c)) != cell_text(rb.get(c))]
            if changed:
                out.append(Difference("changed", key, ra, rb, changed))
            else:
                matched += 1
    return matched, out
