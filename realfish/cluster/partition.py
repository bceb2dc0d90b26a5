"""Cut a network into parts for a cluster run: balanced by routers, few links between parts.

The graph is the routers' `Network.neighbours()` (a shared L2 segment, or a BGP neighbor address of the other),
each relation an edge. N parts come from recursive bisection: a side of the wanted size grown breadth-first from
one end of the graph (so it starts contiguous), then improved by Kernighan-Lin, which swaps pairs and keeps the
sizes. Deterministic: the same network gives the same parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
from networkx.algorithms.community import kernighan_lin_bisection

from realfish.topology import Network


@dataclass
class Partition:
    parts: list[list[str]]  # router names, each part sorted

    def part_of(self) -> dict[str, int]:
        return {r: i for i, names in enumerate(self.parts) for r in names}


def graph(network: Network) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(sorted(network.routers))
    for name, others in network.neighbours().items():
        for other in others:
            if name < other:
                g.add_edge(name, other, weight=1)
    # a segment shared by more than two routers: every pair talks over it, cutting it costs more
    for seg in network.segments:
        members = sorted({r for r, _ in seg.members})
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                g.edges[a, b]["weight"] = g.edges[a, b].get("weight", 1) + 1
    return g


def _bisect(g: nx.Graph, nodes: list[str], size: int) -> tuple[list[str], list[str]]:
    """`nodes` into a side of `size` nodes and the rest, few edge weights between them."""
    sub = g.subgraph(nodes)
    # grow the first side breadth-first from the node farthest from the first (by name): a contiguous start
    start = sorted(nodes)[0]
    order: list[str] = []
    seen: set[str] = set()
    for root in [max(nx.single_source_shortest_path_length(sub, start).items(), key=lambda kv: (kv[1], kv[0]))[0],
                 *sorted(nodes)]:
        if root in seen:
            continue
        for n in nx.bfs_tree(sub, root, sort_neighbors=sorted):
            if n not in seen:
                seen.add(n)
                order.append(n)
    first, second = set(order[:size]), set(order[size:])
    if first and second:
        a, b = kernighan_lin_bisection(sub, (first, second), weight="weight", seed=0)
        first, second = (a, b) if len(a) == size else (b, a)
    return sorted(first), sorted(second)


def partition(network: Network, n: int) -> Partition:
    """The network's routers in `n` parts whose sizes differ by one at most."""
    names = sorted(network.routers)
    if n < 1:
        raise ValueError("at least one part")
    if n > len(names):
        raise ValueError(f"{n} parts for {len(names)} routers: a part needs a router")
    g = graph(network)

    def cut(nodes: list[str], k: int) -> list[list[str]]:
        if k == 1:
            return [sorted(nodes)]
        half = k // 2
        size = len(nodes) * half // k
        a, b = _bisect(g, nodes, size)
        return cut(a, half) + cut(b, k - half)

    return Partition(cut(names, n))


def links_cut(network: Network, part: Partition) -> dict[str, int]:
    """What crosses between parts: segments with members in more than one part, and router pairs (neighbours:
    a segment or a BGP session) split between parts."""
    where = part.part_of()
    segs = sum(1 for s in network.segments if len({where[r] for r, _ in s.members}) > 1)
    pairs = sum(1 for a, others in network.neighbours().items() for b in others if a < b and where[a] != where[b])
    return {"segments": segs, "neighbour_pairs": pairs}
