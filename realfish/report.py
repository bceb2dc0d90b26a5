"""The converge report both runtimes write, and the process measurements that go into it.

Shape (other tools read it; keys may be added, never removed):
  {"runtime": "real"|"baseline",
   "routers": {NAME: {"fib": [{"prefix", "protocol", "distance", "metric", "nexthops": [{"ip", "interface"}]}],
                      "show": {CMD: OUTPUT}}},
   "timing": {"setup_s", "converge_s", "total_s"},
   "memory": {"peak_pss_bytes", "peak_rss_bytes", "peak_daemon_pss_bytes"},
   "cpu": {"daemon_s"}}
CPU is read from /proc/PID/task/*/schedstat (exact nanoseconds); utime/stime tick counts under-count
short-lived daemons badly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from realfish.dataplane import FibEntry, sort_fib


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def memory_of(pids: list[int]) -> tuple[int, int]:
    """Sum of PSS and RSS, in bytes, of the given processes."""
    pss = rss = 0
    for pid in pids:
        for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1]) * 1024
            elif line.startswith("Rss:"):
                rss += int(line.split()[1]) * 1024
    return pss, rss


def _per_thread(pids: list[int], name: str) -> Iterator[str]:
    """The /proc/PID/task/TID/<name> file of every thread of the given processes."""
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            yield _read(f"/proc/{pid}/task/{tid}/{name}")


def cpu_seconds(pids: list[int]) -> float:
    """On-CPU time of every thread of the given processes (schedstat: first field, nanoseconds)."""
    total = 0
    for text in _per_thread(pids, "schedstat"):
        fields = text.split()
        if fields:
            total += int(fields[0])
    return total / 1e9


def _meminfo() -> dict[str, int]:
    info = {}
    for line in _read("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        info[key] = int(rest.split()[0]) * 1024 if rest.split() else 0
    return info


def system_memory_used() -> int:
    """MemTotal - MemAvailable, in bytes: everything the machine has given out, the kernel's share included."""
    info = _meminfo()
    return info.get("MemTotal", 0) - info.get("MemAvailable", 0)


def kernel_objects_memory() -> int:
    """Unreclaimable slab, in bytes: the kernel's own objects (namespaces, devices, sockets and their buffers,
    routes), which no process's PSS shows. Machine-wide: a delta over a run is that run's share on a quiet host."""
    return _meminfo().get("SUnreclaim", 0)


def context_switches(pids: list[int]) -> tuple[int, int]:
    """Voluntary and involuntary context switches of every thread of the given processes."""
    vol = invol = 0
    for text in _per_thread(pids, "status"):
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                vol += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                invol += int(line.split()[1])
    return vol, invol


class MemorySampler:
    """Samples the summed PSS/RSS of a changing set of processes until stopped; keeps the peak."""

    def __init__(self, pids_fn: Any, interval: float = 0.25, daemons_fn: Any = None):
        self.pids_fn = pids_fn
        self.daemons_fn = daemons_fn  # the subset that are daemons, to report them apart from the controller
        self.interval = interval
        self.peak_pss = 0
        self.peak_rss = 0
        self.peak_daemon_pss = 0
        self.peak_runner_pss = 0  # the rest: the runner process (realfish's controller, the baseline's watcher)
        # The run's footprint on the whole machine, kernel objects included (namespaces, veths, kernel FIBs,
        # sockets), which per-process PSS does not see. Noisy on a shared machine; use it in quiet benchmarks.
        self.system_base = system_memory_used()
        self.peak_system = 0
        self.kernel_base = kernel_objects_memory()
        self.peak_kernel = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def sample(self) -> None:
        pids = list(self.pids_fn())
        daemons = set(self.daemons_fn()) if self.daemons_fn else set(pids)
        d_pss, d_rss = memory_of([p for p in pids if p in daemons])
        o_pss, o_rss = memory_of([p for p in pids if p not in daemons])
        self.peak_pss = max(self.peak_pss, d_pss + o_pss)
        self.peak_rss = max(self.peak_rss, d_rss + o_rss)
        self.peak_daemon_pss = max(self.peak_daemon_pss, d_pss)
        self.peak_runner_pss = max(self.peak_runner_pss, o_pss)
        self.peak_system = max(self.peak_system, system_memory_used() - self.system_base)
        self.peak_kernel = max(self.peak_kernel, kernel_objects_memory() - self.kernel_base)

    def _run(self) -> None:
        # Reading smaps_rollup walks every mapping of every process: at hundreds of daemons one sample costs a
        # good fraction of a core, so the sampler spends at most a tenth of its time sampling.
        wait = self.interval
        while not self._stop.wait(wait):
            t0 = time.monotonic()
            self.sample()
            wait = max(self.interval, 9 * (time.monotonic() - t0))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sample()


