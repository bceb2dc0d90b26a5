"""How realfish runs FRR 8.4.4 daemons, the same way for the emulation and for the namespace baseline.

Daemons start with an empty config file, then the router's integrated frr.conf is applied by
`vtysh -f`, exactly as FRR's own integrated-config boot does: vtysh knows which daemon owns each line and
reports a rejected line with its number. Each router's files (vty sockets, zserv socket, pid files, logs)
live in its own directory; FRR's `-N` pathspace keeps anything else it creates apart from other routers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRR_SBIN = Path("/usr/lib/frr")
VTYSH = "vtysh"
FRR_USER = "frr"  # Debian's frr user is a member of frrvty, which FRR requires of the daemons' user
FRR_RUN = Path("/var/run/frr")
FRR_CRASHLOG = Path("/var/tmp/frr")


class FrrMissing(RuntimeError):
    pass


def check_installed() -> None:
    missing = [d for d in ("zebra", "staticd", "bgpd") if not (FRR_SBIN / d).exists()]
    if missing or shutil.which(VTYSH) is None:
        raise FrrMissing("FRR is not installed (need /usr/lib/frr/{zebra,staticd,bgpd} and vtysh): "
                         "apt-get install frr, or run `make demo` which installs it")


def pathspace(run_id: str, router: str) -> str:
    return f"rf{run_id}-{router}"


def daemon_argv(daemon: str, rdir: Path, ns: str) -> list[str]:
    """Command line of one daemon. `-P 0` disables the TCP vty: the vty is the UNIX socket in rdir."""
    argv = [
        str(FRR_SBIN / daemon),
        "-N", ns,
        "--vty_socket", str(rdir),
        "-z", str(rdir / "zserv.api"),
        "-i", str(rdir / f"{daemon}.pid"),
        "-f", str(rdir / "empty.conf"),
        "-P", "0",
        "-u", FRR_USER, "-g", FRR_USER,
        "--log", "stdout",
        "--limit-fds", "1024",
    ]
    return argv


def prepare_router_dir(rdir: Path, config: str) -> None:
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "empty.conf").write_text("")
    (rdir / "frr.conf").write_text(config)
    give_to_frr(rdir, rdir / "empty.conf", rdir / "frr.conf")


def give_to_frr(*paths: Path) -> None:
    """Owned by FRR's user: what a daemon opens after it dropped its privileges (a forked router's daemons open
    their logs, control channel and address table then)."""
    frr = _frr_ids()
    if frr is not None:
        for p in paths:
            os.chown(p, *frr)


def _frr_ids() -> tuple[int, int] | None:
    import pwd

    try:
        pw = pwd.getpwnam(FRR_USER)
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


@dataclass
class ConfigError:
    line: int
    text: str
    message: str


_VTYSH_ERR = re.compile(r"^line (\d+): (%.*?)(?::\s(.*))?$")
_DAEMON_ERR = re.compile(r"^line (\d+): Failure to communicate\[\d+\] to (\S+?),? line:\s*(.*)$")


def apply_config(rdir: Path, config_file: Path, timeout: float = 60.0,
                 wrap: list[str] | None = None) -> tuple[list[ConfigError], str]:
    """Apply an integrated config with vtysh; return the lines it rejected and its raw output."""
    cmd = (wrap or []) + [VTYSH, "--vty_socket", str(rdir), "-f", str(config_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    return config_errors(out, config_file.read_text().splitlines()), out


def config_errors(out: str, lines: list[str]) -> list[ConfigError]:
    """The lines vtysh reported as rejected in its output (`line N: % ...` from vtysh's grammar; a daemon's own
    message on the line before vtysh's `line N: Failure to communicate ...`), with their text from the config's
    `lines`."""
    errors = []
    said = ""  # a daemon's own message comes on the line before vtysh's "line N: Failure to communicate ..."
    for row in out.splitlines():
        row = row.strip()
        m = _VTYSH_ERR.match(row) or _DAEMON_ERR.match(row)
        if m is None:
            said = row if row.startswith("%") else said
            continue
        n = int(m.group(1))
        text = lines[n - 1].strip() if 0 < n <= len(lines) else (m.group(3) or "")
        message = m.group(2) if m.re is _VTYSH_ERR else f"{said or '% rejected'} ({m.group(2)})"
        errors.append(ConfigError(n, text, message))
        said = ""
    return errors


# A daemon reading its own config file logs each line it rejected (lib/vty.c vty_read_file); what the command
# said (`% Specify remote-as ...`) went to its standard error, the same log file, before those lines.
_FILE_ERR = re.compile(r"(?:\]|^)\s*([A-Z][^\]]*?) on config line (\d+): (.*)$")


def daemon_config_errors(log: str) -> list[ConfigError]:
    """The lines a daemon rejected reading its config file (numbered in that file), with the daemon's own
    messages paired in order when there is one per rejected line (FRR logs each line twice: once per target)."""
    said = [row.strip() for row in log.splitlines() if row.startswith("% ")]
    seen: dict[int, ConfigError] = {}
    for row in log.splitlines():
        m = _FILE_ERR.search(row)
        if m and int(m.group(2)) not in seen:
            seen[int(m.group(2))] = ConfigError(int(m.group(2)), m.group(3).strip(), m.group(1))
    errors = sorted(seen.values(), key=lambda e: e.line)
    if len(said) == len(errors):
        for e, msg in zip(errors, said, strict=True):
            e.message = msg
    return errors


def vtysh(rdir: Path, command: str, timeout: float = 30.0, wrap: list[str] | None = None) -> str:
    cmd = (wrap or []) + [VTYSH, "--vty_socket", str(rdir), "-c", command]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return proc.stdout


def json_object(text: str) -> dict[str, Any]:
    """A daemon's `... json` output as a dict; {} for no output, bad JSON or anything that is not an object."""
    try:
        doc = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


class Vty:
    """Direct client of one daemon's vty UNIX socket (what vtysh does, without a process per command).

    Protocol: the command, NUL-terminated; the reply is the output followed by three NULs and a status byte.
    """

    def __init__(self, path: Path, timeout: float = 30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))

    def command(self, cmd: str) -> str:
        self.sock.sendall(cmd.encode() + b"\0")
        buf = bytearray()
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("vty closed")
            buf += chunk
            if len(buf) >= 4 and buf[-4:-1] == b"\0\0\0":
                return buf[:-4].decode(errors="replace")

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Vty:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_leftovers(pathspaces: list[str], pids: list[int]) -> None:
    """FRR leaves /var/run/frr/<pathspace> per router and an empty /var/tmp/frr/<daemon>.<pid> per process."""
    for ns in pathspaces:
        shutil.rmtree(FRR_RUN / ns, ignore_errors=True)
    wanted = {str(p) for p in pids}
    if FRR_CRASHLOG.is_dir():
        for entry in FRR_CRASHLOG.iterdir():
            if entry.name.rsplit(".", 1)[-1] in wanted:
                shutil.rmtree(entry, ignore_errors=True)
