"""The comparison with Batfish's answers excuses a run's varying outcome only where the run's own BGP tables
show it, and nothing else."""

from __future__ import annotations

from typing import Any

from compat_tests.routes_compare import check, raced_aggregates

AGGS = {"as2border1": {"2.128.0.0/16"}, "as2border2": {"2.128.0.0/16"}}


def rib(node: str, *protocols: str) -> list[dict[str, Any]]:
    return [{"Node": {"id": f"node-{node}", "name": node}, "Network": "2.128.0.0/16", "Protocol": p}
            for p in protocols]


def test_raced_only_without_own_aggregate() -> None:
    both = rib("as2border1", "aggregate", "ibgp") + rib("as2border2", "aggregate", "ibgp")
    assert raced_aggregates(both, AGGS) == set()
    raced = rib("as2border1", "aggregate", "ibgp") + rib("as2border2", "ibgp", "ibgp")
    assert raced_aggregates(raced, AGGS) == {"2.128.0.0/16"}
    # no contributing route anywhere: no aggregate and no iBGP copy either, which is not this race
    assert raced_aggregates(rib("as2border1", "bgp"), AGGS) == set()


def test_check_excuses_the_raced_network_only() -> None:
    expectations = {"reasons": {"r": "why"}, "case": [
        {"row": "a | default | 2.128.0.0/16 | aggregate | discard", "ours": None, "batfish": "0 200 -", "why": ["r"]},
        {"row": "a | default | 9.0.0.0/8 | bgp | ip 1.1.1.1", "ours": None, "batfish": "0 20 -", "why": ["r"]}]}
    other = [{"row": "b | default | 2.128.0.0/16 | ibgp | ip 2.1.1.2", "ours": "0 200 -", "batfish": None}]
    listed = [{"row": "a | default | 9.0.0.0/8 | bgp | ip 1.1.1.1", "ours": None, "batfish": "0 20 -"}]
    # without the race the new row is unexplained and the listed aggregate row is missed
    _, problems = check(other + listed, expectations, "case")
    assert len(problems) == 2
    # with it both are excused, but the unrelated listed row must still occur
    assert check(other + listed, expectations, "case", {"2.128.0.0/16"}) == (1, [])
    _, problems = check(other, expectations, "case", {"2.128.0.0/16"})
    assert problems and "9.0.0.0/8" in problems[0]
