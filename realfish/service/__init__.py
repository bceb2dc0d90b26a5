"""realfish as a Batfish service: the v2 HTTP API pybatfish speaks, answered by realfish.

    store.py      networks, snapshots, questions, answers, objects, node roles, reference books (on disk)
    work.py       background work items: parse (convert + converge), data plane, answer
    app.py        the HTTP layer (a Flask WSGI app)
    inprocess.py  `Session.get("realfish")`: pybatfish's own Session, served by the same app without a socket

`realfish serve` runs `serve()` (waitress, default 127.0.0.1:9996, Batfish's port), so an unchanged pybatfish
script (`Session(host="localhost")`) works against it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from realfish.clean import claim
from realfish.service.app import create_app
from realfish.service.store import Store
from realfish.service.work import Worker

DEFAULT_PORT = 9996


class Service:
    """The store, the worker and the app over one data directory (a fresh temporary one, removed by close(),
    when none is given)."""

    def __init__(self, data_dir: str | Path | None = None, api_key: str | None = None,
                 converge_timeout: float = 600.0, partitions: int = 0, cluster: str | None = None):
        """`partitions` (or a `cluster` address): each snapshot converges in that many parts (default 2) on
        the Ray cluster at `cluster` (None: a local Ray instance per convergence), docs/cluster.md."""
        converge = None
        if partitions or cluster:  # first: nothing to undo if the cluster cannot be joined
            from realfish.cluster.tables import Converge

            converge = Converge(partitions or 2, cluster)
            converge.open()
        self.converge = converge
        self._tmp = None if data_dir is not None else tempfile.mkdtemp(prefix="realfish-data-")
        if self._tmp is not None:
            claim(Path(self._tmp))  # `realfish clean` removes it after a kill, never while this process lives
        self.data_dir = Path(data_dir if data_dir is not None else self._tmp)  # type: ignore[arg-type]
        self.store = Store(self.data_dir)
        self.worker = Worker(self.store, converge_timeout, converge)
        self.app = create_app(self.store, self.worker, api_key)
        self.closed = False

    def close(self) -> None:
        """Stop the work (a running convergence is interrupted; its emulation stops its daemons), then remove
        a temporary data directory."""
        if self.closed:
            return
        self.closed = True
        try:
            self.worker.close()
        finally:
            if self.converge:
                self.converge.close()
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, data_dir: str | None = None,
          api_key: str | None = None, threads: int = 8, partitions: int = 0, cluster: str | None = None) -> None:
    """Serve until Ctrl-C or SIGTERM (which the CLI turns into KeyboardInterrupt), then stop cleanly."""
    from waitress import create_server

    with Service(data_dir, api_key, partitions=partitions, cluster=cluster) as svc:
        server = create_server(svc.app, host=host, port=port, threads=threads)
        where = f"data directory {svc.data_dir}" + (", temporary: removed on exit" if data_dir is None else "")
        print(f"realfish: serving Batfish's v2 API on http://{host}:{server.effective_port}/v2 ({where}"
              f"{', API key required' if api_key else ''}); Ctrl-C stops", file=sys.stderr, flush=True)
        if partitions or cluster:
            print(f"realfish: snapshots converge in {partitions or 2} parts on "
                  f"{'the Ray cluster at ' + cluster if cluster else 'a local Ray instance'}", file=sys.stderr,
                  flush=True)
        try:
            server.run()  # returns on KeyboardInterrupt/SystemExit
        finally:
            server.close()
            print("realfish: stopping", file=sys.stderr, flush=True)
