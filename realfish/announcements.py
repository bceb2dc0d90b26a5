"""Batfish's external BGP announcements: routes from outside the snapshot, as the snapshot's routers receive them.

    SNAPSHOT/external_bgp_announcements.json   (or batfish/external_bgp_announcements.json, which wins)
    {"Announcements": [{"type": "ebgp_sent", "network": "4.0.0.0/8", "srcIp": "10.14.22.4",
                        "dstNode": "as1border2", "dstIp": "10.14.22.1", "nextHopIp": "10.14.22.4",
                        "asPath": [[1239], [7018, 7019]], "communities": [262145], "med": 20,
                        "originType": "egp", "localPreference": 0, ...}]}

Each announcement is a BGP UPDATE that `dstNode` receives from its neighbor `srcIp`: the AS path exactly as
written (a one-element list is an AS, a longer one an AS_SET), then the router's own import policy decides.
`read_announcements` validates the file against the parsed devices (the neighbor must be configured on the
destination, the source address must be on one of its subnets) and notes every announcement in the file's
status: translated, or why not. `realfish.speakers` turns the valid ones into emulated outside speakers.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realfish.model import Device
from realfish.status import NOT_JSON, FileStatus, load_json

FILES = ("batfish/external_bgp_announcements.json", "external_bgp_announcements.json")  # Batfish's order
ORIGINS = ("igp", "egp", "incomplete")


@dataclass
class Announcement:
    network: ipaddress.IPv4Network
    src_ip: ipaddress.IPv4Address
    dst_node: str
    dst_ip: ipaddress.IPv4Address
    dst_interface: str  # the destination's interface (user's name) whose subnet holds src_ip
    prefix_len: int  # that subnet's length: the speaker's address is src_ip/prefix_len
    ibgp: bool
    speaker_as: int  # the AS the destination expects from src_ip (its neighbor's remote-as)
    dst_as: int  # the destination's own AS on that session
    next_hop: ipaddress.IPv4Address | None = None
    as_path: list[list[int]] = field(default_factory=list)
    communities: list[str] = field(default_factory=list)  # "A:B"
    med: int | None = None
    local_pref: int | None = None  # iBGP only (eBGP does not carry LOCAL_PREF)
    origin: str = "igp"
    index: int = 0  # position in the file


def find_file(root: Path) -> Path | None:
    return next((root / f for f in FILES if (root / f).is_file()), None)


def read_announcements(text: str, devices: dict[str, Device], st: FileStatus) -> list[Announcement]:
    """The announcements of the file `text` that can be delivered; every other one is noted in `st`."""
    doc = load_json(text, st)
    if doc is NOT_JSON:
        return []
    items = doc.get("Announcements") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        st.fail('expected {"Announcements": [...]} (Batfish\'s external BGP announcements format)', 1)
        return []
    out = []
    for i, item in enumerate(items):
        where = f"announcement #{i}"
        try:
            ann = _announcement(item, devices, i)
        except ValueError as e:
            st.note(None, "error", where, f"{e}: not delivered")
            continue
        if isinstance(ann, str):
            st.note(None, "unsupported", where, ann)
            continue
        st.note(None, "translated", where, f"{ann.network} from {ann.src_ip} (AS {ann.speaker_as}) to "
                f"{ann.dst_node} over a BGP session with an emulated outside speaker")
        out.append(ann)
    return out


def _ip(item: dict[str, Any], key: str, required: bool = True) -> ipaddress.IPv4Address | None:
    value = item.get(key)
    if value is None or value == "":
        if required:
            raise ValueError(f"{key} is missing")
        return None
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        raise ValueError(f"{key} {value!r} is not an IPv4 address") from None


def _int(item: dict[str, Any], key: str) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 0xFFFFFFFF:
        raise ValueError(f"{key} {value!r} is not a 32-bit unsigned number")
    return value


def community_text(value: Any) -> str:
    """Batfish writes a standard community as its 32-bit number (262145) or as "4:1"."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFFFFFF:
        return f"{value >> 16}:{value & 0xFFFF}"
    text = str(value)
    parts = text.split(":")
    if len(parts) == 2 and all(p.isdigit() and int(p) <= 0xFFFF for p in parts):
        return f"{int(parts[0])}:{int(parts[1])}"
    raise ValueError(f"community {value!r} is not a standard community (number or A:B); extended and large "
                     "communities are not supported")


