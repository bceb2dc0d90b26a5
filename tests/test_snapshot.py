"""Loading a snapshot through realfish's one loader (`realfish.convert.load_network`, what the CLI, the service
and the tests run): routers from FRR configs, links (segments file, layer1, inferred from subnets), the issues
users see; and writing a `Network` as a snapshot (realfish.snapshot)."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from realfish.convert import convert_snapshot, load_network
from realfish.snapshot import SnapshotError, SnapshotIssue, write_snapshot
from realfish.topology import Interface, Network, Router, Segment

pytestmark = pytest.mark.frr  # the loader checks every config with vtysh's dry run

SHARED = Path(os.environ.get("REALFISH_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
FRR = "frr version 8.4.4\n"  # what FRR writes first: detected as an FRR config whatever else the file holds


def snap(tmp_path: Path, configs: dict[str, str], layer1: object = None, segments: object = None) -> Path:
    (tmp_path / "configs").mkdir(parents=True)
    for name, text in configs.items():
        (tmp_path / "configs" / name).write_text(text)
    if layer1 is not None or segments is not None:
        (tmp_path / "batfish").mkdir()
    if layer1 is not None:
        (tmp_path / "batfish" / "layer1_topology.json").write_text(
            layer1 if isinstance(layer1, str) else json.dumps(layer1, indent=1))
    if segments is not None:
        (tmp_path / "batfish" / "realfish_segments.json").write_text(json.dumps(segments, indent=1))
    return tmp_path


def cfg(host: str | None, *ifaces: tuple[str, str]) -> str:
    lines = [f"hostname {host}", "!"] if host else []
    for name, addr in ifaces:
        lines += [f"interface {name}", f" ip address {addr}" if addr else " description none", "!"]
    return FRR + "\n".join(lines) + "\n"


def members(net: Network) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(s.members) for s in net.segments}


def ep(h: str, i: str) -> dict[str, str]:
    return {"hostname": h, "interfaceName": i}


def text_of(issues: list[SnapshotIssue]) -> str:
    return "\n".join(str(i) for i in issues)


# -- configs -------------------------------------------------------------------------------------------------


def test_interfaces_addresses_mtu_and_config_run_as_written(tmp_path: Path) -> None:
    text = FRR + """hostname r1
!
interface lo
 ip address 10.255.0.1/32
 ipv6 address fc00::1/128
!
interface eth0
 description uplink
 ip address 10.0.0.0/31
 ipv6 address 2001:db8::1/64
 mtu 9000
!
router bgp 65000
 neighbor 10.0.0.1 remote-as 65001
