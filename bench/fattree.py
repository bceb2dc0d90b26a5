"""Fat-trees in both runtimes, side by side in one run: realfish's emulation vs the namespace baseline.

    python bench/fattree.py [--k 4 8 12 16] [--runs 3] [--runtimes baseline real real-nofork real-unordered]
                            [--out bench/results/fattree.json]

Each (k, runtime, run) is a separate `realfish converge` process, runtimes alternating so that machine noise hits
both alike. Reported per k: medians of setup, convergence and total time, peak PSS, the kernel's slab growth,
daemon CPU, the controller's CPU, the helpers' CPU (vtysh, the baseline's `ip`), context switches,
realfish/baseline ratios, total time over (daemon CPU / cores) -- 1.0 is the physical limit -- and over (all CPU /
cores) -- 1.0 means every core was busy all along; plus whether every router's FIB was identical between the
runtimes in every run (same prefixes, same nexthop sets). `real` forks every router's daemons and vtysh from one
initialised process per kind (docs/forked-daemons.md); `real-nofork` starts each from scratch, as realfish did
before (`converge --no-fork`); both run daemons one at a time in a fixed order (repeatable, the default),
`real-unordered` runs them at once (`converge --unordered`). Start-up CPU per router is the daemons' and helpers' CPU
until every config was applied, over the router count. Where no baseline runs (`--runtimes real` for the sizes the
baseline does not fit), every run's FIBs are checked against the fat-tree's structure instead: every ToR's /24 on
every other router, over BGP, with the ECMP width a fat-tree gives (ToR k/2; aggregation 1 in the ToR's pod, k/2
outside; spine 1), and the runs against each other.
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
from realfish.dataplane import FibEntry, NextHop, fib_diff
from realfish.topology import Network

RUNTIMES = ("baseline", "real")
FLAGS = {"baseline": ["--runtime", "baseline"], "real": ["--runtime", "real"],
         "real-nofork": ["--runtime", "real", "--no-fork"], "real-unordered": ["--runtime", "real", "--unordered"]}


def converge(snapshot: Path, runtime: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "realfish.cli", "converge", str(snapshot), *FLAGS[runtime],
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
            "startup_cpu_ms_per_router": 1000 * doc["cpu"].get("startup_s", float("nan")) / len(doc["routers"]),
            "mem_per_router_mb": (doc["memory"]["peak_pss_bytes"] + doc["memory"].get("peak_kernel_bytes", 0))
            / 2**20 / len(doc["routers"]),
            "ctx_voluntary": doc["cpu"].get("ctx_voluntary", 0),
            "ctx_involuntary": doc["cpu"].get("ctx_involuntary", 0),
            "virtual_converge_s": doc.get("virtual", {}).get("converge_s", float("nan")),
            "limit_ratio": doc["timing"]["total_s"] / (doc["cpu"]["daemon_s"] / (os.cpu_count() or 1)),
            # the same with every CPU consumer of the run: 1.0 means both cores were busy all along
            "busy_ratio": doc["timing"]["total_s"] / ((doc["cpu"]["daemon_s"] + doc["cpu"].get("controller_s", 0.0)
                                                        + doc["cpu"].get("helpers_s", 0.0)) / (os.cpu_count() or 1))}


def structural_problems(k: int, net: Network, doc: dict[str, Any]) -> list[str]:
    """What a converged k-ary fat-tree's FIBs must hold (see the module docstring), as a list of what is not so."""
    h = k // 2
    routers = doc["routers"]
    problems = []
    tors = {name: str(next(a.network for a in r.interfaces["lo"].addresses if a.network.prefixlen == 24))
            for name, r in net.routers.items() if name.startswith("tor-")}
    if set(routers) != set(net.routers):
        problems.append(f"routers in the report: {len(routers)} of {len(net.routers)}")
    for name, r in routers.items():
        fib = {e["prefix"]: e for e in r["fib"]}
        kind, *pos = name.split("-")
        for tor, prefix in tors.items():
            if tor == name:
                continue
            e = fib.get(prefix)
            if kind == "tor":
                width = h
            elif kind == "agg":
                width = 1 if pos[0] == tor.split("-")[1] else h
            else:
                width = 1
            if e is None or e["protocol"] != "bgp" or len(e["nexthops"]) != width:
                problems.append(f"{name}: {prefix} of {tor}: {e and (e['protocol'], len(e['nexthops']))} "
                                f"(want bgp over {width})")
    return problems


