"""FRR native, Cumulus concatenated, SONiC, Arista EOS and Batfish host files: one snippet per feature."""

from __future__ import annotations

import ipaddress
import json

from realfish.parsers import parse_config
from realfish.parsers.host import parse_host, parse_iptables
from realfish.parsers.sonic import parse_sonic

FRR = """frr version 8.4.4
frr defaults traditional
hostname leaf1
log syslog informational
!
int swp1
ip address 10.0.0.1/31
!
interface lo
 ip address 10.255.0.1/32
!
router bgp 65001
 bgp router-id 10.255.0.1
 neighbor 10.0.0.0 remote-as external
 neighbor swp2 interface remote-as external
 address-family ipv4 unicast
  network 10.255.0.1/32
  redistribute connected route-map LOOPS
 exit-address-family
exit
!
bgp community-list standard C permit 65000:1
route-map LOOPS permit 10
 match interface lo
!
ip route 0.0.0.0/0 10.0.0.0
some-future-frr-command 42
"""


def test_frr_ospfv3_is_passed_to_frr() -> None:
    """ospf6d runs `router ospf6` and `ipv6 ospf6` lines as written: passed on, not unsupported; other routing
    protocols' blocks (no daemon runs them) still are."""
    text = ("frr version 8.4.4\nhostname r1\ninterface eth0\n ipv6 address 2001:db8::1/64\n ipv6 ospf6 area 0\nexit\n"
            "router ospf6\n ospf6 router-id 10.0.0.1\nexit\nrouter rip\n network eth0\nexit\n")
    dev, st = parse_config(text, "configs/r1.cfg")
    assert dev is not None and dev.frr_passthrough == text
    kinds = {n.text: n.kind for n in st.notes}
    assert kinds["router ospf6"] == kinds["ospf6 router-id 10.0.0.1"] == kinds["ipv6 ospf6 area 0"] == "translated"
    assert kinds["router rip"] == "unsupported"


def test_frr_keyword_abbreviations_and_ospf6_area_lines() -> None:
    """FRR's topotests write `int`, `ip addr`, `shut`, with or without indentation; `interface NAME area A` at the
    top is ospf6d's area statement, not an interface."""
    text = ("frr version 8.4.4\nint e1\n  ip addr 192.168.1.1/24\nint e2\nip addr 192.168.2.1/24\nshut\n"
            "router ospf6\n interface e1 area 0.0.0.0\ninterface e3 area 0.0.0.0\n")
    dev, _ = parse_config(text, "configs/r.cfg")
    assert dev is not None and list(dev.interfaces) == ["e1", "e2"]
    assert dev.interfaces["e1"].addresses == [ipaddress.ip_interface("192.168.1.1/24")]
    assert dev.interfaces["e2"].addresses == [ipaddress.ip_interface("192.168.2.1/24")]
    assert dev.interfaces["e2"].shutdown and not dev.interfaces["e1"].shutdown


def test_ipv6_bgp_and_static_lines() -> None:
    """FRR runs IPv6 BGP and `ipv6 route` as written (tests/test_bgp6.py): passed on; IOS's are in the model
    (tests/test_parsers_ios.py), but for per-neighbor IPv6 policy, which stays reported."""
    body = ("router bgp 65001\n neighbor 2001:db8::2 remote-as 65002\n address-family ipv6 unicast\n"
            "  neighbor 2001:db8::2 activate\n  neighbor 2001:db8::2 route-map RM in\n exit-address-family\n!\n"
            "ipv6 route 2001:db8:1::/48 Null0\n")
    _, frr = parse_config("frr version 8.4.4\nhostname r1\n" + body, "configs/r1.cfg")
    _, ios = parse_config("!\nversion 15.2\nhostname r1\n" + body, "configs/r1.cfg")
    for st, want, policy in ((frr, "translated", "translated"), (ios, "translated", "unsupported")):
        kinds = {n.text: n.kind for n in st.notes}
        assert kinds["neighbor 2001:db8::2 remote-as 65002"] == want, st.notes
        assert kinds["address-family ipv6 unicast"] == kinds["neighbor 2001:db8::2 activate"] == want
        assert kinds["ipv6 route 2001:db8:1::/48 Null0"] == want
        assert kinds["neighbor 2001:db8::2 route-map RM in"] == policy


