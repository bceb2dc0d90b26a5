"""The filter and structure questions on parsed configs (no convergence): header sets (BDDs), the two readings
of a filter line (per flow and as a set) agreeing, searchFilters' actions and inverted searches, iptables hosts,
filterLineReachability's reasons, namedStructures. Batfish's own answers for these questions are compared in
compat_tests (test_pybatfish_notebooks, test_batfish_structures)."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path
from typing import Any

import pytest

from realfish.answers import UnsupportedQuestion, answer
from realfish.answers.filters import Filter, acl_filter, iptables_chains
from realfish.answers.flow import Flow
from realfish.answers.headerspace import FIELDS, TCP_FLAGS, Packet
from realfish.answers.state import SnapshotState
from realfish.convert import convert_snapshot
from realfish.model import Acl, AclLine, Device, IptablesRule


def _write(tmp: Path, configs: dict[str, str]) -> SnapshotState:
    (tmp / "configs").mkdir(parents=True, exist_ok=True)
    for name, text in configs.items():
        (tmp / "configs" / f"{name}.cfg").write_text(text)
    return SnapshotState("s", convert_snapshot(tmp))


def ask(cls: str, state: SnapshotState, reference: SnapshotState | None = None, **variables: Any) -> list[Any]:
    q = {"class": f"org.batfish.question.{cls}", "differential": reference is not None,
         "instance": {"instanceName": "q", "variables": {k: {"value": v} for k, v in variables.items()}}}
    return list(answer(q, state, reference)["answerElements"][0]["rows"])


ROUTER = """hostname r1
interface GigabitEthernet0/0
 ip address 10.0.0.1 255.255.255.0
 ip access-group EDGE in
!
ip access-list extended EDGE
 10 deny   tcp any host 10.0.0.9 eq 23
 20 permit tcp 10.1.0.0 0.0.255.255 any range 1000 2000
 30 permit icmp any any echo
 40 permit ip 10.2.0.0 0.0.255.255 any
 50 permit ip 10.2.1.0 0.0.0.255 any
 60 deny   ip 10.0.0.0 0.255.0.255 any
 70 permit udp any any eq domain
!
"""


@pytest.fixture()
def router(tmp_path: Path) -> SnapshotState:
    return _write(tmp_path, {"r1": ROUTER})


# -- header sets ---------------------------------------------------------------------------------------------


def test_bit_vector_sets_are_exact() -> None:
    pkt = Packet()
    nvars = len(pkt.vars)
    per_value = 2 ** (nvars - 16)  # packets per destination port value
    for lo, hi in [(0, 0), (1, 1), (22, 80), (1024, 65535), (0, 65535), (49152, 49152)]:
        assert pkt.ranges("dst_port", [(lo, hi)]).count(nvars=nvars) == (hi - lo + 1) * per_value
    wild = pkt.masked("src_ip", int(ipaddress.IPv4Address("10.0.0.1")), int(ipaddress.IPv4Address("255.0.255.255")))
    assert wild.count(nvars=nvars) == 256 * 2 ** (nvars - 32)  # 10.x.0.1: one value per second octet


def test_example_takes_the_preference_then_the_lowest_values() -> None:
    pkt = Packet()
    tcp_80 = pkt.value("ip_protocol", 6) & pkt.value("dst_port", 80)
    v = pkt.example(tcp_80)
    assert v is not None and (v["src_port"], v["tcp_syn"], v["tcp_ack"], v["packet_length"]) == (49152, 1, 0, 512)
    assert pkt.example(pkt.false) is None
    # ICMP only: echo request
    v = pkt.example(pkt.value("ip_protocol", 1))
    assert v is not None and (v["icmp_type"], v["icmp_code"]) == (8, 0)


def _contains(pkt: Packet, space: Any, flow: Flow) -> bool:
    values = {"dst_ip": int(flow.dst_ip), "src_ip": int(flow.src_ip), "dst_port": flow.dst_port or 0,
              "src_port": flow.src_port or 0, "ip_protocol": flow.ip_protocol, "icmp_code": flow.icmp_code or 0,
              "icmp_type": flow.icmp_type or 0, "dscp": flow.dscp, "ecn": flow.ecn,
              "fragment_offset": flow.fragment_offset, "packet_length": flow.packet_length,
              **{f"tcp_{f}": v for f, v in zip(TCP_FLAGS, flow.flags, strict=True)}}
    bits = {f"{name}{i}": bool(values[name] >> (width - 1 - i) & 1) for name, width in FIELDS for i in range(width)}
    return pkt.bdd.let(bits, space) == pkt.true


@pytest.mark.frr
def test_a_line_matches_the_same_packets_per_flow_and_as_a_set(router: SnapshotState) -> None:
    """The traceroute answerer reads a line per flow (Match.matches), the filter questions as a set
    (Match.space): on many flows near the lines' edges, both readings agree, line by line and for the filter."""
    pkt = Packet()
    flt = acl_filter(router.devices["r1"].acls["EDGE"])
    spaces = [line.match.space(pkt) for line in flt.lines]
    permitted = flt.permitted_space(pkt)
    rnd = random.Random(18)
    addrs = ["10.0.0.9", "10.0.0.8", "10.1.200.3", "10.2.1.7", "10.3.0.1", "10.9.0.200", "10.9.1.200", "11.0.0.1"]
    for _ in range(400):
        proto = rnd.choice([1, 6, 17, 47])
        flow = Flow(ingress_node="r1", src_ip=ipaddress.IPv4Address(rnd.choice(addrs)),
                    dst_ip=ipaddress.IPv4Address(rnd.choice(addrs)), ip_protocol=proto,
                    src_port=rnd.choice([0, 53, 999, 1000, 2000, 2001]) if proto in (6, 17) else None,
                    dst_port=rnd.choice([23, 53, 1000, 2000, 2001]) if proto in (6, 17) else None,
                    icmp_type=rnd.choice([0, 8]) if proto == 1 else None, icmp_code=0 if proto == 1 else None)
        for line, space in zip(flt.lines, spaces, strict=True):
            assert line.match.matches(flow) == _contains(pkt, space, flow), (line.name, flow)
        assert flt.permits(flow) == _contains(pkt, permitted, flow), flow


