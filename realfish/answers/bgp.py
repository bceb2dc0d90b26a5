"""bgpSessionStatus, bgpSessionCompatibility and bgpEdges.

The configured sessions come from the parsed configs (`model.BgpProcess` peers), as Batfish's do; for devices
whose FRR config runs as written (no BGP in the model) they come from bgpd's own neighbor list. Whether a
session came up, and with which addresses and ASes, is bgpd's (`show bgp vrf all neighbors json`).

bgpSessionCompatibility follows Batfish's ConfiguredSessionStatus checks (BgpSessionAnswererUtils,
BgpTopologyUtils.initBgpTopology without reachability): a peer's local IP is its update-source's address, else
the address of the interface whose subnet holds the peer address; a configured edge joins two peers whose
addresses point at each other with compatible ASes.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from realfish.answers import answerer, enum_param, node_set, variable
from realfish.answers import table as tbl
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column
from realfish.model import BgpPeer, BgpProcess, Device

Row = dict[str, Any]


def _session_columns(last: Column) -> list[Column]:
    return [
        Column("Node", "Node", "The node where this session is configured", key=True, value=False),
        Column("VRF", "String", "The VRF in which this session is configured", key=True, value=False),
        Column("Session_VRF", "String",
               "The VRF in which this session's TCP connection takes place, if different from VRF", value=False),
        Column("Local_AS", "Long", "The local AS of the session", value=False),
        Column("Local_Interface", "Interface", "Local interface of the session"),
        Column("Local_IP", "Ip", "The local IP of the session", value=False),
        Column("Remote_AS", "String", "The remote AS or list of ASes of the session", value=False),
        Column("Remote_Node", "Node", "Remote node for this session", value=False),
        Column("Remote_Interface", "Interface", "Remote interface for this session", value=False),
        Column("Remote_IP", "SelfDescribing", "Remote IP or prefix for this session", key=True, value=False),
        Column("Address_Families", "Set<String>", "Address Families participating in this session"),
        Column("Session_Type", "String", "The type of this session", value=False),
        last,
    ]


STATUS_COLUMNS = _session_columns(Column("Established_Status", "String", "Established status"))
COMPAT_COLUMNS = _session_columns(Column("Configured_Status", "String", "Configured status"))
EDGE_COLUMNS = [
    Column("Node", "Node", "Node from which the edge originates", key=True, value=False),
    Column("IP", "Ip", "IP at the side of originator", key=True, value=False),
    Column("Interface", "String", "Interface at which the edge originates"),
    Column("AS_Number", "String", "AS Number at the side of originator"),
    Column("Remote_Node", "Node", "Node at which the edge terminates", key=True, value=False),
    Column("Remote_IP", "Ip", "IP at the side of the responder", key=True, value=False),
    Column("Remote_Interface", "String", "Interface at which the edge terminates"),
    Column("Remote_AS_Number", "String", "AS Number at the side of responder"),
]

SESSION_STATUSES = ["ESTABLISHED", "NOT_ESTABLISHED", "NOT_COMPATIBLE"]
SESSION_TYPES = ["IBGP", "EBGP_SINGLEHOP", "EBGP_MULTIHOP", "EBGP_UNNUMBERED", "IBGP_UNNUMBERED", "UNSET"]
CONFIGURED_STATUSES = ["LOCAL_IP_UNKNOWN_STATICALLY", "NO_LOCAL_IP", "NO_LOCAL_AS", "NO_REMOTE_IP",
                       "NO_REMOTE_PREFIX", "NO_REMOTE_AS", "INVALID_LOCAL_IP", "UNKNOWN_REMOTE", "HALF_OPEN",
                       "MULTIPLE_REMOTES", "UNIQUE_MATCH", "DYNAMIC_MATCH", "NO_MATCH_FOUND"]
_AFI = {"ipv4Unicast": "IPV4_UNICAST", "l2VpnEvpn": "EVPN"}


@dataclass
class Peer:
    """One configured BGP neighbor, by address (or, unnumbered, by interface)."""

    node: str
    vrf: str
    ip: str | None  # peer address; None for an unnumbered (interface) peer
    interface: str | None  # unnumbered: the user's interface name
    local_as: int | None
    remote_as: str | None  # a number, "internal" or "external" (FRR), None if unset
    local_ip: str | None  # as Batfish determines it statically
    multihop: bool = False
    families: set[str] = field(default_factory=lambda: {"IPV4_UNICAST"})
    prefix: str | None = None  # dynamic (passive) peers: the `bgp listen range`; `ip` and `interface` are None

    @property
    def passive(self) -> bool:
        return self.prefix is not None

    def remote_ok(self, asn: int | None) -> bool:
        """Does this peer's remote-as accept `asn`?"""
        if asn is None or self.remote_as is None:
            return False
        if self.remote_as == "internal":
            return asn == self.local_as
        if self.remote_as == "external":
            return asn != self.local_as
        return asn_number(self.remote_as) == asn

    @property
    def remote_as_text(self) -> str | None:
        if self.remote_as in ("internal", "external"):
            return str(self.local_as) if self.remote_as == "internal" else None
        asn = asn_number(self.remote_as)
        return str(asn) if asn is not None else None

    @property
    def session_type(self) -> str:
        """BgpSessionProperties.getSessionType: from the configuration alone."""
        if self.local_as is None or self.remote_as is None:
            return "UNSET"
        internal = self.remote_ok(self.local_as)
        if self.ip is None:
            return "IBGP_UNNUMBERED" if internal else "EBGP_UNNUMBERED"
        if self.passive:
            return "UNSET"  # Batfish: a dynamic peer's type is that of each session it accepts
        if internal:
            return "IBGP"
        return "EBGP_MULTIHOP" if self.multihop else "EBGP_SINGLEHOP"


