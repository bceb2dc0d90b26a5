"""definedStructures, undefinedReferences and unusedStructures: the named structures of the configs (ACLs,
prefix-lists, community-lists, as-path lists, route-maps, BGP peer-groups, interfaces) and their uses, as the
IOS/EOS parser recorded them (`Device.definitions`, `Device.references`, with Batfish's vendor type and usage
names). FRR-format configs run as written and record none.

A reference is undefined when no structure of a type it may point at has its name (an interface's
`ip access-group` may name a standard or an extended ACL: Batfish's `ipv4/6 acl`); a structure is unused when
nothing refers to it (interfaces refer to themselves, as in Batfish, so they are never unused).
"""

from __future__ import annotations

import re
from typing import Any

from realfish.answers import UnsupportedQuestion, answerer, node_set, variable
from realfish.answers import table as tbl
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column
from realfish.model import Device, StructureDefinition

Json = dict[str, Any]

_ACLS = ("standard ipv4 access-list", "extended ipv4 access-list", "standard ipv6 access-list",
         "extended ipv6 access-list")
# reference type -> the definition types it may name (the same type when not listed)
_POINTS_AT = {
    "ipv4/6 acl": _ACLS,
    "ipv4 acl": _ACLS[:2],
    "community-list": ("standard community-list", "expanded community-list"),
}

DEFINED_COLUMNS = [
    Column("Structure_Type", "String", "Vendor-specific type of the structure", key=True, value=False),
    Column("Structure_Name", "String", "Name of the structure", key=True, value=False),
    Column("Source_Lines", "FileLines", "File and line numbers where the structure is defined", key=True, value=False),
]
UNUSED_COLUMNS = DEFINED_COLUMNS
UNDEFINED_COLUMNS = [
    Column("File_Name", "String", "File containing reference", key=True, value=False),
    Column("Struct_Type", "String", "Type of struct reference is supposed to be", value=False),
    Column("Ref_Name", "String", "The undefined reference", key=True, value=False),
    Column("Context", "String", "Context of undefined reference", key=True, value=False),
    Column("Lines", "FileLines", "Lines where reference appears", value=False),
]


def _file_lines(filename: str, lines: list[int]) -> Json:
    return {"filename": filename, "lines": sorted(set(lines))}


def _devices(question: Json, state: SnapshotState) -> list[Device]:
    return [state.devices[n] for n in sorted(node_set(question, "nodes", state))]


def _referenced(device: Device, d: StructureDefinition) -> bool:
    return any(r.name == d.name and d.type in _POINTS_AT.get(r.type, (r.type,)) for r in device.references)


def _pattern(question: Json, name: str) -> re.Pattern[str]:
    text = str(variable(question, name, ".*") or ".*")
    try:
        return re.compile(text, re.I)
    except re.error as e:
        raise UnsupportedQuestion(f"{name}: bad regex {text!r}: {e}") from None


@answerer("definedstructures.DefinedStructuresQuestion")
def defined_structures(question: Json, state: SnapshotState, _reference: SnapshotState | None) -> Json:
    names, types = _pattern(question, "names"), _pattern(question, "types")
    filename = variable(question, "filename")
    rows = [{"Structure_Type": d.type, "Structure_Name": d.name, "Source_Lines": _file_lines(dev.source, d.lines)}
            for dev in _devices(question, state) if filename in (None, "", dev.source)
            for d in sorted(dev.definitions, key=lambda d: (d.type, d.name))
            if types.fullmatch(d.type) and names.fullmatch(d.name)]
    return tbl.answer(question, tbl.table(DEFINED_COLUMNS, rows, "A structure of type ${Structure_Type} named "
                                          "${Structure_Name} is defined at ${Source_Lines}."))


@answerer("UnusedStructuresQuestionPlugin$UnusedStructuresQuestion")
def unused_structures(question: Json, state: SnapshotState, _reference: SnapshotState | None) -> Json:
    rows = [{"Structure_Type": d.type, "Structure_Name": d.name, "Source_Lines": _file_lines(dev.source, d.lines)}
            for dev in _devices(question, state)
            for d in sorted(dev.definitions, key=lambda d: (d.type, d.name)) if not _referenced(dev, d)]
    return tbl.answer(question, tbl.table(UNUSED_COLUMNS, rows, "An unused structure of type ${Structure_Type} "
                                          "named ${Structure_Name} is defined at ${Source_Lines}."))


@answerer("UndefinedReferencesQuestionPlugin$UndefinedReferencesQuestion")
def undefined_references(question: Json, state: SnapshotState, _reference: SnapshotState | None) -> Json:
    rows = []
    for dev in _devices(question, state):
        defined = {(d.type, d.name) for d in dev.definitions}
        grouped: dict[tuple[str, str, str], list[int]] = {}
        for r in dev.references:
            if not any((t, r.name) in defined for t in _POINTS_AT.get(r.type, (r.type,))):
                grouped.setdefault((r.type, r.name, r.usage), []).append(r.line)
        rows += [{"File_Name": dev.source, "Struct_Type": t, "Ref_Name": name, "Context": usage,
                  "Lines": _file_lines(dev.source, lines)} for (t, name, usage), lines in sorted(grouped.items())]
    return tbl.answer(question, tbl.table(UNDEFINED_COLUMNS, rows, "'${File_Name}' has undefined '${Struct_Type}' "
                                          "called '${Ref_Name}' being used as '${Context}' at line(s) ${Lines}"))
