"""Batfish's ISP modelling (`batfish/isp_config.json`): ISP nodes and the Internet, as real BGP speakers.

    {"borderInterfaces": [{"borderInterface": {"hostname": "border1", "interface": "GigabitEthernet0/0"}}],
     "filter": {"onlyRemoteAsns": [7018], "onlyRemoteIps": []},
     "ispNodeInfos": [{"asn": 7018, "name": "att", "internetConnection": true}]}

As Batfish builds them (IspModelingUtils): for every eBGP neighbor of a border interface (its local address on
that interface, its remote AS and address allowed by `filter`), an ISP node `isp_<ASN>` with an interface
holding the neighbor's address (`To-<node>-<interface>`) and a BGP session back to the border router, exporting
every BGP route; ISPs with `internetConnection` (the default) peer with one `internet` node (AS 65537) that
originates only 0.0.0.0/0 (a static route out of its interface `out`, 240.254.254.1/30) and null-routes
10.0.0.0/8, 172.16.0.0/12 and 192.168.0.0/16. Unlike the hidden announcement speakers, these nodes are
listed in answers, as Batfish lists them.

They are ordinary devices of the model (`Device`, format CISCO_IOS as Batfish gives them), so the renderer,
the topology inference and the answerers treat them like any router. Differences from Batfish, reported in
the file's status: an ISP reaches the Internet over a numbered /31 from 169.254.0.0/16 (Batfish: unnumbered,
link-local 169.254.0.1, which realfish does not emulate); `bgpPeers` (ISPs for neighbors not tied to a border
interface), `ispPeeringInfos`, `additionalAnnouncements` and a `trafficFiltering` other than Batfish's default
(reserved addresses blocked both ways between an ISP and the Internet, modelled as ACLs on `To-Internet` that
traceroute applies) are not modelled.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from realfish.model import (
    Acl,
    AclLine,
    BgpNetwork,
    BgpPeer,
    BgpProcess,
    Device,
    DeviceInterface,
    PrefixList,
    PrefixListEntry,
    RouteMap,
    RouteMapClause,
    RouteMapMatch,
    StaticRoute,
)
from realfish.status import NOT_JSON, FileStatus, load_json

FILE = "batfish/isp_config.json"
INTERNET = "internet"
INTERNET_AS = 65537
INTERNET_OUT = ipaddress.IPv4Interface("240.254.254.1/30")
NULL_ROUTED = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
_LINKS = ipaddress.IPv4Network("169.254.0.0/16")  # ISP <-> Internet /31s
_UNMODELLED = ("bgpPeers", "ispPeeringInfos")
# Batfish's default traffic filtering (BlockReservedAddressesAtInternet), both ways on an ISP's To-Internet
RESERVED = ("0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "172.16.0.0/12", "192.0.2.0/24", "192.168.0.0/16",
            "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")
FROM_INTERNET_ACL = "Block incoming traffic using reserved addresses"
TO_INTERNET_ACL = "Block outgoing traffic using reserved addresses"


@dataclass
class Remote:
    """One snapshot-side session an ISP answers: the border router, its interface, its address and AS, and
    the ISP's address (the neighbor address the border router has configured)."""

    node: str
    interface: str
    local_ip: ipaddress.IPv4Address
    local_as: str
    isp_address: ipaddress.IPv4Interface


@dataclass
class IspModel:
    asn: int
    name: str = ""
    internet: bool = True
    remotes: list[Remote] = field(default_factory=list)


def read_isp_config(text: str, devices: dict[str, Device], st: FileStatus) -> list[IspModel]:
    """The ISPs the file asks for; what cannot be modelled is noted in `st`."""
    doc = load_json(text, st)
    if doc is NOT_JSON:
        return []
    if not isinstance(doc, dict):
        st.fail("expected a JSON object with borderInterfaces (Batfish's ISP configuration format)", 1)
        return []
    for key in _UNMODELLED:
        if doc.get(key):
            st.note(None, "unsupported", key, f"{key} is not modelled by realfish (only borderInterfaces)")
    filt = doc.get("filter") or {}
    only_asns = {int(a) for a in filt.get("onlyRemoteAsns") or []}
    only_ips = {ipaddress.ip_address(str(a)) for a in filt.get("onlyRemoteIps") or []}
    infos = {int(i["asn"]): i for i in doc.get("ispNodeInfos") or [] if isinstance(i, dict) and "asn" in i}
    for asn, info in infos.items():
        for key in ("additionalAnnouncements", "ispAnnouncements", "trafficFiltering", "ispTrafficFiltering"):
            mode = info.get(key, {}).get("mode") if isinstance(info.get(key), dict) else None
            if info.get(key) and mode != "BLOCK_RESERVED_ADDRESSES_AT_INTERNET":
                st.note(None, "unsupported", f"ispNodeInfos AS {asn}", f"{key} is not modelled by realfish")
    models: dict[int, IspModel] = {}
    for n, item in enumerate(doc.get("borderInterfaces") or []):
        where = f"borderInterfaces #{n}"
        bi = item.get("borderInterface") if isinstance(item, dict) else None
        if not isinstance(bi, dict):
            st.note(None, "error", where, 'expected {"borderInterface": {"hostname", "interface"}}')
            continue
        host = str(bi.get("hostname", "")).lower()
        dev = devices.get(host)
        iface = dev.find_interface(str(bi.get("interface", ""))) if dev is not None else None
        if dev is None or iface is None:
            st.note(None, "warning", where, f"no interface {bi.get('interface')!r} on node {host!r}: ignored "
                                           "(Batfish: ISP Modeling: Cannot find interface)")
            continue
        found = _remotes(dev, iface, only_asns, only_ips)
        if not found:
            st.note(None, "warning", where, f"no eBGP neighbor of {host} on {iface.name} fits the filter: no ISP "
                                           "(Batfish: Cannot find any valid eBGP configurations)")
            continue
        for asn, remote in found:
            info = infos.get(asn, {})
            model = models.setdefault(asn, IspModel(asn, str(info.get("name") or ""),
                                                    bool(info.get("internetConnection", True))))
            model.remotes.append(remote)
            st.note(None, "translated", where, f"{host} {iface.name} peers with isp_{asn} at "
                                               f"{remote.isp_address.ip}")
    return [models[a] for a in sorted(models)]


