"""Batfish's own example snapshots, converted: edges, parse status and every line against Batfish's answers.

Data: ../shared/compat/batfish-example (example-live, example-candidate; refs/*.ref are the real Batfish's
answers on example-live) and ../shared/compat/batfish-dc-as-reuse (10 Arista-style switches, eBGP Clos).

Fast tests (pure parsing, seconds): layer-3 edges equal topology.ref's links; fileParseStatus rows equal
parse-status.ref's; every non-blank line of every file has exactly one status and none is unrecognized; the
rendered configs pass FRR 8.4.4's own dry run (`vtysh -C`).

Differences from Batfish, explained rather than hidden:
- dc-as-reuse is detected as CISCO_IOS, not ARISTA, exactly as Batfish detects it (its files carry none of
  EOS's signatures: no `! device: ... EOS-` line), so IOS defaults apply, which Batfish's routes ref shows
  too (eBGP administrative distance 20, not EOS's 200).
- Batfish reports no format for plain FRR; realfish's own FRR detection does not apply to these snapshots.

Slow tests (marked `slow`) run the converted snapshots under the emulation: example-live converges and every
session Batfish's bgpSessionStatus.ref lists as established is established; dc-as-reuse converges.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from compat_tests.topotests import shared_dir
from realfish.convert import ConvertedSnapshot, convert_snapshot, write_conversion
from realfish.status import file_parse_status_rows

EXAMPLE = shared_dir() / "compat" / "batfish-example"
DC = shared_dir() / "compat" / "batfish-dc-as-reuse"
SNAPSHOTS = {
    "example-live": EXAMPLE / "snapshots" / "example-live",
    "example-candidate": EXAMPLE / "snapshots" / "example-candidate",
    "dc-as-reuse": DC / "snapshot",
}

pytestmark = [pytest.mark.frr,
              pytest.mark.skipif(not EXAMPLE.is_dir() or not DC.is_dir(),
                                 reason=f"shared compat data not found under {shared_dir()} (set REALFISH_SHARED)")]

_CACHE: dict[str, ConvertedSnapshot] = {}


def converted(name: str) -> ConvertedSnapshot:
    if name not in _CACHE:
        _CACHE[name] = convert_snapshot(SNAPSHOTS[name])
    return _CACHE[name]


def ref(name: str) -> Any:
    return json.loads((EXAMPLE / "refs" / name).read_text())


def test_example_live_layer3_edges_equal_topology_ref() -> None:
    topo = ref("topology.ref")
    ifaces = {i["id"]: (i["nodeId"].removeprefix("node-"), i["name"]) for i in topo["interfaces"]}
    expected = {(*ifaces[link["srcId"]], *ifaces[link["dstId"]]) for link in topo["links"]}
    conv = converted("example-live")
    assert len(expected) == 38
    assert set(conv.edges) == expected
    assert sorted({n["name"] for n in topo["nodes"]}) == sorted(conv.network.routers)


def test_example_live_file_status_equals_parse_status_ref() -> None:
    expected = ref("parse-status.ref")[0]["rows"]
    rows = file_parse_status_rows(converted("example-live").statuses)
    assert rows == expected


def test_example_live_node_kinds_and_names() -> None:
    net = converted("example-live").network
    assert {n for n, r in net.routers.items() if r.kind == "host"} == {"host1", "host2"}
    r = net.routers["as2border1"]
    assert r.name_map["gi0-0"] == "GigabitEthernet0/0" and r.name_map["lo"] == "Loopback0"
    host = net.routers["host1"]
    assert "ip route 0.0.0.0/0 2.128.0.1" in host.config and host.daemons() == ["zebra", "staticd"]


@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_every_line_translated_or_reported(name: str) -> None:
    conv = converted(name)
    assert conv.statuses and all(s.status == "PASSED" for s in conv.statuses)
    root = SNAPSHOTS[name]
    for st in conv.statuses:
        if st.file.endswith(".json"):  # JSON keeps no lines: its notes point at keys (checked in test_parsers_frr)
            assert not [n for n in st.notes if n.kind in ("unrecognized", "error")], st.file
            continue
        lines = (root / st.file).read_text().splitlines()
        noted = [n.line for n in st.notes if n.line is not None and n.kind in ("translated", "ignored", "unsupported",
                                                                               "unrecognized", "error")]
        assert len(noted) == len(set(noted)), f"{st.file}: a line with two statuses"
        want = {i for i, t in enumerate(lines, start=1) if t.strip()}
        assert set(noted) == want, f"{st.file}: lines without a status: {sorted(want - set(noted))[:10]}"
        assert not [n for n in st.notes if n.kind in ("unrecognized", "error")], st.file


def test_dc_as_reuse_detected_as_batfish_does_and_linked() -> None:
    conv = converted("dc-as-reuse")
    assert {s.format for s in conv.statuses} == {"CISCO_IOS"}
    assert len(conv.network.routers) == 10 and len(conv.network.segments) == 12 and len(conv.edges) == 24
    # every configured neighbor address is on a segment of its router: single-hop eBGP can come up
    for name, dev in conv.devices.items():
        assert dev.bgp is not None
        linked = {a.network for i in dev.interfaces.values() for a in i.addresses if a.network.prefixlen < 32}
        for peer in dev.bgp.peers:
            assert any(ipaddress.ip_address(peer) in n for n in linked), (name, peer)


@pytest.mark.skipif(shutil.which("vtysh") is None, reason="FRR's vtysh is not installed")
@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_rendered_configs_pass_frr_dry_run(name: str, tmp_path: Path) -> None:
    out = write_conversion(converted(name), tmp_path / "out")
    for cfg in sorted((out / "configs").iterdir()):
        res = subprocess.run(["vtysh", "-C", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, (cfg.name, res.stdout, res.stderr)
    maps = json.loads((out / "realfish" / "name_maps.json").read_text())
    assert set(maps) == set(converted(name).network.routers)


# -- under the emulation (slow) ------------------------------------------------------------------------------


def _established(emu: Any, router: str) -> dict[str, str]:
    summary = emu.show(router, "show bgp summary json")
    peers = (summary or {}).get("ipv4Unicast", {}).get("peers", {})
    return {ip: p.get("state", "") for ip, p in peers.items()}


@pytest.mark.slow
def test_example_live_converges_and_batfish_sessions_are_established() -> None:
    from realfish.runtime import Emulation

    net = converted("example-live").network
    with Emulation(net) as emu:
        emu.converge(timeout=600)
        for row in ref("bgpSessionStatus.ref")[0]["rows"]:
            if row["Established_Status"] != "ESTABLISHED":
                continue
            node, peer = row["Node"]["name"], row["Remote_IP"]["value"]
            assert _established(emu, node).get(peer) == "Established", (node, peer)


@pytest.mark.slow
def test_dc_as_reuse_converges() -> None:
    from realfish.runtime import Emulation

    net = converted("dc-as-reuse").network
    with Emulation(net) as emu:
        report = emu.converge(timeout=600)
        assert report.converged
        for name, dev in converted("dc-as-reuse").devices.items():
            assert dev.bgp is not None
            states = _established(emu, name)
            assert all(states.get(p) == "Established" for p in dev.bgp.peers), (name, states)
