"""IPv6 in IOS and EOS configs, written as the devices write them (tests/data/ipv6-ios-eos: an IOS router and an
EOS switch with an IPv4 and an IPv6 eBGP session on one link): IPv6 neighbors, `address-family ipv6` (activation,
networks, plain redistribution), `ipv6 route` and interface `ipv6 address` are in the model and rendered into FRR
config that FRR 8.4.4 accepts; what the model does not carry in IPv6 (per-neighbor IPv6 policy, configured
link-local addresses, IPv6 prefix-lists) is reported, never dropped silently. IOS activates IPv6 neighbors in IPv4
unicast unless told not to (`no neighbor X activate`, as `show running-config` prints it); EOS does not, unless
`bgp default ipv4-unicast transport ipv6`.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from realfish.parsers import parse_config
from realfish.render import render

SNAPSHOT = Path(__file__).parent / "data" / "ipv6-ios-eos"
R1 = (SNAPSHOT / "configs" / "r1.cfg").read_text()
R2 = (SNAPSHOT / "configs" / "r2.cfg").read_text()

root_frr = [pytest.mark.frr, pytest.mark.root, pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/lib/frr/bgpd").exists() or shutil.which("vtysh") is None,
    reason="needs root and FRR 8.4 installed")]


def kinds(status: object) -> dict[str, str]:
    return {n.text: n.kind for n in status.notes}  # type: ignore[attr-defined]


def test_ios_ipv6_bgp_and_static_routes_in_the_model() -> None:
    dev, st = parse_config(R1, "configs/r1.cfg")
    assert dev is not None and st.format == "CISCO_IOS" and st.status == "PASSED", st.notes
    b = dev.bgp
    assert b is not None
    v6 = b.peers["2001:db8:12::2"]  # IOS prints addresses in capitals: one key whatever the case
    assert (v6.remote_as, v6.activate, v6.activate6) == ("65002", False, True)
    assert not b.ipv4_active(v6) and b.ipv4_active(b.peers["10.0.12.2"])
    assert [str(n.prefix) for n in b.networks6] == ["2001:db8:1::/48", "2001:db8:ff::1/128"]
    assert [(str(r.prefix), r.interface) for r in dev.static_routes] == [("2001:db8:1::/48", "Null0")]
    assert [str(a) for a in dev.interfaces["GigabitEthernet0/0"].addresses] == ["10.0.12.1/24", "2001:db8:12::1/64"]
    k = kinds(st)
    assert k["neighbor 2001:DB8:12::2 remote-as 65002"] == k["address-family ipv6"] == "translated"
    assert k["no neighbor 2001:DB8:12::2 activate"] == k["ipv6 route 2001:DB8:1::/48 Null0"] == "translated"


def test_eos_ipv6_neighbors_stay_out_of_ipv4_unicast_by_default() -> None:
    dev, st = parse_config(R2, "configs/r2.cfg")
    assert dev is not None and st.format == "ARISTA" and st.status == "PASSED", st.notes
    b = dev.bgp
    assert b is not None and [r.protocol for r in b.redistribute6] == ["static"]
    v6 = b.peers["2001:db8:12::1"]
    assert v6.activate is None and v6.activate6 and not b.ipv4_active(v6)
    assert b.ipv4_active(b.peers["10.0.12.1"])
    on, _ = parse_config(R2.replace("   router-id 2.2.2.2\n", "   router-id 2.2.2.2\n"
                                    "   bgp default ipv4-unicast transport ipv6\n"), "configs/r2.cfg")
    assert on is not None and on.bgp is not None and on.bgp.ipv4_active(on.bgp.peers["2001:db8:12::1"])
    # `no ... transport ipv6` is not `no bgp default ipv4-unicast`: IPv4 neighbors stay active
    off, _ = parse_config(R2.replace("   router-id 2.2.2.2\n", "   router-id 2.2.2.2\n"
                                     "   no bgp default ipv4-unicast transport ipv6\n"), "configs/r2.cfg")
    assert off is not None and off.bgp is not None and off.bgp.ipv4_active(off.bgp.peers["10.0.12.1"])


def test_what_the_model_does_not_carry_is_reported() -> None:
    text = R1.replace(" ipv6 enable\n", " ipv6 enable\n ipv6 address FE80::1 link-local\n"
                                        " ipv6 address 2001:DB8:99::/64 eui-64\n")
    text = text.replace("  neighbor 2001:DB8:12::2 activate\n", "  neighbor 2001:DB8:12::2 activate\n"
                        "  neighbor 2001:DB8:12::2 route-map V6-IN in\n  redistribute ospf 1\n")
    text = text.replace("ipv6 route 2001:DB8:1::/48 Null0\n", "ipv6 route 2001:DB8:1::/48 Null0\n"
                        "ipv6 route 2001:DB8:5::/48 FE80::2\nipv6 prefix-list V6 seq 5 permit ::/0\n")
    dev, st = parse_config(text, "configs/r1.cfg")
    assert dev is not None  # unsupported lines are reported (initIssues), the file stays PASSED as in Batfish
    k = kinds(st)
    assert k["ipv6 address FE80::1 link-local"] == k["ipv6 address 2001:DB8:99::/64 eui-64"] == "unsupported"
    assert k["neighbor 2001:DB8:12::2 route-map V6-IN in"] == k["redistribute ospf 1"] == "unsupported"
    assert k["ipv6 prefix-list V6 seq 5 permit ::/0"] == "unsupported"
    assert k["ipv6 route 2001:DB8:5::/48 FE80::2"] == "error"  # a link-local next hop without its interface
    assert [str(a) for a in dev.interfaces["GigabitEthernet0/0"].addresses] == ["10.0.12.1/24", "2001:db8:12::1/64"]


def _bgp_block(config: str) -> list[str]:
    return [x.strip() for x in config[config.index("router bgp"):].splitlines()]


def test_rendered_ipv6_for_frr() -> None:
    dev, _ = parse_config(R1, "configs/r1.cfg")
    assert dev is not None
    r1 = render(dev).config
    assert "ipv6 route 2001:db8:1::/48 Null0" in r1 and " ipv6 address 2001:db8:12::1/64" in r1
    # a link-local next hop goes out of its interface (Linux name), with the route's tag and distance
    ll, _ = parse_config(R1.replace("ipv6 route 2001:DB8:1::/48 Null0\n", "ipv6 route 2001:DB8:3::/48 "
                                    "GigabitEthernet0/0 FE80::2 210 tag 7\n"), "configs/r1.cfg")
    assert ll is not None and "ipv6 route 2001:db8:3::/48 fe80::2 gi0-0 tag 7 210" in render(ll).config
    lines = _bgp_block(r1)
    v4, v6 = lines.index("address-family ipv4 unicast"), lines.index("address-family ipv6 unicast")
    assert "neighbor 2001:db8:12::2 remote-as 65002" in lines[:v4]
    assert "neighbor 2001:db8:12::2 activate" not in lines[v4:v6]  # IOS: `no neighbor ... activate` in ipv4
    assert {"network 2001:db8:1::/48", "network 2001:db8:ff::1/128", "neighbor 2001:db8:12::2 activate",
            "no neighbor 2001:db8:12::2 send-community"} <= set(lines[v6:])
    dev2, _ = parse_config(R2, "configs/r2.cfg")
    assert dev2 is not None
    lines = _bgp_block(render(dev2).config)
    v4, v6 = lines.index("address-family ipv4 unicast"), lines.index("address-family ipv6 unicast")
    assert "neighbor 2001:db8:12::1 activate" not in lines[v4:v6]  # EOS's default
    assert {"redistribute static", "distance bgp 200 200 200", "neighbor 2001:db8:12::1 activate"} <= set(lines[v6:])


@pytest.mark.frr
def test_frr_accepts_the_rendered_configs() -> None:
    from realfish.convert import convert_snapshot

    conv = convert_snapshot(SNAPSHOT)  # runs vtysh's dry run over the rendered configs
    assert {s.file: s.status for s in conv.statuses} == {"configs/r1.cfg": "PASSED", "configs/r2.cfg": "PASSED"}
    assert not [n for s in conv.statuses for n in s.notes if n.kind == "rejected"]


def _ask(snapshot: object, cls: str, **params: object) -> list[dict[str, Any]]:
    from realfish.answers import answer

    q = {"class": f"org.batfish.question.{cls}", "differential": False,
         "instance": {"instanceName": "q", "variables": {k: {"value": v} for k, v in params.items()}}}
    rows: list[dict[str, Any]] = answer(q, snapshot, None)["answerElements"][0]["rows"]  # type: ignore[arg-type]
    return rows


@root_frr[0]
@root_frr[1]
@root_frr[2]
def test_ipv6_sessions_and_routes_between_ios_and_eos() -> None:
    """Converged: both sessions come up, each router has the other's IPv6 prefixes over BGP (the eBGP next hop
    being the peer's link-local address on the link, as zebra holds it), and the IPv6 session is in
    bgpSessionStatus with its addresses."""
    from realfish.answers.state import build

    snapshot = build(SNAPSHOT, "v6", timeout=300)
    routes = {(r["Node"]["name"], r["Network"], r["Protocol"]): r["Next_Hop"]
              for r in _ask(snapshot, "routes.RoutesQuestion")}
    for node, net, iface in (("r1", "2001:db8:2::/48", "GigabitEthernet0/0"), ("r2", "2001:db8:1::/48", "Ethernet1"),
                             ("r2", "2001:db8:ff::1/128", "Ethernet1")):
        nh = routes[(node, net, "bgp")]
        assert nh["interface"] == iface and ipaddress.ip_address(nh["ip"]).is_link_local, (node, net, nh)
    assert ("r1", "2001:db8:ff::2/128", "bgp") not in routes  # r2 redistributes static only into IPv6
    assert ("r2", "1.1.1.1/32", "bgp") in routes and ("r1", "2001:db8:1::/48", "static") in routes
    status = {(r["Node"]["name"], r["Remote_IP"]["value"]): (r["Local_IP"], r["Established_Status"])
              for r in _ask(snapshot, "bgpsessionstatus.BgpSessionStatusQuestion")}
    assert status == {("r1", "10.0.12.2"): ("10.0.12.1", "ESTABLISHED"),
                      ("r1", "2001:db8:12::2"): ("2001:db8:12::1", "ESTABLISHED"),
                      ("r2", "10.0.12.1"): ("10.0.12.2", "ESTABLISHED"),
                      ("r2", "2001:db8:12::1"): ("2001:db8:12::2", "ESTABLISHED")}


# -- EOS BGP unnumbered: `neighbor interface RANGE peer-group G [remote-as N]` (tests/data/eos-unnumbered: a spine
# and two leaves as AVD writes an RFC 5549 underlay: `ipv6 enable` on links without IPv4, the peer group activated
# in IPv4 unicast with `next-hop address-family ipv6 originate`; the links only in layer1_topology.json)

UNNUMBERED = Path(__file__).parent / "data" / "eos-unnumbered"


def test_eos_interface_peers_in_the_model() -> None:
    text = (UNNUMBERED / "configs" / "spine1.cfg").read_text()
    dev, st = parse_config(text, "configs/spine1.cfg")
    assert dev is not None and st.status == "PASSED", st.notes
    b = dev.bgp
    assert b is not None
    assert {k: (p.interface, p.peer_group, p.remote_as) for k, p in b.peers.items()} == {
        "Ethernet1": (True, "IPv4-UNDERLAY-PEERS", "65101"), "Ethernet2": (True, "IPv4-UNDERLAY-PEERS", "65102")}
    # IPv6-transport neighbors: in IPv4 unicast because the group is activated there (EOS's default is not to)
    assert all(b.ipv4_active(p) for p in b.peers.values())
    ranged, st2 = parse_config(text.replace(
        "   neighbor interface Ethernet1 peer-group IPv4-UNDERLAY-PEERS remote-as 65101\n"
        "   neighbor interface Ethernet2 peer-group IPv4-UNDERLAY-PEERS remote-as 65102\n",
        "   neighbor interface Ethernet1-2 peer-group IPv4-UNDERLAY-PEERS remote-as 65101\n"
        "   neighbor interface Ethernet3 peer-group IPv4-UNDERLAY-PEERS peer-filter LEAF-AS-RANGE\n"),
        "configs/spine1.cfg")
    assert ranged is not None and ranged.bgp is not None and sorted(ranged.bgp.peers) == ["Ethernet1", "Ethernet2"]
    assert kinds(st2)["neighbor interface Ethernet3 peer-group IPv4-UNDERLAY-PEERS peer-filter LEAF-AS-RANGE"] \
        == "unsupported"
    lines = _bgp_block(render(dev).config)
    assert {"neighbor Ethernet1 interface remote-as 65101", "neighbor Ethernet1 peer-group IPv4-UNDERLAY-PEERS",
            "neighbor Ethernet2 activate"} <= set(lines), lines


@root_frr[0]
@root_frr[1]
@root_frr[2]
def test_eos_unnumbered_fabric_converges_and_answers() -> None:
    """Every session comes up over IPv6 link-local addresses and each leaf reaches the other's loopback over the
    spine with Batfish's unnumbered next hop; the session answers name both interfaces."""
    from realfish.answers.state import build

    snapshot = build(UNNUMBERED, "eos-unnumbered", timeout=300)
    routes = {(r["Node"]["name"], r["Network"]): (r["Protocol"], r["Next_Hop"])
              for r in _ask(snapshot, "routes.RoutesQuestion")}
    assert routes[("leaf1", "10.255.1.2/32")] == ("bgp", {"type": "ip", "ip": "169.254.0.1"})
    assert routes[("leaf2", "10.255.1.1/32")] == ("bgp", {"type": "ip", "ip": "169.254.0.1"})
    rows = _ask(snapshot, "bgpsessionstatus.BgpSessionStatusQuestion")
    assert {(r["Node"]["name"], r["Local_Interface"]["interface"], r["Remote_Node"]["name"],
             r["Remote_Interface"]["interface"], r["Session_Type"], r["Established_Status"]) for r in rows} == {
        ("leaf1", "Ethernet1", "spine1", "Ethernet1", "EBGP_UNNUMBERED", "ESTABLISHED"),
        ("leaf2", "Ethernet1", "spine1", "Ethernet2", "EBGP_UNNUMBERED", "ESTABLISHED"),
        ("spine1", "Ethernet1", "leaf1", "Ethernet1", "EBGP_UNNUMBERED", "ESTABLISHED"),
        ("spine1", "Ethernet2", "leaf2", "Ethernet1", "EBGP_UNNUMBERED", "ESTABLISHED")}
