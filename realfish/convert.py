"""A Batfish snapshot (directory or zip) in, a runnable `Network` of FRR routers out, with every line accounted for.

    SNAPSHOT[.zip]/                 (or one top-level folder holding these, as pybatfish uploads it)
      configs/**                    device configs: format detected per file (realfish.parsers.detect)
      sonic_configs/DEVICE/         SONiC: config_db.json + frr.conf
      hosts/*.json, iptables/*      end hosts and their iptables-save files
      batfish/layer1_topology.json  physical links (else layer-3 edges are inferred from shared subnets)
      batfish/runtime_data.json     interface line status and bandwidth
      batfish/realfish_segments.json  realfish's own exact L2 segments (see realfish.snapshot)
      external_bgp_announcements.json  routes from outside, sent by hidden speakers (realfish.speakers)
      batfish/isp_config.json       ISP nodes and the Internet, as Batfish models them (realfish.isp)
      batfish/realfish_settings.json  realfish's own: {"explore": N}, the orders of events the service converges
                                    under (docs/explore.md); Batfish ignores the file

`convert_snapshot(path)` parses every file (never raising for a bad one: its FileStatus says FAILED and why),
builds the device model, renders each device as an FRR 8.4.4 config (realfish.render), infers the layer-3
edges the way Batfish does, and assembles the `Network` the runtimes run. Routers are named as Batfish names
nodes (hostnames, lower-cased); interfaces carry the user's names (`Interface.original_name`).

Bad input is reported, not fatal: unreadable, binary, oversized or undetectable files; duplicate hostnames
(the first file in name order keeps the name); duplicate addresses; zip members that would land outside the
extraction directory (zip-slip), links, absurd sizes. Extraction happens in a private temporary directory.

`write_conversion(conv, outdir)` writes what will run: OUTDIR/configs/NAME.cfg (FRR), the segments and layer1
files (so `realfish converge OUTDIR` runs exactly that), and OUTDIR/realfish/ with the name maps, the
layer-3 edges, the parse status per file and line, and the init issues.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import logging
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from realfish import announcements, isp, rejected, speakers
from realfish.model import Device, DeviceInterface
from realfish.parsers import parse_config, unread
from realfish.parsers.host import parse_host, parse_iptables
from realfish.parsers.sonic import parse_sonic
from realfish.render import Rendered, port_speed_mbps, render
from realfish.snapshot import (
    LAYER1_FILE,
    SEGMENTS_FILE,
    SnapshotError,
    SnapshotIssue,
    UnionFind,
    dump_rows,
    layer1_json,
    natural_key,
    order_segments,
    segments_from_file,
    segments_json,
)
from realfish.status import FAILED, KINDS, NOT_JSON, FileStatus, file_parse_status_rows, init_issues_rows, load_json
from realfish.topology import Interface, Network, Router, Segment

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 32 << 20  # one config
MAX_ARCHIVE_BYTES = 1 << 30  # a whole zip, uncompressed
MAX_ARCHIVE_MEMBERS = 100_000
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_TOP_DIRS = ("configs", "hosts", "sonic_configs", "batfish", "iptables", "aws_configs")

Edge = tuple[str, str, str, str]  # (node, interface, node, interface), the user's names
_MASKS = [(0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF for n in range(33)]


@dataclass
class ConvertedSnapshot:
    root: Path
    devices: dict[str, Device] = field(default_factory=dict)
    statuses: list[FileStatus] = field(default_factory=list)  # one per input file, Batfish's fileParseStatus
    other: list[FileStatus] = field(default_factory=list)  # batfish/*.json and other inputs: not in that answer
    rendered: dict[str, Rendered] = field(default_factory=dict)
    network: Network = field(default_factory=Network)
    edges: list[Edge] = field(default_factory=list)  # layer-3 edges, both directions
    explore: int = 1  # batfish/realfish_settings.json: orders of events the service converges under

    def status_of(self, file: str) -> FileStatus | None:
        return next((s for s in self.statuses + self.other if s.file == file), None)


# -- input: a directory or a zip -----------------------------------------------------------------------------


def extract_zip(path: Path, dest: Path, issues: FileStatus) -> None:
    """Extract safely: no member outside `dest` (zip-slip), no links, bounded size and count."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise SnapshotError(f"not a readable zip archive: {e}", path) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise SnapshotError(f"archive holds {len(infos)} members (more than {MAX_ARCHIVE_MEMBERS})", path)
        total = 0
        for info in infos:
            name = info.filename
            pure = PurePosixPath(name.replace("\\", "/"))
            if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
                issues.note(None, "error", name, "archive member would be written outside the snapshot "
                            "(absolute path or `..`): skipped")
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                issues.note(None, "error", name, "archive member is a symbolic link: skipped")
                continue
            if info.is_dir():
                continue
            if info.file_size > MAX_FILE_BYTES:
                issues.note(None, "error", name, f"archive member is {info.file_size} bytes (more than "
                            f"{MAX_FILE_BYTES}): skipped")
                continue
            total += info.file_size
            if total > MAX_ARCHIVE_BYTES:
                raise SnapshotError(f"archive expands to more than {MAX_ARCHIVE_BYTES} bytes", path)
            target = dest.joinpath(*pure.parts)
            if not target.resolve().is_relative_to(dest.resolve()):
                issues.note(None, "error", name, "archive member would be written outside the snapshot: skipped")
                continue
            try:
                # a member `a` and another `a/b` cannot both exist: mkdir or open fails with an OSError below
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    copied = 0
                    while chunk := src.read(1 << 20):
                        copied += len(chunk)
                        if copied > MAX_FILE_BYTES:  # the header lied about the size
                            raise ValueError("member larger than its header says")
                        out.write(chunk)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError) as e:
                if target.is_file():
                    target.unlink()
                issues.note(None, "error", name, f"archive member cannot be extracted ({e}): skipped")


