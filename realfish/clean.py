"""`realfish clean`: remove whatever a run that was killed left behind.

A run directory (`/tmp/realfish-*` unless chosen) holds `owner.pid` (the realfish process) and one pid file per
daemon; the service's temporary data and upload directories (`/tmp/realfish-data-*`, `/tmp/realfish-upload-*`)
hold `owner.pid` too. A directory whose owner is gone is stale: its daemons are stopped (after checking, by
/proc, that the PID is still an FRR daemon of that directory; only processes realfish started are ever
signalled), the namespaces it lists in `namespaces` (baseline runs) are deleted, FRR's pathspace leftovers are
removed, and the directory goes, unless the user kept it (`--keep`, which writes `kept` in it): a kept run's
daemons and FRR leftovers go too, but its directory (configs, logs, journal) is the user's and stays.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from realfish import frr

KEPT = "kept"


def proc_state(pid: int) -> tuple[str, int] | None:
    """A process's state letter (R, S, D, Z...) and parent pid from /proc, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def claim(directory: Path, keep: bool = False) -> None:
    """Mark a temporary directory as this process's (`/tmp/realfish-*`: runs, the service's data, uploads), so
    that `realfish clean` cleans up after it once this process is gone, and never while it lives. `keep`: the
    user asked to keep it; clean then never removes it."""
    (directory / "owner.pid").write_text(str(os.getpid()))
    if keep:
        (directory / KEPT).write_text("kept with --keep: `realfish clean` stops what ran here but never removes "
                                      "this directory\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _daemon_of(pid: int, run_dir: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(argv) and argv[0].startswith(str(frr.FRR_SBIN).encode()) and any(
        str(run_dir).encode() in a for a in argv)


def stale_runs(base: Path | None = None) -> list[Path]:
    base = base or Path(tempfile.gettempdir())
    out = []
    for d in sorted(base.glob("realfish-*")):
        owner = d / "owner.pid"
        if not owner.exists():
            continue  # not a run directory (every run claims its directory first), or a kept one cleaned up after
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            pid = 0
        if not pid or not _alive(pid):
            out.append(d)
    return out


def clean_run(run_dir: Path, log: list[str]) -> None:
    pids, recorded = [], []
    for pidfile in run_dir.glob("*/*.pid"):
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            continue
        recorded.append(pid)
        if _daemon_of(pid, run_dir):
            # SIGKILL: with the controller gone, the virtual clock stands still and FRR's graceful shutdown,
            # which waits on timers, would never finish.
            pids.append(pid)
            os.kill(pid, signal.SIGKILL)
            log.append(f"stopped {pidfile.stem} (pid {pid}) of {run_dir}")
    deadline = time.monotonic() + 5
    for pid in pids:
        while _daemon_of(pid, run_dir) and time.monotonic() < deadline:
            time.sleep(0.02)
    nsfile = run_dir / "namespaces"
    if nsfile.exists():
        for ns in nsfile.read_text().split():
            if subprocess.run(["ip", "netns", "del", ns], capture_output=True).returncode == 0:
                log.append(f"deleted namespace {ns}")
    run_id = run_dir.name.rsplit("-", 1)[-1][:8]
    for leftover in frr.FRR_RUN.glob(f"rf{run_id}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    frr.remove_leftovers([], recorded)
    if (run_dir / KEPT).exists():
        (run_dir / "owner.pid").unlink(missing_ok=True)  # cleaned: the next `realfish clean` passes it by
        log.append(f"kept {run_dir} (the run was kept with --keep; remove it yourself when done)")
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    log.append(f"removed {run_dir}")


def orphan_pathspaces(base: Path | None = None) -> list[Path]:
    """FRR pathspace directories (/var/run/frr/rf<run id>-<router>) whose run directory is gone."""
    base = base or Path(tempfile.gettempdir())
    live = {d.name.rsplit("-", 1)[-1][:8] for d in base.glob("realfish-*")}
    out = []
    for d in frr.FRR_RUN.glob("rf*-*") if frr.FRR_RUN.is_dir() else []:
        run_id = d.name[2:].split("-", 1)[0]
        if len(run_id) == 8 and run_id not in live:
            out.append(d)
    return out


def clean(base: Path | None = None) -> list[str]:
    log: list[str] = []
    for d in stale_runs(base):
        clean_run(d, log)
    for d in orphan_pathspaces(base):
        shutil.rmtree(d, ignore_errors=True)
        log.append(f"removed {d} (its run is gone)")
    return log
