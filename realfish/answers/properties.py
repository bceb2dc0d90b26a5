"""Configuration questions: fileParseStatus, initIssues, ipOwners, nodeProperties, interfaceProperties and
layer3Edges, answered from the parsed configs (`realfish.model`, `realfish.status`) and, for whether an
interface is up, from the routers' own interface table (zebra's `show interface`).

Values follow Batfish's vendor-independent model: its defaults per vendor where the config says nothing
(IOS bandwidth and speed by interface name, proxy-ARP on for IOS, `PERMIT` default actions, the `default`
VRF), its names (`filter::INPUT` for a host's iptables chains), its sorting (properties in Java string order).

What the device model does not carry is never guessed. A set-valued property the model lacks (NTP, DNS,
logging, SNMP-trap and TACACS servers, key chains, IKE/IPsec, PBR policies, zones; an interface's HSRP/VRRP
groups, DHCP relays) is `[]` when the config has no line that would set it, and null (unknown) when it does:
the model names such properties in `Device.unread` and `DeviceInterface.unread` (`realfish.parsers.unread`).
String-valued ones (source interfaces, channel group, PBR policy name) are always null, which is also Batfish's
value when they are not configured; the domain name is the IOS `ip domain name`. Blacklisted is
false on physical ports and null on the others, as Batfish gives it (realfish's deactivated interfaces read as
administratively down). Switchport details (mode, VLANs) are null on switchports.
An interface's `speed`, `[no] ip proxy-arp` and `spanning-tree portfast` come from the model; a speed setting
other than IOS's `speed N` (Mb/s) or `auto` leaves Speed (and a default Bandwidth) unknown.

Where realfish differs from Batfish by design: Routing_Policies lists the user's route-maps only (Batfish adds
its generated `~BGP_...~`/`~OSPF_EXPORT_POLICY~` policies); a deactivated interface (node_blacklist,
interface_blacklist, runtime lineUp false) reads as administratively down, because the model keeps one
`shutdown` flag for all of them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from realfish import explore
from realfish.answers import UnsupportedQuestion, answerer, flag, node_set, property_columns, variable
from realfish.answers import table as tbl
from realfish.answers.specifiers import SpecifierError, interfaces
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column, columns_by_name
from realfish.model import Device, DeviceInterface
from realfish.parsers import unread
from realfish.status import file_parse_status_rows, init_issues_rows

Row = dict[str, Any]


def _v4(iface: DeviceInterface) -> list[ipaddress.IPv4Interface]:
    return [a for a in iface.addresses if isinstance(a, ipaddress.IPv4Interface)]


def _vrf(iface: DeviceInterface) -> str:
    return iface.vrf or "default"


# -- fileParseStatus, initIssues ----------------------------------------------------------------------------

FILE_PARSE_COLUMNS = [
    Column("File_Name", "String", "The file that was parsed", key=True, value=False),
    Column("Status", "String", "The status of the parsing operation"),
    Column("File_Format", "String", "The detected format of the file"),
    Column("Nodes", "List<Node>", "Names of nodes produced from this file"),
]

INIT_ISSUES_COLUMNS = [
    Column("Nodes", "List<String>", "The nodes that were converted (if applicable)", key=True, value=False),
    Column("Source_Lines", "List<FileLines>", "The files and lines that caused the issues (if applicable)",
           key=True, value=False),
    Column("Type", "String", "The type of issues identified", key=True, value=False),
    Column("Details", "String", "Details about the issues identified"),
    Column("Line_Text", "String", "The text of the input files that caused the issues (if applicable)"),
    Column("Parser_Context", "String", "Batfish parser state when issues were encountered (if applicable)"),
]


@answerer("initialization.FileParseStatusQuestion")
def file_parse_status(question: dict[str, Any], snapshot: SnapshotState,
                      reference: SnapshotState | None) -> dict[str, Any]:
    rows = file_parse_status_rows(snapshot.conv.statuses)
    return tbl.answer(question, tbl.table(FILE_PARSE_COLUMNS, rows, "File ${File_Name} detected as format "
                                          "${File_Format} and parsed with status ${Status} and produced nodes "
                                          "${Nodes}"))


@answerer("initialization.InitIssuesQuestion")
def init_issues(question: dict[str, Any], snapshot: SnapshotState,
                reference: SnapshotState | None) -> dict[str, Any]:
    # The other inputs (runtime data, layer-1 topology, blacklists) have issues too, as Batfish reports them.
    rows = init_issues_rows(snapshot.conv.statuses + snapshot.conv.other)
    # and what went wrong in the run: the network did not converge as configured (a daemon died, the limit)
    dp = snapshot.dataplane
    for f in dp.failures if dp is not None else []:
        rows.append({"Nodes": [f["router"]] if f.get("router") else None, "Source_Lines": None,
                     "Type": "Convergence error", "Details": f["what"], "Line_Text": None, "Parser_Context": None})
    # and every FIB entry the snapshot's orders of events disagree on (batfish/realfish_settings.json's explore)
    ex = (dp.explore if dp is not None else None) or {}
    for v in ex.get("varying", []):
        rows.append({"Nodes": [v["router"]], "Source_Lines": None, "Type": explore.TIMING,
                     "Details": explore.issue_details(v, ex["orders"]), "Line_Text": None, "Parser_Context": None})
    return tbl.answer(question, tbl.table(INIT_ISSUES_COLUMNS, rows))


# -- whether an interface is up -----------------------------------------------------------------------------

ADMIN_DOWN = "Administratively down"
LINK_DOWN = "Operationally down on the running router"


def interface_state(snapshot: SnapshotState, node: str, iface: DeviceInterface) -> tuple[bool, str]:
    """(active, Batfish's Inactive_Reason or "") from the config and the router's own interface table.

    A shut interface runs in the emulation without addresses (zebra still calls it up), so the config decides
    that case; zebra can only add that an interface the config brings up is operationally down."""
    if iface.shutdown:
        return False, ADMIN_DOWN
    dp = snapshot.dataplane
    tables = dp.routers.get(node) if dp is not None else None
    if tables is not None:
        linux = next((k for k, v in tables.name_map.items() if v == iface.name), None)
        zebra = (tables.show.get("interfaces") or {}).get(linux or "")
        if isinstance(zebra, dict) and zebra.get("operationalStatus") not in (None, "up"):
            return False, LINK_DOWN
    return True, ""


# -- ipOwners -----------------------------------------------------------------------------------------------

IP_OWNERS_COLUMNS = [  # Batfish's 3-argument ColumnMetadata: every column is both key and value
    Column("Node", "Node", "Node hostname", key=True),
    Column("VRF", "String", "VRF name", key=True),
    Column("Interface", "String", "Interface name", key=True),
    Column("IP", "Ip", "IP address", key=True),
    Column("Mask", "Integer", "Network mask length", key=True),
    Column("Active", "Boolean", "Whether the interface is active", key=True),
]

_IP_TERM = re.compile(r"^(\d+\.\d+\.\d+\.\d+)(?:/(\d+)|\s*-\s*(\d+\.\d+\.\d+\.\d+)|:(\d+\.\d+\.\d+\.\d+))?$")


def ip_space(spec: Any) -> Callable[[ipaddress.IPv4Address], bool]:
    """ipSpaceSpec: comma-separated addresses, prefixes, ranges `a-b` and wildcards `ip:wildcard`, with `\\`
    for "but not" (`1.0.0.0/8 \\ 1.1.1.1`). None or "" is every address."""
    if spec is None or not str(spec).strip():
        return lambda _ip: True

    def terms(text: str) -> list[tuple[int, int, int]]:
        """(low, high, care mask): an address matches when low <= address & care <= high."""
        out = []
        for raw in (t.strip() for t in text.split(",")):
            if not raw:
                continue
            m = _IP_TERM.match(raw)
            if m is None:
                raise UnsupportedQuestion(f"ips: {raw!r} is not an address, prefix, range or wildcard "
                                          "(location specifiers are not supported)")
            base = int(ipaddress.IPv4Address(m.group(1)))
            if m.group(2) is not None:
                net = ipaddress.IPv4Network(f"{m.group(1)}/{m.group(2)}", strict=False)
                out.append((int(net.network_address), int(net.broadcast_address), 0xFFFFFFFF))
            elif m.group(3) is not None:
                out.append((base, int(ipaddress.IPv4Address(m.group(3))), 0xFFFFFFFF))
            elif m.group(4) is not None:
                care = ~int(ipaddress.IPv4Address(m.group(4))) & 0xFFFFFFFF
                out.append((base & care, base & care, care))
            else:
                out.append((base, base, 0xFFFFFFFF))
        return out

    def hit(ip: ipaddress.IPv4Address, ts: list[tuple[int, int, int]]) -> bool:
        return any(lo <= int(ip) & care <= hi for lo, hi, care in ts)

    include, _, exclude = str(spec).partition("\\")
    inc, exc = terms(include), terms(exclude)
    return lambda ip: hit(ip, inc) and not hit(ip, exc)


def ip_owners_rows(snapshot: SnapshotState, duplicates_only: bool = False,
                   wanted: Callable[[ipaddress.IPv4Address], bool] = lambda _ip: True) -> list[Row]:
    """Every IPv4 address of every interface, shut or not (Batfish's IpOwnersAnswerer). An address is a
    duplicate when interfaces of more than one node own it."""
    owners: dict[ipaddress.IPv4Address, set[str]] = {}
    for name, dev in snapshot.devices.items():
        for iface in dev.interfaces.values():
            for a in _v4(iface):
                owners.setdefault(a.ip, set()).add(name)
    rows: list[Row] = []
    for name, dev in snapshot.devices.items():
        for iface in dev.interfaces.values():
            active = interface_state(snapshot, name, iface)[0]
            for a in _v4(iface):
                if (duplicates_only and len(owners[a.ip]) < 2) or not wanted(a.ip):
                    continue
                rows.append({"Node": tbl.node(name), "VRF": _vrf(iface), "Interface": iface.name,
                             "IP": str(a.ip), "Mask": a.network.prefixlen, "Active": active})
    rows.sort(key=lambda r: (r["Node"]["name"], r["VRF"], r["Interface"], ipaddress.IPv4Address(r["IP"])))
    return rows


@answerer("ipowners.IpOwnersQuestion")
def ip_owners(question: dict[str, Any], snapshot: SnapshotState, reference: SnapshotState | None) -> dict[str, Any]:
    rows = ip_owners_rows(snapshot, flag(question, "duplicatesOnly"), ip_space(variable(question, "ips")))
    return tbl.answer(question, tbl.table(IP_OWNERS_COLUMNS, rows,
                                          "On node ${Node} in VRF ${VRF}, interface ${Interface} has IP ${IP}."))


# -- layer3Edges --------------------------------------------------------------------------------------------

LAYER3_COLUMNS = [
    Column("Interface", "Interface", "Interface from which the edge originates", key=True, value=False),
    Column("IPs", "Set<Ip>", "IPs"),
    Column("Remote_Interface", "Interface", "Interface at which the edge terminates", key=True, value=False),
    Column("Remote_IPs", "Set<Ip>", "Remote IPs"),
]


def _ips(snapshot: SnapshotState, node: str, name: str) -> list[str]:
    iface = snapshot.devices[node].interfaces.get(name)
    return [str(a.ip) for a in sorted(_v4(iface), key=lambda a: a.ip)] if iface else []


def layer3_rows(snapshot: SnapshotState, node_set: set[str] | None = None,
                remote_set: set[str] | None = None) -> list[Row]:
    """Batfish's layer-3 topology (realfish.convert: shared subnets, or the layer-1 file), both directions."""
    return [{"Interface": tbl.interface(n1, i1), "IPs": _ips(snapshot, n1, i1),
             "Remote_Interface": tbl.interface(n2, i2), "Remote_IPs": _ips(snapshot, n2, i2)}
            for n1, i1, n2, i2 in sorted(snapshot.conv.edges)
            if (node_set is None or n1 in node_set) and (remote_set is None or n2 in remote_set)]


@answerer("edges.EdgesQuestion", "layer3")
def layer3_edges(question: dict[str, Any], snapshot: SnapshotState,
                 reference: SnapshotState | None) -> dict[str, Any]:
    rows = layer3_rows(snapshot, node_set(question, "nodes", snapshot), node_set(question, "remoteNodes", snapshot))
    return tbl.answer(question, tbl.table(LAYER3_COLUMNS, rows, "Display Edges"))


# -- nodeProperties -----------------------------------------------------------------------------------------

_NODE_PROPERTIES = columns_by_name(  # name -> (schema, Batfish's description)
    Column("AS_Path_Access_Lists", "Set<String>", "Names of AS path access lists"),
    Column("Authentication_Key_Chains", "Set<String>", "Names of authentication keychains"),
    Column("Community_Match_Exprs", "Set<String>", "Names of expressions for matching a community"),
    Column("Community_Set_Exprs", "Set<String>", "Names of expressions representing a community-set"),
    Column("Community_Set_Match_Exprs", "Set<String>", "Names of expressions for matching a ommunity-set"),
    Column("Community_Sets", "Set<String>", "Names of community-sets"),
    Column("Configuration_Format", "String", "Configuration format of the node"),
    Column("DNS_Servers", "Set<String>", "Configured DNS servers"),
    Column("DNS_Source_Interface", "String", "Source interface to use for communicating with DNS servers"),
    Column("Default_Cross_Zone_Action", "String", "Default action (PERMIT, DENY) for traffic that traverses firewall "
                                                  "zones (null for non-firewall nodes)"),
    Column("Default_Inbound_Action", "String", "Default action (PERMIT, DENY) for traffic destined for this node"),
    Column("Domain_Name", "String", "Domain name of the node"),
    Column("Hostname", "String", "Hostname of the node"),
    Column("IKE_Phase1_Keys", "Set<String>", "Names of IKE Phase 1 keys"),
    Column("IKE_Phase1_Policies", "Set<String>", "Names of IKE Phase 1 policies"),
    Column("IKE_Phase1_Proposals", "Set<String>", "Names of IKE Phase 1 proposals"),
    Column("IP6_Access_Lists", "Set<String>", "(Deprecated) Names of IPv6 filters (ACLs, firewall rule sets)"),
    Column("IP_Access_Lists", "Set<String>", "Names of IPv4 filters (ACLs, firewall rule sets)"),
    Column("IPsec_Peer_Configs", "Set<String>", "Names of IPSec peers"),
    Column("IPsec_Phase2_Policies", "Set<String>", "Names of IPSec Phase 2 policies"),
    Column("IPsec_Phase2_Proposals", "Set<String>", "Names of IPSec Phase 2 proposals"),
    Column("Interfaces", "Set<String>", "Names of interfaces"),
    Column("Logging_Servers", "Set<String>", "Configured logging servers"),
    Column("Logging_Source_Interface", "String", "Source interface for communicating with logging servers"),
    Column("NTP_Servers", "Set<String>", "Configured NTP servers"),
    Column("NTP_Source_Interface", "String", "Source interface for communicating with NTP servers"),
    Column("PBR_Policies", "Set<String>", "Names of policy-based routing (PBR) policies"),
    Column("Route6_Filter_Lists", "Set<String>", "(Deprecated) Names of structures that filter IPv6 routes (e.g., "
                                                 "prefix lists)"),
    Column("Route_Filter_Lists", "Set<String>", "Names of structures that filter IPv4 routes (e.g., prefix lists)"),
    Column("Routing_Policies", "Set<String>", "Names of policies that manipulate routes (e.g., route maps)"),
    Column("SNMP_Source_Interface", "String", "Source interface to use for communicating with SNMP servers"),
    Column("SNMP_Trap_Servers", "Set<String>", "Configured SNMP trap servers"),
    Column("TACACS_Servers", "Set<String>", "Configured TACACS servers"),
    Column("TACACS_Source_Interface", "String", "Source interface to use for communicating with TACACS servers"),
    Column("VRFs", "Set<String>", "Names of VRFs present on the node"),
    Column("Zones", "Set<String>", "Names of firewall zones on the node"),
)


def _host_acls(dev: Device) -> list[str]:
    """A host's iptables chains as Batfish names its filters (`table::CHAIN`)."""
    return sorted({f"{r.table}::{r.chain}" for r in dev.iptables})


def node_properties(snapshot: SnapshotState, name: str) -> Row:
    """Every nodeProperties value of one node (all 36 properties)."""
    dev = snapshot.devices[name]
    # IOS (and EOS, FRR) community lists are both match expressions (route-map match community) and set match
    # expressions (comm-list delete) in Batfish; no named community *sets* come from these vendors.
    communities = sorted(dev.community_lists)
    # ACLs used as route filters (route-map `match ip address ACL`) are route filter lists too (Batfish's
    # isAclUsedForRouting), next to the IPv4 prefix lists.
    acl_filters = {a for rm in dev.route_maps.values() for c in rm.clauses for m in c.matches if m.kind == "acl"
                   for a in m.args if a in dev.acls}
    row: Row = {
        "AS_Path_Access_Lists": sorted(dev.as_path_lists),
        "Community_Match_Exprs": communities,
        "Community_Set_Exprs": [],
        "Community_Set_Match_Exprs": communities,
        "Community_Sets": [],
        "Configuration_Format": dev.format,
        "Default_Cross_Zone_Action": "PERMIT",
        "Default_Inbound_Action": "PERMIT",
        "Hostname": dev.hostname,
        "IP6_Access_Lists": [],  # deprecated in Batfish: always empty
        "IP_Access_Lists": _host_acls(dev) if dev.kind == "host" else sorted(
            n for n, a in dev.acls.items() if not a.ipv6),
        "Interfaces": sorted(dev.interfaces),
        "Route6_Filter_Lists": [],  # deprecated in Batfish: always empty
        "Route_Filter_Lists": sorted({n for n, p in dev.prefix_lists.items() if not p.ipv6} | acl_filters),
        "Routing_Policies": sorted(dev.route_maps),
        "VRFs": sorted({"default"} | dev.vrfs),
    }
    for prop in unread.NODE:
        row[prop] = None if prop in dev.unread else []
    for prop in ("DNS_Source_Interface", "Logging_Source_Interface", "NTP_Source_Interface",
                 "SNMP_Source_Interface", "TACACS_Source_Interface"):
        row[prop] = None
    row["Domain_Name"] = dev.domain_name
    return row


@answerer("nodeproperties.NodePropertiesQuestion")
def node_properties_answer(question: dict[str, Any], snapshot: SnapshotState,
                           reference: SnapshotState | None) -> dict[str, Any]:
    columns = [Column("Node", "Node", "Node", key=True, value=False), *property_columns(question, _NODE_PROPERTIES)]
    props = [c.name for c in columns[1:]]

    rows = []
    for name in sorted(node_set(question, "nodes", snapshot)):
        values = node_properties(snapshot, name)
        rows.append({"Node": tbl.node(name), **{p: values[p] for p in props}})
    return tbl.answer(question, tbl.table(columns, rows, "Properties of node ${Node}."))


# -- interfaceProperties ------------------------------------------------------------------------------------

_IFACE_PROPERTIES = columns_by_name(
    Column("Access_VLAN", "Integer", "VLAN number when the switchport mode is access (null otherwise)"),
    Column("Active", "Boolean", "Whether the interface is active"),
    Column("Admin_Up", "Boolean", "Whether the interface is administratively enabled"),
    Column("All_Prefixes", "List<String>", "All IPv4 addresses assigned to the interface"),
    Column("Allowed_VLANs", "String", "Allowed VLAN numbers when the switchport mode is trunk"),
    Column("Auto_State_VLAN", "Boolean", "For VLAN interfaces, whether the operational status depends on member "
                                         "switchports"),
    Column("Bandwidth", "Double", "Nominal bandwidth in bits/sec, used for protocol cost calculations"),
    Column("Blacklisted", "Boolean", "Whether the interface is considered down for maintenance"),
    Column("Channel_Group", "String", "Name of the aggregated interface (e.g., a port channel) to which this interface "
                                      "belongs"),
    Column("Channel_Group_Members", "List<String>", "For aggregated interfaces (e.g., a port channel), names of "
                                                    "constituent interfaces"),
    Column("DHCP_Relay_Addresses", "List<Ip>", "IPv4 addresses to which incoming DHCP requests are relayed"),
    Column("Declared_Names", "List<String>", "Any aliases explicitly defined for this interface"),
    Column("Description", "String", "Configured interface description"),
    Column("Encapsulation_VLAN", "Integer", "Number for VLAN encapsulation"),
    Column("HSRP_Groups", "Set<String>", "HSRP group identifiers"),
    Column("HSRP_Version", "String", "HSRP version that will be used"),
    Column("Inactive_Reason", "String", "Reason why interface is inactive"),
    Column("Incoming_Filter_Name", "String", "Name of the input IPv4 filter"),
    Column("Interface_Type", "String", "Interface type"),
    Column("MLAG_ID", "Integer", "MLAG identifier of the interface"),
    Column("MTU", "Integer", "Layer3 MTU of the interface"),
    Column("Native_VLAN", "Integer", "Native VLAN when switchport mode is trunk"),
    Column("Outgoing_Filter_Name", "String", "Name of the output IPv4 filter"),
    Column("PBR_Policy_Name", "String", "Name of policy-based routing (PBR) policy"),
    Column("Primary_Address", "String", "Primary IPv4 address along with the prefix length"),
    Column("Primary_Network", "String", "Primary IPv4 subnet, in canonical form"),
    Column("Proxy_ARP", "Boolean", "Whether proxy ARP is enabled"),
    Column("Rip_Enabled", "Boolean", "Whether RIP is enabled"),
    Column("Rip_Passive", "Boolean", "Whether interface is in RIP passive mode"),
    Column("Spanning_Tree_Portfast", "Boolean", "Whether spanning-tree portfast feature is enabled"),
    Column("Speed", "Double", "Link speed in bits/sec"),
    Column("Switchport", "Boolean", "Whether the interface is configured as switchport"),
    Column("Switchport_Mode", "String", "Switchport mode (NONE, ACCESS, TRUNK, DYNAMIC_AUTO, DYNAMIC_DESIRABLE, "
                                        "FEX_FABRIC, TAP, TOOL, MONITOR) for switchport interfaces"),
    Column("Switchport_Trunk_Encapsulation", "String", "Encapsulation type (DOT1Q, ISL, NEGOTIATE) for switchport "
                                                       "trunk interfaces"),
    Column("VRF", "String", "Name of the VRF to which the interface belongs"),
    Column("VRRP_Groups", "List<Integer>", "All VRRP groups to which the interface belongs"),
    Column("Zone_Name", "String", "Name of the firewall zone to which the interface belongs"),
)

_INTERFACE_TYPE = {"physical": "PHYSICAL", "loopback": "LOOPBACK", "subinterface": "LOGICAL", "vlan": "VLAN",
                   "aggregate": "AGGREGATED", "tunnel": "TUNNEL", "null": "NULL", "other": "UNKNOWN"}

# Batfish's default link speeds by interface name (representation/cisco/DeviceInterface.getDefaultSpeed).
_IOS_SPEED = [("Ethernet", 1e7), ("FastEthernet", 100e6), ("FiftyGig", 50e9), ("FiveGigabit", 5e9),
              ("FortyGig", 40e9), ("GigabitEthernet", 1e9), ("HundredGig", 100e9), ("LongReachEthernet", 10e6),
              ("TenGigabitEthernet", 10e9), ("TwentyFiveGigE", 25e9), ("TwoGigabitEthernet", 2.5e9),
              ("Wlan-GigabitEthernet", 1e9)]
_FRR_FAMILY = ("FRR", "CUMULUS_CONCATENATED", "SONIC")


def _default_speed(dev: Device, name: str) -> float | None:
    if dev.format == "CISCO_IOS":
        return next((s for p, s in _IOS_SPEED if name.startswith(p)), None)
    if dev.format == "ARISTA":
        return 1e9 if name.startswith("Ethernet") else None
    return None


def _default_bandwidth(dev: Device, iface: DeviceInterface, speed: float | None) -> float | None:
    """Batfish's bandwidth when the config sets none: the speed, else a per-vendor default by name."""
    if speed is not None:
        return speed
    name = iface.name
    if dev.format == "HOST":
        return 1e9
    if dev.format in _FRR_FAMILY:
        return 8e9 if iface.loopback else 10e9  # Batfish's FrrConversions / CumulusConversions defaults
    if dev.format not in ("CISCO_IOS", "ARISTA"):
        return None  # no verified default for this vendor
    if name.startswith("Loopback"):
        return 8e9
    if name.lower().startswith("port-channel"):
        return None  # the sum of the members' bandwidths, which the model does not know
    if name.startswith("Vlan"):
        return 1e9
    if dev.format == "CISCO_IOS" and name.startswith("Tunnel"):
        return 100e3
    return 1e12


def host_filters(dev: Device) -> tuple[str | None, str | None]:
    """Batfish applies a host's filter::INPUT / filter::OUTPUT to its interfaces only when the other chains
    are simple: no dropping rule or policy and no rule that matches anything (HostConfiguration.simple())."""
    chains = {f"{r.table}::{r.chain}" for r in dev.iptables}
    complex_chains = {"raw::PREROUTING", "mangle::PREROUTING", "nat::PREROUTING", "mangle::INPUT", "raw::OUTPUT",
                      "mangle::OUTPUT", "nat::OUTPUT", "mangle::FORWARD", "filter::FORWARD",
                      "mangle::POSTROUTING"}
    for r in dev.iptables:
        if f"{r.table}::{r.chain}" not in complex_chains:
            continue
        words = r.text.split()
        if any(w in ("DROP", "REJECT") for w in words):
            return None, None
        if words[:1] == ["-A"] and [w for w in words[2:] if w not in ("-j", "ACCEPT")]:
            return None, None
    return ("filter::INPUT" if "filter::INPUT" in chains else None,
            "filter::OUTPUT" if "filter::OUTPUT" in chains else None)


def _speed(dev: Device, iface: DeviceInterface) -> tuple[bool, float | None]:
    """(known, speed): an IOS `speed N` (Mb/s) is the speed, `auto` or no line the default, and any other
    setting leaves it unknown."""
    if iface.speed is None or iface.speed == "auto":
        return True, _default_speed(dev, iface.name)
    if dev.format == "CISCO_IOS" and iface.speed.isdigit():
        return True, int(iface.speed) * 1e6
    return False, None


def proxy_arp(dev: Device, iface: DeviceInterface) -> bool:
    """Whether an interface answers ARP for addresses it routes elsewhere: on unless `no ip proxy-arp` on IOS
    (its default), off unless `ip proxy-arp` elsewhere, never on hosts."""
    if dev.format == "CISCO_IOS":
        return iface.proxy_arp is not False
    return dev.kind != "host" and iface.proxy_arp is True


def interface_properties(snapshot: SnapshotState, node: str, iface: DeviceInterface) -> Row:
    """Every interfaceProperties value of one interface."""
    dev = snapshot.devices[node]
    v4 = _v4(iface)
    active, reason = interface_state(snapshot, node, iface)
    known_speed, speed = _speed(dev, iface)
    if iface.bandwidth_kbps:
        bandwidth: float | None = iface.bandwidth_kbps * 1000.0
    elif not known_speed or "Bandwidth" in dev.unread:
        bandwidth = None
    else:
        bandwidth = _default_bandwidth(dev, iface, speed)
    host_in, host_out = host_filters(dev) if dev.kind == "host" else (None, None)
    rip = None if "RIP" in dev.unread else False
    sw = iface.switchport
    mtu = iface.mtu or (65536 if iface.loopback and dev.format in _FRR_FAMILY else 1500)
    row: Row = {
        "Access_VLAN": None,
        "Active": active,
        "Admin_Up": not iface.shutdown,
        "All_Prefixes": [str(a) for a in v4],
        "Allowed_VLANs": None if sw else "",
        "Auto_State_VLAN": True,
        "Bandwidth": bandwidth,
        "Blacklisted": False if iface.kind == "physical" else None,  # as Batfish: only physical ports have one
        "Channel_Group": None,
        "Channel_Group_Members": None if iface.kind == "aggregate" else [],
        "Declared_Names": [iface.name],
        "Description": iface.description or None,
        "Encapsulation_VLAN": iface.encapsulation_vlan,
        "HSRP_Version": None,
        "Inactive_Reason": reason,
        "Incoming_Filter_Name": iface.acl_in or host_in,
        "Interface_Type": _INTERFACE_TYPE.get(iface.kind, "UNKNOWN"),
        "MLAG_ID": None,
        "MTU": mtu,
        "Native_VLAN": None,
        "Outgoing_Filter_Name": iface.acl_out or host_out,
        "PBR_Policy_Name": None,
        "Primary_Address": str(v4[0]) if v4 else None,
        "Primary_Network": str(v4[0].network) if v4 else None,
        "Proxy_ARP": proxy_arp(dev, iface),
        "Rip_Enabled": rip,
        "Rip_Passive": rip,
        "Spanning_Tree_Portfast": iface.portfast,
        "Speed": speed,
        "Switchport": sw,
        "Switchport_Mode": None if sw else "NONE",
        "Switchport_Trunk_Encapsulation": "DOT1Q",
        "VRF": _vrf(iface),
        "Zone_Name": None,
    }
    for prop in unread.INTERFACE:
        row[prop] = None if prop in iface.unread else []
    return row


@answerer("interfaceproperties.InterfacePropertiesQuestion")
def interface_properties_answer(question: dict[str, Any], snapshot: SnapshotState,
                                reference: SnapshotState | None) -> dict[str, Any]:
    # Interface_Type only when asked for (InterfacePropertySpecifier.create leaves it out by default)
    columns = [Column("Interface", "Interface", "Interface", key=True, value=False),
               *property_columns(question, _IFACE_PROPERTIES, default=set(_IFACE_PROPERTIES) - {"Interface_Type"})]
    props = [c.name for c in columns[1:]]
    exclude_shut = flag(question, "excludeShutInterfaces")

    wanted = node_set(question, "nodes", snapshot)
    try:
        pairs = interfaces(variable(question, "interfaces"), snapshot, wanted)
    except SpecifierError as e:
        raise UnsupportedQuestion(f"interfaces: {e}") from None
    rows = []
    for node, name in sorted(pairs):
        dev = snapshot.devices[node]
        values = interface_properties(snapshot, node, dev.interfaces[name])
        if exclude_shut and not values["Active"]:
            continue
        rows.append({"Interface": tbl.interface(node, name), **{p: values[p] for p in props}})
    return tbl.answer(question, tbl.table(columns, rows, "Properties of interface ${Interface}."))
