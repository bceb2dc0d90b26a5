"""The diff document: each question's rows on both sides matched, every difference with its explanation.

{"snapshot", "against", "questions": [{"question", "parameters", "batfish_rows", "realfish_rows", "matched",
"differences": [{"kind", "key", "batfish", "realfish", "explanation": {"cause", "evidence"} | null}]}],
"differences": N, "unexplained": M}; realfish adds "keys" and "values" per question (the columns rows are matched
and compared on), "columns" per changed difference (the values that differ) and "topology" (the nodes, layer-3
links, BGP sessions and OSPF adjacencies as the routers hold them, for the HTML picture). Under several orders of
events (`--explore N`): "seeds" per difference (the orders that had it), "varying" per question (realfish's rows
that differ between the orders, with their outcomes) and "explore": {"orders", "seeds", "varying": rows,
"in_some_orders": differences} (diff/orders.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from realfish.answers import answer
from realfish.answers.routes import ipv4_rows
from realfish.answers.state import SnapshotState
from realfish.diff import orders, questions
from realfish.diff.explain import Explainer
from realfish.diff.sources import Asked
from realfish.progress import Progress


def build_report(snapshot: str, against: str, state: SnapshotState, asked: list[Asked],
                 progress: Progress | None = None) -> dict[str, Any]:
    """The diff document of realfish's answers on one converged snapshot."""
    return report_orders(snapshot, against, [(0, state)], asked, progress)


def report_orders(snapshot: str, against: str, states: Iterable[tuple[int, SnapshotState]], asked: list[Asked],
                  progress: Progress | None = None, explored: bool = False) -> dict[str, Any]:
    """The diff document of realfish's answers under each (seed, converged snapshot): `explored` (or more than one
    order), every difference has `seeds` (the orders that had it), each question `varying` (its rows that differ
    between the orders, diff/orders.py) and the document `explore`. Each state is let go once answered."""
    qs = [orders.Question(a.name, a.parameters, *questions.columns(a.name, a.batfish["metadata"]),
                          a.batfish["rows"]) for a in asked]
    b_routes = next((a.batfish["rows"] for a in asked if a.name == "routes"), None)
    topo: dict[str, Any] = {}
    seeds: list[int] = []

    def answered() -> Iterator[orders.Order]:
        for seed, state in states:
            seeds.append(seed)
            order = f" (seed {seed})" if seed else ""
            mine = []
            for a in asked:
                if progress:
                    progress.step(f"answering {a.name}{order}")
                rows = answer(questions.question(a.name, a.parameters), state)["answerElements"][0]["rows"]
                # Batfish models no IPv6 routes: realfish's IPv6 rows would only be differences by construction
                mine.append(ipv4_rows(rows) if a.name == "routes" else rows)
            if progress:
                progress.step(f"explaining the differences{order}")
            r_routes = ipv4_rows(answer(questions.question("routes"), state)["answerElements"][0]["rows"])
            if not topo:
                topo.update(topology(state))
            yield orders.Order(seed, mine, Explainer(state, b_routes, r_routes).explain)

    out = orders.across(qs, answered(), explored)
    return document(snapshot, against, out, seeds if explored or len(seeds) > 1 else None, topo)


def document(snapshot: str, against: str, out: list[dict[str, Any]], seeds: list[int] | None,
             topo: dict[str, Any]) -> dict[str, Any]:
    """The diff document from the questions' entries (`orders.across`); `seeds`: the orders explored, if any."""
    doc = {"snapshot": snapshot, "against": against, "questions": out,
           "differences": sum(len(q["differences"]) for q in out),
           "unexplained": sum(1 for q in out for d in q["differences"] if d["explanation"] is None),
           "topology": topo}
    if seeds is not None:
        doc["explore"] = {"orders": len(seeds), "seeds": seeds,
                          "varying": sum(len(q["varying"]) for q in out),
                          "in_some_orders": sum(1 for q in out for d in q["differences"]
                                                if orders.in_some_orders(d, len(seeds)))}
    return doc


