"""The FRR renderer: vendor defaults made explicit, Linux-safe names with a map back, configs FRR accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from realfish.model import Device, DeviceInterface
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
        dev.interfaces[n] = DeviceInterface(n)
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


@pytest.mark.frr
def test_ospf_authentication_as_ospfd_applies_it() -> None:
    """An area's authentication is written on each of its interfaces that sets none; an interface's own type
    wins; IOS type 7 keys are given to ospfd in clear; a key form that cannot be read is reported, not run."""
    text = IOS.replace(" passive-interface Loopback0\n", " passive-interface Loopback0\n area 0 authentication\n")
    text = text.replace(" bandwidth 100000\n", " bandwidth 100000\n ip ospf authentication message-digest\n"
                        " ip ospf message-digest-key 3 md5 7 050A0A1F294D\n")
    text = text.replace(" ip access-group BLOCK in\n", " ip access-group BLOCK in\n ip ospf authentication-key sec\n"
                        " ip ospf message-digest-key 4 md5 6 AbCdEf\n")
    dev, st = parse_config(text, "configs/edge1.cfg")
    assert dev is not None
    cfg = render(dev).config
    blocks = {b.split("\n")[0]: b for b in re.findall(r"(?m)^interface .*?\nexit", cfg, re.S)}
    assert " ip ospf authentication\n ip ospf authentication-key sec\n" in blocks["interface gi0-0"]
    assert " ip ospf authentication message-digest\n ip ospf message-digest-key 3 md5 alpha\n" in blocks[
        "interface gi0-1"]
    assert "authentication" not in blocks.get("interface fa1-0", "")  # not in OSPF
    assert [(n.line, n.kind) for n in st.notes if "md5 6" in n.text] == [(12, "unsupported")]
    if shutil.which("vtysh"):  # and FRR's grammar takes every line written
        from realfish.rejected import dry_run

        assert dry_run({"edge1": cfg}) == {}


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


def _costs(text: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"(?ms)^interface (\S+)\n(?:(?!exit).)*?ip ospf cost "
                                                              r"(\d+)", rendered(text))}


def test_ospf_costs_follow_the_vendors_bandwidth() -> None:
    """The cost a device computes: its reference bandwidth over the interface's bandwidth, which is `bandwidth`,
    else the configured `speed`, else the vendor's default for the type (IOS FastEthernet 100 Mb/s, Gigabit
    1 Gb/s; EOS Ethernet 1 Gb/s); EOS without `auto-cost` costs 10 everywhere."""
    ios = ("hostname r\ninterface GigabitEthernet0/0\n ip address 10.0.0.1 255.255.255.0\n"
           "interface GigabitEthernet0/1\n ip address 10.0.1.1 255.255.255.0\n speed 100\n duplex full\n"
           "interface FastEthernet1/0\n ip address 10.0.2.1 255.255.255.0\n speed auto\n"
           "router ospf 1\n auto-cost reference-bandwidth 10000\n network 10.0.0.0 0.0.255.255 area 0\n")
    assert _costs(ios) == {"gi0-0": 10, "gi0-1": 100, "fa1-0": 100}
    eos = ("! device: s (DCS, EOS-4.28)\nhostname s\ninterface Ethernet1\n   no switchport\n"
           "   ip address 10.0.0.1/24\ninterface Ethernet2\n   no switchport\n   speed forced 10gfull\n"
           "   ip address 10.0.1.1/24\nrouter ospf 1\n   network 10.0.0.0/16 area 0.0.0.0\n")
    assert _costs(eos) == {"Ethernet1": 10, "Ethernet2": 10}
    assert _costs(eos.replace("area 0.0.0.0\n", "area 0.0.0.0\n   auto-cost reference-bandwidth 100000\n")) == {
        "Ethernet1": 100, "Ethernet2": 10}


EOS_AGG = """! device: s (DCS, EOS-4.28)
hostname s
interface Ethernet1
   no switchport
   ip address 10.0.0.1/24
interface Loopback0
   ip address 10.20.9.1/32