def asn_number(text: str | None) -> int | None:
    """An AS number from asplain or asdot text; None for FRR's `internal`/`external` or garbage."""
    if text is None:
        return None
    try:
        if "." in text:
            hi, lo = text.split(".", 1)
            return int(hi) * 65536 + int(lo)
        return int(text)
    except ValueError:
        return None


# -- configured sessions -------------------------------------------------------------------------------------


def ip_owners(snapshot: SnapshotState) -> dict[str, dict[str, set[str]]]:
    """IP -> node -> VRFs that own it (addresses of interfaces that are not shut down)."""
    out: dict[str, dict[str, set[str]]] = {}
    for name, dev in snapshot.devices.items():
        for iface in dev.interfaces.values():
            if iface.shutdown:
                continue
            for a in iface.addresses:
                out.setdefault(str(a.ip), {}).setdefault(name, set()).add(iface.vrf or "default")
    return out


def static_local_ip(dev: Device, proc: BgpProcess, peer: BgpPeer, vrf: str) -> str | None:
    """Batfish's local IP: the update-source's address, else the address whose subnet holds the peer IP."""
    source = proc.peer_setting(peer, "update_source")
    if isinstance(source, str):
        if _ip(source):
            return _ip(source)
        iface = dev.find_interface(source)
        version = 6 if ":" in peer.key else 4  # the interface's address of the peer's family
        addrs = [a for a in iface.addresses if a.version == version] if iface is not None else []
        return str(addrs[0].ip) if addrs else None
    if _ip(peer.key) is None:
        return None
    addr = ipaddress.ip_address(peer.key)
    for iface in dev.interfaces.values():
        if (iface.vrf or "default") != vrf or iface.shutdown:
            continue
        for a in iface.addresses:
            if a.version == addr.version and addr in a.network:
                return str(a.ip)
    return None


