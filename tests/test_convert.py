"""Snapshot conversion end to end: layer-1 and runtime data, the `convert` command, what `converge` loads."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from realfish.cli import main
from realfish.convert import convert_snapshot, infer_l3_edges, load_network
from realfish.model import Device, DeviceInterface

pytestmark = pytest.mark.frr

R1 = """!
hostname R1
interface Loopback0
 ip address 10.255.0.1 255.255.255.255
interface GigabitEthernet0/0
 ip address 10.0.0.1 255.255.255.0
interface GigabitEthernet0/1
 ip address 10.0.1.1 255.255.255.0
router bgp 1
 neighbor 10.0.0.2 remote-as 2
"""
R2 = R1.replace("R1", "R2").replace("10.0.0.1 ", "10.0.0.2 ").replace("10.255.0.1", "10.255.0.2") \
    .replace("10.0.1.1", "10.0.1.2").replace("10.0.0.2 remote-as 2", "10.0.0.1 remote-as 1").replace("bgp 1", "bgp 2")


def snapshot(tmp_path: Path, layer1: object = None, runtime: object = None) -> Path:
    (tmp_path / "configs").mkdir(parents=True)
    (tmp_path / "configs" / "r1.cfg").write_text(R1)
    (tmp_path / "configs" / "r2.cfg").write_text(R2)
    if layer1 is not None or runtime is not None:
        (tmp_path / "batfish").mkdir()
    if layer1 is not None:
        (tmp_path / "batfish" / "layer1_topology.json").write_text(json.dumps(layer1))
    if runtime is not None:
        (tmp_path / "batfish" / "runtime_data.json").write_text(json.dumps(runtime))
    return tmp_path


def ep(h: str, i: str) -> dict[str, str]:
    return {"hostname": h, "interfaceName": i}


def test_inferred_edges_without_layer1(tmp_path: Path) -> None:
    conv = convert_snapshot(snapshot(tmp_path))
    assert set(conv.edges) == {("r1", f"GigabitEthernet0/{i}", "r2", f"GigabitEthernet0/{i}") for i in (0, 1)} | {
        ("r2", f"GigabitEthernet0/{i}", "r1", f"GigabitEthernet0/{i}") for i in (0, 1)}
    assert {tuple(s.members) for s in conv.network.segments} == {
        (("r1", "gi0-0"), ("r2", "gi0-0")), (("r1", "gi0-1"), ("r2", "gi0-1"))}


def test_inferred_edges_follow_batfish_candidates() -> None:
    """Batfish's synthesizeL3Topology: a /25 that starts where a /24 starts is linked to it; the /25 that starts
    at .128 is not, although its address lies in the /24 (a candidate's subnet must begin at the /24's first
    address); /32s and shared addresses never link."""
    def dev(name: str, *addrs: str) -> Device:
        d = Device(name, "FRR", f"configs/{name}.cfg")
        for i, a in enumerate(addrs):
            d.interfaces[f"e{i}"] = DeviceInterface(f"e{i}", addresses=[ipaddress.ip_interface(a)])
        return d

    devices = {"a": dev("a", "192.168.1.1/24", "10.9.9.1/32"), "c": dev("c", "192.168.1.3/25", "10.9.9.2/32"),
               "d": dev("d", "192.168.1.130/25"), "e": dev("e", "192.168.1.1/24")}
    assert infer_l3_edges(devices) == [("a", "e0", "c", "e0"), ("c", "e0", "a", "e0"), ("c", "e0", "e", "e0"),
                                       ("e", "e0", "c", "e0")]  # a and e share 192.168.1.1: not linked


def test_layer1_file_with_the_users_names_decides_links(tmp_path: Path) -> None:
    layer1 = {"edges": [{"node1": ep("R1", "GigabitEthernet0/0"), "node2": ep("r2", "GigabitEthernet0/0")},
                        {"node1": ep("r1", "Gi0/1"), "node2": ep("nobody", "eth0")}]}
    conv = convert_snapshot(snapshot(tmp_path, layer1=layer1))
    assert set(conv.edges) == {("r1", "GigabitEthernet0/0", "r2", "GigabitEthernet0/0"),
                               ("r2", "GigabitEthernet0/0", "r1", "GigabitEthernet0/0")}
    assert [tuple(s.members) for s in conv.network.segments] == [(("r1", "gi0-0"), ("r2", "gi0-0"))]
    l1 = conv.status_of("batfish/layer1_topology.json")
    assert l1 is not None and any("nobody" in n.message for n in l1.notes)


def test_runtime_data_line_down_shuts_the_interface(tmp_path: Path) -> None:
    runtime = {"runtimeData": {"r1": {"interfaces": {"GigabitEthernet0/1": {"lineUp": False}}}}}
    conv = convert_snapshot(snapshot(tmp_path, runtime=runtime))
    assert conv.devices["r1"].interfaces["GigabitEthernet0/1"].shutdown
    assert len(conv.network.segments) == 1 and "10.0.1.1" not in conv.network.routers["r1"].config


def test_convert_command_writes_what_will_run(tmp_path: Path) -> None:
    snap = snapshot(tmp_path / "snap")
    assert main(["convert", str(snap), str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "configs").iterdir()) == ["r1.cfg", "r2.cfg"]
    maps = json.loads((out / "realfish" / "name_maps.json").read_text())
    assert maps["r1"]["hostname"] == "R1" and maps["r1"]["interfaces"]["gi0-0"] == "GigabitEthernet0/0"
    status = json.loads((out / "realfish" / "file_parse_status.json").read_text())
    assert [(r["File_Name"], r["Status"], r["File_Format"]) for r in status] == [
        ("configs/r1.cfg", "PASSED", "CISCO_IOS"), ("configs/r2.cfg", "PASSED", "CISCO_IOS")]
    edges = json.loads((out / "realfish" / "layer3_edges.json").read_text())["edges"]
    assert len(edges) == 4
    assert main(["convert", str(snap), str(out)]) == 2  # not empty: refused
    assert main(["convert", str(snap), str(out), "--overwrite"]) == 0
    # the output is itself a snapshot that realfish runs as it is
    net = load_network(out)
    assert sorted(net.routers) == ["r1", "r2"] and net.routers["r1"].config == (out / "configs" / "r1.cfg").read_text()


def test_load_network_keeps_plain_frr_snapshots_as_they_were(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    text = "hostname a\n!\ninterface eth0\n ip address 10.0.0.1/24\n!\n"
    (tmp_path / "configs" / "a.cfg").write_text(text)
    net = load_network(tmp_path)
    assert net.routers["a"].config == text  # an FRR config runs as written
    vendor = snapshot(tmp_path / "v")
    assert load_network(vendor).routers["r1"].interfaces["gi0-0"].original_name == "GigabitEthernet0/0"
