"""The device model as an FRR 8.4.4 integrated config, with Linux-safe interface names and a map back.

`render(device)` gives a `Rendered`: the frr.conf text, the interface name map (Linux name -> the user's),
and notes on what FRR cannot express (each with the model line it came from).

Names. An interface name that is already a valid Linux name is kept (`Ethernet1`, `swp1`, `eth0`); others
are shortened (`GigabitEthernet0/0` -> `gi0-0`, `Port-channel1.100` -> `po1.100`), and a name that still does
not fit gets `ifN`. The device's first loopback becomes `lo` (every router has one); other loopbacks keep a
short name of their own.

Vendor defaults that differ from FRR's are written out, never left to FRR (all relative to
`frr defaults traditional`, which the rendered config pins):
- eBGP without policy: IOS/EOS exchange routes, FRR 8.4 would not -> `no bgp ebgp-requires-policy`;
- communities: IOS/EOS send none unless `send-community`, FRR sends all -> `no neighbor X send-community ...`;
- BGP multipath: IOS/EOS use one path unless `maximum-paths`, FRR 64 -> `maximum-paths 1`, `... ibgp 1`;
- EOS's BGP distances 200/200/200 -> `distance bgp 200 200 200`;
- OSPF interface costs: the vendor's reference bandwidth over the interface's bandwidth, truncated (ospfd
  rounds, and divides by the port's speed, not by IOS's `bandwidth`) -> `ip ospf cost N` on every OSPF
  interface; IOS OSPF multipath 4;
- OSPF `network A WILDCARD area X`: the vendor enables OSPF on the interfaces whose primary address matches
  (most specific statement first) -> `ip ospf area X` on exactly those interfaces;
- EOS aggregates: EOS activates `aggregate-address P` when any more specific route is in the main RIB (a static
  to Null0, a connected subnet), FRR only from BGP routes -> each such static/connected route that BGP does not
  already carry becomes a `network` of the aggregate's, kept from the peers by the aggregate's `suppress-map`
  (`eos_aggregate_activators`); the aggregate then comes up in FRR exactly when it would on EOS;
- `network A mask M` and classful `network A` -> `network A/P`; `neighbor X activate` per the vendor's
  `bgp default ipv4-unicast` (rendered with `no bgp default ipv4-unicast` and explicit activates).
FRR-family devices (FRR, Cumulus, SONiC) run their own frr.conf as written; only the interface addresses that
came from elsewhere (Cumulus' interfaces file, SONiC's config_db.json) are added in front of it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from realfish.model import (
    BgpPeer,
    BgpProcess,
    Device,
    DeviceInterface,
    OspfArea,
    OspfProcess,
    RouteMapClause,
)
from realfish.topology import VETH_SPEED_MBPS, valid_ifname

FRR_FAMILY = ("FRR", "CUMULUS_CONCATENATED", "SONIC")
_CLASS_E = ipaddress.IPv4Network("240.0.0.0/4")

_SHORT = [("tengigabitethernet", "te"), ("gigabitethernet", "gi"), ("fastethernet", "fa"),
          ("fortygigabitethernet", "fo"), ("hundredgigabitethernet", "hu"), ("twentyfivegige", "twe"),
          ("ethernet", "eth"), ("port-channel", "po"), ("loopback", "lo"), ("management", "mgmt"),
          ("tunnel", "tun"), ("vlan", "vlan"), ("serial", "se")]

# IOS default interface bandwidths (kbps) by name, for OSPF costs.
_IOS_BANDWIDTH = [("tengigabitethernet", 10_000_000), ("gigabitethernet", 1_000_000), ("fastethernet", 100_000),
                  ("ethernet", 10_000), ("loopback", 8_000_000), ("port-channel", 1_000_000),
                  ("vlan", 1_000_000), ("tunnel", 100), ("serial", 1_544)]

# IOS port speeds (Mb/s) by name, Batfish's (representation/cisco/Interface.getDefaultSpeed).
_IOS_SPEED_MBPS = [("ethernet", 10), ("fastethernet", 100), ("fiftygig", 50_000), ("fivegigabit", 5_000),
                   ("fortygig", 40_000), ("gigabitethernet", 1_000), ("hundredgig", 100_000),
                   ("longreachethernet", 10), ("tengigabitethernet", 10_000), ("twentyfivegige", 25_000),
                   ("twogigabitethernet", 2_500), ("wlan-gigabitethernet", 1_000)]


@dataclass
class RenderNote:
    line: int | None
    message: str


@dataclass
class Rendered:
    name: str
    config: str
    ifmap: dict[str, str]  # Linux name -> the user's name
    notes: list[RenderNote] = field(default_factory=list)
    # FRR-family devices: where their own frr.conf text starts in `config` (0-based line index), and where it came
    # from (file, first line there): a line of it that FRR rejects is reported at its place in the user's file
    passthrough_at: int | None = None
    passthrough_source: tuple[str, int] | None = None

    def source_line(self, line: int) -> tuple[str, int] | None:
        """The user's (file, line) of a line (1-based) of `config`, if it is one of the device's own lines."""
        if self.passthrough_at is None or self.passthrough_source is None or line <= self.passthrough_at:
            return None
        file, first = self.passthrough_source
        return file, first + line - 1 - self.passthrough_at

    @property
    def linux(self) -> dict[str, str]:
        """The user's name -> Linux name."""
        return {v: k for k, v in self.ifmap.items()}