def _remotes(dev: Device, iface: DeviceInterface, only_asns: set[int],
             only_ips: set[Any]) -> list[tuple[int, Remote]]:
    b = dev.bgp
    if b is None or b.vrf is not None:
        return []
    out = []
    for p in b.peers.values():
        try:
            ip = ipaddress.IPv4Address(p.key)
            remote_as = int(str(b.peer_setting(p, "remote_as")))
        except ValueError:
            continue
        local_as = str(b.peer_setting(p, "local_as") or b.asn)
        addr = next((a for a in iface.addresses if isinstance(a, ipaddress.IPv4Interface) and ip in a.network
                     and ip != a.ip), None)
        if addr is None or str(remote_as) == local_as or (only_asns and remote_as not in only_asns) \
                or (only_ips and ip not in only_ips):
            continue
        out.append((remote_as, Remote(dev.hostname, iface.name, addr.ip, local_as,
                                      ipaddress.IPv4Interface((ip, addr.network.prefixlen)))))
    return out


def devices(models: list[IspModel], taken: set[str], st: FileStatus) -> list[Device]:
    """The ISP nodes and, if one of them is connected to it, the Internet node."""
    out: list[Device] = []
    links = _LINKS.subnets(new_prefix=31)
    internet_peers: list[tuple[int, ipaddress.IPv4Address, ipaddress.IPv4Address]] = []
    for m in models:
        name = f"isp_{m.asn}"
        if name in taken:
            st.note(None, "error", name, f"ISP hostname {name} for ASN {m.asn} conflicts with a node name in the "
                                         "snapshot: no ISP is modelled")
            return []
        dev = Device(name, "CISCO_IOS", FILE, original_hostname=name)
        router_id = min(r.isp_address.ip for r in m.remotes)
        dev.bgp = BgpProcess(str(m.asn), router_id=str(router_id), maximum_paths_ebgp=64)
        for r in m.remotes:
            iface = dev.interface(f"To-{r.node}-{r.interface}", kind="physical")
            iface.addresses.append(r.isp_address)
            dev.bgp.peers[str(r.local_ip)] = BgpPeer(str(r.local_ip), remote_as=r.local_as)
        if m.internet:
            link = next(links)
            isp_ip, inet_ip = link[1], link[0]
            to_inet = dev.interface("To-Internet", kind="physical")
            to_inet.addresses.append(ipaddress.IPv4Interface((isp_ip, 31)))
            for acl in (FROM_INTERNET_ACL, TO_INTERNET_ACL):
                dev.acls[acl] = _reserved_acl(acl)
            to_inet.acl_in, to_inet.acl_out = FROM_INTERNET_ACL, TO_INTERNET_ACL
            dev.bgp.peers[str(inet_ip)] = BgpPeer(str(inet_ip), remote_as=str(INTERNET_AS))
            internet_peers.append((m.asn, inet_ip, isp_ip))
        out.append(dev)
    if internet_peers:
        if INTERNET in taken:
            st.note(None, "error", INTERNET, "the Internet node's name conflicts with a node of the snapshot")
            return out
        out.append(_internet(internet_peers))
    return out


def _reserved_acl(name: str) -> Acl:
    """Batfish's BlockReservedAddressesAtInternet: a packet from or to reserved space is dropped."""
    lines = [AclLine("deny", src=p, text=f"deny ip {p} any") for p in RESERVED]
    lines += [AclLine("deny", dst=p, text=f"deny ip any {p}") for p in RESERVED]
    return Acl(name, lines=lines + [AclLine("permit", text="permit ip any any")])


def _internet(peers: list[tuple[int, ipaddress.IPv4Address, ipaddress.IPv4Address]]) -> Device:
    dev = Device(INTERNET, "CISCO_IOS", FILE, original_hostname=INTERNET)
    dev.interface("out", kind="physical").addresses.append(INTERNET_OUT)
    dev.static_routes.append(StaticRoute(ipaddress.IPv4Network("0.0.0.0/0"), interface="out"))
    dev.static_routes += [StaticRoute(ipaddress.IPv4Network(p), interface="Null0") for p in NULL_ROUTED]
    dev.prefix_lists["DEFAULT"] = PrefixList("DEFAULT", entries=[
        PrefixListEntry(5, "permit", ipaddress.IPv4Network("0.0.0.0/0"))])
    dev.route_maps["EXPORT-DEFAULT"] = RouteMap("EXPORT-DEFAULT", [
        RouteMapClause(10, "permit", [RouteMapMatch("prefix-list", ["DEFAULT"])])])
    dev.bgp = BgpProcess(str(INTERNET_AS), router_id=str(INTERNET_OUT.ip), maximum_paths_ebgp=64)
    dev.bgp.networks.append(BgpNetwork(ipaddress.IPv4Network("0.0.0.0/0")))
    for asn, inet_ip, isp_ip in peers:
        dev.interface(f"To-isp_{asn}", kind="physical").addresses.append(ipaddress.IPv4Interface((inet_ip, 31)))
        dev.bgp.peers[str(isp_ip)] = BgpPeer(str(isp_ip), remote_as=str(asn), route_map_out="EXPORT-DEFAULT")
    return dev
