"""`realfish serve` driven by the real pybatfish client, as a user's script drives Batfish.

One server (a `realfish serve` subprocess on a free loopback port, stopped by PID at the end) serves the module.
The snapshots are small (three FRR routers in a chain, eBGP), so each converges in a second or two.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pybatfish.client import restv2helper
from pybatfish.client.session import Session
from pybatfish.datamodel import Interface
from pybatfish.datamodel.primitives import VariableType
from pybatfish.datamodel.referencelibrary import (
    AddressGroup,
    NodeRolesData,
    ReferenceBook,
    RoleMapping,
)
from pybatfish.exception import BatfishException
from requests import HTTPError

from realfish.answers import supported
from tests.faults import abort_after_start

# r1 (AS 65001) -- r2 (AS 65002) -- r3 (AS 65003); each originates its loopback /32 over eBGP.
CHAIN = {
    "r1": ("10.0.12.1/30", None, "1.1.1.1", 65001, [("10.0.12.2", 65002)]),
    "r2": ("10.0.12.2/30", "10.0.23.1/30", "2.2.2.2", 65002, [("10.0.12.1", 65001), ("10.0.23.2", 65003)]),
    "r3": ("10.0.23.2/30", None, "3.3.3.3", 65003, [("10.0.23.1", 65002)]),
}


def frr_config(name: str) -> str:
    eth0, eth1, lo, asn, peers = CHAIN[name]
    lines = [f"hostname {name}", "!", "interface eth0", f" ip address {eth0}", "!"]
    if eth1:
        lines += ["interface eth1", f" ip address {eth1}", "!"]
    lines += ["interface lo", f" ip address {lo}/32", "!", f"router bgp {asn}", f" bgp router-id {lo}",
              " no bgp ebgp-requires-policy"]
    lines += [f" neighbor {ip} remote-as {peer}" for ip, peer in peers]
    lines += [" address-family ipv4 unicast", f"  network {lo}/32", " exit-address-family", "!"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def chain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("snap") / "chain"
    (root / "configs").mkdir(parents=True)
    for name in CHAIN:
        (root / "configs" / f"{name}.cfg").write_text(frr_config(name))
    (root / "other_dir").mkdir()
    (root / "other_dir" / "other_file").write_text("hello")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(port: int, proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"realfish serve exited: {proc.stderr.read() if proc.stderr else ''}"
        try:
            requests.get(f"http://127.0.0.1:{port}/v2/version", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("realfish serve did not come up")


def start_server(*args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "realfish.cli", "serve", "--port", str(port), *args],
                            stderr=subprocess.PIPE, text=True)
    wait_up(port, proc)
    return proc, port


@contextlib.contextmanager
def serving(data: Path) -> Iterator[int]:
    """`realfish serve` on a free port with its data in `data`; stopped after, and it must stop cleanly."""
    proc, port = start_server("--data-dir", str(data))
    try:
        yield port
    finally:
        err = stop_server(proc)
        assert proc.returncode == 0, err


def stop_server(proc: subprocess.Popen[str]) -> str:
    os.kill(proc.pid, signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return err


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    data = tmp_path_factory.mktemp("data")
    proc, port = start_server("--data-dir", str(data))
    try:
        yield port, data
    finally:
        err = stop_server(proc)
        assert proc.returncode == 0, err


@pytest.fixture()
def bf(server: tuple[int, Path]) -> Iterator[Any]:
    session: Any = Session(host="127.0.0.1", port=server[0])
    yield session
    if session.network and session.network != SHARED_NETWORK:
        try:
            session.delete_network(session.network)
        except HTTPError:
            pass


@pytest.fixture(scope="module")
def chain(server: tuple[int, Path], chain_dir: Path) -> Iterator[tuple[str, str]]:
    """One network with the chain snapshot initialized once, shared by the read-only tests."""
    session: Any = Session(host="127.0.0.1", port=server[0])
    session.set_network(SHARED_NETWORK)
    session.init_snapshot(str(chain_dir), name="chain")
    yield SHARED_NETWORK, "chain"
    session.delete_network(SHARED_NETWORK)


SHARED_NETWORK = "chain-net"  # the `chain` fixture's; tests only read it


def on(bf: Any, chain: tuple[str, str]) -> Any:
    bf.set_network(chain[0])
    bf.set_snapshot(chain[1])
    return bf


def rows(answer: Any) -> list[dict[str, Any]]:
    return list(answer.frame().to_dict("records"))


# -- service basics --------------------------------------------------------------------------------------------


def test_version_and_templates(bf: Any) -> None:
    versions = bf.get_component_versions()
    assert all(part.isdigit() for part in versions["Batfish"].split("."))
    assert versions["api_version"] == "2.1.0"
    for q in ("routes", "bgpRib", "lpmRoutes", "bgpSessionStatus", "bgpSessionCompatibility", "bgpEdges",
              "layer3Edges", "edges", "ospfSessionCompatibility", "ospfEdges", "ipOwners", "nodeProperties",
              "interfaceProperties", "fileParseStatus", "initIssues", "traceroute", "bidirectionalTraceroute"):
        assert hasattr(bf.q, q), q


def test_networks(bf: Any) -> None:
    auto = bf.set_network()
    assert auto.startswith("pcp")
    name = f"net-{uuid.uuid4().hex[:8]}"
    assert bf.set_network(name) == name
    assert bf.set_network(name) == name  # existing: reused
    listed = bf.list_networks()
    assert auto in listed and name in listed
    bf.delete_network(auto)
    bf.delete_network(name)
    assert name not in bf.list_networks()
    with pytest.raises(HTTPError, match="404"):
        bf.delete_network(name)
    bf.network = None


@pytest.mark.frr
def test_snapshots_init_list_delete(bf: Any, chain_dir: Path) -> None:
    bf.set_network(f"snaps-{uuid.uuid4().hex[:8]}")
    assert bf.list_snapshots() == [] and bf.list_snapshots(verbose=True) == []
    bf.init_snapshot(str(chain_dir), name="first")
    bf.init_snapshot_from_text(frr_config("r1"), filename="r1.cfg", snapshot_name="second")
    assert bf.list_snapshots() == ["second", "first"]  # newest first
    verbose = bf.list_snapshots(verbose=True)
    assert [v["name"] for v in verbose] == ["second", "first"]
    init = verbose[1]["metadata"]["initializationMetadata"]
    assert init["currentStatus"] == "DATAPLANED" and init["statusHistory"][0] == "UNINITIALIZED"
    assert verbose[1]["metadata"]["creationTimestamp"].endswith("Z")
    with pytest.raises(ValueError, match="already exists"):
        bf.init_snapshot(str(chain_dir), name="first")
    bf.init_snapshot(str(chain_dir), name="first", overwrite=True)
    assert bf.list_snapshots() == ["first", "second"]
    bf.delete_snapshot("second")
    assert bf.list_snapshots() == ["first"]
    with pytest.raises(HTTPError, match="404"):
        bf.delete_snapshot("second")


def test_bad_zip_is_a_400_with_a_message(bf: Any, tmp_path: Path) -> None:
    bf.set_network(f"bad-{uuid.uuid4().hex[:8]}")
    two_tops = tmp_path / "two.zip"
    import zipfile

    with zipfile.ZipFile(two_tops, "w") as z:
        z.writestr("a/configs/r1.cfg", "hostname r1\n")
        z.writestr("b/configs/r2.cfg", "hostname r2\n")
    with pytest.raises(HTTPError, match="400.*one top-level folder"):
        bf.init_snapshot(str(two_tops), name="two")
    no_configs = tmp_path / "noconf.zip"
    with zipfile.ZipFile(no_configs, "w") as z:
        z.writestr("snap/stuff/r1.cfg", "hostname r1\n")
    with pytest.raises(HTTPError, match="400.*configs"):
        bf.init_snapshot(str(no_configs), name="noconf")
    port = bf.port_v2
    r = requests.post(f"http://127.0.0.1:{port}/v2/networks/{bf.network}/snapshots/junk", data=b"not a zip")
    assert r.status_code == 400 and "not a zip" in r.text
    assert bf.list_snapshots() == []


@pytest.mark.frr
def test_empty_config_snapshot_parses(bf: Any) -> None:
    bf.set_network(f"empty-{uuid.uuid4().hex[:8]}")
    bf.init_snapshot_from_text("", filename="empty.cfg", snapshot_name="empty")
    assert bf.generate_dataplane() == "TERMINATEDNORMALLY"
    assert bf.get_node_roles(inferred=True).roleMappings == []


@pytest.mark.frr
def test_input_and_snapshot_objects(bf: Any, chain: tuple[str, str]) -> None:
    on(bf, chain)
    assert bf.get_snapshot_input_object_text("other_dir/other_file") == "hello"
    assert bf.get_snapshot_input_object_text("configs/r2.cfg") == frr_config("r2")
    for missing in ("missing_object", "../metadata.json", "configs"):
        with pytest.raises(HTTPError, match="404"):
            bf.get_snapshot_input_object_text(missing)
    with pytest.raises(HTTPError, match="404"):
        bf.get_snapshot_object_text("new_object")
    bf.put_snapshot_object("new_object", "goodbye")
    assert bf.get_snapshot_object_text("new_object") == "goodbye"
    bf.delete_snapshot_object("new_object")
    with pytest.raises(HTTPError, match="404"):
        bf.get_snapshot_object_text("new_object")


def test_network_objects(bf: Any) -> None:
    bf.set_network(f"objs-{uuid.uuid4().hex[:8]}")
    with pytest.raises(HTTPError, match="404"):
        bf.get_network_object_text("k/with/slashes")
    bf.put_network_object("k/with/slashes", "value")
    assert bf.get_network_object_text("k/with/slashes") == "value"
    bf.delete_network_object("k/with/slashes")
    with pytest.raises(HTTPError, match="404"):
        bf.get_network_object_text("k/with/slashes")


@pytest.mark.frr
def test_node_roles(bf: Any) -> None:
    bf.set_network(f"roles-{uuid.uuid4().hex[:8]}")
    for name in ("h1", "h2", "r1", "r2"):
        bf.init_snapshot_from_text(f"hostname {name}\n", filename=f"{name}.cfg", snapshot_name=f"s-{name}",
                                   platform="cisco")
    inferred = bf.get_node_roles(inferred=True)
    assert inferred.roleMappings, "inferred roles must not be empty"
    assert restv2helper.get_snapshot_inferred_node_role_dimension(bf, inferred.defaultDimension)["roles"]
    roles = NodeRolesData(defaultDimension="dim1", roleDimensionOrder=["dim1"],
                          roleMappings=[RoleMapping("m1", "(\\D+)\\d+", {"dim1": [1]}, {})])
    bf.put_node_roles(roles)
    assert bf.get_node_roles() == roles
    snap_dim = restv2helper.get_snapshot_node_role_dimension(bf, "dim1")
    assert snap_dim["roles"] == [{"name": "r", "nodes": ["r2"]}]  # this snapshot holds r2 only
    bf.delete_node_role_dimension("dim1")
    assert bf.get_node_roles().roleMappings == []
    with pytest.raises(HTTPError, match="404"):
        bf.delete_node_role_dimension("dim1")


def test_reference_library(bf: Any) -> None:
    bf.set_network(f"refs-{uuid.uuid4().hex[:8]}")
    book = ReferenceBook("book1", addressGroups=[AddressGroup("ag1", addresses=["1.1.1.1/32"])])
    bf.put_reference_book(book)
    bf.put_reference_book(book)  # idempotent
    assert bf.get_reference_book("book1") == book
    assert bf.get_reference_library().books == [book]
    restv2helper.delete_reference_book(bf, "book1")
    with pytest.raises(HTTPError, match="404"):
        bf.get_reference_book("book1")


@pytest.mark.frr
def test_autocomplete(bf: Any, chain: tuple[str, str]) -> None:
    on(bf, chain)
    assert [s.text for s in bf.auto_complete(VariableType.NODE_NAME, "r")] == ["r1", "r2", "r3"]
    assert len(bf.auto_complete(VariableType.NODE_NAME, "", max_suggestions=2)) == 2
    assert [s.text for s in bf.auto_complete(VariableType.INTERFACE, "r2[eth1")] == ["r2[eth1]"]
    assert bf.auto_complete(VariableType.BGP_SESSION_STATUS_SPEC, "") == []  # nothing to suggest: a valid answer


def test_question_settings(bf: Any) -> None:
    bf.set_network(f"settings-{uuid.uuid4().hex[:8]}")
    restv2helper.write_question_settings(bf, {"a": {"b": 1}}, "MyQuestion", None)
    restv2helper.write_question_settings(bf, 2, "MyQuestion", ["a", "c"])  # type: ignore[arg-type]
    assert restv2helper.read_question_settings(bf, "MyQuestion", None) == {"a": {"b": 1, "c": 2}}
    assert restv2helper.read_question_settings(bf, "MyQuestion", ["a"]) == {"b": 1, "c": 2}
    with pytest.raises(HTTPError, match="404"):
        restv2helper.read_question_settings(bf, "Other", None)


def test_api_key_and_unknown_paths(server: tuple[int, Path]) -> None:
    from realfish.service import Service

    with Service(api_key="secret") as svc:
        client = svc.app.test_client()
        assert client.get("/v2/version").status_code == 200
        r = client.get("/v2/networks")
        assert r.status_code == 401 and "API key" in r.get_data(as_text=True)
        assert client.get("/v2/networks", headers={"X-Batfish-Apikey": "secret"}).status_code == 200
        assert client.get("/v2/nothing/here", headers={"X-Batfish-Apikey": "secret"}).status_code == 404
    missing = requests.get(f"http://127.0.0.1:{server[0]}/v2/networks/none-such")
    assert missing.status_code == 404 and "does not exist" in missing.text


# -- answers ---------------------------------------------------------------------------------------------------


def needs(*classes: str) -> None:
    missing = [c for c in classes if c not in supported()]
    if missing:
        pytest.skip(f"answerer not registered yet: {missing}")


@pytest.mark.frr
def test_answer_foreground_and_background(bf: Any, chain: tuple[str, str]) -> None:
    needs("initialization.FileParseStatusQuestion", "initialization.InitIssuesQuestion")
    on(bf, chain)
    status = rows(bf.q.fileParseStatus().answer())
    assert {r["File_Name"]: r["Status"] for r in status} == {f"configs/{n}.cfg": "PASSED" for n in CHAIN}
    question = bf.q.initIssues()
    work_id = question.answer(background=True)
    deadline = time.monotonic() + 60
    while (st := bf.get_work_status(work_id))["workstatus"] not in ("TERMINATEDNORMALLY", "TERMINATEDABNORMALLY"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert st["workstatus"] == "TERMINATEDNORMALLY", st
    assert json.loads(st["taskstatus"])["batches"]
    assert bf.get_answer(question.get_name(), chain[1]).frame().empty  # three clean FRR configs
    assert bf.list_incomplete_works()["worklist"] == "[]"


@pytest.mark.frr
def test_unsupported_question_ends_abnormally(bf: Any, chain: tuple[str, str]) -> None:
    on(bf, chain)
    question = {"class": "org.batfish.question.hsrpproperties.HsrpPropertiesQuestion", "differential": False,
                "instance": {"instanceName": "mySearch", "variables": {}}}
    with pytest.raises(BatfishException, match="(?s)Work terminated abnormally.*realfish does not answer"):
        bf.answer_question(json.dumps(question), "mySearch", background=False, snapshot=chain[1],
                           reference_snapshot=None, extra_args=None)
    # every Batfish template is served, so the script gets the reason
    assert "does not answer" in bf.q.hsrpProperties.__doc__
    with pytest.raises(BatfishException, match="(?s)Work terminated abnormally.*realfish does not answer"):
        bf.q.hsrpProperties().answer(snapshot=chain[1])
    # What pybatfish's own test_answer_fail does: a filter question naming no filter fails as in Batfish
    with pytest.raises(BatfishException, match="(?s)Work terminated abnormally.*No matching filters"):
        bf.q.searchFilters(filters="undefined").answer(snapshot=chain[1])
    with pytest.raises(HTTPError, match="404"):
        bf.get_answer("mySearch", chain[1])
    with pytest.raises(HTTPError, match="404"):  # a question never uploaded
        bf.get_answer("never-asked", chain[1])


# -- fork ------------------------------------------------------------------------------------------------------


@pytest.mark.frr
def test_fork_failures(bf: Any, chain: tuple[str, str]) -> None:
    on(bf, chain)
    with pytest.raises(HTTPError, match="404"):
        bf.fork_snapshot("bogus", name="from-bogus")
    with pytest.raises(HTTPError, match="400.*restore"):
        bf.fork_snapshot(chain[1], name="bad-restore", restore_nodes=["r1"])
    assert "bad-restore" not in bf.list_snapshots()


@pytest.mark.frr
def test_fork_deactivates_nodes_and_interfaces(bf: Any, chain_dir: Path, tmp_path: Path) -> None:
    needs("routes.RoutesQuestion[main]")
    bf.set_network(f"fork-{uuid.uuid4().hex[:8]}")
    bf.init_snapshot(str(chain_dir), name="base")
    extra = tmp_path / "extra"
    (extra / "notes").mkdir(parents=True)
    (extra / "notes" / "readme.txt").write_text("added by the fork")
    bf.fork_snapshot("base", name="cut", deactivate_nodes=["r3"],
                     deactivate_interfaces=[Interface(hostname="r1", interface="lo")], add_files=str(extra))
    assert bf.list_snapshots(verbose=True)[0]["metadata"]["parentSnapshotId"] == "base"
    assert json.loads(bf.get_snapshot_input_object_text("node_blacklist", snapshot="cut")) == ["r3"]
    runtime = json.loads(bf.get_snapshot_input_object_text("batfish/runtime_data.json", snapshot="cut"))
    assert runtime == {"runtimeData": {"r1": {"interfaces": {"lo": {"lineUp": False}}}}}
    assert bf.get_snapshot_input_object_text("notes/readme.txt", snapshot="cut") == "added by the fork"

    def networks(snapshot: str, node: str) -> set[str]:
        return {r["Network"] for r in rows(bf.q.routes(nodes=node).answer(snapshot=snapshot))}

    assert {"1.1.1.1/32", "3.3.3.3/32", "10.0.23.0/30"} <= networks("base", "r2")
    cut = networks("cut", "r2")
    assert "3.3.3.3/32" not in cut  # r3 is down: nothing learned from it
    assert "10.0.23.0/30" in cut  # r2's own side of the link to r3 is still up
    assert "1.1.1.1/32" not in cut  # r1's loopback is down
    assert "10.0.12.0/30" in cut  # r1's eth0 is still up
    assert networks("cut", "r3") == set()  # the node is still there, with nothing up

    bf.fork_snapshot("cut", name="back", restore_nodes=["r3"],
                     restore_interfaces=[Interface(hostname="r1", interface="lo")])
    assert json.loads(bf.get_snapshot_input_object_text("node_blacklist", snapshot="back")) == []
    assert {"1.1.1.1/32", "3.3.3.3/32"} <= networks("back", "r2")


@pytest.mark.frr
def test_differential_answer_carries_the_reference(bf: Any, chain_dir: Path) -> None:
    needs("routes.RoutesQuestion[main]")
    bf.set_network(f"diff-{uuid.uuid4().hex[:8]}")
    bf.init_snapshot(str(chain_dir), name="base")
    bf.fork_snapshot("base", name="cut", deactivate_nodes=["r3"])
    answer = bf.q.routes(nodes="r2").answer(snapshot="cut", reference_snapshot="base")
    frame = answer.frame()
    assert any(c.startswith("Snapshot_") or c.startswith("Reference_") for c in frame.columns), frame.columns
    with pytest.raises(HTTPError, match="404"):  # the same question without a reference was never answered
        bf.get_answer(answer.question_name(), "cut")


# -- stopping --------------------------------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(d.name))
    return out


@pytest.mark.frr
def test_sigterm_during_convergence_leaves_nothing(chain_dir: Path) -> None:
    """Stopping the server while a snapshot converges stops the emulation's daemons and removes the temporary
    data directory."""
    proc, port = start_server()
    session: Any = Session(host="127.0.0.1", port=port)
    session.set_network("stop")
    # init_snapshot polls until the parse ends; here the server stops first, so the client sees an error.
    client = threading.Thread(target=_init_quietly, args=(session, chain_dir), daemon=True)
    client.start()
    deadline = time.monotonic() + 30
    daemons: set[int] = set()
    while not daemons and time.monotonic() < deadline:
        daemons = {p for p in _children(proc.pid) if "frr" in _cmdline(p)}
        time.sleep(0.05)
    err = stop_server(proc)
    assert proc.returncode == 0, err
    assert daemons, "no daemon was seen running"
    alive = [p for p in daemons if Path(f"/proc/{p}").exists()]
    assert not alive, f"daemons left running: {alive}"
    crash_dirs = Path("/var/tmp/frr")  # FRR's per-daemon directory, which the emulation removes when it stops
    left = [d.name for d in crash_dirs.glob("*.*") if d.name.rsplit(".", 1)[-1] in {str(p) for p in daemons}]
    assert not left, f"FRR's files of stopped daemons left: {left}"
    data_dir = Path(err.split("data directory ", 1)[1].split(",", 1)[0])
    assert data_dir.name.startswith("realfish-data-") and not data_dir.exists()


def _init_quietly(session: Any, snapshot: Path) -> None:
    try:
        session.init_snapshot(str(snapshot), name="s")
    except (requests.RequestException, BatfishException):
        pass


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.frr
def test_blacklists_in_an_uploaded_snapshot(tmp_path: Path) -> None:
    """What fork writes is read by the conversion whatever the vendor: IOS configs here (rendered by realfish,
    not run as written like FRR's)."""
    from realfish.convert import convert_snapshot

    (tmp_path / "configs").mkdir()
    for name, ip in (("r1", "10.0.0.1"), ("r2", "10.0.0.2")):
        (tmp_path / "configs" / f"{name}.cfg").write_text(
            f"hostname {name}\n!\ninterface GigabitEthernet0/0\n ip address {ip} 255.255.255.0\n!\n"
            f"interface Loopback0\n ip address {ip[:-1]}{ip[-1]}{ip[-1]} 255.255.255.255\n!\n")
    (tmp_path / "node_blacklist").write_text('["R2", "nope"]')
    (tmp_path / "interface_blacklist").write_text('[{"hostname": "r1", "interface": "Loopback0"}]')
    conv = convert_snapshot(tmp_path)
    assert set(conv.devices) == {"r1", "r2"}  # a deactivated node stays in the snapshot, as in Batfish
    r1, r2 = conv.network.routers["r1"], conv.network.routers["r2"]
    assert all(not i.addresses for i in r2.interfaces.values())
    assert [str(a) for i in r1.interfaces.values() for a in i.addresses] == ["10.0.0.1/24"]
    assert conv.edges == []  # no layer-3 edge to a node whose interfaces are all down
    notes = {s.file: [(n.kind, n.text) for n in s.notes] for s in conv.other}
    assert notes["node_blacklist"] == [("translated", "R2"), ("warning", "nope")]
    assert notes["interface_blacklist"] == [("translated", "r1 Loopback0")]


# -- robustness (the app in this process, no socket) -------------------------------------------------------------


def _zip(files: dict[str, str]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def parse_one_router(client: Any, status: str = "TERMINATEDNORMALLY") -> str:
    """Network n, snapshot s (one FRR router) parsed by work item p1, which ends with `status`; its work log."""
    client.post("/v2/networks", query_string={"name": "n"})
    client.post("/v2/networks/n/snapshots/s", data=_zip({"s/configs/r1.cfg": frr_config("r1")}))
    client.post("/v2/networks/n/work", data=json.dumps({"id": "p1", "requestParams": {"testrig": "s"}}))
    assert _finish(client, "n", "p1", timeout=120) == status
    return str(client.get("/v2/networks/n/snapshots/s/worklog/p1").get_data(as_text=True))


def _finish(client: Any, network: str, work_id: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = str(client.get(f"/v2/networks/{network}/work/{work_id}").get_json()["workstatuscode"])
        if code.startswith("TERMINATED"):
            return code
        time.sleep(0.05)
    raise AssertionError(f"work {work_id} never ended")


def _answer_rows(client: Any, network: str, snapshot: str, cls: str) -> list[dict[str, Any]]:
    """Ask a question (no parameters) as pybatfish does: the question, a work item, its answer's rows."""
    name = f"q{uuid.uuid4().hex[:8]}"
    question = {"class": f"org.batfish.question.{cls}", "differential": False,
                "instance": {"instanceName": name, "variables": {}}}
    client.put(f"/v2/networks/{network}/questions/{name}", data=json.dumps(question))
    item = {"id": name, "requestParams": {"answer": "", "questionname": name, "testrig": snapshot}}
    client.post(f"/v2/networks/{network}/work", data=json.dumps(item))
    assert _finish(client, network, name) == "TERMINATEDNORMALLY"
    answer = client.get(f"/v2/networks/{network}/questions/{name}/answer", query_string={"snapshot": snapshot})
    return list(answer.get_json()["answerElements"][0]["rows"])


def _parse_chain(client: Any) -> str:
    """Upload the chain as snapshot s of network n and parse it: the parse work's final status."""
    client.post("/v2/networks", query_string={"name": "n"})
    client.post("/v2/networks/n/snapshots/s", data=_zip({f"s/configs/{r}.cfg": frr_config(r) for r in CHAIN}))
    client.post("/v2/networks/n/work", data=json.dumps({"id": "p1", "requestParams": {"testrig": "s"}}))
    return _finish(client, "n", "p1", timeout=120)


def test_work_ends_even_when_its_log_cannot_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    from realfish.service import Service

    with Service() as svc:
        client = svc.app.test_client()
        client.post("/v2/networks", query_string={"name": "n"})
        assert client.post("/v2/networks/n/snapshots/s", data=_zip({"s/configs/empty.cfg": ""})).status_code == 201
        too_long = {"id": "w" * 200, "requestParams": {"testrig": "s", "dp": ""}}
        r = client.post("/v2/networks/n/work", data=json.dumps(too_long))
        assert r.status_code == 400 and "work item id" in r.get_data(as_text=True)

        def broken(*_args: Any) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(svc.store, "write_log", broken)
        item = {"id": "w1", "requestParams": {"testrig": "s", "dp": ""}}
        assert client.post("/v2/networks/n/work", data=json.dumps(item)).status_code == 201
        assert _finish(client, "n", "w1") == "TERMINATEDNORMALLY"
        assert "could not be saved" in client.get("/v2/networks/n/snapshots/s/worklog/w1").get_data(as_text=True)


def test_names_too_long_to_store_are_a_400() -> None:
    from realfish.service import Service

    with Service() as svc:
        client = svc.app.test_client()
        r = client.post("/v2/networks", query_string={"name": "é" * 150})  # 150 characters, 900 bytes on disk
        assert r.status_code == 400 and "too long to store" in r.get_data(as_text=True)
        client.post("/v2/networks", query_string={"name": "n"})
        r = client.put("/v2/networks/n/objects", query_string={"key": "/" * 100}, data=b"v")
        assert r.status_code == 400 and "too long to store" in r.get_data(as_text=True)
        assert client.put("/v2/networks/n/objects", query_string={"key": "a/b" * 40}, data=b"v").status_code == 200


def test_a_changed_question_has_no_answer_until_asked() -> None:
    """pybatfish's question_name= reuses a name; an answer to the old parameters must not answer the new ones."""
    from realfish.service import Service

    with Service() as svc:
        client = svc.app.test_client()
        client.post("/v2/networks", query_string={"name": "n"})
        client.post("/v2/networks/n/snapshots/s", data=_zip({"s/configs/empty.cfg": ""}))
        question = {"class": "org.batfish.question.ipowners.IpOwnersQuestion", "differential": False,
                    "instance": {"instanceName": "q", "variables": {"ips": {"type": "ipSpaceSpec", "value": None}}}}
        assert client.put("/v2/networks/n/questions/q", data=json.dumps(question)).status_code == 200
        item = {"id": "a1", "requestParams": {"answer": "", "questionname": "q", "testrig": "s"}}
        client.post("/v2/networks/n/work", data=json.dumps(item))
        assert _finish(client, "n", "a1") == "TERMINATEDNORMALLY"
        assert client.get("/v2/networks/n/questions/q/answer", query_string={"snapshot": "s"}).status_code == 200
        question["instance"]["variables"]["ips"]["value"] = "not an ip space"  # type: ignore[index]
        assert client.put("/v2/networks/n/questions/q", data=json.dumps(question)).status_code == 200
        assert client.get("/v2/networks/n/questions/q/answer", query_string={"snapshot": "s"}).status_code == 404


def test_a_saved_dataplane_is_never_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service reloads dataplane.json after a restart; a stop in the middle of saving must leave the old
    file (or none), never a truncated one."""
    from realfish.dataplane import Dataplane

    path = tmp_path / "dataplane.json"
    Dataplane(converged=True, problems=["old"]).save(path)

    def interrupted(self: Path, text: str) -> None:
        with open(self, "w") as f:
            f.write(text[: len(text) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Dataplane(converged=True, problems=["new"] * 100).save(path)
    monkeypatch.undo()
    assert Dataplane.load(path).problems == ["old"]


def test_an_upload_being_unpacked_holds_up_no_other_request(tmp_path: Path) -> None:
    from realfish.service.store import Store

    store = Store(tmp_path)
    store.create_network("n")
    unpacking, release = threading.Event(), threading.Event()

    def slow_fill(dest: Path) -> None:
        unpacking.set()
        assert release.wait(10)
        (dest / "configs").mkdir(parents=True)

    upload = threading.Thread(target=store.add_snapshot, args=("n", "big", slow_fill))
    upload.start()
    try:
        assert unpacking.wait(10)
        done = threading.Event()

        def create_other() -> None:
            store.create_network("m")
            done.set()

        other = threading.Thread(target=create_other)
        other.start()
        assert done.wait(5), "creating a network waited for another network's upload"
        assert store.snapshots("n") == []  # not listed until complete
    finally:
        release.set()
        upload.join(10)
    assert store.snapshots("n") == ["big"] and not [p for p in (tmp_path / "networks" / "n" / "snapshots").iterdir()
                                                      if p.name.startswith(".")]


def test_request_bodies_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from realfish.service import Service, app

    monkeypatch.setattr(app, "MAX_JSON_BYTES", 1000)
    with Service() as svc:
        client = svc.app.test_client()
        client.post("/v2/networks", query_string={"name": "n"})
        big = json.dumps({"class": "x", "padding": "p" * 2000})
        r = client.put("/v2/networks/n/questions/q", data=big)
        assert r.status_code == 413 and "at most 1000 bytes" in r.get_data(as_text=True)
        assert client.get("/v2/networks/n/questions/q").status_code == 404
        assert client.put("/v2/networks/n/questions/q", data=json.dumps({"class": "x"})).status_code == 200
        svc.app.config["MAX_CONTENT_LENGTH"] = 100
        assert client.post("/v2/networks/n/snapshots/s", data=b"z" * 200).status_code == 413


def test_templates_say_which_questions_realfish_answers() -> None:
    """Asked of the answerers' registry (not a list kept by hand): the unmarked templates are the answered ones."""
    from realfish.questions import NOT_ANSWERED, templates

    answered = {n for n, text in templates().items() if NOT_ANSWERED not in json.loads(text)["instance"]["description"]}
    assert answered == {
        "bgpEdges", "bgpRib", "bgpSessionCompatibility", "bgpSessionStatus", "bidirectionalTraceroute", "edges",
        "fileParseStatus", "initIssues", "interfaceProperties", "ipOwners", "layer3Edges", "lpmRoutes",
        "nodeProperties", "ospfEdges", "ospfSessionCompatibility", "routes", "traceroute", "reachability",
        "detectLoops", "bgpProcessConfiguration", "bgpPeerConfiguration", "ospfProcessConfiguration",
        "ospfInterfaceConfiguration", "ospfAreaConfiguration", "testFilters", "searchFilters",
        "filterLineReachability", "definedStructures", "undefinedReferences", "unusedStructures", "namedStructures"}


@pytest.mark.frr
def test_a_stop_never_interrupts_the_emulation_stopping_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service interrupts a running convergence when it stops, but not the emulation's own shutdown (its
    daemons, run directory and FRR leftovers would stay): a stop that arrives then waits for it."""
    import types

    import realfish.convergence
    import realfish.dataplane
    import realfish.runtime
    from realfish.service import Service

    stopping, stopped = threading.Event(), []

    class Emulation:  # converges at once, then takes a while to stop, in Python (where an interruption lands)
        def __init__(self, network: Any, **kw: Any) -> None:
            self.report = types.SimpleNamespace(problems=[])

        def __enter__(self) -> Emulation:
            return self

        def converge(self, timeout: float) -> None:
            pass

        def __exit__(self, *exc: Any) -> None:
            stopping.set()
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                time.sleep(0.01)
            stopped.append(True)

    monkeypatch.setattr(realfish.runtime, "Emulation", Emulation)
    monkeypatch.setattr(realfish.convergence, "collect", lambda _runner, ok: realfish.dataplane.Dataplane(ok))
    svc = Service()
    client = svc.app.test_client()
    client.post("/v2/networks", query_string={"name": "n"})
    client.post("/v2/networks/n/snapshots/s", data=_zip({"s/configs/r1.cfg": frr_config("r1")}))
    client.post("/v2/networks/n/work", data=json.dumps({"id": "p1", "requestParams": {"testrig": "s"}}))
    assert stopping.wait(30)
    svc.close()
    assert stopped == [True]


def test_only_recent_snapshot_states_stay_in_memory() -> None:
    """A dropped state is rebuilt from the snapshot's input and saved dataplane when a question needs it."""
    from realfish.service import Service

    with Service() as svc:
        svc.worker.max_states = 1
        client = svc.app.test_client()
        client.post("/v2/networks", query_string={"name": "n"})
        for snap in ("a", "b"):
            client.post(f"/v2/networks/n/snapshots/{snap}", data=_zip({f"{snap}/configs/e.cfg": ""}))
            client.post("/v2/networks/n/work", data=json.dumps({"id": f"p-{snap}", "requestParams": {"testrig": snap}}))
            assert _finish(client, "n", f"p-{snap}") == "TERMINATEDNORMALLY"
        assert list(svc.worker._states) == [("n", "b")]
        rows = _answer_rows(client, "n", "a", "initialization.FileParseStatusQuestion")
        assert [r["File_Name"] for r in rows] == ["configs/e.cfg"]
        assert list(svc.worker._states) == [("n", "a")]


@pytest.mark.frr
def test_a_convergence_that_fails_half_way_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The routers run, then reading their tables fails (a bug): the work ends abnormally with the traceback in
    its log, the snapshot keeps its configs (DATAPLANING_FAIL), and no daemon or run directory stays behind."""
    import realfish.convergence
    from realfish.service import Service

    run_dirs: list[Path] = []

    def broken(runner: Any, converged: bool) -> Any:
        assert any("frr" in _cmdline(p) for p in _children(os.getpid())), "the routers should be running"
        run_dirs.append(runner.run_dir)
        raise KeyError("a table that is not there")

    monkeypatch.setattr(realfish.convergence, "collect", broken)
    with Service() as svc:
        client = svc.app.test_client()
        log = parse_one_router(client, "TERMINATEDABNORMALLY")  # pybatfish's init_snapshot raises
        assert "convergence failed: KeyError" in log and "Traceback" in log
        status = client.get("/v2/networks/n/snapshots/s").get_json()["initializationMetadata"]["currentStatus"]
        assert status == "DATAPLANING_FAIL"
    assert not [p for p in _children(os.getpid()) if "frr" in _cmdline(p)]
    assert len(run_dirs) == 1 and not run_dirs[0].exists()


@pytest.mark.frr
def test_a_daemon_that_dies_fails_the_parse_and_shows_in_init_issues(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dead daemon: the network did not converge as configured. pybatfish's work ends abnormally with the line
    that explains it (FRR's crash handler's), initIssues lists it; the snapshot still answers from its tables."""
    from realfish.service import Service

    abort_after_start(monkeypatch, "r1", "bgpd")
    with Service() as svc:
        client = svc.app.test_client()
        assert _parse_chain(client) == "TERMINATEDABNORMALLY"
        log = client.get("/v2/networks/n/snapshots/s/worklog/p1").get_data(as_text=True)
        assert "ERROR: the network did not converge as configured: r1: bgpd died, signal 6 (SIGABRT): " in log
        assert "Received signal 6" in log
        rows = _answer_rows(client, "n", "s", "initialization.InitIssuesQuestion")
        failed = [r for r in rows if r["Type"] == "Convergence error"]
        assert len(failed) == 1 and failed[0]["Nodes"] == ["r1"] and "Received signal 6" in failed[0]["Details"]


@pytest.mark.frr
def test_a_run_that_hits_its_limit_is_not_converged_for_pybatfish() -> None:
    """A limit of 0 s: the run cannot converge within it, whatever the machine. The parse work ends abnormally
    saying so, and initIssues lists it (the issue: 600 s of wall time, then DATAPLANED with no warning)."""
    from realfish.service import Service

    with Service(converge_timeout=0) as svc:
        client = svc.app.test_client()
        assert _parse_chain(client) == "TERMINATEDABNORMALLY"
        log = client.get("/v2/networks/n/snapshots/s/worklog/p1").get_data(as_text=True)
        assert "converged=False" in log and "did not converge as configured: not converged within 0 s" in log
        rows = _answer_rows(client, "n", "s", "initialization.InitIssuesQuestion")
        failed = [r for r in rows if r["Type"] == "Convergence error"]
        assert [(r["Nodes"], r["Details"].split(" (")[0]) for r in failed] == [(None, "not converged within 0 s of "
                                                                                   "wall time")]


def test_a_crashing_answerer_ends_its_work_abnormally(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in an answerer ends its work item with the traceback in the log; the worker goes on answering."""
    from realfish import answers
    from realfish.answers import properties  # noqa: F401 - registers the real answerer first, to be replaced
    from realfish.service import Service

    def crash(question: Any, snapshot: Any, reference: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(answers._REGISTRY, ("initialization.FileParseStatusQuestion", None),
                        (crash, answers.TABLE_DIFF))
    with Service() as svc:
        client = svc.app.test_client()
        client.post("/v2/networks", query_string={"name": "n"})
        client.post("/v2/networks/n/snapshots/s", data=_zip({"s/configs/e.cfg": ""}))
        for i, cls in enumerate(("FileParseStatusQuestion", "InitIssuesQuestion")):
            question = {"class": f"org.batfish.question.initialization.{cls}", "differential": False,
                        "instance": {"instanceName": cls, "variables": {}}}
            client.put(f"/v2/networks/n/questions/{cls}", data=json.dumps(question))
            item = {"id": f"a{i}", "requestParams": {"answer": "", "questionname": cls, "testrig": "s"}}
            client.post("/v2/networks/n/work", data=json.dumps(item))
        assert _finish(client, "n", "a0") == "TERMINATEDABNORMALLY"
        log = client.get("/v2/networks/n/snapshots/s/worklog/a0").get_data(as_text=True)
        assert "ZeroDivisionError: a bug" in log and "Traceback" in log and "in crash" in log
        assert _finish(client, "n", "a1") == "TERMINATEDNORMALLY"


def test_names_never_leave_the_data_directory(tmp_path: Path) -> None:
    """Every user-supplied name or key is one path component under the data directory, whatever it holds."""
    from realfish.service import Service

    evil = ["..", "../..", "../../escape", "/abs", ".hidden", "%2E%2E", "a\\..\\b"]
    with Service(tmp_path / "data") as svc:
        client = svc.app.test_client()
        for name in evil:
            assert client.post("/v2/networks", query_string={"name": name}).status_code == 201, name
            assert client.put("/v2/networks/n-x/objects", query_string={"key": name}).status_code == 404
        assert sorted(n["name"] for n in client.get("/v2/networks").get_json()) == sorted(evil)
        net = "../.."
        assert client.post(f"/v2/networks/{net}/snapshots/s", data=_zip({"s/configs/e.cfg": ""})).status_code == 404
        client.post("/v2/networks", query_string={"name": "n"})
        for key in evil:
            assert client.put("/v2/networks/n/objects", query_string={"key": key}, data=b"v").status_code == 200
            assert client.get("/v2/networks/n/objects", query_string={"key": key}).data == b"v"
            if "/" not in key:  # a path segment cannot hold one
                question = {"class": "x", "instance": {"instanceName": key}}
                assert client.put(f"/v2/networks/n/questions/{key}", data=json.dumps(question)).status_code == 200
                assert client.get(f"/v2/networks/n/questions/{key}").get_json() == question
    assert [p.name for p in tmp_path.iterdir()] == ["data"]
    assert not [p for p in (tmp_path / "data").rglob("*") if not p.resolve().is_relative_to(tmp_path / "data")]


def test_clean_leaves_a_live_service_alone_and_removes_a_dead_ones_data(tmp_path: Path) -> None:
    """`realfish clean` looks at every /tmp/realfish-* directory: the service's temporary data directory is its
    owner's while that process lives (a clean must not take it), and stale once it is gone (e.g. SIGKILLed)."""
    import tempfile as tf

    from realfish.clean import clean
    from realfish.service import Service

    service = Service()
    try:
        data = service.data_dir
        assert data.parent == Path(tf.gettempdir()) and data.name.startswith("realfish-data-")
        clean()
        assert data.is_dir()
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout.strip()
        (data / "owner.pid").write_text(dead)  # as after a kill: the owner is gone
        log = clean()
        assert not data.exists() and any(str(data) in line for line in log)
    finally:
        service.close()