# -- searchFilters / testFilters -----------------------------------------------------------------------------


@pytest.mark.frr
def test_search_filters_finds_a_flow_or_proves_there_is_none(router: SnapshotState) -> None:
    # from 10.1.0.0/16 to ports 1000-2000 line 20 permits everything; telnet to 10.0.0.9 only line 10 denies
    rows = ask("searchfilters.SearchFiltersQuestion", router, action="deny", filters="EDGE",
               headers={"srcIps": "10.1.0.0/16", "dstIps": "10.0.0.9", "ipProtocols": ["tcp"], "dstPorts": "23, 1000"})
    assert [(r["Flow"]["srcIp"], r["Flow"]["dstPort"], r["Line_Content"]) for r in rows] == [
        ("10.1.0.0", 23, "10 deny   tcp any host 10.0.0.9 eq 23")]
    # line 60's non-contiguous wildcard (10.*.0.*) denies the lowest source of 10.3.0.0/16
    rows = ask("searchfilters.SearchFiltersQuestion", router, action="deny", filters="EDGE",
               headers={"srcIps": "10.3.0.0/16", "dstIps": "8.8.8.8", "ipProtocols": ["tcp"], "dstPorts": "80"})
    assert [(r["Flow"]["srcIp"], r["Line_Content"]) for r in rows] == [
        ("10.3.0.0", "60 deny   ip 10.0.0.0 0.255.0.255 any")]
    # every TCP flow from 10.1/16 to ports 1000-2000 is permitted: no denied one exists
    assert ask("searchfilters.SearchFiltersQuestion", router, action="deny", filters="EDGE",
               headers={"srcIps": "10.1.0.0/16", "ipProtocols": ["tcp"], "dstPorts": "1000-2000"}) == []
    # but one port outside it is denied (invertSearch inverts the whole header space)
    rows = ask("searchfilters.SearchFiltersQuestion", router, action="deny", filters="EDGE", invertSearch=True,
               headers={"srcIps": "0.0.0.0/0", "dstPorts": "0-65535", "ipProtocols": ["!tcp"]})
    assert rows and all(r["Flow"]["ipProtocol"] == "TCP" for r in rows)


@pytest.mark.frr
def test_search_filters_match_line(router: SnapshotState) -> None:
    """matchLine N: packets that line N takes (not the earlier ones); line 50 is shadowed by line 40."""
    rows = ask("searchfilters.SearchFiltersQuestion", router, action="matchLine 3", filters="EDGE")
    assert [r["Line_Content"] for r in rows] == ["40 permit ip 10.2.0.0 0.0.255.255 any"]
    assert ask("searchfilters.SearchFiltersQuestion", router, action="matchLine 4", filters="EDGE") == []
    assert ask("searchfilters.SearchFiltersQuestion", router, action="matchLine 99", filters="EDGE") == []
    with pytest.raises(UnsupportedQuestion, match="No matching filters"):
        ask("searchfilters.SearchFiltersQuestion", router, filters="NOPE")


