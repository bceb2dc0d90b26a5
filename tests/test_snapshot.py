"""Snapshot loading: configs, links (segments file, layer1, inferred from subnets), errors users see."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from realfish.snapshot import (
    SnapshotError,
    SnapshotIssue,
    load_snapshot,
    parse_frr_config,
    write_snapshot,
)
from realfish.topology import Network, Segment

SHARED = Path(os.environ.get("REALFISH_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")


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
    return "\n".join(lines) + "\n"


def members(net: Network) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(s.members) for s in net.segments}


def ep(h: str, i: str) -> dict[str, str]:
    return {"hostname": h, "interfaceName": i}


# -- configs -------------------------------------------------------------------------------------------------


def test_parse_interfaces_addresses_mtu_and_keeps_text() -> None:
    text = """hostname r1
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
    pc = parse_frr_config(text, "x/r1.cfg", "fallback")
    r = pc.router
    assert r.name == "r1" and r.config == text and r.source == "x/r1.cfg" and pc.hostname_line == 1
    assert list(r.interfaces) == ["lo", "eth0"]
    assert r.interfaces["lo"].addresses == [ipaddress.ip_interface("10.255.0.1/32"),
                                            ipaddress.ip_interface("fc00::1/128")]
    assert r.interfaces["lo"].mtu == 65536 and r.interfaces["lo"].ifindex == 1
    eth0 = r.interfaces["eth0"]
    assert eth0.addresses == [ipaddress.ip_interface("10.0.0.0/31"), ipaddress.ip_interface("2001:db8::1/64")]
    assert eth0.mtu == 9000 and eth0.ifindex == 2


def test_parse_accepts_frr_abbreviations_and_unindented_blocks() -> None:
    # As in FRR's own topotests: `int`, `ip addr`, tabs, and interface commands without indentation.
    text = "int e1\n  ip addr 192.168.1.1/24\n\nint e2\nip address 192.168.2.1/24\nshut\n" \
           "router ospf6\n interface e1 area 0.0.0.0\ninterface e3 area 0.0.0.0\nip route 10.0.0.0/8 e1\n"
    pc = parse_frr_config(text, "r.cfg", "r")
    assert pc.router.name == "r" and pc.hostname_line is None
    assert list(pc.router.interfaces) == ["lo", "e1", "e2"]  # `interface e3 area ...` is ospf6d's
    assert pc.router.interfaces["e2"].addresses == [ipaddress.ip_interface("192.168.2.1/24")]
    assert pc.shutdown == {"e2"}


def test_top_level_command_ends_interface_block() -> None:
    text = "interface e1\n ip address 10.0.0.1/24\nip forwarding\nip address 10.9.9.9/24\n"
    pc = parse_frr_config(text, "r.cfg", "r")
    assert pc.router.interfaces["e1"].addresses == [ipaddress.ip_interface("10.0.0.1/24")]


@pytest.mark.parametrize("line, words", [
    (" ip address 10.0.0.1", "no prefix length"),
    (" ip address 10.0.0.300/24", "invalid IPv4 address"),
    (" ip address 10.0.0.1 255.255.255.0", "address-and-mask syntax"),
    (" ipv6 address 10.0.0.1/24", "invalid IPv6 address"),
    (" mtu big", "mtu must be an integer"),
])
def test_bad_interface_lines_name_file_and_line(line: str, words: str) -> None:
    with pytest.raises(SnapshotError) as ei:
        parse_frr_config(f"hostname r\n!\ninterface e1\n{line}\n", "cfg/r.cfg", "r")
    assert ei.value.file == "cfg/r.cfg" and ei.value.line == 4 and words in str(ei.value)
    assert str(ei.value).startswith("cfg/r.cfg:4: ")


@pytest.mark.parametrize("name", ["GigabitEthernet0/0", "averyveryverylongname", "eth#0"])
def test_invalid_linux_interface_name(tmp_path: Path, name: str) -> None:
    text = f"hostname r1\n!\ninterface {name}\n ip address 10.0.0.1/24\n"
    root = snap(tmp_path, {"r1.cfg": text})
    with pytest.raises(SnapshotError) as ei:
        load_snapshot(root)
    assert ei.value.file == str(root / "configs" / "r1.cfg") and ei.value.line == 3
    assert "not a valid Linux interface name" in str(ei.value)


def test_bad_hostname(tmp_path: Path) -> None:
    root = snap(tmp_path, {"r1.cfg": "!\nhostname ../etc\n"})
    with pytest.raises(SnapshotError, match=r"r1.cfg:2: hostname '../etc' is not usable"):
        load_snapshot(root)


# -- files ---------------------------------------------------------------------------------------------------


