"""Answerers: Batfish questions answered from the routers' own tables (`realfish.dataplane`) and the parsed
configs (`realfish.model`).

`answer(question, snapshot, reference)` takes the question JSON exactly as pybatfish uploads it and returns the
Answer JSON. Each answerer module registers itself for a Batfish question class (and, for the classes Batfish
reuses, the fixed top-level field that tells them apart: `rib`, `edgeType`).

With a reference snapshot, the answer is differential as Batfish's is: Batfish's generic table diff of the
answers on both snapshots (`table.differential`) unless the question has a diff of its own, which its answerer
then computes from both snapshots (routes, traceroute) or realfish does not give (bgpRib).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

from realfish.answers import specifiers, table
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column

Answerer = Callable[[dict[str, Any], SnapshotState, "SnapshotState | None"], dict[str, Any]]

# How an answerer answers with a reference snapshot (see the module docstring)
TABLE_DIFF, OWN_DIFF, NO_DIFF = "table", "own", "none"
_REGISTRY: dict[tuple[str, str | None], tuple[Answerer, str]] = {}
_MODULES = ("routes", "bgp", "properties", "ospfsessions", "traceroute", "reachability", "configuration",
            "filtersearch", "structures", "namedstructures")
PREFIX = "org.batfish.question."


class UnsupportedQuestion(ValueError):
    """A question realfish does not answer (or a parameter value it does not support)."""


def answerer(cls: str, variant: str | None = None, diff: str = TABLE_DIFF) -> Callable[[Answerer], Answerer]:
    """Register for question class `cls` (without the org.batfish.question. prefix) and, optionally, the value
    of the class's discriminating field (rib for RoutesQuestion, edgeType for EdgesQuestion). `diff`: TABLE_DIFF
    (the answerer is only ever given reference=None), OWN_DIFF (it gets the reference) or NO_DIFF."""

    def deco(fn: Answerer) -> Answerer:
        _REGISTRY[(cls, variant)] = (fn, diff)
        return fn

    return deco


def _load() -> None:
    for m in _MODULES:  # each registers its answerers when first imported (a no-op later)
        importlib.import_module(f"realfish.answers.{m}")


# class -> (discriminating field, its value when absent)
_VARIANT_FIELD = {"routes.RoutesQuestion": ("rib", "main"), "edges.EdgesQuestion": ("edgeType", "layer3")}


def variable(question: dict[str, Any], name: str, default: Any = None) -> Any:
    """A parameter's value as pybatfish sent it: instance.variables.<name>.value, else the default."""
    var = (question.get("instance") or {}).get("variables", {}).get(name)
    if isinstance(var, dict) and var.get("value") is not None:
        return var["value"]
    top = question.get(name)
    if top is not None and not (isinstance(top, str) and top.startswith("${")):
        return top
    return default


def flag(question: dict[str, Any], name: str, default: bool = False) -> bool:
    """A boolean parameter: a JSON boolean as pybatfish sends it, or its text."""
    value = variable(question, name, default)
    return value is True or str(value).strip().lower() == "true"


def node_set(question: dict[str, Any], name: str, snapshot: SnapshotState) -> set[str]:
    """A nodeSpec parameter's nodes (every node when it is unset)."""
    try:
        return specifiers.nodes(variable(question, name), snapshot)
    except specifiers.SpecifierError as e:
        raise UnsupportedQuestion(f"{name}: {e}") from None


def enum_param(question: dict[str, Any], name: str, values: Iterable[str],
               default: Iterable[str] | None = None) -> set[str]:
    """An enumSetSpec parameter's values (`default`, else every value, when it is unset)."""
    spec = variable(question, name)
    if default is not None and (spec is None or (isinstance(spec, str) and not spec.strip())):
        return set(default)
    try:
        return specifiers.enum_set(spec, values)
    except specifiers.SpecifierError as e:
        raise UnsupportedQuestion(f"{name}: {e}") from None


def property_columns(question: dict[str, Any], properties: dict[str, Column], *,
                     allowed: Iterable[str] | None = None, default: Iterable[str] | None = None,
                     declared_order: bool = False) -> list[Column]:
    """The value columns a `properties` parameter selects from `properties` (table.columns_by_name):
    sorted by name as Batfish's property specifiers sort them, or in `properties`' own order where the answerer
    keeps a fixed one. `allowed`: the names the parameter accepts, if more than `properties`."""
    wanted = enum_param(question, "properties", allowed if allowed is not None else properties, default)
    names = [p for p in properties if p in wanted] if declared_order else sorted(wanted & set(properties))
    return [properties[p] for p in names]


def _lookup(question: dict[str, Any]) -> tuple[tuple[Answerer, str] | None, str]:
    """The registered answerer of a question (or template) JSON, and the question as the error names it."""
    _load()
    cls = str(question.get("class", ""))
    short = cls[len(PREFIX):] if cls.startswith(PREFIX) else cls
    field, default = _VARIANT_FIELD.get(short, (None, None))
    variant = str(variable(question, field) or default).lower() if field else None
    name = (question.get("instance") or {}).get("instanceName", cls)
    return _REGISTRY.get((short, variant)), f"{name} (class {cls}{f', {field}={variant}' if field else ''})"


def answers_question(question: dict[str, Any]) -> bool:
    """Whether realfish answers a question (or a question template, with its parameters' default values)."""
    return _lookup(question)[0] is not None


def answer(question: dict[str, Any], snapshot: SnapshotState, reference: SnapshotState | None = None) -> dict[str, Any]:
    found, what = _lookup(question)
    if found is None:
        raise UnsupportedQuestion(f"realfish does not answer this question: {what}; supported: "
                                  f"{', '.join(supported())}")
    fn, diff = found
    if reference is None or diff == OWN_DIFF:
        return fn(question, snapshot, reference)
    if diff == NO_DIFF:
        raise UnsupportedQuestion(f"{what}: realfish does not give this question's differential answer")
    ours, theirs = (fn(question, s, None)["answerElements"][0] for s in (snapshot, reference))
    columns = [table.Column.from_json(c) for c in ours["metadata"]["columnMetadata"]]
    return table.answer(question, table.differential(columns, ours["rows"], theirs["rows"],
                                                     question.get("includeOneTableKeys") is not False))


def supported() -> list[str]:
    _load()
    return sorted(f"{c}{f'[{v}]' if v else ''}" for c, v in _REGISTRY)
