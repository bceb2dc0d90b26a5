"""Cisco IOS parser: one short snippet per feature, and the per-line status that goes with it."""

from __future__ import annotations

import ipaddress

import pytest

from realfish.model import Device
from realfish.parsers import parse_config
from realfish.parsers.detect import detect_format
from realfish.status import FileStatus


def ios(body: str) -> tuple[Device, FileStatus]:
    text = "!\nhostname R1\n!\n" + body
    dev, st = parse_config(text, "configs/r1.cfg", "CISCO_IOS")
    assert dev is not None, st.notes
    return dev, st


def kinds(st: FileStatus, kind: str) -> list[str]:
    return [n.text for n in st.notes if n.kind == kind]


def test_hostname_is_lowercased_and_original_kept() -> None:
    dev, st = ios("")
    assert dev.hostname == "r1" and dev.original_hostname == "R1" and st.status == "PASSED"


def test_interfaces_addresses_secondary_shutdown_mtu() -> None:
    dev, st = ios("""interface Loopback0
 ip address 10.255.0.1 255.255.255.255
!
interface GigabitEthernet0/0
 description uplink to core
 ip address 10.0.0.1 255.255.255.0
 ip address 10.0.1.1 255.255.255.0 secondary
 mtu 9000
 ip access-group IN in
 ip access-group OUT out
 negotiation auto
!
interface GigabitEthernet0/1
 no ip address
 shutdown
!
interface GigabitEthernet0/0.100
 encapsulation dot1Q 100
 ip address 10.100.0.1 255.255.255.0
!
interface Vlan10
 ip address 10.10.0.1 255.255.255.0
""")
    lo, g0, g1 = dev.interfaces["Loopback0"], dev.interfaces["GigabitEthernet0/0"], dev.interfaces["GigabitEthernet0/1"]
    assert lo.loopback and lo.addresses == [ipaddress.ip_interface("10.255.0.1/32")]
    assert g0.addresses == [ipaddress.ip_interface("10.0.0.1/24"), ipaddress.ip_interface("10.0.1.1/24")]
    assert g0.mtu == 9000 and g0.description == "uplink to core" and (g0.acl_in, g0.acl_out) == ("IN", "OUT")
    assert g1.shutdown and not g1.addresses
    sub = dev.interfaces["GigabitEthernet0/0.100"]
    assert sub.kind == "subinterface" and sub.encapsulation_vlan == 100
    assert dev.interfaces["Vlan10"].kind == "vlan"
    assert "negotiation auto" in kinds(st, "ignored") and st.status == "PASSED"


def test_static_routes() -> None:
    dev, _ = ios("""ip route 0.0.0.0 0.0.0.0 10.0.0.254
ip route 10.9.0.0 255.255.0.0 Null0
ip route 10.8.0.0 255.255.0.0 GigabitEthernet0/0 10.0.0.2 250 tag 7 name backup
""")
    r0, r1, r2 = dev.static_routes
    assert str(r0.prefix) == "0.0.0.0/0" and str(r0.next_hop) == "10.0.0.254" and r0.distance == 1
    assert r1.discard
    assert r2.interface == "GigabitEthernet0/0" and str(r2.next_hop) == "10.0.0.2" and r2.distance == 250
    assert r2.tag == 7


