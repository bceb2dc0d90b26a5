"""Answers that depend on timing: the same network converged under several orders of events (seeds), and
every FIB entry that is not the same in all of them.

A seed fixes what realfish's runtime decides in virtual time (the routers' boot order and the gaps between boot
batches, `runtime.emulation.boot_gaps`); seed 0 is the default order. What happens inside one virtual instant
still follows the host's scheduling (docs/explore.md says how far a seed reproduces its outcome)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

Fib = dict[str, list[dict[str, Any]]]  # router -> its FIB entries, as in the report


def _by_prefix(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        out.setdefault(str(e["prefix"]), []).append(e)
    return out


def varying(runs: Iterable[tuple[int, Fib]]) -> list[dict[str, Any]]:
    """Every (router, prefix) whose FIB entries differ between runs: its distinct outcomes (the entries, or
    None where the router had no route), how many runs gave each, and the seeds that did (`seed`: the first)."""
    runs = list(runs)
    tables = [(seed, {r: _by_prefix(entries) for r, entries in fib.items()}) for seed, fib in runs]
    keys = sorted({(r, p) for _, t in tables for r, by in t.items() for p in by})
    out = []
    for router, prefix in keys:
        outcomes: dict[str, dict[str, Any]] = {}
        for seed, t in tables:
            entry = t.get(router, {}).get(prefix)
            key = json.dumps(entry, sort_keys=True)
            o = outcomes.setdefault(key, {"fib": entry, "count": 0, "seeds": []})
            o["count"] += 1
            o["seeds"].append(seed)
        if len(outcomes) > 1:
            ranked = sorted(outcomes.values(), key=lambda o: (-o["count"], o["seeds"][0]))
            out.append({"router": router, "prefix": prefix,
                        "outcomes": [{**o, "seed": o["seeds"][0]} for o in ranked]})
    return out


def summary(explore: dict[str, Any]) -> list[str]:
    """Lines for a person: one per varying route, its outcomes with counts and a seed for each."""
    lines = [f"explored {explore['orders']} orders (seeds {', '.join(map(str, explore['seeds']))}): "
             f"{len(explore['varying'])} FIB entries differ between them"]
    for v in explore["varying"]:
        parts = []
        for o in v["outcomes"]:
            what = "no route" if o["fib"] is None else "; ".join(
                f"{e['protocol']} via " + ", ".join(str(h.get("ip") or h.get("interface")) for h in e["nexthops"])
                for e in o["fib"])
            parts.append(f"{what} ({o['count']}x, --seed {o['seed']})")
        lines.append(f"  {v['router']} {v['prefix']}: " + " | ".join(parts))
    return lines
