"""Row-by-row comparison of a table answer with a Batfish .ref answer, against a checked-in list of expected
differences (compat_tests/expectations/*.yaml): every difference must be listed with its reason, and every
listed difference must still occur."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from realfish.diff.rows import cell_text

EXPECTATIONS = Path(__file__).parent / "expectations"


def index(rows: list[dict[str, Any]], keys: list[str], values: list[str]) -> dict[str, str]:
    """key text -> value text; a key that occurs twice is suffixed (#2) so nothing is lost."""
    out: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for r in rows:
        k = " | ".join(cell_text(r.get(c)) for c in keys)
        seen[k] += 1
        if seen[k] > 1:
            k = f"{k} #{seen[k]}"
        out[k] = " ".join(cell_text(r.get(c)) for c in values)
    return out


def differences(ours: list[dict[str, Any]], ref: list[dict[str, Any]], keys: list[str],
                values: list[str]) -> list[dict[str, str | None]]:
    """Rows that differ: {"row": key text, "ours": values or None, "batfish": values or None}."""
    a, b = index(ours, keys, values), index(ref, keys, values)
    return [{"row": k, "ours": a.get(k), "batfish": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((EXPECTATIONS / name).read_text())
    return doc if isinstance(doc, dict) else {}


def check(found: list[dict[str, str | None]], expectations: dict[str, Any], case: str) -> tuple[int, list[str]]:
    """Compare the differences found with those listed for `case`; returns (explained count, problems).

    Nothing is excused for timing: runs are ordered, so a snapshot converges to the same tables every time
    (docs/explore.md; Batfish's example has a second outcome, FRR 8.4.4's aggregate race, that the default order
    does not reach)."""
    reasons = expectations.get("reasons") or {}
    listed = expectations.get(case) or []
    problems = []
    want = {}
    for e in listed:
        why = e.get("why") or []
        for w in why:
            if w not in reasons:
                problems.append(f"{case}: {e['row']}: unknown reason {w!r}")
        if not why:
            problems.append(f"{case}: {e['row']}: no reason given")
        want[(e["row"], e.get("ours"), e.get("batfish"))] = e
    got = {(d["row"], d["ours"], d["batfish"]) for d in found}
    for k in sorted(got - set(want), key=str):
        problems.append(f"{case}: unexplained difference: {k[0]}: ours {k[1]}, Batfish {k[2]}")
    for k in sorted(set(want) - got, key=str):
        problems.append(f"{case}: listed difference no longer occurs (update the expectations): {k[0]}: "
                        f"ours {k[1]}, Batfish {k[2]}")
    return len(got & set(want)), problems
