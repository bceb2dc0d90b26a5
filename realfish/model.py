"""The vendor-neutral device model: what every parser produces and what the FRR renderer consumes.

One `Device` per node of the snapshot, named as Batfish names it (the hostname, lower-cased). Everything keeps
the user's own names (interface `GigabitEthernet0/0`, route-map `as1_to_as2`): the renderer picks Linux-safe
names where it must and keeps a map back.

Parsers fill in what they understood and record, per line, what they did not (`realfish.status`). Vendor
defaults that differ from FRR's are explicit fields here (`BgpProcess.ebgp_requires_policy`, distances,
`default_local_pref`, ...), set by each parser to what the vendor does, so the renderer never guesses.

Behaviour FRR does not have stays in the model for the answerers (traceroute): interface ACLs
(`DeviceInterface.acl_in`/`acl_out` naming `Device.acls`), and a host's iptables rules (`Device.iptables`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Formats whose FRR config runs as written (Device.frr_passthrough)
FRR_FORMATS = ("FRR", "CUMULUS_CONCATENATED", "SONIC")

InterfaceKind = Literal["physical", "loopback", "subinterface", "vlan", "aggregate", "tunnel", "null", "other"]


@dataclass
class DeviceInterface:
    """An interface as the device's config declares it, by the user's name; the Linux interface a router runs
    with is `realfish.topology.Interface`."""

    name: str  # the user's name, e.g. GigabitEthernet0/0.100
    kind: InterfaceKind = "physical"
    addresses: list[IPInterface] = field(default_factory=list)  # primary first, then secondaries
    shutdown: bool = False
    mtu: int | None = None  # None: the vendor default (1500)
    vrf: str | None = None
    description: str = ""
    encapsulation_vlan: int | None = None  # subinterfaces: dot1q tag
    switchport: bool = False  # layer-2 port: no IP, not routed
    bandwidth_kbps: int | None = None
    speed_kbps: int | None = None  # `speed` as configured: the bandwidth unless `bandwidth` says otherwise
    speed: str | None = None  # the `speed` line's setting as written, lower-case ("100", "auto"); None: no line
    proxy_arp: bool | None = None  # `[no] ip proxy-arp`; None: the vendor's default
    portfast: bool = False  # `spanning-tree portfast` (not `... disable`)
    unread: set[str] = field(default_factory=set)  # properties its lines set that the model lacks (parsers.unread)
    acl_in: str | None = None  # names in Device.acls; modelled by the answerers (FRR has no interface ACLs)
    acl_out: str | None = None
    ospf_area: str | None = None  # dotted area id, from an interface-level area statement
    ospf_cost: int | None = None
    ospf_passive: bool | None = None  # None: the process default decides
    ospf_network_type: str | None = None  # point-to-point, broadcast, ...
    ospf_hello: int | None = None
    ospf_dead: int | None = None
    ospf_priority: int | None = None
    # OSPF authentication as configured on the interface: "null", "simple", "message-digest" (None: the area's)
    ospf_auth: str | None = None
    ospf_auth_key: str | None = None  # simple password
    ospf_md5_keys: dict[int, str] = field(default_factory=dict)  # key id -> key, in configuration order
    ospf_auth_lines: list[int] = field(default_factory=list)  # where they are written
    line: int | None = None  # where it is defined

    @property
    def loopback(self) -> bool:
        return self.kind == "loopback"


@dataclass
class StaticRoute:
    prefix: IPNetwork
    next_hop: IPAddress | None = None
    interface: str | None = None  # user's interface name, or "Null0" for a discard route
    distance: int = 1
    tag: int | None = None
    vrf: str | None = None
    line: int | None = None

    @property
    def discard(self) -> bool:
        return self.interface is not None and self.interface.lower().startswith("null")


@dataclass
class Redistribution:
    protocol: str  # connected, static, ospf, bgp, rip, isis, kernel
    route_map: str | None = None
    metric: int | None = None
    metric_type: int | None = None  # OSPF external type 1/2
    subnets: bool = True  # IOS OSPF without `subnets` only redistributes classful networks
    line: int | None = None


@dataclass
class OspfArea:
    area: str  # dotted
    stub: bool = False
    no_summary: bool = False
    nssa: bool = False
    ranges: list[tuple[IPNetwork, bool]] = field(default_factory=list)  # (prefix, advertise)
    authentication: str | None = None  # "simple" or "message-digest": the default of its interfaces
    authentication_line: int | None = None


@dataclass
class OspfProcess:
    process_id: str = "1"
    router_id: str | None = None
    vrf: str | None = None
    networks: list[tuple[ipaddress.IPv4Network, str]] = field(default_factory=list)  # (prefix, dotted area)
    # non-contiguous wildcards (IOS): (address, wildcard, dotted area); matched per interface by the renderer
    wildcard_networks: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address, str]] = field(default_factory=list)
    areas: dict[str, OspfArea] = field(default_factory=dict)
    passive_default: bool = False
    passive: set[str] = field(default_factory=set)  # interface names (user's)
    non_passive: set[str] = field(default_factory=set)
    redistribute: list[Redistribution] = field(default_factory=list)
    default_originate: bool = False
    default_originate_always: bool = False
    default_originate_metric: int | None = None
    default_originate_metric_type: int | None = None
    reference_bandwidth_mbps: int | None = None  # None: vendor default (IOS/EOS/FRR: 100)
    maximum_paths: int | None = None
    distance: int | None = None
    auto_cost_vendor_default: int = 100
    log_adjacency_changes: bool = False
    line: int | None = None


@dataclass
class BgpPeer:
    """A neighbor (by address) or a peer-group (by name): same settings, `None` = not set here."""

    key: str  # IP address text, the peer-group name, or (unnumbered) the user's interface name
    is_group: bool = False
    interface: bool = False  # BGP unnumbered: `neighbor IFACE interface`, a session over IPv6 link-local
    remote_as: str | None = None  # number text, or "external"/"internal" (FRR)
    peer_group: str | None = None
    description: str | None = None
    update_source: str | None = None  # interface name (user's) or IP
    ebgp_multihop: int | None = None
    next_hop_self: bool | None = None
    route_reflector_client: bool | None = None
    send_community: bool | None = None
    send_community_extended: bool | None = None
    remove_private_as: bool | None = None
    allowas_in: int | None = None
    route_map_in: str | None = None
    route_map_out: str | None = None
    prefix_list_in: str | None = None
    prefix_list_out: str | None = None
    filter_list_in: str | None = None
    filter_list_out: str | None = None
    password: str | None = None
    keepalive: int | None = None
    holdtime: int | None = None
    shutdown: bool | None = None
    activate: bool | None = None  # IPv4 unicast; None: the process default (bgp default ipv4-unicast)
    activate6: bool | None = None  # IPv6 unicast (`address-family ipv6` / `neighbor X activate`); None: not active
    default_originate: bool | None = None
    soft_reconfiguration: bool | None = None
    weight: int | None = None
    local_as: str | None = None
    maximum_prefix: int | None = None
    advertisement_interval: int | None = None
    addpath_tx_all_paths: bool | None = None
    line: int | None = None


@dataclass
class BgpNetwork:
    prefix: IPNetwork
    route_map: str | None = None
    line: int | None = None


@dataclass
class BgpAggregate:
    prefix: IPNetwork
    summary_only: bool = False
    as_set: bool = False
    line: int | None = None


@dataclass
class BgpListenRange:
    """Dynamic neighbors (`bgp listen range PREFIX peer-group NAME`): sessions the router accepts from any
    address in the prefix, with the group's settings; it never opens them itself."""

    prefix: IPNetwork
    group: str
    line: int | None = None