def test_ospf_networks_wildcards_passive_redistribution_areas() -> None:
    dev, st = ios("""interface GigabitEthernet0/0
 ip ospf cost 7
 ip ospf network point-to-point
router ospf 1
 router-id 1.1.1.1
 network 10.0.0.0 0.0.255.255 area 0
 network 10.1.0.0 0.0.0.255 area 10
 network 10.2.0.0 0.255.0.255 area 0
 passive-interface default
 no passive-interface GigabitEthernet0/0
 redistribute connected subnets route-map RM
 redistribute static metric 30 metric-type 1
 default-information originate always
 area 10 stub no-summary
 auto-cost reference-bandwidth 10000
 log-adjacency-changes
""")
    (p,) = dev.ospf
    assert p.router_id == "1.1.1.1"
    assert [(str(n), a) for n, a in p.networks] == [("10.0.0.0/16", "0.0.0.0"), ("10.1.0.0/24", "0.0.0.10")]
    assert p.passive_default and p.non_passive == {"GigabitEthernet0/0"}
    assert [(r.protocol, r.route_map, r.metric, r.metric_type) for r in p.redistribute] == [
        ("connected", "RM", None, None), ("static", None, 30, 1)]
    assert p.default_originate_always and p.areas["0.0.0.10"].stub and p.areas["0.0.0.10"].no_summary
    assert p.reference_bandwidth_mbps == 10000
    g0 = dev.interfaces["GigabitEthernet0/0"]
    assert g0.ospf_cost == 7 and g0.ospf_network_type == "point-to-point"
    assert [(str(a), str(w), ar) for a, w, ar in p.wildcard_networks] == [("10.2.0.0", "0.255.0.255", "0.0.0.0")]
    note = next(n for n in st.notes if n.line == 11)
    assert note.kind == "translated" and "non-contiguous wildcard" in note.message


def test_bgp_neighbors_peer_groups_and_options() -> None:
    dev, st = ios("""router bgp 65001
 bgp router-id 1.1.1.1
 bgp log-neighbor-changes
 neighbor IBGP peer-group
 neighbor IBGP remote-as 65001
 neighbor IBGP update-source Loopback0
 neighbor IBGP next-hop-self
 neighbor IBGP route-reflector-client
 neighbor IBGP send-community both
 neighbor 10.255.0.2 peer-group IBGP
 neighbor 192.0.2.1 remote-as 65002
 neighbor 192.0.2.1 ebgp-multihop 2
 neighbor 192.0.2.1 remove-private-as
 neighbor 192.0.2.1 allowas-in 2
 neighbor 192.0.2.1 route-map IN in
 neighbor 192.0.2.1 prefix-list OUT out
 neighbor 192.0.2.1 filter-list 5 in
 neighbor 192.0.2.1 password s3cret
 neighbor 192.0.2.1 timers 10 30
 neighbor 192.0.2.1 description to ISP
 network 10.0.0.0 mask 255.255.0.0
 network 172.16.0.0
 aggregate-address 10.0.0.0 255.0.0.0 summary-only as-set
 redistribute connected route-map RM
 maximum-paths 4
 maximum-paths ibgp 2
 timers bgp 5 15
 bgp default local-preference 200
 bgp bestpath as-path multipath-relax
 distance bgp 30 210 210
""")
    b = dev.bgp
    assert b is not None and b.asn == "65001" and b.router_id == "1.1.1.1"
    g = b.groups["IBGP"]
    assert g.remote_as == "65001" and g.update_source == "Loopback0" and g.next_hop_self
    assert g.route_reflector_client and g.send_community and g.send_community_extended
    m = b.peers["10.255.0.2"]
    assert m.peer_group == "IBGP" and b.peer_setting(m, "update_source") == "Loopback0"
    e = b.peers["192.0.2.1"]
    assert (e.remote_as, e.ebgp_multihop, e.remove_private_as, e.allowas_in) == ("65002", 2, True, 2)
    assert (e.route_map_in, e.prefix_list_out, e.filter_list_in, e.password) == ("IN", "OUT", "5", "s3cret")
    assert (e.keepalive, e.holdtime) == (10, 30)
    assert [str(n.prefix) for n in b.networks] == ["10.0.0.0/16", "172.16.0.0/16"]  # classful without mask
    (agg,) = b.aggregates
    assert str(agg.prefix) == "10.0.0.0/8" and agg.summary_only and agg.as_set
    assert b.redistribute[0].protocol == "connected" and b.redistribute[0].route_map == "RM"
    assert (b.maximum_paths_ebgp, b.maximum_paths_ibgp, b.keepalive, b.holdtime) == (4, 2, 5, 15)
    assert b.default_local_pref == 200 and b.multipath_relax
    assert (b.distance_ebgp, b.distance_ibgp, b.distance_local) == (30, 210, 210)
    assert not b.ebgp_requires_policy  # IOS's default, made explicit
    assert st.status == "PASSED"