def test_file_names_hostname_fallback_and_skipped_files(tmp_path: Path) -> None:
    root = snap(tmp_path, {
        "r10.cfg": cfg("r10"),
        "r2.conf": cfg(None, ("eth0", "10.0.0.1/24")),  # no hostname: named after the file
        "edge": cfg("border"),  # no extension: accepted
        "notes.txt": "hostname nope\n",
        ".gitkeep": "",
        "empty.cfg": "\n\n",
    })
    (root / "configs" / "blob.cfg").write_bytes(b"\x7fELF\x00\x01")
    (root / "configs" / "latin.cfg").write_bytes(b"hostname x\n! caf\xe9\n")
    (root / "configs" / "sub").mkdir()
    issues: list[SnapshotIssue] = []
    net = load_snapshot(root, issues)
    assert list(net.routers) == ["border", "r2", "r10"]  # natural file-name order: edge, r2.conf, r10.cfg
    assert net.routers["r2"].source == str(root / "configs" / "r2.conf")
    text = "\n".join(str(i) for i in issues)
    for f, words in [("notes.txt", "not a config file name"), ("blob.cfg", "binary"), ("empty.cfg", "empty"),
                     ("latin.cfg:2", "not UTF-8"), ("sub", "directory")]:
        assert f"{root / 'configs' / f}: skipped: " in text and words in text, (f, text)
    assert ".gitkeep" not in text


@pytest.mark.frr
def test_router_names_are_batfish_node_names(tmp_path: Path) -> None:
    """Batfish lowercases hostnames; a plain FRR snapshot's routers (the CLI's report) are named the same way as
    the answers name them, whatever the case in the config or the file name."""
    from realfish.convert import convert_snapshot

    root = snap(tmp_path, {"Router1.cfg": cfg("Router1", ("eth0", "10.0.0.1/24")),
                           "EDGE.conf": cfg(None, ("eth0", "10.0.0.2/24"))})
    net = load_snapshot(root)
    assert sorted(net.routers) == ["edge", "router1"]
    assert "hostname Router1" in net.routers["router1"].config  # the config still runs as written
    assert sorted(convert_snapshot(root).devices) == sorted(net.routers)


def test_duplicate_hostnames_name_both_files(tmp_path: Path) -> None:
    root = snap(tmp_path, {"a.cfg": cfg("core"), "b.cfg": "!\n!\nhostname CORE\n"})
    with pytest.raises(SnapshotError) as ei:
        load_snapshot(root)
    e = ei.value
    assert e.file == str(root / "configs" / "b.cfg") and e.line == 3
    assert str(root / "configs" / "a.cfg") + ":1" in str(e) and "duplicate hostname" in str(e)


def test_missing_configs_dir(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError) as ei:
        load_snapshot(tmp_path)
    assert ei.value.file == str(tmp_path / "configs") and "missing configs/" in str(ei.value)
    with pytest.raises(SnapshotError, match="no such snapshot directory"):
        load_snapshot(tmp_path / "nope")
    (tmp_path / "configs").mkdir()
    with pytest.raises(SnapshotError, match="no router configs"):
        load_snapshot(tmp_path)


def test_snapshot_inside_single_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "mysnap").mkdir()  # how a snapshot zip usually unpacks
    snap(tmp_path / "mysnap", {"r1.cfg": cfg("r1")})
    assert list(load_snapshot(tmp_path).routers) == ["r1"]


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
    net = load_snapshot(root)
    assert members(net) == {
        frozenset({("a", "p2p"), ("b", "p2p")}),  # /31 counts
        frozenset({("a", "lan"), ("b", "lan"), ("c", "lan")}),  # a /25 inside the /24 joins (Batfish's rule)
    }  # /32s, loopbacks, shut-down interfaces, lone subnets and 192.168.1.128/25 stay unlinked
    assert net.segments[0].members == [("a", "p2p"), ("b", "p2p")] and net.segments[0].name == "seg0"


def test_links_from_layer1_components_and_created_interfaces(tmp_path: Path) -> None:
    layer1 = {"edges": [
        {"node1": ep("R1", "eth0"), "node2": ep("r2", "eth0")},
        {"node1": ep("r2", "eth0"), "node2": ep("r1", "eth0")},  # same link, other direction
        {"node1": ep("r1", "eth1"), "node2": ep("r2", "eth1")},  # one direction; r2's config has no eth1
        {"node1": ep("r2", "eth1"), "node2": ep("r3", "eth9")},  # LAN: r1:eth1, r2:eth1, r3:eth9
        {"node1": ep("r3", "eth2"), "node2": ep("switch7", "Ethernet1")},  # unknown host
    ]}
    root = snap(tmp_path, {
        "r1.cfg": cfg("r1", ("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24")),
        "r2.cfg": cfg("r2", ("eth0", "10.0.0.2/24")),
        "r3.cfg": cfg("r3", ("eth0", "10.0.0.3/24")),  # same subnet, but layer1 says it is not linked
    }, layer1=layer1)
    issues: list[SnapshotIssue] = []
    net = load_snapshot(root, issues)
    assert members(net) == {frozenset({("r1", "eth0"), ("r2", "eth0")}),
                            frozenset({("r1", "eth1"), ("r2", "eth1"), ("r3", "eth9")})}
    assert net.routers["r2"].interfaces["eth1"].addresses == [] and "eth9" in net.routers["r3"].interfaces
    assert len(issues) == 1 and "switch7" in issues[0].message and issues[0].line is not None