def _model_peers(name: str, dev: Device) -> list[Peer]:
    proc = dev.bgp
    if proc is None:
        return []
    vrf = proc.vrf or "default"
    out = []
    for key, peer in proc.peers.items():
        if proc.peer_setting(peer, "shutdown") is True:
            continue
        local_as = asn_number(str(proc.peer_setting(peer, "local_as") or proc.asn))
        remote = proc.peer_setting(peer, "remote_as")
        families = {"IPV4_UNICAST"} if proc.ipv4_active(peer) else set()
        ip = _ip(key)
        iface = None if ip else key
        out.append(Peer(name, vrf, ip, iface, local_as, str(remote) if remote is not None else None,
                        static_local_ip(dev, proc, peer, vrf) if ip else None,
                        bool(proc.peer_setting(peer, "ebgp_multihop")), families))
    for lr in proc.listen_ranges:
        group = proc.groups[lr.group]
        local_as = asn_number(str(group.local_as or proc.asn))
        active = group.activate if group.activate is not None else proc.default_ipv4_unicast
        out.append(Peer(name, vrf, None, None, local_as, group.remote_as, None,
                        bool(group.ebgp_multihop), {"IPV4_UNICAST"} if active else set(), prefix=str(lr.prefix)))
    return out


def _frr_peers(snapshot: SnapshotState, name: str) -> list[Peer]:
    """Peers of a device whose FRR config runs as written: from bgpd's neighbor list."""
    out = []
    for vrf, body in _neighbors(snapshot, name).items():
        for key, n in body.items():
            ip = _ip(key)
            iface = None if ip else snapshot.user_ifname(name, key)
            local_as = n.get("localAs")
            remote = n.get("remoteAs")
            families = {_AFI[f] for f in n.get("addressFamilyInfo") or {} if f in _AFI}
            source = n.get("updateSource")
            local_ip = n.get("hostLocal") if n.get("bgpState") == "Established" else None
            if local_ip is None and isinstance(source, str):
                local_ip = _ip(source)
            out.append(Peer(name, vrf, ip, iface, int(local_as) if local_as is not None else None,
                            str(remote) if remote is not None else None, local_ip,
                            "externalBgpNbrMaxHopsAway" in n and int(n["externalBgpNbrMaxHopsAway"]) > 1,
                            families or {"IPV4_UNICAST"}))
    return out