def test_frr_model_and_passthrough() -> None:
    dev, st = parse_config(FRR, "configs/leaf1.cfg")
    assert dev is not None and st.format == "FRR" and st.status == "PASSED"
    assert dev.hostname == "leaf1" and dev.frr_passthrough == FRR
    assert dev.interfaces["swp1"].addresses == [ipaddress.ip_interface("10.0.0.1/31")]  # unindented block
    assert dev.bgp is not None and dev.bgp.peers["10.0.0.0"].remote_as == "external"
    assert dev.bgp.ebgp_requires_policy  # FRR's own default stays FRR's
    assert [str(n.prefix) for n in dev.bgp.networks] == ["10.255.0.1/32"]
    assert dev.community_lists["C"].entries[0].values == "65000:1"
    assert str(dev.static_routes[0].next_hop) == "10.0.0.0"
    notes = {n.text: n for n in st.notes}
    assert notes["neighbor swp2 interface remote-as external"].kind == "translated"  # BGP unnumbered, run as is
    assert notes["some-future-frr-command 42"].kind == "translated"  # FRR reads it; realfish passes it on
    assert "passed to FRR" in notes["some-future-frr-command 42"].message


CUMULUS = """leaf2
# This file describes the network interfaces available on your system
# and how to activate them.
auto lo
iface lo inet loopback
    address 10.255.0.2/32

auto swp1
iface swp1
    address 10.0.0.3/31
    mtu 9000
    alias to spine

auto bridge
iface bridge
    bridge-ports swp5 swp6
    bridge-vlan-aware yes

auto vlan10
iface vlan10
    address 10.10.0.1/24
    vlan-id 10
    vlan-raw-device bridge
    wibble
# ports.conf --
1=100G
2=4x25G
frr version 8.4.4
frr defaults datacenter
hostname ignored-name
!
router bgp 65002
 neighbor 10.0.0.2 remote-as 65000
!
"""


def test_cumulus_concatenated() -> None:
    dev, st = parse_config(CUMULUS, "configs/leaf2")
    assert dev is not None and st.format == "CUMULUS_CONCATENATED"
    assert dev.hostname == "leaf2"  # the first line names the switch, as in Batfish
    assert dev.interfaces["lo"].addresses == [ipaddress.ip_interface("10.255.0.2/32")]
    assert dev.interfaces["swp1"].mtu == 9000 and dev.interfaces["vlan10"].encapsulation_vlan == 10
    assert dev.bgp is not None and "10.0.0.2" in dev.bgp.peers
    assert dev.frr_passthrough is not None and dev.frr_passthrough.startswith("frr version 8.4.4")
    kinds = {n.text: n.kind for n in st.notes}
    assert kinds["bridge-ports swp5 swp6"] == "unsupported" and kinds["1=100G"] == "ignored"
    assert kinds["wibble"] == "unrecognized" and st.status == "PARTIALLY_UNRECOGNIZED"


