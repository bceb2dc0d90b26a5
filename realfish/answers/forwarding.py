"""Hop-by-hop forwarding over the routers' own FIBs, as Batfish's FlowTracer walks its own.

A flow enters a node (on an interface, or originating in a VRF), passes the ingress filter, is accepted if the
destination is an address of that VRF, else is looked up in the FIB: longest prefix match, one branch per
forwarding action (ECMP gives several traces), egress filter, out of the interface, then ARP decides who takes
it next. When nobody on the link answers, Batfish's forwarding analysis names the final disposition
(DELIVERED_TO_SUBNET, EXITS_NETWORK, INSUFFICIENT_INFO, NEIGHBOR_UNREACHABLE); `Network.disposition` is that
analysis for one flow. Loops are caught by Batfish's breadcrumbs: the same (node, VRF, ingress interface, flow)
twice on one path.

The FIB is zebra's: its selected, installed routes and their FIB next hops (what it pushed to the kernel), read
once into the `Dataplane`. A recursive next hop (a BGP next hop resolved over OSPF) forwards through the hops that
resolve it; the Routing step lists the routes as Batfish does, the top-level route (BGP, with its BGP next hop)
and not the IGP route that resolved it. Route labels and next hops come from the routes answerer's reading of
zebra, bgpd and ospfd (`realfish.answers.routes`).

ARP follows Batfish's model: an interface answers for its own addresses and, with proxy ARP (IOS's default
unless `no ip proxy-arp`; never on hosts; as interfaceProperties reports it), for any address its VRF routes
elsewhere than out of that interface.

Traces and steps are Batfish's JSON (pybatfish asserts on key sets: RouteInfo, forwardingDetail).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from realfish.answers import UnsupportedQuestion
from realfish.answers import properties as props
from realfish.answers import routes as rib
from realfish.answers import table as tbl
from realfish.answers.filters import Filter, interface_filters
from realfish.answers.flow import Flow
from realfish.answers.state import SnapshotState

Ip = ipaddress.IPv4Address
Net = ipaddress.IPv4Network
Json = dict[str, Any]

SUCCESS = ("ACCEPTED", "DELIVERED_TO_SUBNET", "EXITS_NETWORK")
MAX_TRACES = 100_000  # a guard against ECMP explosion (Batfish keeps a DAG; we enumerate paths)


# -- FIBs ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A FIB action: forward out `interface` ARPing for `arp_ip` (None: for the destination itself), or, with
    no interface, discard (a null route)."""

    interface: str | None
    arp_ip: Ip | None = None

    def sort_key(self) -> tuple[int, str, int]:
        # Batfish's FibActionComparator: forwards before null routes, then interface name, then ARP IP
        if self.interface is None:
            return (3, "", 0)
        return (1, self.interface, int(self.arp_ip) + 1 if self.arp_ip is not None else 0)


@dataclass
class Fib:
    """One VRF's FIB: prefix -> [(action, the top-level route as Batfish's RouteInfo)]."""

    entries: dict[Net, list[tuple[Action, Json]]] = field(default_factory=dict)

    def lookup(self, ip: Ip) -> tuple[Net, list[tuple[Action, Json]]] | None:
        best: Net | None = None
        for net in self.entries:
            if ip in net and (best is None or net.prefixlen > best.prefixlen):
                best = net
        return (best, self.entries[best]) if best is not None else None


def route_info(protocol: str, network: str, next_hop: Json, admin: int, metric: int) -> Json:
    """Batfish's RouteInfo, with its legacy `nextHopIp` when the next hop has an IP."""
    info: Json = {"admin": admin, "metric": metric, "network": network, "nextHop": next_hop, "protocol": protocol}
    if "ip" in next_hop:
        info["nextHopIp"] = next_hop["ip"]
    return info


def build_fibs(state: SnapshotState, router: str) -> dict[str, Fib]:
    """A router's FIBs by VRF from zebra's selected, installed routes and their FIB next hops."""
    fibs: dict[str, Fib] = {}
    ospf_types = rib.ospf_route_types(state.show(router, "ospf_routes"))
    best = rib.best_paths(state, router)
    for e in rib.zebra_entries(state.show(router, "routes")):
        prefix = str(e.get("prefix", ""))
        if not (e.get("selected") and e.get("installed")) or ":" in prefix:
            continue
        vrf, proto = str(e.get("vrfName") or "default"), str(e.get("protocol"))
        actions = fibs.setdefault(vrf, Fib()).entries.setdefault(Net(prefix), [])
        info: Json | None = None  # the top-level next hop's route, for the resolving hops that follow it
        for h in e.get("nexthops") or []:
            if not h.get("resolver"):
                info = None
                if not h.get("active"):
                    continue
                label, nh = rib.classify_route(state, router, vrf, prefix, proto, h, ospf_types, best)
                info = route_info(label, prefix, nh, int(e.get("distance", 0)), int(e.get("metric", 0)))
                if h.get("recursive"):
                    continue
            if info is None or not h.get("active") or not (h.get("fib") or h.get("duplicate")):
                continue  # a duplicate hop forwards like its twin, for the route it resolves
            if h.get("blackhole") or h.get("unreachable") or h.get("reject"):
                action = Action(None)
            else:
                ip = h.get("ip")
                action = Action(state.user_ifname(router, str(h.get("interfaceName", ""))), Ip(ip) if ip else None)
            if (action, info) not in actions:
                actions.append((action, info))
    return fibs


