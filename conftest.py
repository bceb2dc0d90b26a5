"""Keeps the `frr` marker honest: a test not marked `frr` that starts an FRR program fails at once.

`pytest -m "not frr"` is the fast development run; it is only fast, and only runs without FRR, if every test that
starts a daemon or vtysh says so. The guard wraps `subprocess.Popen` (which `subprocess.run` and the runtimes use)
for the duration of each unmarked test, and counts a realfish command that converges (`realfish serve`,
`converge`, `check`, ...) or the demo, run as a child, as starting FRR: the child's daemons are not seen here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

FRR_PROGRAMS = ("/usr/lib/frr/", "vtysh", "zebra", "bgpd", "ospfd", "staticd")
CONVERGING_COMMANDS = {"converge", "check", "ask", "diff", "replay", "realfish.demo"}

_allowed = True
_real_popen_init = subprocess.Popen.__init__


def _runs_frr(args: Any) -> bool:
    argv = [str(a) for a in ([args] if isinstance(args, str | bytes) else list(args))]
    if any(p in a for a in argv for p in FRR_PROGRAMS):
        return True
    return any("realfish" in a for a in argv) and bool(CONVERGING_COMMANDS & set(argv))


def _guarded_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
    if not _allowed and _runs_frr(args):
        raise RuntimeError(f"this test starts FRR ({args!r}): mark it @pytest.mark.frr")
    _real_popen_init(self, args, *rest, **kw)


subprocess.Popen.__init__ = _guarded_init  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    # set for setup too: a fixture that converges a network belongs to the tests that use it
    global _allowed
    _allowed = item.get_closest_marker("frr") is not None
    try:
        yield
    finally:
        _allowed = True