@pytest.mark.frr
def test_filters_by_interface(router: SnapshotState) -> None:
    for spec in ("@in(GigabitEthernet0/0)", "/ED/", "edge"):
        rows = ask("testfilters.TestFiltersQuestion", router, filters=spec,
                   headers={"srcIps": "10.2.3.4", "dstIps": "8.8.8.8"})
        assert [(r["Filter_Name"], r["Action"], r["Line_Content"]) for r in rows] == [
            ("EDGE", "PERMIT", "40 permit ip 10.2.0.0 0.0.255.255 any")], spec
    assert ask("testfilters.TestFiltersQuestion", router, filters="@out(GigabitEthernet0/0)",
               headers={"dstIps": "8.8.8.8"}) == []


@pytest.mark.frr
def test_test_filters_no_match_and_start_location(router: SnapshotState) -> None:
    rows = ask("testfilters.TestFiltersQuestion", router, filters="EDGE",
               startLocation="@enter(r1[GigabitEthernet0/0])",
               headers={"srcIps": "192.0.2.1", "dstIps": "8.8.8.8", "ipProtocols": ["gre"]})
    assert [(r["Action"], r["Line_Content"], r["Trace"]) for r in rows] == [("DENY", "no-match", [])]
    assert rows[0]["Flow"]["ingressInterface"] == "GigabitEthernet0/0"


def test_iptables_chains_are_filters() -> None:
    dev = Device("h", "HOST", "hosts/h.json", kind="host", iptables=[
        IptablesRule("filter", "INPUT", "-P INPUT DROP"),
        IptablesRule("filter", "INPUT", "-A INPUT -p tcp --dport 22 -j ACCEPT")])
    chain: Filter = iptables_chains(dev.iptables)["filter::INPUT"]
    pkt = Packet()
    v = pkt.example(chain.permitted_space(pkt))
    assert v is not None and (v["ip_protocol"], v["dst_port"]) == (6, 22)
    v = pkt.example(~chain.permitted_space(pkt) & pkt.value("ip_protocol", 6))
    assert v is not None and v["dst_port"] != 22


# -- filterLineReachability ----------------------------------------------------------------------------------


@pytest.mark.frr
def test_filter_line_reachability_reasons(tmp_path: Path) -> None:
    state = _write(tmp_path, {"r1": ROUTER + "ip access-list extended BAD\n 10 permit foo any any\n!\n",
                              "r2": ROUTER.replace("hostname r1", "hostname r2")})
    rows = ask("filterlinereachability.FilterLineReachabilityQuestion", state)
    got = {(tuple(r["Sources"]), r["Unreachable_Line"], r["Reason"], tuple(r["Blocking_Lines"] or ()),
            r["Different_Action"]) for r in rows}
    assert got == {
        # identical ACLs on two nodes: one row, both sources
        # line 40 covers line 50; line 10 takes some of its packets with the other action (Batfish adds the
        # largest such line)
        (("r1: EDGE", "r2: EDGE"), "50 permit ip 10.2.1.0 0.0.0.255 any", "BLOCKING_LINES",
         ("10 deny   tcp any host 10.0.0.9 eq 23", "40 permit ip 10.2.0.0 0.0.255.255 any"), True),
        (("r1: BAD",), "10 permit foo any any", "INDEPENDENTLY_UNMATCHABLE", (), False),
    }


@pytest.mark.frr
def test_blocking_lines_cover_the_line_and_name_one_with_another_action(tmp_path: Path) -> None:
    acl = Acl("A", "extended", lines=[
        AclLine("permit", "ip", "10.0.0.0/25", "any", name="a"), AclLine("deny", "ip", "10.0.0.128/26", "any",
                                                                       name="b"),
        AclLine("permit", "ip", "10.0.0.192/26", "any", name="c"), AclLine("permit", "ip", "10.0.0.0/24", "any",
                                                                         name="d")])
    state = _write(tmp_path, {"r1": ROUTER})
    state.devices["r1"].acls["A"] = acl
    rows = ask("filterlinereachability.FilterLineReachabilityQuestion", state, filters="A")
    assert [(r["Unreachable_Line"], r["Blocking_Lines"], r["Different_Action"]) for r in rows] == [
        ("d", ["a", "b", "c"], True)]


