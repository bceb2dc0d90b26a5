"""Snapshot input, minimal: a Batfish-style snapshot directory of FRR integrated configs becomes a `Network`.

Layout read (the subset of Batfish's snapshot format that realfish understands today)::

    SNAPSHOT/
      configs/NAME.cfg | NAME.conf | NAME     FRR integrated config (frr.conf syntax), one per router
      batfish/layer1_topology.json            optional: physical links, Batfish's format
      batfish/realfish_segments.json          optional, realfish's own: exact L2 segments (LANs, stubs)

Routers. `hostname X` names the router (the file name without its extension otherwise). From each config only
what the runtimes need to build interfaces is read: `interface NAME` blocks with `ip address A/P`,
`ipv6 address A/P`, `mtu N` and `shutdown`, accepting FRR's keyword abbreviations (`int`, `ip addr`). The
config text itself goes to the router unchanged; FRR applies it and reports what it rejects. A vendor-neutral
device model replaces this parser later.

Links, first source found wins:
1. `realfish_segments.json`:
   ``{"segments": [{"name": N, "members": [{"hostname": H, "interfaceName": I}, ...]}, ...]}``.
   It says exactly what Batfish's layer1 format cannot: stub segments (one member) and segment names.
   Writers put a matching `layer1_topology.json` beside it for Batfish.
2. `layer1_topology.json`: ``{"edges": [{"node1": {"hostname", "interfaceName"}, "node2": {...}}]}``, edges in
   one or both directions. Each connected component of the edge graph is one L2 segment (routers do not
   bridge, so a LAN is written as edges between all its members). Interfaces it names that the config lacks
   are created; edges to hosts not in configs/ are dropped (as Batfish does) and reported.
3. Otherwise links are inferred from addresses, as Batfish's synthesizeTopology does: two interfaces of
   different routers are adjacent when one has an IPv4 address inside the other's subnet (/32s, loopbacks and
   shut-down interfaces excluded, /31s included); each connected component is one segment.
Interfaces in no segment stay unlinked.

Errors. Input that cannot be turned into a network raises `SnapshotError` naming the file and line. Input that
can be skipped (binary or unreadable files, files that are not configs, edges to unknown hosts) is reported as
a `SnapshotIssue`, appended to the caller's `issues` list and logged.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realfish.topology import Interface, IPInterface, Network, Router, Segment, valid_ifname

log = logging.getLogger(__name__)

CONFIG_SUFFIXES = (".cfg", ".conf", "")
LAYER1_FILE = Path("batfish") / "layer1_topology.json"
SEGMENTS_FILE = Path("batfish") / "realfish_segments.json"

# Router names become file and directory names (run dirs, FRR pathspaces): keep them tame.
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_BAD_IFNAME = ("is not a valid Linux interface name (at most 15 characters; letters, digits and . _ : @ - "
               "only, so no '/' or spaces)")


class SnapshotError(ValueError):
    """The snapshot cannot be loaded. `file` and `line` (1-based) say where, when known."""

    def __init__(self, message: str, file: str | Path | None = None, line: int | None = None):
        self.file = str(file) if file is not None else None
        self.line = line
        self.message = message
        where = self.file or ""
        if where and line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {message}" if where else message)


@dataclass
class SnapshotIssue:
    """Something in the snapshot that was skipped or not modelled; loading went on."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}{f':{self.line}' if self.line is not None else ''}: {self.message}"


class _Issues:
    def __init__(self, sink: list[SnapshotIssue] | None):
        self.sink = sink

    def add(self, file: str | Path, line: int | None, message: str) -> None:
        issue = SnapshotIssue(str(file), line, message)
        log.warning("%s", issue)
        if self.sink is not None:
            self.sink.append(issue)


# -- configs -------------------------------------------------------------------------------------------------


@dataclass
class ParsedConfig:
    """What `parse_frr_config` read from one file, beyond the `Router` itself."""

    router: Router
    hostname_line: int | None  # line of the `hostname` that named the router; None: named after the file
    shutdown: set[str]  # interfaces with `shutdown`


