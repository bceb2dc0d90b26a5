"""Node roles as Batfish keeps them (NodeRolesData): realfish's inference from hostnames, and how role
mappings assign each node a role per dimension. The service serves them (`realfish.service.app`)."""

from __future__ import annotations

import re
from typing import Any

AUTO_DIMENSION = "auto0"
# The role is a hostname's leading letters (r1, r2 -> r; spine-0 -> spine; as1border1 -> as).
AUTO_REGEX = "^([a-zA-Z]+).*$"


def infer_node_roles(nodes: list[str]) -> dict[str, Any]:
    """realfish's role inference, simpler than Batfish's (which also tokenises digits and looks at the
    topology): one dimension whose role is the hostname's leading letters; no mapping when no hostname starts
    with a letter."""
    mappings = []
    if any(n[:1].isalpha() for n in nodes):
        mappings.append({"name": AUTO_DIMENSION, "regex": AUTO_REGEX,
                         "roleDimensionGroups": {AUTO_DIMENSION: [1]}, "canonicalRoleNames": {}})
    return {"defaultDimension": AUTO_DIMENSION if mappings else None,
            "roleDimensionOrder": [AUTO_DIMENSION] if mappings else [], "roleMappings": mappings}


def role_assignments(roles: dict[str, Any], nodes: list[str]) -> dict[str, dict[str, list[str]]]:
    """dimension -> role -> nodes, as Batfish applies role mappings: per node and dimension, the first mapping
    whose regex matches the whole hostname decides; its groups, joined with '-', name the role (then
    canonicalRoleNames may rename it)."""
    out: dict[str, dict[str, list[str]]] = {}
    for node in nodes:
        done: set[str] = set()
        for m in roles.get("roleMappings") or []:
            match = java_regex_fullmatch(str(m.get("regex", "")), node)
            if match is None:
                continue
            for dim, groups in (m.get("roleDimensionGroups") or {}).items():
                if dim in done:
                    continue
                try:
                    role = "-".join(match.group(int(g)) or "" for g in groups)
                except (IndexError, ValueError, TypeError):
                    continue
                role = ((m.get("canonicalRoleNames") or {}).get(dim) or {}).get(role, role)
                out.setdefault(dim, {}).setdefault(role, []).append(node)
                done.add(dim)
    return out


_JAVA_ONLY = re.compile(r"\\p\{|\(\?<[a-zA-Z]|\+\+|\*\+|\?\+")


def java_regex_fullmatch(regex: str, text: str) -> re.Match[str] | None:
    """Java's String.matches for the common subset of Java regexes that Python reads the same way; None for a
    pattern Python cannot read."""
    if _JAVA_ONLY.search(regex):
        return None
    try:
        return re.fullmatch(regex, text)
    except re.error:
        return None


def roles_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """NodeRolesData's fields, in the form pybatfish reads back equal to what it PUT."""
    return {"defaultDimension": doc.get("defaultDimension"),
            "roleDimensionOrder": list(doc.get("roleDimensionOrder") or []),
            "roleMappings": [{"name": m.get("name"), "regex": m["regex"],
                              "roleDimensionGroups": m.get("roleDimensionGroups") or {},
                              "canonicalRoleNames": m.get("canonicalRoleNames") or {}}
                             for m in doc.get("roleMappings") or []]}
