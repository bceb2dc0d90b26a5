"""Each router's integrated config cut into its daemons' own config files, line by line where vtysh sends it.

FRR's integrated boot runs `vtysh -f frr.conf`: vtysh matches each line against its command table, which knows
the daemons that implement the command, and sends the line to those. A forked router's daemons instead read
their own part at start (FRR's per-daemon config reading, `-f`), so no vtysh process runs per router. The cut is
vtysh's own: one vtysh reads every router's config, one after another, its daemons stood in for by libreal
(native/src/split.c), which records the lines each would receive and answers success. Between two routers'
configs a line vtysh sends to every daemon (`XFRR_end_configuration`, then `XFRR_start_configuration`) marks
where the next router begins; the lines vtysh itself makes up (`enable`, `configure`, `end` around an
interface's `exit`, the markers) are not config.

Each file line keeps its line number in frr.conf, so a line a daemon rejects is reported where it was written.
One difference from vtysh applying the config to running daemons: when one daemon rejects a line, vtysh does not
send it on to the other daemons of its command; here each daemon that implements the command reads it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from realfish import frr
from realfish.runtime.libreal import libreal_path

_MARKS = ("XFRR_end_configuration", "XFRR_start_configuration")
_VTYSH_OWN = {"enable", "disable", "configure", "configure terminal", "end", *_MARKS}


@dataclass
class DaemonConfigs:
    """One router's config as its daemons read it: per daemon, (line number in frr.conf, line) in order."""
    files: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    errors: list[frr.ConfigError] = field(default_factory=list)  # lines vtysh's grammar rejects

    def text(self, daemon: str) -> str:
        return "".join(line + "\n" for _, line in self.files.get(daemon, []))

    def source_line(self, daemon: str, n: int) -> int | None:
        """frr.conf's line number of line `n` (from 1) of `daemon`'s file."""
        lines = self.files.get(daemon, [])
        return lines[n - 1][0] if 0 < n <= len(lines) else None


def split(configs: dict[str, str], daemons: list[str], timeout: float = 120.0) -> dict[str, DaemonConfigs]:
    """Every router's config (by name) cut per daemon, as vtysh would send it to `daemons`."""
    if not configs:
        return {}
    joined: list[str] = []
    starts: list[tuple[int, str]] = []  # (first line of the router's config in the joined text, router)
    for name, text in configs.items():
        if joined:
            joined += list(_MARKS)
        starts.append((len(joined) + 1, name))
        joined += text.rstrip("\n").split("\n")
    with tempfile.TemporaryDirectory(prefix="rfsplit-") as tmp:
        received, out = _run_vtysh(Path(tmp), "\n".join(joined) + "\n", daemons, timeout)
    result = {name: DaemonConfigs() for name in configs}
    names = list(configs)
    for daemon, lines in received.items():
        router = 0
        cursor = 0  # the last frr.conf line this daemon was given
        source = configs[names[0]].split("\n")
        for raw in lines:
            line = raw.rstrip("\n")
            if raw == _MARKS[0] + "\n":  # the marker read from the joined text, not the one vtysh adds at its end
                router += 1
                cursor = 0
                source = configs[names[router]].split("\n")
                continue
            if line.strip() in _VTYSH_OWN:
                continue
            cursor = _find(source, line, cursor)
            result[names[router]].files.setdefault(daemon, []).append((cursor, line))
    for e in frr.config_errors(out, joined):
        first, name = max((s for s in starts if s[0] <= e.line), default=starts[0])
        result[name].errors.append(frr.ConfigError(e.line - first + 1, e.text, e.message))
    return result


def _find(source: list[str], line: str, after: int) -> int:
    """frr.conf's number of the first line after `after` that reads `line` (vtysh sends lines as written)."""
    want = line.strip()
    for i in range(after, len(source)):
        if source[i].strip() == want:
            return i + 1
    return after


def _run_vtysh(tmp: Path, text: str, daemons: list[str], timeout: float) -> tuple[dict[str, list[str]], str]:
    """Run one vtysh on `text`, its daemons stood in for by libreal (native/src/split.c); return the lines each
    received (a line read from `text` ends with its newline, one vtysh made up does not), and vtysh's output."""
    (tmp / "frr.conf").write_text(text)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_PRELOAD": str(libreal_path()),
           "REALFISH_SPLIT": str(tmp / "split"), "REALFISH_SPLIT_DAEMONS": " ".join(daemons)}
    proc = subprocess.run([frr.VTYSH, "--vty_socket", str(tmp), "-f", str(tmp / "frr.conf")], env=env,
                          capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1, 2):  # vtysh exits non-zero when a line is rejected; a crash is not that
        raise RuntimeError(f"vtysh ended with status {proc.returncode} cutting configs per daemon: {output[-500:]}")
    received: dict[str, list[str]] = {d: [] for d in daemons}
    for record in (tmp / "split").read_bytes().split(b"\0")[:-1]:
        daemon, _, line = record.decode(errors="replace").partition("\t")
        received[daemon].append(line)
    return received, output


def write(rdir: Path, configs: DaemonConfigs, daemons: list[str]) -> None:
    """RUNDIR/DAEMON.conf for each of the router's daemons (empty where vtysh sent it nothing)."""
    for d in daemons:
        path = rdir / f"{d}.conf"
        path.write_text(configs.text(d))
        frr.give_to_frr(path)
