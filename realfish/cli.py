"""realfish's command line: converge a snapshot, generate topologies, clean up after a killed run."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from realfish.progress import Progress
from realfish.runner import ConvergeTimeout, Runner


def _terminate(signum: int, frame: Any) -> None:
    # SIGTERM/SIGHUP take the same path as Ctrl-C: unwinding runs every runner's close().
    raise KeyboardInterrupt(f"signal {signum}")


def make_runner(network: Any, runtime: str, **kw: Any) -> Runner:
    if runtime == "baseline":
        from realfish.baseline import Baseline

        return Baseline(network, **kw)
    from realfish.runtime import Emulation

    return Emulation(network, **kw)


def cmd_converge(args: argparse.Namespace) -> int:
    from realfish.convert import load_network

    network = load_network(args.snapshot)
    if args.partitions or args.cluster:
        return converge_parts(network, args)
    first = args.seed if args.seed is not None else 0
    kw: dict[str, Any] = {"keep": args.keep}
    if args.settle is not None:
        kw["settle"] = args.settle
    if args.runtime == "real":
        kw.update(virtual_time=not args.real_time, tokens=args.tokens, quiet=args.quiet, fork=not args.no_fork,
                  seed=first if args.explore else args.seed, ordered=False if args.unordered else None)
        if args.record:
            kw["record"] = args.record
    elif args.record or args.seed is not None or args.explore or args.unordered:
        raise ValueError("--record, --seed, --unordered and --explore need the emulation (--runtime real)")
    if args.unordered and (args.seed is not None or args.explore):
        raise ValueError("--seed and --explore name ordered runs' orders: not with --unordered")
    if args.explore and (args.real_time or args.record):
        raise ValueError("--explore needs the virtual clock and does not record")
    rc, doc = converge_once(network, args, kw)
    if args.explore:
        from realfish import explore

        runs = [(first, {r: v["fib"] for r, v in doc["routers"].items()})]
        converged = {first: doc["converged"]}
        for seed in range(first + 1, first + args.explore):
            _, other = converge_once(network, args, {**kw, "seed": seed, "keep": False}, quiet=True)
            runs.append((seed, {r: v["fib"] for r, v in other["routers"].items()}))
            converged[seed] = other["converged"]
        doc["explore"] = {"orders": len(runs), "seeds": [s for s, _ in runs], "converged": converged,
                          "varying": explore.varying(runs)}
        for line in explore.summary(doc["explore"]):
            print(f"realfish: {line}", file=sys.stderr)
        if not all(converged.values()):
            rc = 3
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1))
    else:
        json.dump(doc, sys.stdout, indent=1)
        print()
    return rc


def converge_parts(network: Any, args: argparse.Namespace) -> int:
    """`--partitions N [--cluster ADDRESS]`: the network cut into N parts, each in a Ray actor, under one virtual
    clock (docs/cluster.md)."""
    if args.runtime != "real" or args.real_time or args.seed is not None or args.explore or args.no_fork:
        raise ValueError("--partitions runs the emulation with the virtual clock, forked daemons, unordered: "
                         "not with --runtime baseline, --real-time, --seed, --explore or --no-fork")
    from realfish.cluster.actor import converge
    from realfish.cluster.coordinator import PartFailed

    def log(line: str) -> None:
        print(f"realfish: {line}", file=sys.stderr)

    n = args.partitions or 2
    log(f"{len(network.routers)} routers in {n} parts on "
        f"{'the Ray cluster at ' + args.cluster if args.cluster else 'a local Ray instance'}")
    try:
        doc = converge(network, n, args.cluster, timeout=args.timeout, shows=args.show, quiet=args.quiet,
                       keep=args.keep, log=log, record=args.record)
    except PartFailed as e:
        log(str(e))
        return 4
    routes = sum(len(r["fib"]) for r in doc["routers"].values())
    p, t = doc["parts"], doc["timing"]
    log(f"converged={doc['converged']} total {t['total_s']:.2f} s; {routes} FIB entries; {p['clock_rounds']} "
        f"clock rounds; {p['bytes_between_parts']} bytes and {p['packets_between_parts']} packets between parts")
    for problem in doc["problems"]:
        log(f"problem: {problem}")
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1))
    else:
        json.dump(doc, sys.stdout, indent=1)
        print()
    return 0 if doc["converged"] else 3


def converge_once(network: Any, args: argparse.Namespace, kw: dict[str, Any],
                  quiet: bool = False) -> tuple[int, dict[str, Any]]:
    """One converge run of `network`: (exit status, the report)."""
    with make_runner(network, args.runtime, **kw) as runner:
        outside = len(network.routers) - len(network.inside())
        print(f"realfish: {len(network.inside())} routers{f' (and {outside} outside speakers)' if outside else ''}, "
              f"{len(network.segments)} segments, runtime "
              f"{args.runtime}, run directory {runner.run_dir}", file=sys.stderr)
        try:
            with Progress(enabled=False if quiet else None).watching(runner):
                report = runner.converge(timeout=args.timeout, shows=args.show)
        except ConvergeTimeout as e:
            print(f"realfish: {e}", file=sys.stderr)
            report = runner.collect(args.show)
            report.converged = False
        doc = report.to_json()
        t = doc["timing"]
        routes = sum(len(r["fib"]) for r in doc["routers"].values())
        print(f"realfish: converged={report.converged} setup {t['setup_s']:.2f} s, convergence "
              f"{t['converge_s']:.2f} s, total {t['total_s']:.2f} s; {routes} FIB entries; peak PSS "
              f"{doc['memory']['peak_pss_bytes'] / 2**20:.0f} MiB; daemon CPU {doc['cpu']['daemon_s']:.2f} s",
              file=sys.stderr)
        for p in report.problems:
            print(f"realfish: problem: {p}", file=sys.stderr)
    return (0 if report.converged else 3), doc


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay routers one at a time from a recorded run, and say whether each reached its recorded FIB."""
    from realfish.convert import load_network
    from realfish.runtime import Emulation
    from realfish.runtime.recording import Recording

    network = load_network(args.snapshot)
    recording = Recording(args.recording)
    names = args.router or sorted(network.routers)
    results: dict[str, Any] = {}
    for name in names:
        with Emulation(network.part([name]), replay=recording, keep=args.keep) as emu:
            try:
                report = emu.converge(timeout=args.timeout)
            except ConvergeTimeout as e:
                results[name] = {"same_fib": False, "error": str(e)}
                print(f"realfish: {name}: {e}", file=sys.stderr)
                continue
            replay = report.extra.get("replay", {})
            diff = replay.get("fib_differences", {}).get(name, [])
            results[name] = {**replay, "same_fib": not diff and not report.problems,
                             "problems": report.problems, "sessions_down": report.extra.get("sessions_down", [])}
            what = "same FIB as recorded" if results[name]["same_fib"] else f"{len(diff)} FIB differences"
            more = f"; {len(replay.get('divergences', []))} divergences" if replay.get("divergences") else ""
            print(f"realfish: {name}: {what}{more} ({replay.get('delivered', 0)} inputs, "
                  f"{replay.get('late', 0)} late)", file=sys.stderr)
    doc = json.dumps(results, indent=1)
    if args.json:
        Path(args.json).write_text(doc)
    else:
        print(doc)
    return 0 if all(r["same_fib"] for r in results.values()) else 4


