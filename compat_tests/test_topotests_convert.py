"""Every FRR topotest in ../shared/compat/frr-topotests converts to a snapshot that loads as its network."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import yaml

from compat_tests.topotests import convert_topotest, list_topotests, load_checks, topotests_dir
from realfish.convert import load_network
from realfish.snapshot import SnapshotIssue

TESTS = list_topotests() if topotests_dir().is_dir() else []
pytestmark = pytest.mark.skipif(not TESTS, reason=f"no topotests at {topotests_dir()} (set REALFISH_SHARED)")


def test_all_seven_are_there() -> None:
    assert {t.name for t in TESTS} >= {"bgp_rr_ibgp", "bgp_features", "ospf_topo1", "bgp_default_route",
                                       "bgp_aggregate_address_origin", "bgp_comm_list_delete",
                                       "bgp_ebgp_requires_policy"}


@pytest.mark.frr  # load_network checks the configs with vtysh
@pytest.mark.parametrize("test_dir", TESTS, ids=[t.name for t in TESTS])
def test_converts_and_loads(test_dir: Path, tmp_path: Path) -> None:
    topo = yaml.safe_load((test_dir / "topology.yaml").read_text())
    routers = [n for n, spec in topo["nodes"].items() if spec["kind"] == "router"]
    out = convert_topotest(test_dir, tmp_path / "snap")
    issues: list[SnapshotIssue] = []
    net = load_network(out, issues)
    # every file loads; what is left are notes on single config lines (not modelled, or refused by vtysh's
    # check: the known rejects and ospf6d's `int NAME` blocks, which vtysh -C refuses too)
    assert [i for i in issues if not i.file.startswith("configs/")
            or not i.message.startswith(("unsupported:", "warning:", "rejected:"))] == []
    assert sorted(net.routers) == sorted(routers)

    want = {name: {tuple(m.split(":", 1)) for m in ms if m.split(":", 1)[0] in routers}
            for name, ms in topo["l2_segments"].items()}
    assert {s.name: set(s.members) for s in net.segments} == {n: ms for n, ms in want.items() if ms}
    for name, ifaces in topo.get("addresses_from_zebra_conf", {}).items():
        for ifname, addrs in ifaces.items():
            got = net.routers[name].interfaces[ifname].addresses
            assert [str(a) for a in got] == [str(ipaddress.ip_interface(a)) for a in addrs], (name, ifname)

    for name in routers:
        text = (out / "configs" / f"{name}.cfg").read_text()
        lines = text.splitlines()
        assert sum(line.startswith("hostname ") for line in lines) == 1 and f"hostname {name}" in lines
        assert not any(line.startswith(("log ", "password")) for line in lines)
        sections = [line.removeprefix("! --- from ").removesuffix(" ---") for line in lines
                    if line.startswith("! --- from ")]
        assert sections[0] == "zebra.conf"
        assert sorted(sections) == sorted(topo["nodes"][name]["daemon_configs"])
        for conf in topo["nodes"][name]["daemon_configs"]:  # everything else is kept as shipped
            for line in (test_dir / name / conf).read_text().splitlines():
                if not line.startswith(("hostname", "log ", "password")):
                    assert line in lines

    # Batfish's view: layer1 holds every pair of each segment's routers, in both directions
    layer1 = json.loads((out / "batfish" / "layer1_topology.json").read_text())
    pairs = sum(len(s.members) * (len(s.members) - 1) for s in net.segments)
    assert len(layer1["edges"]) == pairs
    skipped = [n for n in topo["nodes"] if n not in routers]
    notes = json.loads((out / "batfish" / "realfish_segments.json").read_text()).get("notes", [])
    assert all(any(f"node {n} " in note for note in notes) for n in skipped)


@pytest.mark.parametrize("test_dir", TESTS, ids=[t.name for t in TESTS])
def test_initial_state_checks(test_dir: Path) -> None:
    entries = json.loads((test_dir / "expectations.json").read_text())
    checks = load_checks(test_dir)
    assert [c.index for c in checks] == [i for i, e in enumerate(entries) if e["initial_state"]]
    routers = {n for n, s in yaml.safe_load((test_dir / "topology.yaml").read_text())["nodes"].items()
               if s["kind"] == "router"}
    for c in checks:
        assert c.router in routers and c.command and c.expected is not None
        if c.match == "json_cmp":
            assert isinstance(c.expected, (dict, list))
        else:
            assert c.match == "text" and isinstance(c.expected, str)


def test_checks_read_expected_files() -> None:
    rr = topotests_dir() / "bgp_rr_ibgp"
    checks = load_checks(rr)
    assert [c.router for c in checks] == ["tor1", "tor2", "spine1"]
    assert checks[0].expected == json.loads((rr / "tor1" / "show_ip_route.json_ref").read_text())
    ospf = [c for c in load_checks(topotests_dir() / "ospf_topo1") if c.command == "show ipv6 ospf6 route"]
    assert ospf and all(isinstance(c.expected, str) and isinstance(c.alt_expected, str) for c in ospf)
    negated = [c for c in load_checks(topotests_dir() / "bgp_comm_list_delete") if c.negate]
    assert len(negated) == 1