@dataclass
class BgpProcess:
    asn: str
    router_id: str | None = None
    vrf: str | None = None
    peers: dict[str, BgpPeer] = field(default_factory=dict)  # neighbors by address text
    groups: dict[str, BgpPeer] = field(default_factory=dict)  # peer-groups by name
    networks: list[BgpNetwork] = field(default_factory=list)
    networks6: list[BgpNetwork] = field(default_factory=list)  # `address-family ipv6`'s network statements
    aggregates: list[BgpAggregate] = field(default_factory=list)
    listen_ranges: list[BgpListenRange] = field(default_factory=list)
    listen_limit: int | None = None
    redistribute: list[Redistribution] = field(default_factory=list)
    redistribute6: list[Redistribution] = field(default_factory=list)  # `address-family ipv6`'s (no route-map)
    maximum_paths_ebgp: int | None = None
    maximum_paths_ibgp: int | None = None
    keepalive: int | None = None
    holdtime: int | None = None
    default_local_pref: int | None = None
    distance_ebgp: int | None = None  # None: vendor default == FRR's (20/200/200)
    distance_ibgp: int | None = None
    distance_local: int | None = None
    multipath_relax: bool = False
    always_compare_med: bool = False
    deterministic_med: bool | None = None
    compare_router_id: bool = False
    log_neighbor_changes: bool | None = None
    default_ipv4_unicast: bool = True  # neighbors are active in IPv4 unicast unless told otherwise
    # ...IPv6 neighbors too (IOS); EOS activates IPv4 unicast for IPv6-transport neighbors only if told to
    default_ipv4_unicast_v6_transport: bool = True
    ebgp_requires_policy: bool = False  # FRR's own default is True; vendors (IOS, EOS) do not require policy
    synchronization: bool = False
    dampening: bool = False
    cluster_id: str | None = None
    line: int | None = None

    def ipv4_active(self, peer: BgpPeer) -> bool:
        """Is the neighbor active in IPv4 unicast: as set, else the process default for its transport."""
        act = self.peer_setting(peer, "activate")
        if act is not None:
            return bool(act)
        v6_transport = ":" in peer.key or peer.interface  # an interface peer's session is IPv6 link-local
        return self.default_ipv4_unicast and (self.default_ipv4_unicast_v6_transport or not v6_transport)

    def peer_setting(self, peer: BgpPeer, attr: str) -> object:
        """A neighbor's effective setting: its own, else its peer-group's."""
        own = getattr(peer, attr)
        if own is not None or peer.peer_group is None:
            return own
        group = self.groups.get(peer.peer_group)
        return getattr(group, attr) if group is not None else None


