"""The diff as text: a summary by cause (rows, evidence), then each question's differing rows."""

from __future__ import annotations

import textwrap
from typing import Any

from realfish.diff.orders import in_some_orders, outcome_text
from realfish.diff.report import causes
from realfish.diff.rows import cell_text
from realfish.explore import seeds_text

KIND = {"only_batfish": "only in Batfish", "only_realfish": "only in realfish", "changed": "changed"}


def render(doc: dict[str, Any]) -> str:
    out = [f"realfish diff: {doc['snapshot']} against {doc['against']}"]
    for q in doc["questions"]:
        out.append(f"  {q['question']}: {q['matched']} of Batfish's {q['batfish_rows']} rows matched "
                   f"(realfish {q['realfish_rows']} rows), {len(q['differences'])} differences")
    out.append(f"{doc['differences']} differences, {doc['unexplained']} unexplained")
    out += explored(doc)
    orders = (doc.get("explore") or {}).get("orders", 1)
    groups = causes(doc)
    if groups:
        out += ["", "By cause:"]
    for g in groups:
        n = len(g["rows"])
        some = sum(1 for _, d in g["rows"] if in_some_orders(d, orders))
        out.append(f"  {n} row{'' if n == 1 else 's'}{f' ({some} in some orders only)' if some else ''}: "
                   f"{g['cause'] or 'UNEXPLAINED'}")
        if g["evidence"]:
            out += textwrap.wrap(g["evidence"], 110, initial_indent="      ", subsequent_indent="      ")
    for q in doc["questions"]:
        if not q["differences"]:
            continue
        out += ["", f"{q['question']} ({', '.join(q['keys'])}; values {', '.join(q['values']) or '-'}):"]
        for d in q["differences"]:
            which = in_some_orders(d, orders)
            out.append(f"  {KIND[d['kind']]}: {' | '.join(d['key'].values())}" + (f" ({which})" if which else ""))
            cols = d["columns"] or q["values"]
            for side in ("batfish", "realfish"):
                if d[side] is not None and cols:
                    out.append(f"      {side}: " + ", ".join(f"{c} {cell_text(d[side].get(c))}" for c in cols))
            e = d["explanation"]
            out.append(f"      cause: {e['cause'] if e else 'UNEXPLAINED'}")
    return "\n".join(out) + "\n"


def explored(doc: dict[str, Any]) -> list[str]:
    """The orders of events explored: how many rows differ between them, each with its outcomes."""
    ex = doc.get("explore")
    if not ex:
        return []
    out = [f"explored {ex['orders']} orders of events (seeds {seeds_text(ex['seeds'])}): {ex['varying']} "
           f"rows of realfish's answers differ between them; {ex['in_some_orders']} differences are in some orders "
           "only"]
    for q in doc["questions"]:
        for v in q.get("varying", []):
            out.append(f"  {q['question']} {v['key']}: " + " | ".join(outcome_text(o) for o in v["outcomes"]))
    return out
