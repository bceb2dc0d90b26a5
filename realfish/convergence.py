"""A convergence: run a network until it converges, read every router's tables into a `Dataplane`, stop it.

`analyse` is the one way from a snapshot to what the answerers read: parse and convert it, converge it under
the emulation, read the tables. `realfish.answers.state.build` (the CLI's ask, check and diff, and the tests)
and the service's parse work item both go through it; `Steps` is what a caller hears of each step.
`compute` converges one network; `collect` reads a converged runner of either runtime (the emulation or the
namespace baseline).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from realfish import frr
from realfish.convert import ConvertedSnapshot, convert_snapshot
from realfish.dataplane import SHOWS, Dataplane, RouterTables
from realfish.runner import Runner
from realfish.snapshot import SnapshotError


class Steps:
    """What a caller of `analyse` hears of each step, and may change; by default nothing, and errors raise."""

    missing_ok = False  # a snapshot with no readable device: an empty one (as Batfish parses it), else raise
    explores = False  # converge again under the orders of events the snapshot's settings ask for (conv.explore)

    def parsing(self, path: Path) -> None:
        """Before the snapshot is read."""

    def unreadable(self, error: SnapshotError) -> None:
        """No device could be read (only with `missing_ok`)."""

    def converted(self, conv: ConvertedSnapshot) -> None:
        """The configs are parsed and converted; `conv.network` is what will run."""

    @contextlib.contextmanager
    def converging(self, conv: ConvertedSnapshot) -> Iterator[None]:
        """Around the convergence (not entered for a snapshot with no router)."""
        yield

    def exploring(self, seed: int, orders: int) -> None:
        """Before the network converges again under the order of events `seed` (of `orders`, seeds 0..)."""

    def interruptible(self, on: bool) -> None:
        """`compute`'s window for interrupting the run (see there)."""

    def failed(self, error: Exception) -> bool:
        """The convergence raised: True goes on without a data plane, False lets the error out."""
        return False

    def converged(self, dp: Dataplane) -> None:
        """The tables are read and the routers stopped."""


def analyse(path: str | Path, steps: Steps | None = None, timeout: float = 600.0, progress: Any = None,
            converge: Callable[..., Dataplane] | None = None,
            **kw: Any) -> tuple[ConvertedSnapshot, Dataplane | None]:
    """Parse and convert a snapshot directory or zip, converge it under the emulation (`kw`: Emulation's
    options), read its tables. A snapshot with no router has an empty, converged data plane; the data plane is
    None only when `steps.failed` chose to go on without one. `converge`: what converges the network instead of
    `compute` (same arguments; realfish.cluster.tables.Converge runs it in parts on a Ray cluster), which
    converges once: the orders of events a snapshot asks for are then not explored, and a problem says so."""
    steps = steps or Steps()
    root = Path(path)
    steps.parsing(root)
    try:
        conv = convert_snapshot(root)
    except SnapshotError as e:
        if not steps.missing_ok:
            raise
        steps.unreadable(e)
        conv = ConvertedSnapshot(root)
    steps.converted(conv)
    if not conv.network.routers:
        dp: Dataplane | None = Dataplane(converged=True)
    else:
        exploring = steps.explores and conv.explore > 1 and converge is None
        # exploring: every order, the first too, is a seed's (an ordered run: it reproduces, docs/explore.md)
        dp, _ = converge_in(conv, steps, timeout, progress, converge or compute,
                            **({"seed": 0} | kw if exploring else kw))
        if dp is not None and exploring:
            explore(conv, dp, steps, timeout, progress, **kw)
        elif dp is not None and steps.explores and conv.explore > 1:
            dp.problems.append(f"the snapshot asks for {conv.explore} orders of events "
                               "(batfish/realfish_settings.json); this run in parts converged once, unordered")
    if dp is not None:
        steps.converged(dp)
    return conv, dp


def converge_in(conv: ConvertedSnapshot, steps: Steps, timeout: float, progress: Any,
                converge: Callable[..., Dataplane], **kw: Any) -> tuple[Dataplane | None, Exception | None]:
    """One convergence of `conv` (by `converge`: `compute`'s arguments) inside `steps`' window: (its data
    plane, None), or (None, the error) when it raised and `steps.failed` chose to go on."""
    with steps.converging(conv):
        try:
            return converge(conv.network, timeout=timeout, interruptible=steps.interruptible, progress=progress,
                           **kw), None
        except Exception as e:
            if not steps.failed(e):
                raise
            return None, e


def explore(conv: ConvertedSnapshot, first: Dataplane, steps: Steps, timeout: float, progress: Any,
            **kw: Any) -> None:
    """Converge `conv` again under seeds 1..N-1 (N: `conv.explore`; `first` is seed 0's) and put in
    `first.explore` every FIB entry that differs between the orders (interfaces by the user's names). An order
    that does not converge makes `first` not converged, with its failures named by seed: the snapshot is then
    judged as any run that did not converge."""
    from realfish import explore as orders

    runs = [(0, _user_fibs(first))]
    converged = {"0": first.converged}
    for seed in range(1, conv.explore):
        steps.exploring(seed, conv.explore)
        dp, error = converge_in(conv, steps, timeout, progress, compute, **{**kw, "seed": seed})
        converged[str(seed)] = dp is not None and dp.converged
        if dp is None:
            first.failures.append({"router": None, "what": f"seed {seed}: the convergence failed: "
                                                           f"{type(error).__name__}: {error}"})
            continue
        if not dp.converged:
            first.failures += ([{**f, "what": f"seed {seed}: {f['what']}"} for f in dp.failures] or
                               [{"router": None, "what": f"seed {seed}: did not converge: {'; '.join(dp.problems)}"}])
        runs.append((seed, _user_fibs(dp)))
    first.converged = all(converged.values())
    first.explore = {"orders": conv.explore, "seeds": list(range(conv.explore)), "converged": converged,
                     "varying": orders.varying(runs)}


def _user_fibs(dp: Dataplane) -> dict[str, list[dict[str, Any]]]:
    """Every router's FIB entries with next-hop interfaces by the user's names, as answers show them."""
    return {name: [{**e, "nexthops": [{**h, "interface": t.user_ifname(h["interface"]) if h.get("interface")
                                       else h.get("interface")} for h in e["nexthops"]]} for e in t.fib]
            for name, t in dp.routers.items()}


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
