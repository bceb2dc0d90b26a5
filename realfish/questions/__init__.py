"""Batfish's question templates (templates/*.json, Apache-2.0, see templates/SOURCE.txt).

pybatfish builds `bf.q.<question>` only from the templates the service returns (GET /v2/question_templates):
a JSON object mapping the lower-cased instance name to the template file's text. Every Batfish template is
served, so an existing script that asks a question realfish does not answer gets the work item's clear
"realfish does not answer ..." instead of an AttributeError on `bf.q`; those templates' descriptions say so
(whether realfish answers a template is asked of the answerers' registry, `realfish.answers`).
"""

from __future__ import annotations

import json
from importlib import resources

from realfish.answers import answers_question

NOT_ANSWERED = "[realfish does not answer this question] "


def templates() -> dict[str, str]:
    """instanceName -> template text, in name order."""
    out: dict[str, str] = {}
    for f in sorted(resources.files(__name__).joinpath("templates").iterdir(), key=lambda p: p.name):
        if not f.name.endswith(".json"):
            continue
        text = f.read_text(encoding="utf-8")
        doc = json.loads(text)
        name = doc["instance"]["instanceName"]
        if not answers_question(doc):  # with its defaults: `edges` is answered (layer3), not every edgeType
            doc["instance"]["description"] = NOT_ANSWERED + doc["instance"]["description"]
            text = json.dumps(doc, indent=2)
        out[name] = text
    return out