def _find_root(path: Path) -> Path:
    if any((path / d).is_dir() for d in _TOP_DIRS):
        return path
    subdirs = [d for d in path.iterdir() if d.is_dir() and not d.name.startswith((".", "__MACOSX"))]
    if len(subdirs) == 1 and any((subdirs[0] / d).is_dir() for d in _TOP_DIRS):
        return subdirs[0]
    raise SnapshotError("no configs/, hosts/ or sonic_configs/ directory: a Batfish snapshot keeps device "
                        "configs in configs/ (or one top-level folder holding it)", path)


def _read(path: Path, st: FileStatus) -> str | None:
    """The file's text, or None with the reason in `st` (FAILED)."""
    try:
        if path.is_symlink():
            st.fail("symbolic link: not followed")
            return None
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            st.fail(f"file is {size} bytes, more than realfish reads ({MAX_FILE_BYTES})")
            return None
        data = path.read_bytes()
    except OSError as e:
        st.fail(f"cannot read: {e.strerror or e}")
        return None
    if b"\0" in data[:65536] or b"\0" in data:
        st.fail("binary file (contains NUL bytes), not a config")
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        st.note(line, "warning", "", f"not UTF-8 (byte {data[e.start]:#04x} at offset {e.start}): read as Latin-1")
        return data.decode("latin-1")


# -- the conversion ------------------------------------------------------------------------------------------


def convert_snapshot(path: str | Path) -> ConvertedSnapshot:
    """Parse, model, render and link a Batfish snapshot (see the module docstring)."""
    src = Path(path)
    if not src.exists():
        raise SnapshotError("no such snapshot directory or zip", src)
    if src.is_file():
        archive = FileStatus(src.name, "ZIP")
        with tempfile.TemporaryDirectory(prefix="realfish-snap-") as tmp:
            extract_zip(src, Path(tmp), archive)
            conv = _convert_dir(_find_root(Path(tmp)))
            conv.root = src
            if archive.notes:
                conv.other.append(archive)
            return conv
    return _convert_dir(_find_root(src))


