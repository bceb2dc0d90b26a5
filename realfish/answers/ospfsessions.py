"""ospfEdges and ospfSessionCompatibility, from ospfd's own tables.

ospfd's interface table (`show ip ospf interface json`) is the OSPF configuration as the router applied it:
per interface its area (and the area's type: `0.0.0.1 [Stub]`), network type, hello and dead intervals, MTU,
passive flag and the router ID. Its neighbor table (`show ip ospf neighbor detail json`) is what the routers
actually formed. Interface names there are Linux names, turned back into the user's.

ospfEdges lists the real adjacencies: a neighbor in state Full, or in 2-Way when both ends are DROther on a
broadcast segment (a stable neighbor that, by design, forms no adjacency; Batfish lists those pairs as edges
too). Each router reports its own side, so both directions appear.

ospfSessionCompatibility follows Batfish's OspfTopologyUtils: candidate pairs are the layer-3 edges between
active, OSPF-enabled, non-passive local interfaces and active OSPF-enabled remote ones whose addresses share a
subnet; their status is the first of PASSIVE_MISMATCH, AREA_MISMATCH, DUPLICATE_ROUTER_ID,
AREA_TYPE_MISMATCH, NETWORK_TYPE_MISMATCH, HELLO_INTERVAL_MISMATCH, DEAD_INTERVAL_MISMATCH that applies, else
ESTABLISHED. Where the routers disagree with that static verdict, their state wins for an ESTABLISHED pair:
Batfish does not check MTUs (it optimistically leaves such sessions up), but FRR, like IOS, keeps an
MTU-mismatched adjacency stuck in ExStart/Exchange, so realfish reports MTU_MISMATCH; any other pair
Batfish would call established that has no adjacency on the routers is UNKNOWN_COMPATIBILITY_ISSUE. The
other way round, FRR does form a Full adjacency across a network-type mismatch (broadcast against
point-to-point); realfish keeps Batfish's NETWORK_TYPE_MISMATCH there, since the configs disagree.

Only the default VRF's OSPF instance is read (VRFs are not emulated yet).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from realfish.answers import answerer, enum_param, node_set
from realfish.answers import table as tbl
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column

Row = dict[str, Any]
End = tuple[str, str]  # (node, the user's interface name)

STATUSES = ["AREA_INVALID", "AREA_MISMATCH", "AREA_TYPE_MISMATCH", "DEAD_INTERVAL_MISMATCH", "DUPLICATE_ROUTER_ID",
            "ESTABLISHED", "HELLO_INTERVAL_MISMATCH", "MTU_MISMATCH", "NETWORK_TYPE_MISMATCH", "NO_SESSION",
            "PASSIVE_MISMATCH", "PROCESS_INVALID", "UNKNOWN_COMPATIBILITY_ISSUE"]


@dataclass(frozen=True)
class OspfInterface:
    """One OSPF-enabled interface as ospfd runs it."""

    node: str
    name: str  # the user's name
    linux: str
    address: ipaddress.IPv4Interface
    area: str  # dotted
    area_type: str  # "NONE", "STUB" or "NSSA"
    network: str  # ospfd's networkType: BROADCAST, POINTOPOINT, NBMA, ...
    hello: int  # seconds
    dead: int
    mtu: int
    passive: bool
    router_id: str
    up: bool
    state: str  # the interface's own state: DR, Backup, DROther, Point-To-Point, Loopback, ...


def ospf_interfaces(snapshot: SnapshotState) -> dict[End, OspfInterface]:
    """Every router's OSPF interfaces, keyed by (node, the user's interface name)."""
    out: dict[End, OspfInterface] = {}
    for node in snapshot.tables().routers:
        table = snapshot.show(node, "ospf_interfaces").get("interfaces") or {}
        for linux, oi in table.items():
            if not isinstance(oi, dict) or not oi.get("ospfEnabled") or "ipAddress" not in oi:
                continue
            area, _, kind = str(oi.get("area", "")).partition(" ")
            name = snapshot.user_ifname(node, linux)
            out[(node, name)] = OspfInterface(
                node, name, linux, ipaddress.IPv4Interface(f"{oi['ipAddress']}/{oi.get('ipAddressPrefixlen', 32)}"),
                area, kind.strip("[] ").upper() or "NONE", str(oi.get("networkType", "")),
                int(oi.get("timerMsecs", 0)) // 1000, int(oi.get("timerDeadSecs", 0)), int(oi.get("mtuBytes", 0)),
                bool(oi.get("timerPassiveIface")), str(oi.get("routerId", "")), bool(oi.get("ifUp")),
                str(oi.get("state", "")))
    return out


def adjacencies(snapshot: SnapshotState, ifaces: dict[End, OspfInterface] | None = None) -> set[tuple[End, End]]:
    """(local end, remote end) for every neighbor a router holds in Full state (or 2-Way between DROthers)."""
    ifaces = ospf_interfaces(snapshot) if ifaces is None else ifaces
    by_rid_ip = {(oi.router_id, str(oi.address.ip)): (oi.node, oi.name) for oi in ifaces.values()}
    by_linux = {(oi.node, oi.linux): oi for oi in ifaces.values()}
    out = set()
    for node in snapshot.tables().routers:
        neighbors = snapshot.show(node, "ospf_neighbors").get("neighbors") or {}
        for rid, entries in neighbors.items():
            for nb in entries if isinstance(entries, list) else [entries]:
                linux = str(nb.get("ifaceName", "")).split(":")[0]  # secondaries read "ifname:address"
                local = by_linux.get((node, linux))
                remote = by_rid_ip.get((rid, str(nb.get("ifaceAddress"))))
                state = str(nb.get("nbrState", ""))
                full = state.startswith("Full")
                two_way = state.startswith("2-Way") and local is not None and local.state == "DROther"
                if local is not None and remote is not None and (full or two_way):
                    out.add(((node, local.name), remote))
    return out


# -- ospfEdges ----------------------------------------------------------------------------------------------

EDGE_COLUMNS = [
    Column("Interface", "Interface", "Interface from which the edge originates", key=True, value=False),
    Column("Remote_Interface", "Interface", "Interface at which the edge terminates", key=True, value=False),
]


@answerer("edges.EdgesQuestion", "ospf")
def ospf_edges(question: dict[str, Any], snapshot: SnapshotState, reference: SnapshotState | None) -> dict[str, Any]:
    local, remote = node_set(question, "nodes", snapshot), node_set(question, "remoteNodes", snapshot)
    rows = [{"Interface": tbl.interface(*a), "Remote_Interface": tbl.interface(*b)}
            for a, b in sorted(adjacencies(snapshot)) if a[0] in local and b[0] in remote]
    return tbl.answer(question, tbl.table(EDGE_COLUMNS, rows, "Display Edges"))


# -- ospfSessionCompatibility -------------------------------------------------------------------------------

SESSION_COLUMNS = [
    Column("Interface", "Interface", "Interface", key=True, value=False),
    Column("VRF", "String", "VRF", key=True, value=False),
    Column("IP", "Ip", "Ip", key=True, value=False),
    Column("Area", "Long", "Area", key=True, value=False),
    Column("Remote_Interface", "Interface", "Remote Interface"),
    Column("Remote_VRF", "String", "Remote VRF"),
    Column("Remote_IP", "Ip", "Remote IP"),
    Column("Remote_Area", "Long", "Remote Area"),
    Column("Session_Status", "String", "Status of the OSPF session"),
]


def session_status(local: OspfInterface, remote: OspfInterface, up: bool) -> str:
    """Batfish's getSessionStatus order, then the routers' word on an otherwise established pair (`up`: they
    hold the adjacency)."""
    if local.passive and remote.passive:
        return "NO_SESSION"
    if local.passive != remote.passive:
        return "PASSIVE_MISMATCH"
    if local.area != remote.area:
        return "AREA_MISMATCH"
    if local.router_id == remote.router_id:
        return "DUPLICATE_ROUTER_ID"
    if local.area_type != remote.area_type:
        return "AREA_TYPE_MISMATCH"
    if local.network != remote.network:
        return "NETWORK_TYPE_MISMATCH"
    if local.hello != remote.hello:
        return "HELLO_INTERVAL_MISMATCH"
    if local.dead != remote.dead:
        return "DEAD_INTERVAL_MISMATCH"
    if up:
        return "ESTABLISHED"
    if local.network == "NBMA":
        return "NO_SESSION"  # Batfish: an NBMA neighbor must be configured; without one there is no session
    return "MTU_MISMATCH" if local.mtu != remote.mtu else "UNKNOWN_COMPATIBILITY_ISSUE"


def session_rows(snapshot: SnapshotState, local_nodes: set[str] | None = None,
                 remote_nodes: set[str] | None = None) -> list[Row]:
    ifaces = ospf_interfaces(snapshot)
    up = adjacencies(snapshot, ifaces)
    rows = []
    for n1, i1, n2, i2 in sorted(snapshot.conv.edges):
        local, remote = ifaces.get((n1, i1)), ifaces.get((n2, i2))
        if local is None or remote is None or local.passive or not (local.up and remote.up):
            continue  # Batfish: only active, non-passive OSPF interfaces start a session
        if (local_nodes is not None and n1 not in local_nodes) or (remote_nodes is not None and n2 not in remote_nodes):
            continue
        if local.address.ip == remote.address.ip or local.address.network != remote.address.network:
            continue
        status = session_status(local, remote, ((n1, i1), (n2, i2)) in up)
        if status == "NO_SESSION":
            continue
        rows.append({"Interface": tbl.interface(n1, i1), "VRF": "default", "IP": str(local.address.ip),
                     "Area": int(ipaddress.IPv4Address(local.area)), "Remote_Interface": tbl.interface(n2, i2),
                     "Remote_VRF": "default", "Remote_IP": str(remote.address.ip),
                     "Remote_Area": int(ipaddress.IPv4Address(remote.area)), "Session_Status": status})
    return rows


@answerer("ospfsession.OspfSessionCompatibilityQuestion")
def ospf_session_compatibility(question: dict[str, Any], snapshot: SnapshotState,
                               reference: SnapshotState | None) -> dict[str, Any]:
    statuses = enum_param(question, "statuses", STATUSES)

    rows = [r for r in session_rows(snapshot, node_set(question, "nodes", snapshot),
                                    node_set(question, "remoteNodes", snapshot)) if r["Session_Status"] in statuses]
    return tbl.answer(question, tbl.table(SESSION_COLUMNS, rows, "Display OSPF sessions"))
