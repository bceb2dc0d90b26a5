"""Batfish's specifier grammars (questions/Parameters.md), for the parts realfish's questions take.

Node and interface specifiers: names (case-insensitive, optionally double-quoted), `/regex/` (Java `find`
semantics, case-insensitive), `@role(dim, role)`, `@deviceType(router|host)`, set operations `,` `&` `\\` and
parentheses. Like Batfish, a bare term that is not a name but looks like an old-style regex (`as2.*`) is
matched as a whole-name regex. Enum sets: `A, B`, `/re/`, `!A`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

_TOKEN = re.compile(r'\s*(/(?:[^/\\]|\\.)*/|"[^"]*"|[,&\\()]|@\w+\([^)]*\)|[^,&\\()]+)')


class SpecifierError(ValueError):
    pass


def _tokens(text: str) -> list[str]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or not m.group(1):
            raise SpecifierError(f"cannot parse specifier {text!r} at {text[pos:]!r}")
        out.append(m.group(1).strip())
        pos = m.end()
    return [t for t in out if t]


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.I)
    except re.error as e:
        raise SpecifierError(f"bad regex /{pattern}/: {e}") from None


def _term_matcher(term: str, universe: list[str], funcs: dict[str, Callable[[str], set[str]]]) -> set[str]:
    if term.startswith("/") and term.endswith("/") and len(term) >= 2:
        rx = _regex(term[1:-1])
        return {u for u in universe if rx.search(u)}
    if term.startswith("@"):
        name, _, arg = term[1:].partition("(")
        fn = funcs.get(name.lower())
        if fn is None:
            raise SpecifierError(f"unsupported specifier function @{name}")
        return fn(arg.rstrip(")").strip())
    if term.startswith('"') and term.endswith('"'):
        term = term[1:-1]
    exact = {u for u in universe if u.lower() == term.lower()}
    if exact or not re.search(r"[.*+?\[\]^$|]", term):
        return exact
    rx = _regex(term)  # old-style regex without slashes
    return {u for u in universe if rx.fullmatch(u)}


def resolve(spec: Any, universe: Iterable[str], funcs: dict[str, Callable[[str], set[str]]] | None = None) -> set[str]:
    """The members of `universe` a specifier names; None or "" means all of them."""
    items = list(universe)
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return set(items)
    if isinstance(spec, list):
        return set().union(*(resolve(s, items, funcs) for s in spec)) if spec else set(items)
    fx = funcs or {}
    return _evaluate(spec, lambda t: _term_matcher(t, items, fx))


T = TypeVar("T")


def _evaluate(spec: Any, term: Callable[[str], set[T]]) -> set[T]:
    """The set algebra every specifier shares: terms joined by `,` (union) `&` (intersection) `\\` (difference),
    left to right, with parentheses."""
    toks = _tokens(str(spec))
    pos = 0

    def expr() -> set[T]:
        nonlocal pos
        acc = atom()
        while pos < len(toks) and toks[pos] in (",", "&", "\\"):
            op = toks[pos]
            pos += 1
            rhs = atom()
            acc = acc | rhs if op == "," else acc & rhs if op == "&" else acc - rhs
        return acc

    def atom() -> set[T]:
        nonlocal pos
        if pos >= len(toks):
            raise SpecifierError(f"specifier {spec!r} ends early")
        t = toks[pos]
        pos += 1
        if t == "(":
            inner = expr()
            if pos >= len(toks) or toks[pos] != ")":
                raise SpecifierError(f"specifier {spec!r}: missing )")
            pos += 1
            return inner
        return term(t)

    out = expr()
    if pos != len(toks):
        raise SpecifierError(f"cannot parse specifier {spec!r} near {' '.join(toks[pos:])!r}")
    return out


def nodes(spec: Any, state: Any) -> set[str]:
    """nodeSpec over a snapshot's devices (`state` is a SnapshotState)."""
    devices = state.devices

    def device_type(arg: str) -> set[str]:
        want = arg.strip().lower()
        return {n for n, d in devices.items() if d.kind == want or (want == "router" and d.kind != "host")}

    return resolve(spec, devices, {"devicetype": device_type, "role": lambda _arg: set()})


