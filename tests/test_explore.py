"""Exploring orders of events: the seeds' boot orders, and the FIB entries that differ between runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from realfish import explore, topogen
from realfish.runtime.emulation import BOOT_GAP, boot_gaps

BLACKHOLE = {"prefix": "2.128.0.0/16", "protocol": "bgp", "nexthops": [{"ip": None, "interface": "blackhole"}]}
VIA_IBGP = {"prefix": "2.128.0.0/16", "protocol": "bgp", "nexthops": [{"ip": "2.12.11.2", "interface": "g1"}]}
OTHER = {"prefix": "10.0.0.0/8", "protocol": "ospf", "nexthops": [{"ip": "10.1.1.1", "interface": "g0"}]}


def test_varying_lists_each_outcome_with_counts_and_seeds() -> None:
    runs = [(0, {"b1": [BLACKHOLE, OTHER], "b2": [OTHER]}),
            (1, {"b1": [VIA_IBGP, OTHER], "b2": [OTHER]}),
            (2, {"b1": [BLACKHOLE, OTHER], "b2": [OTHER]}),
            (3, {"b1": [OTHER], "b2": [OTHER]})]
    [v] = explore.varying(runs)  # OTHER is the same everywhere: not listed
    assert (v["router"], v["prefix"]) == ("b1", "2.128.0.0/16")
    assert [(o["fib"], o["count"], o["seeds"], o["seed"]) for o in v["outcomes"]] == [
        ([BLACKHOLE], 2, [0, 2], 0), ([VIA_IBGP], 1, [1], 1), (None, 1, [3], 3)]
    lines = explore.summary({"orders": 4, "seeds": [0, 1, 2, 3], "varying": [v]})
    assert "1 FIB entries differ" in lines[0]
    assert lines[1] == ("  b1 2.128.0.0/16: bgp via blackhole (2x, --seed 0) | bgp via 2.12.11.2 (1x, --seed 1) | "
                        "no route (1x, --seed 3)")
    assert explore.varying(runs[:1]) == []


def test_seeds_boot_in_other_orders_and_phases(tmp_path: Path) -> None:
    net = topogen.fattree(4, tmp_path)
    assert net.boot_batches(16) == net.boot_batches(16, 0)
    assert net.boot_batches(16, 7) == net.boot_batches(16, 7)  # a seed is an order, the same each time
    shuffled = {tuple(map(tuple, net.boot_batches(16, s))) for s in range(1, 6)}
    assert len(shuffled) > 1
    adj = net.neighbours()
    for s in range(1, 6):
        batches = net.boot_batches(16, s)
        assert sorted(n for b in batches for n in b) == sorted(net.routers)
        assert all(not adj[n].intersection(b) for b in batches for n in b)
    assert boot_gaps(3, 0) == [0.0, BOOT_GAP, BOOT_GAP]
    gaps = boot_gaps(4, 5)
    assert gaps == boot_gaps(4, 5) and gaps[0] == 0.0
    assert all(BOOT_GAP <= g < BOOT_GAP + 1 and abs(g * 1000 - round(g * 1000)) < 1e-6 for g in gaps[1:])
    assert len({g % 1 for g in gaps[1:]}) > 1  # other phases of FRR's whole-second timers


@pytest.mark.frr
def test_converge_explore_reports_orders(tmp_path: Path) -> None:
    """A network with one outcome: every order gives the same FIBs, and the report says which orders ran."""
    snap = tmp_path / "snap"
    topogen.ring(3, snap)
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "realfish.cli", "converge", str(snap), "--json", str(out),
                           "--explore", "3", "--seed", "4"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["explore"]["orders"] == 3 and doc["explore"]["seeds"] == [4, 5, 6]
    assert doc["explore"]["varying"] == [] and all(doc["explore"]["converged"].values())
    assert doc["order"]["seed"] == 4 and sorted(n for b in doc["order"]["boot"] for n in b) == ["r0", "r1", "r2"]
    assert "explored 3 orders" in proc.stderr
