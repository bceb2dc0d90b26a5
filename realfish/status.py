"""Parse status per file and per line, as Batfish reports it (fileParseStatus, initIssues).

Every line of every input file ends in exactly one of these, and nothing is dropped silently:

- translated: the model holds it, and the FRR config says it (or the answerers model it: interface ACLs);
- ignored: understood, and without effect on routing or forwarding (ntp, logging, line vty, banners, ...);
- unsupported: understood, has an effect, and realfish cannot express it; the line and the reason are reported
  (Batfish: a conversion warning);
- unrecognized: not understood; reported with its text and number (Batfish: "This syntax is unrecognized"),
  and the file becomes PARTIALLY_UNRECOGNIZED;
- error: understood but invalid (a bad address); reported, the line is skipped;
- rejected: FRR itself rejects the line (vtysh's grammar or a daemon, realfish.rejected); reported with FRR's
  message, and the file becomes PARTIALLY_UNRECOGNIZED: a line the routers did not take is never PASSED.

File statuses are Batfish's `ParseStatus` names: PASSED, PARTIALLY_UNRECOGNIZED, FAILED, IGNORED, EMPTY,
UNKNOWN (format not detected), UNSUPPORTED (format known, no parser in realfish).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

PASSED = "PASSED"
PARTIALLY_UNRECOGNIZED = "PARTIALLY_UNRECOGNIZED"
FAILED = "FAILED"
IGNORED = "IGNORED"
EMPTY = "EMPTY"
UNKNOWN = "UNKNOWN"
UNSUPPORTED = "UNSUPPORTED"

LineKind = Literal["translated", "ignored", "unsupported", "unrecognized", "error", "warning", "rejected"]
KINDS = ("translated", "ignored", "unsupported", "unrecognized", "error", "warning", "rejected")

# Batfish's initIssues "Type" column per kind of note (translated/ignored lines are not issues).
_ISSUE_TYPE = {
    "unrecognized": "Parse warning",
    "rejected": "Parse warning",
    "unsupported": "Convert warning (unimplemented)",
    "error": "Convert warning (redflag)",
    "warning": "Convert warning (redflag)",
}


@dataclass
class LineNote:
    line: int | None  # 1-based, in the file; None: the file as a whole
    kind: LineKind
    text: str  # the line as written (stripped), "" when the note is about the file
    message: str = ""
    context: str = ""  # the enclosing block, e.g. "router bgp 65000"

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        what = f"`{self.text}`" if self.text else ""
        sep = ": " if what and self.message else ""
        return f"{where}{self.kind}: {what}{sep}{self.message}"


@dataclass
class FileStatus:
    """One input file: its detected format, its status, the nodes it produced and what happened per line."""

    file: str  # relative to the snapshot root, '/'-separated (configs/r1.cfg)
    format: str = "UNKNOWN"
    status: str = PASSED
    nodes: list[str] = field(default_factory=list)
    notes: list[LineNote] = field(default_factory=list)
    lines: int = 0  # lines in the file

    def note(self, line: int | None, kind: LineKind, text: str, message: str = "", context: str = "") -> None:
        self.notes.append(LineNote(line, kind, text.strip(), message, context))
        if kind in ("unrecognized", "rejected") and self.status == PASSED:
            self.status = PARTIALLY_UNRECOGNIZED

    def reject(self, line: int | None, text: str, message: str) -> None:
        """FRR rejected this line: that replaces what the parser said of it (one note per line), once."""
        if any(n.kind == "rejected" and n.line == line and n.text == text.strip() for n in self.notes):
            return
        if line is not None:
            self.notes = [n for n in self.notes if n.line != line]
        self.note(line, "rejected", text, message)

    def fail(self, message: str, line: int | None = None, text: str = "") -> None:
        self.notes.append(LineNote(line, "error", text.strip(), message))
        self.status = FAILED

    def count(self, kind: str) -> int:
        return sum(1 for n in self.notes if n.kind == kind)

    def issues(self) -> list[LineNote]:
        return [n for n in self.notes if n.kind in _ISSUE_TYPE]

    def to_json(self) -> dict[str, Any]:
        kinds = KINDS
        return {
            "file": self.file, "format": self.format, "status": self.status, "nodes": self.nodes,
            "lines": self.lines, "counts": {k: self.count(k) for k in kinds},
            "notes": [{"line": n.line, "kind": n.kind, "text": n.text, "message": n.message,
                       "context": n.context} for n in self.notes],
        }


NOT_JSON = object()  # what load_json gives for text that is not JSON


def load_json(text: str, st: FileStatus) -> Any:
    """The JSON document in `text`, or `NOT_JSON` with the file marked FAILED at the line where it broke."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        st.fail(f"invalid JSON: {e.msg} (column {e.colno})", e.lineno)
        return NOT_JSON


def file_parse_status_rows(statuses: list[FileStatus]) -> list[dict[str, Any]]:
    """Rows of Batfish's fileParseStatus answer (File_Name, Status, File_Format, Nodes)."""
    return [{"File_Name": s.file, "Status": s.status, "File_Format": s.format,
             "Nodes": [{"id": f"node-{n}", "name": n} for n in s.nodes]}
            for s in sorted(statuses, key=lambda s: s.file)]


def init_issues_rows(statuses: list[FileStatus]) -> list[dict[str, Any]]:
    """Rows of Batfish's initIssues answer (Nodes, Source_Lines, Type, Details, Line_Text, Parser_Context)."""
    rows = []
    for s in sorted(statuses, key=lambda s: s.file):
        for n in s.issues():
            details = "This syntax is unrecognized" if n.kind == "unrecognized" else n.message
            rows.append({
                "Nodes": list(s.nodes) or None,
                "Source_Lines": [{"filename": s.file, "lines": [n.line] if n.line is not None else []}],
                "Type": _ISSUE_TYPE[n.kind],
                "Details": details,
                "Line_Text": n.text or None,
                "Parser_Context": n.context or None,
            })
    return rows
