"""FRR 8.4.4's own topotests, run under the realfish emulation: the configs as shipped, the links of their
topology.yaml, and their initial-state expectations checked with topotest's json_cmp.

Each check is what FRR's test suite asserts on FRR running in mininet namespaces; here the same daemons run
under libreal with no namespaces, so a failure is a fidelity bug of the emulation.
"""

from __future__ import annotations

import pytest

from compat_tests.topotests import KNOWN_REJECTED, Check, TopotestRuns, json_cmp, load_checks, topotests_dir

pytestmark = pytest.mark.frr

RUNTIME_CORE_TESTS = ["bgp_rr_ibgp", "bgp_ebgp_requires_policy", "bgp_default_route",
                      "bgp_aggregate_address_origin", "bgp_comm_list_delete"]




def _cases(tests: list[str]) -> list[tuple[str, Check]]:
    out = []
    for name in tests:
        for check in load_checks(topotests_dir() / name):
            out.append((name, check))
    return out


@pytest.mark.parametrize("test,check", _cases(RUNTIME_CORE_TESTS),
                         ids=lambda v: v if isinstance(v, str) else f"{v.router}:{v.command}")
def test_initial_state(test: str, check: Check, runs: TopotestRuns) -> None:
    emu = runs.get(test, accept=lambda p: test in KNOWN_REJECTED and KNOWN_REJECTED[test] in p)
    assert check.match == "json_cmp" and check.via == "vtysh"
    actual = emu.show(check.router, check.command)
    diff = json_cmp(actual, check.expected)
    if check.negate:
        assert diff is not None, f"{check.note}: expected a mismatch, got a match"
    else:
        assert diff is None, f"{check.note}\n{diff}"