def causes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The differences grouped by cause, most rows first: [{"cause", "evidence", "rows": [(question, diff)]}];
    unexplained ones last under cause None."""
    groups: dict[str | None, dict[str, Any]] = {}
    for q in doc["questions"]:
        for d in q["differences"]:
            e = d["explanation"] or {}
            g = groups.setdefault(e.get("cause"), {"cause": e.get("cause"), "evidence": e.get("evidence", ""),
                                                    "rows": []})
            g["rows"].append((q["question"], d))
    return sorted(groups.values(), key=lambda g: (g["cause"] is None, -len(g["rows"]), g["cause"] or ""))


def topology(state: SnapshotState) -> dict[str, Any]:
    """Nodes, layer-3 links, and the BGP sessions and OSPF adjacencies with their state as bgpd/ospfd hold them."""
    dp = state.tables()
    owner = {str(a.ip): n for n, d in state.devices.items() for i in d.interfaces.values() for a in i.addresses}
    links = sorted({(min(a, b), max(a, b)) for a, _, b, _ in state.conv.edges if a != b})
    sessions: dict[tuple[str, str], dict[str, Any]] = {}
    adjacencies: dict[tuple[str, str], dict[str, Any]] = {}
    for node, t in dp.routers.items():
        for addr, nb in ((t.show.get("bgp_neighbors") or {}).get("default") or {}).items():
            if not isinstance(nb, dict):
                continue
            peer = owner.get(addr, addr)
            key = (node, peer) if node < peer else (peer, node)
            s = sessions.setdefault(key, {"a": key[0], "b": key[1], "state": "Established", "detail": []})
            s["detail"].append(f"{node} -> {addr}: {nb.get('bgpState')}")
            if nb.get("bgpState") != "Established":
                s["state"] = str(nb.get("bgpState"))
        for rid, entries in ((t.show.get("ospf_neighbors") or {}).get("neighbors") or {}).items():
            for n in entries if isinstance(entries, list) else [entries]:
                peer = owner.get(str(n.get("ifaceAddress")), rid)
                key = (node, peer) if node < peer else (peer, node)
                st = str(n.get("nbrState", "?")).split("/")[0]
                a = adjacencies.setdefault(key, {"a": key[0], "b": key[1], "state": "Full", "detail": []})
                a["detail"].append(f"{node} {t.user_ifname(str(n.get('ifaceName', '')).split(':')[0])}: {st}")
                if st != "Full":
                    a["state"] = st
    return {"nodes": sorted(state.devices), "links": [list(x) for x in links],
            "bgp": sorted(sessions.values(), key=lambda s: (s["a"], s["b"])),
            "ospf": sorted(adjacencies.values(), key=lambda s: (s["a"], s["b"]))}


DEFAULT_QUESTIONS = ["routes", "bgpSessionStatus"]


def diff(snapshot: str, batfish: str | None = None, answers_dir: str | None = None,
         wanted: list[str] | None = None, timeout: float = 600.0, quiet: float | None = None,
         progress: Progress | None = None, explore: int = 0) -> dict[str, Any]:
    """Ask Batfish (a live service at `batfish`, or the answers stored in `answers_dir`) and realfish the same
    questions on `snapshot`; the diff document. `explore` N: realfish's side converged under N orders of events
    (seeds 0..N-1). Raises ValueError/RuntimeError/FileNotFoundError on bad input or a run that did not converge."""
    from realfish.answers.state import build
    from realfish.diff import sources

    if (batfish is None) == (answers_dir is None):
        raise ValueError("give exactly one of --batfish HOST[:PORT] and --batfish-answers DIR")
    if explore < 0:
        raise ValueError("--explore N needs N >= 1 orders")
    if answers_dir is not None:
        asked, against = sources.stored(answers_dir, wanted), f"stored answers in {answers_dir}"
    else:
        names = [questions.canonical_name(n) for n in (wanted or DEFAULT_QUESTIONS)]
        if progress:
            progress.step(f"asking Batfish at {batfish}: {', '.join(names)}")
        asked, against = sources.live(str(batfish), snapshot, [(n, {}) for n in names]), f"Batfish at {batfish}"

    def states() -> Iterator[tuple[int, SnapshotState]]:
        for seed in range(max(explore, 1)):
            state = build(snapshot, "snapshot", timeout=timeout, quiet=quiet, progress=progress, seed=seed)
            if state.dataplane is None or not state.dataplane.converged:
                problems = "; ".join(state.dataplane.problems) if state.dataplane else "no routers in the snapshot"
                under = f" under seed {seed}" if explore else ""
                raise RuntimeError(f"{snapshot}: the emulation did not converge{under} ({problems}); a BGP "
                                   "session that keeps failing reconnects every connect-retry interval (120 s) "
                                   "from each end, and --quiet 50 lets the run end")
            yield seed, state

    try:
        return report_orders(str(snapshot), against, states(), asked, progress, explored=explore > 0)
    finally:
        if progress:
            progress.done()
