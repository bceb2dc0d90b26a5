"""The progress display: shown on a terminal (parsing, the run's virtual time and routes), silent otherwise."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from realfish import topogen
from realfish.answers.state import build
from realfish.progress import Progress

pytestmark = pytest.mark.frr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_and_silent_elsewhere(tmp_path: Path) -> None:
    topogen.chain(2, tmp_path / "chain")
    shown = Terminal()
    state = build(tmp_path / "chain", "chain", progress=Progress(shown))
    assert state.dataplane is not None and state.dataplane.converged
    lines = [x for x in shown.getvalue().split("\r\x1b[K") if x]
    assert lines[0].startswith("parsing ")
    last = lines[-1]  # the run as it ended: both routers' BGP routes installed
    assert last.startswith("converging: 2 routers, virtual time ") and last.endswith(" routes installed")
    assert int(last.split(", ")[-1].split()[0]) >= 2
    assert shown.getvalue().endswith("\r\x1b[K")  # the line is cleared at the end

    piped = io.StringIO()  # not a terminal
    build(tmp_path / "chain", "chain", progress=Progress(piped))
    assert piped.getvalue() == ""


def test_progress_in_a_service_work_log() -> None:
    """`realfish serve`: the steps are the parse work item's batches, and its log keeps them and where the run
    ended (virtual time, routes installed)."""
    from realfish.service import Service
    from tests.test_service import parse_one_router

    with Service() as svc:
        log = parse_one_router(svc.app.test_client())
    steps = [line.split(" ", 2)[2] for line in log.splitlines()]
    assert any(s.startswith("starting daemons: ") for s in steps)
    assert any(s.startswith("converging: 1 routers, virtual time ") and s.endswith(" routes installed")
               for s in steps)


def test_progress_of_a_check(tmp_path: Path) -> None:
    """`realfish check` shows the run, then each assertion as it is judged."""
    from realfish.check import run_check

    topogen.chain(2, tmp_path / "chain")
    exp = tmp_path / "expect.yaml"
    exp.write_text("assertions:\n  - assert_no_unestablished_bgp_sessions: {}\n")
    shown = Terminal()
    result = run_check(tmp_path / "chain", exp, progress=Progress(shown))
    assert result.status == 0, result.to_json()
    lines = [x for x in shown.getvalue().split("\r\x1b[K") if x]
    assert lines[0].startswith("parsing ")
    assert any(x.startswith("converging: 2 routers") for x in lines)
    assert lines[-1].startswith("judging assert_no_unestablished_bgp_sessions")