def _kw(token: str, word: str, min_len: int = 1) -> bool:
    """FRR accepts any unambiguous prefix of a keyword (`int`, `ip addr`)."""
    return len(token) >= min_len and word.startswith(token)


def _is_interface_block(toks: list[str]) -> bool:
    # `interface NAME [vrf V]` opens a block; `interface NAME area A` is ospf6d's (unindented) area statement.
    return _kw(toks[0], "interface", 3) and len(toks) >= 2 and not (len(toks) >= 3 and toks[2] == "area")


def parse_frr_config(text: str, source: str | Path, fallback_name: str,
                     issues: list[SnapshotIssue] | None = None) -> ParsedConfig:
    """Read hostname and interfaces from an FRR integrated config; the text is kept whole in `Router.config`.

    Raises SnapshotError (with file and line) on an invalid hostname, interface name or address.
    """
    src = str(source)
    rep = _Issues(issues)
    hostname: str | None = None
    hostname_line: int | None = None
    ifaces: dict[str, Interface] = {}
    mtus: dict[str, int] = {}
    shutdown: set[str] = set()
    current: str | None = None  # the interface whose block we are in

    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "!#":
            continue
        toks = stripped.split()
        if toks[0] in ("exit", "end", "quit", "exit-vrf"):
            current = None
            continue
        if raw[0] in " \t":  # inside a block: only interface blocks matter here
            if current is not None:
                _interface_line(ifaces[current], mtus, shutdown, toks, src, lineno, rep)
            continue
        if _kw(toks[0], "hostname", 4):
            if len(toks) != 2:
                raise SnapshotError("`hostname` takes exactly one name", src, lineno)
            if not _HOSTNAME_RE.match(toks[1]):
                raise SnapshotError(f"hostname {toks[1]!r} is not usable as a router name (letters, digits, "
                                    "'.', '_', '-'; at most 63 characters)", src, lineno)
            if hostname is not None and hostname != toks[1]:
                rep.add(src, lineno, f"hostname {toks[1]!r} replaces {hostname!r} (line {hostname_line})")
            hostname, hostname_line = toks[1], lineno
            current = None
        elif _is_interface_block(toks):
            current = toks[1]
            if not valid_ifname(current):
                raise SnapshotError(f"interface name {current!r} {_BAD_IFNAME}", src, lineno)
            if len(toks) >= 4 and toks[2] == "vrf":
                rep.add(src, lineno, f"interface {current} is in VRF {toks[3]}: VRFs are not modelled yet; "
                                     "it is linked as if it were in the default VRF")
            ifaces.setdefault(current, Interface(current))
        elif current is not None and _interface_line(ifaces[current], mtus, shutdown, toks, src, lineno, rep):
            pass  # unindented interface command: FRR stays in the interface node
        else:
            current = None  # any other top-level command leaves the interface node

    name = (hostname or fallback_name).lower()  # as Batfish names nodes: one name in answers, reports, the CLI
    if hostname is None and not _HOSTNAME_RE.match(name):
        raise SnapshotError(f"no `hostname` line, and the file name {name!r} is not usable as a router name "
                            "(letters, digits, '.', '_', '-')", src)
    router = Router(name, config=text, source=src)
    for iface in ifaces.values():
        if iface.name == "lo":  # every Router has lo already (ifindex 1, mtu 65536): merge into it
            lo = router.interfaces["lo"]
            lo.addresses.extend(a for a in iface.addresses if a not in lo.addresses)
        else:
            router.add_interface(iface)
        if iface.name in mtus:
            router.interfaces[iface.name].mtu = mtus[iface.name]
    return ParsedConfig(router, hostname_line, shutdown)


