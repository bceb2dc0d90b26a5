"""FRR's own integrated config (frr.conf), alone or as part of a Cumulus or SONiC device.

FRR runs it as written: the rendered config of an FRR device is its own text (`Device.frr_passthrough`),
so every FRR behaviour and default the user relies on is kept exactly. The model is still read from it for
the topology (interfaces, addresses), the answerers (ACLs, route-maps) and the parse status. A line realfish's
model does not read is reported as passed through, not as unrecognized: FRR itself reads it, and vtysh
reports it if FRR rejects it.

FRR's CLI does not need indentation (vtysh keeps a command in the current node when it belongs there, as in
FRR's own topotests: `int eth0` / `ip address ...` unindented), so before the common IOS-style reader sees the
tree, lines that belong to an open block are put back under it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from realfish.model import DeviceInterface
from realfish.parsers.ciscolike import CiscoLikeParser
from realfish.parsers.tree import Node, Tree

# Older FRR/Cumulus forms that FRR 8.4.4 rejects and that have the same meaning under another name: 8.4 moved the
# BGP-only lists from `ip` to `bgp` (`ip community-list 11 permit 65001:1` -> `bgp community-list 11 ...`).
_OLD_SYNTAX = re.compile(r"^(\s*(?:no\s+)?)ip(\s+(?:community-list|extcommunity-list|large-community-list|"
                         r"as-path\s+access-list)\s)")


def modernize(text: str) -> tuple[str, list[tuple[int, str]]]:
    """The config in FRR 8.4.4's syntax, line for line (same line numbers), and the lines changed: (1-based line
    number, the line as written)."""
    out, changed = [], []
    for i, line in enumerate(text.split("\n"), 1):
        new = _OLD_SYNTAX.sub(r"\1bgp\2", line, count=1)
        if new != line:
            changed.append((i, line.strip()))
        out.append(new)
    return "\n".join(out), changed

# Sub-commands (by first word, or first two) that keep vtysh inside an open block.
_SUB = {
    "interface": {"description", "shutdown", "mtu", "bandwidth", "link-detect", "multicast", "evpn", "vrrp",
                  "pbr", "isis", "ip address", "ip ospf", "ipv6 address", "ipv6 nd", "ipv6 ospf6", "ip igmp",
                  "ip pim", "no", "link-params", "mpls", "openfabric", "ip rip", "ipv6 mld"},
    "router bgp": {"neighbor", "network", "bgp", "address-family", "exit-address-family", "redistribute",
                   "aggregate-address", "maximum-paths", "timers", "distance", "no", "coalesce-time",
                   "update-delay", "write-quanta", "read-quanta", "table-map", "import", "export", "rd",
                   "rt", "label", "advertise-all-vni", "advertise", "vni", "segment-routing", "sid"},
    "router ospf": {"network", "ospf", "passive-interface", "redistribute", "area", "default-information",
                    "auto-cost", "maximum-paths", "distance", "log-adjacency-changes", "timers", "no",
                    "router-id", "capability", "compatible", "max-metric", "refresh", "write-multiplier",
                    "neighbor", "default-metric", "distribute-list", "mpls-te", "segment-routing"},
    "route-map": {"match", "set", "call", "on-match", "continue", "description"},
}
_NOT_SUB = {"bgp community-list", "bgp as-path", "bgp extcommunity-list", "bgp large-community-list",
            "no ip", "no ipv6", "no router", "no route-map", "no bgp community-list", "no bgp as-path"}


def _block_kind(n: Node) -> str | None:
    w = [x.lower() for x in n.words]
    if w[0] in ("interface", "int") and len(w) >= 2 and "area" not in w[2:3]:
        return "interface"
    if w[0] == "router" and len(w) >= 2 and w[1] in ("bgp", "ospf"):
        return f"router {w[1]}"
    if w[0] == "route-map":
        return "route-map"
    return None


def _unabbreviated(n: Node) -> Node:
    """FRR accepts any unambiguous prefix of a keyword, as its topotests write them (`ip addr`, `shut`): the
    interface commands the model reads, spelt out."""
    w = list(n.words)
    low = [x.lower() for x in w]
    if low[0] in ("ip", "ipv6") and len(w) >= 2 and low[1] != "address" and "address".startswith(low[1]):
        w[1] = "address"
    elif len(low[0]) >= 4 and low[0] != "shutdown" and "shutdown".startswith(low[0]):
        w[0] = "shutdown"
    elif low[0] == "no" and len(w) >= 2 and len(low[1]) >= 4 and "shutdown".startswith(low[1]):
        w[1] = "shutdown"
    return n if w == n.words else replace(n, words=w)


def _belongs(n: Node, kind: str) -> bool:
    w = [x.lower() for x in (_unabbreviated(n) if kind == "interface" else n).words]
    two = " ".join(w[:2])
    if two in _NOT_SUB or " ".join(w[:3]) in _NOT_SUB:
        return False
    return w[0] in _SUB[kind] or two in _SUB[kind]


def renest(tree: Tree) -> Tree:
    """Put unindented block commands back under their block, as vtysh reads them."""
    roots: list[Node] = []
    block: Node | None = None
    kind: str | None = None
    af: Node | None = None
    for n in tree.roots:
        low = n.words[0].lower()
        if block is not None and kind is not None and low in ("exit", "end", "exit-vrf", "quit"):
            block.children.append(n)
            n.parent = block
            block = kind = af = None
            continue
        if block is not None and kind is not None and _belongs(n, kind):
            target = af if af is not None and low != "exit-address-family" else block
            target.children.append(n)
            n.parent = target
            if kind == "router bgp" and low == "address-family":
                af = n
            elif low == "exit-address-family":
                af = None
            continue
        roots.append(n)
        kind = _block_kind(n)
        block = n if kind else None
        af = None
        if kind == "router bgp":  # an indented address-family stays open for unindented lines too
            for c in n.children:
                if c.words[0].lower() == "address-family":
                    af = c
                elif c.words[0].lower() == "exit-address-family":
                    af = None
    return Tree(roots, tree.skipped, tree.lines)


class FrrParser(CiscoLikeParser):
    FORMAT = "FRR"
    EBGP_REQUIRES_POLICY = True  # FRR 8.4's default: eBGP sessions exchange nothing without a policy
    SEND_COMMUNITY_DEFAULT = True
    MAXIMUM_PATHS_DEFAULT = None
    COMMENTS = "!#"
    CANONICAL_NAMES = False
    ADDRESSES_ADD = True  # every `ip address` line adds one (IOS: a second primary replaces the first)

    def tree(self) -> Tree:
        return renest(super().tree())

    def parse(self):  # type: ignore[no-untyped-def]
        device = super().parse()
        text, changed = modernize(self.frr_text())
        for i, old in changed:
            line = self.start_line + i - 1
            self.status.notes = [n for n in self.status.notes if n.line != line]
            self.status.note(line, "translated", old, f"older FRR syntax: run as `{old.replace('ip ', 'bgp ', 1)}` "
                             "(FRR 8.4 names it so)")
        device.frr_passthrough = text
        device.frr_passthrough_file = self.status.file
        device.frr_passthrough_line = self.start_line
        return device

    def frr_text(self) -> str:
        lines = self.text.splitlines()
        end = len(lines) if self.end_line is None else self.end_line
        return "\n".join(lines[self.start_line - 1:end]) + "\n"

    def top(self, n: Node) -> None:
        w = n.words
        if len(w) >= 2 and w[0].lower() == "router" and w[1].lower() == "ospf6":
            self.unrec(n)  # ospf6d runs it as written (docs/ospf.md); Batfish's model has no OSPFv3 either
            return
        if _block_kind(n) is None and w[0].lower() in ("interface", "int"):
            self.unrec(n)  # `interface NAME area A`: ospf6d's area statement, unindented; no interface block
            return
        super().top(n)

    def interface_line(self, iface: DeviceInterface, n: Node) -> None:
        low = [x.lower() for x in n.words[:2]]
        if low[0] == "ipv6" and low[1:] in (["ospf6"], ["ospf"]):  # FRR 8.4 still reads `ipv6 ospf` as ospf6d's
            self.unrec(n)
            return
        super().interface_line(iface, _unabbreviated(n))

    def ipv6_line(self, n: Node, why: str) -> None:
        self.unrec(n)  # FRR runs it as written: IPv6 TCP between routers and IPv6 routes are emulated

    def unrec(self, n: Node, subtree: bool = True) -> None:
        why = "passed to FRR as written (not in realfish's model)"
        self.mark_block(n, "translated", why, why, subtree)