def _ip(text: str) -> str | None:
    """`text` as an IP address (canonical form), None if it is not one (an interface name)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def configured_peers(snapshot: SnapshotState) -> list[Peer]:
    peers: list[Peer] = []
    for name, dev in sorted(snapshot.devices.items()):
        if dev.bgp is not None:
            peers.extend(_model_peers(name, dev))
        elif dev.frr_passthrough is not None and snapshot.dataplane is not None:
            peers.extend(_frr_peers(snapshot, name))
    return peers


def point_to_point(snapshot: SnapshotState) -> dict[tuple[str, str], tuple[str, str]]:
    """(node, interface) -> the other end of its point-to-point link (a segment of exactly two interfaces, as
    the run wires them), by the user's interface names: Batfish's L3Adjacencies.inSamePointToPointDomain."""
    net = snapshot.conv.network
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for seg in net.segments:
        if len(seg.members) != 2:
            continue
        (a, ai), (b, bi) = ((r, net.routers[r].name_map.get(i, i) if r in net.routers else i)
                            for r, i in seg.members)
        out[(a, ai)], out[(b, bi)] = (b, bi), (a, ai)
    return out


def configured_edges(peers: list[Peer], owners: dict[str, dict[str, set[str]]],
                     links: dict[tuple[str, str], tuple[str, str]] | None = None) -> dict[int, set[int]]:
    """Batfish's configured BGP topology: peer index -> compatible remote peers. Batfish adds both directions
    whichever end initiates, so a peer's out-degree is its number of compatible remotes.

    An active peer with a local IP initiates towards the owners of its peer address; a peer there answers if
    its own peer address is that local IP and both remote-as settings accept the other's local AS. An
    unnumbered (interface) peer matches the interface peer at the other end of its point-to-point link
    (`links`) whose remote-as accepts its AS, and the other way round (BgpTopologyUtils.addUnnumberedPeerEdges).
    """
    by_node_vrf: dict[tuple[str, str], list[int]] = {}
    by_interface: dict[tuple[str, str], list[int]] = {}
    for i, p in enumerate(peers):
        by_node_vrf.setdefault((p.node, p.vrf), []).append(i)
        if p.ip is None and p.interface is not None:
            by_interface.setdefault((p.node, p.interface), []).append(i)
    adj: dict[int, set[int]] = {i: set() for i in range(len(peers))}
    for i, p in enumerate(peers):
        if p.ip is None and p.interface is not None and links is not None:
            far = links.get((p.node, p.interface))
            for j in by_interface.get(far, []) if far is not None else []:
                q = peers[j]
                if (q.node, q.vrf) != (p.node, p.vrf) and p.remote_ok(q.local_as) and q.remote_ok(p.local_as):
                    adj[i].add(j)
                    adj[j].add(i)
            continue
        if p.ip is None or p.local_ip is None or p.local_as is None or p.remote_as is None:
            continue
        for node, vrfs in owners.get(p.ip, {}).items():
            for vrf in vrfs:
                if (node, vrf) == (p.node, p.vrf):
                    continue
                for j in by_node_vrf.get((node, vrf), []):
                    q = peers[j]
                    # a peer there points back at our local IP, or listens on a range that holds it
                    back = q.ip == p.local_ip or (q.prefix is not None and ipaddress.ip_address(p.local_ip)
                                                  in ipaddress.ip_network(q.prefix))
                    if back and p.remote_ok(q.local_as) and q.remote_ok(p.local_as):
                        adj[i].add(j)
                        adj[j].add(i)
    return adj


def configured_status(p: Peer, i: int, adj: dict[int, set[int]], owners: dict[str, dict[str, set[str]]]) -> str:
    """BgpSessionAnswererUtils.getConfiguredStatus."""
    if p.passive:
        if p.local_as is None:
            return "NO_LOCAL_AS"
        if p.remote_as is None:
            return "NO_REMOTE_AS"
        return "DYNAMIC_MATCH" if adj[i] else "NO_MATCH_FOUND"
    if p.ip is None:  # unnumbered
        if p.local_as is None:
            return "NO_LOCAL_AS"
        if p.remote_as is None:
            return "NO_REMOTE_AS"
        return "HALF_OPEN" if not adj[i] else "MULTIPLE_REMOTES" if len(adj[i]) > 1 else "UNIQUE_MATCH"
    if p.local_ip is None:
        return "LOCAL_IP_UNKNOWN_STATICALLY" if p.session_type in ("IBGP", "EBGP_MULTIHOP") else "NO_LOCAL_IP"
    if p.local_as is None:
        return "NO_LOCAL_AS"
    if p.remote_as is None:
        return "NO_REMOTE_AS"
    if p.vrf not in owners.get(p.local_ip, {}).get(p.node, set()):
        return "INVALID_LOCAL_IP"
    if p.ip not in owners:
        return "UNKNOWN_REMOTE"
    if not adj[i]:
        return "HALF_OPEN"
    if len(adj[i]) > 1:
        return "MULTIPLE_REMOTES"
    return "UNIQUE_MATCH"


@dataclass
class Topology:
    """Configured peers, their compatible remotes and statuses, computed once per question."""

    peers: list[Peer]
    adj: dict[int, set[int]]
    status: list[str]

    @classmethod
    def of(cls, snapshot: SnapshotState) -> Topology:
        peers = configured_peers(snapshot)
        owners = ip_owners(snapshot)
        adj = configured_edges(peers, owners, point_to_point(snapshot))
        return cls(peers, adj, [configured_status(p, i, adj, owners) for i, p in enumerate(peers)])

    def unique_remote(self, i: int) -> Peer | None:
        return self.peers[next(iter(self.adj[i]))] if self.status[i] == "UNIQUE_MATCH" else None


# -- established sessions (bgpd) ------------------------------------------------------------------------------


def _neighbors(snapshot: SnapshotState, router: str) -> dict[str, dict[str, dict[str, Any]]]:
    """vrf -> neighbor key (IP or Linux interface) -> bgpd's neighbor JSON."""
    if snapshot.dataplane is None or router not in snapshot.dataplane.routers:
        return {}
    doc = snapshot.show(router, "bgp_neighbors")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for vrf, body in doc.items():
        if isinstance(body, dict):
            out[vrf] = {k: v for k, v in body.items() if isinstance(v, dict) and "bgpState" in v}
    return out