@dataclass
class RouterReport:
    fib: list[FibEntry] = field(default_factory=list)
    show: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Report:
    runtime: str
    routers: dict[str, RouterReport] = field(default_factory=dict)
    setup_s: float = 0.0
    converge_s: float = 0.0
    total_s: float = 0.0
    peak_pss_bytes: int = 0
    peak_daemon_pss_bytes: int = 0
    peak_runner_pss_bytes: int = 0
    peak_system_bytes: int = 0
    peak_kernel_bytes: int = 0
    peak_rss_bytes: int = 0
    daemon_cpu_s: float = 0.0
    controller_cpu_s: float = 0.0  # this Python process: launching, configuring, brokering, measuring
    helper_cpu_s: float = 0.0  # short-lived helpers it ran: vtysh configuring routers, the baseline's `ip`
    startup_cpu_s: float = 0.0  # daemons' and helpers' CPU until every config was applied (start-up and boot)
    ctx_voluntary: int = 0
    ctx_involuntary: int = 0
    converged: bool = True
    problems: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "converged": self.converged,
            "routers": {
                name: {"fib": [e.to_json() for e in sort_fib(r.fib)], "show": r.show, "errors": r.errors}
                for name, r in sorted(self.routers.items())
            },
            "timing": {"setup_s": round(self.setup_s, 4), "converge_s": round(self.converge_s, 4),
                       "total_s": round(self.total_s, 4)},
            "memory": {"peak_pss_bytes": self.peak_pss_bytes, "peak_rss_bytes": self.peak_rss_bytes,
                       "peak_daemon_pss_bytes": self.peak_daemon_pss_bytes,
                       "peak_runner_pss_bytes": self.peak_runner_pss_bytes,
                       "peak_system_bytes": self.peak_system_bytes, "peak_kernel_bytes": self.peak_kernel_bytes},
            "cpu": {"daemon_s": round(self.daemon_cpu_s, 4), "controller_s": round(self.controller_cpu_s, 4),
                    "helpers_s": round(self.helper_cpu_s, 4), "startup_s": round(self.startup_cpu_s, 4),
                    "ctx_voluntary": self.ctx_voluntary, "ctx_involuntary": self.ctx_involuntary},
            "problems": self.problems,
            **self.extra,
        }

    def write(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=1)


_DEATH_LINES = (re.compile(r"realfish\[[^\]]*\]: fatal: "),  # libreal's own (rf_fatal): the reason itself
                re.compile(r"assertion .* failed"),  # FRR's zassert/assert: the reason itself
                re.compile(r"Received signal \d+"),  # FRR's crash handler: which signal, where
                re.compile(r"\b(?:segmentation fault|aborted|out of memory)\b", re.I))


def death_cause(log: str, returncode: int) -> str:
    """Why a daemon died, in one line: the line of its log that says it (an assertion, the signal FRR's crash
    handler caught), else how it ended. The end of the log is FRR's memory statistics, which explain nothing."""
    how = f"signal {-returncode} ({signal.Signals(-returncode).name})" if returncode < 0 and \
        -returncode in signal.Signals._value2member_map_ else f"exit code {returncode}"
    lines = log.splitlines()
    for pattern in _DEATH_LINES:
        for line in lines:
            if pattern.search(line):
                return f"{how}: {line.strip()}"
    return how


def parse_show(command: str, output: str) -> Any:
    if command.rstrip().endswith("json"):
        try:
            return json.loads(output) if output.strip() else {}
        except json.JSONDecodeError:
            return output
    return output