def test_bgp_address_family_activation() -> None:
    dev, _ = ios("""router bgp 1
 no bgp default ipv4-unicast
 neighbor 10.0.0.2 remote-as 2
 neighbor 10.0.0.3 remote-as 3
 address-family ipv4
  neighbor 10.0.0.2 activate
  neighbor 10.0.0.2 send-community
  maximum-paths eibgp 3
 exit-address-family
 address-family ipv6
  neighbor 10.0.0.3 activate
 exit-address-family
""")
    b = dev.bgp
    assert b is not None and not b.default_ipv4_unicast
    assert b.peers["10.0.0.2"].activate and b.peers["10.0.0.3"].activate is None
    assert b.maximum_paths_ebgp == b.maximum_paths_ibgp == 3


def test_prefix_community_and_as_path_lists() -> None:
    dev, _ = ios("""ip prefix-list PL seq 5 permit 10.0.0.0/8 le 24
ip prefix-list PL deny 0.0.0.0/0 le 32
ip prefix-list PL description ignored
ip community-list standard STD permit 65000:1 no-export
ip community-list expanded EXP deny _65000:
ip community-list 10 permit 1:1
ip as-path access-list 5 permit ^65001_
""")
    pl = dev.prefix_lists["PL"]
    assert [(e.seq, e.action, str(e.prefix), e.ge, e.le) for e in pl.entries] == [
        (5, "permit", "10.0.0.0/8", None, 24), (10, "deny", "0.0.0.0/0", None, 32)]
    assert dev.community_lists["STD"].entries[0].values == "65000:1 no-export"
    assert dev.community_lists["EXP"].expanded and dev.community_lists["EXP"].entries[0].values == "_65000:"
    assert not dev.community_lists["10"].expanded
    assert dev.as_path_lists["5"].entries[0].regex == "^65001_"


def test_route_maps() -> None:
    dev, st = ios("""route-map RM permit 10
 match ip address prefix-list PL
 match community C1
 set local-preference 200
 set community 1:1 2:2 additive
 set as-path prepend 65001 65001
 set metric 50
 continue 30
route-map RM deny 20
 match ip address 101
route-map RM permit 30
 match as-path 5
 set ip next-hop 10.0.0.1
 set origin igp
 set weight 100
 set extcommunity rt 1:1
""")
    c10, c20, c30 = dev.route_maps["RM"].clauses
    assert (c10.seq, c10.action, c10.continue_to) == (10, "permit", 30)
    assert [(m.kind, m.args) for m in c10.matches] == [("prefix-list", ["PL"]), ("community", ["C1"])]
    assert [(s.kind, s.args) for s in c10.sets] == [
        ("local-preference", ["200"]), ("community", ["1:1", "2:2", "additive"]),
        ("as-path-prepend", ["65001", "65001"]), ("metric", ["50"])]
    assert c20.action == "deny" and c20.matches[0].kind == "acl"
    assert [s.kind for s in c30.sets] == ["next-hop", "origin", "weight"]
    assert kinds(st, "unsupported") == ["set extcommunity rt 1:1"]


def test_acls_standard_extended_numbered() -> None:
    dev, _ = ios("""access-list 10 permit 10.0.0.0 0.0.0.255
access-list 101 permit ip host 1.0.1.0 host 255.255.255.0
ip access-list extended WEB
 10 permit tcp any host 10.0.0.80 eq www
 deny ip 10.0.0.0 0.255.0.255 any log
 remark the end
ip access-list standard MGMT
 permit host 192.0.2.1
""")
    assert dev.acls["10"].kind == "standard" and dev.acls["10"].lines[0].src == "10.0.0.0/24"
    assert dev.acls["101"].kind == "extended" and dev.acls["101"].lines[0].dst == "255.255.255.0/32"
    web = dev.acls["WEB"].lines
    assert (web[0].protocol, web[0].dst, web[0].dst_ports) == ("tcp", "10.0.0.80/32", "eq www")
    assert web[1].src == "10.0.0.0 0.255.0.255" and web[1].flags == "log"  # non-contiguous wildcard kept as is
    assert dev.acls["MGMT"].lines[0].src == "192.0.2.1/32"


