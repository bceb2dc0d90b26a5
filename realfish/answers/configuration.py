"""Protocol configuration questions: bgpProcessConfiguration, bgpPeerConfiguration, ospfProcessConfiguration,
ospfInterfaceConfiguration and ospfAreaConfiguration, from the parsed configs (`realfish.model`) with each
vendor's defaults as Batfish's conversion sets them, and the routers' own word where Batfish computes a value
the config does not give (a router ID nobody configured, whether a router is an area border router).

Columns, their order, schemas and cell formats follow Batfish's answerers and property specifiers
(BgpProcessPropertySpecifier, BgpPeerPropertySpecifier, OspfProcessPropertySpecifier,
OspfInterfacePropertySpecifier): process and peer properties sorted by name, OSPF process properties in the
answerer's fixed order (RFC1583_Compatible is never shown), OSPF interface properties in the specifier's order.

What the model does not carry is null, never guessed: BGP confederations (Confederation_ID,
Confederation_Members, a peer's Confederation) and a peer's Session_VRF; on EOS, Multipath_Match_Mode and
Tie_Breaker unless the config sets them (Batfish's EOS defaults are not verified here); a peer's Remote_AS
when FRR's `remote-as external` leaves it a range. Devices whose BGP is not in the model have no BGP rows.

Batfish's FRR model is reported as Batfish has it, not as FRR runs: multipath on for eBGP and iBGP,
communities always sent, ARRIVAL_ORDER tie-breaking, a 100 Gb/s OSPF reference bandwidth (Cumulus's). OSPF
costs, though, are computed values, so there they are ospfd's own.

Peers follow Batfish's IOS conversion: a neighbor that is shut down, not activated for IPv4 unicast, or has no
remote AS is not a peer. Import/Export_Policy list the user's route-maps on the peer (Batfish's generated
`~BGP_PEER_...~` wrappers are not sources). OSPF interfaces are those the process's network statements (or an
interface's area line) put in an area, shut interfaces included, as Batfish's configuration does.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from realfish.answers import answerer, enum_param, node_set, property_columns
from realfish.answers import table as tbl
from realfish.answers.bgp import asn_number, static_local_ip
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column, columns_by_name
from realfish.model import BgpPeer, BgpProcess, Device, DeviceInterface, OspfProcess
from realfish.render import ospf_cost

Row = dict[str, Any]
_FRR_FAMILY = ("FRR", "CUMULUS_CONCATENATED", "SONIC")


def _ip_key(text: str) -> tuple[int, int]:
    """Batfish orders peers by address."""
    a = ipaddress.ip_address(text)
    return a.version, int(a)


# -- BGP ----------------------------------------------------------------------------------------------------


def _peers(proc: BgpProcess) -> list[tuple[str, BgpPeer]]:
    """The neighbors Batfish makes peers of (see the module docstring), by address."""
    out = []
    for key, peer in proc.peers.items():
        if proc.peer_setting(peer, "shutdown") is True or proc.peer_setting(peer, "remote_as") is None:
            continue
        if not proc.ipv4_active(peer):
            continue
        out.append((key, peer))
    # by address, then the unnumbered (interface) peers by interface
    return sorted(out, key=lambda kp: (1, 0, 0, kp[0]) if kp[1].interface else (0, *_ip_key(kp[0]), ""))


def _bgp_router_id(snapshot: SnapshotState, node: str, proc: BgpProcess) -> str | None:
    """The configured router ID, else the one bgpd chose (Batfish computes one the same way: the highest
    loopback address, else the highest interface address)."""
    if proc.router_id:
        return proc.router_id
    dp = snapshot.dataplane
    summary = snapshot.show(node, "bgp_summary") if dp is not None and node in dp.routers else {}
    vrf = summary.get(proc.vrf or "default") or {}
    rid = (vrf.get("ipv4Unicast") or {}).get("routerId") if isinstance(vrf, dict) else None
    return str(rid) if rid else None


def _multipath(dev: Device, proc: BgpProcess) -> tuple[bool | None, bool | None]:
    """(Multipath_EBGP, Multipath_IBGP). Batfish's IOS conversion turns a plain `maximum-paths N` (which the
    model keeps as the eBGP limit, as IOS applies it) into multipath for both eBGP and iBGP; its FRR conversion
    always enables both (FRR's default is 64 paths)."""
    ebgp, ibgp = proc.maximum_paths_ebgp, proc.maximum_paths_ibgp
    if dev.format in _FRR_FAMILY:
        return True, True
    if dev.format == "CISCO_IOS":
        return (ebgp or 1) > 1, max(ebgp or 1, ibgp or 1) > 1
    return (ebgp or 1) > 1, (ibgp or 1) > 1


def _route_reflector_client(proc: BgpProcess, peer: BgpPeer) -> bool:
    return proc.peer_setting(peer, "route_reflector_client") is True


BGP_PROCESS_PROPERTIES = columns_by_name(
    Column("Confederation_ID", "Long", "Externally visible autonomous system number for the confederation"),
    Column("Confederation_Members", "String", "Set of autonomous system numbers visible only within this BGP "
                                              "confederation"),
    Column("Multipath_EBGP", "Boolean", "Whether multipath routing is enabled for EBGP"),
    Column("Multipath_IBGP", "Boolean", "Whether multipath routing is enabled for IBGP"),
    Column("Multipath_Match_Mode", "String", "Which AS paths are considered equivalent (EXACT_PATH, FIRST_AS, "
                                             "PATH_LENGTH) when multipath BGP is enabled"),
    Column("Neighbors", "Set<String>", "All peers configured on this process, identified by peer address (for active "
                                       "and dynamic peers) or peer interface (for BGP unnumbered peers)"),
    Column("Route_Reflector", "Boolean", "Whether any BGP peer in this process is configured as a route reflector "
                                         "client, for ipv4 unicast address family"),
    Column("Tie_Breaker", "String", "Tie breaking mode (ARRIVAL_ORDER, CLUSTER_LIST_LENGTH, ROUTER_ID)"),
)


def bgp_process_row(snapshot: SnapshotState, node: str) -> Row | None:
    dev = snapshot.devices[node]
    proc = dev.bgp
    if proc is None:
        return None
    peers = _peers(proc)
    ebgp, ibgp = _multipath(dev, proc)
    if proc.multipath_relax:
        match_mode: str | None = "PATH_LENGTH"
    else:
        match_mode = "EXACT_PATH" if dev.format in ("CISCO_IOS",) + _FRR_FAMILY else None
    # Batfish's IOS conversion keeps its process default (ARRIVAL_ORDER) unless compare-routerid is set; its
    # FRR conversion never sets one; its EOS default is not verified here
    if dev.format in _FRR_FAMILY:
        tie: str | None = "ARRIVAL_ORDER"
    elif proc.compare_router_id:
        tie = "ROUTER_ID"
    else:
        tie = "ARRIVAL_ORDER" if dev.format == "CISCO_IOS" else None
    return {
        "Node": tbl.node(node), "VRF": proc.vrf or "default", "Router_ID": _bgp_router_id(snapshot, node, proc),
        "Confederation_ID": None, "Confederation_Members": None,  # not in the model
        "Multipath_EBGP": ebgp, "Multipath_IBGP": ibgp, "Multipath_Match_Mode": match_mode,
        "Neighbors": [k for k, _ in peers],
        "Route_Reflector": any(_route_reflector_client(proc, p) for _, p in peers),
        "Tie_Breaker": tie,
    }


@answerer("bgpproperties.BgpProcessConfigurationQuestion")
def bgp_process_configuration(question: dict[str, Any], snapshot: SnapshotState,
                              reference: SnapshotState | None) -> dict[str, Any]:
    columns = [Column("Node", "Node", "Node", key=True, value=False),
               Column("VRF", "String", "VRF", key=True, value=False),
               Column("Router_ID", "Ip", "Router ID", key=True, value=False),
               *property_columns(question, BGP_PROCESS_PROPERTIES)]
    rows = [r for n in sorted(node_set(question, "nodes", snapshot)) if (r := bgp_process_row(snapshot, n))]
    return tbl.answer(question, tbl.table(columns, rows, "Properties of BGP process ${Node}:${VRF}:${Router_ID}.",
                                          unselected=BGP_PROCESS_PROPERTIES))


BGP_PEER_PROPERTIES = columns_by_name(
    Column("Cluster_ID", "Ip", "Cluster ID of this peer (null for peers that are not route reflector clients)"),
    Column("Confederation", "Long", "Confederation AS number"),
    Column("Description", "String", "Configured peer description"),
    Column("Export_Policy", "Set<String>", "Names of export policies to be applied to routes exported by this peer"),
    Column("Import_Policy", "Set<String>", "Names of import policies to be applied to routes received by this peer"),
    Column("Is_Passive", "Boolean", "Whether this peer is passive"),
    Column("Local_AS", "Long", "Local AS number"),
    Column("Local_IP", "Ip", "Local IPv4 address (null for BGP unnumbered peers)"),
    Column("Peer_Group", "String", "Name of the BGP peer group to which this peer belongs"),
    Column("Remote_AS", "String", "Remote AS numbers with which this peer may establish a session"),
    Column("Route_Reflector_Client", "Boolean", "Whether this peer is a route reflector client"),
    Column("Send_Community", "Boolean", "Whether this peer propagates communities"),
)
# BgpPeerConfigurationAnswerer's column order (Session_VRF as pybatfish's notebooks show it, after VRF)
_PEER_ORDER = ["Node", "VRF", "Session_VRF", "Local_AS", "Local_IP", "Local_Interface", "Confederation",
               "Remote_AS", "Remote_IP", "Description", "Route_Reflector_Client", "Cluster_ID", "Peer_Group",
               "Import_Policy", "Export_Policy", "Send_Community", "Is_Passive"]
_PEER_FIXED = {
    "Node": Column("Node", "Node", "Node", key=True, value=False),
    "VRF": Column("VRF", "String", "VRF", key=True, value=False),
    "Session_VRF": Column("Session_VRF", "String", "The VRF in which this session's TCP connection takes place, "
                                                   "if different from VRF", value=False),
    "Local_Interface": Column("Local_Interface", "String", "Local Interface", key=True, value=False),
    "Remote_IP": Column("Remote_IP", "SelfDescribing", "Remote IP", key=True, value=False),
}


def bgp_peer_rows(snapshot: SnapshotState, node: str) -> list[Row]:
    dev = snapshot.devices[node]
    proc = dev.bgp
    if proc is None:
        return []
    vrf = proc.vrf or "default"
    rows = []
    for key, peer in _peers(proc):
        def s(attr: str, p: BgpPeer = peer) -> Any:
            return proc.peer_setting(p, attr)

        local_as = asn_number(str(s("local_as") or proc.asn))
        remote = s("remote_as")
        remote_as = asn_number(str(remote)) if remote != "internal" else local_as
        rr_client = _route_reflector_client(proc, peer)
        send = s("send_community")
        rows.append({
            "Node": tbl.node(node), "VRF": vrf, "Session_VRF": None,
            # Batfish: an unnumbered peer has its interface and no IPs, any other peer its remote IP
            "Local_AS": local_as, "Local_IP": None if peer.interface else static_local_ip(dev, proc, peer, vrf),
            "Local_Interface": key if peer.interface else None,
            "Confederation": None,  # confederations are not in the model
            "Remote_AS": None if remote_as is None else str(remote_as),
            "Remote_IP": None if peer.interface else {"schema": "Ip", "value": key},
            "Description": s("description"),
            "Route_Reflector_Client": rr_client,
            # a client's cluster ID: the configured one, else the router ID (as IOS and Batfish default it)
            "Cluster_ID": (proc.cluster_id or _bgp_router_id(snapshot, node, proc)) if rr_client else None,
            "Peer_Group": peer.peer_group,
            "Import_Policy": [s("route_map_in")] if s("route_map_in") else [],
            "Export_Policy": [s("route_map_out")] if s("route_map_out") else [],
            # IOS and EOS send communities only when told to; Batfish's FRR conversion always has them sent
            "Send_Community": True if dev.format in _FRR_FAMILY else send is True,
            "Is_Passive": False,  # dynamic (listen range) peers are not in the model
        })
    return rows


@answerer("bgpproperties.BgpPeerConfigurationQuestion")
def bgp_peer_configuration(question: dict[str, Any], snapshot: SnapshotState,
                           reference: SnapshotState | None) -> dict[str, Any]:
    props = enum_param(question, "properties", BGP_PEER_PROPERTIES)
    columns = [_PEER_FIXED[c] if c in _PEER_FIXED else BGP_PEER_PROPERTIES[c]
               for c in _PEER_ORDER if c in _PEER_FIXED or c in props]
    rows = [r for n in sorted(node_set(question, "nodes", snapshot)) for r in bgp_peer_rows(snapshot, n)]
    return tbl.answer(question, tbl.table(columns, rows, "Properties of BGP peer ${Node}:${VRF}: ${Remote_IP}",
                                          unselected=BGP_PEER_PROPERTIES))


# -- OSPF ---------------------------------------------------------------------------------------------------


def _process_id(dev: Device, proc: OspfProcess) -> str:
    # Batfish names FRR's (single, unnumbered) OSPF process "default"
    return "default" if dev.format in _FRR_FAMILY else proc.process_id


def area_interfaces(dev: Device, proc: OspfProcess) -> dict[str, str]:
    """Interface (user's name) -> dotted area: an interface's own area line, else the most specific network
    statement holding its primary address, else a non-contiguous wildcard one. Shut interfaces included."""
    out: dict[str, str] = {}
    nets = sorted(proc.networks, key=lambda na: -na[0].prefixlen)
    for iface in dev.interfaces.values():
        if (iface.vrf or None) != (proc.vrf or None):
            continue
        if iface.ospf_area is not None:
            out[iface.name] = iface.ospf_area
            continue
        v4 = [a for a in iface.addresses if isinstance(a, ipaddress.IPv4Interface)]
        if not v4:
            continue
        area = next((a for net, a in nets if v4[0].ip in net), None)
        if area is None:
            ip = int(v4[0].ip)
            area = next((a for addr, wild, a in proc.wildcard_networks
                         if ip & ~int(wild) & 0xFFFFFFFF == int(addr) & ~int(wild) & 0xFFFFFFFF), None)
        if area is not None:
            out[iface.name] = area
    return out


def _area_num(dotted: str) -> int:
    return int(ipaddress.IPv4Address(dotted))


def _passive(proc: OspfProcess, iface: DeviceInterface) -> bool:
    if iface.ospf_passive is not None:
        return iface.ospf_passive
    return iface.name in proc.passive or (proc.passive_default and iface.name not in proc.non_passive)


def _ospfd_interfaces(snapshot: SnapshotState, node: str) -> dict[str, dict[str, Any]]:
    """ospfd's interface table, keyed by the user's interface names ({} without a dataplane)."""
    if snapshot.dataplane is None or node not in snapshot.dataplane.routers:
        return {}
    table = (snapshot.show(node, "ospf_interfaces") or {}).get("interfaces") or {}
    return {snapshot.user_ifname(node, linux): oi for linux, oi in table.items()
            if isinstance(oi, dict) and oi.get("ospfEnabled")}


OSPF_PROCESS_PROPERTIES = columns_by_name(
    Column("Areas", "Set<String>", "All OSPF areas for this process"),
    Column("Reference_Bandwidth", "Double", "Reference bandwidth in bits/sec used to calculate interface OSPF cost"),
    Column("Router_ID", "Ip", "Router ID of the process"),
    Column("Export_Policy_Sources", "Set<String>", "Names of policies that determine which routes are exported into "
                                                   "OSPF"),
    Column("Area_Border_Router", "Boolean", "Whether this process is at the area border (with at least one interface "
                                            "in Area 0 and one in another area)"),
)
_OSPF_PROCESS_ALL = [*OSPF_PROCESS_PROPERTIES, "RFC1583_Compatible"]  # the last is never shown (answerer order)


def ospf_process_rows(snapshot: SnapshotState, node: str) -> list[Row]:
    dev = snapshot.devices[node]
    ospfd = _ospfd_interfaces(snapshot, node)
    rows = []
    for proc in dev.ospf:
        areas = area_interfaces(dev, proc)
        numbers = {_area_num(a) for a in areas.values()} | {_area_num(a) for a in proc.areas}
        # Batfish computes a router ID nobody configured; the router's own choice is ospfd's routerId
        rid = proc.router_id or next((str(oi["routerId"]) for oi in ospfd.values() if oi.get("routerId")), None)
        # Area border router: the areas ospfd runs this router's interfaces in (config areas without ospfd)
        run = {str(oi.get("area", "")).split(" ")[0] for oi in ospfd.values()} if ospfd else set(areas.values())
        abr = "0.0.0.0" in run and len(run) > 1
        if proc.reference_bandwidth_mbps is not None:
            refbw = proc.reference_bandwidth_mbps * 1e6
        else:  # Batfish's FRR model takes Cumulus's 100 Gb/s default (ospfd's too: libospf.h, 100000 Mb/s)
            refbw = 100e9 if dev.format in _FRR_FAMILY else proc.auto_cost_vendor_default * 1e6
        rows.append({
            "Node": tbl.node(node), "VRF": proc.vrf or "default", "Process_ID": _process_id(dev, proc),
            "Areas": [str(n) for n in sorted(numbers)],
            "Reference_Bandwidth": refbw,
            "Router_ID": rid,
            "Export_Policy_Sources": sorted({r.route_map for r in proc.redistribute if r.route_map}),
            "Area_Border_Router": abr,
        })
    return rows


@answerer("ospfprocess.OspfProcessConfigurationQuestion")
def ospf_process_configuration(question: dict[str, Any], snapshot: SnapshotState,
                               reference: SnapshotState | None) -> dict[str, Any]:
    columns = [Column("Node", "Node", "Node", key=True, value=False),
               Column("VRF", "String", "VRF name", key=True, value=False),
               Column("Process_ID", "String", "Process ID", key=True, value=False),
               *property_columns(question, OSPF_PROCESS_PROPERTIES, allowed=_OSPF_PROCESS_ALL,
                                 declared_order=True)]
    rows = [r for n in sorted(node_set(question, "nodes", snapshot)) for r in ospf_process_rows(snapshot, n)]
    return tbl.answer(question, tbl.table(columns, rows, "Configuration of OSPF process ${Node}:${VRF}: "
                                                         "${Process_ID}", unselected=_OSPF_PROCESS_ALL))


OSPF_INTERFACE_PROPERTIES = columns_by_name(  # OspfInterfacePropertySpecifier.PROPERTIES order
    Column("OSPF_Area_Name", "Long", "OSPF area to which the interface belongs"),
    Column("OSPF_Enabled", "Boolean", "Whether OSPF is enabled"),
    Column("OSPF_Passive", "Boolean", "Whether interface is in OSPF passive mode"),
    Column("OSPF_Cost", "Integer", "OSPF cost if explicitly configured"),
    Column("OSPF_Network_Type", "String", "Type of OSPF network associated with the interface"),
    Column("OSPF_Hello_Interval", "Integer", "Interval in seconds between sending OSPF hello messages"),
    Column("OSPF_Dead_Interval", "Integer", "Interval in seconds before a silent OSPF neighbor is declared dead"),
)
_NETWORK_TYPES = {"broadcast": "BROADCAST", "point-to-point": "POINT_TO_POINT",
                  "non-broadcast": "NON_BROADCAST_MULTI_ACCESS", "point-to-multipoint": "POINT_TO_MULTIPOINT"}


def _timers(dev: Device, iface: DeviceInterface, network: str | None, ospfd: dict[str, Any] | None) -> tuple[Any, Any]:
    """(hello, dead) seconds. IOS/EOS: Batfish's Cisco rule (configured; dead 4x a configured hello; else 10/40
    on broadcast and point-to-point, 30/120 otherwise). FRR-family: what ospfd runs (FRR's own defaults)."""
    if dev.format in _FRR_FAMILY:
        if ospfd is None:
            return iface.ospf_hello, iface.ospf_dead
        return int(ospfd.get("timerMsecs", 0)) // 1000, int(ospfd.get("timerDeadSecs", 0))
    fast = network in ("BROADCAST", "POINT_TO_POINT")
    hello = iface.ospf_hello if iface.ospf_hello is not None else (10 if fast else 30)
    if iface.ospf_dead is not None:
        dead = iface.ospf_dead
    elif iface.ospf_hello is not None:
        dead = 4 * iface.ospf_hello
    else:
        dead = 40 if fast else 120
    return hello, dead


def _cost(dev: Device, iface: DeviceInterface, proc: OspfProcess, ospfd: dict[str, Any] | None) -> int | None:
    """Batfish fills in the cost the reference bandwidth gives an interface. IOS/EOS: the cost realfish
    configures on FRR from the vendor's rule (the same as ospfd's, but for loopbacks, which ospfd costs 0).
    FRR-family configs run as written: the cost ospfd runs (its reference bandwidth over the port's speed or
    `bandwidth`, rounded; docs/vendor-semantics.md, Link speeds)."""
    if dev.format not in _FRR_FAMILY:
        return ospf_cost(dev, iface, proc)
    if iface.ospf_cost is not None:
        return iface.ospf_cost
    return int(ospfd["cost"]) if ospfd is not None and "cost" in ospfd else None


def ospf_interface_rows(snapshot: SnapshotState, node: str) -> list[Row]:
    dev = snapshot.devices[node]
    ospfd = _ospfd_interfaces(snapshot, node)
    rows = []
    for proc in dev.ospf:
        for name, area in sorted(area_interfaces(dev, proc).items()):
            iface = dev.interfaces[name]
            configured = iface.ospf_network_type
            if configured is not None:
                network = _NETWORK_TYPES.get(configured.lower())
            else:  # Batfish: broadcast by default on Cisco-like vendors, unset on FRR
                network = None if dev.format in _FRR_FAMILY else "BROADCAST"
            hello, dead = _timers(dev, iface, network, ospfd.get(name))
            rows.append({
                "Interface": tbl.interface(node, name), "VRF": iface.vrf or "default",
                "Process_ID": _process_id(dev, proc),
                "OSPF_Area_Name": _area_num(area), "OSPF_Enabled": True, "OSPF_Passive": _passive(proc, iface),
                "OSPF_Cost": _cost(dev, iface, proc, ospfd.get(name)),
                "OSPF_Network_Type": network, "OSPF_Hello_Interval": hello, "OSPF_Dead_Interval": dead,
            })
    return rows


@answerer("ospfinterface.OspfInterfaceConfigurationQuestion")
def ospf_interface_configuration(question: dict[str, Any], snapshot: SnapshotState,
                                 reference: SnapshotState | None) -> dict[str, Any]:
    columns = [Column("Interface", "Interface", "Interface", key=True, value=False),
               Column("VRF", "String", "VRF name", key=True, value=False),
               Column("Process_ID", "String", "Process ID", key=True, value=False),
               *property_columns(question, OSPF_INTERFACE_PROPERTIES, declared_order=True)]
    rows = [r for n in sorted(node_set(question, "nodes", snapshot)) for r in ospf_interface_rows(snapshot, n)]
    return tbl.answer(question, tbl.table(columns, rows, "Configuration of OSPF Interface {Interface}",
                                          unselected=OSPF_INTERFACE_PROPERTIES))


AREA_COLUMNS = [
    Column("Node", "Node", "Node", key=True, value=False),
    Column("VRF", "String", "VRF", key=True, value=False),
    Column("Process_ID", "String", "Process ID", key=True, value=False),
    Column("Area", "String", "Area number", key=True, value=False),
    Column("Area_Type", "String", "Area type"),
    Column("Active_Interfaces", "Set<String>", "Names of active interfaces"),
    Column("Passive_Interfaces", "Set<String>", "Names of passive interfaces"),
]


def ospf_area_rows(snapshot: SnapshotState, node: str) -> list[Row]:
    dev = snapshot.devices[node]
    rows = []
    for proc in dev.ospf:
        members: dict[int, list[str]] = {_area_num(a): [] for a in proc.areas}
        for name, area in sorted(area_interfaces(dev, proc).items()):
            members.setdefault(_area_num(area), []).append(name)
        settings = {_area_num(a): s for a, s in proc.areas.items()}
        for number, names in sorted(members.items()):
            s = settings.get(number)
            kind = "NSSA" if s is not None and s.nssa else "STUB" if s is not None and s.stub else "NONE"
            passive = [n for n in names if _passive(proc, dev.interfaces[n])]
            rows.append({
                "Node": tbl.node(node), "VRF": proc.vrf or "default", "Process_ID": _process_id(dev, proc),
                "Area": number,  # Batfish puts the area's number (a Long) in this String column
                "Area_Type": kind,
                "Active_Interfaces": [n for n in names if n not in passive], "Passive_Interfaces": passive,
            })
    return rows


@answerer("ospfarea.OspfAreaConfigurationQuestion")
def ospf_area_configuration(question: dict[str, Any], snapshot: SnapshotState,
                            reference: SnapshotState | None) -> dict[str, Any]:
    rows = [r for n in sorted(node_set(question, "nodes", snapshot)) for r in ospf_area_rows(snapshot, n)]
    return tbl.answer(question, tbl.table(AREA_COLUMNS, rows, "Display OSPF information areas"))
