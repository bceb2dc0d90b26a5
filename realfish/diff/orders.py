"""realfish's side of a diff under several orders of events (`realfish diff --explore N`, docs/explore.md).

Each order gives its own answers. Two things are taken from them, with no router or network named: which of
realfish's rows differ between the orders (`varying`: per row its distinct outcomes, how often each came, a seed
for each), and in which orders each difference against Batfish exists (`across`), so that a difference found in
some orders only says so instead of being taken from the first order or lost."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from realfish import explore
from realfish.diff.rows import Difference, cell_text, compare, index

Row = dict[str, Any]
Explain = Callable[[str, Difference], "dict[str, str] | None"]


@dataclass
class Order:
    seed: int
    answers: list[list[Row]]  # realfish's rows, one list per asked question
    explain: Explain  # (question, difference) -> its explanation in this order's run


@dataclass
class Question:
    name: str
    parameters: dict[str, Any]
    keys: list[str]
    values: list[str]
    batfish: list[Row]  # Batfish's rows


def outcomes(rows: list[Row], keys: list[str], values: list[str]) -> dict[str, dict[str, str]]:
    """A question's rows by key text (a key that occurs twice suffixed, as the diff matches them), each as its
    value cells as pybatfish prints them: what has to be the same in every order."""
    return {k: {c: cell_text(r.get(c)) for c in values} for k, r in index(rows, keys).items()}


def varying(runs: Iterable[tuple[int, list[Row]]], keys: list[str], values: list[str]) -> list[dict[str, Any]]:
    """The rows of one question that are not the same in every order: {"key": key text, "outcomes": [{"values":
    the value cells, or None: no such row, "count", "seeds", "seed"}]}, the most frequent outcome first."""
    return [{"key": key, "outcomes": [{"values": o["value"], "count": o["count"], "seeds": o["seeds"],
                                       "seed": o["seed"]} for o in found]}
            for key, found in explore.differing((seed, outcomes(rows, keys, values)) for seed, rows in runs)]


def identity(d: Difference, values: list[str]) -> str:
    """What makes two orders' differences the same one: the kind, the key, and both sides' value cells."""
    def cells(row: Row | None) -> list[str] | None:
        return None if row is None else [cell_text(row.get(c)) for c in values]

    return json.dumps([d.kind, d.key, cells(d.batfish), cells(d.realfish)], sort_keys=True)


def across(questions: list[Question], orders: Iterable[Order], explored: bool = False) -> list[dict[str, Any]]:
    """Each question's entry of the diff document over the orders: every difference found in any order, once,
    explained in the first order that had it; `matched` and `realfish_rows` are the first order's. When
    `explored` (or more than one order): each difference's `seeds` (the orders that had it) and the question's
    `varying` (realfish's rows that differ between the orders)."""
    seeds: list[int] = []
    found: list[dict[str, tuple[Difference, list[int]]]] = [{} for _ in questions]
    runs: list[list[tuple[int, list[Row]]]] = [[] for _ in questions]
    first: list[tuple[int, int]] = []
    for order in orders:
        seeds.append(order.seed)
        for i, (q, mine) in enumerate(zip(questions, order.answers, strict=True)):
            runs[i].append((order.seed, mine))
            matched, diffs = compare(q.batfish, mine, q.keys, q.values)
            if len(seeds) == 1:
                first.append((matched, len(mine)))
            for d in diffs:
                d_id = identity(d, q.values)
                if d_id not in found[i]:
                    d.explanation = order.explain(q.name, d)
                    found[i][d_id] = (d, [])
                if order.seed not in found[i][d_id][1]:  # a key twice in one answer: one order still
                    found[i][d_id][1].append(order.seed)
    explored = explored or len(seeds) > 1
    out = []
    for i, q in enumerate(questions):
        listed = list(found[i].values())
        if explored:  # later orders' differences among the first's, in key order (stable: kinds stay)
            listed.sort(key=lambda f: " | ".join(f[0].key.values()))
        entry: dict[str, Any] = {
            "question": q.name, "parameters": q.parameters, "keys": q.keys, "values": q.values,
            "batfish_rows": len(q.batfish), "realfish_rows": first[i][1], "matched": first[i][0],
            "differences": [{"kind": d.kind, "key": d.key, "batfish": d.batfish, "realfish": d.realfish,
                             "columns": d.columns, "explanation": d.explanation}
                            | ({"seeds": s} if explored else {}) for d, s in listed]}
        if explored:
            entry["varying"] = varying(runs[i], q.keys, q.values)
        out.append(entry)
    return out


def in_some_orders(d: dict[str, Any], orders: int) -> str | None:
    """`in 1 of 3 orders (seeds 2)` for a difference that not every order had; None for one they all had."""
    seeds = d.get("seeds")
    if seeds is None or len(seeds) == orders:
        return None
    return f"in {len(seeds)} of {orders} orders (seeds {explore.seeds_text(seeds)})"


def outcome_text(o: dict[str, Any]) -> str:
    """One outcome of a varying row for a person: its value cells (or `absent`), how often, and a seed."""
    cells = "absent" if o["values"] is None else (", ".join(f"{c} {v}" for c, v in o["values"].items()) or
                                                    "present")
    return f"{cells} ({o['count']}x, seed {o['seed']})"
