"""A cluster run on Ray: each part in a Ray actor on some node, the coordinator in the driver (this process).

`converge(network, n, address)`: cut the network (partition.py), start one actor per part (spread over the
cluster's nodes: each part asks for `cpus` CPUs, and Ray's SPREAD strategy puts parts on different nodes while
it can), link their relays, boot and converge under the coordinator, and return the report. Without an
address, a local Ray instance is started for the run and stopped after it. A part that fails (its actor or its
node lost, its controller crashed) ends the run with PartFailed naming it; every part's daemons and run
directory are removed in any case, the lost part's by a clean-up task on its node (realfish.clean).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from realfish.clean import proc_state
from realfish.cluster.coordinator import Coordinator, PartFailed
from realfish.cluster.part import Part
from realfish.cluster.partition import links_cut, partition
from realfish.cluster.relay import LINK_LOST
from realfish.runtime.recording import Recording
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

    def status(self, wait_s: float = 0.0) -> dict[str, Any]:
        return self.part.status(wait_s)

    def finish(self, shows: list[str], tables: bool = False) -> dict[str, Any]:
        return self.part.finish(shows, tables)

    def close(self) -> None:
        self.part.close()


def clean_part(run_dir: str) -> list[str]:
    """A lost part's leftovers on this host: its daemons stopped and its run directory removed
    (realfish.clean), and then any FRR program still running from that run directory (a daemon forked from a
    zygote a moment before the part died has no pid file there yet)."""
    from realfish import frr
    from realfish.clean import clean_run

    log: list[str] = []
    if Path(run_dir).exists():
        clean_run(Path(run_dir), log)
    mark = run_dir.encode()
    for _ in range(50):
        left = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                argv = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].startswith(str(frr.FRR_SBIN).encode()) and any(mark in a for a in argv):
                left.append(int(d.name))
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                log.append(f"stopped pid {pid} of {run_dir}")
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    return log


@ray.remote(num_cpus=0)
def _clean(run_dir: str) -> list[str]:
    """On the node of a part that was lost (clean_part)."""
    return clean_part(run_dir)


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
        out: list[Any] = []
        failed: tuple[int, BaseException] | None = None
        for i, ref in enumerate(refs):
            try:
                # once a part failed, the others get a minute to say whether one of them failed first
                out.append(ray.get(ref, timeout=timeout if failed is None else 60))
            except GetTimeoutError as e:
                if failed is None:
                    failed = (i, e)
            except (RayError, Exception) as e:
                # A part that only lost its relay link to another is not the one to name if that other failed too
                # (a lost node: the part on it, not the part whose link to it broke first)
                if failed is None or (LINK_LOST in str(failed[1]) and LINK_LOST not in str(e)):
                    failed = (i, e)
        if failed is not None:
            index, error = failed
            w = self.where[index]
            at = f"Ray node {w.get('node', '?')[:12]}, host {w.get('host', '?')}" if w else "not placed yet"
            raise PartFailed(index, self.routers[index], at, _cause(error)) from error
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
                    log += self._clean(i, w)
            finally:
                ray.kill(a)
        return log

    def _clean(self, i: int, w: dict[str, Any]) -> list[str]:
        """A lost part's daemons and run directory: cleaned by a task on its node if the node lives, else here
        if it ran on this host (a node of this machine that was stopped); a host that is gone took them along."""
        alive = any(n["NodeID"] == w["node"] and n["Alive"] for n in ray.nodes())
        if alive:
            strategy = NodeAffinitySchedulingStrategy(w["node"], soft=False)
            try:
                ref = _clean.options(scheduling_strategy=strategy).remote(w["run_dir"])
                return list(ray.get(ref, timeout=60))  # type: ignore[arg-type]
            except Exception as e:
                return [f"part {i}: clean-up on its node failed: {_cause(e)}"]
        if w.get("host") == socket.gethostname() and Path(w["run_dir"]).exists():
            return [f"part {i}: its Ray node is gone; cleaning its run directory on this host",
                    *clean_part(w["run_dir"])]
        return [f"part {i}: its Ray node ({w['node'][:12]}, host {w.get('host')}) is gone, and what ran there"]


def _cause(e: BaseException) -> str:
    """What went wrong, in a line: for an exception raised in an actor, the last line of its traceback."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    return f"{type(e).__name__}: {last}"[:400]


