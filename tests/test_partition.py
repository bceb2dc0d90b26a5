"""Cutting a network into parts (realfish.cluster.partition): balanced, few links cut, deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("networkx")

from realfish import topogen  # noqa: E402
from realfish.cluster.partition import links_cut, partition  # noqa: E402


@pytest.mark.parametrize("k,n", [(4, 2), (4, 3), (8, 2), (8, 4), (8, 3)])
def test_fattree_parts_balanced_and_whole(tmp_path: Path, k: int, n: int) -> None:
    net = topogen.fattree(k, tmp_path / "ft")
    p = partition(net, n)
    assert len(p.parts) == n
    sizes = [len(x) for x in p.parts]
    assert max(sizes) - min(sizes) <= 1
    assert sorted(r for part in p.parts for r in part) == sorted(net.routers)
    assert partition(net, n).parts == p.parts  # deterministic


def test_fattree_cut_beats_alternating(tmp_path: Path) -> None:
    """A k=8 fat-tree in 2: fewer links cut than dealing routers out by name (a cut that ignores the graph)."""
    net = topogen.fattree(8, tmp_path / "ft")
    p = partition(net, 2)
    names = sorted(net.routers)
    from realfish.cluster.partition import Partition

    dealt = Partition([names[0::2], names[1::2]])
    ours, theirs = links_cut(net, p)["segments"], links_cut(net, dealt)["segments"]
    assert ours < theirs
    # a fat-tree's bisection width is k^3/8 links (half the pods on each side, the cores split by group)
    assert ours <= 8**3 // 8


def test_grid_in_three(tmp_path: Path) -> None:
    net = topogen.ospf_ibgp_grid(3, 4, tmp_path / "grid")
    p = partition(net, 3)
    assert [len(x) for x in p.parts] == [4, 4, 4]
    assert links_cut(net, p)["segments"] > 0


def test_one_part_cuts_nothing(tmp_path: Path) -> None:
    net = topogen.fattree(4, tmp_path / "ft")
    p = partition(net, 1)
    assert p.parts == [sorted(net.routers)]
    assert links_cut(net, p) == {"segments": 0, "neighbour_pairs": 0}


def test_too_many_parts(tmp_path: Path) -> None:
    net = topogen.chain(2, tmp_path / "c")
    with pytest.raises(ValueError, match="a part needs a router"):
        partition(net, 3)