def _interface_line(iface: Interface, mtus: dict[str, int], shutdown: set[str], toks: list[str], src: str,
                    lineno: int, rep: _Issues) -> bool:
    """Apply one line of an interface block; False if it is not one of the interface commands read here."""
    if toks[0] in ("ip", "ipv6") and len(toks) >= 2 and _kw(toks[1], "address"):
        iface_addr = _address(toks, src, lineno, rep)
        if iface_addr not in iface.addresses:
            iface.addresses.append(iface_addr)
        return True
    if toks[0] == "mtu":
        if len(toks) != 2 or not toks[1].isdigit() or not 68 <= int(toks[1]) <= 65535:
            raise SnapshotError(f"`{' '.join(toks)}`: mtu must be an integer from 68 to 65535", src, lineno)
        mtus[iface.name] = int(toks[1])
        return True
    if _kw(toks[0], "shutdown", 4) and len(toks) == 1:
        shutdown.add(iface.name)
        return True
    if toks[0] == "no" and len(toks) == 2 and _kw(toks[1], "shutdown", 4):
        shutdown.discard(iface.name)
        return True
    return toks[0] == "description"


def _address(toks: list[str], src: str, lineno: int, rep: _Issues) -> IPInterface:
    if len(toks) < 3:
        raise SnapshotError(f"`{' '.join(toks)}` without an address", src, lineno)
    v6 = toks[0] == "ipv6"
    text = toks[2]
    if "/" not in text:
        if not v6 and len(toks) >= 5 and toks[3] == "peer":
            rep.add(src, lineno, f"point-to-point address {text} peer {toks[4]}: only the local address is "
                                 "modelled (as a /32)")
            text += "/32"
        elif not v6 and len(toks) >= 4 and re.match(r"^\d+\.\d+\.\d+\.\d+$", toks[3]):
            raise SnapshotError(f"`ip address {text} {toks[3]}` is address-and-mask syntax (IOS/EOS); FRR "
                                "expects A.B.C.D/M, and only FRR configs are supported so far", src, lineno)
        else:
            raise SnapshotError(f"address {text!r} has no prefix length (FRR expects "
                                f"{'X:X::X:X/M' if v6 else 'A.B.C.D/M'})", src, lineno)
    try:
        return ipaddress.IPv6Interface(text) if v6 else ipaddress.IPv4Interface(text)
    except ValueError as e:
        kind = "IPv6" if v6 else "IPv4"
        raise SnapshotError(f"invalid {kind} address {text!r}: {e}", src, lineno) from None


# -- the snapshot --------------------------------------------------------------------------------------------


