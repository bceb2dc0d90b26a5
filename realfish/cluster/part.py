"""One part of a cluster run: an emulation of some of the network's routers, whose clock the coordinator moves.

A part is an ordinary `Emulation` of `network.part(routers)` with these differences:
  - its broker holds the whole network (every router's FIB, kept current by the other parts' FIB lines) and
    the other parts' listeners, so each connect is decided as on one machine (relay.ClusterPeers);
  - its clock starts where every other part's does, and moves only up to the limit the coordinator sets
    (`advance`); the part says where its next deadlines are and whether it is idle (`status`);
  - routers boot when the coordinator says (`boot`), in the whole network's boot batches;
  - runs are not ordered (one daemon at a time is a part's own order, which another part's bytes would enter
    at instants no order fixes);
  - a recording (`record`) is the part's routers' files, which the driver gathers into one recording of the
    whole network (actor.gather_recording): each router's inputs, wherever they came from, are in its own files.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from realfish import frr
from realfish.cluster.relay import ClusterPeers, Mesh
from realfish.convergence import read_tables
from realfish.runtime import Emulation
from realfish.runtime.broker import Broker
from realfish.runtime.controller import Controller
from realfish.runtime.emulation import quiet_period
from realfish.runtime.peers import Switchboard
from realfish.runtime.vclock import FIXED_EPOCH_NS, FIXED_START_NS, IDLE_FOREVER, IDLE_UNTIL_LIMIT, NONE
from realfish.topology import Network

QUANTUM_NS = 1_000_000  # timers this close to the first fire together, as the scheduler's step does
# A part idle at its limit waits this long for a message before its scheduler looks again: the coordinator's
# calls wake it at once (a new limit, a status that wants a fresh step: Controller.wake), and so do its
# daemons' messages. Looking every millisecond instead, the parts of k=12 in 2 spent a third of their
# controllers' CPU there.
IDLE_POLL_S = 0.05


class PartEmulation(Emulation):
    """An emulation of one part: booted and clocked from outside."""

    def __init__(self, whole: Network, routers: list[str], mesh: Mesh, part_of: dict[str, int],
                 record: bool = False, **kw: Any) -> None:
        super().__init__(whole.part(routers), ordered=False, quiet=quiet_period(whole), **kw)
        if record:  # in the run directory, whatever the node: the driver gathers it (Part.finish)
            self.record = self.run_dir / "record"
        self.whole = whole
        self.broker = Broker(whole)
        self.mesh = mesh
        self.clock_at = (FIXED_START_NS, FIXED_EPOCH_NS - FIXED_START_NS)
        self.indexes = {n: i for i, n in enumerate(whole.routers)}
        self.cluster_peers: ClusterPeers | None = None
        self.booted: dict[str, int] = {}  # each router's boot instant (a recording's meta.json says it)

        def peers(ctl: Switchboard) -> ClusterPeers:
            self.cluster_peers = ClusterPeers(ctl, mesh, part_of)
            return self.cluster_peers

        self.peers_factory = peers

    def apply_configs(self) -> None:
        """Nothing boots yet: the coordinator boots each batch (boot) when every part's clock is there."""
        assert self.controller is not None
        if self.clock:
            self.v_boot = self.clock.now_ns()
            self.controller.limit_ns = self.v_boot
        assert self.controller.fib_hook is None and self.cluster_peers is not None
        self.controller.fib_hook = self.cluster_peers.fib_line
        self.controller.idle_poll_s = IDLE_POLL_S

    def boot(self, names: list[str]) -> None:
        assert self.clock is not None
        names = [n for n in names if n in self.network.routers]
        if not names:
            return
        self.clock.freeze()
        self.booted.update((n, self.clock.now_ns()) for n in names)
        try:
            if self.fork:
                self._configure(names, self._start_daemons)
            else:
                self._configure(names, lambda b: self._config_errors(
                    (n, frr.apply_config(self.router_dir(n), self.router_dir(n) / "frr.conf")[0]) for n in b))
        finally:
            self.clock.freeze(False)
            if self.controller:
                self.controller.wake()

    def _stop(self) -> None:
        try:
            super()._stop()
        finally:
            if self.cluster_peers:
                self.cluster_peers.close()


