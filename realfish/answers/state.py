"""One snapshot as the answerers see it: the parsed configs and what the routers computed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from realfish.convert import ConvertedSnapshot
from realfish.dataplane import Dataplane
from realfish.frr import ConfigError
from realfish.model import Device
from realfish.rejected import fold


class NoDataplane(RuntimeError):
    """The question needs the routers' tables and the snapshot has none (its convergence failed)."""


@dataclass
class SnapshotState:
    name: str
    conv: ConvertedSnapshot  # devices (model), file statuses, layer-3 edges, the Network that was run
    dataplane: Dataplane | None = None

    def __post_init__(self) -> None:
        """Lines the daemons rejected at boot join the parse status, as those vtysh's check found did."""
        if self.dataplane is not None and self.dataplane.rejected:
            fold(self.conv, {name: [ConfigError(int(e[0]), str(e[1]), str(e[2])) for e in errors]
                             for name, errors in self.dataplane.rejected.items()})

    @property
    def devices(self) -> dict[str, Device]:
        return self.conv.devices

    def tables(self) -> Dataplane:
        if self.dataplane is None:
            raise NoDataplane(f"snapshot {self.name} has no data plane: its convergence did not complete")
        return self.dataplane

    def user_ifname(self, router: str, linux: str) -> str:
        """The user's interface name for a Linux name the daemons reported (`gi0-0` -> `GigabitEthernet0/0`)."""
        dp = self.dataplane
        if dp is not None and router in dp.routers:
            return dp.routers[router].user_ifname(linux)
        r = self.conv.network.routers.get(router)
        return r.name_map.get(linux, linux) if r else linux

    def show(self, router: str, key: str) -> Any:
        """One of `realfish.dataplane.SHOWS` for a router, {} if that daemon does not run there."""
        return self.tables().routers[router].show.get(key) or {}


def build(path: Any, name: str = "snapshot", timeout: float = 600.0, progress: Any = None,
          **kw: Any) -> SnapshotState:
    """Convert a snapshot directory or zip and converge it under the emulation (`kw`: Emulation's options;
    `progress`: a realfish.progress.Progress to show the steps on): `realfish.convergence.analyse`."""
    from realfish.convergence import Steps, analyse

    class Shown(Steps):
        def parsing(self, root: Any) -> None:
            if progress:
                progress.step(f"parsing {path}")

    return SnapshotState(name, *analyse(path, Shown(), timeout=timeout, progress=progress, **kw))
