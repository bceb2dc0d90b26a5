"""routes (main RIB), bgpRib and lpmRoutes, read from the routers' own tables.

The main RIB is zebra's (`show ip route vrf all json`, selected routes only), one row per next hop as Batfish
keeps one route per next hop. Batfish's protocol labels need more than zebra says:

* OSPF route types (intra/inter-area, E1/E2) come from ospfd's route table (`show ip ospf vrf all route json`);
* iBGP vs eBGP, and whether a BGP route is a local aggregate, come from bgpd's best path for the prefix;
* `local` /32 routes: FRR 8.4's zebra has none, but the router's Linux kernel does (its `local` table holds one
  per interface address), so they are derived from the addresses zebra reports on up interfaces. Like Batfish,
  none for a /32 address (its connected route is already the host route).

Next hops follow Batfish: connected/local/OSPF name the interface (OSPF with the neighbour's IP), BGP gives the
BGP next hop as an IP (not zebra's recursive resolution), an aggregate is a discard, a static route is what its
configuration says (interface and/or IP, Null0 = discard).

IPv6 routes (zebra's `show ipv6 route vrf all json`) are rows of the same format wherever a router has them
(Batfish has no IPv6 routes, so what they look like is realfish's choice, kept as close as possible): OSPFv3 routes
are `ospf3` (Batfish's RoutingProtocol name) with the neighbour's link-local address on the interface, a next hop
at a link-local address always names its interface, `local` /128s come from the interfaces' global addresses,
and link-local prefixes (fe80::/10, one per interface, never routed) are left out. Comparisons with Batfish's
answers drop them (`ipv4_rows`). bgpRib and lpmRoutes stay IPv4.

bgpRib lists bgpd's paths: the best (and multipath) ones as BEST, the other valid ones as BACKUP, with their
attributes from bgpd's per-path detail (`show bgp vrf V ipv4 unicast json detail`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from realfish.answers import NO_DIFF, OWN_DIFF, UnsupportedQuestion, answerer, enum_param, node_set, variable
from realfish.answers import table as tbl
from realfish.answers.specifiers import SpecifierError, enum_set
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column
from realfish.render import eos_aggregate_activators

Row = dict[str, Any]
Net = ipaddress.IPv4Network
AnyNet = ipaddress.IPv4Network | ipaddress.IPv6Network

_RIB_KEY = [  # RoutesAnswerer.addCommonTableColumnsAtStart / AtEnd
    Column("Node", "Node", "Node", key=True, value=False),
    Column("VRF", "String", "VRF name", key=True, value=False),
    Column("Network", "Prefix", "Network for this route", key=True),
]
_NEXT_HOP = Column("Next_Hop", "NextHop", "Route's Next Hop")
_PROTOCOL = Column("Protocol", "String", "Route's Protocol")
_METRIC = Column("Metric", "Long", "Route's Metric")
_TAG = Column("Tag", "Long", "Tag for this route")

MAIN_COLUMNS = [*_RIB_KEY, _NEXT_HOP, _PROTOCOL, _METRIC,
                Column("Admin_Distance", "Long", "Route's Admin distance"), _TAG]

BGP_COLUMNS = [
    *_RIB_KEY,
    Column("Status", "List<String>", "Route's statuses"),
    _NEXT_HOP,
    _PROTOCOL,
    Column("AS_Path", "String", "Route's AS path"),
    _METRIC,
    Column("Local_Pref", "Long", "Route's Local Preference"),
    Column("Communities", "List<String>", "Route's List of communities"),
    Column("Origin_Protocol", "String", "Route's Origin protocol"),
    Column("Origin_Type", "String", "Route's Origin type"),
    Column("Originator_Id", "String", "Route's Originator ID"),
    Column("Received_From_IP", "Ip", "IP of the neighbor who sent this route", key=True),
    Column("Received_Path_Id", "Integer", "Route's Received Path ID", key=True),
    Column("Cluster_List", "Set<Long>", "Route's Cluster List"),
    Column("Tunnel_Encapsulation_Attribute", "String", "Route's BGP Tunnel Encapsulation Attribute"),
    Column("Weight", "Integer", "Route's BGP Weight"),
    _TAG,
]

LPM_COLUMNS = [
    Column("Node", "Node", "Node where the route is present", key=True, value=False),
    Column("VRF", "String", "VRF where the route is present", key=True, value=False),
    Column("Ip", "Ip", "IP that was being matched on", key=True, value=False),
    Column("Network", "Prefix", "The longest-prefix network that matched"),
    Column("Num_Routes", "Integer", "Number of routes that matched (in case of ECMP)"),
]

# Batfish's routingProtocolSpec names (RoutingProtocolSpecifier) -> the protocol labels they cover.
_PROTOCOL_GROUPS: dict[str, set[str]] = {
    "aggregate": {"aggregate"}, "connected": {"connected"}, "local": {"local"}, "static": {"static"},
    "ebgp": {"bgp"}, "ibgp": {"ibgp"}, "bgp": {"bgp", "ibgp"},
    "ospf-intra": {"ospf"}, "ospf-inter": {"ospfIA"}, "ospf-int": {"ospf", "ospfIA"},
    "ospf-ext1": {"ospfE1"}, "ospf-ext2": {"ospfE2"}, "ospf-ext": {"ospfE1", "ospfE2"},
    "ospf": {"ospf", "ospfIA", "ospfE1", "ospfE2"},
    "ospf3": {"ospf3"},  # realfish's: OSPFv3 routes (IPv6 rows), which Batfish does not model
    "isis-l1": {"isisL1"}, "isis-l2": {"isisL2"}, "isis": {"isisL1", "isisL2"},
    "eigrp-int": {"eigrp"}, "eigrp-ext": {"eigrpEX"}, "eigrp": {"eigrp", "eigrpEX"}, "rip": {"rip"},
}
_PROTOCOL_GROUPS["igp"] = set().union(*(_PROTOCOL_GROUPS[k] for k in ("ospf", "isis", "eigrp", "rip")))
_ALL_PROTOCOLS = "all"

# ospfd's routeType -> Batfish's protocol
_OSPF_TYPES = {"N": "ospf", "N IA": "ospfIA", "N E1": "ospfE1", "N E2": "ospfE2", "D IA": "ospfIA"}

_ORIGIN = {"IGP": "igp", "EGP": "egp", "incomplete": "incomplete", "?": "incomplete", "i": "igp", "e": "egp"}


# -- specifiers ----------------------------------------------------------------------------------------------


def protocols(spec: Any) -> set[str] | None:
    """routingProtocolSpec -> Batfish protocol labels; None = no filter (all protocols, `kernel` included)."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None
    names = [*_PROTOCOL_GROUPS, _ALL_PROTOCOLS]
    try:
        chosen = enum_set(spec, names)
    except SpecifierError as e:
        raise UnsupportedQuestion(f"protocols: {e}") from None
    if _ALL_PROTOCOLS in chosen:
        return None
    return set().union(*(_PROTOCOL_GROUPS[c] for c in chosen)) if chosen else set()


