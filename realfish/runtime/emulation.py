"""The emulation: every router's FRR daemons on this host, under libreal, with no namespaces.

Lifecycle (`Emulation.converge` via `Runner`):
  1. the run directory gets one folder per router: its interface table (read by libreal), frr.conf, logs,
     vty and zserv sockets, pid files;
  2. the controller (broker) starts listening on run_dir/control.sock;
  3. forked (the default): one zygote per daemon kind; one vtysh cuts every router's config into its daemons'
     parts (daemon_configs.py); routers boot in batches of routers that are not neighbours, 1.5 virtual seconds
     apart: zebra, then staticd, bgpd, ospfd, each reading its own part first. Without forking (`fork=False`):
     every router's daemons start from scratch (LD_PRELOAD=libreal, REALFISH_* environment), then `vtysh -f
     frr.conf` applies each router's integrated config in the same batches, as FRR's own boot does;
  5. quiescence: no broker event (connection, listener, address, route) and no byte in flight on any emulated
     connection for `settle` seconds; the convergence time is that of the last route change;
  6. state is read through each router's vty; close() stops every daemon by PID and removes the run directory.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import signal
import subprocess
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from realfish import frr, ospf
from realfish.dataplane import FibEntry
from realfish.report import Report, death_cause
from realfish.runner import ConvergeTimeout, Runner
from realfish.runtime import daemon_configs
from realfish.runtime.broker import Broker
from realfish.runtime.controller import ZYGOTE, Controller, ControllerFailed
from realfish.runtime.libreal import libreal_path
from realfish.runtime.peers import LivePeers, Peers, Switchboard
from realfish.runtime.recording import REPLAYED_DAEMONS, Recording, compare
from realfish.runtime.replayer import Replayer
from realfish.runtime.vclock import NONE, VirtualClock
from realfish.runtime.zygote import FORKED_DAEMONS, Fork, ForkedDaemon, Zygote
from realfish.topology import Network, Router

IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_MULTICAST, IFF_LOWER_UP = 0x1, 0x2, 0x8, 0x40, 0x1000, 0x10000
LO_FLAGS = IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP
ETH_FLAGS = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP
# Routers configured at one virtual instant, and the virtual seconds between two such batches: longer than the
# 1 s bgpd waits after a neighbor is configured before it connects, so that the router booted first tries
# first and finds its neighbour not there yet: the two ends do not open at the same instant, as when routers
# boot one after another (Network.boot_batches).
BOOT_BATCH = 16
BOOT_GAP = 1.5


def boot_gaps(batches: int, seed: int) -> list[float]:
    """Virtual seconds before each boot batch. Seed 0: BOOT_GAP. Another seed adds up to a second to each, in
    whole milliseconds, which moves each batch's routers to another phase of FRR's whole-second timers (connect
    retry, keepalives), so sessions open and messages meet in other orders."""
    rng = random.Random(seed)
    return [0.0 if i == 0 else round(BOOT_GAP + (rng.randrange(1000) / 1000 if seed else 0.0), 3)
            for i in range(batches)]


def turn_order(routers: list[str], seed: int) -> list[str]:
    """The routers in the order an ordered run gives their daemons turns within an instant: by name for seed 0,
    shuffled by another seed (which daemon of those woken at one instant runs first, so which message meets
    which)."""
    order = sorted(routers)
    if seed:
        random.Random(f"turns {seed}").shuffle(order)
    return order


# glibc's malloc in forked daemons: a fixed mmap threshold (128 KiB, glibc's default start) instead of the dynamic
# one, which rises to the size of the largest block freed. bgpd allocates about 1.4 MB per BGP peer (FRR 8.4 sizes
# a peer's input buffers for ten 64 KiB extended messages) and frees a peer per accepted connection (its
# collision stand-in): with the dynamic threshold the next peers come from the heap, zeroed by calloc (every page
# touched), and what is freed stays in the heap. Same FRR, same allocations; measured at k=20: bgpd 14.2 MiB per
# router instead of 15.6 (docs/forked-daemons.md).
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=131072"


def quiet_period(network: Network) -> float:
    """Twice the largest BGP hold time or OSPF (v2 or v3) dead interval configured (FRR defaults: 180 s, 40 s)."""
    longest = 40.0
    for router in network.routers.values():
        cfg = router.config
        if re.search(r"^router bgp\b", cfg, re.M):
            longest = max(longest, 180.0)
        for m in re.finditer(r"^\s*(?:neighbor \S+ )?timers (?:bgp )?(\d+) (\d+)", cfg, re.M):
            longest = max(longest, float(m.group(2)))
        for m in re.finditer(r"ipv6? ospf6? dead-interval (\d+)", cfg):
            longest = max(longest, float(m.group(1)))
    return 2 * longest


def interface_table(router: Router, index: int, network: Network | None = None) -> str:
    """libreal's view of the router's interfaces (native/src/iftable.c has the format). With the network, each
    interface's L2 segment too: `segment IFINDEX NAME` and one `member IFINDEX ROUTER IFINDEX2` per other end,
    which is where libreal sends the raw IP packets (OSPF) that leave on that interface."""
    lines = ["# realfish interface table: link IFINDEX NAME MTU MAC FLAGS SPEED / addr IFINDEX PREFIX"]
    for iface in router.interfaces.values():
        lo = iface.name == "lo"
        mac = "00:00:00:00:00:00" if lo else router.mac(iface, index)
        flags, speed = (LO_FLAGS, 0) if lo else (ETH_FLAGS, iface.speed_mbps)
        lines.append(f"link {iface.ifindex} {iface.name} {iface.mtu} {mac} {flags} {speed}")
    lines += ["addr 1 127.0.0.1/8", "addr 1 ::1/128"]
    # the link-local address the kernel puts on every other interface (BGP unnumbered peers over it)
    lines += [f"addr {i.ifindex} {router.link_local(i, index)}/64"
              for i in router.interfaces.values() if i.name != "lo"]
    if network is not None:
        for seg in network.segments:
            for r, ifname in seg.members:
                if r != router.name:
                    continue
                ifindex = router.interfaces[ifname].ifindex
                lines.append(f"segment {ifindex} {''.join(seg.name.split()) or '-'}")
                lines += [f"member {ifindex} {other} {network.routers[other].interfaces[oif].ifindex}"
                          for other, oif in seg.members if (other, oif) != (r, ifname)]
    return "\n".join(lines) + "\n"


class Emulation(Runner):
    runtime = "real"

    def __init__(self, network: Network, run_dir: str | None = None, keep: bool = False, settle: float = 3.0,
                 virtual_time: bool = True, tokens: int | None = None, quiet: float | None = None,
                 record: str | Path | None = None, replay: Recording | None = None, fork: bool = True,
                 seed: int | None = None, ordered: bool | None = None):
        """`record`: a directory to record the routers' inputs in; `replay`: a recording to feed the routers
        (`network` is then the part to replay, see replayer.py); `fork`: routers' daemons forked from one
        initialised daemon per kind (zygote.py) instead of each starting from scratch; `seed`: the order of events
        (None or 0: boot and turns by router name, boot batches 1.5 s apart; another: that seed's shuffled boot and
        turn orders and gaps, docs/explore.md); `ordered`: one
        daemon at a time, in a fixed order, so that what happens inside a virtual instant does not follow the
        host's scheduling either and the same snapshot gives the same run. The default (None) is ordered wherever
        it can be (the virtual clock, no replay: a replay follows its recording's order); False runs daemons at
        once (faster, not repeatable). A seed names an order that reproduces, so it needs an ordered run."""
        if (record or replay) and not virtual_time:
            raise ValueError("recording and replaying need the virtual clock")
        if replay:
            replay.check(list(network.routers))
        frr.check_installed()  # before the run directory exists: a failed check leaves nothing behind
        libreal = libreal_path()
        super().__init__(network, run_dir, keep)
        self.settle = settle  # wall seconds of quiet that count as converged, without a virtual clock
        self.virtual_time = virtual_time
        self.tokens = tokens if tokens is not None else (os.cpu_count() or 1)
        self.quiet = quiet if quiet is not None else quiet_period(network)
        self.clock: VirtualClock | None = None
        self.v_ready = 0
        self.v_boot = 0  # the virtual instant the first router was configured
        self._checked_at = 0.0
        self.libreal = libreal
        self.broker = Broker(network)
        self.controller: Controller | None = None
        self.procs: dict[tuple[str, str], subprocess.Popen[bytes] | ForkedDaemon] = {}
        self.fork = fork
        self.seed = seed or 0
        self.ordered = bool(virtual_time and not replay) if ordered is None else ordered
        if self.ordered and (replay or not virtual_time):
            raise ValueError("an ordered run needs the virtual clock, and a replay has its own order")
        if seed is not None and not self.ordered:
            raise ValueError("a seed names an ordered run's order: it cannot go with an unordered run")
        self.zygotes: dict[str, Zygote] = {}
        self.split: dict[str, daemon_configs.DaemonConfigs] = {}  # forked routers' configs cut per daemon
        self.record = Path(record) if record else None
        self.replay = replay
        self.replayer: Replayer | None = None
        self.reported_exits: set[tuple[str, str]] = set()
        # A part of a cluster run (realfish.cluster) sets these before start(): its peers (other parts' routers
        # reached through a relay), the clock's start (every part's the same) and each router's index in the
        # whole network (its MAC and link-local addresses, as in a one-part run)
        self.peers_factory: Callable[[Switchboard], Peers] | None = None
        self.clock_at: tuple[int, int] | None = None
        self.indexes: dict[str, int] | None = None
        os.chmod(self.run_dir, 0o755)

    # -- start ------------------------------------------------------------------------------------------------
    def _env(self, name: str, daemon: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LD_PRELOAD": str(self.libreal),
            "REALFISH_CONTROL": str(self.run_dir / "control.sock"),
            "REALFISH_ROUTER": name,
            "REALFISH_DAEMON": daemon,
            "REALFISH_IFTABLE": str(self.router_dir(name) / "interfaces"),
        }
        if self.clock:
            env["REALFISH_VCLOCK"] = str(self.clock.path)
        if self.fork:
            env["GLIBC_TUNABLES"] = MALLOC_TUNABLES
        if self.record and daemon in REPLAYED_DAEMONS:
            env["REALFISH_RECORD"] = str(self.record)
        return env

    def _spawn(self, daemons: list[tuple[str, str]]) -> None:
        """Start these (router, daemon)s: forked from their kind's zygote, requests sent together, or each from
        scratch."""
        forked: dict[str, list[tuple[str, Fork]]] = {}
        for name, daemon in daemons:
            rdir = self.router_dir(name)
            ns = frr.pathspace(self.run_id, name)
            if daemon in self.zygotes:
                record = self.record if daemon in REPLAYED_DAEMONS else None
                seed = zlib.crc32(f"{name}/{daemon}".encode())
                forked.setdefault(daemon, []).append((name, Fork(name, rdir, ns, seed, record)))
                continue
            with open(rdir / f"{daemon}.log", "wb") as log:
                self.procs[(name, daemon)] = subprocess.Popen(
                    frr.daemon_argv(daemon, rdir, ns), env=self._env(name, daemon), stdout=log,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        for daemon, items in forked.items():
            children = self.zygotes[daemon].fork_many([f for _, f in items])
            for (name, _), child in zip(items, children, strict=True):
                self.procs[(name, daemon)] = child

    def _start_zygotes(self) -> None:
        """One zygote per forked daemon kind the routers run, initialised while the clock stands still."""
        kinds = {d for r in self.network.routers.values() for d in r.daemons()}
        zdir = self.run_dir / "zygote"
        frr.prepare_router_dir(zdir, "")
        (zdir / "interfaces").write_text(interface_table(Router("zygote", ""), 0))
        for daemon in FORKED_DAEMONS:
            if daemon in kinds:
                self.zygotes[daemon] = Zygote.daemon_kind(daemon, zdir, self._zygote_pathspace(),
                                                          self._env(ZYGOTE, daemon))
        for z in self.zygotes.values():
            z.ready(self.check_daemons)

    def _zygote_pathspace(self) -> str:
        return frr.pathspace(self.run_id, "zygote-")

    def _wait_for(self, paths: list[Path], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(paths)
        while pending:
            self.check_daemons(every=0.1)
            dead = {self.router_dir(n) for (n, _d) in self.reported_exits}
            pending = [p for p in pending if not p.exists() and p.parent not in dead]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise ConvergeTimeout(f"{what} did not appear: {', '.join(map(str, pending[:5]))}")
            time.sleep(0.01)

    def start(self) -> None:
        meta = self.replay.meta if self.replay else {}
        if self.clock_at and not meta:
            meta = {"start_ns": self.clock_at[0], "offset_ns": self.clock_at[1]}
        if self.virtual_time:
            # Frozen while daemons start: the clock first moves when the routers boot (apply_configs).
            # (An ordered run needs no run slots: one daemon runs at a time, and one waiting for its turn must
            # not hold a slot.)
            self.clock = VirtualClock(self.libreal, self.run_dir / "vclock", 0 if self.ordered else self.tokens,
                                      meta.get("start_ns"), meta.get("offset_ns"), fixed=self.ordered)
            if self.ordered:
                self.clock.order()
        if self.record and self.clock:
            Recording.begin(self.record, self.clock.start_ns, self.clock.offset_ns, list(self.network.routers))
            self.clock.moves = []
        if self.replay and self.clock:
            self.clock.follow(self.replay.instants())
        # The routers' peers: running here, or the recording's (the replayer)
        peers: Callable[[Switchboard], Peers] = self.peers_factory or LivePeers
        if self.replay:
            peers = functools.partial(Replayer, recording=self.replay, routers=list(self.network.routers))
        self.controller = Controller(self.broker, str(self.run_dir / "control.sock"), self.clock, peers,
                                     turn_order(list(self.network.routers), self.seed))
        if isinstance(self.controller.peers, Replayer):
            self.replayer = self.controller.peers
        self.controller.start()
        if self.fork:
            frr.give_to_frr(self.run_dir / "control.sock")
            self._start_zygotes()
        self._phase("zygotes")
        for index, (name, router) in enumerate(self.network.routers.items()):
            rdir = self.router_dir(name)
            frr.prepare_router_dir(rdir, router.config)
            index = meta["index"][name] if self.replay else index  # the same MAC addresses as in the recorded run
            index = self.indexes[name] if self.indexes else index
            # A replayed part sends its raw packets where the whole network would (the replayer's sinks)
            (rdir / "interfaces").write_text(interface_table(router, index, self.network.whole or self.network))
            (rdir / "interfaces.addrs").touch()  # libreal's shared address table, opened by forked daemons too
            frr.give_to_frr(rdir / "interfaces.addrs")
        if self.fork:
            self._split_configs()
        else:  # every router's daemons up first, its config applied by vtysh when it boots
            self._start_daemons(list(self.network.routers))
            self._phase("daemons")
        self.apply_configs()
        self._phase("configs")
        self.t_ready = time.monotonic()
        if self.clock:
            self.v_ready = self.clock.now_ns()
            self.clock.freeze(False)

    def _start_daemons(self, routers: list[str]) -> None:
        """zebra for these routers, then (once its zserv socket is there for them to connect to) their others."""
        self._spawn([(name, "zebra") for name in routers])
        self._wait_for([self.router_dir(n) / "zserv.api" for n in routers], "zebra's zserv socket")
        self._settle()
        self._spawn([(name, daemon) for name in routers for daemon in self.network.routers[name].daemons()[1:]])
        self._wait_for([self.router_dir(n) / f"{d}.vty" for n in routers
                        for d in self.network.routers[n].daemons()], "daemons' vty sockets")
        self._settle()

    def _settle(self) -> None:
        """Ordered runs: wait until the started daemons have done all they can at this frozen instant, so the
        next step of the boot meets them in the same state in every run (not where the host's scheduling left
        them: zebra still reading its interfaces when bgpd says hello, say)."""
        if not (self.ordered and self.clock):
            return
        start = self.clock.quiets()
        deadline = time.monotonic() + 60
        while self.clock.quiets() < start + 2:  # seen twice: once may have been just before the spawn
            if time.monotonic() > deadline:
                raise ConvergeTimeout("the daemons did not settle at boot within 60 s")
            self.check_daemons(every=0.25)  # polling every daemon each millisecond took a core at k=16
            time.sleep(0.001)

    def _split_configs(self) -> None:
        """Forked daemons read their own part of the router's config when they start (realfish.daemon_configs):
        no vtysh per router. Lines vtysh's grammar rejects are reported now, those a daemon rejects once it has
        read its file (_file_config_errors)."""
        kinds = sorted({d for r in self.network.routers.values() for d in r.daemons()})
        self.split = daemon_configs.split({n: r.config for n, r in self.network.routers.items()}, kinds)
        for name, router in self.network.routers.items():
            daemon_configs.write(self.router_dir(name), self.split[name], router.daemons())
        self._config_errors((n, c.errors) for n, c in self.split.items())
        self._phase("split")

    def _file_config_errors(self) -> None:
        """The lines each forked daemon rejected reading its config file, at their lines in frr.conf."""
        found: dict[str, list[frr.ConfigError]] = {}
        for (name, daemon) in self.procs:
            log = self.router_dir(name) / f"{daemon}.log"
            if name not in self.split or not log.exists():
                continue
            for e in frr.daemon_config_errors(log.read_text(errors="replace")):
                line = self.split[name].source_line(daemon, e.line)
                if line is not None:
                    found.setdefault(name, []).append(frr.ConfigError(line, e.text, f"{e.message} ({daemon})"))
        self._config_errors((n, sorted(errs, key=lambda e: e.line)) for n, errs in found.items())

    def _phase(self, name: str) -> None:
        """Wall seconds since the run started at the end of each start-up phase (the report's timing.phases)."""
        self.report.extra.setdefault("phases", {})[name] = round(time.monotonic() - self.t_start, 3)

    def apply_configs(self) -> None:
        """vtysh applies every router's config. With the virtual clock, routers boot in batches of neighbour-free
        routers, BOOT_GAP virtual seconds apart, in a fixed order (Network.boot_batches says why)."""
        def apply(name: str) -> tuple[str, list[frr.ConfigError]]:
            rdir = self.router_dir(name)
            errors, _ = frr.apply_config(rdir, rdir / "frr.conf")
            return name, errors

        batches = self.network.boot_batches(BOOT_BATCH, self.seed) if self.clock else [list(self.network.routers)]
        if self.clock:
            self.v_boot = self.clock.now_ns()
        if self.replay:  # each router boots when it booted in the recorded run
            at = self.replay.meta["boot"]
            instants = sorted({at[n] for n in self.network.routers})
            batches = [[n for n in self.network.routers if at[n] == t] for t in instants]
            gaps = [(t - prev) / 1e9 for prev, t in zip([self.v_boot, *instants], instants, strict=False)]
        else:
            gaps = boot_gaps(len(batches), self.seed)
            self.report.extra["order"] = {"seed": self.seed if self.ordered else None, "ordered": self.ordered,
                                          "boot": batches, "gaps_s": gaps}
        booted: dict[str, int] = {}
        with ThreadPoolExecutor(max_workers=4) as pool:
            for batch, gap in zip(batches, gaps, strict=True):
                if gap > 0:
                    self.run_for(gap)
                booted.update((n, self.clock.now_ns() if self.clock else 0) for n in batch)
                if self.fork:  # the batch's daemons start now, and each reads its config first
                    self._configure(batch, self._start_daemons)
                else:
                    self._configure(batch, lambda b: self._config_errors(pool.map(apply, b)))
        if self.record:
            Recording.update(self.record, boot=booted)

    def _configure(self, batch: list[str], apply: Callable[[list[str]], None]) -> None:
        """Apply a batch's configs with connections to its routers refused until all are applied, as by routers
        not up yet: where a connection landed while vtysh was still feeding lines (before or after the `neighbor`
        lines) would depend on wall-clock timing, and runs (and replays) would differ. (Holding them instead, to
        let them in once the configs are there, made both ends of more sessions open at once, and FRR resolved
        collisions: 3 routers of 80 had refused OPENs in a k=8 run.)"""
        assert self.controller is not None
        with self.controller.lock:
            self.broker.booting = set(batch)
        try:
            apply(batch)
        finally:
            with self.controller.lock:
                self.broker.booting = set()
                self.controller.changed()

    def _config_errors(self, results: Iterable[tuple[str, list[frr.ConfigError]]]) -> None:
        for name, errors in results:
            src = self.network.routers[name].source or str(self.router_dir(name) / "frr.conf")
            if errors:  # for the parse status (realfish.rejected)
                self.report.extra.setdefault("rejected", {})[name] = [[e.line, e.text, e.message] for e in errors]
            for e in errors:
                msg = (f"{name}: {src} line {e.line}: {e.text!r}: FRR rejected it ({e.message}); "
                       f"see {self.router_dir(name)}/*.log")
                self.report.routers.setdefault(name, self._router_report()).errors.append(msg)
                self.report.problems.append(msg)

    @staticmethod
    def _router_report():  # type: ignore[no-untyped-def]
        from realfish.report import RouterReport

        return RouterReport()

    # -- run --------------------------------------------------------------------------------------------------
    def check_daemons(self, every: float = 0.0) -> None:
        """A daemon that died is reported with the line of its log that says why; the run goes on without it but
        is not converged (the network is not what was configured). A controller
        that died ends the run (ControllerFailed).

        `every`: skip the check if the last one is more recent (polling hundreds of daemons is not free)."""
        if self.controller and self.controller.failure:
            raise ControllerFailed(f"the controller failed; the emulation cannot go on:\n{self.controller.failure}")
        now = time.monotonic()
        if every and now - self._checked_at < every:
            return
        self._checked_at = now
        for key, proc in list(self.procs.items()):
            code = proc.poll()
            if code is not None and key not in self.reported_exits:
                self.reported_exits.add(key)
                name, daemon = key
                log = self.router_dir(name) / f"{daemon}.log"
                cause = death_cause(log.read_text(errors="replace") if log.exists() else "", code)
                msg = f"{name}: {daemon} died, {cause}; log {log}"
                self.report.converged = False  # the network did not converge as configured
                self.report.extra.setdefault("failures", []).append({"router": name, "what": msg})
                self.report.problems.append(msg)
                self.report.routers.setdefault(name, self._router_report()).errors.append(msg)

    def wait_converged(self, timeout: float) -> None:
        try:
            if self.clock:
                self._wait_virtual(timeout)
            else:
                self._wait_quiet(timeout)
        finally:  # the clock has moved since the last boot: every forked daemon has read its config
            if self.split:
                self._file_config_errors()

    def _wait_virtual(self, timeout: float) -> None:
        """Converged once `quiet` virtual seconds pass with no broker event (connection, listener, address, route).

        The quiet period lets every protocol timer in play fire at least once (twice the largest hold or dead
        interval by default); it costs little wall time, since the clock jumps from deadline to deadline.
        """
        assert self.controller is not None and self.clock is not None
        deadline = time.monotonic() + timeout
        quiet_ns = int(self.quiet * 1e9)
        played_out = 0.0
        while True:
            self.check_daemons(every=0.25)
            last = max(self.controller.last_event_v, self.v_ready)
            end = last + quiet_ns  # moves on with every event
            if self.replay:
                # A replay ends where the recorded run ended, once the recording is played out (or, should the
                # router stop reading, soon after).
                end = self.replay.meta["end_ns"]
                if self.clock.now_ns() >= end and not (self.replayer and self.replayer.done()):
                    played_out = played_out or time.monotonic()
                    if time.monotonic() - played_out < 1.0:
                        end = NONE
            self.controller.limit_ns = min(end, self.replay.meta["end_ns"]) if self.replay else end
            if self.clock.now_ns() >= end or self.controller.idle_forever:
                self.clock.freeze()
                if self.replayer:
                    with self.controller.lock:
                        self.replayer.release()
                if self.record:
                    Recording.end(self.record, self.clock.now_ns(), self.clock.moves or [])
                self.check_daemons()  # the throttled checks may not have seen a death in the last moments
                self.t_converged = max(self.controller.last_route_change, self.t_ready)
                last_route = max(self.controller.last_route_change_v, self.v_ready)
                counts = self.clock.counts()
                self.report.extra["virtual"] = {
                    "converge_s": round((last_route - self.v_ready) / 1e9, 6),
                    "end_s": round((self.clock.now_ns() - self.v_ready) / 1e9, 3),
                    "boot_s": round((self.v_ready - self.v_boot) / 1e9, 3),
                    "quiet_s": self.quiet, "clock_advances": self.clock.advances, "wakeups": self.clock.woken,
                    "tokens": self.tokens, "parked_bytes_waits": counts["parks"], "proc_scans": counts["proc_scans"],
                    "ordered": self.ordered, "turns": counts["turns"]}
                self.report.extra["sessions_down"] = self.sessions_down()
                if self.replayer:
                    with self.controller.lock:
                        self.report.extra["replay"] = self.replayer.summary()
                return
            if time.monotonic() > deadline:
                self.clock.freeze()
                raise self._limit(f"not converged within {timeout:.0f} s of wall time "
                                  f"({(self.clock.now_ns() - self.v_ready) / 1e9:.1f} s virtual; "
                                  f"scheduler {self.clock.counts()}, {self.controller.in_flight()} bytes in flight)")
            time.sleep(0.005)

    def _limit(self, what: str) -> ConvergeTimeout:
        """The run hit its limit: not converged, and said so wherever a failure is (report, initIssues)."""
        self.report.converged = False
        self.report.extra.setdefault("failures", []).append({"router": None, "what": what})
        return ConvergeTimeout(what)

    def run_for(self, seconds: float, timeout: float = 600.0) -> None:
        """Let `seconds` of virtual time pass (the network keeps running: keepalives, timers), then freeze."""
        assert self.clock is not None, "run_for needs the virtual clock"
        assert self.controller is not None
        target = self.clock.now_ns() + round(seconds * 1e9)
        deadline = time.monotonic() + timeout
        self.controller.limit_ns = target
        self.clock.freeze(False)
        try:
            while self.clock.now_ns() < target and not self.controller.idle_forever:
                if time.monotonic() > deadline:
                    raise ConvergeTimeout(f"{seconds} virtual seconds did not pass within {timeout} s")
                self.check_daemons(every=0.25)
                time.sleep(0.005)
        finally:
            self.clock.freeze()

    def _wait_quiet(self, timeout: float) -> None:
        """Without a virtual clock: quiet for `settle` seconds with every BGP session up, or quiet for
        4 x `settle` whatever the sessions.

        Quiet means no broker event and no byte in flight. FRR has timers that produce no event while they run
        (bgpd holds its peers for a while after a config is read, waits out its update coalesce timer), so quiet
        alone is not enough: sessions that should come up get the chance to. Sessions that cannot come up
        (misconfiguration, no path) stop holding the run after 4 x `settle`.
        """
        assert self.controller is not None
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        checked_at = 0.0
        ospf_seen: dict[str, float] = {}
        while True:
            now = time.monotonic()
            self.check_daemons()
            if self.controller.in_flight() > 0 or now - self.controller.last_event < 0.05:
                quiet_since = now
            quiet = now - max(quiet_since, self.controller.last_event)
            if quiet >= self.settle and self.ospf_moving(ospf_seen):
                quiet_since, quiet = now, 0.0  # OSPF's timers (Waiting, adjacencies forming) run without events
            if quiet >= self.settle and checked_at < max(quiet_since, self.controller.last_event):
                down = self.sessions_down()
                checked_at = time.monotonic()
                if not down or quiet >= 4 * self.settle:
                    if down:
                        self.report.extra["sessions_down"] = down
                    self.t_converged = max(self.controller.last_route_change, self.t_ready)
                    return
            elif quiet >= 4 * self.settle:
                self.report.extra["sessions_down"] = self.sessions_down()
                self.t_converged = max(self.controller.last_route_change, self.t_ready)
                return
            if now > deadline:
                raise self._limit(f"no quiescence within {timeout:.0f} s")
            time.sleep(0.05)

    def ospf_moving(self, seen: dict[str, float]) -> list[str]:
        """OSPF still on its way somewhere (realfish.ospf.unsettled). A neighbour seen in the same transient state
        for 3 x `settle` (ExStart for good on an MTU mismatch) stops counting; `seen` remembers since when."""
        now = time.monotonic()
        moving = []
        for name, router in self.network.routers.items():
            for daemon in ospf.OSPF_DAEMONS:
                if daemon not in router.daemons() or (name, daemon) in self.reported_exits:
                    continue
                try:
                    items = ospf.unsettled(self.router_dir(name), daemon=daemon)
                except (OSError, ConnectionError):
                    continue  # a dead daemon is reported by check_daemons
                for what in items:
                    key = f"{name}: {daemon} {what}"
                    if what.startswith("interface") or now - seen.setdefault(key, now) < 3 * self.settle:
                        moving.append(key)
        return moving

    def pids(self) -> list[int]:
        zygotes = [z.proc for z in self.zygotes.values()]
        return [p.pid for p in [*self.procs.values(), *zygotes] if p.poll() is None]

    def collect(self, shows: list[str]) -> Report:
        """The report; a recorded run also keeps its FIBs with the recording, a replay compares with them."""
        rep = super().collect(shows)
        if self.controller:  # what the controller could not handle: a daemon got an error it would not have
            rep.problems += [f"controller: {line}" for line in self.controller.log]
        if self.record or self.replay:
            fibs = {name: r["fib"] for name, r in rep.to_json()["routers"].items()}
            if self.record:
                (self.record / "fibs.json").write_text(json.dumps(fibs))
            if self.replay:
                recorded = self.replay.fibs()
                diff = {n: d for n in fibs if (d := compare(recorded.get(n, []), fibs[n]))}
                rep.extra.setdefault("replay", {})["fib_differences"] = diff
        return rep

    def fib(self, router: str) -> list[FibEntry]:
        with self.controller.lock if self.controller else _null():
            return self.broker.fibs[router].entries()

    # -- stop -------------------------------------------------------------------------------------------------
    def _stop(self) -> None:
        if self.replayer and self.controller:
            with self.controller.lock:
                self.replayer.release()  # a held daemon would not stop
        if self.record and (self.record / "meta.json").exists():
            # What the daemons read up to now is the run; what they read while the others stop is not.
            Recording.update(self.record, lengths={p.name: p.stat().st_size for p in self.record.glob("*.rec")})
        procs = list(self.procs.items())
        for _, p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for _, p in procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    # Its zygote did not pass the signal on or report the exit: stopping must not wait for ever
                    # (nor leave the daemon running once the zygote stops)
                    if isinstance(p, ForkedDaemon):
                        p.kill_directly()
        for z in self.zygotes.values():  # after their children, which they reap
            z.stop()
        if self.controller:
            self.controller.stop()
            self.controller = None
        if self.replayer:
            self.replayer.close()
        if self.clock:
            self.clock.close()
        pids = [p.pid for _, p in procs] + [z.proc.pid for z in self.zygotes.values()]
        spaces = [frr.pathspace(self.run_id, name) for name in self.network.routers] + [self._zygote_pathspace()]
        frr.remove_leftovers(spaces, pids)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None
