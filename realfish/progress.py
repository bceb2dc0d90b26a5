"""A one-line progress display for people at a terminal: the step under way (parsing, booting routers,
converging with the virtual clock and the routes installed so far, answering), rewritten in place on standard
error. Silent when standard error is not a terminal, so logs and pipes get only the commands' own output."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._shown = False

    def step(self, text: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.stream.write("\r\x1b[K" + text[:150])
            self.stream.flush()
            self._shown = True

    def done(self) -> None:
        """Clear the line, so what the command prints next starts clean."""
        if self.enabled and self._shown:
            with self._lock:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._shown = False

    @contextmanager
    def watching(self, runner: Any, interval: float = 0.25) -> Iterator[None]:
        """Show `runner`'s state (see `describe`) every `interval` wall seconds while the block runs."""
        if not self.enabled:
            yield
            return
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                self.step(describe(runner))

        t = threading.Thread(target=loop, name="progress", daemon=True)
        self.step(describe(runner))
        t.start()
        try:
            yield
        finally:
            stop.set()
            t.join()
            self.step(describe(runner))  # where it ended, however fast it went
            self.done()


def describe(runner: Any) -> str:
    """What a runner is doing, read from its state without locking (a dict that changes under the read is
    simply read again at the next tick)."""
    routers = len(runner.network.routers)
    want = sum(len(r.daemons()) for r in runner.network.routers.values())
    started = len(getattr(runner, "procs", {}) or {})
    if started < want:
        return f"starting daemons: {started}/{want} ({routers} routers)"
    broker = getattr(runner, "broker", None)
    clock = getattr(runner, "clock", None)
    if broker is None:  # the namespace baseline: kernel FIBs, wall time
        return f"converging: {routers} routers"
    try:
        booting = len(broker.booting)
        routes = sum(len(f.routes) for f in list(broker.fibs.values()))
        virtual = (clock.now_ns() - runner.v_boot) / 1e9 if clock is not None and runner.v_boot else 0.0
    except (RuntimeError, AttributeError, OSError, ValueError):
        return f"converging: {routers} routers"
    if booting:
        return f"booting routers: {booting} being configured, {routes} routes installed"
    return f"converging: {routers} routers, virtual time {virtual:.1f} s, {routes} routes installed"