def vrf_matcher(spec: Any, whole: bool = False) -> Callable[[str], bool]:
    """The `vrfs` regex. Batfish's routes answer uses find semantics (`asPredicate`), its diff and lpmRoutes a
    whole-string match."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return lambda _v: True
    try:
        rx = re.compile(str(spec))
    except re.error as e:
        raise UnsupportedQuestion(f"vrfs: bad regex {spec!r}: {e}") from None
    return (lambda v: rx.fullmatch(v) is not None) if whole else (lambda v: rx.search(v) is not None)


def parse_network(text: Any) -> AnyNet | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        raise UnsupportedQuestion(f"network: not an IPv4 or IPv6 prefix: {text!r}") from None


def prefix_match(kind: str, network: AnyNet | None, nets: Iterable[AnyNet]) -> set[AnyNet]:
    """The networks a `network` + `prefixMatchType` filter keeps (RoutesAnswererUtil.getMatchingPrefixRoutes);
    a network of the other IP version never matches."""
    nets = set(nets)
    if network is None:
        return nets
    nets = {n for n in nets if n.version == network.version}
    kind = (kind or "EXACT").upper()
    if kind == "EXACT":
        return {n for n in nets if n == network}
    if kind == "LONGER_PREFIXES":
        return {n for n in nets if n.subnet_of(network)}  # type: ignore[arg-type]
    if kind == "SHORTER_PREFIXES":
        return {n for n in nets if network.subnet_of(n)}  # type: ignore[arg-type]
    if kind == "LONGEST_PREFIX_MATCH":
        covering = [n for n in nets if network.subnet_of(n)]  # type: ignore[arg-type]
        return {max(covering, key=lambda n: n.prefixlen)} if covering else set()
    raise UnsupportedQuestion(f"prefixMatchType {kind!r}: expected EXACT, LONGEST_PREFIX_MATCH, LONGER_PREFIXES "
                              "or SHORTER_PREFIXES")


# -- sorting like Batfish ------------------------------------------------------------------------------------


def _ifname_key(name: str) -> tuple[Any, ...]:
    """Interface names in natural order (Batfish's InterfaceNameComparator compares the digit runs as numbers)."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p)


_NH_CLASS = {"discard": "NextHopDiscard", "interface": "NextHopInterface", "ip": "NextHopIp", "vrf": "NextHopVrf"}


def next_hop_key(nh: dict[str, Any] | None) -> tuple[Any, ...]:
    """Batfish's NextHopComparator: by class name, then IP (absent first), then interface name."""
    if nh is None:
        return ("",)
    ip = nh.get("ip")
    ip_key = (0, 0, 0) if ip is None else (1, *_ip_key(ip))
    return (_NH_CLASS.get(nh["type"], nh["type"]), ip_key, _ifname_key(nh.get("interface") or ""))


def _ip_key(text: str) -> tuple[int, int]:
    a = ipaddress.ip_address(text)
    return a.version, int(a)


def _net_key(text: str) -> tuple[int, int, int]:
    """IPv4 networks first (Batfish's Prefix order), then IPv6 ones."""
    n = ipaddress.ip_network(text)
    return n.version, int(n.network_address), n.prefixlen


def main_sort_key(r: Row) -> tuple[Any, ...]:
    return (r["Node"]["name"], r["VRF"], _net_key(r["Network"]), next_hop_key(r["Next_Hop"]))


# -- zebra's RIB ---------------------------------------------------------------------------------------------


# Batfish's next-hop IP for BGP unnumbered (an IPv4 route over the peer's IPv6 link-local address, RFC 5549),
# which is also the IPv4 gateway FRR writes into the kernel for such routes.
UNNUMBERED_NEXT_HOP = "169.254.0.1"


def zebra_entries(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Route entries of `show ip route vrf all json`: {prefix: [entry]} (one VRF) or {vrf: {prefix: [entry]}}.
    An IPv4 route's IPv6 next hop (BGP unnumbered) reads as Batfish's 169.254.0.1 on the same interface (the
    link-local address stays in `ipv6LinkLocal`)."""
    for value in doc.values():
        if isinstance(value, list):
            for e in value:
                if not isinstance(e, dict):
                    continue
                if ":" not in str(e.get("prefix", "")):
                    for h in e.get("nexthops") or []:
                        if isinstance(h, dict) and ":" in str(h.get("ip", "")):
                            h["ipv6LinkLocal"], h["ip"] = h["ip"], UNNUMBERED_NEXT_HOP
                yield e
        elif isinstance(value, dict):
            yield from zebra_entries(value)


def _by_vrf(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """bgpd's and ospfd's `vrf all` JSON: {vrf: body}; a body without the VRF level is the default VRF's."""
    if "vrfName" in doc or "routes" in doc:
        return {str(doc.get("vrfName") or "default"): doc}
    return {k: v for k, v in doc.items() if isinstance(v, dict)}


def ospf_route_types(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(vrf, prefix) -> Batfish's OSPF protocol label, from ospfd's route table."""
    out = {}
    for vrf, body in _by_vrf(doc).items():
        for prefix, route in body.items():
            if isinstance(route, dict) and "/" in prefix:
                label = _OSPF_TYPES.get(str(route.get("routeType", "")).strip())
                if label:
                    out[(vrf, prefix)] = label
    return out


def best_paths(snapshot: SnapshotState, router: str,
               table: str = "bgp_routes") -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(vrf, prefix) -> bgpd's selected paths (best and multipath), from its table (`bgp_routes6`: IPv6)."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for vrf, body in _by_vrf(snapshot.show(router, table)).items():
        for prefix, paths in (body.get("routes") or {}).items():
            out[(vrf, prefix)] = [p for p in paths if isinstance(p, dict) and (p.get("bestpath") or p.get("multipath"))]
    return out


def _static_next_hop(snapshot: SnapshotState, router: str, vrf: str, prefix: str,
                     hop: dict[str, Any]) -> dict[str, Any]:
    """A static route's next hop as its configuration gives it (Batfish keeps interface and IP as configured)."""
    device = snapshot.devices.get(router)
    ip = hop.get("ip")
    if hop.get("blackhole"):
        return {"type": "discard"}
    for route in device.static_routes if device else []:
        if str(route.prefix) != prefix or (route.vrf or "default") != vrf:
            continue
        if route.discard:
            return {"type": "discard"}
        if ip is not None and route.next_hop is not None and str(route.next_hop) != ip:
            continue
        if route.interface is not None:
            nh = {"type": "interface", "interface": route.interface}
            return {**nh, "ip": str(route.next_hop)} if route.next_hop is not None else nh
        if route.next_hop is not None:
            return {"type": "ip", "ip": str(route.next_hop)}
    if ip is not None:
        return {"type": "ip", "ip": ip}
    return {"type": "interface", "interface": snapshot.user_ifname(router, hop.get("interfaceName", ""))}


def _hops(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """A route's own next hops: the active ones, without the resolving hops of a recursive next hop."""
    return [h for h in entry.get("nexthops") or [] if h.get("active") and not h.get("resolver")
            and not h.get("duplicate")]


def main_rib(snapshot: SnapshotState, router: str, version: int = 4) -> list[Row]:
    """One router's main RIB as Batfish rows (unsorted): zebra's selected routes plus the kernel's local ones;
    `version` 6: its IPv6 RIB in the same format (see the module docstring)."""
    v6 = version == 6
    ospf_types = {} if v6 else ospf_route_types(snapshot.show(router, "ospf_routes"))
    best = best_paths(snapshot, router, "bgp_routes6" if v6 else "bgp_routes")
    rows: list[Row] = []
    for e in zebra_entries(snapshot.show(router, "routes6" if v6 else "routes")):
        prefix = str(e.get("prefix", ""))
        if not e.get("selected") or (":" in prefix) != v6 or (v6 and ipaddress.ip_network(prefix).is_link_local):
            continue
        vrf, proto = str(e.get("vrfName") or "default"), str(e.get("protocol"))
        seen: set[str] = set()
        for h in _hops(e):
            label, nh = (_classify_route6(snapshot, router, vrf, prefix, proto, h, best) if v6 else
                         classify_route(snapshot, router, vrf, prefix, proto, h, ospf_types, best))
            key = repr(sorted(nh.items()))
            if key in seen:
                continue
            seen.add(key)
            rows.append({"Node": tbl.node(router), "VRF": vrf, "Network": prefix, "Next_Hop": nh,
                         "Protocol": label, "Metric": int(e.get("metric", 0)),
                         "Admin_Distance": int(e.get("distance", 0)), "Tag": e.get("tag") or None})
    rows.extend(local_routes(snapshot, router, version))
    return rows


def _classify_route6(snapshot: SnapshotState, router: str, vrf: str, prefix: str, proto: str, hop: dict[str, Any],
                     best: dict[tuple[str, str], list[dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    """An IPv6 route's label and next hop: OSPFv3 as `ospf3`, a link-local next hop with its interface."""
    ifname = snapshot.user_ifname(router, hop["interfaceName"]) if hop.get("interfaceName") else None
    ip = hop.get("ip")
    if proto == "ospf6":
        return "ospf3", ({"type": "interface", "interface": ifname, **({"ip": ip} if ip else {})} if ifname
                         else {"type": "discard"})
    label, nh = classify_route(snapshot, router, vrf, prefix, proto, hop, {}, best)
    if nh.get("type") == "ip" and ipaddress.ip_address(nh["ip"]).is_link_local and ifname:
        nh = {"type": "interface", "interface": ifname, "ip": nh["ip"]}  # a link-local IP needs its link
    return label, nh


def ipv4_rows(rows: list[Row]) -> list[Row]:
    """The rows Batfish can have: its model has no IPv6 routes, so a comparison with its answers leaves realfish's
    IPv6 rows out (they are not differences from Batfish but routes it does not model)."""
    return [r for r in rows if ":" not in str(r.get("Network", ""))]


def classify_route(snapshot: SnapshotState, router: str, vrf: str, prefix: str, proto: str, hop: dict[str, Any],
              ospf_types: dict[tuple[str, str], str],
              best: dict[tuple[str, str], list[dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    """Batfish's protocol label and next hop for one zebra next hop."""
    ifname = snapshot.user_ifname(router, hop["interfaceName"]) if hop.get("interfaceName") else None
    ip = hop.get("ip")
    # A next hop with neither interface nor address is a discard (ospfd's `area range` summary, a blackhole):
    # Batfish's NextHopDiscard, never an interface next hop without an interface (pybatfish cannot read that).
    discard = bool(hop.get("blackhole")) or (ifname is None and ip is None)
    if proto == "ospf" and discard:
        return ospf_types.get((vrf, prefix), "ospf"), {"type": "discard"}
    if proto == "connected":
        return "connected", {"type": "interface", "interface": ifname}
    if proto == "static":
        return "static", _static_next_hop(snapshot, router, vrf, prefix, hop)
    if proto == "ospf":
        nh: dict[str, Any] = {"type": "interface", "interface": ifname}
        return ospf_types.get((vrf, prefix), "ospf"), ({**nh, "ip": ip} if ip else nh)
    if proto == "bgp":
        paths = best.get((vrf, prefix), [])
        local = any(p.get("peerId") in ("(unspec)", "0.0.0.0", "::") for p in paths)
        if hop.get("blackhole") or (local and ip is None):
            # bgpd's own aggregate-address route: zebra holds it as a blackhole
            return "aggregate", {"type": "discard"}
        internal = any(p.get("pathFrom") == "internal" for p in paths)
        return ("ibgp" if internal else "bgp"), ({"type": "ip", "ip": ip} if ip else {"type": "interface",
                                                                                       "interface": ifname})
    # kernel and anything else: as zebra has it
    if ip and ifname:
        return proto, {"type": "interface", "interface": ifname, "ip": ip}
    if ip:
        return proto, {"type": "ip", "ip": ip}
    return proto, ({"type": "interface", "interface": ifname} if ifname else {"type": "discard"})


def _interfaces(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(Linux name, body) of `show interface vrf all json`, with or without a VRF level."""
    for name, body in doc.items():
        if not isinstance(body, dict):
            continue
        if "ipAddresses" in body or "operationalStatus" in body:
            yield name, body
        else:
            yield from _interfaces(body)


def local_routes(snapshot: SnapshotState, router: str, version: int = 4) -> list[Row]:
    """The kernel's local routes, one /32 per IPv4 interface address (not for /32 addresses), on up interfaces;
    `version` 6: one /128 per global IPv6 address (not for /128 addresses)."""
    rows = []
    for linux, body in _interfaces(snapshot.show(router, "interfaces")):
        if body.get("operationalStatus") != "up":
            continue
        for a in body.get("ipAddresses") or []:
            try:
                addr = ipaddress.ip_interface(a["address"])
            except (KeyError, ValueError):
                continue
            if addr.version != version or addr.network.prefixlen >= addr.max_prefixlen or addr.is_link_local:
                continue
            rows.append({"Node": tbl.node(router), "VRF": str(body.get("vrfName") or "default"),
                         "Network": f"{addr.ip}/{addr.max_prefixlen}",
                         "Next_Hop": {"type": "interface", "interface": snapshot.user_ifname(router, linux)},
                         "Protocol": "local", "Metric": 0, "Admin_Distance": 0, "Tag": None})
    return rows


def _routers(question: dict[str, Any], snapshot: SnapshotState) -> list[str]:
    """Nodes the question names that have tables (hosts included: they run zebra)."""
    dp = snapshot.tables()
    return sorted(n for n in node_set(question, "nodes", snapshot) if n in dp.routers)


def main_rows(question: dict[str, Any], snapshot: SnapshotState, whole_vrf: bool = False,
              exact_only: bool = False) -> list[Row]:
    """The main-RIB rows a routes question selects (nodes, vrfs, network + prefixMatchType, protocols)."""
    vrf_ok = vrf_matcher(variable(question, "vrfs"), whole_vrf)
    network = parse_network(variable(question, "network"))
    kind = "EXACT" if exact_only else str(variable(question, "prefixMatchType", "EXACT"))
    protos = protocols(variable(question, "protocols"))
    out: list[Row] = []
    for router in _routers(question, snapshot):
        rows = [r for r in main_rib(snapshot, router) + main_rib(snapshot, router, 6) if vrf_ok(r["VRF"])
                and (protos is None or r["Protocol"] in protos)]
        by_vrf: dict[str, list[Row]] = {}
        for r in rows:
            by_vrf.setdefault(r["VRF"], []).append(r)
        for vrf_rows in by_vrf.values():
            nets = (ipaddress.ip_network(r["Network"]) for r in vrf_rows)
            keep = {str(n) for n in prefix_match(kind, network, nets)}
            out.extend(r for r in vrf_rows if r["Network"] in keep)
    return out


# -- the differential routes answer (RoutesAnswererUtil.getRoutesDiff) ----------------------------------------

DIFF_COLUMNS = [
    *_RIB_KEY,
    Column("Entry_Presence", "String", "Presence of a Route for the given Network (Prefix)"),
    *[Column(f"{side}_{c.name}", c.schema, c.description)
      for c in MAIN_COLUMNS[len(_RIB_KEY):] for side in ("Snapshot", "Reference")],
]


def _group(rows: list[Row]) -> dict[tuple[str, str, str], dict[str, tuple[Row, list[tuple[Any, ...]]]]]:
    """(node, vrf, network) -> secondary key (next hop, protocol) -> (a row, sorted attribute tuples)."""
    out: dict[tuple[str, str, str], dict[str, tuple[Row, list[tuple[Any, ...]]]]] = {}
    for r in rows:
        key = (r["Node"]["name"], r["VRF"], r["Network"])
        sec = repr((sorted(r["Next_Hop"].items()), r["Protocol"]))
        attrs = (r["Admin_Distance"], r["Metric"], -1 if r["Tag"] is None else r["Tag"])
        entry = out.setdefault(key, {}).setdefault(sec, (r, []))
        entry[1].append(attrs)
    for groups in out.values():  # Batfish keeps them in a TreeSet: sorted, no duplicates
        for sec, (r, found) in groups.items():
            groups[sec] = (r, sorted(set(found)))
    return out


def _align(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> list[tuple[Any, Any]]:
    """Batfish's alignRouteRowAttributes: two sorted lists merged, equal elements paired."""
    i = j = 0
    out: list[tuple[Any, Any]] = []
    while i < len(a) and j < len(b):
        if a[i] < b[j]:
            out.append((a[i], None))
            i += 1
        elif a[i] > b[j]:
            out.append((None, b[j]))
            j += 1
        else:
            out.append((a[i], b[j]))
            i, j = i + 1, j + 1
    out.extend((x, None) for x in a[i:])
    out.extend((None, y) for y in b[j:])
    return out


def diff_rows(snap_rows: list[Row], ref_rows: list[Row]) -> list[Row]:
    """Batfish's routes diff: for every network whose routes differ, one row per (next hop, protocol) and per
    aligned attribute pair, marked Only in Snapshot / Only in Reference / Changed / Unchanged."""
    snap, ref = _group(snap_rows), _group(ref_rows)
    rows: list[Row] = []
    for key in set(snap) | set(ref):
        a, b = snap.get(key, {}), ref.get(key, {})
        if a and b and {k: v[1] for k, v in a.items()} == {k: v[1] for k, v in b.items()}:
            continue
        for sec in set(a) | set(b):
            ra, rb = a.get(sec), b.get(sec)
            if ra and rb:
                pairs = _align(ra[1], rb[1])
            elif ra:
                pairs = [(x, None) for x in ra[1]]
            else:
                assert rb is not None
                pairs = [(None, y) for y in rb[1]]
            base = (ra or rb)[0]  # type: ignore[index]
            for x, y in pairs:
                if ra and rb and x is not None and y is not None:
                    presence = "Unchanged" if x == y else "Changed"
                elif ra and rb:
                    presence = "Only in Snapshot" if x is not None else "Only in Reference"
                else:
                    presence = "Only in Snapshot" if ra else "Only in Reference"
                row: Row = {"Node": base["Node"], "VRF": base["VRF"], "Network": base["Network"],
                            "Entry_Presence": presence}
                for side, present, attrs in (("Snapshot", ra, x), ("Reference", rb, y)):
                    row[f"{side}_Next_Hop"] = base["Next_Hop"] if present else None
                    row[f"{side}_Protocol"] = base["Protocol"] if present else None
                    row[f"{side}_Admin_Distance"] = attrs[0] if attrs else None
                    row[f"{side}_Metric"] = attrs[1] if attrs else None
                    row[f"{side}_Tag"] = (None if attrs[2] == -1 else attrs[2]) if attrs else None
                rows.append(row)
    rows.sort(key=lambda r: (r["Node"]["name"], r["VRF"], _net_key(r["Network"]), r["Entry_Presence"],
                             next_hop_key(r["Snapshot_Next_Hop"] or r["Reference_Next_Hop"])))
    return rows


# -- bgpd's table ----------------------------------------------------------------------------------------------


def _peer_ip(path: dict[str, Any]) -> str:
    pid = str(path.get("peerId") or "")
    return "0.0.0.0" if pid in ("", "(unspec)", "::") else pid


def _community_strings(detail: dict[str, Any]) -> list[str]:
    """Standard, large and extended communities as Batfish prints them, sorted like Batfish (by value)."""
    std = list((detail.get("community") or {}).get("list") or [])
    large = str((detail.get("largeCommunity") or {}).get("string") or "").split()
    ext = str((detail.get("extendedCommunity") or {}).get("string") or "").split()

    def key(c: str) -> tuple[int, ...]:
        parts = c.split(":")
        return tuple(int(p) for p in parts if p.isdigit())

    return sorted(std, key=key) + sorted(large, key=key) + ext


def _cluster_list(detail: dict[str, Any]) -> list[int] | None:
    ids = (detail.get("clusterList") or {}).get("list") or []
    return sorted(int(ipaddress.IPv4Address(c)) for c in ids) or None


def bgp_rib(snapshot: SnapshotState, router: str, statuses: set[str]) -> list[Row]:
    """One router's BGP paths as bgpRib rows: best/multipath = BEST, other valid paths = BACKUP."""
    detail_doc = _by_vrf(snapshot.show(router, "bgp_detail"))
    # what a locally originated route (network statement, redistribution) was taken from: the main RIB's route
    rib = {(r["VRF"], r["Network"]): r["Protocol"] for r in main_rib(snapshot, router)
           if r["Protocol"] not in ("bgp", "ibgp", "aggregate")}
    device = snapshot.devices.get(router)
    # the renderer's stand-ins for EOS aggregate contributors (render.eos_aggregate_activators): not EOS's routes
    activators = {str(c) for c in eos_aggregate_activators(device)} if device is not None else set()
    rows: list[Row] = []
    for vrf, body in _by_vrf(snapshot.show(router, "bgp_routes")).items():
        details = ((detail_doc.get(vrf) or {}).get("routes")) or {}
        router_id = str(body.get("routerId") or "") or None
        for prefix, paths in (body.get("routes") or {}).items():
            if ":" in prefix:
                continue
            extra = [d for d in details.get(prefix, []) if isinstance(d, dict) and "aspath" in d]
            for i, p in enumerate(p for p in paths if isinstance(p, dict)):
                if not p.get("valid"):
                    continue
                status = "BEST" if p.get("bestpath") or p.get("multipath") else "BACKUP"
                if status not in statuses:
                    continue
                d = _detail_of(p, extra, i)
                row = _bgp_row(router, vrf, prefix, p, d)
                if row["Received_From_IP"] == "0.0.0.0" and prefix in activators and row["Protocol"] == "bgp":
                    continue
                if row["Received_From_IP"] == "0.0.0.0":  # originated here
                    row["Originator_Id"] = router_id
                    if row["Origin_Protocol"] is None:
                        row["Origin_Protocol"] = rib.get((vrf, prefix))
                rows.append(row)
    return rows


def _path_id(path: dict[str, Any], peer: str | None) -> tuple[str, str | None]:
    """(peer, first IPv4 next hop) of a path, in the table's or the detail's form."""
    hops = [h.get("ip") for h in path.get("nexthops") or [] if h.get("afi", "ipv4") == "ipv4"]
    return _peer_ip({"peerId": peer}), hops[0] if hops else None


def _detail_of(path: dict[str, Any], details: list[dict[str, Any]], i: int) -> dict[str, Any]:
    """The detail entry for the i-th path of a prefix. bgpd prints both lists in the same order; the peer and
    next hop are checked so a path never gets another's attributes."""
    want = _path_id(path, path.get("peerId"))
    candidates = ([details[i]] if i < len(details) else []) + details
    for d in candidates:
        if _path_id(d, (d.get("peer") or {}).get("peerId")) == want:
            return d
    return {}


def _bgp_row(router: str, vrf: str, prefix: str, p: dict[str, Any], d: dict[str, Any]) -> Row:
    local = _peer_ip(p) == "0.0.0.0"
    internal = p.get("pathFrom") == "internal" and not local
    hops = [h for h in p.get("nexthops") or [] if h.get("afi", "ipv4") == "ipv4"]
    ip = hops[0]["ip"] if hops else None
    nh = {"type": "discard"} if d.get("aggregated") else ({"type": "ip", "ip": ip} if ip and ip != "0.0.0.0"
                                                          else {"type": "discard"} if local else None)
    aspath = d.get("aspath") or {}
    path_text = str(p.get("path", aspath.get("string", "")))
    return {
        "Node": tbl.node(router), "VRF": vrf, "Network": prefix,
        "Status": ["BEST" if p.get("bestpath") or p.get("multipath") else "BACKUP"],
        "Next_Hop": nh, "Protocol": "aggregate" if d.get("aggregated") else ("ibgp" if internal else "bgp"),
        "AS_Path": "" if path_text == "Local" else path_text,
        "Metric": int(p.get("metric", d.get("metric", 0)) or 0),
        "Local_Pref": int(p.get("locPrf", d.get("locPrf", 100))),
        "Communities": _community_strings(d),
        "Origin_Protocol": "aggregate" if d.get("aggregated") else None if local else "ibgp" if internal else "bgp",
        "Origin_Type": _ORIGIN.get(str(p.get("origin", d.get("origin", ""))), None),
        # the route's originator: the ORIGINATOR_ID of a reflected route, else the router that sent it
        "Originator_Id": d.get("originatorId") or str((d.get("peer") or {}).get("routerId") or _peer_ip(p)),
        "Received_From_IP": _peer_ip(p),
        "Received_Path_Id": None,
        "Cluster_List": _cluster_list(d),
        "Tunnel_Encapsulation_Attribute": None,
        "Weight": int(p.get("weight", 0)),
        "Tag": None,
    }


def bgp_sort_key(r: Row) -> tuple[Any, ...]:
    return (*main_sort_key(r), int(ipaddress.IPv4Address(r["Received_From_IP"])),
            -1 if r["Received_Path_Id"] is None else r["Received_Path_Id"])


# -- answerers -------------------------------------------------------------------------------------------------


@answerer("routes.RoutesQuestion", "main", diff=OWN_DIFF)
def routes(question: dict[str, Any], snapshot: SnapshotState, reference: SnapshotState | None) -> dict[str, Any]:
    if reference is not None:
        # Batfish's diff matches networks exactly and VRF names as a whole (groupRoutes)
        snap = main_rows(question, snapshot, whole_vrf=True, exact_only=True)
        ref = main_rows(question, reference, whole_vrf=True, exact_only=True)
        return tbl.answer(question, tbl.table(DIFF_COLUMNS, diff_rows(snap, ref), "Display diff of RIB routes"))
    rows = sorted(main_rows(question, snapshot), key=main_sort_key)
    return tbl.answer(question, tbl.table(MAIN_COLUMNS, rows, "Display RIB routes"))


def _route_statuses(question: dict[str, Any]) -> set[str]:
    # bgpRib's `status`, which its template also copies into the top-level bgpRouteStatus
    name = "status" if variable(question, "status") is not None else "bgpRouteStatus"
    return enum_param(question, name, ["BEST", "BACKUP"], {"BEST"})


@answerer("routes.RoutesQuestion", "bgp", diff=NO_DIFF)  # Batfish's is its own (RoutesAnswerer.answerDiff)
def bgp_rib_answer(question: dict[str, Any], snapshot: SnapshotState,
                   reference: SnapshotState | None) -> dict[str, Any]:
    statuses = _route_statuses(question)
    vrf_ok = vrf_matcher(variable(question, "vrfs"))
    network = parse_network(variable(question, "network"))
    kind = str(variable(question, "prefixMatchType", "EXACT"))
    protos = protocols(variable(question, "protocols"))
    out: list[Row] = []
    for router in _routers(question, snapshot):
        rows = [r for r in bgp_rib(snapshot, router, {"BEST", "BACKUP"}) if vrf_ok(r["VRF"])
                and (protos is None or r["Protocol"] in protos)]
        for vrf in {r["VRF"] for r in rows}:
            vrows = [r for r in rows if r["VRF"] == vrf]
            # LPM is decided on the best routes only (RoutesAnswererUtil.getMatchingRoutes)
            pool = [r for r in vrows if r["Status"] == ["BEST"]] if kind.upper() == "LONGEST_PREFIX_MATCH" else vrows
            keep = {str(n) for n in prefix_match(kind, network, (Net(r["Network"]) for r in pool))}
            out.extend(r for r in vrows if r["Network"] in keep and r["Status"][0] in statuses)
    out.sort(key=bgp_sort_key)
    return tbl.answer(question, tbl.table(BGP_COLUMNS, out, "Display RIB routes"))


@answerer("lpmroutes.LpmRoutesQuestion")
def lpm_routes(question: dict[str, Any], snapshot: SnapshotState, reference: SnapshotState | None) -> dict[str, Any]:
    ip_text = variable(question, "ip")
    try:
        ip = ipaddress.IPv4Address(str(ip_text).strip())
    except ValueError:
        raise UnsupportedQuestion(f"lpmRoutes: ip must be an IPv4 address, got {ip_text!r}") from None
    vrf_ok = vrf_matcher(variable(question, "vrfs", ".*"), whole=True)
    out: list[Row] = []
    for router in _routers(question, snapshot):
        by_vrf: dict[str, list[Row]] = {}
        for r in main_rib(snapshot, router):
            if vrf_ok(r["VRF"]) and ip in Net(r["Network"]):
                by_vrf.setdefault(r["VRF"], []).append(r)
        for vrf in sorted(by_vrf):
            longest = max(Net(r["Network"]).prefixlen for r in by_vrf[vrf])
            hits = [r for r in by_vrf[vrf] if Net(r["Network"]).prefixlen == longest]
            out.append({"Node": tbl.node(router), "VRF": vrf, "Ip": str(ip), "Network": hits[0]["Network"],
                        "Num_Routes": len(hits)})
    return tbl.answer(question, tbl.table(LPM_COLUMNS, out))
