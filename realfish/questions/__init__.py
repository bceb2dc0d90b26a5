"""Batfish's question templates for the questions realfish answers (templates/*.json, Apache-2.0, see
templates/SOURCE.txt).

pybatfish builds `bf.q.<question>` only from the templates the service returns (GET /v2/question_templates):
a JSON object mapping the lower-cased instance name to the template file's text.
"""

from __future__ import annotations

import json
from importlib import resources


def templates() -> dict[str, str]:
    """instanceName -> template text, in name order."""
    out: dict[str, str] = {}
    for f in sorted(resources.files(__name__).joinpath("templates").iterdir(), key=lambda p: p.name):
        if not f.name.endswith(".json"):
            continue
        text = f.read_text(encoding="utf-8")
        name = json.loads(text)["instance"]["instanceName"]
        out[name] = text
    return out
