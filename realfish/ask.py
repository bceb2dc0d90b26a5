"""`realfish ask SNAPSHOT QUESTION [key=value ...]`: converge a snapshot and print one Batfish question's answer
as a table, JSON or CSV, without a server or a pybatfish script."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from realfish.diff.questions import question
from realfish.diff.rows import cell_text
from realfish.progress import Progress


def parameters(pairs: list[str]) -> dict[str, Any]:
    """`key=value` words; a value that reads as JSON (a number, true, a list, a quoted string) is taken as such."""
    out: dict[str, Any] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter {p!r}: expected key=value")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def ask(snapshot: str, name: str, params: dict[str, Any], timeout: float = 600.0,
        quiet: float | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """The question's table answer element on the converged snapshot."""
    from realfish.answers import answer
    from realfish.answers.state import build

    q = question(name, params)  # an unknown question or parameter fails before anything runs
    state = build(snapshot, "snapshot", timeout=timeout, quiet=quiet, progress=progress)
    if state.dataplane is not None and not state.dataplane.converged:
        raise RuntimeError(f"{snapshot}: the emulation did not converge ({'; '.join(state.dataplane.problems)})")
    if progress:
        progress.step(f"answering {name}")
    try:
        return dict(answer(q, state)["answerElements"][0])
    finally:
        if progress:
            progress.done()


def render(element: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(element, indent=1) + "\n"
    cols = [c["name"] for c in element["metadata"]["columnMetadata"]]
    rows = [[cell_text(r.get(c)) for c in cols] for r in element["rows"]]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        w.writerows(rows)
        return buf.getvalue()
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + f"\n({len(rows)} rows)\n"
