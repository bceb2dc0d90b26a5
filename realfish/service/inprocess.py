"""`Session.get("realfish")`: pybatfish's own Session, answered by realfish inside this process.

pybatfish sends every request through two module-level `requests` sessions
(`pybatfish.client.restv2helper._requests_session` and `_requests_session_fail_fast`). `RealfishSession` mounts
a transport adapter on both, for a private base URL (http://realfish-N.invalid:9996/), that hands each request
to realfish's WSGI app directly (werkzeug's test client: no socket, no port). Everything else is pybatfish's
code, unchanged: the same requests, the same polling, the same answers as against `realfish serve`.

The session's data directory is temporary and removed by `close()` (also at interpreter exit).
Registered in the `batfish_session` entry-point group (pyproject.toml), which `Session.get` reads.
"""

from __future__ import annotations

import atexit
import io
import itertools
from typing import Any

import requests
from pybatfish.client import restv2helper
from pybatfish.client.session import Session
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPHeaderDict
from urllib3.response import HTTPResponse
from werkzeug.test import Client

from realfish.service import DEFAULT_PORT, Service

_ids = itertools.count(1)


class WsgiAdapter(BaseAdapter):
    """A `requests` transport that calls a WSGI app in this process."""

    def __init__(self, app: Any):
        super().__init__()
        self.client = Client(app)
        self._build = HTTPAdapter()  # only for build_response: requests' own Response assembly

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        body = request.body
        if hasattr(body, "read"):
            body = body.read()  # type: ignore[union-attr]
        if isinstance(body, str):
            body = body.encode("utf-8")
        url = requests.utils.urlparse(request.url)
        # The body is passed whole: werkzeug sets its length itself.
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length",
                                                                                 "transfer-encoding")}
        resp = self.client.open(url.path, method=request.method, query_string=url.query, headers=headers,
                                data=body or b"")
        data = resp.get_data()
        raw = HTTPResponse(body=io.BytesIO(data), headers=HTTPHeaderDict(list(resp.headers.items())),
                           status=resp.status_code,
                           reason=resp.status.partition(" ")[2], preload_content=False, decode_content=False)
        return self._build.build_response(request, raw)

    def close(self) -> None:
        self._build.close()


class RealfishSession(Session):
    """pybatfish's Session with realfish in the same process (no server, no port). Extra keyword arguments
    go to Session (e.g. load_questions=False); `data_dir` keeps the data somewhere (default: temporary)."""

    def __init__(self, data_dir: str | None = None, **kwargs: Any):
        self.service = Service(data_dir)
        host = f"realfish-{next(_ids)}.invalid"
        self._prefix = f"http://{host}:{DEFAULT_PORT}/"
        adapter = WsgiAdapter(self.service.app)
        for s in (restv2helper._requests_session, restv2helper._requests_session_fail_fast):
            s.mount(self._prefix, adapter)
        atexit.register(self.close)
        kwargs.pop("host", None)
        kwargs.pop("port", None)
        super().__init__(host=host, port=DEFAULT_PORT, **kwargs)

    def close(self) -> None:
        """Unmount the adapter, stop the work, remove the data directory. Safe to call twice."""
        for s in (restv2helper._requests_session, restv2helper._requests_session_fail_fast):
            s.adapters.pop(self._prefix, None)
        self.service.close()
        atexit.unregister(self.close)

    def __enter__(self) -> RealfishSession:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