def _short(name: str) -> str:
    low = name.lower()
    for long, short in _SHORT:
        if low.startswith(long):
            name = short + name[len(long):]
            break
    return re.sub(r"[^A-Za-z0-9_.:@-]", "-", name.replace("/", "-"))


def linux_names(device: Device) -> dict[str, str]:
    """The user's interface name -> a Linux-safe name, unique on the device."""
    out: dict[str, str] = {}
    used: set[str] = set()
    loopbacks = sorted((i for i in device.interfaces.values() if i.loopback),
                       key=lambda i: (i.name != "lo", _num(i.name), i.name))
    if loopbacks:
        out[loopbacks[0].name] = "lo"
        used.add("lo")
    for iface in device.interfaces.values():
        if iface.name in out:
            continue
        cand = iface.name if valid_ifname(iface.name) else _short(iface.name)
        if not valid_ifname(cand) or cand in used or cand == "lo":
            n = len(used) + 1
            while f"if{n}" in used:
                n += 1
            cand = f"if{n}"
        out[iface.name] = cand
        used.add(cand)
    return out


def _num(name: str) -> int:
    m = re.search(r"(\d+)", name)
    return int(m.group(1)) if m else 1 << 30


def bandwidth_kbps(device: Device, iface: DeviceInterface) -> int:
    """The bandwidth the vendor computes OSPF costs from: `bandwidth`, else the configured `speed`, else the
    vendor's default for the interface type (Batfish's: EOS Ethernet ports 1 Gb/s, IOS `Ethernet` 10 Mb/s)."""
    if iface.bandwidth_kbps:
        return iface.bandwidth_kbps
    if iface.speed_kbps:
        return iface.speed_kbps
    low = iface.name.lower()
    if device.format == "ARISTA" and low.startswith("ethernet"):
        return 1_000_000
    for prefix, bw in _IOS_BANDWIDTH:
        if low.startswith(prefix):
            return bw
    return 1_000_000