def test_layer1_errors(tmp_path: Path) -> None:
    configs = {"r1.cfg": cfg("r1"), "r2.cfg": cfg("r2")}
    root = snap(tmp_path / "a", configs, layer1='{"edges": [\n  {"node1": }\n]}')
    with pytest.raises(SnapshotError, match="invalid JSON") as ei:
        load_snapshot(root)
    assert ei.value.line == 2 and ei.value.file == str(root / "batfish" / "layer1_topology.json")
    bad = {"edges": [{"node1": ep("r1", "eth0"), "node2": ep("r2", "Ethernet1/1/1")}]}
    root = snap(tmp_path / "b", configs, layer1=bad)
    with pytest.raises(SnapshotError, match="not a valid Linux interface name") as ei:
        load_snapshot(root)
    assert ei.value.line == 10  # where "Ethernet1/1/1" is in the (indented) file
    root = snap(tmp_path / "c", configs, layer1={"edges": [{"node1": {"hostname": "r1"}}]})
    with pytest.raises(SnapshotError, match="edge #0 node1"):
        load_snapshot(root)


def test_segments_file_wins_and_keeps_stubs(tmp_path: Path) -> None:
    lan = [ep("r1", "eth1"), ep("r2", "eth1"), ep("r3", "eth1")]
    segments = {"segments": [{"name": "s1", "members": [ep("r1", "eth0")]}, {"name": "lan", "members": lan}]}
    layer1 = {"edges": [{"node1": ep("r1", "eth0"), "node2": ep("r2", "eth0")}]}
    root = snap(tmp_path, {f"r{i}.cfg": cfg(f"r{i}", ("eth0", f"10.0.0.{i}/24")) for i in (1, 2, 3)},
                layer1=layer1, segments=segments)
    net = load_snapshot(root)
    assert [(s.name, s.members) for s in net.segments] == [
        ("s1", [("r1", "eth0")]), ("lan", [("r1", "eth1"), ("r2", "eth1"), ("r3", "eth1")])]


def test_segments_file_errors(tmp_path: Path) -> None:
    configs = {"r1.cfg": cfg("r1", ("eth0", "10.0.0.1/24"))}
    twice = {"segments": [{"name": "a", "members": [ep("r1", "eth0")]},
                          {"name": "b", "members": [ep("r1", "eth0")]}]}
    with pytest.raises(SnapshotError, match="r1:eth0 is in segments a and b"):
        load_snapshot(snap(tmp_path / "a", configs, segments=twice))
    unknown = {"segments": [{"name": "a", "members": [ep("r9", "eth0")]}]}
    with pytest.raises(SnapshotError, match="no router 'r9'"):
        load_snapshot(snap(tmp_path / "b", configs, segments=unknown))


# -- writing -------------------------------------------------------------------------------------------------


def test_write_snapshot_round_trip(tmp_path: Path) -> None:
    net = Network()
    for i in (1, 2, 3):
        text = cfg(f"r{i}", ("eth0", f"10.0.0.{i}/24"), ("eth1", f"10.{i}.0.1/24"))
        net.add_router(parse_frr_config(text, tmp_path / "configs" / f"r{i}.cfg", "?").router)
    net.segments = [Segment("lan", [("r1", "eth0"), ("r2", "eth0"), ("r3", "eth0")]),
                    Segment("stub", [("r1", "eth1")])]
    write_snapshot(net, tmp_path)
    assert (tmp_path / "batfish" / "realfish_segments.json").exists()  # a stub needs it
    layer1 = json.loads((tmp_path / "batfish" / "layer1_topology.json").read_text())
    assert len(layer1["edges"]) == 6  # 3 pairs, both directions
    back = load_snapshot(tmp_path)
    assert back.routers == net.routers and [(s.name, s.members) for s in back.segments] == [
        (s.name, s.members) for s in net.segments]
    with pytest.raises(FileExistsError):
        write_snapshot(net, tmp_path)
    write_snapshot(Network({"r1": net.routers["r1"]}), tmp_path, overwrite=True)
    assert [p.name for p in (tmp_path / "configs").iterdir()] == ["r1.cfg"]
    assert not (tmp_path / "batfish" / "realfish_segments.json").exists()


# -- real snapshots ------------------------------------------------------------------------------------------


def test_cisco_example_snapshot_is_refused_with_file_and_line() -> None:
    root = SHARED / "compat" / "batfish-example" / "snapshots" / "example-live"
    if not root.is_dir():
        pytest.skip(f"shared data not found at {root} (set REALFISH_SHARED)")
    with pytest.raises(SnapshotError) as ei:
        load_snapshot(root)
    assert ei.value.file is not None and ei.value.file.endswith(".cfg") and ei.value.line is not None
    assert "address-and-mask syntax (IOS/EOS)" in str(ei.value)  # Loopback0's `ip address A MASK` comes first
