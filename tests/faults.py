"""Faults injected into a real run, for tests of how a run reports what went wrong."""

from __future__ import annotations

import signal

import pytest

from realfish.runtime import Emulation


def abort_after_start(monkeypatch: pytest.MonkeyPatch, router: str, daemon: str) -> None:
    """Every Emulation started from now on (in this test) has `router`'s `daemon` abort (SIGABRT: FRR's crash
    handler logs it) once all daemons run and the configs are applied."""
    start = Emulation.start

    def start_then_abort(self: Emulation) -> None:
        start(self)
        victim = self.procs[(router, daemon)]
        victim.send_signal(signal.SIGABRT)
        victim.wait()

    monkeypatch.setattr(Emulation, "start", start_then_abort)