@dataclass
class PrefixListEntry:
    seq: int
    action: Literal["permit", "deny"]
    prefix: IPNetwork
    ge: int | None = None
    le: int | None = None
    line: int | None = None


@dataclass
class PrefixList:
    name: str
    ipv6: bool = False
    entries: list[PrefixListEntry] = field(default_factory=list)


@dataclass
class CommunityListEntry:
    action: Literal["permit", "deny"]
    values: str  # standard: space-separated communities; expanded: one regex
    line: int | None = None


@dataclass
class CommunityList:
    name: str
    expanded: bool = False
    entries: list[CommunityListEntry] = field(default_factory=list)


@dataclass
class AsPathListEntry:
    action: Literal["permit", "deny"]
    regex: str
    line: int | None = None


@dataclass
class AsPathList:
    name: str
    entries: list[AsPathListEntry] = field(default_factory=list)


@dataclass
class RouteMapMatch:
    """kind: prefix-list, acl (an ACL used as a route filter), community, as-path, tag, metric, interface,
    next-hop-prefix-list, source-protocol. `args` are names or values."""

    kind: str
    args: list[str]
    line: int | None = None


@dataclass
class RouteMapSet:
    """kind: local-preference, metric, weight, community (args + optional 'additive'), community-none,
    as-path-prepend, origin, next-hop, tag, comm-list-delete, metric-type."""

    kind: str
    args: list[str]
    line: int | None = None


@dataclass
class RouteMapClause:
    seq: int
    action: Literal["permit", "deny"]
    matches: list[RouteMapMatch] = field(default_factory=list)
    sets: list[RouteMapSet] = field(default_factory=list)
    continue_to: int | None = None  # `continue` with no target: the next clause (-1)
    description: str = ""
    line: int | None = None


@dataclass
class RouteMap:
    name: str
    clauses: list[RouteMapClause] = field(default_factory=list)

    def clause(self, seq: int, action: Literal["permit", "deny"], line: int | None) -> RouteMapClause:
        for c in self.clauses:
            if c.seq == seq:
                c.action = action
                return c
        c = RouteMapClause(seq, action, line=line)
        self.clauses.append(c)
        self.clauses.sort(key=lambda x: x.seq)
        return c


@dataclass
class AclLine:
    """One ACL entry. Addresses as (network) with wildcard semantics already turned into prefixes where they
    are contiguous; `src`/`dst` None = any. Non-contiguous wildcards keep the (address, wildcard) text."""

    action: Literal["permit", "deny"]
    protocol: str = "ip"  # ip, tcp, udp, icmp, or a number
    src: str = "any"  # "any", "A.B.C.D/P", or "A.B.C.D WILDCARD" when not contiguous
    dst: str = "any"
    src_ports: str = ""  # e.g. "eq 22", "range 1000 2000"
    dst_ports: str = ""
    flags: str = ""  # established, log, icmp type, ...
    text: str = ""  # the original line
    name: str = ""  # Batfish's name for it: the line as written, after `access-list NAME` when numbered
    line: int | None = None


@dataclass
class Acl:
    name: str
    kind: Literal["standard", "extended"] = "extended"
    ipv6: bool = False
    lines: list[AclLine] = field(default_factory=list)


@dataclass
class IptablesRule:
    table: str
    chain: str
    text: str  # the rule as written, e.g. "-A INPUT -p tcp --dport 22 -j ACCEPT"
    line: int | None = None


@dataclass
class StructureDefinition:
    """A named structure as Batfish's definedStructures lists it: its vendor type (`extended ipv4
    access-list`, `route-map`, ...), name and every line that defines it."""

    type: str
    name: str
    lines: list[int] = field(default_factory=list)