class Part:
    """What a Ray actor (actor.py) or a test holds: one part's emulation and relay."""

    def __init__(self, index: int, whole: Network, parts: list[list[str]], host: str = "127.0.0.1",
                 **kw: Any) -> None:
        self.index = index
        self.routers = parts[index]
        part_of = {r: i for i, names in enumerate(parts) for r in names}
        self.mesh = Mesh(index, host)
        self.emu = PartEmulation(whole, self.routers, self.mesh, part_of, **kw)
        self.steps_seen = -1

    def address(self) -> tuple[str, int]:
        return self.mesh.address

    def where(self) -> dict[str, Any]:
        import os
        import socket

        return {"host": socket.gethostname(), "pid": os.getpid(), "run_dir": str(self.emu.run_dir)}

    def link(self, addresses: dict[int, tuple[str, int]]) -> None:
        self.mesh.link(addresses)

    def start(self) -> None:
        self.emu.sampler.start()
        self.emu.start()

    def boot(self, names: list[str]) -> None:
        self.emu.boot(names)

    def advance(self, limit_ns: int) -> None:
        ctl = self._ctl()
        with ctl.lock:
            ctl.limit_ns = limit_ns
        ctl.wake()

    def _ctl(self) -> Controller:
        assert self.emu.controller is not None
        return self.emu.controller

    def status(self, wait_s: float = 0.0) -> dict[str, Any]:
        """Where this part is: its clock, whether it is idle at its limit, its next deadlines, what it relayed.
        `wait_s`: wait that long at most for the part to be idle (seen idle twice, its scheduler having stepped
        in between, with nothing relayed meanwhile), rather than have the coordinator ask again and again."""
        deadline = time.monotonic() + wait_s
        first: dict[str, Any] | None = None
        while True:
            s = self._status()
            if not s["idle"]:
                first = None
            elif first is None:
                first = s
            elif s["steps"] > first["steps"] and all(s[k] == first[k] for k in ("frames_sent", "frames_received")):
                return s
            left = deadline - time.monotonic()
            if left <= 0:
                return s
            self._ctl().wait_step(s["steps"], left)  # the next look is worth taking after a step, not before

    def _status(self) -> dict[str, Any]:
        emu, ctl, clock = self.emu, self._ctl(), self.emu.clock
        assert clock is not None
        emu.check_daemons(every=0.25)  # raises ControllerFailed if the controller died
        if self.mesh.failure:
            raise RuntimeError(self.mesh.failure)
        with ctl.lock:
            now, limit, step, steps = clock.now_ns(), ctl.limit_ns, ctl.last_step, ctl.steps
            counts = clock.counts()
            # (bytes in flight are the scheduler's to judge, in its step: it tells bytes a daemon will read from
            # bytes parked on a descriptor nobody polls)
            busy = counts["running"] or counts["messages"] or self.mesh.unread()
            due = ctl.peers.due(NONE)[0]
            idle = not busy and now >= limit and step in (IDLE_UNTIL_LIMIT, IDLE_FOREVER)
            mesh = self.mesh.counts()
        deadlines = clock.deadlines(QUANTUM_NS)
        if due != NONE:
            deadlines = sorted({*deadlines, due})
        return {"now": now, "limit": limit, "idle": bool(idle), "steps": steps, "deadlines": deadlines,
                "last_event": ctl.last_event_v, "last_route_change": ctl.last_route_change_v, **mesh,
                "failures": len(emu.report.extra.get("failures", []))}

    def finish(self, shows: list[str], tables: bool = False) -> dict[str, Any]:
        """The part's report, once the coordinator has found the whole network converged (or given up).
        `tables`: also every router's tables as the answers read them (convergence.read_tables), under
        `tables`; a recorded part's recording goes under `recording` (its files, boot instants, clock moves)."""
        emu, ctl = self.emu, self._ctl()
        assert emu.clock is not None
        emu.clock.freeze()
        emu.check_daemons()
        emu.t_converged = max(ctl.last_route_change, emu.t_ready)
        emu.report.extra["sessions_down"] = emu.sessions_down()
        if emu.split:
            emu._file_config_errors()
        doc = emu.collect(shows).to_json()
        doc["relay"] = self.mesh.counts()
        doc["last_route_change"] = ctl.last_route_change_v
        doc["clock"] = {"advances": emu.clock.advances, "wakeups": emu.clock.woken, "now": emu.clock.now_ns()}
        if tables:
            doc["tables"] = {n: vars(read_tables(emu, n)) for n in emu.network.inside()}
        if emu.record:
            doc["recording"] = self._recording(emu.record)
        return doc

    def _recording(self, directory: Path) -> dict[str, Any]:
        """What the part recorded, up to now (its clock is frozen: what daemons read while the parts stop is not
        the run)."""
        assert self.emu.clock is not None
        return {"files": {p.name: p.read_bytes() for p in sorted(directory.glob("*.rec"))},
                "boot": self.emu.booted, "moves": list(self.emu.clock.moves or []),
                "fibs": json.loads((directory / "fibs.json").read_text()),
                "meta": json.loads((directory / "meta.json").read_text())}

    def close(self) -> None:
        try:
            self.emu.close()
        finally:
            self.mesh.close()