!
"""
    root = snap(tmp_path, {"r1.cfg": text})
    r = load_network(root).routers["r1"]
    assert r.config.endswith(text) and r.source == str(root / "configs" / "r1.cfg")
    assert list(r.interfaces) == ["lo", "eth0"]
    assert r.interfaces["lo"].addresses == [ipaddress.ip_interface("10.255.0.1/32"),
                                            ipaddress.ip_interface("fc00::1/128")]
    assert r.interfaces["lo"].mtu == 65536 and r.interfaces["lo"].ifindex == 1
    eth0 = r.interfaces["eth0"]
    assert eth0.addresses == [ipaddress.ip_interface("10.0.0.0/31"), ipaddress.ip_interface("2001:db8::1/64")]
    assert eth0.mtu == 9000 and eth0.ifindex == 2


def test_accepts_frr_abbreviations_and_unindented_blocks(tmp_path: Path) -> None:
    # As in FRR's own topotests: `int`, `ip addr`, `shut`, and interface commands without indentation.
    text = "int e1\n  ip addr 192.168.1.1/24\n\nint e2\nip address 192.168.2.1/24\nshut\n" \
           "router ospf6\n interface e1 area 0.0.0.0\ninterface e3 area 0.0.0.0\nip route 10.0.0.0/8 e1\n"
    root = snap(tmp_path, {"r.cfg": text})
    conv = convert_snapshot(root)
    assert list(conv.network.routers) == ["r"]  # no hostname: named after the file
    assert list(conv.network.routers["r"].interfaces) == ["lo", "e1", "e2"]  # `interface e3 area ...` is ospf6d's
    assert conv.network.routers["r"].interfaces["e1"].addresses == [ipaddress.ip_interface("192.168.1.1/24")]
    e2 = conv.devices["r"].interfaces["e2"]
    assert e2.addresses == [ipaddress.ip_interface("192.168.2.1/24")] and e2.shutdown
    assert conv.network.routers["r"].interfaces["e2"].addresses == []  # shut down: no address in the kernel


def test_top_level_command_ends_interface_block(tmp_path: Path) -> None:
    text = FRR + "interface e1\n ip address 10.0.0.1/24\nip forwarding\nip address 10.9.9.9/24\n"
    net = load_network(snap(tmp_path, {"r.cfg": text}))
    assert net.routers["r"].interfaces["e1"].addresses == [ipaddress.ip_interface("10.0.0.1/24")]


@pytest.mark.parametrize("line", [" ip address 10.0.0.1", " ipv6 address 10.0.0.1/24", " mtu big"])
def test_bad_interface_lines_name_file_and_line(tmp_path: Path, line: str) -> None:
    issues: list[SnapshotIssue] = []
    net = load_network(snap(tmp_path, {"r.cfg": f"{FRR}hostname r\n!\ninterface e1\n{line}\n"}), issues)
    assert net.routers["r"].interfaces["e1"].addresses == []  # the line is skipped, the router still loads
    bad = [i for i in issues if i.line == 5]  # realfish's parser and vtysh's check both refuse it: one note
    assert len(bad) == 1 and bad[0].file == "configs/r.cfg" and line.strip() in bad[0].message, text_of(issues)


@pytest.mark.parametrize("name, linux", [("GigabitEthernet0/0", "gi0-0"), ("averyveryverylongname", "if1"),
                                         ("eth#0", "eth-0")])
def test_interface_name_linux_cannot_take_runs_renamed(tmp_path: Path, name: str, linux: str) -> None:
    text = f"{FRR}hostname r1\n!\ninterface {name}\n ip address 10.0.0.1/24\n"
    iface = load_network(snap(tmp_path, {"r1.cfg": text})).routers["r1"].interfaces[linux]
    assert iface.original_name == name and iface.addresses == [ipaddress.ip_interface("10.0.0.1/24")]


def test_hostname_that_is_no_file_name_is_tamed(tmp_path: Path) -> None:
    issues: list[SnapshotIssue] = []
    net = load_network(snap(tmp_path, {"r1.cfg": f"{FRR}!\nhostname ../etc\n"}), issues)
    assert list(net.routers) == ["etc"]
    assert "configs/r1.cfg:3: warning:  hostname '../etc' is used as 'etc'" in text_of(issues)


# -- files ---------------------------------------------------------------------------------------------------


def test_file_names_hostname_fallback_and_skipped_files(tmp_path: Path) -> None:
    root = snap(tmp_path, {
        "r10.cfg": cfg("r10"),
        "r2.conf": cfg(None, ("eth0", "10.0.0.1/24")),  # no hostname: named after the file
        "edge": cfg("border"),  # no extension: accepted
        "notes.txt": "some notes\n",
        ".gitkeep": "",
        "empty.cfg": "\n\n",
    })
    (root / "configs" / "blob.cfg").write_bytes(b"\x7fELF\x00\x01")
    (root / "configs" / "latin.cfg").write_bytes(b"hostname x\n! caf\xe9\n")
    issues: list[SnapshotIssue] = []
    net = load_network(root, issues)
    assert list(net.routers) == ["border", "r2", "r10"]  # natural file-name order: edge, r2.conf, r10.cfg
    assert net.routers["r2"].source == str(root / "configs" / "r2.conf")
    for f, words in [("notes.txt", "not recognized"), ("blob.cfg", "binary"), ("latin.cfg:2", "not UTF-8"),
                     ("r2.conf", "named after the file")]:
        assert any(str(i).startswith(f"configs/{f}") and words in i.message for i in issues), (f, text_of(issues))
    assert ".gitkeep" not in text_of(issues)


def test_router_names_are_batfish_node_names(tmp_path: Path) -> None:
    """Batfish lowercases hostnames; a plain FRR snapshot's routers (the CLI's report) are named the same way as
    the answers name them, whatever the case in the config or the file name."""
    root = snap(tmp_path, {"Router1.cfg": cfg("Router1", ("eth0", "10.0.0.1/24")),
                           "EDGE.conf": cfg(None, ("eth0", "10.0.0.2/24"))})
    net = load_network(root)
    assert sorted(net.routers) == ["edge", "router1"]
    assert "hostname Router1" in net.routers["router1"].config  # the config still runs as written
    assert sorted(convert_snapshot(root).devices) == sorted(net.routers)


def test_duplicate_hostnames_name_both_files(tmp_path: Path) -> None:
    issues: list[SnapshotIssue] = []
    net = load_network(snap(tmp_path, {"a.cfg": cfg("core"), "b.cfg": FRR + "!\n!\nhostname CORE\n"}), issues)
    assert list(net.routers) == ["core"] and net.routers["core"].source.endswith("a.cfg")  # the first file wins
    dup = [i for i in issues if "duplicate hostname" in i.message]
    assert len(dup) == 1 and dup[0].file == "configs/b.cfg" and "configs/a.cfg:2" in dup[0].message


def test_missing_configs_dir(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError) as ei:
        load_network(tmp_path)
    assert ei.value.file == str(tmp_path) and "no configs/" in str(ei.value)
    with pytest.raises(SnapshotError, match="no such snapshot directory"):
        load_network(tmp_path / "nope")
    (tmp_path / "configs").mkdir()
    with pytest.raises(SnapshotError, match="no device could be loaded"):
        load_network(tmp_path)


def test_snapshot_inside_single_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "mysnap").mkdir()  # how a snapshot zip usually unpacks
    snap(tmp_path / "mysnap", {"r1.cfg": cfg("r1")})
    assert list(load_network(tmp_path).routers) == ["r1"]


# -- links ---------------------------------------------------------------------------------------------------


def test_links_inferred_from_subnets(tmp_path: Path) -> None:
    root = snap(tmp_path, {
        "a.cfg": cfg("a", ("p2p", "10.0.0.0/31"), ("lan", "192.168.1.1/24"), ("host", "10.9.9.1/32"),
                     ("alone", "172.16.0.1/24")),
        "b.cfg": cfg("b", ("p2p", "10.0.0.1/31"), ("lan", "192.168.1.2/24"), ("host", "10.9.9.2/32")),
        "c.cfg": cfg("c", ("lan", "192.168.1.3/25"), ("down", "10.1.0.2/24"), ("v6", ""))
        + "interface down\n shutdown\n!\ninterface lo\n ip address 192.168.1.9/24\n",
        "d.cfg": cfg("d", ("up", "10.1.0.1/24"), ("other", "192.168.1.130/25")),
    })
    net = load_network(root)
    assert members(net) == {
        frozenset({("a", "p2p"), ("b", "p2p")}),  # /31 counts
        frozenset({("a", "lan"), ("b", "lan"), ("c", "lan")}),  # a /25 inside the /24 joins (Batfish's rule)
    }  # /32s, loopbacks, shut-down interfaces, lone subnets and 192.168.1.128/25 stay unlinked
    assert net.segments[0].members == [("a", "p2p"), ("b", "p2p")] and net.segments[0].name == "seg0"


def test_links_from_layer1_components(tmp_path: Path) -> None:
    layer1 = {"edges": [
        {"node1": ep("R1", "eth0"), "node2": ep("r2", "eth0")},
        {"node1": ep("r2", "eth0"), "node2": ep("r1", "eth0")},  # same link, other direction
        {"node1": ep("r1", "eth1"), "node2": ep("r3", "eth1")},  # one direction
        {"node1": ep("r3", "eth1"), "node2": ep("r2", "eth1")},  # LAN: r1:eth1, r2:eth1, r3:eth1
        {"node1": ep("r2", "eth1"), "node2": ep("r3", "eth9")},  # r3's config has no eth9: as Batfish, ignored
        {"node1": ep("r3", "eth2"), "node2": ep("switch7", "Ethernet1")},  # unknown host
    ]}
    root = snap(tmp_path, {
        "r1.cfg": cfg("r1", ("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24")),
        "r2.cfg": cfg("r2", ("eth0", "10.0.0.2/24"), ("eth1", "10.1.0.2/24")),
        "r3.cfg": cfg("r3", ("eth0", "10.0.0.3/24"), ("eth1", "10.1.0.3/24"), ("eth2", "")),
    }, layer1=layer1)  # r3:eth0 is in r1's and r2's subnet, but layer1 says it is not linked
    issues: list[SnapshotIssue] = []
    net = load_network(root, issues)
    assert members(net) == {frozenset({("r1", "eth0"), ("r2", "eth0")}),
                            frozenset({("r1", "eth1"), ("r2", "eth1"), ("r3", "eth1")})}
    assert "eth9" not in net.routers["r3"].interfaces
    ignored = [i for i in issues if i.file == "batfish/layer1_topology.json"]
    assert [i.message.split(":")[0] for i in ignored] == ["warning"] * 2, text_of(issues)
    assert "r3:eth9" in ignored[0].message and "switch7:Ethernet1" in ignored[1].message


def test_layer1_errors(tmp_path: Path) -> None:
    """A layer1 file that cannot be used is reported with its line; links are then inferred from subnets."""
    configs = {"r1.cfg": cfg("r1", ("eth0", "10.0.0.1/24")), "r2.cfg": cfg("r2", ("eth0", "10.0.0.2/24"))}
    inferred = {frozenset({("r1", "eth0"), ("r2", "eth0")})}
    issues: list[SnapshotIssue] = []
    net = load_network(snap(tmp_path / "a", configs, layer1='{"edges": [\n  {"node1": }\n]}'), issues)
    assert members(net) == inferred
    assert [(i.file, i.line) for i in issues] == [("batfish/layer1_topology.json", 2)] and "invalid JSON" in str(
        issues[0])
    issues.clear()
    net = load_network(snap(tmp_path / "c", configs, layer1={"edges": [{"node1": {"hostname": "r1"}}]}), issues)
    assert members(net) == set()  # a layer1 file that names no usable edge links nothing (Batfish)
    assert "edge #0" in text_of(issues) and "expected node1/node2" in text_of(issues)


def test_segments_file_wins_and_keeps_stubs(tmp_path: Path) -> None:
    lan = [ep("r1", "eth1"), ep("r2", "eth1"), ep("r3", "eth1")]
    segments = {"segments": [{"name": "s1", "members": [ep("r1", "eth0")]}, {"name": "lan", "members": lan}]}
    layer1 = {"edges": [{"node1": ep("r1", "eth0"), "node2": ep("r2", "eth0")}]}
    root = snap(tmp_path, {f"r{i}.cfg": cfg(f"r{i}", ("eth0", f"10.0.0.{i}/24")) for i in (1, 2, 3)},
                layer1=layer1, segments=segments)
    net = load_network(root)
    assert [(s.name, s.members) for s in net.segments] == [
        ("s1", [("r1", "eth0")]), ("lan", [("r1", "eth1"), ("r2", "eth1"), ("r3", "eth1")])]


def test_segments_file_errors(tmp_path: Path) -> None:
    """A segments file that cannot be used is reported; links are then inferred from subnets."""
    configs = {"r1.cfg": cfg("r1", ("eth0", "10.0.0.1/24"))}
    twice = {"segments": [{"name": "a", "members": [ep("r1", "eth0")]},
                          {"name": "b", "members": [ep("r1", "eth0")]}]}
    unknown = {"segments": [{"name": "a", "members": [ep("r9", "eth0")]}]}
    for sub, segments, words in [("a", twice, "r1:eth0 is in segments a and b"), ("b", unknown, "no router 'r9'")]:
        issues: list[SnapshotIssue] = []
        net = load_network(snap(tmp_path / sub, configs, segments=segments), issues)
        assert net.segments == [] and words in text_of(issues)
        assert issues[0].file == "batfish/realfish_segments.json" and issues[0].line is not None


# -- writing -------------------------------------------------------------------------------------------------


def test_write_snapshot_round_trip(tmp_path: Path) -> None:
    net = Network()
    for i in (1, 2, 3):
        router = Router(f"r{i}", config=cfg(f"r{i}", ("eth0", f"10.0.0.{i}/24"), ("eth1", f"10.{i}.0.1/24")),
                        source=str(tmp_path / "configs" / f"r{i}.cfg"))
        router.add_interface(Interface("eth0", [ipaddress.ip_interface(f"10.0.0.{i}/24")]))
        router.add_interface(Interface("eth1", [ipaddress.ip_interface(f"10.{i}.0.1/24")]))
        net.add_router(router)
    net.segments = [Segment("lan", [("r1", "eth0"), ("r2", "eth0"), ("r3", "eth0")]),
                    Segment("stub", [("r1", "eth1")])]
    write_snapshot(net, tmp_path)
    assert (tmp_path / "batfish" / "realfish_segments.json").exists()  # a stub needs it
    layer1 = json.loads((tmp_path / "batfish" / "layer1_topology.json").read_text())
    assert len(layer1["edges"]) == 6  # 3 pairs, both directions
    back = load_network(tmp_path)
    assert back.routers == net.routers and [(s.name, s.members) for s in back.segments] == [
        (s.name, s.members) for s in net.segments]
    with pytest.raises(FileExistsError):
        write_snapshot(net, tmp_path)
    write_snapshot(Network({"r1": net.routers["r1"]}), tmp_path, overwrite=True)
    assert [p.name for p in (tmp_path / "configs").iterdir()] == ["r1.cfg"]
    assert not (tmp_path / "batfish" / "realfish_segments.json").exists()


# -- real snapshots ------------------------------------------------------------------------------------------


def test_cisco_example_snapshot_loads_through_the_same_loader() -> None:
    root = SHARED / "compat" / "batfish-example" / "snapshots" / "example-live"
    if not root.is_dir():
        pytest.skip(f"shared data not found at {root} (set REALFISH_SHARED)")
    conv = convert_snapshot(root)
    assert conv.network.routers and {d.format for d in conv.devices.values()} >= {"CISCO_IOS"}
    assert sorted(load_network(root).routers) == sorted(conv.network.routers)