@dataclass
class StructureReference:
    """A use of a named structure: the type it must have, its name, the usage (Batfish's words, e.g.
    `interface outgoing ip access-list`) and the line."""

    type: str
    name: str
    usage: str
    line: int


@dataclass
class Device:
    hostname: str  # as Batfish reports it: lower case
    format: str  # Batfish's ConfigurationFormat name (CISCO_IOS, ARISTA, CUMULUS_CONCATENATED, ..., HOST)
    source: str  # file (relative to the snapshot root) that defined it
    kind: Literal["router", "host"] = "router"
    original_hostname: str = ""  # as written in the config
    interfaces: dict[str, DeviceInterface] = field(default_factory=dict)
    vrfs: set[str] = field(default_factory=set)
    static_routes: list[StaticRoute] = field(default_factory=list)
    ospf: list[OspfProcess] = field(default_factory=list)
    bgp: BgpProcess | None = None
    prefix_lists: dict[str, PrefixList] = field(default_factory=dict)
    community_lists: dict[str, CommunityList] = field(default_factory=dict)
    as_path_lists: dict[str, AsPathList] = field(default_factory=dict)
    route_maps: dict[str, RouteMap] = field(default_factory=dict)
    acls: dict[str, Acl] = field(default_factory=dict)
    iptables: list[IptablesRule] = field(default_factory=list)
    iptables_file: str | None = None
    default_gateway: IPAddress | None = None  # hosts
    ip_routing: bool = True  # `no ip routing` (EOS) makes the device a host
    domain_name: str | None = None
    # nodeProperties its lines set that the model lacks, and RIP, Bandwidth (realfish.parsers.unread)
    unread: set[str] = field(default_factory=set)
    frr_passthrough: str | None = None  # FRR-family sources: their frr.conf text, run as written
    frr_passthrough_file: str | None = None  # the file it is in, and its first line there
    frr_passthrough_line: int = 1
    # named structures and their uses, as the parser met them (definedStructures, undefinedReferences)
    definitions: list[StructureDefinition] = field(default_factory=list)
    references: list[StructureReference] = field(default_factory=list)

    def interface(self, name: str, line: int | None = None, kind: InterfaceKind | None = None) -> DeviceInterface:
        iface = self.interfaces.get(name)
        if iface is None:
            iface = DeviceInterface(name, kind=kind or guess_kind(name), line=line)
            self.interfaces[name] = iface
        return iface

    def find_interface(self, name: str) -> DeviceInterface | None:
        """Case-insensitive, abbreviation-tolerant lookup (`Lo0`, `loopback0`, `gi0/0` as IOS accepts)."""
        if name in self.interfaces:
            return self.interfaces[name]
        want = canonical_ifname(name).lower()
        for iface in self.interfaces.values():
            if iface.name.lower() == want:
                return iface
        return None


# -- interface names -----------------------------------------------------------------------------------------

_IF_PREFIXES = [  # (canonical, abbreviations accepted by IOS/EOS)
    ("GigabitEthernet", ("gi", "gig", "gigabitethernet", "ge")),
    ("TenGigabitEthernet", ("te", "ten", "tengigabitethernet", "tengig")),
    ("FastEthernet", ("fa", "fastethernet")),
    ("Ethernet", ("e", "et", "eth", "ethernet")),
    ("Loopback", ("lo", "loop", "loopback")),
    ("Port-channel", ("po", "port-channel", "portchannel")),
    ("Vlan", ("vl", "vlan")),
    ("Tunnel", ("tu", "tunnel")),
    ("Management", ("ma", "mgmt", "management")),
    ("Null", ("nu", "null")),
]


def canonical_ifname(name: str) -> str:
    """Expand an IOS/EOS abbreviation (`Gi0/0` -> `GigabitEthernet0/0`); other names are returned unchanged."""
    i = 0
    while i < len(name) and (name[i].isalpha() or name[i] == "-"):
        i += 1
    head, rest = name[:i], name[i:]
    if not rest or not (rest[0].isdigit()):
        return name
    low = head.lower()
    for canon, abbrevs in _IF_PREFIXES:
        if low == canon.lower() or low in abbrevs:
            return canon + rest
    return name


def guess_kind(name: str) -> InterfaceKind:
    low = name.lower()
    if low in ("lo",) or low.startswith("loopback"):
        return "loopback"
    if low.startswith("null"):
        return "null"
    if low.startswith("vlan") and "." not in low:
        return "vlan"
    if low.startswith(("port-channel", "portchannel", "bond")):
        return "aggregate" if "." not in low else "subinterface"
    if low.startswith("tunnel"):
        return "tunnel"
    if "." in low:
        return "subinterface"
    return "physical"