def _as_path(value: Any) -> list[list[int]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(s, list) and s for s in value):
        raise ValueError(f"asPath {value!r} is not a list of AS lists ([[1239], [7018, 7019]])")
    path = []
    for seg in value:
        if not all(isinstance(a, int) and not isinstance(a, bool) and 0 < a <= 0xFFFFFFFF for a in seg):
            raise ValueError(f"asPath element {seg!r} holds something other than AS numbers")
        path.append(list(seg))
    return path


def _announcement(item: Any, devices: dict[str, Device], index: int) -> Announcement | str:
    """The announcement, or why it cannot be delivered (a str). Malformed input raises ValueError."""
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    kind = str(item.get("type", "ebgp_sent")).lower()
    if kind not in ("ebgp_sent", "ibgp_sent"):
        return f"type {kind!r}: only ebgp_sent and ibgp_sent announcements are delivered"
    try:
        network = ipaddress.IPv4Network(str(item.get("network")))
    except ValueError:
        raise ValueError(f"network {item.get('network')!r} is not an IPv4 prefix") from None
    if network.is_multicast or network.is_reserved or network.is_loopback:
        return f"{network} is a multicast, reserved or loopback prefix: BGP speakers (FRR) neither send nor accept it"
    src = _ip(item, "srcIp")
    assert src is not None
    dst_name = str(item.get("dstNode", "")).lower()
    dev = devices.get(dst_name)
    if dev is None:
        raise ValueError(f"dstNode {item.get('dstNode')!r} is not a node of the snapshot")
    vrf = item.get("dstVrf") or "default"
    if vrf != "default":
        return f"dstVrf {vrf!r}: VRFs are not emulated"
    origin = str(item.get("originType", "igp")).lower()
    if origin not in ORIGINS:
        raise ValueError(f"originType {origin!r} is not one of {', '.join(ORIGINS)}")
    communities = [community_text(c) for c in item.get("communities") or []]
    b = dev.bgp
    peer = b.peers.get(str(src)) if b is not None and b.vrf is None else None
    if b is None or peer is None:
        return f"{dst_name} has no BGP neighbor {src} (in the default VRF): the announcement would not be received"
    remote = b.peer_setting(peer, "remote_as")
    local = b.peer_setting(peer, "local_as") or b.asn
    try:
        dst_as = int(str(local))
        speaker_as = dst_as if remote == "internal" else int(str(remote)) if remote != "external" else 0
    except ValueError:
        return f"{dst_name}'s neighbor {src} has remote-as {remote!r} and local AS {local!r}: not a number"
    ibgp = kind == "ibgp_sent"
    if remote == "external":
        speaker_as = next((a[0] for a in _as_path(item.get("asPath"))[:1] if len(a) == 1 and a[0] != dst_as), 0)
        if not speaker_as:
            return f"{dst_name}'s neighbor {src} is `remote-as external` and the AS path names no AS to be"
    if ibgp != (speaker_as == dst_as):
        return (f"type {kind} but {dst_name}'s neighbor {src} is {'i' if speaker_as == dst_as else 'e'}BGP "
                f"(AS {speaker_as}, local AS {dst_as})")
    iface = _interface_with(dev, src)
    if iface is None:
        return (f"{src} is not in a subnet of {dst_name}'s interfaces: only directly connected outside "
                "speakers are emulated")
    name, plen, own = iface
    dst_ip = _ip(item, "dstIp", required=False) or own
    return Announcement(network, src, dst_name, dst_ip, name, plen, ibgp, speaker_as, dst_as,
                        next_hop=_ip(item, "nextHopIp", required=False), as_path=_as_path(item.get("asPath")),
                        communities=communities, med=_int(item, "med"),
                        local_pref=_int(item, "localPreference") if ibgp else None, origin=origin, index=index)


def _interface_with(dev: Device, ip: ipaddress.IPv4Address) -> tuple[str, int, ipaddress.IPv4Address] | None:
    """(interface, prefix length, the device's own address) of the up interface whose subnet holds `ip`."""
    for iface in dev.interfaces.values():
        if iface.shutdown or iface.switchport:
            continue
        for a in iface.addresses:
            if isinstance(a, ipaddress.IPv4Interface) and a.network.prefixlen < 32 and ip in a.network \
                    and ip != a.ip:
                return iface.name, a.network.prefixlen, a.ip
    return None