def test_sonic_config_db_and_frr() -> None:
    db = {"DEVICE_METADATA": {"localhost": {"hostname": "Sonic1", "bgp_asn": "65100"}},
          "PORT": {"Ethernet0": {"mtu": "9100", "admin_status": "up"}, "Ethernet4": {"admin_status": "down"}},
          "INTERFACE": {"Ethernet0": {}, "Ethernet0|10.0.0.0/31": {}},
          "LOOPBACK_INTERFACE": {"Loopback0|10.1.0.1/32": {}},
          "VLAN": {"Vlan1000": {"vlanid": "1000"}},
          "NTP_SERVER": {"10.0.0.9": {}}, "MYSTERY": {}}
    frr = "frr version 8.4\nhostname other\nrouter bgp 65100\n neighbor 10.0.0.1 remote-as 65200\n"
    dev, sts = parse_sonic(("sonic_configs/s1/config_db.json", json.dumps(db, indent=1)),
                           ("sonic_configs/s1/frr.conf", frr), "s1")
    assert dev.hostname == "sonic1" and dev.format == "SONIC"
    assert dev.interfaces["Ethernet0"].addresses == [ipaddress.ip_interface("10.0.0.0/31")]
    assert dev.interfaces["Ethernet0"].mtu == 9100 and dev.interfaces["Ethernet4"].shutdown
    assert dev.interfaces["Loopback0"].loopback
    assert dev.bgp is not None and dev.bgp.asn == "65100"
    kinds = {n.text: n.kind for n in sts[0].notes}
    assert kinds["VLAN"] == "unsupported" and kinds["NTP_SERVER"] == "ignored" and kinds["MYSTERY"] == "unsupported"
    assert all(n.line is not None for n in sts[0].notes)


def test_sonic_bad_json_fails_that_file_only() -> None:
    dev, sts = parse_sonic(("sonic_configs/s1/config_db.json", "{\n  nope"), None, "s1")
    assert sts[0].status == "FAILED" and sts[0].notes[0].line == 2 and dev.hostname == "s1"


EOS = """! device: spine1 (DCS-7280SR, EOS-4.25.0F)
hostname spine1
switchport default mode access
interface Ethernet1
   no switchport
   ip address 10.0.0.0/31
interface Ethernet2
   description access port
interface Loopback0
   ip address 10.255.255.1/32
router bgp 65000
   router-id 10.255.255.1
   maximum-paths 4 ecmp 4
   neighbor 10.0.0.1 remote-as 65001
   neighbor 10.0.0.1 maximum-routes 12000
   network 10.255.255.1/32
management api http-commands
   no shutdown
"""


def test_eos_defaults_and_syntax() -> None:
    dev, st = parse_config(EOS, "configs/spine1.cfg")
    assert dev is not None and st.format == "ARISTA" and st.status == "PASSED", st.notes
    assert dev.interfaces["Ethernet1"].addresses == [ipaddress.ip_interface("10.0.0.0/31")]
    assert not dev.interfaces["Ethernet1"].switchport and dev.interfaces["Ethernet2"].switchport
    b = dev.bgp
    assert b is not None and b.maximum_paths_ebgp == b.maximum_paths_ibgp == 4
    assert b.peers["10.0.0.1"].maximum_prefix == 12000


def test_host_file_and_iptables() -> None:
    text = json.dumps({"hostname": "Host1", "iptablesFile": "iptables/host1.iptables",
                       "hostInterfaces": {"eth0": {"name": "eth0", "prefix": "10.0.0.5/24",
                                                   "gateway": "10.0.0.1"}}}, indent=1)
    dev, st = parse_host(text, "hosts/host1.json", "host1")
    assert dev is not None and dev.kind == "host" and dev.hostname == "host1" and st.nodes == ["host1"]
    assert dev.interfaces["eth0"].addresses == [ipaddress.ip_interface("10.0.0.5/24")]
    assert str(dev.default_gateway) == "10.0.0.1" and str(dev.static_routes[0].prefix) == "0.0.0.0/0"
    rules, ist = parse_iptables("*filter\n:INPUT DROP [1:2]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
                                "iptables/host1.iptables")
    assert [r.text for r in rules] == ["-P INPUT DROP", "-A INPUT -p tcp --dport 22 -j ACCEPT"]
    assert ist.status == "PASSED" and ist.nodes == ["iptables/host1.iptables"]
    dev, st = parse_host("{not json", "hosts/bad.json", "bad")
    assert dev is None and st.status == "FAILED" and st.notes[0].line == 1
