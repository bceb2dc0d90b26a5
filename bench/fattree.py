"""Fat-trees in both runtimes, side by side in one run: realfish's emulation vs the namespace baseline.

    python bench/fattree.py [--k 4 8 12 16] [--runs 3] [--out bench/results/fattree.json]

Each (k, runtime, run) is a separate `realfish converge` process, runtimes alternating so that machine noise
hits both alike. Reported per k: medians of setup, convergence and total time, peak PSS, the kernel's slab
growth, daemon CPU, the controller's CPU, the helpers' CPU (vtysh, the baseline's `ip`), context switches,
realfish/baseline ratios, total time over (daemon CPU / cores) -- 1.0 is the physical limit -- and over (all
CPU / cores) -- 1.0 means every core was busy all along; plus whether every router's FIB was identical between
the runtimes in every run (same prefixes, same nexthop sets).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from realfish import topogen
from realfish.report import FibEntry, NextHop, fib_diff

RUNTIMES = ("baseline", "real")


def converge(snapshot: Path, runtime: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "realfish.cli", "converge", str(snapshot), "--runtime", runtime,
                               "--json", out.name], capture_output=True, text=True)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{runtime} on {snapshot} failed:\n{proc.stderr[-3000:]}")
        doc = json.loads(Path(out.name).read_text())
    doc["wall_s"] = wall
    return doc


def fibs(doc: dict[str, Any]) -> dict[str, list[FibEntry]]:
    return {name: [FibEntry(e["prefix"], e["protocol"], e["distance"], e["metric"],
                            [NextHop(h["ip"], h["interface"]) for h in e["nexthops"]]) for e in r["fib"]]
            for name, r in doc["routers"].items()}


def metrics(doc: dict[str, Any]) -> dict[str, float]:
    return {"setup_s": doc["timing"]["setup_s"], "converge_s": doc["timing"]["converge_s"],
            "total_s": doc["timing"]["total_s"], "wall_s": doc["wall_s"],
            "peak_pss_mb": doc["memory"]["peak_pss_bytes"] / 2**20,
            "peak_rss_mb": doc["memory"]["peak_rss_bytes"] / 2**20,
            "daemon_pss_mb": doc["memory"].get("peak_daemon_pss_bytes", 0) / 2**20,
            "system_mb": doc["memory"].get("peak_system_bytes", 0) / 2**20,
            "kernel_mb": doc["memory"].get("peak_kernel_bytes", 0) / 2**20,
            "daemon_cpu_s": doc["cpu"]["daemon_s"], "controller_cpu_s": doc["cpu"].get("controller_s", 0.0),
            "helper_cpu_s": doc["cpu"].get("helpers_s", 0.0),
            "ctx_voluntary": doc["cpu"].get("ctx_voluntary", 0),
            "ctx_involuntary": doc["cpu"].get("ctx_involuntary", 0),
            "virtual_converge_s": doc.get("virtual", {}).get("converge_s", float("nan")),
            "limit_ratio": doc["timing"]["total_s"] / (doc["cpu"]["daemon_s"] / (os.cpu_count() or 1)),
            # the same with every CPU consumer of the run: 1.0 means both cores were busy all along
            "busy_ratio": doc["timing"]["total_s"] / ((doc["cpu"]["daemon_s"] + doc["cpu"].get("controller_s", 0.0)
                                                        + doc["cpu"].get("helpers_s", 0.0)) / (os.cpu_count() or 1))}


def bench(k: int, runs: int, workdir: Path) -> dict[str, Any]:
    snap = workdir / f"fattree-{k}"
    net = topogen.fattree(k, snap, overwrite=True)
    samples: dict[str, list[dict[str, float]]] = {r: [] for r in RUNTIMES}
    diffs: list[str] = []
    remarks: list[str] = []  # what a runtime itself reported (sessions down, problems): why FIBs may differ
    for i in range(runs):
        order = RUNTIMES if i % 2 == 0 else tuple(reversed(RUNTIMES))
        docs = {r: converge(snap, r) for r in order}
        for r, doc in docs.items():
            samples[r].append(metrics(doc))
            remarks += [f"run {i} {r}: session down: {x}" for x in doc.get("sessions_down") or []]
            remarks += [f"run {i} {r}: problem: {x}" for x in doc.get("problems") or []]
        d = fib_diff(fibs(docs["baseline"]), fibs(docs["real"]), ("baseline", "real"))
        diffs += [f"run {i}: {x}" for x in d]
        print(f"k={k} run {i}: " + "; ".join(f"{r} total {docs[r]['timing']['total_s']:.2f} s" for r in order)
              + f"; FIB differences {len(d)}", file=sys.stderr)
    med = {r: {m: statistics.median(s[m] for s in samples[r]) for m in samples[r][0]} for r in RUNTIMES}
    return {"k": k, "routers": len(net.routers), "runs": runs, "median": med, "samples": samples,
            "fib_identical": not diffs, "fib_differences": diffs[:50], "remarks": remarks[:50]}


def table(results: list[dict[str, Any]]) -> str:
    rows = ["| k (routers) | runtime | setup s | converge s | total s | peak PSS MiB (daemons) | PSS/router MiB "
            "| system MiB | kernel slab MiB | daemon CPU s | controller CPU s | helpers CPU s | ctx vol / invol "
            "| total / (daemon CPU/cores) | total / (all CPU/cores) | FIBs equal |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        for r in RUNTIMES:
            m = res["median"][r]
            rows.append(f"| {res['k']} ({res['routers']}) | {r} | {m['setup_s']:.2f} | {m['converge_s']:.2f} | "
                        f"{m['total_s']:.2f} | {m['peak_pss_mb']:.0f} ({m['daemon_pss_mb']:.0f}) | "
                        f"{m['peak_pss_mb'] / res['routers']:.1f} | {m['system_mb']:.0f} | {m['kernel_mb']:.0f} | "
                        f"{m['daemon_cpu_s']:.2f} | {m['controller_cpu_s']:.2f} | {m['helper_cpu_s']:.2f} | "
                        f"{m['ctx_voluntary']:.0f} / {m['ctx_involuntary']:.0f} | {m['limit_ratio']:.2f} | "
                        f"{m['busy_ratio']:.2f} | "
                        f"{res['fib_identical']} |")
        b, e = res["median"]["baseline"], res["median"]["real"]
        rows.append(f"| {res['k']} | baseline/real | {b['setup_s'] / e['setup_s']:.2f}x | "
                    f"{b['converge_s'] / max(e['converge_s'], 1e-3):.2f}x | {b['total_s'] / e['total_s']:.2f}x | "
                    f"{b['peak_pss_mb'] / e['peak_pss_mb']:.2f}x | | {b['system_mb'] / max(e['system_mb'], 1):.2f}x | "
                    f"{b['kernel_mb'] / max(e['kernel_mb'], 1):.2f}x | "
                    f"{b['daemon_cpu_s'] / e['daemon_cpu_s']:.2f}x | | | "
                    f"{b['ctx_involuntary'] / max(e['ctx_involuntary'], 1):.1f}x invol | | | |")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default="bench/results/fattree.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="realfish-bench-") as tmp:
        results = [bench(k, args.runs, Path(tmp)) for k in args.k]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0 if all(r["fib_identical"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
