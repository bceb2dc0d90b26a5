"""An expectations file: the assertions `realfish check` judges, read with the line of each.

    description: YouTube / Pakistan Telecom, 24 Feb 2008   # optional
    assertions:
      - name: the hijacked /24 does not reach AS3491's peers  # optional
        assert_route_absent: {nodes: "as1299-telia", prefix: 208.65.153.0/24}
      - assert_flows_succeed:
          startLocation: as1299-telia
          headers: {dstIps: 208.65.153.238, applications: [http]}
      - assert_no_unestablished_bgp_sessions: {}

Each item holds an optional `name` and exactly one assertion of `realfish.assertions.KINDS` with its
parameters (pybatfish's own names for pybatfish's asserts). Anything else is an `ExpectationError` that names
the file, the line and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from realfish.assertions import KINDS, check_params


class ExpectationError(ValueError):
    def __init__(self, message: str, file: str | Path, line: int | None = None):
        self.file, self.line, self.message = str(file), line, message
        super().__init__(f"{file}{f':{line}' if line else ''}: {message}")


@dataclass
class Expectation:
    kind: str
    params: dict[str, Any]
    name: str
    line: int


@dataclass
class Expectations:
    file: str
    description: str
    items: list[Expectation]


class _Mapping(dict[str, Any]):
    line = 0
    key_lines: dict[str, int]


class _Sequence(list[Any]):
    lines: list[int]


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Mapping:
    m = _Mapping({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    m.line = node.start_mark.line + 1
    m.key_lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return m


def _sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> _Sequence:
    seq = _Sequence(loader.construct_sequence(node, deep=True))
    seq.lines = [item.start_mark.line + 1 for item in node.value]
    return seq


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load(path: str | Path) -> Expectations:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ExpectationError(f"cannot read: {e}", p) from None
    try:
        doc: Any = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ExpectationError(f"not valid YAML: {getattr(e, 'problem', None) or e}", p,
                               mark.line + 1 if mark is not None else None) from None
    if not isinstance(doc, _Mapping):
        raise ExpectationError("expected a mapping with `assertions:` (a list of assertions)", p, 1)
    unknown = [k for k in doc if k not in ("assertions", "description")]
    if unknown:
        raise ExpectationError(f"unknown top-level key {unknown[0]!r} (expected assertions, description)", p,
                               doc.key_lines.get(unknown[0]))
    if "assertions" not in doc:
        raise ExpectationError("expected a mapping with `assertions:` (a list of assertions)", p, 1)
    items = doc["assertions"]
    if not isinstance(items, _Sequence) or not items:
        raise ExpectationError("`assertions` must be a non-empty list", p, doc.key_lines.get("assertions"))
    out = []
    for n, item in enumerate(items):
        line = item.line if isinstance(item, _Mapping) else items.lines[n]
        if not isinstance(item, _Mapping):
            raise ExpectationError(f"an assertion is a mapping (`- assert_...: {{...}}`), not {item!r}", p, line)
        kinds = [k for k in item if k != "name"]
        if len(kinds) != 1:
            raise ExpectationError(f"an assertion holds exactly one assertion kind besides `name`; found "
                                   f"{', '.join(kinds) or 'none'}", p, line)
        kind = kinds[0]
        params = item[kind] if item[kind] is not None else {}
        where = item.key_lines.get(kind, line)
        if not isinstance(params, dict):
            raise ExpectationError(f"{kind}: its parameters are a mapping, not {params!r}", p, where)
        why = check_params(kind, params)
        if why:
            key_lines = params.key_lines if isinstance(params, _Mapping) else {}
            bad = next((k for k in params if k not in KINDS[kind][1]), None) if kind in KINDS else None
            raise ExpectationError(why, p, key_lines.get(bad, where) if bad else where)
        out.append(Expectation(kind, dict(params), str(item.get("name") or ""), where or item.line))
    return Expectations(str(p), str(doc.get("description") or ""), out)