def _rel(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def _files(d: Path) -> list[Path]:
    if not d.is_dir():
        return []
    out = [p for p in d.rglob("*") if not any(part.startswith(".") for part in p.relative_to(d).parts)
           and (p.is_file() or p.is_symlink())]
    return sorted(out, key=lambda p: natural_key(p.relative_to(d).as_posix()))


def _convert_dir(root: Path) -> ConvertedSnapshot:
    conv = ConvertedSnapshot(root)
    owner: dict[str, tuple[str, int | None]] = {}  # hostname -> (file, line)

    def add(dev: Device | None, st: FileStatus, fallback: str) -> None:
        if dev is None:
            return
        _name_device(dev, st, fallback)
        if dev.hostname in owner:
            first, line = owner[dev.hostname]
            st.fail(f"duplicate hostname {dev.hostname!r}: already defined by {first}"
                    f"{f':{line}' if line else ''}; this file is not loaded")
            st.nodes = []
            return
        owner[dev.hostname] = (st.file, _hostname_line(st))
        conv.devices[dev.hostname] = dev
        st.nodes = [dev.hostname]

    def readable(directory: str, fmt: str = "UNKNOWN") -> list[tuple[Path, str, FileStatus, str]]:
        """(file, relative name, status, text) of the files of `directory` that could be read; the others
        go to the statuses as FAILED."""
        out = []
        for f in _files(root / directory):
            st = FileStatus(_rel(root, f), fmt)
            text = _read(f, st)
            if text is None:
                conv.statuses.append(st)
            else:
                out.append((f, st.file, st, text))
        return out

    for f, rel, st, text in readable("configs"):
        dev, st2 = parse_config(text, rel)
        st2.notes = st.notes + st2.notes
        add(dev, st2, f.stem)
        conv.statuses.append(st2)

    for d in sorted((root / "sonic_configs").iterdir(), key=lambda p: natural_key(p.name)) \
            if (root / "sonic_configs").is_dir() else []:
        if not d.is_dir():
            continue
        parts: dict[str, tuple[str, str]] = {}
        for f, rel, st, text in readable(_rel(root, d), "SONIC"):
            kind = "config_db" if f.suffix == ".json" else "frr" if "frr" in f.name else None
            if kind is None or kind in parts:
                st.status = "IGNORED"
                st.note(None, "warning", "", "not a SONiC config_db*.json or frr*.conf (or a second one): ignored")
                conv.statuses.append(st)
                continue
            parts[kind] = (rel, text)
        if not parts:
            continue
        try:
            dev, sts = parse_sonic(parts.get("config_db"), parts.get("frr"), d.name)
        except Exception as e:  # never crash on a user's file
            log.exception("SONiC parser failed on %s", d)
            for rel, _ in parts.values():
                st = FileStatus(rel, "SONIC")
                st.fail(f"parser failed: {type(e).__name__}: {e}")
                conv.statuses.append(st)
            continue
        add(dev, sts[0], d.name)
        for s in sts:
            s.nodes = sts[0].nodes
            if any(x.status == FAILED for x in sts):
                s.status = FAILED
        conv.statuses.extend(sts)

    iptables: dict[str, tuple[list[Any], FileStatus]] = {}
    for _f, rel, st, text in readable("iptables", "IPTABLES"):
        rules, st2 = parse_iptables(text, rel)
        st2.notes = st.notes + st2.notes
        iptables[rel] = (rules, st2)
        conv.statuses.append(st2)
    for f, rel, st, text in readable("hosts", "HOST"):
        dev, st2 = parse_host(text, rel, f.stem)
        st2.notes = st.notes + st2.notes
        if dev is not None and dev.iptables_file:
            ref = PurePosixPath(dev.iptables_file)
            found = iptables.get(ref.as_posix()) or iptables.get(f"iptables/{ref.name}")
            if found is None:
                st2.note(None, "warning", "", f"iptables file {dev.iptables_file} is not in the snapshot")
            else:
                dev.iptables = found[0]
        add(dev, st2, f.stem)
        conv.statuses.append(st2)

    _other_inputs(conv)
    _check_addresses(conv)
    for name, dev in conv.devices.items():
        try:
            conv.rendered[name] = render(dev)
        except Exception as e:  # a renderer bug must not lose the other devices
            log.exception("render failed for %s", name)
            failed_st = conv.status_of(dev.source)
            if failed_st is not None:
                failed_st.note(None, "error", "", f"cannot render an FRR config: {type(e).__name__}: {e}")
            continue
        owner_st = conv.status_of(dev.source)
        if owner_st is not None:
            for rn in conv.rendered[name].notes:
                owner_st.note(rn.line, "unsupported", "", rn.message)
    rejected.fold(conv, rejected.dry_run({name: r.config for name, r in conv.rendered.items()}))
    for dev in conv.devices.values():
        unread.record(dev, conv.status_of(dev.source))
    _build_network(conv)
    _outside(conv)
    conv.network.validate()
    return conv


def _hostname_line(st: FileStatus) -> int | None:
    return next((n.line for n in st.notes if n.text.lower().startswith("hostname")), None)


def _name_device(dev: Device, st: FileStatus, fallback: str) -> None:
    if not dev.hostname:
        dev.hostname = fallback.lower()
        dev.original_hostname = dev.original_hostname or fallback
        st.note(None, "warning", "", f"no hostname: named after the file ({dev.hostname})")
    if not _NAME_RE.match(dev.hostname):
        safe = re.sub(r"[^a-z0-9._-]", "_", dev.hostname)[:63].lstrip("._-") or "device"
        st.note(_hostname_line(st), "warning", "", f"hostname {dev.hostname!r} is used as {safe!r} (router names "
                "become file names: letters, digits, '.', '_', '-')")
        dev.hostname = safe


SETTINGS = "batfish/realfish_settings.json"


def read_settings(conv: ConvertedSnapshot) -> None:
    """realfish's own settings for the snapshot (a pybatfish user has no command line): {"explore": N}. A bad
    value is an error note on the file and leaves the default; an unknown key a warning."""
    path = conv.root / SETTINGS
    if not path.is_file():
        return
    st = FileStatus(SETTINGS, "JSON")
    conv.other.append(st)
    text = _read(path, st)
    doc = NOT_JSON if text is None else load_json(text, st)
    if doc is NOT_JSON:
        return
    if not isinstance(doc, dict):
        st.fail('expected a JSON object, e.g. {"explore": 10}')
        return
    for key, value in doc.items():
        if key != "explore":
            st.note(None, "warning", "", f"unknown setting {key!r} is ignored (realfish knows: explore)")
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            conv.explore = value
        else:
            st.note(None, "error", "", f"explore must be a whole number of orders of events, 1 or more, not "
                                       f"{json.dumps(value)}; the snapshot converges under one order")


def _other_inputs(conv: ConvertedSnapshot) -> None:
    root = conv.root
    read_settings(conv)
    rd = root / "batfish" / "runtime_data.json"
    if rd.is_file():
        st = FileStatus("batfish/runtime_data.json", "RUNTIME_DATA")
        text = _read(rd, st)
        if text is not None:
            _runtime_data(conv, text, st)
        conv.other.append(st)
    _blacklists(conv)
    if (root / isp.FILE).is_file():
        st = FileStatus(isp.FILE, "JSON")
        conv.other.append(st)
        text = _read(root / isp.FILE, st)
        if text is not None:
            nodes = isp.devices(isp.read_isp_config(text, conv.devices, st), set(conv.devices), st)
            for dev in nodes:
                conv.devices[dev.hostname] = dev
            st.nodes = [d.hostname for d in nodes]


def _outside(conv: ConvertedSnapshot) -> None:
    """Routes from outside the snapshot: Batfish's external BGP announcements, sent by hidden speakers."""
    path = announcements.find_file(conv.root)
    if path is None:
        return
    st = FileStatus(_rel(conv.root, path), "JSON")
    conv.other.append(st)
    for other in announcements.FILES:
        if (conv.root / other).is_file() and conv.root / other != path:
            st.note(None, "warning", other, f"{other} is ignored: {st.file} takes its place (as in Batfish)")
    text = _read(path, st)
    if text is None:
        return
    anns = announcements.read_announcements(text, conv.devices, st)
    linux = {(a.dst_node, a.dst_interface): conv.rendered[a.dst_node].linux[a.dst_interface]
             for a in anns if a.dst_node in conv.rendered}
    sps, left = speakers.from_announcements([a for a in anns if a.dst_node in conv.rendered], linux,
                                            set(conv.network.routers))
    for a, why in left:
        st.note(None, "unsupported", f"announcement #{a.index}", why)
    for why in speakers.attach(conv.network, sps):
        st.note(None, "unsupported", "", why)


def _runtime_data(conv: ConvertedSnapshot, text: str, st: FileStatus) -> None:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        st.fail(f"invalid JSON: {e.msg}", e.lineno)
        return
    data = doc.get("runtimeData") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        st.fail('expected {"runtimeData": {HOST: {"interfaces": {...}}}}', 1)
        return
    for host, hd in data.items():
        dev = conv.devices.get(str(host).lower())
        ifaces = hd.get("interfaces") if isinstance(hd, dict) else None
        if dev is None or not isinstance(ifaces, dict):
            st.note(None, "warning", str(host), "no such device (or no interfaces): ignored")
            continue
        for name, attrs in ifaces.items():
            iface = dev.find_interface(str(name))
            if iface is None or not isinstance(attrs, dict):
                st.note(None, "warning", f"{host} {name}", "no such interface: ignored")
                continue
            if attrs.get("lineUp") is False:
                _deactivate(dev, iface)
            bw = attrs.get("bandwidth")
            if isinstance(bw, int | float) and bw > 0:
                iface.bandwidth_kbps = max(1, int(bw // 1000))
            st.note(None, "translated", f"{host} {name}")


def _blacklists(conv: ConvertedSnapshot) -> None:
    """Batfish's deactivations (what `fork_snapshot(deactivate_nodes=..., deactivate_interfaces=...)` writes):
    `node_blacklist` (a JSON list of hostnames) takes every interface of those nodes down, as Batfish's
    processNodeBlacklist does (the node stays in the snapshot, dark); the legacy `interface_blacklist` (a JSON
    list of {"hostname", "interface"}) takes those interfaces down, like runtime_data.json's lineUp false.
    Batfish reads either file from batfish/ first, then from the snapshot's top folder."""
    for name in ("node_blacklist", "interface_blacklist"):
        path = next((p for p in (conv.root / "batfish" / name, conv.root / name) if p.is_file()), None)
        if path is None:
            continue
        st = FileStatus(_rel(conv.root, path), "JSON")
        conv.other.append(st)
        text = _read(path, st)
        try:
            items = json.loads(text) if text is not None else None
        except json.JSONDecodeError as e:
            st.fail(f"invalid JSON: {e.msg} (column {e.colno})", e.lineno)
            continue
        if not isinstance(items, list):
            if text is not None:
                st.fail("expected a JSON list of " + ("hostnames" if name == "node_blacklist" else
                                                      '{"hostname", "interface"} pairs'))
            continue
        for item in items:
            if name == "node_blacklist":
                dev = conv.devices.get(str(item).lower())
                if dev is None:
                    st.note(None, "warning", str(item), "no such node: ignored")
                    continue
                for each in dev.interfaces.values():
                    _deactivate(dev, each)
                st.note(None, "translated", str(item), "node deactivated: all its interfaces are down")
                continue
            pair = item if isinstance(item, dict) else {}
            host = str(pair.get("hostname", "")).lower()
            dev = conv.devices.get(host)
            iface = dev.find_interface(str(pair.get("interface"))) if dev is not None else None
            if dev is None or iface is None:
                st.note(None, "warning", json.dumps(item), "no such node interface: ignored")
                continue
            _deactivate(dev, iface)
            st.note(None, "translated", f"{host} {iface.name}", "interface deactivated")


_ADDRESS_LINE = re.compile(r"^\s*(?:ip|ipv6)\s+address\s", re.I)
_BLOCK_END = re.compile(r"^\s*(?:!|exit\b|end\b|router\s|route-map\s|line\s|vrf\s|ip\s+route\s)", re.I)


def _deactivate(dev: Device, iface: DeviceInterface) -> None:
    """Take an interface down: no addresses, no routing on it (the renderer's meaning of shutdown). An FRR
    device runs its own frr.conf as written, so its address lines for that interface are dropped there too."""
    iface.shutdown = True
    if dev.frr_passthrough is None:
        return
    out, current = [], None
    for line in dev.frr_passthrough.splitlines(keepends=True):
        words = line.split()
        if words and words[0].lower() in ("interface", "int") and len(words) >= 2:
            current = dev.find_interface(words[1])
        elif _BLOCK_END.match(line):
            current = None
        elif current is iface and _ADDRESS_LINE.match(line):
            continue
        out.append(line)
    dev.frr_passthrough = "".join(out)


def _check_addresses(conv: ConvertedSnapshot) -> None:
    """Duplicate addresses (same IP on two interfaces) are warned about on every file involved."""
    seen: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, list[tuple[Device, str]]] = {}
    for dev in conv.devices.values():
        for iface in dev.interfaces.values():
            if iface.shutdown:
                continue
            for a in iface.addresses:
                seen.setdefault(a.ip, []).append((dev, iface.name))
    for ip, users in seen.items():
        if len(users) < 2:
            continue
        who = ", ".join(f"{d.hostname}:{i}" for d, i in users)
        for dev, iname in users:
            st = conv.status_of(dev.source)
            if st is not None:
                st.note(dev.interfaces[iname].line, "warning", "", f"address {ip} is assigned more than once "
                        f"({who}); both keep it, as on the devices, and traffic to it is ambiguous")


# -- topology ------------------------------------------------------------------------------------------------


def _l3_interfaces(dev: Device) -> list[tuple[str, list[ipaddress.IPv4Interface]]]:
    out = []
    for iface in dev.interfaces.values():
        if iface.shutdown or iface.switchport or iface.loopback or iface.kind == "null":
            continue
        v4 = [a for a in iface.addresses if isinstance(a, ipaddress.IPv4Interface)]
        if v4:
            out.append((iface.name, v4))
    return out


def infer_l3_edges(devices: dict[str, Device]) -> list[Edge]:
    """Batfish's synthesizeL3Topology without a layer-1 file: an interface with a (non-/32) subnet P is adjacent
    to each interface of another node that shares no address with it, has an address in P, and whose own subnet
    starts where P starts, masked to its length (Batfish's candidates: P, its supernets, and its subnets that
    begin at P's first address; 10.0.0.130/25 is not linked to 10.0.0.1/24). Both directions."""
    buckets: dict[ipaddress.IPv4Network, list[tuple[str, str]]] = {}
    addrs: dict[tuple[str, str], list[ipaddress.IPv4Interface]] = {}
    for host, dev in devices.items():
        for name, v4 in _l3_interfaces(dev):
            addrs[(host, name)] = v4
            for a in v4:
                if a.network.prefixlen < 32:
                    buckets.setdefault(a.network, []).append((host, name))
    # every interface address by value: the interfaces with an address in a subnet are one range of it (a scan of
    # every interface per subnet took 46 s for a k=16 fat-tree's 2,048 subnets and 5,120 interfaces)
    by_ip = sorted((int(a.ip), m) for m, v4 in addrs.items() for a in v4)
    subnets = {m: {(int(a.network.network_address), a.network.prefixlen) for a in v4} for m, v4 in addrs.items()}
    keys = [ip for ip, _ in by_ip]
    edges: set[Edge] = set()
    for p, members in buckets.items():
        lo = bisect.bisect_left(keys, int(p.network_address))
        hi = bisect.bisect_right(keys, int(p.broadcast_address))
        base = int(p.network_address)
        starts = {(base & _MASKS[n], n) for n in range(32)}
        cands = {m for _, m in by_ip[lo:hi] if not subnets[m].isdisjoint(starts)}
        for m1 in members:
            ips1 = {a.ip for a in addrs[m1]}
            for m2 in cands:
                if m1[0] != m2[0] and not ips1 & {a.ip for a in addrs[m2]}:
                    edges.add((m1[0], m1[1], m2[0], m2[1]))
                    edges.add((m2[0], m2[1], m1[0], m1[1]))
    return sorted(edges)


def _layer1_edges(conv: ConvertedSnapshot, path: Path, st: FileStatus) -> list[Edge] | None:
    text = _read(path, st)
    if text is None:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        st.fail(f"invalid JSON: {e.msg} (column {e.colno})", e.lineno)
        return None
    edges = doc.get("edges") if isinstance(doc, dict) else None
    if not isinstance(edges, list):
        st.fail('expected {"edges": [...]} (Batfish layer1 topology format)', 1)
        return None
    out: set[Edge] = set()
    for n, edge in enumerate(edges):
        try:
            h1, i1 = str(edge["node1"]["hostname"]).lower(), str(edge["node1"]["interfaceName"])
            h2, i2 = str(edge["node2"]["hostname"]).lower(), str(edge["node2"]["interfaceName"])
        except (KeyError, TypeError):
            st.note(None, "error", f"edge #{n}", "expected node1/node2 with hostname and interfaceName")
            continue
        ends = []
        for h, i in ((h1, i1), (h2, i2)):
            dev = conv.devices.get(h)
            iface = dev.find_interface(i) if dev else None
            if iface is None:
                st.note(None, "warning", f"edge #{n}", f"{h}:{i} is not a known device interface: edge ignored")
                break
            ends.append((h, iface.name))
        if len(ends) == 2 and ends[0] != ends[1]:
            out.add((ends[0][0], ends[0][1], ends[1][0], ends[1][1]))
            out.add((ends[1][0], ends[1][1], ends[0][0], ends[0][1]))
    return sorted(out)


def _build_network(conv: ConvertedSnapshot) -> None:
    net = Network()
    for name in sorted(conv.rendered, key=natural_key):
        dev, rend = conv.devices[name], conv.rendered[name]
        router = Router(name, config=rend.config, source=str(conv.root / dev.source), kind=dev.kind)
        linux = rend.linux
        for iface in dev.interfaces.values():
            if iface.kind == "null":
                continue
            lname = linux[iface.name]
            addrs = [] if iface.shutdown or iface.switchport else list(iface.addresses)
            orig = iface.name if iface.name != lname else ""
            if lname == "lo":
                lo = router.interfaces["lo"]
                lo.addresses.extend(a for a in addrs if a not in lo.addresses)
                lo.original_name = orig
                continue
            router.add_interface(Interface(lname, addrs, mtu=iface.mtu or 1500, original_name=orig,
                                           speed_mbps=port_speed_mbps(dev, iface)))
        net.add_router(router)
    l1 = conv.root / LAYER1_FILE
    seg_file = conv.root / SEGMENTS_FILE
    l3 = infer_l3_edges(conv.devices)
    if seg_file.is_file():
        by_key = {n.lower(): n for n in net.routers}
        try:
            net.segments = segments_from_file(seg_file, net, by_key)
        except SnapshotError as e:
            st = FileStatus(SEGMENTS_FILE.as_posix(), "JSON")
            st.fail(str(e), e.line)
            conv.other.append(st)
            net.segments = _segments(conv, net, l3)
        conv.edges = l3
    elif l1.is_file():
        st = FileStatus(LAYER1_FILE.as_posix(), "LAYER1")
        edges = _layer1_edges(conv, l1, st)
        conv.other.append(st)
        if edges is None:
            edges = l3
        l3set = set(l3)
        conv.edges = [e for e in edges if e in l3set]  # layer-3 edges: on a layer-1 link and in one subnet
        net.segments = _segments(conv, net, edges)
    else:
        conv.edges = l3
        net.segments = _segments(conv, net, l3)
    net.validate()
    conv.network = net


def _segments(conv: ConvertedSnapshot, net: Network, edges: list[Edge]) -> list[Segment]:
    uf = UnionFind()
    for h1, i1, h2, i2 in edges:
        if h1 not in net.routers or h2 not in net.routers:
            continue
        a = (h1, conv.rendered[h1].linux[i1])
        b = (h2, conv.rendered[h2].linux[i2])
        if "lo" in (a[1], b[1]):
            continue
        uf.union(a, b)
    return order_segments(net, uf.groups(), "seg")


# -- entry points --------------------------------------------------------------------------------------------


def load_network(path: str | Path, issues: list[SnapshotIssue] | None = None) -> Network:
    """The one way a snapshot becomes a runnable `Network` (`realfish converge`, `replay`, the tests, the
    topotests): converted exactly as the service and `realfish check` convert it (FRR configs run as written,
    vendor configs rendered, deactivations applied), with every line that is not translated listed in `issues`.
    Raises SnapshotError only when there is no snapshot or no device in it."""
    p = Path(path)
    conv = convert_snapshot(p)
    for st in conv.statuses + conv.other:
        for n in st.issues():
            if issues is not None:
                issues.append(SnapshotIssue(st.file, n.line, f"{n.kind}: {n.text} {n.message}".strip()))
    if not conv.network.routers:
        raise SnapshotError("no device could be loaded from the snapshot (see the parse status: "
                            "`realfish convert SNAPSHOT OUTDIR`)", p)
    return conv.network


def write_conversion(conv: ConvertedSnapshot, outdir: str | Path, overwrite: bool = False) -> Path:
    """Write the FRR configs, name maps, topology and status (see the module docstring). Everything goes
    under `outdir`; router names were checked to be plain file names."""
    out = Path(outdir)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty; give an empty or new directory")
        for sub in ("configs", "batfish", "realfish"):
            shutil.rmtree(out / sub, ignore_errors=True)
    (out / "configs").mkdir(parents=True, exist_ok=True)
    (out / "batfish").mkdir(exist_ok=True)
    meta = out / "realfish"
    meta.mkdir(exist_ok=True)
    for name, router in conv.network.routers.items():
        target = (out / "configs" / f"{name}.cfg")
        assert target.resolve().parent == (out / "configs").resolve(), name
        target.write_text(router.config)
    net = conv.network
    (out / LAYER1_FILE).write_text(dump_rows("edges", layer1_json(net.segments)["edges"]))
    (out / SEGMENTS_FILE).write_text(
        dump_rows("segments", segments_json(net.segments)["segments"]))
    maps = {name: {"hostname": conv.devices[name].original_hostname or name, "kind": r.kind,
                   "format": conv.devices[name].format, "source": conv.devices[name].source,
                   "interfaces": r.name_map} if name in conv.devices else
            {"hostname": name, "kind": r.kind, "format": "FRR", "source": r.source, "interfaces": r.name_map}
            for name, r in net.routers.items()}
    (meta / "name_maps.json").write_text(json.dumps(maps, indent=1) + "\n")
    edges = [{"node1": {"hostname": a, "interfaceName": b}, "node2": {"hostname": c, "interfaceName": d}}
             for a, b, c, d in conv.edges]
    (meta / "layer3_edges.json").write_text(dump_rows("edges", edges))
    (meta / "file_parse_status.json").write_text(json.dumps(file_parse_status_rows(conv.statuses), indent=1) + "\n")
    (meta / "init_issues.json").write_text(
        json.dumps(init_issues_rows(conv.statuses + conv.other), indent=1) + "\n")
    (meta / "parse_status.json").write_text(
        json.dumps([s.to_json() for s in sorted(conv.statuses + conv.other, key=lambda s: s.file)], indent=1) + "\n")
    return out


def summary(conv: ConvertedSnapshot) -> dict[str, Any]:
    counts: dict[str, int] = {k: sum(s.count(k) for s in conv.statuses + conv.other) for k in KINDS}
    by_status: dict[str, int] = {}
    for s in conv.statuses:
        by_status[s.status] = by_status.get(s.status, 0) + 1
    return {"routers": sum(1 for r in conv.network.routers.values() if r.kind == "router"),
            "hosts": sum(1 for r in conv.network.routers.values() if r.kind == "host"),
            "segments": len(conv.network.segments), "layer3_edges": len(conv.edges), "files": by_status,
            "lines": counts}
