"""The cost of a split: fat-trees in 1, 2 and 4 parts on this machine (docs/cluster.md).

    python bench/partitions.py [--k 8 12 16] [--parts 1 2 4] [--out bench/results/partitions.json]

Each (k, parts) is a separate `realfish converge` process: 1 part is the ordinary unordered one-machine run
(`--unordered`), N parts `--partitions N` on a local Ray instance (every part on this machine, so the split's
cost shows without a second host's cores). Reported: wall times, clock rounds, bytes, packets and frames
between parts, links cut, and whether every router's FIB equals the one-part run's.
"""

from __future__ import annotations

import argparse
import json
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
                           "virtual_converge_s": doc["virtual"]["converge_s"],
                           "fib_entries": sum(len(f) for f in fibs.values()), "fibs": fibs}
    if "parts" in doc:
        p = doc["parts"]
        row["parts"] = {k: p[k] for k in ("links_cut", "clock_rounds", "status_polls", "bytes_between_parts",
                                          "packets_between_parts", "frames_between_parts", "phases_s") if k in p}
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, nargs="+", default=[8, 12, 16])
    ap.add_argument("--parts", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--out", default=str(ROOT / "bench/results/partitions.json"))
    args = ap.parse_args()
    from realfish import topogen

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.k:
            snap = Path(tmp) / f"ft{k}"
            topogen.fattree(k, snap)
            base: dict[str, Any] | None = None
            for n in args.parts:
                row = run(snap, n, args.timeout)
                fibs = row.pop("fibs", None)
                if fibs is not None:
                    base = base if base is not None else fibs
                    row["same_fibs_as_first"] = fibs == base
                results[f"k={k} parts={n}"] = row
                print(f"k={k} parts={n}: {json.dumps(row)}", file=sys.stderr, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
