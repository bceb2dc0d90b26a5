"""A cluster run's data plane: what the answers read (convergence.Dataplane), from routers in parts on Ray.

`Converge(parts, address)` stands in for `convergence.compute` (`convergence.analyse(..., converge=...)`): the
service's parse work (`realfish serve --cluster ADDRESS`) converges each snapshot in parts and reads every
router's tables in its own part (their vty sockets are on that part's node); the answers then run here on the
tables as they would on a one-machine run's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from realfish.dataplane import Dataplane, RouterTables
from realfish.topology import Network


class Converge:
    """`convergence.compute`'s signature, in `parts` parts on the Ray cluster at `address` (None: a local Ray
    instance, started here). `open()` joins the cluster, from the main thread (Ray's driver takes SIGTERM
    there, and actor.connect gives it back; joined from a work thread, a SIGTERM'd service died without
    stopping), and every convergence uses that connection until `close()`."""

    def __init__(self, parts: int, address: str | None = None) -> None:
        self.parts = parts
        self.address = address
        self.local: Any = None

    def open(self) -> None:
        import ray

        from realfish.cluster.actor import join

        if not ray.is_initialized():
            self.local = join(self.address, self.parts)

    def close(self) -> None:
        import ray

        try:
            if ray.is_initialized():
                ray.shutdown()
        finally:
            if self.local:
                self.local.stop()
                self.local = None

    def __call__(self, network: Network, timeout: float = 600.0,
                 interruptible: Callable[[bool], None] | None = None, progress: Any = None,
                 **kw: Any) -> Dataplane:
        from realfish.cluster.actor import converge

        unsupported = sorted(k for k, v in kw.items() if v is not None)
        if unsupported:  # seeds, recording, real time: one-machine options
            raise ValueError(f"a run in parts does not take {', '.join(unsupported)} (docs/cluster.md)")
        doc = converge(network, self.parts, self.address, timeout=timeout, tables=True, window=interruptible,
                       log=progress.step if progress else None)
        dp = Dataplane(doc["converged"], problems=list(doc["problems"]), sessions_down=doc["sessions_down"],
                       rejected=dict(doc.get("rejected") or {}), failures=list(doc.get("failures") or []))
        for name, tables in sorted(doc["tables"].items()):
            dp.routers[name] = RouterTables(**tables)
            dp.problems.extend(f"{name}: {e}" for e in dp.routers[name].errors)
        return dp
