"""A recorded run: what each router read from the others, and when (the format, read and written here).

A recorded run (`Emulation(record=DIR)`, `realfish converge --record DIR`) leaves in DIR:
  ROUTER.DAEMON.rec   what each daemon read from its emulated TCP connections and raw IP sockets, and when, in
                      virtual ns (native/src/record.c writes it: connects and their outcomes, accepts, every
                      read's bytes, every packet from another router; and how its writes and sends went);
  meta.json           where the virtual clock started, each router's index and boot instant;
  clock               every instant the virtual clock moved to (int64 ns), where a replay fires timers;
  fibs.json           each router's FIB at the end of the run: the state a replay must reach.

The replayer (replayer.py) feeds a recording to routers that run alone; `compare` judges the state they reach
against fibs.json. (docs/replay.md says what the recording cannot pin down.)
"""

from __future__ import annotations

import array
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEAD = struct.Struct("<qIIq")  # struct rec_head in record.c: vtime, kind, len, conn
REPLAYED_DAEMONS = ("bgpd", "ospfd", "ospf6d")  # the daemons with inputs from other routers; the rest read their own


class RecordingError(ValueError):
    pass


@dataclass(slots=True)
class Event:
    vtime: int
    kind: str  # c r a d e w p s k (record.c)
    conn: int
    data: bytes
    poll: int = 0  # the daemon's event loop polls before it ('k' records; replayer._stream counts them)


def read_events(path: Path, length: int | None = None) -> list[Event]:
    """The records of one file (up to `length` bytes: where the run ended)."""
    raw = path.read_bytes()[:length]
    out, off = [], 0
    while off < len(raw):
        if off + HEAD.size > len(raw):
            raise RecordingError(f"{path}: truncated record header at byte {off}")
        vtime, kind, n, conn = HEAD.unpack_from(raw, off)
        off += HEAD.size
        if off + n > len(raw) or chr(kind) not in "cradewpsk":
            raise RecordingError(f"{path}: bad record at byte {off - HEAD.size} (kind {kind}, length {n})")
        out.append(Event(vtime, chr(kind), conn, raw[off:off + n]))
        off += n
    return out


class Recording:
    """A recorded run's directory."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        meta = self.dir / "meta.json"
        if not meta.is_file():
            raise RecordingError(f"{self.dir}: not a realfish recording (no meta.json)")
        self.meta: dict[str, Any] = json.loads(meta.read_text())
        if "boot" not in self.meta:
            raise RecordingError(f"{meta}: the recorded run never booted its routers")

    @staticmethod
    def begin(directory: str | Path, start_ns: int, offset_ns: int, routers: list[str]) -> Path:
        """Prepare DIR for a new recording (an earlier one there is replaced)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.rec"):
            old.unlink()
        for name in ("fibs.json", "meta.json", "clock"):
            (d / name).unlink(missing_ok=True)
        meta = {"start_ns": start_ns, "offset_ns": offset_ns, "index": {r: i for i, r in enumerate(routers)}}
        (d / "meta.json").write_text(json.dumps(meta, indent=1))
        return d

    @staticmethod
    def update(directory: str | Path, **items: Any) -> None:
        path = Path(directory) / "meta.json"
        meta = json.loads(path.read_text())
        meta.update(items)
        path.write_text(json.dumps(meta, indent=1))

    def events(self, router: str, daemon: str) -> list[Event]:
        path = self.dir / f"{router}.{daemon}.rec"
        return read_events(path, self.meta.get("lengths", {}).get(path.name)) if path.exists() else []

    @staticmethod
    def end(directory: str | Path, end_ns: int, moves: list[int]) -> None:
        """The recorded run ends: its last instant, and where its clock moved up to there."""
        Recording.update(directory, end_ns=end_ns)
        (Path(directory) / "clock").write_bytes(array.array("q", [m for m in moves if m <= end_ns]).tobytes())

    def instants(self) -> list[int]:
        path = self.dir / "clock"
        return array.array("q", path.read_bytes()).tolist() if path.exists() else []

    def fibs(self) -> dict[str, list[dict[str, Any]]]:
        path = self.dir / "fibs.json"
        if not path.exists():
            raise RecordingError(f"{path} is missing: the recorded run did not finish")
        data: dict[str, list[dict[str, Any]]] = json.loads(path.read_text())
        return data

    def check(self, routers: list[str]) -> None:
        for r in routers:
            if r not in self.meta["index"]:
                raise RecordingError(f"{self.dir}: router {r!r} was not in the recorded run")


def compare(recorded: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> list[str]:
    """Differences between two FIBs (report JSON entries), as lines; none means the same state."""
    def keyed(fib: list[dict[str, Any]]) -> dict[str, Any]:
        return {e["prefix"]: sorted(json.dumps(h, sort_keys=True) for h in e.get("nexthops", [])) for e in fib}

    a, b = keyed(recorded), keyed(replayed)
    out = [f"{p}: recorded only" for p in sorted(a.keys() - b.keys())]
    out += [f"{p}: replayed only" for p in sorted(b.keys() - a.keys())]
    out += [f"{p}: next hops {a[p]} recorded, {b[p]} replayed" for p in sorted(a.keys() & b.keys()) if a[p] != b[p]]
    return out
