"""Row-by-row comparison of a table answer with a Batfish .ref answer, against a checked-in list of expected
differences (compat_tests/expectations/*.yaml): every difference must be listed with its reason, and every
listed difference must still occur."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
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


def raced_aggregates(bgp_rows: list[dict[str, Any]], aggregates: dict[str, set[str]]) -> set[str]:
    """The networks of `aggregates` (node -> configured aggregate-address networks) that a node's bgpd holds only
    as another router's copy (bgpRib rows: no `aggregate` path, an `ibgp` one): FRR 8.4.4's bgp_aggregate_install
    compares its new aggregate with the prefix's *first* path, which is then that iBGP copy with the same origin,
    AS path and communities, finds nothing changed and never adds its own (FRR 9.0 fixed it, PR #13564). Which
    border receives the other's copy before its own contributing routes depends on the order of events (issue
    20)."""
    have: dict[tuple[str, str], set[str]] = {}
    for r in bgp_rows:
        node = r["Node"]["name"] if isinstance(r["Node"], dict) else str(r["Node"])
        have.setdefault((node, str(r["Network"])), set()).add(str(r["Protocol"]))
    return {net for node, nets in aggregates.items() for net in nets
            if "aggregate" not in have.get((node, net), set()) and "ibgp" in have.get((node, net), set())}


def check(found: list[dict[str, str | None]], expectations: dict[str, Any], case: str,
          varying: Collection[str] = ()) -> tuple[int, list[str]]:
    """Compare the differences found with those listed for `case`; returns (explained count, problems).

    `varying` names the networks whose rows FRR makes differ from run to run and which, in this run, reached
    their other outcome (`raced_aggregates`): differences on them are explained by that, listed ones on them
    may be gone. Nothing else is excused."""
    reasons = expectations.get("reasons") or {}
    if varying:
        def network(row: str) -> str:
            return row.split(" | ")[2] if row.count(" | ") >= 2 else ""
        found = [d for d in found if network(str(d["row"])) not in varying]
        expectations = {**expectations, case: [e for e in expectations.get(case) or []
                                               if network(str(e["row"])) not in varying]}
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
