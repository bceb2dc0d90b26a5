"""`Session.get("realfish")`: pybatfish's Session answered by realfish in this process, no server."""

from __future__ import annotations

from typing import Any

import pytest
from pybatfish.client import restv2helper
from pybatfish.client.session import Session
from requests import HTTPError

from realfish.answers import supported
from realfish.service.inprocess import RealfishSession

R1 = """hostname r1
interface eth0
 ip address 10.0.0.1/30
interface lo
 ip address 1.1.1.1/32
"""


@pytest.mark.frr
def test_session_get_realfish_works_without_a_server() -> None:
    bf: Any = Session.get("realfish")
    assert isinstance(bf, RealfishSession)
    data_dir = bf.service.data_dir
    try:
        assert bf.get_component_versions()["api_version"] == "2.1.0"
        assert hasattr(bf.q, "routes") and hasattr(bf.q, "traceroute")
        bf.set_network("n")
        bf.init_snapshot_from_text(R1, filename="r1.cfg", snapshot_name="s")
        assert bf.list_snapshots() == ["s"]
        assert bf.get_snapshot_input_object_text("configs/r1.cfg") == R1
        bf.put_network_object("k", b"\x00binary\xff")
        with bf.get_network_object_stream("k") as stream:
            assert stream.read() == b"\x00binary\xff"
        with pytest.raises(HTTPError, match="404"):
            bf.get_network_object_text("missing")
        if "routes.RoutesQuestion[main]" in supported():
            routes = bf.q.routes(nodes="r1").answer().frame()
            assert {"1.1.1.1/32", "10.0.0.0/30"} <= set(routes["Network"])
    finally:
        bf.close()
    assert not data_dir.exists()
    prefix = bf.get_base_url2().rsplit("/v2", 1)[0] + "/"
    assert prefix not in restv2helper._requests_session.adapters  # unmounted: other sessions are unaffected
    bf.close()  # twice is fine


def test_two_in_process_sessions_are_separate() -> None:
    with RealfishSession(load_questions=False) as a, RealfishSession(load_questions=False) as b:
        a.set_network("only-in-a")
        assert "only-in-a" not in b.list_networks()
