"""A cluster run on Ray: each part in a Ray actor on some node, the coordinator in the driver (this process).

`converge(network, n, address)`: cut the network (partition.py), start one actor per part (spread over the
cluster's nodes: each part asks for `cpus` CPUs, and Ray's SPREAD strategy puts parts on different nodes while
it can), link their relays, boot and converge under the coordinator, and return the report. Without an
address, a local Ray instance is started for the run and stopped after it. A part that fails (its actor or its
node lost, its controller crashed) ends the run with PartFailed naming it; every part's daemons and run
directory are removed in any case, the lost part's by a clean-up task on its node (realfish.clean).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from realfish.cluster.coordinator import Coordinator, PartFailed
from realfish.cluster.part import Part
from realfish.cluster.partition import links_cut, partition
from realfish.topology import Network


@ray.remote
class PartActor:
    """One part (part.Part) in a Ray actor: every method is the part's own."""

    def __init__(self, index: int, network: Network, parts: list[list[str]], kw: dict[str, Any]) -> None:
        self.part = Part(index, network, parts, host=ray.util.get_node_ip_address(), **kw)

    def address(self) -> tuple[str, int]:
        return self.part.address()

    def where(self) -> dict[str, Any]:
        return {**self.part.where(), "node": ray.get_runtime_context().get_node_id()}

    def link(self, addresses: dict[int, tuple[str, int]]) -> None:
        self.part.link(addresses)

    def start(self) -> None:
        self.part.start()

    def boot(self, names: list[str]) -> None:
        self.part.boot(names)

    def advance(self, limit_ns: int) -> None:
        self.part.advance(limit_ns)

    def status(self) -> dict[str, Any]:
        return self.part.status()

    def finish(self, shows: list[str]) -> dict[str, Any]:
        return self.part.finish(shows)

    def close(self) -> None:
        self.part.close()


@ray.remote(num_cpus=0)
def _clean(run_dir: str) -> list[str]:
    """On the node of a part that was lost: stop its daemons, remove its run directory (realfish.clean)."""
    from realfish.clean import clean_run

    log: list[str] = []
    if Path(run_dir).exists():
        clean_run(Path(run_dir), log)
    return log


class RayParts:
    """The parts as Ray actors (coordinator.Parts)."""

    def __init__(self, actors: list[Any], routers: list[list[str]]) -> None:
        self.actors = actors
        self.routers = routers
        self.where: list[dict[str, Any]] = [{} for _ in actors]

    def call(self, method: str, args: Sequence[tuple[Any, ...]] | None = None,
             timeout: float | None = None) -> list[Any]:
        args = args or [()] * len(self.actors)
        refs = [getattr(a, method).remote(*x) for a, x in zip(self.actors, args, strict=True)]
        out = []
        for i, ref in enumerate(refs):
            try:
                out.append(ray.get(ref, timeout=timeout))
            except (RayError, Exception) as e:
                w = self.where[i]
                at = f"Ray node {w.get('node', '?')[:12]}, host {w.get('host', '?')}" if w else "not placed yet"
                raise PartFailed(i, self.routers[i], at, _cause(e)) from e
        return out

    def close(self) -> list[str]:
        """Close every part; a part that cannot be closed (lost) is cleaned by a task on its node."""
        log: list[str] = []
        for i, a in enumerate(self.actors):
            try:
                ray.get(a.close.remote(), timeout=60)
            except Exception as e:
                w = self.where[i]
                log.append(f"part {i} could not close itself ({_cause(e)})")
                if w.get("run_dir") and w.get("node"):
                    strategy = NodeAffinitySchedulingStrategy(w["node"], soft=False)
                    try:
                        ref = _clean.options(scheduling_strategy=strategy).remote(w["run_dir"])
                        log += list(ray.get(ref, timeout=60))  # type: ignore[arg-type]
                    except Exception as e2:
                        log.append(f"part {i}: clean-up on its node failed: {_cause(e2)}")
            finally:
                ray.kill(a)
        return log


def _cause(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:300]


def connect(address: str | None, cpus: int | None = None, temp_dir: str | None = None) -> None:
    """Join the Ray cluster at `address` (None: start a local Ray instance with `cpus` CPUs, its sessions in
    `temp_dir`), with realfish importable in every worker (the driver's own import path goes with the actors)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in [root, os.environ.get("PYTHONPATH", "")] if p)
    local = {"num_cpus": cpus, "_temp_dir": temp_dir} if address is None else {}
    ray.init(address=address, runtime_env={"env_vars": {"PYTHONPATH": path}}, include_dashboard=False,
             log_to_driver=False, configure_logging=False, **local)  # type: ignore[arg-type]


def converge(network: Network, n: int, address: str | None = None, timeout: float = 600.0,
             shows: list[str] | None = None, cpus: float = 1.0, quiet: float | None = None,
             keep: bool = False, log: Any = None) -> dict[str, Any]:
    """Converge `network` in `n` parts on a Ray cluster (`address`; None: a local Ray instance for the run)."""
    t_start = time.monotonic()
    cut = partition(network, n)
    started = not ray.is_initialized()
    # a local instance's sessions (logs, sockets) in a directory of the run's, removed with it (Ray's default,
    # /tmp/ray, keeps every session); short, for Ray's socket paths
    temp = tempfile.mkdtemp(prefix="rf-ray-") if started and not address else None
    if started:
        # a local instance has room for every part, however many cores this machine has
        connect(address, max(n * int(cpus + 0.999), os.cpu_count() or 1), temp)
    room = ray.cluster_resources().get("CPU", 0)
    if room < n * cpus:
        if started:
            ray.shutdown()
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
        raise ValueError(f"the Ray cluster has {room:g} CPUs: not enough for {n} parts of {cpus:g} CPUs each")
    parts: RayParts | None = None
    try:
        kw: dict[str, Any] = {"keep": keep}
        if quiet is not None:
            kw["quiet"] = quiet
        actors = [PartActor.options(num_cpus=cpus, scheduling_strategy="SPREAD", max_restarts=0,  # type: ignore
                                    name=None).remote(i, network, cut.parts, kw) for i in range(n)]
        parts = RayParts(actors, cut.parts)
        parts.where = parts.call("where", timeout=120)
        if log:
            for i, w in enumerate(parts.where):
                log(f"part {i}: {len(cut.parts[i])} routers on Ray node {w['node'][:12]} ({w['host']}, pid "
                    f"{w['pid']}), run directory {w['run_dir']}")
        addresses = parts.call("address")
        parts.call("link", [(dict(enumerate(addresses)),)] * n, timeout=120)
        parts.call("start")
        coordinator = Coordinator(network, parts, quiet=quiet)
        try:
            coordinator.run(timeout)
        except TimeoutError as e:
            if log:
                log(f"not converged within {timeout:.0f} s of wall time: {e}")
        docs = parts.call("finish", [(shows or [],)] * n)
        return coordinator.report(docs, cut.parts, parts.where, links_cut(network, cut), t_start, time.monotonic())
    finally:
        if parts is not None:
            for line in parts.close():
                if log:
                    log(line)
        if started:
            ray.shutdown()
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
