"""The baseline: the same FRR configs on the default Linux runtime, for side-by-side comparisons only.

One network namespace per router (`rf<run_id>-<index>`), veth pairs for point-to-point segments, a Linux
bridge in one extra "switch" namespace (`rf<run_id>-sw`) for LANs, stub segments and interfaces that are in no
segment. zebra puts the addresses on the interfaces from the router's frr.conf and installs routes into the
namespace's kernel FIB, exactly as on a Linux box. Nothing is created in the host namespace: every veth is
created directly inside its namespaces, so a failure half-way leaves nothing behind once the namespaces are
deleted.

Link speeds: a veth always reports 10 Gb/s through ethtool and cannot be told otherwise, so a port whose speed
differs (`Interface.speed_mbps`, which the emulation reports as it is) gets `bandwidth N` in zebra before the
router's config is applied: ospfd's auto-cost then divides by the same number in both runtimes (a `bandwidth`
line of the router's own, applied after, still wins, as it does over the port's speed). zebra takes at most
100,000 Mb/s there; a faster port is capped and listed in report.extra["baseline"]["speeds_capped"].

Convergence is watched, not slept on: each router namespace has a netlink socket subscribed to route and
nexthop changes of its kernel FIB; the network has converged once no FIB has changed for `settle` seconds,
every BGP session is Established and every OSPF neighbour Full (or 2-Way), and has been for `settle` seconds.
Sessions that stay down (a config matter, e.g. a peer that is not in the snapshot) are accepted once the FIBs
have been stable for 3 settle periods, and listed in report.extra["baseline"]["sessions_down"].

The kernel's neighbour (ARP/ND) tables are shared by all namespaces and capped by net.ipv4.neigh.default
.gc_thresh3 (1024 by default), which big fat-trees overflow. Permanent neighbour entries do not count against
that cap, so by default the baseline installs one for every address the topology lists on the other members of
each segment (MACs are deterministic, see `Router.mac`). Only if more than 512 router interfaces are left
without such entries (or `neigh="sysctl"`) does it raise gc_thresh1-3 for the run, say so on stderr, and
restore the original values in close().
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from realfish import frr, ospf, rtnetlink
from realfish.dataplane import FibEntry, NextHop
from realfish.report import RouterReport
from realfish.runner import ConvergeTimeout, Runner
from realfish.topology import VETH_SPEED_MBPS, Interface, Network, Router

IP = "ip"
NETNS_RUN = Path("/run/netns")
GC_THRESH = [f"/proc/sys/net/ipv4/neigh/default/gc_thresh{i}" for i in (1, 2, 3)]
MAX_BANDWIDTH_MBPS = 100_000  # zebra's `bandwidth (1-100000)`
GC_THRESH_IFACES = 512  # raise gc_thresh above this many router interfaces that need dynamic neighbours
FORWARDING = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding")

# Kernel route protocol numbers (rtm_protocol) as FRR names them (/etc/iproute2/rt_protos.d/frr.conf).
PROTOCOLS = {
    "2": "kernel", "kernel": "kernel", "3": "kernel", "boot": "kernel", "4": "static", "static": "static",
    "11": "zebra", "zebra": "zebra", "186": "bgp", "bgp": "bgp", "187": "isis", "isis": "isis",
    "188": "ospf", "ospf": "ospf", "189": "rip", "rip": "rip", "190": "ripng", "ripng": "ripng",
    "192": "eigrp", "eigrp": "eigrp", "193": "ldp", "ldp": "ldp", "194": "sharp", "sharp": "sharp",
    "195": "pbr", "pbr": "pbr", "196": "static", "197": "openfabric", "openfabric": "openfabric",
}

CLONE_NEWNET = 0x40000000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


class _FibWatch:
    """Route and nexthop change notifications of one namespace's kernel FIB (table main)."""

    def __init__(self) -> None:
        self.nl = rtnetlink.RtNetlink(rtnetlink.RTMGRP_IPV4_ROUTE | rtnetlink.RTMGRP_IPV6_ROUTE)
        self.nl.sock.setsockopt(rtnetlink.SOL_NETLINK, rtnetlink.NETLINK_ADD_MEMBERSHIP, rtnetlink.RTNLGRP_NEXTHOP)
        try:
            self.nl.sock.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE (root)
        except OSError:
            self.nl.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.nl.sock.setblocking(False)
        self.changes = 0  # route and nexthop notifications that concern table main
        self.overruns = 0  # ENOBUFS: notifications lost

    def drain(self) -> bool:
        """Read every pending notification; True if any of them changed the FIB (an overrun counts)."""
        changed = False
        while True:
            try:
                buf = self.nl.sock.recv(65536)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.ENOBUFS:  # lost notifications: assume the FIB changed
                    changed = True
                    self.overruns += 1
                    continue
                raise
            if not buf:
                break
            n = rtnetlink.fib_changes(buf)
            self.changes += n
            changed |= n > 0
        return changed

    def fileno(self) -> int:
        return self.nl.fileno()

    def close(self) -> None:
        self.nl.close()