def cmd_convert(args: argparse.Namespace) -> int:
    from realfish.convert import convert_snapshot, summary, write_conversion

    conv = convert_snapshot(args.snapshot)
    out = write_conversion(conv, args.outdir, overwrite=args.overwrite)
    s = summary(conv)
    files = ", ".join(f"{n} {k}" for k, n in sorted(s["files"].items()))
    lines = ", ".join(f"{n} {k}" for k, n in s["lines"].items() if n)
    print(f"realfish: {s['routers']} routers, {s['hosts']} hosts, {s['layer3_edges']} layer-3 edges, "
          f"{s['segments']} segments; files: {files}; lines: {lines}", file=sys.stderr)
    for st in sorted(conv.statuses + conv.other, key=lambda x: x.file):
        for n in st.issues():
            print(f"realfish: {st.file}: {n}", file=sys.stderr)
    print(f"realfish: wrote {out}/configs (FRR), {out}/batfish (segments), {out}/realfish (name maps, edges, "
          "status)", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from realfish import check

    return check.main(args.snapshot, args.expectations, args.format, args.output, args.timeout, args.explore)


def cmd_topo(args: argparse.Namespace) -> int:
    from realfish import topogen

    fn = {"fattree": topogen.fattree, "ring": topogen.ring, "chain": topogen.chain}[args.kind]
    net = fn(args.size, args.dir)
    print(f"realfish: wrote {len(net.routers)} routers to {args.dir}", file=sys.stderr)
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from realfish.clean import clean

    for line in clean():
        print(f"realfish clean: {line}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from realfish.service import serve

    if args.partitions < 0:
        raise ValueError("--partitions takes a count of parts")
    serve(args.host, args.port, args.data_dir, args.api_key, partitions=args.partitions, cluster=args.cluster)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Exit 0: no question differs; 1: some do; 2: an error (main's handler)."""
    from realfish.diff import page, report, text

    wanted = [q.strip() for q in args.questions.split(",") if q.strip()] if args.questions else None
    doc = report.diff(args.snapshot, args.batfish, args.batfish_answers, wanted, timeout=args.timeout,
                      quiet=args.quiet, progress=Progress(), explore=args.explore)
    if args.format == "json":
        out = json.dumps(doc, indent=1) + "\n"
    elif args.format == "html":
        out = page.render(doc)
    else:
        out = text.render(doc)
    if args.output:
        Path(args.output).write_text(out)
        ex = doc.get("explore")
        orders = (f"; {ex['varying']} rows differ between {ex['orders']} orders, {ex['in_some_orders']} "
                  "differences in some orders only" if ex else "")
        print(f"realfish: {doc['differences']} differences ({doc['unexplained']} unexplained){orders}; wrote "
              f"{args.output}", file=sys.stderr)
    else:
        sys.stdout.write(out)
    return 1 if doc["differences"] else 0


def cmd_ask(args: argparse.Namespace) -> int:
    from realfish import ask

    element = ask.ask(args.snapshot, args.question, ask.parameters(args.parameters), timeout=args.timeout,
                      quiet=args.quiet, progress=Progress())
    sys.stdout.write(ask.render(element, args.format))
    return 0


def _quiet_period(parser: argparse.ArgumentParser) -> None:
    # --quiet: its first name, kept so scripts that use it go on working; it never meant less output
    parser.add_argument("--quiet-period", "--quiet", dest="quiet", type=float, default=None, metavar="S",
                        help="virtual seconds without a routing event that count as converged (default: twice the "
                             "longest hold/dead time)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="realfish", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("converge", help="run a snapshot's routers until the network converges; report FIBs")
    c.add_argument("snapshot")
    c.add_argument("--runtime", choices=["real", "baseline"], default="real")
    c.add_argument("--json", help="write the report here instead of standard output")
    c.add_argument("--show", action="append", default=[], metavar="CMD", help="vtysh command to run per router")
    c.add_argument("--timeout", type=float, default=600.0)
    c.add_argument("--settle", type=float, default=None,
                   help="wall seconds of quiet that count as converged (baseline, and real with --real-time)")
    _quiet_period(c)
    # --tokens: its first name, kept so scripts that use it go on working
    c.add_argument("--run-slots", "--tokens", dest="tokens", type=int, default=None, metavar="K",
                   help="daemons that may run at once (default: cores)")
    c.add_argument("--real-time", action="store_true", help="no virtual clock: timers cost wall time")
    c.add_argument("--keep", action="store_true", help="keep the run directory (configs, logs)")
    c.add_argument("--no-fork", action="store_true",
                   help="start every router's daemons from scratch instead of forking them from one initialised "
                        "daemon per kind")
    c.add_argument("--record", metavar="DIR", help="record what every router read, for `realfish replay`")
    c.add_argument("--seed", type=int, default=None, help="one order of events, reproducibly: boot order and gaps "
                   "(0, the default: by name) (docs/explore.md)")
    c.add_argument("--unordered", action="store_true",
                   help="run daemons at once instead of one at a time in a fixed order: faster (1.2-1.8x idle), but a "
                        "run's outcome may then follow the host's scheduling (docs/explore.md)")
    c.add_argument("--explore", type=int, default=0, metavar="N",
                   help="converge under N orders (seeds SEED..SEED+N-1) and report every FIB entry that differs")
    c.add_argument("--partitions", type=int, default=0, metavar="N",
                   help="cut the network into N parts, each run by a Ray actor, under one virtual clock "
                        "(docs/cluster.md)")
    c.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="the Ray cluster to run the parts on (default: a local Ray instance for the run)")
    c.set_defaults(fn=cmd_converge)
    r = sub.add_parser("replay", help="replay routers alone from a recorded run; check they reach the same FIB")
    r.add_argument("snapshot")
    r.add_argument("recording", help="the directory of `converge --record`")
    r.add_argument("--router", action="append", default=[], help="router to replay (default: each in turn)")
    r.add_argument("--json", help="write the results here instead of standard output")
    r.add_argument("--timeout", type=float, default=600.0)
    r.add_argument("--keep", action="store_true", help="keep each replay's run directory (configs, logs)")
    r.set_defaults(fn=cmd_replay)
    v = sub.add_parser("convert", help="convert a Batfish snapshot (dir or zip) into the FRR configs, name maps, "
                                       "topology and parse status that realfish runs")
    v.add_argument("snapshot")
    v.add_argument("outdir")
    v.add_argument("--overwrite", action="store_true", help="replace an earlier conversion in OUTDIR")
    v.set_defaults(fn=cmd_convert)
    e = sub.add_parser("check", help="converge a snapshot and judge an expectations file (exit 0 all hold, 1 one "
                                     "fails, 2 error)")
    e.add_argument("snapshot")
    e.add_argument("expectations", help="YAML: assertions named after pybatfish's (see realfish/expectations.py)")
    e.add_argument("--format", choices=["text", "json", "junit"], default="text")
    e.add_argument("-o", "--output", help="write the result here (a summary still goes to standard error)")
    e.add_argument("--timeout", type=float, default=600.0)
    e.add_argument("--explore", type=int, default=0, metavar="N",
                   help="judge on N orders of events; an assertion that holds in some only fails (docs/explore.md)")
    e.set_defaults(fn=cmd_check)
    t = sub.add_parser("topo", help="write a generated FRR snapshot")
    t.add_argument("kind", choices=["fattree", "ring", "chain"])
    t.add_argument("size", type=int, help="k for fattree, router count for ring/chain")
    t.add_argument("dir")
    t.set_defaults(fn=cmd_topo)
    s = sub.add_parser("serve", help="serve Batfish's v2 API (what pybatfish speaks) with realfish's answers")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=9996, help="port (default: 9996, Batfish's)")
    s.add_argument("--data-dir", default=None,
                   help="keep networks, snapshots and answers here (default: a temporary directory removed on exit)")
    s.add_argument("--api-key", default=None,
                   help="require this X-Batfish-Apikey header on every request but /v2/version")
    s.add_argument("--partitions", type=int, default=0, metavar="N",
                   help="converge each snapshot in N parts (default with --cluster: 2), each in a Ray actor, under "
                        "one virtual clock (docs/cluster.md)")
    s.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="the Ray cluster to run the parts on (default: a local Ray instance per convergence)")
    s.set_defaults(fn=cmd_serve)
    d = sub.add_parser("diff", help="ask Batfish and realfish the same questions; list and explain every "
                                    "differing row (exit 0: none, 1: some, 2: error)")
    d.add_argument("snapshot")
    src = d.add_mutually_exclusive_group(required=True)
    src.add_argument("--batfish", metavar="HOST[:PORT]", help="a live service speaking Batfish's v2 API")
    src.add_argument("--batfish-answers", metavar="DIR",
                     help="stored answers: DIR/questions.yaml lists {question, parameters, answer: FILE}")
    d.add_argument("--questions", default=None,
                   help="comma-separated question names (default: routes,bgpSessionStatus; with "
                        "--batfish-answers: every stored one)")
    d.add_argument("--format", choices=["text", "json", "html"], default="text")
    d.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of standard output")
    d.add_argument("--timeout", type=float, default=600.0, help="convergence timeout, wall seconds")
    d.add_argument("--explore", type=int, default=0, metavar="N",
                   help="converge realfish's side under N orders of events (seeds 0..N-1); flag its rows that "
                        "differ between them and differences found in some orders only (docs/explore.md)")
    _quiet_period(d)
    d.set_defaults(fn=cmd_diff)
    a = sub.add_parser("ask", help="converge a snapshot and print one Batfish question's answer")
    a.add_argument("snapshot")
    a.add_argument("question", help="a Batfish question name, as bf.q.<name> (routes, bgpSessionStatus, ...)")
    a.add_argument("parameters", nargs="*", metavar="key=value", help="the question's parameters")
    a.add_argument("--format", choices=["table", "json", "csv"], default="table")
    a.add_argument("--timeout", type=float, default=600.0, help="convergence timeout, wall seconds")
    _quiet_period(a)
    a.set_defaults(fn=cmd_ask)
    k = sub.add_parser("clean", help="stop daemons and remove run directories and namespaces a killed run left")
    k.set_defaults(fn=cmd_clean)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        return int(args.fn(args))
    except KeyboardInterrupt:
        print("realfish: interrupted; everything started was stopped", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as e:
        print(f"realfish: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
