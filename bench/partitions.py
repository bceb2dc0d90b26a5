"""The cost of a split: fat-trees in 1, 2 and 4 parts on this machine (docs/cluster.md).

    python bench/partitions.py [--k 8 12 16] [--parts 1 2 4] [--runs 3] [--out bench/results/partitions.json]

Each (k, parts) is a separate `realfish converge` process: 1 part is the ordinary unordered one-machine run
(`--unordered`, the baseline), N parts `--partitions N` on a local Ray instance (every part on this machine, so
the split's cost shows without a second host's cores). The runs go round by round (every size and split once,
then again), so that a change of load on the machine falls on all of them. Reported per (k, parts): the median
wall time and its ratio to the one-part median of the same k, the medians of clock rounds, bytes, packets and
frames between parts, links cut, and whether every run's FIBs equal the first one-part run's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run(snapshot: Path, parts: int, timeout: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [str(Path(sys.executable).with_name("realfish")), "converge", str(snapshot), "--json", out.name,
               "--timeout", str(timeout)]
        cmd += ["--partitions", str(parts)] if parts > 1 else ["--unordered"]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if proc.returncode not in (0, 3):
            return {"error": proc.stderr[-2000:], "wall_s": round(wall, 2)}
        doc = json.loads(Path(out.name).read_text())
    fibs = {n: r["fib"] for n, r in doc["routers"].items()}
    row: dict[str, Any] = {"wall_s": round(wall, 2), "converged": doc["converged"], "timing": doc["timing"],
                           "virtual_converge_s": doc["virtual"]["converge_s"], "memory": doc.get("memory"),
                           "cpu": doc.get("cpu"),
                           "fib_entries": sum(len(f) for f in fibs.values()), "fibs": fibs}
    if "parts" in doc:
        p = doc["parts"]
        row["parts"] = {k: p[k] for k in ("links_cut", "clock_rounds", "status_polls", "bytes_between_parts",
                                          "packets_between_parts", "frames_between_parts", "phases_s") if k in p}
    return row


def _median(rows: list[dict[str, Any]], *path: str) -> float | None:
    values = []
    for r in rows:
        v: Any = r
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        if isinstance(v, int | float):
            values.append(v)
    return statistics.median(values) if values else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, nargs="+", default=[8, 12, 16])
    ap.add_argument("--parts", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--out", default=str(ROOT / "bench/results/partitions.json"))
    args = ap.parse_args()
    from realfish import topogen

    runs: dict[tuple[int, int], list[dict[str, Any]]] = {}
    base: dict[int, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        snaps = {}
        for k in args.k:
            snaps[k] = Path(tmp) / f"ft{k}"
            topogen.fattree(k, snaps[k])
        for i in range(args.runs):
            for k in args.k:
                for n in args.parts:
                    row = run(snaps[k], n, args.timeout)
                    fibs = row.pop("fibs", None)
                    if fibs is not None:
                        base.setdefault(k, fibs)
                        row["same_fibs_as_first"] = fibs == base[k]
                    runs.setdefault((k, n), []).append(row)
                    print(f"run {i + 1} k={k} parts={n}: {json.dumps(row)}", file=sys.stderr, flush=True)
    results: dict[str, Any] = {}
    for (k, n), rows in runs.items():
        ok = [r for r in rows if "error" not in r]
        one = _median([r for r in runs.get((k, 1), []) if "error" not in r], "wall_s")
        wall = _median(ok, "wall_s")
        summary: dict[str, Any] = {
            "runs": len(rows), "errors": len(rows) - len(ok), "wall_s_median": wall,
            "wall_s": [r["wall_s"] for r in rows],
            "ratio_to_one_part": round(wall / one, 2) if wall and one else None,
            "all_converged": all(r["converged"] for r in ok), "all_same_fibs": all(r["same_fibs_as_first"] for r in ok),
            "peak_pss_bytes_median": _median(ok, "memory", "peak_pss_bytes"),
        }
        for key in ("links_cut/segments", "clock_rounds", "status_polls", "bytes_between_parts",
                    "packets_between_parts", "frames_between_parts"):
            m = _median(ok, "parts", *key.split("/"))
            if m is not None:
                summary[key.replace("/", "_") + "_median"] = m
        results[f"k={k} parts={n}"] = {**summary, "rows": rows}
        print(f"k={k} parts={n}: {json.dumps(summary)}", file=sys.stderr, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
