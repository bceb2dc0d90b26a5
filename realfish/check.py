"""`realfish check SNAPSHOT EXPECTATIONS.yaml`: converge a snapshot, judge its expectations, say what was seen.

Exit status: 0 every assertion holds, 1 one or more fails, 2 an error (a bad expectations file: which line
and why; a snapshot that cannot be loaded; a network that did not converge, whose answers would look better
than the run was; an assertion that cannot be asked, e.g. a node specifier naming nothing).
Output: `text` (one block per assertion with what it saw), `json`, or `junit` (JUnit XML, one test case per
assertion, for CI systems).
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realfish.assertions import Verdict, evaluate
from realfish.expectations import ExpectationError, Expectations, load
from realfish.progress import Progress

PASS, FAIL, ERROR = 0, 1, 2
FORMATS = ("text", "json", "junit")


@dataclass
class CheckResult:
    snapshot: str
    expectations: str
    verdicts: list[Verdict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what made the check an error (exit 2)
    problems: list[str] = field(default_factory=list)  # the run's own remarks (daemon logs, rejected lines)
    converged: bool | None = None

    @property
    def status(self) -> int:
        if self.errors:
            return ERROR
        return FAIL if any(not v.passed for v in self.verdicts) else PASS

    def to_json(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot, "expectations": self.expectations, "status": self.status,
                "passed": sum(v.passed for v in self.verdicts), "failed": sum(not v.passed for v in self.verdicts),
                "converged": self.converged, "errors": self.errors, "problems": self.problems,
                "results": [v.to_json() for v in self.verdicts]}


def run_check(snapshot: str | Path, expectations: str | Path, timeout: float = 600.0,
              progress: Progress | None = None, explore: int = 0) -> CheckResult:
    """Judge every assertion on the converged snapshot; with `explore` N, on N orders of events (seeds 0..N-1,
    docs/explore.md), where an assertion that holds in some orders only fails, saying in which."""
    from realfish.answers.state import build
    from realfish.snapshot import SnapshotError

    result = CheckResult(str(snapshot), str(expectations))
    try:
        exp: Expectations = load(expectations)
    except ExpectationError as e:
        result.errors.append(str(e))
        return result
    per_order: list[list[Verdict | None]] = []
    for seed in range(max(explore, 1)):
        try:
            state = build(snapshot, Path(snapshot).name, timeout=timeout, progress=progress, seed=seed)
        except SnapshotError as e:
            result.errors.append(f"cannot load the snapshot: {e}")
            return result
        dp = state.dataplane
        result.converged = (result.converged is not False) and (dp.converged if dp is not None else False)
        order = f" (seed {seed})" if explore else ""
        if dp is None or not dp.converged:
            result.errors.append(f"the network did not converge{order} (see problems): its answers would not be "
                                 "the network's")
        result.problems += [f"{p}{order}" for p in dp.problems] if dp is not None else []
        if result.errors:
            return result
        verdicts: list[Verdict | None] = []
        for item in exp.items:
            if progress:
                progress.step(f"judging {item.kind}" + (f" ({item.name})" if item.name else "") + order)
            try:
                verdicts.append(evaluate(state, item.kind, item.params, item.name))
            except Exception as e:  # noqa: BLE001 - one assertion that cannot be asked is an error, with its line
                result.errors.append(f"{exp.file}:{item.line}: {item.kind}: cannot be judged{order}: "
                                     f"{type(e).__name__}: {e}")
                verdicts.append(None)
        per_order.append(verdicts)
    result.verdicts = [v for v in (combine(vs) for vs in zip(*per_order, strict=True)) if v is not None]
    return result


def combine(verdicts: tuple[Verdict | None, ...]) -> Verdict | None:
    """One assertion's verdicts over the orders explored: the first order's, failed when the orders disagree."""
    first = verdicts[0]
    if first is None or any(v is None for v in verdicts) or len(verdicts) == 1:
        return first
    held = [seed for seed, v in enumerate(verdicts) if v is not None and v.passed]
    if len(held) in (0, len(verdicts)):
        return first
    failed = [seed for seed in range(len(verdicts)) if seed not in held]
    summary = (f"depends on the order of events: holds in {len(held)} of {len(verdicts)} orders (seeds "
               f"{', '.join(map(str, held))}), fails in seeds {', '.join(map(str, failed))}")
    bad = verdicts[failed[0]]
    assert bad is not None
    seen = [f"seed {failed[0]}: {bad.summary}", *(f"  {s}" for s in bad.seen)]
    return Verdict(first.kind, first.params, False, summary, seen, first.name)


def text(result: CheckResult) -> str:
    lines = [f"realfish check {result.snapshot} {result.expectations}"]
    lines += [v.text() for v in result.verdicts]
    lines += [f"ERROR {e}" for e in result.errors]
    lines += [f"problem: {p}" for p in result.problems]
    passed = sum(v.passed for v in result.verdicts)
    lines.append(f"{passed} passed, {len(result.verdicts) - passed} failed, {len(result.errors)} errors")
    return "\n".join(lines) + "\n"


def junit(result: CheckResult) -> str:
    failed = sum(not v.passed for v in result.verdicts)
    suite = ET.Element("testsuite", name=f"realfish check {Path(result.snapshot).name}",
                       tests=str(len(result.verdicts) + len(result.errors)), failures=str(failed),
                       errors=str(len(result.errors)))
    for v in result.verdicts:
        case = ET.SubElement(suite, "testcase", classname=Path(result.expectations).stem, name=v.name or v.kind)
        if not v.passed:
            ET.SubElement(case, "failure", message=v.summary).text = "\n".join(v.seen)
        ET.SubElement(case, "system-out").text = v.text()
    for e in result.errors:
        case = ET.SubElement(suite, "testcase", classname=Path(result.expectations).stem, name="check")
        ET.SubElement(case, "error", message=e).text = "\n".join(result.problems)
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def render(result: CheckResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.to_json(), indent=1) + "\n"
    if fmt == "junit":
        return junit(result)
    return text(result)


def main(snapshot: str, expectations: str, fmt: str = "text", output: str | None = None,
         timeout: float = 600.0, explore: int = 0) -> int:
    progress = Progress()
    try:
        result = run_check(snapshot, expectations, timeout, progress, explore)
    finally:
        progress.done()
    out = render(result, fmt)
    if output:
        Path(output).write_text(out)
        sys.stderr.write(text(result))
    else:
        sys.stdout.write(out)
    return result.status
