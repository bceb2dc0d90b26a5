"""FRR 8.4.4's OSPF topotests under the realfish emulation: ospf_topo1 (OSPFv2 areas 0 and 1, a LAN, an ABR) and
bgp_features (an OSPFv2 triangle carrying iBGP between loopbacks, plus eBGP), configs as shipped.

What is checked, per upstream expectation (../shared/compat/frr-topotests/<test>/expectations.json):
- vtysh JSON checks with topotest's json_cmp (neighbours Full, `show ip ospf json` counters, BGP summaries);
- `show ip ospf route` text, compared line by line after topotest's normalize_text(), as router_output_cmp does;
- `ip route` (the kernel FIB in upstream's namespaces): here the emulated FIB, rendered the way topotest's
  ip4_route() reads `ip route` output, then json_cmp. There is no kernel FIB under the emulation; the emulated
  FIB is what zebra installed through (emulated) netlink, which is what `ip route` shows on a real router.
Added, not upstream initial-state checks (EXTRA below, each with its reason).
Skipped, with the reason stated in SKIPPED: every OSPFv3 check (ospf6d is not emulated).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from compat_tests.topotests import KNOWN_REJECTED, Check, TopotestRuns, json_cmp, load_checks, topotests_dir
from realfish.runtime import Emulation

TESTS = ["ospf_topo1", "bgp_features"]
OSPF6_REASON = "OSPFv3 not emulated (ospf6d needs raw IPv6 sockets, which libreal does not emulate yet)"

# Upstream checks left out, by (test, index in expectations.json): every IPv6 check of ospf_topo1 (its IPv6
# routes come from OSPFv3 only).
SKIPPED = {("ospf_topo1", i): OSPF6_REASON for i in (*range(8, 16), *range(24, 32))}

# Upstream checks that upstream runs only after reconfiguring the routers back to the shipped config; they hold
# for the configs as shipped, which is the state a realfish snapshot has. The issue asks for exactly these.
EXTRA = {
    ("bgp_features", 23): "r1 `show ip bgp json` with the shipped route-maps (upstream: after removing the "
                          "metric route-maps again)",
    ("bgp_features", 24): "r2 `show ip bgp json`, same",
    ("bgp_features", 31): "r1 `show ip route json` with BGP in zebra (upstream: after `no bgp no-rib`)",
}


def _all_checks(test: str) -> list[Check]:
    tdir = topotests_dir() / test
    checks = load_checks(tdir)
    if any(t == test for t, _ in EXTRA):
        entries = json.loads((tdir / "expectations.json").read_text())
        for (t, i), why in EXTRA.items():
            if t == test:
                e = entries[i]
                checks.append(Check(router=e["router"], command=e["command"],
                                    expected=json.loads((tdir / e["expected_file"]).read_text()),
                                    note=f"{why}: {e.get('note', '')}", index=i))
    return checks


def _cases() -> list[Any]:
    out = []
    for test in TESTS:
        for check in _all_checks(test):
            reason = SKIPPED.get((test, check.index))
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            ident = f"{test}:{check.index}:{check.router}:{check.command}"
            out.append(pytest.param(test, check, marks=marks, id=ident))
    return out


def _ospf6_matter(problem: str) -> bool:
    """The problems these snapshots have, all about OSPFv3: its lines, reported as not supported, and rejected by
    vtysh once its section has gone wrong: the merged config has ospf6d.conf's `int X` right after `router ospf6`,
    where vtysh reads it as ospf6d's `interface X area A` (incomplete) and stays in that node, so the `ipv6 ospf6`
    lines under it are unknown there. vtysh parses on its own, so a real FRR with ospf6d does the same."""
    return "OSPFv3" in problem or "ospf6" in problem or ("'int " in problem and "Command incomplete" in problem)


def normalize_text(text: str) -> str:
    """topotest's normalize_text(): runs of blanks to one space, no CR, no blanks before a newline, no tail."""
    text = re.sub(r"[ \t]+", " ", text)
    text = text.replace("\r", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return text.rstrip()


def ip_route_view(emu: Emulation, router: str) -> dict[str, dict[str, str]]:
    """The emulated FIB as topotest's ip4_route() reads `ip route`: {prefix: {dev, via, proto, metric, scope}}."""
    out: dict[str, dict[str, str]] = {}
    for e in emu.fib(router):
        if ":" in e.prefix:
            continue
        prefix = e.prefix[:-3] if e.prefix.endswith("/32") else e.prefix  # `ip route` prints hosts bare
        route: dict[str, str] = {}
        if len(e.nexthops) == 1:  # ECMP routes print their nexthops on lines of their own
            hop = e.nexthops[0]
            if hop.ip:
                route["via"] = hop.ip
            if hop.interface:
                route["dev"] = hop.interface
        route["proto"] = "kernel" if e.protocol == "connected" else e.protocol
        if e.protocol == "connected":
            route["scope"] = "link"
        elif e.metric:
            route["metric"] = str(e.metric)
        out[prefix] = route
    return out


@pytest.mark.frr
@pytest.mark.parametrize("test,check", _cases())
def test_ospf_topotest(test: str, check: Check, runs: TopotestRuns) -> None:
    emu = runs.get(test, accept=lambda p: _ospf6_matter(p) or (test in KNOWN_REJECTED and KNOWN_REJECTED[test] in p))
    if check.via == "shell":
        assert check.command == "ip route", f"no emulated equivalent of shell command {check.command!r}"
        actual: Any = ip_route_view(emu, check.router)
    else:
        actual = emu.show(check.router, check.command)
    if check.match == "text":
        want, got = normalize_text(str(check.expected)).splitlines(), normalize_text(str(actual)).splitlines()
        assert [line.rstrip() for line in got] == [line.rstrip() for line in want], f"{check.note}\n{actual}"
        return
    diff = json_cmp(actual, check.expected)
    if check.negate:
        assert diff is not None, f"{check.note}: expected a mismatch, got a match"
    else:
        assert diff is None, f"{check.note}\n{diff}"


@pytest.mark.frr
def test_ospf_topo1_zebra_has_ospf_routes(runs: TopotestRuns) -> None:
    """Not upstream: what `show ip route json` says of the six IPv4 prefixes upstream's `ip route` check names
    (selected, and installed in the FIB: libreal's netlink acknowledged the install)."""
    emu = runs.get("ospf_topo1", accept=_ospf6_matter)
    prefixes = ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24", "10.0.10.0/24", "172.16.0.0/24", "172.16.1.0/24"]
    for router in ("r1", "r2", "r3", "r4"):
        routes = emu.show(router, "show ip route json")
        for prefix in prefixes:
            best = [r for r in routes.get(prefix, []) if r.get("selected")]
            assert best and best[0].get("installed"), (router, prefix, routes.get(prefix))
            assert best[0]["protocol"] in ("connected", "ospf"), (router, prefix, best[0])
