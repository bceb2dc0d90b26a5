"""What the routers computed, kept as plain data: the data plane the runtimes hand to the answerers.

The emulation does not stay resident: once the network has converged, `realfish.convergence.collect` asks every
daemon for its tables (`SHOWS`: zebra's RIB and interfaces, bgpd's RIB and neighbors, ospfd's neighbors and
interfaces) and the FIB the runtime saw (`FibEntry`), then the routers are stopped. Every answerer works from
this `Dataplane` and the parsed configs; nothing else of the run is needed, so a snapshot's answers survive the
run and can be stored on disk. This module only holds the data: it starts and reads nothing.

Interface names in the daemons' output are the Linux names the renderer chose (`gi0-0`); `name_map` turns
them back into the user's (`GigabitEthernet0/0`).
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# key -> (daemon whose vty answers it, command). One vty connection per daemon, JSON output only.
SHOWS: dict[str, tuple[str, str]] = {
    "routes": ("zebra", "show ip route vrf all json"),
    "routes6": ("zebra", "show ipv6 route vrf all json"),  # the routes answer's IPv6 rows
    "interfaces": ("zebra", "show interface vrf all json"),
    "bgp_routes": ("bgpd", "show bgp vrf all ipv4 unicast json"),
    "bgp_routes6": ("bgpd", "show bgp vrf all ipv6 unicast json"),  # iBGP/eBGP/aggregate of IPv6 BGP routes
    "bgp_summary": ("bgpd", "show bgp vrf all summary json"),
    "bgp_neighbors": ("bgpd", "show bgp vrf all neighbors json"),
    "ospf_neighbors": ("ospfd", "show ip ospf neighbor detail json"),
    "ospf_interfaces": ("ospfd", "show ip ospf interface json"),
    "ospf_routes": ("ospfd", "show ip ospf vrf all route json"),  # route types (intra/inter-area, E1/E2)
}


# -- the FIB a runtime reports ---------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class NextHop:
    ip: str | None
    interface: str | None


@dataclass
class FibEntry:
    prefix: str
    protocol: str
    distance: int = 0
    metric: int = 0
    nexthops: list[NextHop] = field(default_factory=list)

    def key(self) -> tuple[str, frozenset[NextHop]]:
        return self.prefix, frozenset(self.nexthops)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["nexthops"] = [asdict(n) for n in sorted(self.nexthops, key=lambda n: (n.ip or "", n.interface or ""))]
        return d


def sort_fib(entries: list[FibEntry]) -> list[FibEntry]:
    def k(e: FibEntry) -> tuple[int, int, int]:
        net = ipaddress.ip_network(e.prefix, strict=False)
        return net.version, int(net.network_address), net.prefixlen

    return sorted(entries, key=k)


def enrich_from_zebra(entries: list[FibEntry], zebra_routes: dict[str, Any]) -> None:
    """Fill distance, metric and FRR's protocol name from zebra's `show ip route json` (installed entries)."""
    for e in entries:
        for r in zebra_routes.get(e.prefix, []):
            if r.get("installed") or r.get("selected"):
                e.distance = r.get("distance", 0)
                e.metric = r.get("metric", 0)
                if e.protocol != "connected":
                    e.protocol = r.get("protocol", e.protocol)
                break


def fib_key(entries: list[FibEntry]) -> dict[str, frozenset[NextHop]]:
    return {e.prefix: frozenset(e.nexthops) for e in entries}


def fib_diff(a: dict[str, list[FibEntry]], b: dict[str, list[FibEntry]], names: tuple[str, str] = ("a", "b"),
             ) -> list[str]:
    """Differences between two runs' FIBs, router by router: same prefixes, same nexthop sets."""
    out = []
    for router in sorted(set(a) | set(b)):
        fa, fb = fib_key(a.get(router, [])), fib_key(b.get(router, []))
        for prefix in sorted(set(fa) | set(fb)):
            ha, hb = fa.get(prefix), fb.get(prefix)
            if ha != hb:
                def show(h: frozenset[NextHop] | None) -> str:
                    return "absent" if h is None else ", ".join(sorted(f"{n.ip or ''}@{n.interface}" for n in h))
                out.append(f"{router} {prefix}: {names[0]} {show(ha)} / {names[1]} {show(hb)}")
    return out


# -- a router's tables, the network's data plane ---------------------------------------------------------------------


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
    # the same network under other orders of events (realfish.convergence.explore): {"orders", "seeds",
    # "converged": {seed: bool}, "varying": realfish.explore.varying's rows}; the tables are the first order's
    explore: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"converged": self.converged, "problems": self.problems, "sessions_down": self.sessions_down,
                "rejected": self.rejected, "failures": self.failures, "explore": self.explore,
                "routers": {n: vars(r) for n, r in self.routers.items()}}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Dataplane:
        return cls(doc["converged"], {n: RouterTables(**r) for n, r in doc["routers"].items()},
                   doc.get("problems", []), doc.get("sessions_down", []), doc.get("rejected", {}),
                   doc.get("failures", []), doc.get("explore"))

    def save(self, path: str | Path) -> None:
        """Write atomically: a service stopped mid-write must not leave a half file that a restart would load."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_json()))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> Dataplane:
        return cls.from_json(json.loads(Path(path).read_text()))