def _neighbor(snapshot: SnapshotState, p: Peer) -> dict[str, Any] | None:
    by_vrf = _neighbors(snapshot, p.node).get(p.vrf, {})
    if p.ip is not None:
        return by_vrf.get(p.ip)
    for key, n in by_vrf.items():
        if snapshot.user_ifname(p.node, key) == p.interface:
            return n
    return None


def _remote_of(snapshot: SnapshotState, p: Peer, n: dict[str, Any],
               owners: dict[str, dict[str, set[str]]]) -> tuple[str | None, str | None]:
    """The node at the far end of an established session, and its interface (unnumbered): the router that owns
    the remote address and holds an Established session back to our local address."""
    local, foreign = n.get("hostLocal"), n.get("hostForeign")
    candidates = sorted(owners.get(str(foreign), {})) if p.ip is not None else sorted(
        snapshot.tables().routers)
    for node in candidates:
        for vrf_body in _neighbors(snapshot, node).values():
            for key, m in vrf_body.items():
                if m.get("bgpState") == "Established" and m.get("hostForeign") == local \
                        and m.get("hostLocal") == foreign and node != p.node:
                    return node, (snapshot.user_ifname(node, key) if p.ip is None else None)
    hostname = n.get("hostname")
    if p.ip is not None and len(candidates) == 1:
        return candidates[0], None
    return (str(hostname) if hostname in snapshot.devices else None), None


# -- rows ---------------------------------------------------------------------------------------------------------


def _base_row(p: Peer, remote_ip: Any) -> Row:
    return {"Node": tbl.node(p.node), "VRF": p.vrf, "Session_VRF": None, "Local_AS": p.local_as,
            "Local_Interface": tbl.interface(p.node, p.interface) if p.interface else None,
            "Local_IP": p.local_ip, "Remote_AS": p.remote_as_text, "Remote_Node": None, "Remote_Interface": None,
            "Remote_IP": remote_ip, "Address_Families": [], "Session_Type": p.session_type}


def _remote_ip(p: Peer) -> dict[str, str] | None:
    if p.prefix is not None:
        return {"schema": "Prefix", "value": p.prefix}
    return {"schema": "Ip", "value": p.ip} if p.ip is not None else None


def _dynamic_rows(topo: Topology, i: int, status_col: str) -> list[tuple[Row, Peer]]:
    """A dynamic peer's rows, as Batfish gives them: one per compatible remote (the remote's address and AS,
    our address it connects to, its session type), else one row for the range itself."""
    p = topo.peers[i]
    out = []
    for j in sorted(topo.adj[i], key=lambda j: (topo.peers[j].node, topo.peers[j].local_ip or "")):
        r = topo.peers[j]
        if status_col == "Configured_Status" and len(topo.adj[j]) != 1:
            continue  # Batfish: a remote that matches other peers too is not listed here
        row = _base_row(p, {"schema": "Ip", "value": r.local_ip})
        row.update({"Local_IP": r.ip, "Remote_AS": str(r.local_as), "Remote_Node": tbl.node(r.node),
                    "Session_Type": r.session_type, "Address_Families": sorted(p.families & r.families)})
        out.append((row, r))
    return out


def compatibility_rows(snapshot: SnapshotState) -> list[Row]:
    topo = Topology.of(snapshot)
    rows = []
    for i, p in enumerate(topo.peers):
        if p.passive:
            dynamic = _dynamic_rows(topo, i, "Configured_Status")
            for row, _ in dynamic:
                row["Configured_Status"] = "DYNAMIC_MATCH"
                rows.append(row)
            if not dynamic:
                row = _base_row(p, _remote_ip(p))
                row["Local_IP"] = "0.0.0.0"  # Batfish shows Ip.AUTO for a range's unknown local address
                row["Configured_Status"] = topo.status[i] if topo.status[i] != "DYNAMIC_MATCH" else "NO_MATCH_FOUND"
                rows.append(row)
            continue
        row = _base_row(p, _remote_ip(p))
        remote = topo.unique_remote(i)
        if remote is not None:
            row["Remote_Node"] = tbl.node(remote.node)
            row["Remote_AS"] = str(remote.local_as)
            row["Address_Families"] = sorted(p.families & remote.families)
            if p.ip is None and remote.interface:
                row["Remote_Interface"] = tbl.interface(remote.node, remote.interface)
        row["Configured_Status"] = topo.status[i]
        rows.append(row)
    return rows