# -- the network as the tracer sees it -----------------------------------------------------------------------


def host_ips(net: Net) -> tuple[int, int]:
    """The host-address range of a subnet, as Batfish's Prefix.toHostIpSpace (no network/broadcast below /31)."""
    lo, hi = int(net.network_address), int(net.broadcast_address)
    return (lo + 1, hi - 1) if net.prefixlen < 31 else (lo, hi)


@dataclass
class IfaceInfo:
    node: str
    name: str
    vrf: str
    active: bool
    addresses: list[ipaddress.IPv4Interface]


class Network:
    """Everything the tracer asks about a snapshot: FIBs, addresses, links, filters, ARP and dispositions."""

    def __init__(self, state: SnapshotState) -> None:
        self.state = state
        self.ifaces: dict[tuple[str, str], IfaceInfo] = {}
        self.owners: dict[Ip, set[tuple[str, str]]] = {}  # every interface address, inactive ones included
        subnets: set[Net] = set()
        for name, dev in state.devices.items():
            for iface in dev.interfaces.values():
                addrs = [a for a in iface.addresses if isinstance(a, ipaddress.IPv4Interface)]
                active = props.interface_state(state, name, iface)[0] and not iface.switchport
                self.ifaces[(name, iface.name)] = IfaceInfo(name, iface.name, iface.vrf or "default", active,
                                                            addrs)
                for a in addrs:
                    self.owners.setdefault(a.ip, set()).add((name, iface.name))
                    subnets.add(a.network)
        self.internal = [host_ips(n) for n in subnets]
        self.edges: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for n1, i1, n2, i2 in state.conv.edges:
            self.edges.setdefault((n1, i1), []).append((n2, i2))
        # BGP unnumbered: a link with no IPv4 address at either end still carries IPv4, to the peer's MAC that
        # FRR puts behind the 169.254.0.1 stand-in (rib.UNNUMBERED_NEXT_HOP); not a layer-3 edge (no subnet)
        for seg in state.conv.network.segments:
            ends = [(r, state.user_ifname(r, i)) for r, i in seg.members if i != "lo"]
            bare = [e for e in ends if e in self.ifaces and not self.ifaces[e].addresses]
            for end in bare:
                have = self.edges.setdefault(end, [])
                have.extend(other for other in bare if other != end and other not in have)
        for v in self.edges.values():
            v.sort()
        self._fibs: dict[str, dict[str, Fib]] = {}
        self._filters: dict[tuple[str, str], tuple[Filter | None, Filter | None]] = {}

    def fib(self, node: str, vrf: str) -> Fib:
        if node not in self._fibs:
            tables = self.state.tables()
            self._fibs[node] = build_fibs(self.state, node) if node in tables.routers else {}
        return self._fibs[node].get(vrf) or Fib()

    def filters(self, node: str, iface: str) -> tuple[Filter | None, Filter | None]:
        key = (node, iface)
        if key not in self._filters:
            self._filters[key] = interface_filters(self.state.devices[node], iface)
        return self._filters[key]

    def proxy_arp(self, node: str, iface: str) -> bool:
        """Proxy ARP as interfaceProperties reports it."""
        dev = self.state.devices[node]
        return props.proxy_arp(dev, dev.interfaces[iface])

    def vrf_of(self, node: str, iface: str) -> str:
        info = self.ifaces.get((node, iface))
        return info.vrf if info else "default"

    def accepting_interface(self, node: str, vrf: str, ip: Ip) -> str | None:
        """The active interface of `node` in `vrf` that owns `ip` (the flow is accepted there)."""
        hits = sorted(i for n, i in self.owners.get(ip, ()) if n == node and self.ifaces[(n, i)].active
                      and self.ifaces[(n, i)].vrf == vrf)
        return hits[0] if hits else None

    def replies_to_arp(self, node: str, iface: str, ip: Ip) -> bool:
        info = self.ifaces.get((node, iface))
        if info is not None and info.active and not info.addresses and str(ip) == rib.UNNUMBERED_NEXT_HOP:
            return True  # the unnumbered peer: its MAC is what FRR resolves the stand-in to
        if info is None or not info.active or not info.addresses:
            return False
        if any(a.ip == ip for a in info.addresses):
            return True
        if not self.proxy_arp(node, iface):
            return False
        match = self.fib(node, info.vrf).lookup(ip)
        return match is not None and all(a.interface != iface for a, _ in match[1])

    def _internal(self, ip: Ip) -> bool:
        return any(lo <= int(ip) <= hi for lo, hi in self.internal)

    def disposition(self, node: str, iface: str, dst: Ip, arp_ip: Ip | None) -> str:
        """Batfish's disposition when nobody answers ARP on `iface` (ForwardingAnalysisImpl, for one flow).

        The link's external ARP IPs are the host IPs of the interface's subnets; the link may have devices
        Batfish does not know when one of them is not a snapshot address."""
        info = self.ifaces[(node, iface)]
        ranges = [host_ips(a.network) for a in info.addresses] if info.active else []
        in_link = any(lo <= int(dst) <= hi for lo, hi in ranges)
        missing = any(hi - lo + 1 > sum(1 for ip in self.owners if lo <= int(ip) <= hi) for lo, hi in ranges)
        if arp_ip is None:  # ARP for the destination itself
            if in_link and dst not in self.owners:
                return "DELIVERED_TO_SUBNET"
            if missing and not self._internal(dst):
                return "EXITS_NETWORK"
            if missing and not in_link:
                return "INSUFFICIENT_INFO"
            return "NEIGHBOR_UNREACHABLE"
        if not missing:
            return "NEIGHBOR_UNREACHABLE"
        if arp_ip in self.owners:
            return "INSUFFICIENT_INFO"
        return "EXITS_NETWORK" if not self._internal(dst) else "INSUFFICIENT_INFO"