def _in_namespaces(names: list[str], fn: Callable[[str], Any]) -> dict[str, Any]:
    """Call fn(name) with the calling thread inside each named network namespace; return their results.

    Runs in a helper thread (setns changes only that thread's namespace), so the caller never leaves the host
    namespace. Sockets created by fn stay bound to the namespace they were created in.
    """
    results: dict[str, Any] = {}
    failure: list[BaseException] = []

    def run() -> None:
        host = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
        try:
            for name in names:
                fd = os.open(NETNS_RUN / name, os.O_RDONLY)
                try:
                    _setns(fd)
                finally:
                    os.close(fd)
                results[name] = fn(name)
        except BaseException as e:  # noqa: B036 - re-raised in the caller
            failure.append(e)
        finally:
            try:
                _setns(host)
            finally:
                os.close(host)

    t = threading.Thread(target=run, name="netns-setup", daemon=True)
    t.start()
    try:
        t.join()
    except BaseException:  # Ctrl-C: let the helper finish, so that close() sees everything it created
        t.join()
        raise
    if failure:
        raise failure[0]
    return results


def _eui64(mac: str) -> ipaddress.IPv6Address:
    b = bytearray(bytes.fromhex(mac.replace(":", "")))
    b[0] ^= 0x02
    return ipaddress.IPv6Address(b"\xfe\x80" + b"\0" * 6 + bytes(b[:3]) + b"\xff\xfe" + bytes(b[3:]))


