"""Questions by name: the JSON both sides are asked (Batfish's template with the user's parameters filled in,
as pybatfish sends it), and the columns a row is matched on."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

# Batfish's own row identity per question where its column metadata does not give the one a user means
# (routes: Batfish marks only Node, VRF, Network as keys, but a route is one next hop of one protocol).
KEYS: dict[str, list[str]] = {
    "routes": ["Node", "VRF", "Network", "Next_Hop", "Protocol"],
    "bgpSessionStatus": ["Node", "VRF", "Remote_IP"],
    "bgpSessionCompatibility": ["Node", "VRF", "Remote_IP"],
}
VALUES: dict[str, list[str]] = {
    "routes": ["Metric", "Admin_Distance", "Tag"],
}


def template(name: str) -> dict[str, Any]:
    """Batfish's question template `name` (case-insensitive, as `bf.q.<name>`)."""
    folder = resources.files("realfish.questions").joinpath("templates")
    for f in folder.iterdir():
        if f.name.lower() == f"{name.lower()}.json":
            return dict(json.loads(f.read_text(encoding="utf-8")))
    known = sorted(f.name[:-5] for f in folder.iterdir() if f.name.endswith(".json"))
    raise ValueError(f"unknown question {name!r}; Batfish's questions: {', '.join(known)}")


def question(name: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The question JSON with `parameters` set, as pybatfish uploads `bf.q.<name>(**parameters)`."""
    q = template(name)
    variables = q.setdefault("instance", {}).setdefault("variables", {})
    for k, v in (parameters or {}).items():
        if k not in variables:
            raise ValueError(f"question {name} has no parameter {k!r}; it has: {', '.join(sorted(variables))}")
        variables[k]["value"] = v
    return q


def canonical_name(name: str) -> str:
    """The template's instance name (`bgpsessionstatus` -> `bgpSessionStatus`)."""
    return str(template(name)["instance"]["instanceName"])


def columns(name: str, metadata: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(key columns, value columns) for matching rows of question `name` with this column metadata."""
    cols = [c["name"] for c in metadata.get("columnMetadata", [])]
    keys = KEYS.get(name) or [c["name"] for c in metadata.get("columnMetadata", []) if c.get("isKey")] or cols
    values = VALUES.get(name) or [c["name"] for c in metadata.get("columnMetadata", [])
                                  if c.get("isValue") and c["name"] not in keys]
    return [k for k in keys if k in cols], [v for v in values if v in cols]