# -- steps (Batfish's JSON) ----------------------------------------------------------------------------------


def _step(kind: str, action: str, detail: Json | None) -> Json:
    return {"type": kind, "action": action, "detail": detail}


def _routing_step(vrf: str, action: Action | None, routes: list[Json], step_action: str) -> Json:
    detail: Json = {"routes": sorted({repr(sorted(r.items())): r for r in routes}.values(), key=_route_order)}
    if action is None or action.interface is None:
        detail["forwardingDetail"] = {"type": "Discarded"}
    else:
        fwd: Json = {"type": "ForwardedOutInterface", "outputInterface": action.interface}
        if action.arp_ip is not None:
            fwd["resolvedNextHopIp"] = str(action.arp_ip)
            detail["arpIp"] = str(action.arp_ip)
        detail["forwardingDetail"] = fwd
        detail["outputInterface"] = action.interface
    detail["vrf"] = vrf
    return _step("Routing", step_action, detail)


def _route_order(r: Json) -> tuple[Any, ...]:
    net = Net(r["network"])
    nh_ip = r.get("nextHopIp")
    return (int(net.network_address), net.prefixlen, int(Ip(nh_ip)) + 1 if nh_ip else 0, r["protocol"])


@dataclass
class TraceResult:
    trace: Json
    reverse_flow: Flow | None = None


@dataclass
class _Path:
    """The state of one path being explored (Batfish's FlowTracer fields that vary along a path)."""

    hops: list[Json]
    breadcrumbs: frozenset[tuple[str, str, str | None]]