# -- structures ----------------------------------------------------------------------------------------------


@pytest.mark.frr
def test_undefined_and_unused_structures(tmp_path: Path) -> None:
    state = _write(tmp_path, {"r1": ROUTER + """ip prefix-list PL seq 5 permit 10.0.0.0/8 le 24
ip prefix-list UNUSED seq 5 permit 0.0.0.0/0
route-map RM permit 10
 match ip address prefix-list PL MISSING
!
router bgp 65000
 neighbor 10.0.0.2 remote-as 65001
 neighbor 10.0.0.2 route-map RM in
 neighbor 10.0.0.2 route-map NORM out
!
"""})
    undefined = {(r["Struct_Type"], r["Ref_Name"], r["Context"], tuple(r["Lines"]["lines"]))
                 for r in ask("UndefinedReferencesQuestionPlugin$UndefinedReferencesQuestion", state)}
    assert undefined == {("ipv4 prefix-list", "MISSING", "route-map match ip prefix-list", (18,)),
                         ("route-map", "NORM", "bgp outbound route-map", (23,))}
    unused = {(r["Structure_Type"], r["Structure_Name"])
              for r in ask("UnusedStructuresQuestionPlugin$UnusedStructuresQuestion", state)}
    assert unused == {("ipv4 prefix-list", "UNUSED")}


@pytest.mark.frr
def test_named_structures(router: SnapshotState) -> None:
    rows = ask("namedstructures.NamedStructuresQuestion", router, structureTypes="IP_Access_List")
    assert [(r["Structure_Type"], r["Structure_Name"]) for r in rows] == [("IP_Access_List", "EDGE")]
    lines = rows[0]["Structure_Definition"]["value"]["lines"]
    assert [ln["action"] for ln in lines] == ["DENY", "PERMIT", "PERMIT", "PERMIT", "PERMIT", "DENY", "PERMIT"]
    assert lines[0]["matchCondition"]["headerSpace"] == {
        "dstIps": {"class": "org.batfish.datamodel.IpWildcardIpSpace", "ipWildcard": "10.0.0.9/32"},
        "ipProtocols": ["TCP"], "dstPorts": ["23-23"]}
    assert lines[5]["matchCondition"]["headerSpace"]["srcIps"]["ipWildcard"] == "10.0.0.0:0.255.0.255"
    rows = ask("namedstructures.NamedStructuresQuestion", router, structureTypes="VRF", indicatePresence=True)
    assert [(r["Structure_Name"], r["Present_On_Node"]) for r in rows] == [("default", True)]


@pytest.mark.frr
def test_search_filters_differential(tmp_path: Path) -> None:
    """What one snapshot's filter permits and the other's does not, both ways; a filter in one snapshot only
    is a row with its name."""
    before = _write(tmp_path / "a", {"r1": ROUTER})
    after = _write(tmp_path / "b", {"r1": ROUTER.replace(" 70 permit udp any any eq domain",
                                                         " 65 permit tcp any 10.9.9.0 0.0.0.255 eq 443\n"
                                                         " 70 permit udp any any eq domain")
                                    + "ip access-list extended NEW\n 10 permit ip any any\n!\n"})
    rows = ask("searchfilters.SearchFiltersQuestion", after, before, filters="/.*/")
    got = [(r["Filter_Name"], r["KeyPresence"], (r["Flow"] or {}).get("dstIp"), r["Snapshot_Action"],
            r["Reference_Action"]) for r in rows]
    assert got == [("EDGE", "In both", "10.9.9.0", "PERMIT", "DENY"), ("NEW", "Only in Snapshot", None, None, None)]
    assert ask("searchfilters.SearchFiltersQuestion", before, before, filters="EDGE") == []


@pytest.mark.frr
def test_test_filters_infers_the_source_from_the_location(router: SnapshotState) -> None:
    """Without srcIps: a host of the link for a packet entering an interface (r1 owns 10.0.0.1), the node's
    own address otherwise."""
    entering = ask("testfilters.TestFiltersQuestion", router, filters="EDGE",
                   startLocation="@enter(r1[GigabitEthernet0/0])", headers={"dstIps": "8.8.8.8"})
    originating = ask("testfilters.TestFiltersQuestion", router, filters="EDGE", headers={"dstIps": "8.8.8.8"})
    assert [r["Flow"]["srcIp"] for r in entering] == ["10.0.0.2"]
    assert [r["Flow"]["srcIp"] for r in originating] == ["10.0.0.1"]
