"""The snapshot directory's own formats: where realfish's files go, the errors that name them, the segments file,
and writing a `Network` as a snapshot. Reading a snapshot is `realfish.convert` (one loader for the CLI, the
service and the tests); this module holds what that loader and the writers share.

Files realfish reads or writes besides the configs::

    SNAPSHOT/
      batfish/layer1_topology.json            physical links, Batfish's format
      batfish/realfish_segments.json          realfish's own: exact L2 segments (LANs, stubs)

`realfish_segments.json` is
``{"segments": [{"name": N, "members": [{"hostname": H, "interfaceName": I}, ...]}, ...]}``. It says exactly what
Batfish's layer1 format cannot: stub segments (one member) and segment names. Writers put a matching
`layer1_topology.json` beside it for Batfish. When it is present it wins over layer1 and over links inferred from
addresses (realfish.convert).

Errors. Input that cannot be turned into a network raises `SnapshotError` naming the file and line. Input that
can be skipped is a `SnapshotIssue` (file, line, message), listed for the caller.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realfish.topology import Interface, Network, Segment, valid_ifname

LAYER1_FILE = Path("batfish") / "layer1_topology.json"
SEGMENTS_FILE = Path("batfish") / "realfish_segments.json"

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


# -- names ---------------------------------------------------------------------------------------------------


def natural_key(s: str) -> list[Any]:
    """Sort key that puts r2 before r10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s)]


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


def segments_from_file(path: Path, net: Network, by_key: dict[str, str]) -> list[Segment]:
    """The segments `realfish_segments.json` names (`by_key`: lower-cased router name -> name); an interface
    only the file names is created. Raises SnapshotError at the first thing it cannot use."""
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
    (out / LAYER1_FILE).write_text(dump_rows("edges", layer1_json(net.segments)["edges"]))
    if segments_file or any(len(s.members) < 2 for s in net.segments):
        (out / SEGMENTS_FILE).write_text(dump_rows("segments", segments_json(net.segments)["segments"],
                                                   {"notes": notes} if notes else None))
    return out


def dump_rows(key: str, rows: Iterable[Any], extra: dict[str, Any] | None = None) -> str:
    """JSON {key: rows, **extra} with one row per line: diffable, fast to write, and error lines mean something."""
    body = ",\n  ".join(json.dumps(r) for r in rows)
    rest = "".join(f",\n {json.dumps(k)}: {json.dumps(v)}" for k, v in (extra or {}).items())
    return f'{{"{key}": [\n  {body}\n ]{rest}\n}}\n'