def _run_ip(args: list[str], batch: list[str] | None = None, check: bool = True) -> str:
    proc = subprocess.run([IP, *args] + (["-batch", "-"] if batch is not None else []),
                          input="".join(line + "\n" for line in batch) if batch is not None else None,
                          capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


class Baseline(Runner):
    """Each router in its own network namespace, linked by veth pairs and bridges; FRR on the real kernel."""

    runtime = "baseline"

    def __init__(self, network: Network, run_dir: str | None = None, keep: bool = False, settle: float = 3.0,
                 neigh: str = "static", start_timeout: float = 60.0, apply_workers: int = 4):
        if neigh not in ("static", "sysctl", "none"):
            raise ValueError(f"neigh must be 'static', 'sysctl' or 'none', not {neigh!r}")
        super().__init__(network, run_dir=run_dir, keep=keep)
        self.settle = settle
        self.neigh = neigh
        self.start_timeout = start_timeout
        self.apply_workers = apply_workers
        self.namespaces: list[str] = []  # every namespace this run created (and close() deletes)
        self.ns_of: dict[str, str] = {}  # router name -> namespace
        self.switch_ns = f"rf{self.run_id}-sw"
        self.procs: dict[str, list[tuple[str, subprocess.Popen[bytes]]]] = {}  # router -> [(daemon, proc)]
        self.watches: dict[str, _FibWatch] = {}
        self.gc_saved: list[str] | None = None  # original gc_thresh1-3 while raised
        self.gc_set: list[str] | None = None
        self.build_s = 0.0  # namespaces + links + sysctls + neighbours
        self.launch_s = 0.0  # daemon start until every vty socket exists
        self.apply_s = 0.0  # vtysh -f of every config
        self.last_change = self.t_start
        self.table_fulls: dict[str, int] = {}  # host-wide neighbour table overflow counters at the start
        self._lock = threading.Lock()
        self._stopped = False
        self._moving_since: dict[str, float] = {}  # transient session states: when first seen
        self._strays: list[int] = []  # daemons found in our namespaces that start() had not recorded
        for idx, name in enumerate(network.routers):
            self.ns_of[name] = f"rf{self.run_id}-{idx}"

    # -- building --------------------------------------------------------------------------------------------
    def _links(self) -> tuple[list[str], list[str], dict[str, list[tuple[str, IPAddress, str]]], int]:
        """ip batch lines for the host (create), for the switch namespace, the static neighbours per
        namespace [(ifname, address, mac)], and how many router interfaces are left to dynamic neighbours."""
        net = self.network
        index = {name: i for i, name in enumerate(net.routers)}
        macs = {(r, i.name): net.routers[r].mac(i, index[r]) for r in net.routers
                for i in net.routers[r].interfaces.values()}
        host: list[str] = []
        switch: list[str] = []
        neigh: dict[str, list[tuple[str, IPAddress, str]]] = {ns: [] for ns in self.ns_of.values()}
        dynamic = 0
        sw = self.switch_ns
        nport = nbridge = 0

        def end(r: str, ifname: str) -> str:
            iface = net.routers[r].interfaces[ifname]
            return f"{ifname} netns {self.ns_of[r]} mtu {iface.mtu} address {macs[(r, ifname)]}"

        def to_switch(r: str, ifname: str, master: str | None) -> None:
            nonlocal nport
            nport += 1
            port = f"p{nport}"
            mtu = net.routers[r].interfaces[ifname].mtu
            host.append(f"link add {end(r, ifname)} up type veth peer name {port} netns {sw} mtu {mtu}")
            if master:
                switch.append(f"link set {port} master {master}")
            switch.append(f"link set {port} up")

        in_segment: set[tuple[str, str]] = set()
        for seg in net.segments:
            members = [(r, i) for r, i in seg.members if i != "lo"]
            in_segment.update(members)
            if len(members) == 2:
                (r1, i1), (r2, i2) = members
                host.append(f"link add {end(r1, i1)} up type veth peer name {end(r2, i2)}")
            elif len(members) == 1:
                to_switch(*members[0], None)
            elif members:
                nbridge += 1
                br = f"b{nbridge}"
                host.append(f"link add {br} netns {sw} type bridge mcast_snooping 0 stp_state 0")
                switch.append(f"link set {br} up")
                for r, i in members:
                    to_switch(r, i, br)
            for r, i in members:
                covered = True
                for r2, i2 in members:
                    if (r2, i2) == (r, i):
                        continue
                    peer: Interface = net.routers[r2].interfaces[i2]
                    if not peer.addresses:
                        covered = False
                    mac = macs[(r2, i2)]
                    for a in [*(x.ip for x in peer.addresses), _eui64(mac)]:
                        neigh[self.ns_of[r]].append((i, a, mac))
                dynamic += 0 if covered and self.neigh == "static" else 1
        for r, router in net.routers.items():
            for ifname in router.interfaces:
                if ifname != "lo" and (r, ifname) not in in_segment:
                    to_switch(r, ifname, None)
        return host, switch, neigh, dynamic

    def _build(self) -> None:
        t0 = time.monotonic()
        host, switch, neigh, dynamic = self._links()
        names = list(self.ns_of.values()) + ([self.switch_ns] if switch else [])
        for ns in names:
            if (NETNS_RUN / ns).exists():
                raise RuntimeError(f"network namespace {ns} already exists (another run with the same id?)")
        # Record before creating: close() deletes whatever of these exists, even after a failure half-way.
        self.namespaces = names
        _run_ip([], [f"netns add {ns}" for ns in names] + host)
        if switch:
            _run_ip(["-n", self.switch_ns], switch)
        router_ifaces = {self.ns_of[r]: [i for i in router.interfaces if i != "lo"]
                         for r, router in self.network.routers.items()}

        router_of = {ns: r for r, ns in self.ns_of.items()}

        def setup(ns: str) -> None:
            for path in FORWARDING:
                with open(path, "w") as f:
                    f.write("1\n")
            nl = rtnetlink.RtNetlink()
            try:
                nl.link_up("lo")
                for ifname in router_ifaces[ns]:
                    nl.link_up(ifname)
                if self.neigh == "static":
                    for ifname, addr, mac in neigh[ns]:
                        nl.neigh_permanent(socket.if_nametoindex(ifname), addr, mac)
            finally:
                nl.close()
            self.watches[router_of[ns]] = _FibWatch()

        _in_namespaces(list(self.ns_of.values()), setup)
        if dynamic > GC_THRESH_IFACES and self.neigh != "none":
            self._raise_gc_thresh(dynamic)
        self.table_fulls = _neigh_table_fulls()
        self.build_s = time.monotonic() - t0

    def _raise_gc_thresh(self, ifaces: int) -> None:
        saved = [Path(p).read_text().strip() for p in GC_THRESH]
        want = [max(int(s), f * ifaces) for s, f in zip(saved, (2, 4, 8), strict=True)]
        if want == [int(s) for s in saved]:
            return
        self.gc_saved = saved
        self.gc_set = [str(w) for w in want]
        for path, value in zip(GC_THRESH, self.gc_set, strict=True):
            Path(path).write_text(value + "\n")
        print(f"realfish baseline: {ifaces} router interfaces use dynamic neighbour entries; raised host "
              f"sysctl net.ipv4.neigh.default.gc_thresh1/2/3 from {'/'.join(saved)} to "
              f"{'/'.join(self.gc_set)} for this run (restored when it ends)", file=sys.stderr)

    def _restore_gc_thresh(self) -> None:
        if self.gc_saved is None or self.gc_set is None:
            return
        saved, self.gc_saved = self.gc_saved, None
        now = [Path(p).read_text().strip() for p in GC_THRESH]
        if now != self.gc_set:
            print(f"realfish baseline: gc_thresh1/2/3 changed by someone else during the run "
                  f"({'/'.join(now)}); left as they are", file=sys.stderr)
            return
        for path, value in zip(GC_THRESH, saved, strict=True):
            Path(path).write_text(value + "\n")
        print(f"realfish baseline: restored net.ipv4.neigh.default.gc_thresh1/2/3 to {'/'.join(saved)}",
              file=sys.stderr)

    # -- daemons ---------------------------------------------------------------------------------------------
    def _launch(self, router: Router, daemon: str) -> None:
        rdir = self.router_dir(router.name)
        argv = frr.daemon_argv(daemon, rdir, frr.pathspace(self.run_id, router.name))
        with open(rdir / f"{daemon}.log", "wb") as log:
            proc = subprocess.Popen([IP, "netns", "exec", self.ns_of[router.name], *argv],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        with self._lock:
            self.procs.setdefault(router.name, []).append((daemon, proc))

    def _wait_files(self, wanted: dict[tuple[str, str], Path]) -> None:
        """Wait until every file exists; fail early if the daemon that should create it has exited."""
        deadline = time.monotonic() + self.start_timeout
        pending = dict(wanted)
        while pending:
            for key, path in list(pending.items()):
                if path.exists():
                    del pending[key]
                    continue
                router, daemon = key
                proc = next(p for d, p in self.procs[router] if d == daemon)
                if proc.poll() is not None:
                    raise RuntimeError(f"{router}: {daemon} exited with code {proc.returncode} during "
                                       f"start-up: {self._log_tail(router, daemon)}")
            if not pending:
                break
            if time.monotonic() > deadline:
                r, d = next(iter(pending))
                raise RuntimeError(f"{len(pending)} daemons did not create their sockets within "
                                   f"{self.start_timeout:.0f} s, e.g. {r}: {d} ({pending[(r, d)]})")
            time.sleep(0.01)

    def _log_tail(self, router: str, daemon: str, lines: int = 5) -> str:
        try:
            text = (self.router_dir(router) / f"{daemon}.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def start(self) -> None:
        frr.check_installed()
        # The daemons run as the frr user and create their sockets in the router dirs below run_dir.
        os.chmod(self.run_dir, 0o711)
        routers = self.network.routers
        for name, router in routers.items():
            frr.prepare_router_dir(self.router_dir(name), router.config)
        self._build()
        t0 = time.monotonic()
        for router in routers.values():
            self._launch(router, "zebra")
        self._wait_files({(name, "zebra"): self.router_dir(name) / "zserv.api" for name in routers})
        others: dict[tuple[str, str], Path] = {(name, "zebra"): self.router_dir(name) / "zebra.vty"
                                               for name in routers}
        for name, router in routers.items():
            for daemon in router.daemons():
                if daemon != "zebra":
                    self._launch(router, daemon)
                    others[(name, daemon)] = self.router_dir(name) / f"{daemon}.vty"
        self._wait_files(others)
        self.launch_s = time.monotonic() - t0
        t1 = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=self.apply_workers, thread_name_prefix="vtysh-apply")
        try:
            results = list(pool.map(self._apply, routers.values()))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for name, errors in results:
            rr = self.report.routers.setdefault(name, RouterReport())
            rr.errors.extend(errors)
            self.report.problems.extend(errors)
        self.apply_s = time.monotonic() - t1
        self.t_ready = time.monotonic()
        capped = sorted(f"{r}:{n}" for r, router in routers.items() for n, i in router.interfaces.items()
                        if n != "lo" and i.speed_mbps > MAX_BANDWIDTH_MBPS)
        if capped:
            self._extra()["speeds_capped"] = capped
        self._extra().update({
            "build_s": round(self.build_s, 4), "launch_s": round(self.launch_s, 4),
            "apply_s": round(self.apply_s, 4), "namespaces": len(self.namespaces),
            "neigh": self.neigh, "gc_thresh_raised": self.gc_set is not None,
        })

    def _apply(self, router: Router) -> tuple[str, list[str]]:
        rdir = self.router_dir(router.name)
        conf = rdir / "frr.conf"
        speeds = speed_stand_ins(router)
        if speeds:
            stand_ins = rdir / "link-speeds.conf"
            stand_ins.write_text(speeds)
            bad, _ = frr.apply_config(rdir, stand_ins)
            if bad:
                return router.name, [f"{router.name}: link speed stand-in rejected: {e.text}: {e.message}"
                                     for e in bad]
        errors, out = frr.apply_config(rdir, conf)
        log = rdir / "vtysh-apply.log"
        log.write_text(out)
        source = router.source or str(conf)
        return router.name, [f"{router.name}: {source} line {e.line}: {e.text}: {e.message} (see {log})"
                             for e in errors]

    # -- convergence -----------------------------------------------------------------------------------------
    def _sessions(self, stop_early: bool) -> tuple[list[str], list[str], float]:
        """The routing sessions' view of convergence: (what certainly is still moving, what is down and may stay
        so because of the config, the shortest time any up session has been in its state, in s).

        Moving: an OSPF interface in Waiting (ends within the dead interval), an OSPF neighbour in a transient
        state (or with LSAs still to request or retransmit) first seen less than 3 settle periods ago, a daemon
        that does not answer. Down: BGP sessions that are not Established, OSPF neighbours stuck in a transient
        state. With stop_early, stop at the first of either.
        """
        moving: list[str] = []
        down: list[str] = []
        shortest = float("inf")
        stuck = 3 * self.settle
        now = time.monotonic()
        for name, router in self.network.routers.items():
            daemons = router.daemons()
            rdir = self.router_dir(name)
            for d, proc in self.procs.get(name, []):
                if proc.poll() is not None and d in daemons:  # reported by _check_daemons
                    down.append(f"{name}: {d} exited")
                    daemons.remove(d)
            try:
                if "bgpd" in daemons:
                    with frr.Vty(rdir / "bgpd.vty", timeout=10.0) as vty:
                        bgp = frr.json_object(vty.command("show bgp vrf all summary json"))
                    peers: dict[str, str] = {}
                    for vrf in bgp.values():
                        for afi in vrf.values() if isinstance(vrf, dict) else []:
                            for addr, peer in (afi.get("peers", {}) if isinstance(afi, dict) else {}).items():
                                state = str(peer.get("state", "?"))
                                if state == "Established":
                                    shortest = min(shortest, peer.get("peerUptimeMsec", 0) / 1000.0)
                                peers[addr] = state
                    down += [f"{name}: BGP {a} {st}" for a, st in peers.items() if st != "Established"]
                for daemon, proto in zip(ospf.OSPF_DAEMONS, ("OSPF", "OSPFv3"), strict=True):
                    if daemon not in daemons:
                        continue
                    st = ospf.state(rdir, daemon=daemon)
                    moving += [f"{name}: {proto} interface {i} Waiting" for i in st.waiting]
                    for what, final, uptime in st.neighbours:
                        what = f"{name}: {proto} {what}"
                        if final:
                            shortest = min(shortest, uptime)
                            # LSAs pending earlier and acknowledged since: a later retransmission starts afresh
                            self._moving_since.pop(what + ospf.PENDING_LSAS, None)
                        elif now - self._moving_since.setdefault(what, now) >= stuck:
                            down.append(what)  # e.g. ExStart forever: an MTU mismatch
                        else:
                            moving.append(what)
            except (OSError, ConnectionError) as e:
                moving.append(f"{name}: a daemon does not answer its vty ({e})")
            if stop_early and (moving or down):
                break
        return moving, down, shortest

    def _check_daemons(self, reported: set[tuple[str, str]]) -> None:
        for name, procs in list(self.procs.items()):
            for daemon, proc in procs:
                if proc.poll() is not None and (name, daemon) not in reported:
                    reported.add((name, daemon))
                    msg = (f"{name}: {daemon} exited with code {proc.returncode}: "
                           f"{self._log_tail(name, daemon)}")
                    self.report.problems.append(msg)
                    self.report.routers.setdefault(name, RouterReport()).errors.append(msg)

    def _extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = self.report.extra.setdefault("baseline", {})
        return extra

    def _check_neighbour_overflow(self) -> None:
        """The host-wide 'neighbour table full' counters: an overflow makes sessions stall or flap."""
        now = _neigh_table_fulls()
        for table, count in now.items():
            delta = count - self.table_fulls.get(table, count)
            if delta > 0:
                self.report.problems.append(
                    f"kernel {table} table was full {delta} times during the run (host-wide counter "
                    f"/proc/net/stat/{table}, net.*.neigh.default.gc_thresh3); BGP sessions may have stalled")

    def wait_converged(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        for name, w in self.watches.items():
            sel.register(w.fileno(), selectors.EVENT_READ, name)
        self.last_change = self.t_ready
        # Changes before t_ready (addresses, first routes) count too: drain them now.
        drained = [w.drain() for w in self.watches.values()]
        if any(drained):
            self.last_change = time.monotonic()
        reported: set[tuple[str, str]] = set()
        next_check = 0.0
        moving: list[str] = []
        down: list[str] = []
        try:
            while True:
                for key, _ in sel.select(timeout=0.2):
                    if self.watches[key.data].drain():
                        self.last_change = time.monotonic()
                now = time.monotonic()
                stable = now - self.last_change
                if stable >= self.settle and now >= next_check:
                    self._check_daemons(reported)
                    moving, down, up_for = self._sessions(stop_early=True)
                    if down and not moving and stable >= 3 * self.settle:
                        moving, down, up_for = self._sessions(stop_early=False)
                    next_check = time.monotonic() + 0.5
                    # Sessions that never come up (config) are legitimate: accept them after 3 settle periods.
                    if not moving and up_for >= self.settle and (not down or stable >= 3 * self.settle):
                        if down:
                            self._extra()["sessions_down"] = down
                            print(f"realfish baseline: converged with {len(down)} routing sessions down, "
                                  f"e.g. {down[0]}", file=sys.stderr)
                        self.t_converged = self.last_change
                        self._extra()["fib_change_events"] = sum(w.changes for w in self.watches.values())
                        self._check_neighbour_overflow()
                        return
                if now > deadline:
                    self.report.converged = False
                    self._check_neighbour_overflow()
                    waiting = (moving or down or ["nothing"])[0] if stable >= self.settle else "FIB changes"
                    raise ConvergeTimeout(f"baseline did not converge within {timeout:.0f} s (last FIB change "
                                          f"{now - self.last_change:.1f} s ago; waiting for {waiting})")
        finally:
            sel.close()

    # -- state -----------------------------------------------------------------------------------------------
    def fib(self, router: str) -> list[FibEntry]:
        ns = self.ns_of[router]
        entries: list[FibEntry] = []
        for family in ("-4", "-6"):
            out = _run_ip(["-j", "-n", ns, family, "route", "show", "table", "main"])
            for r in json.loads(out) if out.strip() else []:
                e = _fib_entry(r, family == "-6")
                if e is not None:
                    entries.append(e)
        return entries

    def pids(self) -> list[int]:
        with self._lock:
            procs = [p for ps in self.procs.values() for _, p in ps]
        return [p.pid for p in procs if p.poll() is None]

    def _stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._stop_daemons()
        finally:
            try:
                for w in self.watches.values():
                    w.close()
                self.watches = {}
                self._delete_namespaces()
            finally:
                self._restore_gc_thresh()
                pids = [p.pid for ps in self.procs.values() for _, p in ps] + self._strays
                frr.remove_leftovers([frr.pathspace(self.run_id, name) for name in self.network.routers], pids)

    def _stop_daemons(self) -> None:
        procs = [p for ps in self.procs.values() for _, p in ps]
        for p in procs:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 5.0
        for p in procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        # Daemons started while start() was interrupted (Popen had forked but not returned yet).
        for pid, what in _strays(self.namespaces):
            print(f"realfish baseline: killing stray {what} (pid {pid}) of this run", file=sys.stderr)
            self._strays.append(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            _reap(pid)

    def _delete_namespaces(self) -> None:
        existing = [ns for ns in self.namespaces if (NETNS_RUN / ns).exists()]
        if existing:
            proc = subprocess.run([IP, "-force", "-batch", "-"], capture_output=True, text=True, timeout=120,
                                  input="".join(f"netns del {ns}\n" for ns in existing))
            left = [ns for ns in existing if (NETNS_RUN / ns).exists()]
            if left:
                print(f"realfish baseline: could not delete namespaces {left}: {proc.stderr.strip()}",
                      file=sys.stderr)


def speed_stand_ins(router: Router) -> str:
    """zebra `bandwidth` lines for the ports whose speed a veth cannot report (it always says 10 Gb/s)."""
    out = []
    for name, iface in router.interfaces.items():
        if name != "lo" and iface.speed_mbps != VETH_SPEED_MBPS:
            out += [f"interface {name}", f" bandwidth {min(iface.speed_mbps, MAX_BANDWIDTH_MBPS)}", "exit"]
    return "\n".join(out) + "\n" if out else ""


def _reap(pid: int, timeout: float = 2.0) -> None:
    """Collect a killed child of ours (a Popen interrupted before it returned), so no zombie stays."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:  # not our child: its parent reaps it
            return
        time.sleep(0.01)


def _neigh_table_fulls() -> dict[str, int]:
    """Sum over CPUs of the table_fulls column of /proc/net/stat/{arp_cache,ndisc_cache} (hex)."""
    out: dict[str, int] = {}
    for table in ("arp_cache", "ndisc_cache"):
        try:
            rows = Path(f"/proc/net/stat/{table}").read_text().split("\n")
        except OSError:
            continue
        cols = rows[0].split()
        if "table_fulls" not in cols:
            continue
        i = cols.index("table_fulls")
        out[table] = sum(int(r.split()[i], 16) for r in rows[1:] if len(r.split()) > i)
    return out


def _strays(namespaces: list[str]) -> list[tuple[int, str]]:
    """Processes of this run that no Popen recorded: FRR daemons inside one of the namespaces, and
    `ip netns exec NS ...` launchers of them that have not exec'd the daemon yet."""
    inodes = set()
    for ns in namespaces:
        try:
            inodes.add(os.stat(NETNS_RUN / ns).st_ino)
        except OSError:
            pass
    names = set(namespaces)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{entry}/exe")
            if exe.startswith(str(frr.FRR_SBIN) + "/") and os.stat(f"/proc/{entry}/ns/net").st_ino in inodes:
                found.append((int(entry), exe))
                continue
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[1:3] == [b"netns", b"exec"] and len(argv) > 3 and argv[3].decode(errors="replace") in names:
            found.append((int(entry), " ".join(a.decode(errors="replace") for a in argv[:5])))
    return found


def _fib_entry(r: dict[str, Any], v6: bool) -> FibEntry | None:
    """One `ip -j route show` entry as a FibEntry (None for what forwarding of unicast does not use)."""
    dst = r.get("dst", "")
    rtype = r.get("type", "unicast")
    if rtype in ("multicast", "local", "broadcast", "anycast"):
        return None
    if dst == "default":
        prefix = "::/0" if v6 else "0.0.0.0/0"
    else:
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            return None
        if net.is_multicast or (v6 and net.is_link_local):
            return None
        prefix = str(net)
    proto = str(r.get("protocol", "unspec"))
    if proto == "kernel" and "gateway" not in r and "nexthops" not in r and rtype == "unicast":
        return FibEntry(prefix, "connected", nexthops=[NextHop(None, r.get("dev"))])
    protocol = PROTOCOLS.get(proto, proto)
    if rtype != "unicast":
        return FibEntry(prefix, protocol, nexthops=[NextHop(None, rtype)])
    hops = r.get("nexthops") or [r]
    # RFC 5549 (IPv4 over an IPv6 next hop) shows as "via": {"family": "inet6", "host": ...}
    nexthops = [NextHop(h.get("gateway") or (h.get("via") or {}).get("host"), h.get("dev")) for h in hops]
    return FibEntry(prefix, protocol, nexthops=nexthops)
