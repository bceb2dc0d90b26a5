"""Config lines FRR rejects, reported where the user wrote them, as Batfish reports lines it cannot read.

FRR rejects a line in two places, and both count:
- vtysh's command grammar: `vtysh --dryrun -f` checks a config without any daemon (`dry_run`, at conversion:
  `ip community-list` in FRR 8.4, a misspelt keyword); one vtysh run checks every device's config, the configs
  one after another (its error lines are numbered in that text, and mapped back per device);
- a daemon, when vtysh applies the config at boot (a neighbor option before its `remote-as`, an undefined
  peer-group): only a running daemon sees those (`realfish.runtime.Emulation` records them per router).

`fold` puts each into the file's parse status (`FileStatus.reject`): a rejected line of the device's own text
(FRR-family devices run their frr.conf as written) is reported at its file and line, with FRR's message; a line
that realfish rendered from a vendor config is reported against the device's file as a rendering problem. Either
way the file is no longer PASSED and initIssues lists the line.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from typing import Protocol

from realfish import frr
from realfish.model import Device
from realfish.render import Rendered
from realfish.status import FileStatus


class Converted(Protocol):
    """What `fold` reads of a converted snapshot (`realfish.convert.ConvertedSnapshot`, which calls it)."""

    @property
    def rendered(self) -> Mapping[str, Rendered]: ...

    @property
    def devices(self) -> Mapping[str, Device]: ...

    def status_of(self, file: str) -> FileStatus | None: ...


def dry_run(configs: dict[str, str]) -> dict[str, list[frr.ConfigError]]:
    """Lines of each config (by router) that vtysh's grammar rejects; {} when vtysh is not installed."""
    if not configs or shutil.which(frr.VTYSH) is None:
        return {}
    starts: list[tuple[int, str]] = []  # (first line in the joined text, router)
    lines: list[str] = []
    for name, text in configs.items():
        starts.append((len(lines) + 1, name))
        lines += text.rstrip("\n").split("\n") + ["!"]
    with tempfile.NamedTemporaryFile("w", prefix="realfish-check-", suffix=".conf") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        proc = subprocess.run([frr.VTYSH, "--dryrun", "-f", f.name], capture_output=True, text=True, timeout=120)
        errors = frr.config_errors(proc.stdout + proc.stderr, lines)
    out: dict[str, list[frr.ConfigError]] = {}
    for e in errors:
        first, name = max((s for s in starts if s[0] <= e.line), default=(1, starts[0][1]))
        out.setdefault(name, []).append(frr.ConfigError(e.line - first + 1, e.text, e.message))
    return out


def fold(conv: Converted, rejected: Mapping[str, Iterable[frr.ConfigError]]) -> None:
    """Put rejected lines (by router, numbered in the rendered config) into the snapshot's parse status."""
    for name, errors in rejected.items():
        rend: Rendered | None = conv.rendered.get(name)
        dev = conv.devices.get(name)
        if rend is None or dev is None:
            continue
        for e in errors:
            where = rend.source_line(e.line)
            st = conv.status_of(where[0] if where else dev.source)
            if st is None:
                continue
            if where is not None:
                st.reject(where[1], e.text, f"FRR rejects this line: {e.message}")
            else:
                st.reject(None, e.text, f"FRR rejects line {e.line} of the config realfish rendered for {name} "
                                        f"(`{e.text}`: {e.message}); what it says is not emulated")