def status_rows(snapshot: SnapshotState) -> list[Row]:
    topo = Topology.of(snapshot)
    owners = ip_owners(snapshot)
    rows = []
    for i, p in enumerate(topo.peers):
        if p.passive:
            rows.extend(_dynamic_status_rows(snapshot, topo, i))
            continue
        row = _base_row(p, _remote_ip(p))
        n = _neighbor(snapshot, p)
        if n is not None and n.get("bgpState") == "Established":
            remote_node, remote_if = _remote_of(snapshot, p, n, owners)
            remote = topo.unique_remote(i)
            if p.ip is None and remote_if is None and remote is not None and remote.node == remote_node:
                remote_if = remote.interface  # the far end's bgpd keys the session by another name
            row.update({"Established_Status": "ESTABLISHED", "Local_AS": n.get("localAs", p.local_as),
                        "Remote_AS": str(n.get("remoteAs")), "Local_IP": None if p.ip is None else n.get("hostLocal"),
                        "Remote_Node": tbl.node(remote_node) if remote_node else None,
                        "Remote_Interface": tbl.interface(remote_node, remote_if) if remote_node and remote_if
                        else None,
                        "Address_Families": sorted({_AFI[f] for f in n.get("addressFamilyInfo") or {}
                                                    if f in _AFI})})
            if p.ip is not None:
                row["Remote_IP"] = {"schema": "Ip", "value": n.get("hostForeign", p.ip)}
        elif topo.status[i] == "UNIQUE_MATCH":
            remote = topo.unique_remote(i)
            assert remote is not None
            row.update({"Established_Status": "NOT_ESTABLISHED", "Remote_Node": tbl.node(remote.node),
                        "Remote_AS": str(remote.local_as),
                        "Remote_Interface": tbl.interface(remote.node, remote.interface)
                        if p.ip is None and remote.interface else None,
                        "Address_Families": sorted(p.families & remote.families)})
        else:
            row["Established_Status"] = "NOT_COMPATIBLE"
        rows.append(row)
    return rows


def _dynamic_status_rows(snapshot: SnapshotState, topo: Topology, i: int) -> list[Row]:
    """Batfish's rows for a dynamic peer; whether each compatible remote's session came up is bgpd's (it lists
    a dynamic neighbor under the remote's address once it has connected)."""
    p = topo.peers[i]
    if topo.status[i] in ("NO_LOCAL_AS", "NO_REMOTE_AS"):
        return [{**_base_row(p, _remote_ip(p)), "Established_Status": "NOT_COMPATIBLE"}]
    rows = []
    neighbors = _neighbors(snapshot, p.node).get(p.vrf, {})
    for row, r in _dynamic_rows(topo, i, "Established_Status"):
        n = neighbors.get(r.local_ip or "")
        up = n is not None and n.get("bgpState") == "Established"
        row["Established_Status"] = "ESTABLISHED" if up else "NOT_ESTABLISHED"
        if up and n is not None:
            row["Address_Families"] = sorted({_AFI[f] for f in n.get("addressFamilyInfo") or {} if f in _AFI})
        rows.append(row)
    return rows or [{**_base_row(p, _remote_ip(p)), "Established_Status": "NOT_ESTABLISHED"}]


