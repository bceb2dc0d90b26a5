"""FRR 8.4.4's OSPF topotests under the realfish emulation: ospf_topo1 (OSPFv2 areas 0 and 1, a LAN, an ABR) and
bgp_features (an OSPFv2 triangle carrying iBGP between loopbacks, plus eBGP), configs as shipped.

What is checked, per upstream expectation (../shared/compat/frr-topotests/<test>/expectations.json):
- vtysh JSON checks with topotest's json_cmp (neighbours Full, `show ip ospf json` counters, BGP summaries);
- `show ip ospf route` text, compared line by line after topotest's normalize_text(), as router_output_cmp does;
- `ip route` (the kernel FIB in upstream's namespaces): here the emulated FIB, rendered the way topotest's
  ip4_route() reads `ip route` output, then json_cmp. There is no kernel FIB under the emulation; the emulated
  FIB is what zebra installed through (emulated) netlink, which is what `ip route` shows on a real router.
- `ip -6 route` likewise (topotest's ip6_route()); `show ipv6 ospf6 route` text with upstream's
  compare_show_ipv6_ospf6() masking (link-local addresses, uptimes), and upstream's choice between the ECMP and
  the pre-ECMP expected files (decided on r1, then kept for r2-r4).
Added, not upstream initial-state checks (EXTRA below, each with its reason).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from compat_tests.topotests import KNOWN_REJECTED, Check, TopotestRuns, json_cmp, load_checks, topotests_dir
from realfish.runtime import Emulation

TESTS = ["ospf_topo1", "bgp_features"]
OSPF6_MASK = "compare_show_ipv6_ospf6"  # text_normalisation of upstream's `show ipv6 ospf6 route` checks

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
            ident = f"{test}:{check.index}:{check.router}:{check.command}"
            out.append(pytest.param(test, check, id=ident))
    return out


def _ospf6_matter(problem: str) -> bool:
    """The problems these snapshots have, all about OSPFv3: its lines rejected by vtysh once its section has gone
    wrong: the merged config has ospf6d.conf's `int X` right after `router ospf6`,
    where vtysh reads it as ospf6d's `interface X area A` (incomplete) and stays in that node, so the `ipv6 ospf6`
    lines under it are unknown there. vtysh parses on its own, so a real FRR with ospf6d does the same."""
    return "ospf6" in problem or ("'int " in problem and "Command incomplete" in problem)


def normalize_text(text: str) -> str:
    """topotest's normalize_text(): runs of blanks to one space, no CR, no blanks before a newline, no tail."""
    text = re.sub(r"[ \t]+", " ", text)
    text = text.replace("\r", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return text.rstrip()


def mask_ospf6(text: str) -> str:
    """compare_show_ipv6_ospf6()'s masking: link-local next hops (they follow the MACs) and uptimes."""
    return re.sub(r"\d+:\d{2}:\d{2}", "", re.sub(r"fe80::[^ ]+", "fe80::xxxx:xxxx:xxxx:xxxx", text))


# topotest's proto_name_to_number(): `ip route` prints the numbers FRR's zebra gives its protocols.
PROTO_NUMBERS = {"bgp": "186", "isis": "187", "ospf": "188", "rip": "189", "ripng": "190", "static": "196",
                 "ospf6": "197"}


def ip_route_view(emu: Emulation, router: str, v6: bool = False) -> dict[str, dict[str, str]]:
    """The emulated FIB as topotest's ip4_route() reads `ip route` ({prefix: {dev, via, proto, metric, scope}}), or
    with v6 as its ip6_route() reads `ip -6 route` ({prefix: {dev, via, proto, metric}})."""
    out: dict[str, dict[str, str]] = {}
    host = "/128" if v6 else "/32"
    for e in emu.fib(router):
        if (":" in e.prefix) != v6:
            continue
        prefix = e.prefix[:-len(host)] if e.prefix.endswith(host) else e.prefix  # `ip route` prints hosts bare
        route: dict[str, str] = {}
        if len(e.nexthops) == 1:  # ECMP routes print their nexthops on lines of their own
            hop = e.nexthops[0]
            if hop.ip:
                route["via"] = hop.ip
            if hop.interface:
                route["dev"] = hop.interface
        route["proto"] = "kernel" if e.protocol == "connected" else PROTO_NUMBERS.get(e.protocol, e.protocol)
        if e.protocol == "connected" and not v6:
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
        assert check.command in ("ip route", "ip -6 route"), f"no emulated equivalent of {check.command!r}"
        actual: Any = ip_route_view(emu, check.router, v6=check.command == "ip -6 route")
    else:
        actual = emu.show(check.router, check.command)
    if check.match == "text":
        ospf6 = (check.text_normalisation or "").startswith(OSPF6_MASK)
        want = check.expected
        if check.alt_expected is not None and _pre_ecmp(test, check, emu):
            want = check.alt_expected
        assert _text_lines(str(actual), ospf6) == _text_lines(str(want), ospf6), f"{check.note}\n{actual}"
        return
    diff = json_cmp(actual, check.expected)
    if check.negate:
        assert diff is not None, f"{check.note}: expected a mismatch, got a match"
    else:
        assert diff is None, f"{check.note}\n{diff}"


def _text_lines(text: str, ospf6: bool) -> list[str]:
    """topotest's normalize_text() and difflines()' rstrip, after compare_show_ipv6_ospf6()'s masking for ospf6."""
    return [line.rstrip() for line in normalize_text(mask_ospf6(text) if ospf6 else text).splitlines()]


def _pre_ecmp(test: str, check: Check, emu: Emulation) -> bool:
    """Upstream's test_ospf6_convergence: the ECMP files unless r1's output fails them and matches its pre-ECMP
    file, in which case every router is held to its pre-ECMP file."""
    first = next(c for c in _all_checks(test) if c.command == check.command and c.router == "r1")
    r1 = _text_lines(str(emu.show("r1", check.command)), True)
    return r1 != _text_lines(str(first.expected), True) and r1 == _text_lines(str(first.alt_expected), True)


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