def natural_key(s: str) -> list[Any]:
    """Sort key that puts r2 before r10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s)]


def _snapshot_root(path: Path) -> Path:
    if path.is_file():
        raise SnapshotError("is a file; give the snapshot directory (unzip a snapshot archive first)", path)
    if not path.is_dir():
        raise SnapshotError("no such snapshot directory", path)
    if (path / "configs").is_dir():
        return path
    # A zip of a snapshot usually holds one top-level directory: accept its extracted form too.
    subdirs = [d for d in path.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if len(subdirs) == 1 and (subdirs[0] / "configs").is_dir():
        return subdirs[0]
    raise SnapshotError("missing configs/ directory: a snapshot keeps one config file per device in configs/",
                        path / "configs")


def _read_config(path: Path, rep: _Issues) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as e:
        rep.add(path, None, f"skipped: cannot read ({e.strerror or e})")
        return None
    if b"\0" in data:
        rep.add(path, None, "skipped: binary file (contains NUL bytes), not a config")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        rep.add(path, line, f"skipped: not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start})")
        return None
    if not text.strip():
        rep.add(path, None, "skipped: empty file")
        return None
    return text


def load_snapshot(path: str | Path, issues: list[SnapshotIssue] | None = None) -> Network:
    """Load a snapshot directory into a `Network` (routers in natural file-name order, then segments).

    Pass a list as `issues` to receive what was skipped or not modelled; fatal problems raise SnapshotError.
    """
    root = _snapshot_root(Path(path))
    rep = _Issues(issues)
    net = Network()
    parsed: dict[str, ParsedConfig] = {}
    by_key: dict[str, str] = {}  # Batfish hostnames are case-insensitive

    for f in sorted((root / "configs").iterdir(), key=lambda p: natural_key(p.name)):
        if f.name.startswith("."):
            continue  # .gitkeep, .DS_Store: hidden files are never configs
        if f.is_dir():
            rep.add(f, None, "skipped: directory inside configs/ (configs are read from configs/ itself)")
            continue
        if f.suffix not in CONFIG_SUFFIXES:
            rep.add(f, None, "skipped: not a config file name (expected NAME.cfg, NAME.conf or NAME)")
            continue
        text = _read_config(f, rep)
        if text is None:
            continue
        pc = parse_frr_config(text, f, f.stem, issues)
        name = pc.router.name
        other = by_key.get(name.lower())
        if other is not None:
            first = parsed[other]
            raise SnapshotError(
                f"duplicate hostname {name!r}: already defined by {first.router.source}"
                f"{f':{first.hostname_line}' if first.hostname_line else ' (file name)'}; "
                "every device needs its own name", f, pc.hostname_line)
        by_key[name.lower()] = name
        parsed[name] = pc
        net.add_router(pc.router)

    if not net.routers:
        raise SnapshotError("no router configs found (configs/*.cfg, *.conf or files without extension)",
                            root / "configs")

    if (root / SEGMENTS_FILE).is_file():
        net.segments = segments_from_file(root / SEGMENTS_FILE, net, by_key)
    elif (root / LAYER1_FILE).is_file():
        net.segments = _segments_from_layer1(root / LAYER1_FILE, net, by_key, rep)
    else:
        net.segments = _segments_from_subnets(net, {n: p.shutdown for n, p in parsed.items()})
    try:
        net.validate()
    except ValueError as e:  # cannot happen for the sources above; keep the message pointing at the snapshot
        raise SnapshotError(str(e), root) from e
    return net


# -- links ---------------------------------------------------------------------------------------------------


def _load_json(path: Path) -> tuple[Any, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SnapshotError(f"cannot read: {e}", path) from None
    try:
        return json.loads(text), text
    except json.JSONDecodeError as e:
        raise SnapshotError(f"invalid JSON: {e.msg} (column {e.colno})", path, e.lineno) from None


def _line_of(text: str, needle: str) -> int | None:
    """Line where `needle` first appears in a JSON file (JSON parsers do not keep positions)."""
    pos = text.find(needle)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def _endpoint(obj: Any, path: Path, text: str, what: str) -> tuple[str, str]:
    if not (isinstance(obj, dict) and isinstance(obj.get("hostname"), str)
            and isinstance(obj.get("interfaceName"), str)):
        raise SnapshotError(f'{what}: expected an object with string fields "hostname" and "interfaceName", '
                            f"got {json.dumps(obj)[:120]}", path, _line_of(text, json.dumps(obj)[:40]))
    return obj["hostname"], obj["interfaceName"]


def _member(net: Network, by_key: dict[str, str], host: str, ifname: str, path: Path,
            text: str) -> tuple[str, str]:
    """Resolve (hostname, interface) on a known router, creating the interface if the config lacks it."""
    router = net.routers[by_key[host.lower()]]
    if ifname not in router.interfaces:
        if not valid_ifname(ifname):
            raise SnapshotError(f"interface name {ifname!r} (host {host}) {_BAD_IFNAME}", path,
                                _line_of(text, json.dumps(ifname)))
        router.add_interface(Interface(ifname))
    return router.name, ifname


def order_segments(net: Network, groups: Iterable[Iterable[tuple[str, str]]], prefix: str) -> list[Segment]:
    """Deterministic order: members by (router order, ifindex), segments by their first member."""
    rindex = {name: i for i, name in enumerate(net.routers)}

    def mkey(m: tuple[str, str]) -> tuple[int, int]:
        return rindex[m[0]], net.routers[m[0]].interfaces[m[1]].ifindex

    ordered = sorted((sorted(set(g), key=mkey) for g in groups), key=lambda ms: mkey(ms[0]))
    return [Segment(f"{prefix}{i}", ms) for i, ms in enumerate(ordered)]


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, x: tuple[str, str]) -> tuple[str, str]:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra

    def groups(self) -> list[list[tuple[str, str]]]:
        out: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for x in self.parent:
            out.setdefault(self.find(x), []).append(x)
        return list(out.values())


def _segments_from_layer1(path: Path, net: Network, by_key: dict[str, str], rep: _Issues) -> list[Segment]:
    data, text = _load_json(path)
    edges = data.get("edges") if isinstance(data, dict) else None
    if not isinstance(edges, list):
        raise SnapshotError('expected {"edges": [...]} (Batfish layer1 topology format)', path, 1)
    uf = UnionFind()
    unknown: set[str] = set()
    for n, edge in enumerate(edges):
        if not isinstance(edge, dict):
            raise SnapshotError(f"edge #{n}: expected an object with node1 and node2", path)
        h1, i1 = _endpoint(edge.get("node1"), path, text, f"edge #{n} node1")
        h2, i2 = _endpoint(edge.get("node2"), path, text, f"edge #{n} node2")
        missing = [h for h in (h1, h2) if h.lower() not in by_key]
        if missing:
            unknown.update(missing)
            continue
        a = _member(net, by_key, h1, i1, path, text)
        b = _member(net, by_key, h2, i2, path, text)
        if a == b:
            continue  # self-loop: Batfish ignores it too
        if "lo" in (a[1], b[1]):
            rep.add(path, _line_of(text, '"lo"'), f"edge #{n} {h1}:{i1} -- {h2}:{i2}: a loopback cannot be "
                                                  "linked; edge ignored")
            continue
        uf.union(a, b)
    for host in sorted(unknown):
        rep.add(path, _line_of(text, json.dumps(host)),
                f"edges to host {host!r} ignored: no config for it in configs/")
    return order_segments(net, uf.groups(), "seg")


def segments_from_file(path: Path, net: Network, by_key: dict[str, str]) -> list[Segment]:
    data, text = _load_json(path)
    segs = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(segs, list):
        raise SnapshotError('expected {"segments": [{"name": ..., "members": [...]}]}', path, 1)
    out: list[Segment] = []
    seen: dict[tuple[str, str], str] = {}
    for n, seg in enumerate(segs):
        if not (isinstance(seg, dict) and isinstance(seg.get("name"), str)
                and isinstance(seg.get("members"), list) and seg["members"]):
            line = _line_of(text, json.dumps(seg.get("name"))) if isinstance(seg, dict) else None
            raise SnapshotError(f'segment #{n}: expected a "name" and a non-empty "members" list', path, line)
        name = seg["name"]
        if any(s.name == name for s in out):
            raise SnapshotError(f"segment name {name!r} used twice", path, _line_of(text, json.dumps(name)))
        members = []
        for m in seg["members"]:
            host, ifname = _endpoint(m, path, text, f"segment {name}")
            if host.lower() not in by_key:
                raise SnapshotError(f"segment {name}: no router {host!r} in configs/", path,
                                    _line_of(text, json.dumps(host)))
            member = _member(net, by_key, host, ifname, path, text)
            if member in seen:
                raise SnapshotError(f"interface {host}:{ifname} is in segments {seen[member]} and {name}",
                                    path, _line_of(text, json.dumps(name)))
            seen[member] = name
            members.append(member)
        out.append(Segment(name, members))
    return out


def _segments_from_subnets(net: Network, shutdown: dict[str, set[str]]) -> list[Segment]:
    """Batfish's synthesizeTopology: adjacent when an address of one lies in the other's (non-/32) subnet."""
    buckets: dict[ipaddress.IPv4Network, list[tuple[str, str]]] = {}
    addrs: dict[tuple[str, str], list[ipaddress.IPv4Interface]] = {}
    for rname, router in net.routers.items():
        for iface in router.interfaces.values():
            loopback = iface.name == "lo" or iface.name.lower().startswith("loopback")
            if loopback or iface.name in shutdown[rname]:
                continue
            v4 = [a for a in iface.addresses if isinstance(a, ipaddress.IPv4Interface)]
            if not v4:
                continue
            addrs[(rname, iface.name)] = v4
            for a in v4:
                if a.network.prefixlen < 32:
                    buckets.setdefault(a.network, []).append((rname, iface.name))
    uf = UnionFind()
    for p, members in buckets.items():
        candidates = {m for i in range(32) for m in buckets.get(ipaddress.IPv4Network(
            (p.network_address, i), strict=False), [])
            if any(a.ip in p for a in addrs[m])}
        for m1 in members:
            ips1 = {a.ip for a in addrs[m1]}
            for m2 in candidates:
                if m1[0] != m2[0] and not ips1 & {a.ip for a in addrs[m2]}:
                    uf.union(m1, m2)
    return order_segments(net, uf.groups(), "seg")


# -- writing -------------------------------------------------------------------------------------------------


def _ep(member: tuple[str, str]) -> dict[str, str]:
    return {"hostname": member[0], "interfaceName": member[1]}


def layer1_json(segments: Iterable[Segment]) -> dict[str, Any]:
    """Batfish layer1 topology: every pair of members of each segment, in both directions."""
    edges = []
    for seg in segments:
        for i, a in enumerate(seg.members):
            for b in seg.members[i + 1:]:
                edges.append({"node1": _ep(a), "node2": _ep(b)})
                edges.append({"node1": _ep(b), "node2": _ep(a)})
    return {"edges": edges}


def segments_json(segments: Iterable[Segment], notes: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"segments": [{"name": s.name, "members": [_ep(m) for m in s.members]}
                                        for s in segments]}
    if notes:
        out["notes"] = notes
    return out


def write_snapshot(net: Network, outdir: str | Path, *, segments_file: bool = False, overwrite: bool = False,
                   notes: list[str] | None = None) -> Path:
    """Write `net` as a snapshot: configs/<router>.cfg (the config text) and batfish/layer1_topology.json.

    batfish/realfish_segments.json is written too when asked, or when layer1 cannot say it (one-member
    segments).
    An outdir whose configs/ already holds files is refused unless `overwrite`, which empties configs/ first.
    """
    out = Path(outdir)
    cfgdir = out / "configs"
    if cfgdir.is_dir() and any(cfgdir.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{cfgdir} already holds files; use an empty directory or overwrite=True")
        shutil.rmtree(cfgdir)
        for f in (LAYER1_FILE, SEGMENTS_FILE):
            (out / f).unlink(missing_ok=True)
    cfgdir.mkdir(parents=True, exist_ok=True)
    (out / "batfish").mkdir(exist_ok=True)
    for name, router in net.routers.items():
        (cfgdir / f"{name}.cfg").write_text(router.config)
    (out / LAYER1_FILE).write_text(_dump_rows(layer1_json(net.segments), "edges"))
    if segments_file or any(len(s.members) < 2 for s in net.segments):
        (out / SEGMENTS_FILE).write_text(_dump_rows(segments_json(net.segments, notes), "segments"))
    return out


def _dump_rows(doc: dict[str, Any], key: str) -> str:
    """JSON with one element of doc[key] per line: diffable, fast to write, and error lines mean something."""
    rows = ",\n  ".join(json.dumps(r) for r in doc[key])
    rest = "".join(f",\n {json.dumps(k)}: {json.dumps(v)}" for k, v in doc.items() if k != key)
    return f'{{"{key}": [\n  {rows}\n ]{rest}\n}}\n'