def port_speed_mbps(device: Device, iface: DeviceInterface) -> int:
    """The link speed the device's port reports (zebra reads it through ethtool; FRR-family configs with
    `auto-cost reference-bandwidth` and no `bandwidth` get their OSPF costs from it): the configured speed
    (IOS/EOS `speed`, SONiC's PORT speed, Cumulus' `link-speed`), else the vendor's default for the interface
    type (IOS by name, EOS Ethernet 1 Gb/s), else what a Linux virtual link reports."""
    if iface.speed_kbps:
        return max(1, iface.speed_kbps // 1000)
    low = iface.name.lower()
    if device.format == "ARISTA" and low.startswith("ethernet"):
        return 1_000
    if device.format == "CISCO_IOS":
        return next((mbps for prefix, mbps in _IOS_SPEED_MBPS if low.startswith(prefix)), VETH_SPEED_MBPS)
    return VETH_SPEED_MBPS


def ospf_cost(device: Device, iface: DeviceInterface, proc: OspfProcess) -> int:
    if iface.ospf_cost is not None:
        return iface.ospf_cost
    if device.format == "ARISTA" and proc.reference_bandwidth_mbps is None:
        return 10  # EOS: every interface costs 10 unless told otherwise
    ref_kbps = (proc.reference_bandwidth_mbps or 100) * 1000
    return max(1, min(65535, ref_kbps // bandwidth_kbps(device, iface)))


def ospf_areas(device: Device, proc: OspfProcess) -> dict[str, str]:
    """Interface (user's name) -> area, as the vendor's network statements and interface areas decide."""
    out: dict[str, str] = {}
    nets = sorted(proc.networks, key=lambda na: -na[0].prefixlen)
    for iface in device.interfaces.values():
        if iface.ospf_area is not None:
            out[iface.name] = iface.ospf_area
            continue
        v4 = [a for a in iface.addresses if a.version == 4]
        if not v4 or iface.shutdown:
            continue
        for net, area in nets:
            if v4[0].ip in net:
                out[iface.name] = area
                break
        else:
            ip = int(v4[0].ip)
            for addr, wild, area in proc.wildcard_networks:
                care = ~int(wild) & 0xFFFFFFFF
                if ip & care == int(addr) & care:
                    out[iface.name] = area
                    break
    return out


class _Writer:
    def __init__(self, device: Device, names: dict[str, str]):
        self.d = device
        self.names = names
        self.out: list[str] = []
        self.notes: list[RenderNote] = []

    def line(self, text: str) -> None:
        self.out.append(text)

    def note(self, line: int | None, message: str) -> None:
        self.notes.append(RenderNote(line, message))

    def ifname(self, name: str, line: int | None = None) -> str | None:
        if name in self.names:
            return self.names[name]
        iface = self.d.find_interface(name)
        if iface is not None:
            return self.names[iface.name]
        self.note(line, f"interface {name} is not defined on the device; the line is not rendered")
        return None


def render(device: Device) -> Rendered:
    names = linux_names(device)
    w = _Writer(device, names)
    w.line("frr version 8.4.4")
    if device.format not in FRR_FAMILY:
        w.line("frr defaults traditional")
    w.line(f"hostname {device.hostname}")
    if any(a.ip in _CLASS_E for i in device.interfaces.values() for a in i.addresses if a.version == 4):
        w.line("allow-reserved-ranges")  # zebra refuses 240/4 addresses (Batfish's Internet node has one) otherwise
    w.line("!")
    source = (device.frr_passthrough_file or device.source, device.frr_passthrough_line)
    if device.format == "FRR" and device.frr_passthrough is not None:
        text = _rename(device.frr_passthrough, names)
        return Rendered(device.hostname, text, {v: k for k, v in names.items()}, w.notes, 0, source)
    _interfaces(w, device)
    _static_routes(w, device)
    at = None
    if device.format in FRR_FAMILY and device.frr_passthrough is not None:
        w.line("! --- the device's own frr.conf, as written ---")
        at = sum(x.count("\n") + 1 for x in w.out)
        w.out.append(_rename(device.frr_passthrough, names).rstrip("\n"))
    elif device.kind == "router" and device.ip_routing:
        _acls(w, device)
        _lists(w, device)
        _route_maps(w, device)
        _ospf(w, device)
        _bgp(w, device)
    elif device.kind == "router":
        w.note(None, "`no ip routing`: the device does not route; only its interfaces and static routes run")
    return Rendered(device.hostname, "\n".join(w.out) + "\n", {v: k for k, v in names.items()}, w.notes,
                    at, source if at is not None else None)


def _rename(text: str, names: dict[str, str]) -> str:
    changed = {k: v for k, v in names.items() if k != v}
    if not changed:
        return text
    pat = re.compile(r"(?<![\w/.-])(" + "|".join(re.escape(k) for k in sorted(changed, key=len, reverse=True))
                     + r")(?![\w/.-])")
    return pat.sub(lambda m: changed[m.group(1)], text)


# -- interfaces and static routes ----------------------------------------------------------------------------


def _interfaces(w: _Writer, d: Device) -> None:
    procs = [p for p in d.ospf if p.vrf is None]
    proc = procs[0] if procs else None
    areas = ospf_areas(d, proc) if proc is not None and d.format not in FRR_FAMILY else {}
    for iface in d.interfaces.values():
        if iface.kind == "null":
            continue
        lname = w.names[iface.name]
        body: list[str] = []
        if iface.shutdown:
            w.line(f"! {iface.name} is shut down on the device: no addresses, no routing on it")
            continue
        if iface.switchport:
            continue
        if iface.vrf is not None and d.format not in FRR_FAMILY:
            w.note(iface.line, f"interface {iface.name} is in VRF {iface.vrf}: VRFs are not emulated yet; it "
                               "routes in the default VRF")
        if iface.description and d.format not in FRR_FAMILY:
            body.append(f" description {_safe_text(iface.description)}")
        for a in iface.addresses:
            body.append(f" {'ip' if a.version == 4 else 'ipv6'} address {a.with_prefixlen}")
        if proc is not None and iface.name in areas:
            body.append(f" ip ospf area {areas[iface.name]}")
            # loopbacks too: FRR's ospfd advertises a loopback's stub at cost 0 unless told (IOS: its cost, 1)
            body.append(f" ip ospf cost {ospf_cost(d, iface, proc)}")
            passive = iface.ospf_passive
            if passive is None:
                passive = (iface.name in proc.passive or any(d.find_interface(p) is iface for p in proc.passive)
                           or (proc.passive_default and iface.name not in proc.non_passive))
            if passive:
                body.append(" ip ospf passive")
            if iface.ospf_network_type in ("point-to-point", "broadcast", "non-broadcast", "point-to-multipoint"):
                body.append(f" ip ospf network {iface.ospf_network_type}")
            for attr, cmd in (("ospf_hello", "hello-interval"), ("ospf_dead", "dead-interval"),
                              ("ospf_priority", "priority")):
                if getattr(iface, attr) is not None:
                    body.append(f" ip ospf {cmd} {getattr(iface, attr)}")
            body.extend(_ospf_auth(iface, proc.areas.get(areas[iface.name])))
        if not body and lname == "lo":
            continue
        w.line(f"interface {lname}")
        w.out.extend(body)
        w.line("exit")
        w.line("!")


def _ospf_auth(iface: DeviceInterface, area: OspfArea | None) -> list[str]:
    """The interface's OSPF authentication lines. An area's `authentication` is written on each of its
    interfaces that sets none (the same rule as the vendor's and ospfd's), so ospfd's interface JSON shows the
    type in force."""
    kind = iface.ospf_auth or (area.authentication if area else None)
    out = [f" ip ospf authentication{'' if kind == 'simple' else ' ' + kind}"] if kind else []
    if iface.ospf_auth_key is not None:
        out.append(f" ip ospf authentication-key {iface.ospf_auth_key}")
    out += [f" ip ospf message-digest-key {k} md5 {v}" for k, v in iface.ospf_md5_keys.items()]
    return out


def _safe_text(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", text)[:200]


def _static_routes(w: _Writer, d: Device) -> None:
    for r in d.static_routes:
        if r.vrf is not None:
            w.note(r.line, f"static route {r.prefix} in VRF {r.vrf}: VRFs are not emulated yet; not rendered")
            continue
        if r.prefix.version != 4 and r.next_hop is not None and r.next_hop.version != 6:
            continue
        via: list[str] = []
        if r.discard:
            via.append("Null0")
        else:
            if r.next_hop is not None:
                via.append(str(r.next_hop))
            if r.interface is not None:
                name = w.ifname(r.interface, r.line)
                if name is None:
                    continue
                via.append(name)
        cmd = "ip" if r.prefix.version == 4 else "ipv6"
        extra = f" tag {r.tag}" if r.tag is not None else ""
        dist = f" {r.distance}" if r.distance != 1 else ""
        w.line(f"{cmd} route {r.prefix} {' '.join(via)}{extra}{dist}")
    if d.static_routes:
        w.line("!")


# -- policy --------------------------------------------------------------------------------------------------


def _acl_addr(text: str) -> str:
    if text == "any":
        return "any"
    if " " in text:  # A WILDCARD (non-contiguous)
        return text
    net = ipaddress.IPv4Network(text, strict=False)
    if net.prefixlen == 32:
        return f"host {net.network_address}"
    return f"{net.network_address} {net.hostmask}"


def _acls(w: _Writer, d: Device) -> None:
    used = {a for rm in d.route_maps.values() for c in rm.clauses for m in c.matches if m.kind == "acl"
            for a in m.args}
    for name in sorted(used):
        acl = d.acls.get(name)
        if acl is None:
            continue
        for ln in acl.lines:
            if acl.kind == "standard":
                w.line(f"access-list {name} {ln.action} {_acl_addr(ln.src)}")
            elif ln.protocol == "ip" and not (ln.src_ports or ln.dst_ports or ln.flags):
                w.line(f"access-list {name} {ln.action} ip {_acl_addr(ln.src)} {_acl_addr(ln.dst)}")
            else:
                w.note(ln.line, f"ACL {name} line `{ln.text}` is used as a route filter but matches ports or "
                                "protocols, which mean nothing for routes; not rendered")
    if used:
        w.line("!")


def _lists(w: _Writer, d: Device) -> None:
    for pl in d.prefix_lists.values():
        cmd = "ipv6" if pl.ipv6 else "ip"
        for e in pl.entries:
            ge = f" ge {e.ge}" if e.ge is not None else ""
            le = f" le {e.le}" if e.le is not None else ""
            w.line(f"{cmd} prefix-list {pl.name} seq {e.seq} {e.action} {e.prefix}{ge}{le}")
    for cl in d.community_lists.values():
        kind = "expanded" if cl.expanded else "standard"
        for ce in cl.entries:
            w.line(f"bgp community-list {kind} {cl.name} {ce.action} {ce.values}")
    for al in d.as_path_lists.values():
        for ae in al.entries:
            w.line(f"bgp as-path access-list {al.name} {ae.action} {ae.regex}")
    if d.prefix_lists or d.community_lists or d.as_path_lists:
        w.line("!")


def _route_maps(w: _Writer, d: Device) -> None:
    for rm in d.route_maps.values():
        for c in rm.clauses:
            w.line(f"route-map {rm.name} {c.action} {c.seq}")
            _clause(w, d, rm.name, c)
            w.line("exit")
            w.line("!")


def _clause(w: _Writer, d: Device, name: str, c: RouteMapClause) -> None:
    for m in c.matches:
        if m.kind != "interface" and len(m.args) > 1 and m.kind not in ("tag", "metric", "source-protocol"):
            w.note(m.line, f"route-map {name} {c.seq}: `match` with several {m.kind} names (any may match) "
                           "is rendered with the first only; FRR takes one per line and ANDs lines")
        a = m.args[0]
        if m.kind == "prefix-list":
            w.line(f" match ip address prefix-list {a}")
        elif m.kind == "acl":
            w.line(f" match ip address {a}")
        elif m.kind == "next-hop-prefix-list":
            w.line(f" match ip next-hop prefix-list {a}")
        elif m.kind in ("community", "community-exact"):
            w.line(f" match community {a}{' exact-match' if m.kind == 'community-exact' else ''}")
        elif m.kind == "as-path":
            w.line(f" match as-path {a}")
        elif m.kind in ("tag", "metric"):
            w.line(f" match {m.kind} {a}")
        elif m.kind == "interface":
            lname = w.ifname(a, m.line)
            if lname:
                w.line(f" match interface {lname}")
        elif m.kind == "source-protocol":
            w.line(f" match source-protocol {a}")
    for s in c.sets:
        if s.kind in ("local-preference", "metric", "weight", "tag", "origin"):
            w.line(f" set {s.kind} {s.args[0]}")
        elif s.kind == "community":
            w.line(f" set community {' '.join(s.args)}")
        elif s.kind == "community-none":
            w.line(" set community none")
        elif s.kind == "as-path-prepend":
            w.line(f" set as-path prepend {' '.join(s.args)}")
        elif s.kind == "next-hop":
            if s.args[0] == "self":
                w.note(s.line, f"route-map {name} {c.seq}: `set ip next-hop self` has no FRR route-map "
                               "equivalent; not rendered")
            else:
                w.line(f" set ip next-hop {s.args[0]}")
        elif s.kind == "comm-list-delete":
            w.line(f" set comm-list {s.args[0]} delete")
        elif s.kind == "metric-type":
            w.line(f" set metric-type type-{s.args[0]}")
    if c.continue_to == -1:
        w.line(" on-match next")
    elif c.continue_to is not None:
        w.line(f" continue {c.continue_to}")


# -- OSPF ----------------------------------------------------------------------------------------------------


def _ospf(w: _Writer, d: Device) -> None:
    procs = [p for p in d.ospf if p.vrf is None]
    for p in d.ospf:
        if p.vrf is not None:
            w.note(p.line, f"OSPF process {p.process_id} in VRF {p.vrf}: VRFs are not emulated yet; not rendered")
    if not procs:
        return
    for extra in procs[1:]:
        w.note(extra.line, f"OSPF process {extra.process_id}: only one OSPF process per router is emulated "
                           f"(process {procs[0].process_id} is)")
    p = procs[0]
    w.line("router ospf")
    if p.router_id:
        w.line(f" ospf router-id {p.router_id}")
    if p.reference_bandwidth_mbps:
        w.line(f" auto-cost reference-bandwidth {p.reference_bandwidth_mbps}")
    for r in p.redistribute:
        if r.protocol not in ("connected", "static", "bgp", "kernel"):
            w.note(r.line, f"redistribute {r.protocol} into OSPF: not emulated")
            continue
        metric = r.metric if r.metric is not None else (1 if r.protocol == "bgp" and d.format == "CISCO_IOS"
                                                         else None)
        parts = [f" redistribute {r.protocol}"]
        if metric is not None:
            parts.append(f"metric {metric}")
        if r.metric_type is not None:
            parts.append(f"metric-type {r.metric_type}")
        if r.route_map:
            parts.append(f"route-map {r.route_map}")
        w.line(" ".join(parts))
    if p.default_originate:
        parts = [" default-information originate"]
        if p.default_originate_always:
            parts.append("always")
        if p.default_originate_metric is not None:
            parts.append(f"metric {p.default_originate_metric}")
        if p.default_originate_metric_type is not None:
            parts.append(f"metric-type {p.default_originate_metric_type}")
        w.line(" ".join(parts))
    for a in p.areas.values():
        if a.stub:
            w.line(f" area {a.area} stub{' no-summary' if a.no_summary else ''}")
        if a.nssa:
            w.line(f" area {a.area} nssa{' no-summary' if a.no_summary else ''}")
        for net, adv in a.ranges:
            w.line(f" area {a.area} range {net}{'' if adv else ' not-advertise'}")
    paths = p.maximum_paths if p.maximum_paths is not None else (4 if d.format == "CISCO_IOS" else None)
    if paths is not None:
        w.line(f" maximum-paths {paths}")
    if p.distance is not None:
        w.line(f" distance {p.distance}")
    w.line("exit")
    w.line("!")


# -- BGP -----------------------------------------------------------------------------------------------------


def _bgp(w: _Writer, d: Device) -> None:
    b = d.bgp
    if b is None:
        return
    if b.vrf is not None:
        w.note(b.line, f"BGP in VRF {b.vrf}: not emulated yet")
        return
    activators = eos_aggregate_activators(d)
    if activators:
        _eos_activator_policy(w, activators)
    w.line(f"router bgp {b.asn}")
    if b.router_id:
        w.line(f" bgp router-id {b.router_id}")
    if not b.ebgp_requires_policy:
        w.line(" no bgp ebgp-requires-policy")
    w.line(" no bgp default ipv4-unicast")
    if b.multipath_relax:
        w.line(" bgp bestpath as-path multipath-relax")
    if b.compare_router_id:
        w.line(" bgp bestpath compare-routerid")
    if b.always_compare_med:
        w.line(" bgp always-compare-med")
    if b.deterministic_med:
        w.line(" bgp deterministic-med")
    if b.cluster_id:
        w.line(f" bgp cluster-id {b.cluster_id}")
    if b.default_local_pref is not None:
        w.line(f" bgp default local-preference {b.default_local_pref}")
    if b.keepalive is not None and b.holdtime is not None:
        w.line(f" timers bgp {b.keepalive} {b.holdtime}")
    for g in b.groups.values():
        w.line(f" neighbor {g.key} peer-group")
        _peer_session(w, b, g, g.key)
    for lr in b.listen_ranges:
        if b.groups[lr.group].remote_as is None:
            w.note(lr.line, f"bgp listen range {lr.prefix}: peer-group {lr.group} has no remote-as; not rendered "
                            "(the device would accept no session)")
            continue
        w.line(f" bgp listen range {lr.prefix} peer-group {lr.group}")
    if b.listen_limit is not None:
        w.line(f" bgp listen limit {b.listen_limit}")
    keys = _peer_keys(w, b)
    for p in b.peers.values():
        if not _has_remote_as(b, p):
            w.note(p.line, f"neighbor {p.key} has no remote-as: not rendered (the device would not open it)")
            continue
        if p.key not in keys:
            continue
        key = keys[p.key]
        # an interface peer (BGP unnumbered) is created by `neighbor IFACE interface ...`
        create = f"{key} interface" if p.interface else key
        if p.remote_as is not None and (p.peer_group is None or b.groups[p.peer_group].remote_as is None):
            w.line(f" neighbor {create} remote-as {p.remote_as}")
            create = key
        if p.peer_group is not None:
            w.line(f" neighbor {create} peer-group {p.peer_group}")
        _peer_session(w, b, p, key)
    w.line(" !")
    w.line(" address-family ipv4 unicast")
    for n in b.networks:
        w.line(f"  network {n.prefix}{f' route-map {n.route_map}' if n.route_map else ''}")
    for c in activators:
        w.line(f"  network {c}")
    for a in b.aggregates:
        opts = (" summary-only" if a.summary_only else "") + (" as-set" if a.as_set else "")
        if activators and not a.summary_only:
            opts += f" suppress-map {ACTIVATORS}"
        w.line(f"  aggregate-address {a.prefix}{opts}")
    for r in b.redistribute:
        if r.protocol not in ("connected", "static", "ospf", "kernel"):
            w.note(r.line, f"redistribute {r.protocol} into BGP: not emulated")
            continue
        opts = (f" metric {r.metric}" if r.metric is not None else "") + (
            f" route-map {r.route_map}" if r.route_map else "")
        w.line(f"  redistribute {r.protocol}{opts}")
    _af_paths_and_distance(w, d, b)
    if b.dampening:
        w.line("  bgp dampening")
    members_active: dict[str, bool] = {}
    for p in b.peers.values():
        if not _has_remote_as(b, p):
            continue
        act = _active(b, p)
        if p.peer_group is not None:
            members_active.setdefault(p.peer_group, False)
            members_active[p.peer_group] |= act
    listening = {lr.group for lr in b.listen_ranges}
    for g in b.groups.values():
        # a group that dynamic neighbors join is active as its own setting (or the default) says
        group_active = (g.activate if g.activate is not None else b.default_ipv4_unicast) and g.key in listening
        if g.activate or members_active.get(g.key) or group_active:
            w.line(f"  neighbor {g.key} activate")
        _peer_af(w, d, g, g.key, member=False)
    for p in b.peers.values():
        if not _has_remote_as(b, p) or p.key not in keys:
            continue
        if _active(b, p):
            w.line(f"  neighbor {keys[p.key]} activate")
        elif p.peer_group is not None and members_active.get(p.peer_group):
            w.line(f"  no neighbor {keys[p.key]} activate")
        _peer_af(w, d, p, keys[p.key], member=p.peer_group is not None)
    w.line(" exit-address-family")
    _bgp_ipv6(w, d, b, keys)
    w.line("exit")
    w.line("!")


def _af_paths_and_distance(w: _Writer, d: Device, b: BgpProcess) -> None:
    """An address family's multipath limits and distances: the configured ones, else the vendor's defaults."""
    default_paths = 1 if d.format not in FRR_FAMILY else None
    ebgp = b.maximum_paths_ebgp if b.maximum_paths_ebgp is not None else default_paths
    ibgp = b.maximum_paths_ibgp if b.maximum_paths_ibgp is not None else default_paths
    if ebgp is not None:
        w.line(f"  maximum-paths {min(ebgp, 64)}")
    if ibgp is not None:
        w.line(f"  maximum-paths ibgp {min(ibgp, 64)}")
    dist = (b.distance_ebgp, b.distance_ibgp, b.distance_local)
    if dist[0] is None and d.format == "ARISTA":
        dist = (200, 200, 200)
    if dist[0] is not None:
        w.line(f"  distance bgp {dist[0]} {dist[1]} {dist[2]}")


def _bgp_ipv6(w: _Writer, d: Device, b: BgpProcess, keys: dict[str, str]) -> None:
    """IOS/EOS `address-family ipv6`: the neighbors activated in it (the model's IPv6 neighbor settings are
    activation only: no policy, and the vendor's default of sending no communities), its networks and plain
    redistribution; multipath and distances as in IPv4 unicast."""
    peers = [p for p in b.peers.values()
             if _has_remote_as(b, p) and p.key in keys and b.peer_setting(p, "activate6")]
    groups = [g for g in b.groups.values() if g.activate6 or any(p.peer_group == g.key for p in peers)]
    if not (peers or groups or b.networks6 or b.redistribute6):
        return
    w.line(" address-family ipv6 unicast")
    for n in b.networks6:
        w.line(f"  network {n.prefix}")
    for r in b.redistribute6:
        w.line(f"  redistribute {r.protocol}")
    _af_paths_and_distance(w, d, b)
    for key in [g.key for g in groups] + [keys[p.key] for p in peers]:
        w.line(f"  neighbor {key} activate")
        for kind in ("", " extended", " large"):
            w.line(f"  no neighbor {key} send-community{kind}")
    w.line(" exit-address-family")


ACTIVATORS = "RF-EOS-AGGREGATE-ACTIVATORS"


def eos_aggregate_activators(d: Device) -> list[ipaddress.IPv4Network]:
    """The static and connected routes that activate an EOS aggregate and that BGP does not carry by itself: the
    prefixes more specific than an aggregate, in the main RIB for sure (static to Null0, via an up interface or
    a next hop in an up interface's subnet; connected subnets), not already a `network` or redistributed."""
    b = d.bgp
    if d.format != "ARISTA" or b is None or not b.aggregates:
        return []
    redistributed = {r.protocol for r in b.redistribute}
    originated = {n.prefix for n in b.networks}
    up = [i for i in d.interfaces.values() if not i.shutdown and not i.switchport and i.kind != "null"]
    subnets = [a.network for i in up for a in i.addresses if a.version == 4]
    cands: list[ipaddress.IPv4Network] = []
    if "connected" not in redistributed:
        cands += [n for n in subnets if isinstance(n, ipaddress.IPv4Network)]
    if "static" not in redistributed:
        for r in d.static_routes:
            if r.vrf is not None or not isinstance(r.prefix, ipaddress.IPv4Network):
                continue
            via_up = r.interface is not None and any(d.find_interface(r.interface) is i for i in up)
            nh_up = r.next_hop is not None and any(r.next_hop in n for n in subnets)
            if r.discard or (via_up and (r.next_hop is None or nh_up)) or (r.interface is None and nh_up):
                cands.append(r.prefix)
    out: list[ipaddress.IPv4Network] = []
    for c in cands:
        if c in originated or c in out:
            continue
        if any(isinstance(a.prefix, ipaddress.IPv4Network) and c != a.prefix and c.subnet_of(a.prefix)
               for a in b.aggregates):
            out.append(c)
    return out


def _eos_activator_policy(w: _Writer, activators: list[ipaddress.IPv4Network]) -> None:
    for i, c in enumerate(activators, 1):
        w.line(f"ip prefix-list {ACTIVATORS} seq {i * 5} permit {c}")
    w.line(f"route-map {ACTIVATORS} permit 10")
    w.line(f" match ip address prefix-list {ACTIVATORS}")
    w.line("exit")
    w.line("!")


def _peer_keys(w: _Writer, b: BgpProcess) -> dict[str, str]:
    """Each neighbor's name in the rendered config: its address, or an interface peer's Linux interface name
    (left out, with a note, when the interface is not on the device)."""
    out = {}
    for p in b.peers.values():
        key = w.ifname(p.key, p.line) if p.interface else p.key
        if key is not None:
            out[p.key] = key
    return out


def _has_remote_as(b: BgpProcess, p: BgpPeer) -> bool:
    return p.remote_as is not None or (p.peer_group is not None and b.groups[p.peer_group].remote_as is not None)


def _active(b: BgpProcess, p: BgpPeer) -> bool:
    return b.ipv4_active(p)


def _peer_session(w: _Writer, b: BgpProcess, p: BgpPeer, key: str) -> None:
    if p.is_group and p.remote_as is not None:
        w.line(f" neighbor {key} remote-as {p.remote_as}")
    if p.description:
        w.line(f" neighbor {key} description {_safe_text(p.description)}")
    if p.update_source is not None:
        src = p.update_source if _is_ip(p.update_source) else w.ifname(p.update_source, p.line)
        if src:
            w.line(f" neighbor {key} update-source {src}")
    if p.keepalive is not None and p.holdtime is not None:
        w.line(f" neighbor {key} timers {p.keepalive} {p.holdtime}")
    _options(w, p, key, " ", _SESSION_OPTIONS)


def _peer_af(w: _Writer, d: Device, p: BgpPeer, key: str, member: bool) -> None:
    if not member or p.send_community is not None or p.send_community_extended is not None:
        # Vendor default (IOS/EOS): no communities unless told; FRR sends them all.
        if not p.send_community:
            w.line(f"  no neighbor {key} send-community")
        if not p.send_community_extended:
            w.line(f"  no neighbor {key} send-community extended")
        w.line(f"  no neighbor {key} send-community large")
    for attr, cmd in (("route_map", "route-map"), ("prefix_list", "prefix-list"), ("filter_list", "filter-list")):
        for direction in ("in", "out"):
            val = getattr(p, f"{attr}_{direction}")
            if val:
                w.line(f"  neighbor {key} {cmd} {val} {direction}")
    _options(w, p, key, "  ", _AF_OPTIONS)


# (model attribute, FRR neighbor command): `{}` takes the value; without it the attribute is a flag.
_SESSION_OPTIONS = [("ebgp_multihop", "ebgp-multihop {}"), ("password", "password {}"), ("shutdown", "shutdown"),
                    ("local_as", "local-as {}"), ("advertisement_interval", "advertisement-interval {}")]
_AF_OPTIONS = [("next_hop_self", "next-hop-self"), ("route_reflector_client", "route-reflector-client"),
               ("remove_private_as", "remove-private-AS"), ("allowas_in", "allowas-in {}"),
               ("soft_reconfiguration", "soft-reconfiguration inbound"), ("default_originate", "default-originate"),
               ("weight", "weight {}"), ("maximum_prefix", "maximum-prefix {}"),
               ("addpath_tx_all_paths", "addpath-tx-all-paths")]


def _options(w: _Writer, p: BgpPeer, key: str, indent: str, table: list[tuple[str, str]]) -> None:
    for attr, cmd in table:
        val = getattr(p, attr)
        if val is None or val is False:
            continue
        w.line(f"{indent}neighbor {key} {cmd.format(val) if '{}' in cmd else cmd}")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False
