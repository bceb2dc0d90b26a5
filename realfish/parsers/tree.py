"""IOS-style configuration text as a tree of lines, each with its 1-based line number.

`parse_tree(text)` nests every line under the nearest less-indented line above it (`interface X` owns its
` ip address` lines, `router bgp` owns ` address-family ipv4`, which owns `  neighbor ... activate`). Comment
lines (`!`, and `#` when asked), blank lines and banner bodies are not nodes; they come back in `skipped`
with the reason, so the parsers can account for every line of the file.

Why not ciscoconfparse2: see realfish/parsers/__init__.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_BANNER_RE = re.compile(r"^banner\s+\S+\s*(.*)$", re.I)


@dataclass
class Node:
    line: int  # 1-based
    indent: int
    text: str  # stripped
    words: list[str]
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            yield from c.walk()

    @property
    def context(self) -> str:
        """The enclosing block lines, outermost first, e.g. `router bgp 2 > address-family ipv4`."""
        parts = []
        p = self.parent
        while p is not None:
            parts.append(p.text)
            p = p.parent
        return " > ".join(reversed(parts))


@dataclass
class Tree:
    roots: list[Node]
    skipped: list[tuple[int, str, str]]  # (line, text, why): comments, banner bodies
    lines: int

    def walk(self) -> Iterator[Node]:
        for r in self.roots:
            yield from r.walk()


def _indent(raw: str) -> int:
    n = 0
    for ch in raw:
        if ch == " ":
            n += 1
        elif ch == "\t":
            n += 8 - n % 8
        else:
            break
    return n


def parse_tree(text: str, comments: str = "!", start_line: int = 1, end_line: int | None = None) -> Tree:
    """Build the tree of `text` (lines start_line..end_line, 1-based, inclusive)."""
    all_lines = text.splitlines()
    last = len(all_lines) if end_line is None else min(end_line, len(all_lines))
    roots: list[Node] = []
    skipped: list[tuple[int, str, str]] = []
    stack: list[Node] = []
    banner_end: str | None = None
    for idx in range(start_line - 1, last):
        raw = all_lines[idx]
        lineno = idx + 1
        stripped = raw.strip()
        if banner_end is not None:
            skipped.append((lineno, stripped, "banner text"))
            if banner_end in raw:
                banner_end = None
            continue
        if not stripped:
            continue
        if stripped[0] in comments:
            skipped.append((lineno, stripped, "comment"))
            continue
        indent = _indent(raw)
        m = _BANNER_RE.match(stripped)
        if m and indent == 0:
            rest = m.group(1)
            delim = "^C" if rest.startswith("^C") else rest[:1]
            if delim and delim not in rest[len(delim):]:
                banner_end = delim
            skipped.append((lineno, stripped, "banner"))
            continue
        node = Node(lineno, indent, stripped, stripped.split())
        while stack and stack[-1].indent >= indent:
            stack.pop()
        if stack:
            node.parent = stack[-1]
            stack[-1].children.append(node)
        else:
            roots.append(node)
        stack.append(node)
    return Tree(roots, skipped, last)