def edge_rows(snapshot: SnapshotState) -> list[Row]:
    """One row per direction of each established session."""
    rows = []
    for r in status_rows(snapshot):
        if r["Established_Status"] != "ESTABLISHED" or r["Remote_Node"] is None:
            continue
        remote_if = r["Remote_Interface"]
        rows.append({"Node": r["Node"], "IP": r["Local_IP"],
                     "Interface": r["Local_Interface"]["interface"] if r["Local_Interface"] else None,
                     "AS_Number": str(r["Local_AS"]), "Remote_Node": r["Remote_Node"],
                     "Remote_IP": r["Remote_IP"]["value"] if r["Remote_IP"] else None,
                     "Remote_Interface": remote_if["interface"] if remote_if else None,
                     "Remote_AS_Number": r["Remote_AS"]})
    return rows


# -- question filters and answerers ------------------------------------------------------------------------------


def _node_filter(question: dict[str, Any], snapshot: SnapshotState, name: str) -> set[str] | None:
    """None when the question does not restrict this side (Batfish: AllNodesNodeSpecifier)."""
    spec = variable(question, name)
    if spec is None or (isinstance(spec, str) and spec.strip() in ("", ".*")):
        return None
    return node_set(question, name, snapshot)


def _filter(question: dict[str, Any], snapshot: SnapshotState, rows: list[Row], status_col: str,
            statuses: list[str]) -> list[Row]:
    local, remote = _node_filter(question, snapshot, "nodes"), _node_filter(question, snapshot, "remoteNodes")
    want_status = enum_param(question, "status", statuses)
    want_type = enum_param(question, "type", SESSION_TYPES)
    out = []
    for r in rows:
        if local is not None and r["Node"]["name"] not in local:
            continue
        if remote is not None and (r["Remote_Node"] is None or r["Remote_Node"]["name"] not in remote):
            continue
        if r["Session_Type"] in want_type and r[status_col] in want_status:
            out.append(r)
    return out


def _session_key(r: Row) -> tuple[Any, ...]:
    ip = (r["Remote_IP"] or {}).get("value")
    return (r["Node"]["name"], r["VRF"], int(ipaddress.ip_network(ip, strict=False).network_address) if ip else -1,
            (r["Local_Interface"] or {}).get("interface") or "")


@answerer("bgpsessionstatus.BgpSessionStatusQuestion")
def bgp_session_status(question: dict[str, Any], snapshot: SnapshotState,
                       reference: SnapshotState | None) -> dict[str, Any]:
    snapshot.tables()  # a snapshot without a data plane cannot say what came up
    rows = sorted(_filter(question, snapshot, status_rows(snapshot), "Established_Status", SESSION_STATUSES),
                  key=_session_key)
    return tbl.answer(question, tbl.table(STATUS_COLUMNS, rows,
                                          "On ${Node} session ${VRF}:${Remote_IP} has status ${Established_Status}."))


@answerer("bgpsessionstatus.BgpSessionCompatibilityQuestion")
def bgp_session_compatibility(question: dict[str, Any], snapshot: SnapshotState,
                              reference: SnapshotState | None) -> dict[str, Any]:
    rows = sorted(_filter(question, snapshot, compatibility_rows(snapshot), "Configured_Status",
                          CONFIGURED_STATUSES), key=_session_key)
    return tbl.answer(question, tbl.table(
        COMPAT_COLUMNS, rows, "On ${Node} session ${VRF}:${Remote_IP} has configured status ${Configured_Status}."))


@answerer("edges.EdgesQuestion", "bgp")
def bgp_edges(question: dict[str, Any], snapshot: SnapshotState, reference: SnapshotState | None) -> dict[str, Any]:
    snapshot.tables()
    local, remote = _node_filter(question, snapshot, "nodes"), _node_filter(question, snapshot, "remoteNodes")
    rows = [r for r in edge_rows(snapshot) if (local is None or r["Node"]["name"] in local)
            and (remote is None or r["Remote_Node"]["name"] in remote)]
    rows.sort(key=lambda r: (r["Node"]["name"], r["IP"] or "", r["Remote_Node"]["name"], r["Remote_IP"] or ""))
    return tbl.answer(question, tbl.table(EDGE_COLUMNS, rows, "Display Edges"))
