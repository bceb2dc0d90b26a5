"""Batfish's answers: stored files (`--batfish-answers DIR`) or a live service speaking Batfish's v2 API
(`--batfish HOST[:PORT]`, asked with pybatfish, so `realfish serve` works too)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from realfish.diff import questions


@dataclass
class Asked:
    name: str  # the template's instance name
    parameters: dict[str, Any]
    batfish: dict[str, Any]  # Batfish's TableAnswerElement


def table_element(doc: Any, where: str) -> dict[str, Any]:
    """The table answer element of Batfish's answer JSON in any of its stored forms: a ref test's list holding
    one element, pybatfish's answer (`answerElements`), or the element itself."""
    if isinstance(doc, list) and doc:
        doc = doc[0]
    if isinstance(doc, dict) and isinstance(doc.get("answerElements"), list) and doc["answerElements"]:
        doc = doc["answerElements"][0]
    if not (isinstance(doc, dict) and isinstance(doc.get("rows"), list) and "metadata" in doc):
        raise ValueError(f"{where}: not a Batfish table answer (no metadata and rows)")
    return doc


def stored(folder: str | Path, wanted: list[str] | None = None) -> list[Asked]:
    """`DIR/questions.yaml`: a list of {question, parameters (optional), answer: FILE relative to DIR}."""
    folder = Path(folder)
    index = folder / "questions.yaml"
    entries = _read(index, "YAML", yaml.safe_load, yaml.YAMLError)
    if not isinstance(entries, list):
        raise ValueError(f"{index}: expected a list of {{question, parameters, answer}} entries")
    out = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "question" not in entry or "answer" not in entry:
            raise ValueError(f"{index}: entry {n}: needs `question` and `answer`")
        name = questions.canonical_name(str(entry["question"]))
        if wanted and name.lower() not in {w.lower() for w in wanted}:
            continue
        path = folder / str(entry["answer"])
        doc = _read(path, "JSON", json.loads, json.JSONDecodeError, f"{index}: entry {n}: ")
        out.append(Asked(name, dict(entry.get("parameters") or {}), table_element(doc, str(path))))
    if not out:
        raise ValueError(f"{index}: no stored answer for the questions asked ({', '.join(wanted or [])})")
    return out


def _read(path: Path, what: str, parse: Any, error: type[Exception], where: str = "") -> Any:
    try:
        return parse(path.read_text())
    except OSError as e:
        raise FileNotFoundError(f"{where}{path}: {e.strerror}") from None
    except error as e:
        raise ValueError(f"{path}: not {what}: {e}") from None


def live(address: str, snapshot: str | Path, asks: list[tuple[str, dict[str, Any]]]) -> list[Asked]:
    """Upload `snapshot` to the Batfish service at HOST[:PORT] (a network of its own, removed afterwards) and
    ask it each (question, parameters)."""
    import requests
    from pybatfish.client.session import Session
    from pybatfish.exception import BatfishException

    host, _, port = address.partition(":")
    kw: dict[str, Any] = {"host": host or "localhost"}
    if port:
        kw["port"] = int(port)
    if not Path(snapshot).exists():
        raise FileNotFoundError(f"{snapshot}: no such snapshot")
    try:
        bf = Session(**kw)
        network = bf.set_network(f"realfish-diff-{uuid.uuid4().hex[:8]}")
    except (BatfishException, requests.RequestException) as e:
        raise RuntimeError(f"Batfish at {address}: {e}") from None
    try:
        bf.init_snapshot(str(snapshot), name="snapshot", overwrite=True)  # pybatfish zips a directory
        out = []
        for name, params in asks:
            q = questions.question(name, params)  # checks the name and parameters before asking
            answer = getattr(bf.q, q["instance"]["instanceName"])(**params).answer()
            out.append(Asked(q["instance"]["instanceName"], params, table_element(dict(answer), address)))
        return out
    except (BatfishException, requests.RequestException) as e:
        raise RuntimeError(f"Batfish at {address}: {e}") from None
    finally:
        try:
            bf.delete_network(network)
        except Exception:  # noqa: BLE001 - the answers are what matter; a leftover network is the server's
            pass

