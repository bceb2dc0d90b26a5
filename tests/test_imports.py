"""The import graph, read from the code's own import statements (type-only ones included): no cycle between
realfish modules, and no layer importing a layer above it.

Layers, lowest first; a module may import its own layer and those below. A module not listed here fails the
test until it is given a layer, so the table stays whole.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "realfish"

LAYERS: list[tuple[str, list[str]]] = [
    # plain data, and the thin wrappers of external programs everything may use
    ("data", ["realfish", "realfish.topology", "realfish.model", "realfish.status", "realfish.progress",
              "realfish.frr", "realfish.clean", "realfish.report", "realfish.summary", "realfish.dataplane",
              "realfish.explore"]),
    ("parsers", ["realfish.parsers*", "realfish.snapshot", "realfish.announcements", "realfish.isp"]),
    ("render", ["realfish.render", "realfish.speakers", "realfish.topogen"]),
    ("convert", ["realfish.convert", "realfish.rejected"]),
    ("runtime", ["realfish.runner", "realfish.runtime*", "realfish.baseline", "realfish.rtnetlink", "realfish.ospf"]),
    ("convergence", ["realfish.convergence"]),
    # a network cut into parts, each an emulation in a Ray actor, under one virtual clock
    ("cluster", ["realfish.cluster*"]),
    ("answers", ["realfish.answers*", "realfish.questions", "realfish.assertions", "realfish.expectations"]),
    ("tools", ["realfish.diff*", "realfish.check", "realfish.ask"]),
    ("service", ["realfish.service*"]),
    ("cli", ["realfish.cli", "realfish.demo"]),
]

# Cycles that are known, each with the work that removes it; the test fails when one is gone, so the list shrinks.
KNOWN_CYCLES: dict[frozenset[str], str] = {}


def modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The realfish modules `name` imports: `from pkg import sub` counts as sub when sub is a module."""

    def owner(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {owner(a.name) for a in node.names if a.name.split(".")[0] == "realfish"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            if base.split(".")[0] == "realfish":
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else owner(base) for a in node.names}
    return {m for m in found if m and m != name}


@functools.cache
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def layer_of(module: str) -> int:
    for rank, (_, patterns) in enumerate(LAYERS):
        for p in patterns:
            if module == p.rstrip("*") or (p.endswith("*") and module.startswith(p[:-1] + ".")):
                return rank
    raise LookupError(module)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_reader_sees_the_imports() -> None:
    g = graph()
    assert "realfish.answers.state" in g["realfish.answers.routes"]
    assert "realfish.runtime.emulation" in g["realfish.runtime"]  # `from realfish.runtime.emulation import ...`
    assert "realfish.answers.table" in g["realfish.answers.bgp"]  # `from realfish.answers import table as tbl`


def test_every_module_has_a_layer() -> None:
    missing = []
    for m in graph():
        try:
            layer_of(m)
        except LookupError:
            missing.append(m)
    assert missing == [], "give these modules a layer in LAYERS"


def test_no_layer_imports_one_above_it() -> None:
    g = graph()
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {d} ({LAYERS[layer_of(d)][0]})"
              for m, deps in sorted(g.items()) for d in sorted(deps) if layer_of(d) > layer_of(m)]
    assert upward == []


def test_no_import_cycles() -> None:
    found = {frozenset(c) for c in cycles(graph())}
    assert sorted(sorted(c) for c in found - KNOWN_CYCLES.keys()) == []
    gone = KNOWN_CYCLES.keys() - found
    if gone:
        pytest.fail(f"no longer a cycle, remove it from KNOWN_CYCLES: {[sorted(c) for c in gone]}")