ip route 10.20.5.0/24 Null0
ip route 10.30.0.0/16 Null0
router bgp 65002
   neighbor 10.0.0.2 remote-as 65001
   aggregate-address 10.20.0.0/16
"""


def test_eos_aggregates_are_activated_by_their_static_and_connected_contributors() -> None:
    cfg = rendered(EOS_AGG)
    # 10.20.5.0/24 (static to Null0) and 10.20.9.1/32 (connected) are in EOS's RIB; 10.30/16 contributes nothing
    assert "ip prefix-list RF-EOS-AGGREGATE-ACTIVATORS seq 5 permit 10.20.9.1/32" in cfg
    assert "ip prefix-list RF-EOS-AGGREGATE-ACTIVATORS seq 10 permit 10.20.5.0/24" in cfg
    assert "  network 10.20.5.0/24\n" in cfg and "  network 10.20.9.1/32\n" in cfg and "10.30.0.0" not in cfg.split(
        "router bgp")[1]
    assert "  aggregate-address 10.20.0.0/16 suppress-map RF-EOS-AGGREGATE-ACTIVATORS" in cfg
    summary = rendered(EOS_AGG.replace("10.20.0.0/16", "10.20.0.0/16 summary-only"))
    assert "  aggregate-address 10.20.0.0/16 summary-only\n" in summary  # every contributor is suppressed anyway
    # contributors BGP carries by itself (redistributed) are FRR's own; IOS aggregates are BGP-only, as in FRR
    assert "ACTIVATORS" not in rendered(EOS_AGG.replace("   aggregate", "   redistribute static\n"
                                                                         "   redistribute connected\n   aggregate"))
    assert "ACTIVATORS" not in rendered(EOS_AGG.replace("! device: s (DCS, EOS-4.28)\n", "").replace("   ", " "))


def test_dynamic_neighbors_render_as_frr_listen_ranges() -> None:
    ios = ("hostname hub\ninterface GigabitEthernet0/0\n ip address 10.0.0.1 255.255.255.0\nrouter bgp 65001\n"
           " bgp listen range 10.0.0.0/24 peer-group SPOKES\n bgp listen limit 50\n neighbor SPOKES peer-group\n"
           " neighbor SPOKES remote-as 65002\n")
    cfg = rendered(ios)
    assert " bgp listen range 10.0.0.0/24 peer-group SPOKES\n bgp listen limit 50" in cfg
    assert "  neighbor SPOKES activate" in cfg  # its dynamic members exchange IPv4 routes, as on IOS
    eos = ("! device: s (DCS, EOS-4.28)\nhostname s\nrouter bgp 65000\n   neighbor LEAVES peer group\n"
           "   bgp listen range 10.1.0.0/16 peer-group LEAVES remote-as 65100\n")
    cfg = rendered(eos)
    assert " neighbor LEAVES remote-as 65100" in cfg and " bgp listen range 10.1.0.0/16 peer-group LEAVES" in cfg


def _vtysh_check(tmp_path: Path, name: str, config: str) -> subprocess.CompletedProcess[str]:
    p = tmp_path / f"{name}.conf"
    p.write_text(config)
    return subprocess.run(["vtysh", "-C", "-f", str(p)], capture_output=True, text=True, timeout=60)


@pytest.mark.frr
@pytest.mark.skipif(shutil.which("vtysh") is None, reason="FRR's vtysh is not installed")
def test_rendered_configs_pass_frr_dry_run(tmp_path: Path) -> None:
    texts = {"ios": IOS,
             "eos": "! device: s (DCS, EOS-4.2)\nhostname s\nrouter bgp 1\n neighbor 10.0.0.1 remote-as 2\n",
             "cumulus": ("sw\n# This file describes the network interfaces\nauto swp1\niface swp1\n"
                         "    address 10.0.0.1/31\nfrr version 8.4.4\nrouter bgp 1\n neighbor 10.0.0.0 remote-as 2\n"),
             "eos-aggregate": EOS_AGG}
    for name, text in texts.items():
        dev, _ = parse_config(text, f"configs/{name}")
        assert dev is not None
        res = _vtysh_check(tmp_path, name, render(dev).config)
        assert res.returncode == 0, (name, res.stdout, res.stderr)
