"""The FRR renderer: vendor defaults made explicit, Linux-safe names with a map back, configs FRR accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from realfish.model import Device, Interface
from realfish.parsers import parse_config
from realfish.render import linux_names, render

IOS = """!
hostname Edge1
!
interface Loopback0
 ip address 10.255.0.1 255.255.255.255
interface Loopback1
 ip address 10.255.1.1 255.255.255.255
interface GigabitEthernet0/0
 ip address 10.0.0.1 255.255.255.0
 ip access-group BLOCK in
interface GigabitEthernet0/1
 ip address 10.0.1.1 255.255.255.0
 bandwidth 100000
interface FastEthernet1/0
 ip address 10.0.2.1 255.255.255.0
interface GigabitEthernet0/2
 ip address 10.9.9.1 255.255.255.0
 shutdown
router ospf 1
 router-id 10.255.0.1
 network 10.0.0.0 0.0.1.255 area 0
 network 10.255.0.0 0.0.255.255 area 0
 passive-interface Loopback0
router bgp 65001
 neighbor PEERS peer-group
 neighbor PEERS remote-as 65002
 neighbor 10.0.0.2 peer-group PEERS
 neighbor 10.255.0.9 remote-as 65001
 neighbor 10.255.0.9 update-source Loopback0
 neighbor 10.255.0.9 send-community
 network 10.0.2.0 mask 255.255.255.0
ip access-list extended BLOCK
 deny tcp any any eq 23
 permit ip any any
access-list 10 permit 10.0.0.0 0.0.255.255
route-map RM permit 10
 match ip address 10
"""


def rendered(text: str = IOS) -> str:
    dev, st = parse_config(text, "configs/edge1.cfg")
    assert dev is not None, st.notes
    return render(dev).config


def test_linux_safe_names_and_map_back() -> None:
    dev, _ = parse_config(IOS, "configs/edge1.cfg")
    assert dev is not None
    names = linux_names(dev)
    assert names["Loopback0"] == "lo" and names["GigabitEthernet0/0"] == "gi0-0"
    assert names["FastEthernet1/0"] == "fa1-0" and names["Loopback1"] == "Loopback1"
    assert all(len(n) <= 15 for n in names.values()) and len(set(names.values())) == len(names)
    r = render(dev)
    assert r.ifmap["gi0-0"] == "GigabitEthernet0/0" and r.linux["GigabitEthernet0/1"] == "gi0-1"


def test_long_and_clashing_names_get_generic_ones() -> None:
    dev = Device("x", "CISCO_IOS", "x")
    for n in ("TwentyFiveGigE1/0/1", "TwentyFiveGigE1/0/1.1000", "Ethernet1", "eth1"):
        dev.interfaces[n] = Interface(n)
    names = linux_names(dev)
    assert names["Ethernet1"] == "Ethernet1" and names["eth1"] == "eth1"
    assert all(len(v) <= 15 for v in names.values()) and len(set(names.values())) == 4


def test_ios_vendor_defaults_are_explicit() -> None:
    cfg = rendered()
    assert " no bgp ebgp-requires-policy" in cfg
    assert "  no neighbor PEERS send-community" in cfg  # IOS sends none unless told
    assert "  no neighbor 10.255.0.9 send-community extended" in cfg
    assert "  no neighbor 10.255.0.9 send-community\n" not in cfg  # this one was told to
    assert "  maximum-paths 1" in cfg and "  maximum-paths ibgp 1" in cfg
    assert "  network 10.0.2.0/24" in cfg
    assert " maximum-paths 4" in cfg  # IOS OSPF multipath


def test_ospf_wildcard_networks_become_interface_areas_with_vendor_costs() -> None:
    cfg = rendered()
    blocks = {b.split("\n")[0]: b for b in re.findall(r"(?m)^interface .*?\nexit", cfg, re.S)}
    assert "ip ospf area 0.0.0.0" in blocks["interface gi0-0"] and "ip ospf cost 1" in blocks["interface gi0-0"]
    assert "ip ospf cost 1" in blocks["interface gi0-1"]  # bandwidth 100000 kbps = reference 100 Mbps
    assert "ip ospf cost" not in blocks.get("interface fa1-0", "")
    assert "ip ospf area" not in blocks["interface fa1-0"]  # 10.0.2.1 is outside 10.0.0.0/23
    assert "ip ospf passive" in blocks["interface lo"] and "ip ospf passive" not in blocks["interface gi0-0"]
    assert "ip ospf area 0.0.0.0" in blocks["interface Loopback1"]
    assert "10.9.9.1" not in cfg and "GigabitEthernet0/2 is shut down" in cfg


def test_update_source_uses_linux_name_and_acl_for_route_map() -> None:
    cfg = rendered()
    assert " neighbor 10.255.0.9 update-source lo" in cfg
    assert "access-list 10 permit 10.0.0.0 0.0.255.255" in cfg
    assert "BLOCK" not in cfg  # interface ACL: modelled, not an FRR command


def test_eos_distances() -> None:
    eos = "! device: s (DCS, EOS-4.2)\nhostname s\nrouter bgp 1\n neighbor 10.0.0.1 remote-as 2\n"
    assert "  distance bgp 200 200 200" in rendered(eos)


def test_frr_config_runs_as_written() -> None:
    text = "frr version 8.4.4\nhostname r1\ninterface eth0\n ip address 10.0.0.1/24\nrouter bgp 1\n"
    dev, _ = parse_config(text, "configs/r1.cfg")
    assert dev is not None and render(dev).config == text


def test_cumulus_addresses_come_before_its_frr_conf() -> None:
    text = ("sw\n# This file describes the network interfaces\nauto swp1\niface swp1\n    address 10.0.0.1/31\n"
            "frr version 8.4.4\nrouter bgp 1\n neighbor 10.0.0.0 remote-as 2\n")
    dev, _ = parse_config(text, "configs/sw")
    assert dev is not None
    cfg = render(dev).config
    assert cfg.index("interface swp1\n ip address 10.0.0.1/31") < cfg.index("router bgp 1")


def _vtysh_check(tmp_path: Path, name: str, config: str) -> subprocess.CompletedProcess[str]:
    p = tmp_path / f"{name}.conf"
    p.write_text(config)
    return subprocess.run(["vtysh", "-C", "-f", str(p)], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("vtysh") is None, reason="FRR's vtysh is not installed")
def test_rendered_configs_pass_frr_dry_run(tmp_path: Path) -> None:
    texts = {"ios": IOS,
             "eos": "! device: s (DCS, EOS-4.2)\nhostname s\nrouter bgp 1\n neighbor 10.0.0.1 remote-as 2\n",
             "cumulus": ("sw\n# This file describes the network interfaces\nauto swp1\niface swp1\n"
                         "    address 10.0.0.1/31\nfrr version 8.4.4\nrouter bgp 1\n neighbor 10.0.0.0 remote-as 2\n")}
    for name, text in texts.items():
        dev, _ = parse_config(text, f"configs/{name}")
        assert dev is not None
        res = _vtysh_check(tmp_path, name, render(dev).config)
        assert res.returncode == 0, (name, res.stdout, res.stderr)
