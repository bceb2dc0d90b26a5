"""What the routers computed, read once from their own daemons after convergence and kept as plain JSON.

The emulation does not stay resident: once the network has converged, `collect` asks every daemon for its
tables (zebra's RIB and interfaces, bgpd's RIB and neighbors, ospfd's neighbors and interfaces) and the FIB the
runtime saw, then the routers are stopped. Every answerer works from this `Dataplane` and the parsed configs;
nothing else of the run is needed, so a snapshot's answers survive the run and can be stored on disk.

Interface names in the daemons' output are the Linux names the renderer chose (`gi0-0`); `name_map` turns
them back into the user's (`GigabitEthernet0/0`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realfish import frr
from realfish.runner import Runner

# key -> (daemon whose vty answers it, command). One vty connection per daemon, JSON output only.
SHOWS: dict[str, tuple[str, str]] = {
    "routes": ("zebra", "show ip route vrf all json"),
    "interfaces": ("zebra", "show interface vrf all json"),
    "bgp_routes": ("bgpd", "show bgp vrf all ipv4 unicast json"),
    "bgp_summary": ("bgpd", "show bgp vrf all summary json"),
    "bgp_neighbors": ("bgpd", "show bgp vrf all neighbors json"),
    "ospf_neighbors": ("ospfd", "show ip ospf neighbor detail json"),
    "ospf_interfaces": ("ospfd", "show ip ospf interface json"),
    "ospf_routes": ("ospfd", "show ip ospf vrf all route json"),  # route types (intra/inter-area, E1/E2)
}


@dataclass
class RouterTables:
    kind: str  # "router" or "host"
    name_map: dict[str, str]  # Linux interface name -> the user's name
    fib: list[dict[str, Any]] = field(default_factory=list)  # FibEntry.to_json() rows, Linux names
    show: dict[str, Any] = field(default_factory=dict)  # SHOWS key -> parsed JSON ({} if the daemon is absent)
    errors: list[str] = field(default_factory=list)

    def user_ifname(self, linux: str) -> str:
        return self.name_map.get(linux, linux)


@dataclass
class Dataplane:
    converged: bool
    routers: dict[str, RouterTables] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # daemon crashes, rejected config lines, timeouts
    sessions_down: list[str] = field(default_factory=list)  # "router->peer"
    # config lines the daemons rejected at boot, by router: [line in the rendered config, text, FRR's message]
    rejected: dict[str, list[list[Any]]] = field(default_factory=dict)
    # why the run did not converge as configured: {"router": name or None, "what": the line that says it}
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"converged": self.converged, "problems": self.problems, "sessions_down": self.sessions_down,
                "rejected": self.rejected, "failures": self.failures,
                "routers": {n: vars(r) for n, r in self.routers.items()}}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Dataplane:
        return cls(doc["converged"], {n: RouterTables(**r) for n, r in doc["routers"].items()},
                   doc.get("problems", []), doc.get("sessions_down", []), doc.get("rejected", {}),
                   doc.get("failures", []))

    def save(self, path: str | Path) -> None:
        """Write atomically: a service stopped mid-write must not leave a half file that a restart would load."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_json()))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> Dataplane:
        return cls.from_json(json.loads(Path(path).read_text()))


def read_tables(runner: Runner, name: str) -> RouterTables:
    router = runner.network.routers[name]
    tables = RouterTables(router.kind, router.name_map)
    try:
        tables.fib = [e.to_json() for e in runner.fib(name)]
    except (OSError, ConnectionError) as e:
        tables.errors.append(f"cannot read the FIB: {e}")
    daemons = set(router.daemons())
    by_daemon: dict[str, list[tuple[str, str]]] = {}
    for key, (daemon, cmd) in SHOWS.items():
        tables.show[key] = {}
        if daemon in daemons:
            by_daemon.setdefault(daemon, []).append((key, cmd))
    for daemon, cmds in by_daemon.items():
        sock = runner.router_dir(name) / f"{daemon}.vty"
        try:
            with frr.Vty(sock, timeout=30) as vty:
                for key, cmd in cmds:
                    tables.show[key] = frr.json_object(vty.command(cmd))
                if daemon == "bgpd":
                    tables.show["bgp_detail"] = bgp_detail(vty, tables.show.get("bgp_summary") or {})
        except (OSError, ConnectionError, ValueError) as e:
            tables.errors.append(f"{daemon}: cannot read its tables ({e}); see {runner.router_dir(name)}/"
                                 f"{daemon}.log")
    return tables


def bgp_detail(vty: frr.Vty, summary: dict[str, Any]) -> dict[str, Any]:
    """bgpd's per-path attributes (communities, originator, cluster list, aggregate flag), per VRF of the
    summary. FRR 8.4 prints them only with `json detail` and ignores the detail for `vrf all`, hence one command
    per VRF (not one per prefix)."""
    return {vrf: frr.json_object(vty.command(f"show bgp vrf {vrf} ipv4 unicast json detail"))
            for vrf, body in summary.items() if isinstance(body, dict)}


def collect(runner: Runner, converged: bool = True) -> Dataplane:
    """Read every router's tables from a converged runner (the emulation or the namespace baseline)."""
    dp = Dataplane(converged and runner.report.converged, problems=list(runner.report.problems),
                   rejected=dict(runner.report.extra.get("rejected") or {}),
                   failures=list(runner.report.extra.get("failures") or []))
    for name in runner.network.inside():
        dp.routers[name] = read_tables(runner, name)
        dp.problems.extend(f"{name}: {e}" for e in dp.routers[name].errors)
    dp.sessions_down = runner.sessions_down()
    return dp


def compute(network: Any, timeout: float = 600.0, interruptible: Callable[[bool], None] | None = None,
            progress: Any = None, **kw: Any) -> Dataplane:
    """Converge `network` under the emulation, read its tables, stop it (nothing stays running).

    `interruptible(True)` is called once the daemons are started and configured and `interruptible(False)` before
    they stop: a caller that interrupts the computation (the service stopping) does so only in between, where the
    `with` unwinds it cleanly, never while the emulation starts or stops its daemons. `progress`: a
    `realfish.progress.Progress` that shows the run while it goes."""
    from contextlib import nullcontext

    from realfish.runner import ConvergeTimeout
    from realfish.runtime import Emulation

    window = interruptible or (lambda _on: None)
    with Emulation(network, **kw) as emu, (progress.watching(emu) if progress else nullcontext()):
        try:
            # Not interruptible either: an interruption inside a daemon's Popen would leave a child the
            # emulation never recorded (it exits with its controller, but FRR's files for it would stay).
            emu.start()
        except ConvergeTimeout as e:
            emu.report.problems.append(str(e))
            emu.report.extra.setdefault("failures", []).append({"router": None, "what": str(e)})
            return collect(emu, False)
        window(True)
        try:
            try:
                emu.wait_converged(timeout)
                converged = True
            except ConvergeTimeout as e:
                emu.report.problems.append(str(e))
                converged = False
            return collect(emu, converged)
        finally:
            window(False)