class Tracer:
    """Traces flows hop by hop over a `Network`, depth first over ECMP branches (FlowTracer)."""

    def __init__(self, network: Network, ignore_filters: bool = False) -> None:
        self.net = network
        self.ignore_filters = ignore_filters

    def trace(self, flow: Flow) -> list[TraceResult]:
        if flow.ingress_node not in self.net.state.devices:
            raise UnsupportedQuestion(f"Node {flow.ingress_node} is not in the network, cannot perform traceroute")
        vrf = (self.net.vrf_of(flow.ingress_node, flow.ingress_interface) if flow.ingress_interface
               else flow.ingress_vrf or "default")
        out: list[TraceResult] = []
        for result in self._hop(flow, flow.ingress_node, flow.ingress_interface, vrf, _Path([], frozenset())):
            out.append(result)
            if len(out) > MAX_TRACES:
                raise UnsupportedQuestion(f"more than {MAX_TRACES} paths for flow {flow.to_json()}")
        return out

    def _apply_filter(self, flt: Filter | None, kind: str, flow: Flow, node: str, ingress: str | None,
                      steps: list[Json], path: _Path) -> TraceResult | None:
        """Batfish's applyFilter: a Filter step (when there is a filter); a denial ends the trace."""
        if flt is None:
            return None
        permitted = self.ignore_filters or flt.permits(flow)
        detail: Json = {"filter": flt.name, "flow": flow.to_json(), "type": kind}
        if ingress is not None:
            detail["inputInterface"] = ingress
        steps.append(_step("Filter", "PERMITTED" if permitted else "DENIED", detail))
        if permitted:
            return None
        return self._end(node, steps, path, "DENIED_IN" if kind == "INGRESS_FILTER" else "DENIED_OUT")

    def _end(self, node: str, steps: list[Json], path: _Path, disposition: str,
             reverse: Flow | None = None) -> TraceResult:
        hops = [*path.hops, {"node": tbl.node(node), "steps": steps}]
        return TraceResult({"disposition": disposition, "hops": hops}, reverse)

    def _hop(self, flow: Flow, node: str, ingress: str | None, vrf: str, path: _Path) -> Iterator[TraceResult]:
        steps: list[Json] = []
        if ingress is not None:
            steps.append(_step("EnterInputInterface", "RECEIVED",
                               {"inputInterface": tbl.interface(node, ingress), "inputVrf": vrf}))
            denied = self._apply_filter(self.net.filters(node, ingress)[0], "INGRESS_FILTER", flow, node, ingress,
                                        steps, path)
            if denied is not None:
                yield denied
                return
        else:
            steps.append(_step("Originate", "ORIGINATED", {"originatingVrf": vrf}))

        accepting = self.net.accepting_interface(node, vrf, flow.dst_ip)
        if accepting is not None:
            steps.append(_step("Inbound", "ACCEPTED", {"interface": accepting}))
            yield self._end(node, steps, path, "ACCEPTED", flow.reverse(node, vrf, None))
            return

        crumb = (node, vrf, ingress)
        if crumb in path.breadcrumbs:
            steps.append(_step("Loop", "LOOP", {}))
            yield self._end(node, steps, path, "LOOP")
            return
        crumbs = path.breadcrumbs | {crumb}

        match = self.net.fib(node, vrf).lookup(flow.dst_ip)
        if match is None:
            steps.append(_step("Routing", "NO_ROUTE", {"forwardingDetail": {"type": "Discarded"}, "routes": [],
                                                       "vrf": vrf}))
            yield self._end(node, steps, path, "NO_ROUTE")
            return
        grouped: dict[Action, list[Json]] = {}
        for action, info in match[1]:
            grouped.setdefault(action, []).append(info)
        for action in sorted(grouped, key=Action.sort_key):
            routes = grouped[action]
            if action.interface is None:
                yield self._end(node, [*steps, _routing_step(vrf, action, routes, "NULL_ROUTED")], path,
                                "NULL_ROUTED")
                continue
            yield from self._forward(flow, node, ingress, vrf, action,
                                     [*steps, _routing_step(vrf, action, routes, "FORWARDED")],
                                     _Path(path.hops, crumbs))

    def _forward(self, flow: Flow, node: str, ingress: str | None, vrf: str, action: Action, steps: list[Json],
                 path: _Path) -> Iterator[TraceResult]:
        out = action.interface
        assert out is not None
        denied = self._apply_filter(self.net.filters(node, out)[1], "EGRESS_FILTER", flow, node, ingress, steps, path)
        if denied is not None:
            yield denied
            return
        steps.append(_step("ExitOutputInterface", "TRANSMITTED", {"outputInterface": tbl.interface(node, out)}))
        arp_ip = action.arp_ip if action.arp_ip is not None else flow.dst_ip
        repliers = [n for n in self.net.edges.get((node, out), []) if self.net.replies_to_arp(*n, arp_ip)]
        if not repliers:
            disposition = self.net.disposition(node, out, flow.dst_ip, action.arp_ip)
            kind = "Delivered" if disposition in SUCCESS else "ArpError"
            steps.append(_step(kind, disposition, {"outputInterface": tbl.interface(node, out),
                                                   "resolvedNexthopIp": str(arp_ip)}))
            reverse = flow.reverse(node, None, out) if disposition in SUCCESS else None
            yield self._end(node, steps, path, disposition, reverse)
            return
        hops = [*path.hops, {"node": tbl.node(node), "steps": steps}]
        for next_node, next_iface in repliers:
            yield from self._hop(flow, next_node, next_iface, self.net.vrf_of(next_node, next_iface),
                                 _Path(hops, path.breadcrumbs))
