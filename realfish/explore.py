"""Answers that depend on timing: the same network converged under several orders of events (seeds), and
every FIB entry that is not the same in all of them.

A seed fixes what realfish's runtime decides in virtual time (the routers' boot order and the gaps between boot
batches, `runtime.emulation.boot_gaps`); seed 0 is the default order. What happens inside one virtual instant
still follows the host's scheduling (docs/explore.md says how far a seed reproduces its outcome)."""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeVar

Fib = dict[str, list[dict[str, Any]]]  # router -> its FIB entries, as in the report
K = TypeVar("K", bound=Hashable)


def _by_prefix(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        out.setdefault(str(e["prefix"]), []).append(e)
    return out


def differing(runs: Iterable[tuple[int, Mapping[K, Any]]]) -> list[tuple[K, list[dict[str, Any]]]]:
    """Every key whose value is not the same in all runs (a run without the key has None): (key, its distinct
    values as {"value", "count", "seeds", "seed"}, the most frequent first, `seed` the first run that gave it)."""
    runs = list(runs)
    keys = sorted({k for _, values in runs for k in values}, key=lambda k: json.dumps(k, default=str))
    out = []
    for key in keys:
        outcomes: dict[str, dict[str, Any]] = {}
        for seed, values in runs:
            value = values.get(key)
            o = outcomes.setdefault(json.dumps(value, sort_keys=True, default=str),
                                    {"value": value, "count": 0, "seeds": []})
            o["count"] += 1
            o["seeds"].append(seed)
        if len(outcomes) > 1:
            ranked = sorted(outcomes.values(), key=lambda o: (-o["count"], o["seeds"][0]))
            out.append((key, [{**o, "seed": o["seeds"][0]} for o in ranked]))
    return out


def varying(runs: Iterable[tuple[int, Fib]]) -> list[dict[str, Any]]:
    """Every (router, prefix) whose FIB entries differ between runs: its distinct outcomes (the entries, or
    None where the router had no route), how many runs gave each, and the seeds that did (`seed`: the first)."""
    tables = [(seed, {(r, p): e for r, entries in fib.items() for p, e in _by_prefix(entries).items()})
              for seed, fib in runs]
    return [{"router": router, "prefix": prefix,
             "outcomes": [{"fib": o["value"], "count": o["count"], "seeds": o["seeds"], "seed": o["seed"]}
                          for o in outcomes]}
            for (router, prefix), outcomes in differing(tables)]


def fib_text(entries: list[dict[str, Any]] | None) -> str:
    """One outcome's FIB entries for a person: `bgp via 10.0.0.1, 10.0.0.5`, `no route`."""
    if entries is None:
        return "no route"
    return "; ".join(f"{e['protocol']} via " + ", ".join(str(h.get("ip") or h.get("interface"))
                                                         for h in e["nexthops"]) for e in entries)


def summary(explore: dict[str, Any]) -> list[str]:
    """Lines for a person: one per varying route, its outcomes with counts and a seed for each."""
    lines = [f"explored {explore['orders']} orders (seeds {seeds_text(explore['seeds'])}): "
             f"{len(explore['varying'])} FIB entries differ between them"]
    for v in explore["varying"]:
        lines.append(f"  {v['router']} {v['prefix']}: {outcomes_text(v, '--seed')}")
    return lines


def outcomes_text(v: dict[str, Any], seed: str = "seed") -> str:
    """A varying route's outcomes: `bgp via blackhole (38x, seed 0) | bgp via 2.12.11.2 (2x, seed 14)`."""
    return " | ".join(f"{fib_text(o['fib'])} ({o['count']}x, {seed} {o['seed']})" for o in v["outcomes"])


TIMING = "Answer depends on timing"  # initIssues' Type for a FIB entry that differs between orders of events


def issue_details(v: dict[str, Any], orders: int) -> str:
    """initIssues' Details for a varying route: what it is in each order, and which order the answers show."""
    return (f"{v['prefix']} in the FIB of {v['router']} differs between {orders} orders of events: "
            f"{outcomes_text(v)}. Answers show seed 0's outcome; `realfish converge SNAPSHOT --seed S` runs "
            "order S (docs/explore.md)")


def seeds_text(seeds: list[int]) -> str:
    """Seeds for a person, runs of three or more as ranges: `0..15`, `1, 2, 5..9`."""
    parts: list[str] = []
    start = 0
    for i in range(1, len(seeds) + 1):
        if i == len(seeds) or seeds[i] != seeds[i - 1] + 1:
            run = seeds[start:i]
            parts += [f"{run[0]}..{run[-1]}"] if len(run) >= 3 else [str(x) for x in run]
            start = i
    return ", ".join(parts)
