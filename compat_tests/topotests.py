"""FRR 8.4.4 topotests (as data, in ../shared/compat/frr-topotests) turned into realfish snapshots and checks.

- `convert_topotest(test_dir, outdir)`: one snapshot per topotest. Each router's per-daemon configs become one
  integrated frr.conf: zebra.conf first (interfaces, static routes: staticd reads those), then the others in
  the order topology.yaml lists them, each under a `! --- from X ---` comment. Dropped, because an integrated
  config must not repeat them or because they name per-daemon log files: top-level `hostname` lines after the
  first, `password`/`enable password` and `log ...`. A router whose configs have no `hostname` gets
  `hostname <node>` (topotest runs every router in a UTS namespace named after the node). Everything else is
  kept as shipped, timers included. Links: topology.yaml `l2_segments` (switches are broadcast domains),
  written as batfish/realfish_segments.json (exact: LANs, one-member stub segments, switch names) plus
  batfish/layer1_topology.json (every pair of members, both directions) for Batfish. Only `kind: router`
  nodes are converted; the others (exabgp peers) are left out, which the snapshot's SOURCE.txt and the
  segments file's "notes" say.
- `load_checks(test_dir)`: the checks of expectations.json that hold for the configs as shipped.
- `json_cmp(actual, expected)`: topotest's lib/topotest.py json_cmp / gen_json_diff_report of FRR 8.4.4, same
  semantics and same report text.
"""

from __future__ import annotations

import json
import logging
import os
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from realfish.parsers import parse_config
from realfish.snapshot import write_snapshot
from realfish.topology import Interface, Network, Router, Segment

log = logging.getLogger(__name__)

# Lines FRR 8.4.4 itself rejects in the configs as shipped: reported by realfish as it should, and harmless to the
# checks. vtysh -C on the upstream per-daemon files rejects the first; bgpd rejects the second in the upstream run
# too (r5's bgpd.conf sets default-originate for 192.168.101.1, a neighbor it never defines).
KNOWN_REJECTED = {"bgp_aggregate_address_origin": "'exit-address-family'",
                  "bgp_features": "'neighbor 192.168.101.1 default-originate'"}
_DROP_TOP_LEVEL = ("password", "enable password", "log ")