def bench(k: int, runs: int, workdir: Path, runtimes: tuple[str, ...]) -> dict[str, Any]:
    snap = workdir / f"fattree-{k}"
    net = topogen.fattree(k, snap, overwrite=True)
    samples: dict[str, list[dict[str, float]]] = {r: [] for r in runtimes}
    diffs: list[str] = []
    remarks: list[str] = []  # what a runtime itself reported (sessions down, problems): why FIBs may differ
    first: dict[str, dict[str, list[FibEntry]]] = {}
    for i in range(runs):
        order = runtimes if i % 2 == 0 else tuple(reversed(runtimes))
        docs = {r: converge(snap, r) for r in order}
        for r, doc in docs.items():
            samples[r].append(metrics(doc))
            remarks += [f"run {i} {r}: session down: {x}" for x in doc.get("sessions_down") or []]
            remarks += [f"run {i} {r}: problem: {x}" for x in doc.get("problems") or []]
            d = fib_diff(first.setdefault(r, fibs(doc)), fibs(doc), (f"{r} run 0", f"{r} run {i}"))
            diffs += [f"run {i}: {x}" for x in d]  # every run of a runtime as its first
            if "baseline" not in runtimes:
                diffs += [f"run {i} {r}: {x}" for x in structural_problems(k, net, doc)]
        if "baseline" in docs:
            for r in runtimes[1:]:
                d = fib_diff(fibs(docs["baseline"]), fibs(docs[r]), ("baseline", r))
                diffs += [f"run {i}: {x}" for x in d]
        print(f"k={k} run {i}: " + "; ".join(f"{r} total {docs[r]['timing']['total_s']:.2f} s" for r in order)
              + f"; FIB differences so far {len(diffs)}", file=sys.stderr)
    med = {r: {m: statistics.median(s[m] for s in samples[r]) for m in samples[r][0]} for r in runtimes}
    return {"k": k, "routers": len(net.routers), "runs": runs, "runtimes": list(runtimes), "median": med,
            "samples": samples, "fib_identical": not diffs, "fib_check": "baseline" if "baseline" in runtimes
            else "structure", "fib_differences": diffs[:50], "remarks": remarks[:50]}


def table(results: list[dict[str, Any]]) -> str:
    rows = ["| k (routers) | runtime | setup s | converge s | total s | peak PSS MiB (daemons) | PSS+slab/router MiB "
            "| kernel slab MiB | start-up CPU ms/router | daemon CPU s | controller CPU s | helpers CPU s "
            "| total / (daemon CPU/cores) | total / (all CPU/cores) | FIBs |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        for r in res.get("runtimes", RUNTIMES):
            m = res["median"][r]
            check = ("equal" if res.get("fib_check", "baseline") == "baseline" else "structure ok") \
                if res["fib_identical"] else "DIFFER"
            rows.append(f"| {res['k']} ({res['routers']}) | {r} | {m['setup_s']:.2f} | {m['converge_s']:.2f} | "
                        f"{m['total_s']:.2f} | {m['peak_pss_mb']:.0f} ({m['daemon_pss_mb']:.0f}) | "
                        f"{m['mem_per_router_mb']:.1f} | {m['kernel_mb']:.0f} | "
                        f"{m['startup_cpu_ms_per_router']:.0f} | "
                        f"{m['daemon_cpu_s']:.2f} | {m['controller_cpu_s']:.2f} | {m['helper_cpu_s']:.2f} | "
                        f"{m['limit_ratio']:.2f} | {m['busy_ratio']:.2f} | {check} |")
        if "baseline" in res["median"]:
            b = res["median"]["baseline"]
            for r in res.get("runtimes", RUNTIMES)[1:]:
                e = res["median"][r]
                rows.append(f"| {res['k']} | baseline/{r} | {b['setup_s'] / e['setup_s']:.2f}x | "
                            f"{b['converge_s'] / max(e['converge_s'], 1e-3):.2f}x | "
                            f"{b['total_s'] / e['total_s']:.2f}x | "
                            f"{b['peak_pss_mb'] / e['peak_pss_mb']:.2f}x | "
                            f"{b['mem_per_router_mb'] / e['mem_per_router_mb']:.2f}x | "
                            f"{b['kernel_mb'] / max(e['kernel_mb'], 1):.2f}x | "
                            f"{b['startup_cpu_ms_per_router'] / e['startup_cpu_ms_per_router']:.2f}x | "
                            f"{b['daemon_cpu_s'] / e['daemon_cpu_s']:.2f}x | | | | | |")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=list(FLAGS),
                    help="baseline first if at all: the others are compared with it")
    ap.add_argument("--out", default="bench/results/fattree.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rfbench-") as tmp:
        results = [bench(k, args.runs, Path(tmp), tuple(args.runtimes)) for k in args.k]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0 if all(r["fib_identical"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