def enum_set(spec: Any, values: Iterable[str]) -> set[str]:
    """enumSetSpec: `A, B`, `/regex/`, `!A`, `!/regex/`; None or "" is every value."""
    vals = list(values)
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return set(vals)
    if isinstance(spec, list):
        spec = ",".join(str(s) for s in spec)
    pos: set[str] = set()
    neg: set[str] = set()
    any_pos = False
    for raw in str(spec).split(","):
        term = raw.strip()
        if not term:
            continue
        target = neg if term.startswith("!") else pos
        term = term[1:].strip() if term.startswith("!") else term
        any_pos |= target is pos
        if term.startswith("/") and term.endswith("/") and len(term) >= 2:
            rx = _regex(term[1:-1])
            target |= {v for v in vals if rx.search(v)}
        else:
            hit = {v for v in vals if v.lower() == term.lower()}
            if not hit:
                raise SpecifierError(f"unknown value {term!r}; expected one of {', '.join(vals)}")
            target |= hit
    return (pos if any_pos else set(vals)) - neg


def interfaces(spec: Any, state: Any, node_set: set[str] | None = None) -> set[tuple[str, str]]:
    """interfaceSpec: `node[iface]`, `iface` names or `/regex/` over interface names, `@interfaceType(t)`,
    with set operations. Returns (node, user interface name) pairs, limited to `node_set` if given."""
    pairs = [(n, i) for n, d in state.devices.items() if node_set is None or n in node_set
             for i in d.interfaces]
    keys = {f"{n}[{i}]": (n, i) for n, i in pairs}
    by_name: dict[str, set[str]] = {}
    for k, (_n, i) in keys.items():
        by_name.setdefault(i.lower(), set()).add(k)

    def itype(arg: str) -> set[str]:
        want = arg.strip().lower()
        return {k for k, (n, i) in keys.items() if state.devices[n].interfaces[i].kind == want}

    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return set(pairs)
    out: set[str] = set()
    for term in [t.strip() for t in str(spec).split(",")]:
        m = re.fullmatch(r"(.+)\[(.+)\]", term)
        if m:
            ns = resolve(m.group(1), state.devices)
            ifs = m.group(2).strip()
            rx = _regex(ifs[1:-1]) if ifs.startswith("/") and ifs.endswith("/") else None
            out |= {k for k, (n, i) in keys.items() if n in ns and (rx.search(i) if rx else i.lower() == ifs.lower())}
        elif term.startswith("@interfacetype(") or term.lower().startswith("@interfacetype("):
            out |= itype(term[term.index("(") + 1:].rstrip(")"))
        elif term.startswith("/") and term.endswith("/"):
            rx = _regex(term[1:-1])
            out |= {k for k, (_n, i) in keys.items() if rx.search(i)}
        else:
            out |= by_name.get(term.strip('"').lower(), set())
    return {keys[k] for k in out}


# -- locations (locationSpec) --------------------------------------------------------------------------------

Location = tuple[str, str, str]  # (kind, node, interface); kind "interface" (InterfaceLocation) or "link"


def locations(spec: Any, state: Any) -> set[Location]:
    """locationSpec: a nodeTerm (every interface of those nodes), `node[iface]`, `@vrf(v)`, `@connectedTo(ip)`,
    each an InterfaceLocation, or `@enter(...)` of one of those for the InterfaceLinkLocations (packets about to
    enter the interface); with `,` `&` `\\` and parentheses."""

    def interface_term(term: str) -> set[tuple[str, str]]:
        low = term.lower()
        if low.startswith("@vrf("):
            want = term[term.index("(") + 1:-1].strip().strip('"').lower()
            return {(n, i) for n, d in state.devices.items() for i, f in d.interfaces.items()
                    if (f.vrf or "default").lower() == want}
        if low.startswith("@connectedto("):
            arg = term[term.index("(") + 1:-1].strip()
            try:
                net = ipaddress.ip_network(arg, strict=False)
            except ValueError:
                raise SpecifierError(f"@connectedTo({arg}): not an IP address or prefix") from None
            return {(n, i) for n, d in state.devices.items() for i, f in d.interfaces.items()
                    if any(a.network.overlaps(net) for a in f.addresses if a.version == net.version)}
        if term.startswith("@"):
            raise SpecifierError(f"unsupported location function {term}")
        if "[" in term:
            return interfaces(term, state)
        return {(n, i) for n in nodes(term, state) for i in state.devices[n].interfaces}

    def term_locations(term: str) -> set[Location]:
        if term.lower().startswith("@enter(") and term.endswith(")"):
            return {("link", n, i) for n, i in interface_term(term[len("@enter("):-1].strip())}
        return {("interface", n, i) for n, i in interface_term(term)}

    return _evaluate(spec, term_locations)