def shared_dir() -> Path:
    """../shared next to the repository (CI layout), or $REALFISH_SHARED."""
    env = os.environ.get("REALFISH_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"


def topotests_dir() -> Path:
    return shared_dir() / "compat" / "frr-topotests"


def list_topotests(root: Path | None = None) -> list[Path]:
    base = root or topotests_dir()
    return sorted(p.parent for p in base.glob("*/topology.yaml"))


# -- conversion ----------------------------------------------------------------------------------------------


def merge_daemon_configs(node: str, node_dir: Path, daemon_configs: list[str]) -> str:
    """One integrated frr.conf from a topotest router's per-daemon files (see the module docstring)."""
    order = sorted(daemon_configs, key=lambda c: c != "zebra.conf")  # stable: the others keep their order
    out: list[str] = []
    have_hostname = False
    for name in order:
        out.append(f"! --- from {name} ---")
        for line in (node_dir / name).read_text().splitlines():
            top = line[:1] not in (" ", "\t")
            word = line.strip()
            if top and word.startswith("hostname"):
                if have_hostname:
                    continue
                have_hostname = True
            elif top and word.startswith(_DROP_TOP_LEVEL):
                continue
            out.append(line)
    if not have_hostname:
        out.insert(0, f"hostname {node}")
    return "\n".join(out) + "\n"


def convert_topotest(test_dir: str | Path, outdir: str | Path, *, overwrite: bool = False) -> Path:
    """Write the topotest in `test_dir` as a snapshot in `outdir`; return `outdir`."""
    tdir = Path(test_dir)
    topo = yaml.safe_load((tdir / "topology.yaml").read_text())
    nodes: dict[str, dict[str, Any]] = topo["nodes"]
    routers = [n for n, spec in nodes.items() if spec.get("kind") == "router"]
    skipped = {n: spec.get("kind", "?") for n, spec in nodes.items() if n not in routers}
    out = Path(outdir)
    net = Network()
    for node in routers:
        text = merge_daemon_configs(node, tdir / node, list(nodes[node].get("daemon_configs", [])))
        dev, _ = parse_config(text, f"configs/{node}.cfg", "FRR")
        if dev is None or dev.hostname != node:
            raise ValueError(f"{tdir / node}: hostname {dev and dev.hostname!r} is not the node name {node!r}")
        # only the text and the segments' interfaces are written; the snapshot's loader reads the rest
        net.add_router(Router(node, config=text, source=str(out / "configs" / f"{node}.cfg")))

    notes = [f"converted from FRR topotest {tdir.name} (FRR 8.4.4; see ../shared/compat/frr-topotests)"]
    for name, members in (topo.get("l2_segments") or {}).items():
        kept: list[tuple[str, str]] = []
        for m in members:
            host, ifname = m.split(":", 1)
            if host in net.routers:
                kept.append((host, ifname))
        if kept:
            net.segments.append(Segment(name, kept))
    for node, kind in skipped.items():
        where = [s for s, ms in (topo.get("l2_segments") or {}).items()
                 if any(m.startswith(f"{node}:") for m in ms)]
        notes.append(f"node {node} (kind {kind}) is not an FRR router and was left out"
                     + (f"; it was on {', '.join(where)}" if where else ""))
        log.warning("%s: %s", tdir.name, notes[-1])
    for seg in net.segments:  # a segment's member must be an interface of its router to be written
        for host, ifname in seg.members:
            if ifname not in net.routers[host].interfaces:
                net.routers[host].add_interface(Interface(ifname))
    net.validate()
    write_snapshot(net, out, segments_file=True, overwrite=overwrite, notes=notes)
    (out / "SOURCE.txt").write_text(
        f"Generated by compat_tests/topotests.py from {tdir} (FRR topotest {tdir.name}, tag frr-8.4.4;\n"
        "FRR is GPL-2.0-or-later, topotest files carry ISC headers). Per-daemon configs merged into one\n"
        "integrated config per router; links from topology.yaml l2_segments.\n"
        + "".join(f"- {n}\n" for n in notes))
    return out


# -- checks --------------------------------------------------------------------------------------------------


@dataclass
class Check:
    """One upstream assertion that holds for the network as shipped (initial_state)."""

    router: str
    command: str
    expected: Any  # JSON value for match "json_cmp", text for match "text"
    note: str
    match: str = "json_cmp"
    via: str = "vtysh"  # or "shell": not a vtysh command (e.g. `ip route`)
    negate: bool = False  # passes when the match fails
    parse: str | None = None  # how shell output becomes JSON
    text_normalisation: str | None = None
    expected_file: str | None = None
    alt_expected: Any = None  # from alt_expected_file: either may match
    index: int = 0  # position in expectations.json


def _expected_value(tdir: Path, match: str, entry: dict[str, Any], key: str) -> Any:
    if key == "expected" and "expected" in entry:
        return entry["expected"]
    fname = entry.get(f"{key}_file")
    if fname is None:
        return None
    text = (tdir / fname).read_text()
    return json.loads(text) if match == "json_cmp" else text


def load_checks(test_dir: str | Path) -> list[Check]:
    tdir = Path(test_dir)
    entries = json.loads((tdir / "expectations.json").read_text())
    checks = []
    for i, e in enumerate(entries):
        if not e.get("initial_state"):
            continue
        match = e.get("match", "json_cmp")
        checks.append(Check(
            router=e["router"], command=e["command"], expected=_expected_value(tdir, match, e, "expected"),
            note=e.get("note", ""), match=match, via=e.get("via", "vtysh"), negate=bool(e.get("negate")),
            parse=e.get("parse"), text_normalisation=e.get("text_normalisation"),
            expected_file=e.get("expected_file"),
            alt_expected=_expected_value(tdir, match, e, "alt_expected"), index=i))
    return checks


# -- json_cmp (FRR 8.4.4 tests/topotests/lib/topotest.py) ----------------------------------------------------


def _json_type(v: Any) -> str | None:
    # Same order as upstream: a bool is reported as "Number" there (bool is an int), and so it is here.
    if isinstance(v, (list, tuple)):
        return "Array"
    if isinstance(v, dict):
        return "Object"
    if isinstance(v, (int, float)):
        return "Number"
    if isinstance(v, str):
        return "String"
    if v is None:
        return "null"
    return None


def _dump_json(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return "\t" + "\t".join(json.dumps(v, indent=4, separators=(",", ": ")).splitlines(True))
    return f"'{v}'"


def _diff(d1: Any, d2: Any, exact: bool = False, path: str = "> $") -> tuple[int, str]:
    """gen_json_diff_report: (error points, report). d1 is the actual value, d2 the expected one.

    Upstream semantics kept on purpose, quirks included: "*" in d2 matches anything; a None value in a d2
    object means the key must be absent from d1; arrays match as unordered subsets, each d2 element taking the
    first still-unused d1 element it matches (greedy, no backtracking), and the recursion into array elements
    drops `exact`; a d2 array starting with "__ordered__" must match d1 element by element and be as long;
    scalars compare with Python's == (so 1 == 1.0 == True).
    """
    errors = 0
    report = ""

    def add(msg: str, points: int = 1) -> None:
        nonlocal errors, report
        errors += points
        report += f"{path}: {msg}\n"

    def merge(sub: tuple[int, str]) -> None:
        nonlocal errors, report
        errors += sub[0]
        report += sub[1]

    scalar1 = not isinstance(d1, (list, dict))
    scalar2 = not isinstance(d2, (list, dict))
    if (isinstance(d2, str) and d2 == "*") or (scalar1 and scalar2 and d1 == d2):
        return 0, ""
    if scalar1 and scalar2:
        add(f"d1 has element with value '{d1}' but in d2 it has value '{d2}'")
    elif isinstance(d1, list) and isinstance(d2, list) and ((d2 and d2[0] == "__ordered__") or exact):
        if not exact:
            del d2[0]
        if len(d1) != len(d2):
            add(f"d1 has Array of length {len(d1)} but in d2 it is of length {len(d2)}")
        else:
            for idx, (v1, v2) in enumerate(zip(d1, d2, strict=True)):
                merge(_diff(v1, v2, exact, f"{path}[{idx}]"))
    elif isinstance(d1, list) and isinstance(d2, list):
        if len(d1) < len(d2):
            add(f"d1 has Array of length {len(d1)} but in d2 it is of length {len(d2)}")
        else:
            for idx2, v2 in enumerate(d2):
                found = False
                closest: tuple[int, str] | None = None
                closest_idx = None
                for idx1, v1 in enumerate(d1):
                    tmp = _diff(deepcopy(v1), deepcopy(v2), path=f"{path}[{idx1}]")
                    if tmp[0] == 0:
                        found = True
                        del d1[idx1]
                        break
                    if closest is None or tmp[0] < closest[0]:
                        closest, closest_idx = tmp, idx1
                if not found and isinstance(v2, (list, dict)):
                    sub = "\n\n\t" + "\t".join((closest[1] if closest else "").splitlines(True))
                    add(f"d2 has the following element at index {idx2} which is not present in d1: \n\n"
                        f"{_dump_json(v2)}\n\n\tClosest match in d1 is at index {closest_idx} with the "
                        f"following errors: {sub}")
                if not found and not isinstance(v2, (list, dict)):
                    add(f"d2 has the following element at index {idx2} which is not present in d1: "
                        f"{_dump_json(v2)}")
    elif isinstance(d1, dict) and isinstance(d2, dict) and exact:
        for k in d1:
            if k not in d2:
                add(f"d1 has key '{k}' which is not present in d2")
        for k in d2:
            if k not in d1:
                add(f"d2 has key '{k}' which is not present in d1")
        for k in d1:
            if k in d2:
                merge(_diff(d1[k], d2[k], exact, f"{path}->{k}"))
    elif isinstance(d1, dict) and isinstance(d2, dict):
        for k in d1:
            if k in d2 and d2[k] is None:
                add(f"d1 has key '{k}' which is not supposed to be present")
        keys = [k for k, v in d2.items() if v is not None]
        for k in keys:
            if k not in d1:
                add(f"d2 has key '{k}' which is not present in d1")
        for k in keys:
            if k in d1:
                merge(_diff(d1[k], d2[k], exact, f"{path}->{k}"))
    else:
        add(f"d1 has element of type '{_json_type(d1)}' but the corresponding element in d2 is of type "
            f"'{_json_type(d2)}'", points=2)
    return errors, report


def json_cmp(actual: Any, expected: Any, exact: bool = False) -> str | None:
    """None when `expected` is a subset of `actual` (topotest's json_cmp rules), else upstream's report."""
    errors, report = _diff(deepcopy(actual), deepcopy(expected), exact)
    if errors == 0:
        return None
    return "Generated JSON diff error report:\n\n\n" + "\n".join(report.splitlines()) + "\n\n"


# -- running them --------------------------------------------------------------------------------------------


class TopotestRuns:
    """One converged emulation per topotest, kept while its checks run; the previous one is closed first (the
    cases come grouped by topotest), so at most one topology is resident. `accept(problem)` says which reported
    problems a snapshot is known to have; any other fails the run."""

    def __init__(self, tmp: Path):
        from realfish.runtime import Emulation  # the converter and json_cmp need no runtime

        self._emulation = Emulation
        self.tmp = tmp
        self.running: dict[str, Any] = {}

    def get(self, name: str, accept: Any = None) -> Any:
        from realfish.convert import load_network

        if name not in self.running:
            self.close()
            snap = convert_topotest(topotests_dir() / name, self.tmp / name, overwrite=True)
            emu = self._emulation(load_network(snap))
            self.running[name] = emu
            emu.converge(timeout=300)
            unexpected = [p for p in emu.report.problems if "died" in p or not (accept and accept(p))]
            assert not unexpected, unexpected
        return self.running[name]

    def close(self) -> None:
        for emu in self.running.values():
            emu.close()
        self.running.clear()

