"""What both runtimes share: the lifecycle, the converge report, and the state queries.

`Runner` is abstract; `realfish.runtime.Emulation` (libreal, no namespaces) and `realfish.baseline.Baseline`
(one network namespace per router, veth pairs, the kernel FIB) implement it. Use it as a context manager:
whatever happens inside (exception, timeout, Ctrl-C), `close()` stops every process the runner started, by PID,
and removes its run directory (and namespaces, for the baseline).
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Self

from realfish import frr
from realfish.clean import claim
from realfish.dataplane import FibEntry, enrich_from_zebra
from realfish.report import MemorySampler, Report, RouterReport, context_switches, cpu_seconds, parse_show
from realfish.topology import Network


def _children_cpu() -> float:
    """CPU seconds of this process's children that have exited: the helpers a run starts and waits for (vtysh
    applying configs, the baseline's `ip` commands); running daemons are not in it."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class ConvergeTimeout(RuntimeError):
    pass


class Runner(ABC):
    runtime = "abstract"

    def __init__(self, network: Network, run_dir: str | None = None, keep: bool = False):
        network.validate()
        self.network = network
        self.keep = keep
        self.run_dir = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix="realfish-"))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        claim(self.run_dir, keep)  # lets `realfish clean` spot a dead run (and leave a kept one's files)
        self.run_id = self.run_dir.name.rsplit("-", 1)[-1][:8]
        self.report = Report(runtime=self.runtime)
        self.t_start = time.monotonic()
        self.helpers_at_start = _children_cpu()
        # the run's own CPU in this process, not what it did before (`realfish converge` converts the snapshot first)
        self.cpu_at_start = cpu_seconds([os.getpid()])
        self.t_ready = self.t_start  # all daemons started and configured
        self.t_converged = self.t_start  # time of the last routing change seen
        self.sampler = MemorySampler(self.measured_pids, daemons_fn=self.pids)
        self.closed = False

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def router_dir(self, name: str) -> Path:
        return self.run_dir / name

    @abstractmethod
    def start(self) -> None:
        """Start every router's daemons and apply its config."""

    @abstractmethod
    def wait_converged(self, timeout: float) -> None:
        """Return once the network has converged (raise ConvergeTimeout otherwise)."""

    @abstractmethod
    def pids(self) -> list[int]:
        """PIDs of every daemon (and helper process) this runner started and that is still running."""

    def measured_pids(self) -> list[int]:
        """What memory is measured over: the daemons, plus this process, which runs the runtime in both cases
        (realfish: the broker and the scheduler; the baseline: the netlink watch of every kernel FIB that tells
        when it has converged)."""
        return self.pids() + [os.getpid()]

    @abstractmethod
    def fib(self, router: str) -> list[FibEntry]:
        """What forwarding uses: connected subnets and every route zebra installed."""

    @abstractmethod
    def _stop(self) -> None:
        """Stop processes and remove runtime-specific resources; must be safe to call twice."""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.sampler.stop()
        finally:
            try:
                self._stop()
            finally:
                if not self.keep:
                    shutil.rmtree(self.run_dir, ignore_errors=True)

    # -- queries -----------------------------------------------------------------------------------------------
    def vtysh_wrap(self, router: str) -> list[str]:
        """Command prefix to run vtysh for a router (the baseline needs none either: vty is a UNIX socket)."""
        return []

    def show(self, router: str, command: str) -> Any:
        out = frr.vtysh(self.router_dir(router), command, wrap=self.vtysh_wrap(router))
        return parse_show(command, out)

    def zebra_routes(self, router: str) -> dict[str, Any]:
        with frr.Vty(self.router_dir(router) / "zebra.vty") as vty:
            text = vty.command("show ip route json")
            text6 = vty.command("show ipv6 route json")
        return {**frr.json_object(text), **frr.json_object(text6)}

    def sessions_down(self) -> list[str]:
        """BGP sessions configured but not Established, as "router->peer" (read from each bgpd's vty)."""
        down = []
        for name in self.network.inside():
            if "bgpd" not in self.network.routers[name].daemons():
                continue
            try:
                with frr.Vty(self.router_dir(name) / "bgpd.vty", timeout=10) as vty:
                    summary = frr.json_object(vty.command("show bgp summary json"))
            except (OSError, ConnectionError):
                continue  # a dead bgpd is reported by the runtime's own daemon check
            for family in summary.values():
                for peer, state in (family.get("peers") or {}).items() if isinstance(family, dict) else []:
                    if state.get("state") != "Established":
                        down.append(f"{name}->{peer}")
        return sorted(set(down))

    def converge(self, timeout: float = 600.0, shows: list[str] | None = None) -> Report:
        """Start, converge, and fill the report (timing, memory, CPU, per-router FIB and shows)."""
        self.sampler.start()
        self.start()
        self.report.startup_cpu_s = cpu_seconds(self.pids()) + _children_cpu() - self.helpers_at_start
        self.wait_converged(timeout)
        return self.collect(shows or [])

    def collect(self, shows: list[str]) -> Report:
        rep = self.report
        rep.daemon_cpu_s = cpu_seconds(self.pids())
        rep.ctx_voluntary, rep.ctx_involuntary = context_switches(self.pids())
        rep.controller_cpu_s = cpu_seconds([os.getpid()]) - self.cpu_at_start
        rep.helper_cpu_s = _children_cpu() - self.helpers_at_start
        for name in self.network.inside():
            rr = rep.routers.setdefault(name, RouterReport())
            try:
                rr.fib = self.fib(name)
                enrich_from_zebra(rr.fib, self.zebra_routes(name))
            except (OSError, ConnectionError) as e:
                rr.errors.append(f"cannot read FIB: {e}")
            for cmd in shows:
                rr.show[cmd] = self.show(name, cmd)
        self.sampler.sample()
        rep.peak_pss_bytes = self.sampler.peak_pss
        rep.peak_daemon_pss_bytes = self.sampler.peak_daemon_pss
        rep.peak_runner_pss_bytes = self.sampler.peak_runner_pss
        rep.peak_system_bytes = self.sampler.peak_system
        rep.peak_kernel_bytes = self.sampler.peak_kernel
        rep.peak_rss_bytes = self.sampler.peak_rss
        rep.setup_s = self.t_ready - self.t_start
        rep.converge_s = max(0.0, self.t_converged - self.t_ready)
        rep.total_s = self.t_converged - self.t_start
        return rep