def connect(address: str) -> None:
    """Join the Ray cluster at `address`, with realfish importable in every worker (the driver's own import path
    goes with the actors)."""
    if address != "auto":
        _reachable(address)
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in [root, os.environ.get("PYTHONPATH", "")] if p)
    main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGTERM) if main else None
    ray.init(address=address, runtime_env={"env_vars": {"PYTHONPATH": path}}, log_to_driver=False,
             configure_logging=False)
    if main and before is not None:
        # Ray's driver takes SIGTERM (sys.exit, and a handler of its core worker that can end the process
        # without unwinding): ours again, so that a SIGTERM'd run closes its parts (the CLI's: as Ctrl-C)
        signal.signal(signal.SIGTERM, before)


def join(address: str | None, cpus: int) -> LocalRay | None:
    """Join the Ray cluster at `address`, or, with none, at a local Ray instance started here with room for
    `cpus` CPUs however many cores this machine has (returned: its caller stops it)."""
    local = None
    if not address:
        local = LocalRay(max(cpus, os.cpu_count() or 1))
        address = local.address
    try:
        connect(address)
    except BaseException:
        if local:
            local.stop()
        raise
    return local


def _reachable(address: str, timeout: float = 10.0) -> None:
    """The cluster's head answers at `address` (HOST:PORT), or a clear error now: ray.init would retry for
    minutes, logging as it goes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--cluster {address!r}: a Ray cluster's address is HOST:PORT (its head's GCS port, "
                         "6379 unless `ray start --head --port` said otherwise), or auto on one of its nodes")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise RuntimeError(f"cannot reach the Ray cluster at {address}: {e.strerror or e} (is `ray start --head` "
                           "running there, and is its port open from here?)") from None


def converge(network: Network, n: int, address: str | None = None, timeout: float = 600.0,
             shows: list[str] | None = None, cpus: float = 1.0, quiet: float | None = None,
             keep: bool = False, log: Any = None, record: str | Path | None = None, tables: bool = False,
             window: Callable[[bool], None] | None = None) -> dict[str, Any]:
    """Converge `network` in `n` parts on a Ray cluster (`address`; None: a local Ray instance for the run).
    `record`: a directory here for one recording of the whole run (gather_recording); `tables`: every router's
    tables under the report's `tables` (what the answers read); `window(True)` once the parts run and
    `window(False)` before they are read: in between, an exception raised in this thread (the service stopping)
    ends the run cleanly."""
    t_start = time.monotonic()
    cut = partition(network, n)
    started = not ray.is_initialized()
    local = join(address, n * int(cpus + 0.999)) if started else None
    room = ray.cluster_resources().get("CPU", 0)
    if room < n * cpus:
        if started:
            ray.shutdown()
        if local:
            local.stop()
        raise ValueError(f"the Ray cluster has {room:g} CPUs: not enough for {n} parts of {cpus:g} CPUs each")
    parts: RayParts | None = None
    try:
        phases = {"ray": time.monotonic() - t_start}  # wall seconds since the start at the end of each phase
        kw: dict[str, Any] = {"keep": keep, "record": bool(record)}
        if quiet is not None:
            kw["quiet"] = quiet
        actors = [PartActor.options(num_cpus=cpus, scheduling_strategy="SPREAD", max_restarts=0,  # type: ignore
                                    name=None).remote(i, network, cut.parts, kw) for i in range(n)]
        parts = RayParts(actors, cut.parts)
        parts.where = parts.call("where", timeout=120)
        phases["placed"] = time.monotonic() - t_start
        if log:
            for i, w in enumerate(parts.where):
                log(f"part {i}: {len(cut.parts[i])} routers on Ray node {w['node'][:12]} ({w['host']}, pid "
                    f"{w['pid']}), run directory {w['run_dir']}")
        addresses = parts.call("address")
        parts.call("link", [(dict(enumerate(addresses)),)] * n, timeout=120)
        phases["linked"] = time.monotonic() - t_start
        parts.call("start")
        phases["started"] = time.monotonic() - t_start
        coordinator = Coordinator(network, parts, quiet=quiet)
        timed_out = ""
        (window or _no_window)(True)
        try:
            coordinator.run(timeout)
        except TimeoutError as e:
            timed_out = f"not converged within {timeout:.0f} s of wall time: {e}"
            if log:
                log(timed_out)
        finally:
            (window or _no_window)(False)
        if coordinator.t_ready:
            phases["booted"] = coordinator.t_ready - t_start
        phases["converged"] = time.monotonic() - t_start
        docs = parts.call("finish", [(shows or [], tables)] * n)
        t_end = time.monotonic()
        phases["collected"] = t_end - t_start
        if record:
            gather_recording(Path(record), network, [d.pop("recording") for d in docs], coordinator.now)
        doc = coordinator.report(docs, cut.parts, parts.where, links_cut(network, cut), t_start, t_end)
        doc["parts"]["phases_s"] = {k: round(v, 3) for k, v in phases.items()}
        if timed_out:
            doc["problems"].append(timed_out)
        if tables:
            doc["tables"] = {name: t for d in docs for name, t in d.pop("tables").items()}
        return doc
    finally:
        if parts is not None:
            for line in parts.close():
                if log:
                    log(line)
        if started:
            ray.shutdown()
        if local:
            local.stop()


def _no_window(_on: bool) -> None:
    pass


def gather_recording(directory: Path, network: Network, parts: list[dict[str, Any]], end_ns: int) -> None:
    """One recording of the whole run from the parts' (Part.finish): every router's files as its part recorded
    them, meta.json with the whole network's indexes and every router's boot instant, the clock's moves of
    every part (the coordinator moved them together, so a replayed router's timers fire where they fired in its
    part), and every FIB. `realfish replay` replays any router from it as from a one-machine recording."""
    first = parts[0]["meta"]
    Recording.begin(directory, first["start_ns"], first["offset_ns"], list(network.routers))
    lengths = {}
    for p in parts:
        for name, data in p["files"].items():
            (directory / name).write_bytes(data)
            lengths[name] = len(data)
    Recording.update(directory, boot={n: t for p in parts for n, t in p["boot"].items()}, lengths=lengths)
    Recording.end(directory, end_ns, sorted({m for p in parts for m in p["moves"]}))
    (directory / "fibs.json").write_text(json.dumps({n: f for p in parts for n, f in p["fibs"].items()}))


class LocalRay:
    """A Ray node of this machine: `ray start --head --block` (or, with `join`, a node that joins the head at
    that address) in its own session, so that its processes, and Ray's own clean-up of its process group, are
    apart from ours (ray.init's local instance shares our process group, and a run ended by SIGTERM then died
    of Ray's group-wide SIGTERM before it had removed Ray's directory). This process becomes their subreaper, so
    the node's processes are reaped here when it stops (a container's init may reap nobody). Stopped by its
    PID's process group; a head's directory is removed."""

    def __init__(self, cpus: int, resources: dict[str, float] | None = None, join: str | None = None) -> None:
        _become_subreaper()
        self.temp = tempfile.mkdtemp(prefix="rf-ray-")  # short: Ray's socket paths must fit in 107 bytes
        ray_cli = str(Path(sys.executable).with_name("ray"))
        env = {**os.environ, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")}
        args = [ray_cli, "start", "--node-ip-address", "127.0.0.1", "--num-cpus", str(cpus), "--block",
                "--disable-usage-stats"]
        if resources:
            args += ["--resources", json.dumps(resources)]
        if join:
            self.address = join
            args += ["--address", join]
        else:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            self.address = f"127.0.0.1:{port}"
            args += ["--head", "--port", str(port), "--temp-dir", self.temp, "--include-dashboard=false"]
        self.proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # the driver joins it as the node allows
        if join:
            return
        deadline = time.monotonic() + 120
        try:
            while subprocess.run([ray_cli, "status", "--address", self.address], env=env,
                                 capture_output=True).returncode != 0:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"a local Ray instance did not start (ray start exited "
                                       f"{self.proc.poll()})")
                time.sleep(0.2)
        except BaseException:
            self.stop()
            raise

    def _group(self) -> list[int]:
        """The node's processes: those in the process group its `ray start` leads."""
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if os.getpgid(int(d.name)) == self.proc.pid:
                        out.append(int(d.name))
                except OSError:
                    pass
        return out

    def stop(self) -> None:
        members = self._group()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            # The raylet and the workers end within a moment of SIGTERM; `ray start --block` and the GCS linger
            # for seconds: once nothing more ends for half a second, what is left is killed
            deadline, alive, since = time.monotonic() + 5, len(members), time.monotonic()
            while self.proc.poll() is None and time.monotonic() < deadline and time.monotonic() - since < 0.5:
                time.sleep(0.05)
                now_alive = sum(1 for p in members if (proc_state(p) or ("Z",))[0] != "Z")
                if now_alive != alive:
                    alive, since = now_alive, time.monotonic()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # what of its group outlived SIGTERM
        except ProcessLookupError:
            pass
        self.proc.wait()
        deadline = time.monotonic() + 10
        waiting = [p for p in members if p != self.proc.pid]
        while waiting and time.monotonic() < deadline:  # reaped here: we are their subreaper
            for pid in list(waiting):
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        waiting.remove(pid)
                except ChildProcessError:
                    if not Path(f"/proc/{pid}").exists():
                        waiting.remove(pid)
            time.sleep(0.02)
        while os.path.exists(self.temp) and time.monotonic() < deadline:
            shutil.rmtree(self.temp, ignore_errors=True)
            time.sleep(0.05)


def _become_subreaper() -> None:
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