def test_unrecognized_and_invalid_lines_are_reported_with_numbers() -> None:
    dev, st = ios("""interface GigabitEthernet0/0
 ip address 10.0.0.300 255.255.255.0
 frobnicate the widget
gibberish at top
banner motd ^C
hello
 world
^C
router bgp 1
 neighbor 10.0.0.2 remote-as 2
""")
    assert st.status == "PARTIALLY_UNRECOGNIZED"
    by_kind: dict[str, list[tuple[int | None, str]]] = {n.kind: [] for n in st.notes}
    for n in st.notes:
        by_kind[n.kind].append((n.line, n.text))
    assert (5, "ip address 10.0.0.300 255.255.255.0") in by_kind["error"]
    assert (6, "frobnicate the widget") in by_kind["unrecognized"]
    assert (7, "gibberish at top") in by_kind["unrecognized"]
    assert (9, "hello") in by_kind["ignored"] and (10, "world") in by_kind["ignored"]  # banner body
    assert dev.bgp is not None and "10.0.0.2" in dev.bgp.peers  # the rest still loads


def test_every_line_gets_one_status() -> None:
    body = "\n".join(["interface GigabitEthernet0/0", " ip address 10.0.0.1 255.255.255.0", " speed 1000",
                      "router bgp 1", " neighbor 10.0.0.2 remote-as 2", " bogus", "ntp server 1.1.1.1"])
    _, st = ios(body)
    lines = [n.line for n in st.notes if n.line is not None]
    assert len(lines) == len(set(lines))  # exactly one status per line
    text = ("!\nhostname R1\n!\n" + body).splitlines()
    assert set(lines) == {i for i, t in enumerate(text, start=1) if t.strip()}


@pytest.mark.parametrize("text, fmt", [
    ("!RANCID-CONTENT-TYPE: arista\nhostname x\n", "ARISTA"),
    ("!RANCID-CONTENT-TYPE: ios\nhostname x\n", "CISCO_IOS"),
    ("! device: sw1 (DCS-7050, EOS-4.20.1F)\nhostname sw1\n", "ARISTA"),
    ("!\nhostname r1\ninterface GigabitEthernet0/0\n ip address 1.1.1.1 255.255.255.0\n", "CISCO_IOS"),
    ("frr version 8.4\nhostname r1\n", "FRR"),
    ("hostname r1\ninterface eth0\n ip address 10.0.0.1/24\n", "FRR"),
    ("sw1\n# This file describes the network interfaces\nauto lo\n", "CUMULUS_CONCATENATED"),
    ("set system host-name r1\nset interfaces ge-0/0/0 unit 0\n", "FLAT_JUNIPER"),
    ("system {\n host-name r1;\n}\ninterfaces {\n}\n", "JUNIPER"),
    ("*filter\n:INPUT ACCEPT\n:FORWARD ACCEPT\n:OUTPUT ACCEPT\nCOMMIT\n", "IPTABLES"),
    ("   \n\n", "EMPTY"),
    ("just some words\n", "UNKNOWN"),
    ("!BATFISH_FORMAT: arista\nhostname x\n", "ARISTA"),
    ("!\nfeature bgp\ninterface Ethernet1/1\n", "CISCO_NX"),
])
def test_format_detection_as_batfish(text: str, fmt: str) -> None:
    assert detect_format(text) == fmt


def test_unsupported_format_is_reported_not_parsed() -> None:
    dev, st = parse_config("set system host-name r1\n", "configs/j.cfg")
    assert dev is None and st.status == "UNSUPPORTED" and st.format == "FLAT_JUNIPER"
    dev, st = parse_config("hello\n", "configs/u.cfg")
    assert dev is None and st.status == "UNKNOWN"
