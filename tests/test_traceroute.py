"""traceroute on a small converged snapshot whose static routes produce each of Batfish's dispositions, plus
the pure parts (header preference, ACL and iptables evaluation, trace pruning).

    r1 Loopback0 1.1.1.1
    r1 Gi0/0 10.0.12.1/24 -- r2 Gi0/0 10.0.12.2/24      (r2 Gi0/0 out: NOPING denies ICMP)
    r1 Gi0/1 10.0.13.1/24 -- r3 Gi0/0 10.0.13.3/24      (r3 Gi0/0 in: BLOCK denies UDP to 3.3.3.3:33434)
    r1 Gi0/2 10.0.9.1/24     a LAN with no other snapshot device
    r1 Gi0/3 10.0.31.1/31 -- r2 Gi0/3 10.0.31.0/31 (shut)
    r3 Gi0/2 10.34.0.1/24    a LAN; r3 Loopback0 3.3.3.3

r1's static routes: 10.99/16 to r2 and r2's back to r1 (LOOP), 10.66/16 to Null0 (NULL_ROUTED), 10.77/16 to
both r2 and r3 which null-route it (ECMP), 3.3.3.0/24 to r3, 10.55/16 via the shut r2 Gi0/3 (NEIGHBOR_UNREACHABLE),
10.34/16 out of Gi0/2 where no one owns it (INSUFFICIENT_INFO), default via 10.0.9.254 (EXITS_NETWORK);
10.0.9.50 is on r1's LAN (DELIVERED_TO_SUBNET). r2 has no default route (NO_ROUTE).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from realfish.answers import UnsupportedQuestion, answer
from realfish.answers.filters import acl_permits, iptables_filters
from realfish.answers.flow import Flow
from realfish.answers.state import SnapshotState, build
from realfish.answers.traceroute import choose_headers, int_space, prune, prune_bidirectional
from realfish.model import Acl, AclLine, Device, IptablesRule

CONFIGS = {
    "r1": """hostname r1
interface Loopback0
 ip address 1.1.1.1 255.255.255.255
interface GigabitEthernet0/0
 ip address 10.0.12.1 255.255.255.0
interface GigabitEthernet0/1
 ip address 10.0.13.1 255.255.255.0
interface GigabitEthernet0/2
 ip address 10.0.9.1 255.255.255.0
interface GigabitEthernet0/3
 ip address 10.0.31.1 255.255.255.254
ip route 10.99.0.0 255.255.0.0 10.0.12.2
ip route 10.66.0.0 255.255.0.0 Null0
ip route 10.77.0.0 255.255.0.0 10.0.12.2
ip route 10.77.0.0 255.255.0.0 10.0.13.3
ip route 3.3.3.0 255.255.255.0 10.0.13.3
ip route 10.55.0.0 255.255.0.0 10.0.31.0
ip route 10.34.0.0 255.255.0.0 GigabitEthernet0/2
ip route 0.0.0.0 0.0.0.0 10.0.9.254
""",
    "r2": """hostname r2
interface GigabitEthernet0/0
 ip address 10.0.12.2 255.255.255.0
 ip access-group NOPING out
interface GigabitEthernet0/3
 ip address 10.0.31.0 255.255.255.254
 shutdown
ip access-list extended NOPING
 deny icmp any any
 permit ip any any
ip route 10.99.0.0 255.255.0.0 10.0.12.1
ip route 10.77.0.0 255.255.0.0 Null0
ip route 1.1.1.1 255.255.255.255 10.0.12.1
""",
    "r3": """hostname r3
interface Loopback0
 ip address 3.3.3.3 255.255.255.255
interface GigabitEthernet0/0
 ip address 10.0.13.3 255.255.255.0
 ip access-group BLOCK in
interface GigabitEthernet0/2
 ip address 10.34.0.1 255.255.255.0
ip access-list extended BLOCK
 deny udp any host 3.3.3.3 eq 33434
 permit ip any any
ip route 10.77.0.0 255.255.0.0 Null0
ip route 1.1.1.1 255.255.255.255 10.0.13.1
""",
}


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> SnapshotState:
    root: Path = tmp_path_factory.mktemp("tr") / "snapshot"
    (root / "configs").mkdir(parents=True)
    for name, text in CONFIGS.items():
        (root / "configs" / f"{name}.cfg").write_text(text)
    return build(root, "tr")


def trace(snapshot: SnapshotState, start: str, cls: str = "TracerouteQuestion", **headers: Any) -> list[dict[str, Any]]:
    variables = {"startLocation": {"value": start}, "headers": {"value": headers}}
    if "ignoreFilters" in headers:
        variables["ignoreFilters"] = {"value": headers.pop("ignoreFilters")}
    q = {"class": f"org.batfish.question.traceroute.{cls}", "instance": {"instanceName": "t", "variables": variables}}
    rows: list[dict[str, Any]] = answer(q, snapshot)["answerElements"][0]["rows"]
    return rows


def summary(row: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(t["disposition"], [h["node"]["name"] for h in t["hops"]]) for t in row["Traces"]]


def last_step(t: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = t["hops"][-1]["steps"][-1]
    return step


@pytest.mark.parametrize(("dst", "disposition", "path", "final"), [
    ("3.3.3.3", "DENIED_IN", ["r1", "r3"], "Filter"),
    ("10.66.1.1", "NULL_ROUTED", ["r1"], "Routing"),
    ("10.0.9.50", "DELIVERED_TO_SUBNET", ["r1"], "Delivered"),
    ("8.8.8.8", "EXITS_NETWORK", ["r1"], "Delivered"),
    ("10.55.0.1", "NEIGHBOR_UNREACHABLE", ["r1"], "ArpError"),
    ("10.34.0.50", "INSUFFICIENT_INFO", ["r1"], "ArpError"),
    ("10.99.0.1", "LOOP", ["r1", "r2", "r1", "r2"], "Loop"),
])
@pytest.mark.frr
def test_dispositions(snap: SnapshotState, dst: str, disposition: str, path: list[str], final: str) -> None:
    (row,) = trace(snap, "r1[Loopback0]", dstIps=dst)
    assert row["Flow"]["srcIp"] == "1.1.1.1" and row["Flow"]["ingressVrf"] == "default"
    assert summary(row) == [(disposition, path)]
    step = last_step(row["Traces"][0])
    assert (step["type"], step["action"]) == (final, "DENIED" if final == "Filter" else disposition)


@pytest.mark.frr
def test_final_step_details(snap: SnapshotState) -> None:
    (row,) = trace(snap, "r1[Loopback0]", dstIps="8.8.8.8")
    steps = row["Traces"][0]["hops"][0]["steps"]
    assert [s["type"] for s in steps] == ["Originate", "Routing", "ExitOutputInterface", "Delivered"]
    routing = steps[1]["detail"]
    assert routing["routes"] == [{"admin": 1, "metric": 0, "network": "0.0.0.0/0",
                                  "nextHop": {"type": "ip", "ip": "10.0.9.254"}, "nextHopIp": "10.0.9.254",
                                  "protocol": "static"}]
    assert routing["forwardingDetail"] == {"type": "ForwardedOutInterface", "outputInterface": "GigabitEthernet0/2",
                                           "resolvedNextHopIp": "10.0.9.254"}
    assert steps[3]["detail"] == {"outputInterface": {"hostname": "r1", "interface": "GigabitEthernet0/2"},
                                  "resolvedNexthopIp": "10.0.9.254"}
    (row,) = trace(snap, "r1[Loopback0]", dstIps="10.66.1.1")
    routing = last_step(row["Traces"][0])["detail"]
    assert routing["forwardingDetail"] == {"type": "Discarded"}
    assert routing["routes"][0]["nextHop"] == {"type": "discard"}


@pytest.mark.frr
def test_no_route(snap: SnapshotState) -> None:
    (row,) = trace(snap, "r2", dstIps="8.8.8.8")
    assert summary(row) == [("NO_ROUTE", ["r2"])]
    assert last_step(row["Traces"][0]) == {"type": "Routing", "action": "NO_ROUTE", "detail": {
        "forwardingDetail": {"type": "Discarded"}, "routes": [], "vrf": "default"}}


@pytest.mark.frr
def test_ecmp_gives_one_trace_per_next_hop(snap: SnapshotState) -> None:
    (row,) = trace(snap, "r1[Loopback0]", dstIps="10.77.0.1")
    assert row["TraceCount"] == 2
    assert summary(row) == [("NULL_ROUTED", ["r1", "r2"]), ("NULL_ROUTED", ["r1", "r3"])]
    outs = [t["hops"][0]["steps"][1]["detail"]["outputInterface"] for t in row["Traces"]]
    assert outs == ["GigabitEthernet0/0", "GigabitEthernet0/1"]
    # maxTraces keeps the first by Batfish's pruning, TraceCount still counts all
    variables = {"startLocation": {"value": "r1[Loopback0]"}, "headers": {"value": {"dstIps": "10.77.0.1"}},
                 "maxTraces": {"value": 1}}
    q = {"class": "org.batfish.question.traceroute.TracerouteQuestion",
         "instance": {"instanceName": "t", "variables": variables}}
    (row,) = answer(q, snap)["answerElements"][0]["rows"]
    assert row["TraceCount"] == 2 and len(row["Traces"]) == 1


@pytest.mark.frr
def test_filters_protocols_and_ignore_filters(snap: SnapshotState) -> None:
    (row,) = trace(snap, "r1[Loopback0]", dstIps="3.3.3.3", ipProtocols=["TCP"])
    assert summary(row) == [("ACCEPTED", ["r1", "r3"])]
    assert row["Flow"]["ipProtocol"] == "TCP" and row["Flow"]["tcpFlagsSyn"] == 1 and row["Flow"]["dstPort"] == 80
    steps = row["Traces"][0]["hops"][1]["steps"]
    assert [(s["type"], s["action"]) for s in steps] == [("EnterInputInterface", "RECEIVED"),
                                                         ("Filter", "PERMITTED"), ("Inbound", "ACCEPTED")]
    assert steps[1]["detail"]["filter"] == "BLOCK" and steps[1]["detail"]["inputInterface"] == "GigabitEthernet0/0"
    assert steps[2]["detail"] == {"interface": "Loopback0"}
    (row,) = trace(snap, "r1[Loopback0]", dstIps="3.3.3.3", ignoreFilters=True)
    assert summary(row) == [("ACCEPTED", ["r1", "r3"])]
    # egress filter on r2: ICMP denied out, UDP passes
    (row,) = trace(snap, "r2", dstIps="1.1.1.1", ipProtocols=["ICMP"])
    assert summary(row) == [("DENIED_OUT", ["r2"])]
    assert row["Flow"]["icmpVar"] == 8 and row["Flow"]["icmpCode"] == 0 and "dstPort" not in row["Flow"]
    (row,) = trace(snap, "r2", dstIps="1.1.1.1")
    assert summary(row) == [("ACCEPTED", ["r2", "r1"])]


@pytest.mark.frr
def test_start_locations(snap: SnapshotState) -> None:
    # a node: one flow per active interface with an address (r2's Gi0/3 is shut)
    rows = trace(snap, "r2", dstIps="1.1.1.1")
    assert [(r["Flow"].get("ingressVrf"), r["Flow"]["srcIp"]) for r in rows] == [("default", "10.0.12.2")]
    # @enter: the link's first host address no device owns; /31 links and loopbacks have none
    rows = trace(snap, "@enter(r1)", dstIps="3.3.3.3", ipProtocols=["TCP"])
    assert [(r["Flow"]["ingressInterface"], r["Flow"]["srcIp"]) for r in rows] == [
        ("GigabitEthernet0/0", "10.0.12.3"), ("GigabitEthernet0/1", "10.0.13.2"), ("GigabitEthernet0/2", "10.0.9.2")]
    assert rows[0]["Traces"][0]["hops"][0]["steps"][0]["detail"] == {
        "inputInterface": {"hostname": "r1", "interface": "GigabitEthernet0/0"}, "inputVrf": "default"}
    # a node name as destination: its lowest address
    (row,) = trace(snap, "r2", dstIps="r3", ipProtocols=["TCP"])
    assert row["Flow"]["dstIp"] == "3.3.3.3"
    with pytest.raises(UnsupportedQuestion, match="connectedTo"):  # the user's mistake, not a realfish failure
        trace(snap, "@connectedTo(10.0.12)", dstIps="1.1.1.1")


@pytest.mark.frr
def test_bidirectional(snap: SnapshotState) -> None:
    rows = trace(snap, "r1[Loopback0]", "BidirectionalTracerouteQuestion", dstIps="10.0.9.50")
    (row,) = rows
    rev = row["Reverse_Flow"]
    assert (rev["ingressNode"], rev["ingressInterface"], rev["srcIp"], rev["dstIp"]) == (
        "r1", "GigabitEthernet0/2", "10.0.9.50", "1.1.1.1")
    assert [t["disposition"] for t in row["Reverse_Traces"]] == ["ACCEPTED"]
    # a failed forward trace has no reverse flow
    (row,) = trace(snap, "r1[Loopback0]", "BidirectionalTracerouteQuestion", dstIps="10.66.0.1")
    assert row["Reverse_Flow"] is None and row["Reverse_Traces"] == []


@pytest.mark.frr
def test_differential(snap: SnapshotState) -> None:
    variables = {"startLocation": {"value": "r1[Loopback0]"}, "headers": {"value": {"dstIps": "10.0.9.50"}}}
    q = {"class": "org.batfish.question.traceroute.TracerouteQuestion", "differential": True,
         "instance": {"instanceName": "t", "variables": variables}}
    element = answer(q, snap, snap)["answerElements"][0]
    assert [c["name"] for c in element["metadata"]["columnMetadata"]] == [
        "Flow", "Snapshot_Traces", "Snapshot_TraceCount", "Reference_Traces", "Reference_TraceCount"]
    (row,) = element["rows"]
    assert row["Snapshot_Traces"] == row["Reference_Traces"] and row["Snapshot_TraceCount"] == 1


@pytest.mark.frr
def test_pybatfish_decodes_every_disposition(snap: SnapshotState) -> None:
    from pybatfish.datamodel.answer.table import TableAnswer
    from pybatfish.datamodel.flow import Flow as PyFlow
    from pybatfish.datamodel.flow import Trace

    seen = set()
    for cls in ("TracerouteQuestion", "BidirectionalTracerouteQuestion"):
        for dst in ("3.3.3.3", "10.66.1.1", "10.0.9.50", "8.8.8.8", "10.55.0.1", "10.34.0.50", "10.99.0.1",
                    "10.77.0.1"):
            variables = {"startLocation": {"value": "r1[Loopback0]"}, "headers": {"value": {"dstIps": dst}}}
            q = {"class": f"org.batfish.question.traceroute.{cls}",
                 "instance": {"instanceName": "t", "variables": variables}}
            frame = TableAnswer(answer(q, snap)).frame()
            col = "Traces" if cls == "TracerouteQuestion" else "Forward_Traces"
            for _, row in frame.iterrows():
                assert isinstance(row["Flow" if col == "Traces" else "Forward_Flow"], PyFlow)
                for t in row[col]:
                    assert isinstance(t, Trace) and all(s is not None for h in t.hops for s in h.steps)
                    seen.add(t.disposition)
                    str(t)
    assert seen == {"DENIED_IN", "NULL_ROUTED", "DELIVERED_TO_SUBNET", "EXITS_NETWORK", "NEIGHBOR_UNREACHABLE",
                    "INSUFFICIENT_INFO", "LOOP"}


# -- pure parts ----------------------------------------------------------------------------------------------


def test_traceroute_header_preference() -> None:
    h = choose_headers({"dstIps": "1.1.1.1"})
    assert (h.ip_protocol, h.src_port, h.dst_port, h.packet_length) == (17, 49152, 33434, 512)
    h = choose_headers({"ipProtocols": ["TCP"]})
    assert (h.ip_protocol, h.src_port, h.dst_port) == (6, 49152, 80)
    assert dict(zip(("ack", "cwr", "ece", "fin", "psh", "rst", "syn", "urg"), h.flags, strict=True))["syn"] == 1
    h = choose_headers({"applications": ["SSH"]})
    assert (h.ip_protocol, h.src_port, h.dst_port) == (6, 49152, 22)
    h = choose_headers({"dstPorts": "22"})
    assert (h.ip_protocol, h.src_port, h.dst_port) == (17, 49152, 22)
    h = choose_headers({"ipProtocols": "ICMP"})
    assert (h.ip_protocol, h.icmp_type, h.icmp_code, h.src_port) == (1, 8, 0, None)
    h = choose_headers({"ipProtocols": ["!UDP", "!TCP", "!ICMP"]})
    assert h.ip_protocol == 0
    assert int_space("22, 53-99", 65535) == [(22, 22), (53, 99)]
    assert int_space("!0-1023", 65535) == [(1024, 65535)]


def _flow(**kw: Any) -> Flow:
    base: dict[str, Any] = {"ingress_node": "x", "src_ip": ipaddress.IPv4Address("10.1.1.1"),
                            "dst_ip": ipaddress.IPv4Address("10.2.2.2")}
    return Flow(**{**base, **kw})


def test_ios_acl_semantics() -> None:
    acl = Acl("A", "extended", lines=[
        AclLine("deny", "tcp", "any", "10.2.2.0/24", dst_ports="eq telnet"),
        AclLine("permit", "tcp", "any", "any", flags="established"),
        AclLine("permit", "udp", "10.1.0.1 0.0.255.0", "any", dst_ports="range 33000 34000"),
        AclLine("permit", "icmp", "any", "any", flags="echo"),
    ])
    assert not acl_permits(acl, _flow(ip_protocol=6, dst_port=23))
    assert not acl_permits(acl, _flow(ip_protocol=6, dst_port=22))  # not established, then the implicit deny
    assert acl_permits(acl, _flow(ip_protocol=6, dst_port=22, flags=(1, 0, 0, 0, 0, 0, 0, 0)))
    assert acl_permits(acl, _flow(ip_protocol=17))  # 10.1.1.1 matches the non-contiguous wildcard
    assert not acl_permits(acl, _flow(ip_protocol=17, src_ip=ipaddress.IPv4Address("10.9.1.1")))
    assert acl_permits(acl, _flow(ip_protocol=1, icmp_type=8, icmp_code=0))
    assert not acl_permits(acl, _flow(ip_protocol=1, icmp_type=0, icmp_code=0))
    std = Acl("10", "standard", lines=[AclLine("permit", src="10.1.0.0/16")])
    assert acl_permits(std, _flow()) and not acl_permits(std, _flow(src_ip=ipaddress.IPv4Address("9.9.9.9")))


def test_iptables_semantics() -> None:
    dev = Device("h", "HOST", "hosts/h.json", kind="host", iptables=[
        IptablesRule("filter", "INPUT", "-P INPUT DROP"),
        IptablesRule("filter", "OUTPUT", "-P OUTPUT ACCEPT"),
        IptablesRule("filter", "INPUT", "-A INPUT -p tcp --dport 22 -j ACCEPT"),
        IptablesRule("filter", "INPUT", "-A INPUT -s 10.1.0.0/16 -j LOG"),  # not ACCEPT/DROP: skipped
        IptablesRule("filter", "OUTPUT", "-A OUTPUT -d 10.2.2.2 -j DROP"),
    ])
    inp, out = iptables_filters(dev)
    assert inp is not None and out is not None and (inp.name, out.name) == ("filter::INPUT", "filter::OUTPUT")
    assert inp.permits(_flow(ip_protocol=6, dst_port=22)) and not inp.permits(_flow())
    assert not out.permits(_flow()) and out.permits(_flow(dst_ip=ipaddress.IPv4Address("10.2.2.3")))
    # a FORWARD chain that filters makes Batfish apply no iptables filter at all
    dev.iptables.append(IptablesRule("filter", "FORWARD", "-P FORWARD DROP"))
    assert iptables_filters(dev) == (None, None)


def test_prune_keeps_each_disposition_then_each_node() -> None:
    def t(disposition: str, *nodes: str) -> dict[str, Any]:
        return {"disposition": disposition, "hops": [{"node": {"name": n}} for n in nodes]}

    traces = [t("ACCEPTED", "a", "b"), t("ACCEPTED", "a", "c"), t("DENIED_IN", "a", "b"), t("ACCEPTED", "a", "d")]
    assert prune(traces, 10) == [0, 1, 2, 3]
    assert prune(traces, 2) == [0, 2]
    assert prune(traces, 3) == [0, 2, 1]


def test_prune_bidirectional_covers_flows_then_dispositions() -> None:
    def t(disposition: str, *nodes: str) -> dict[str, Any]:
        return {"disposition": disposition, "hops": [{"node": {"name": n}} for n in nodes]}

    f1, f2 = _flow(), _flow(src_ip=ipaddress.IPv4Address("10.1.1.9"))
    bidir: list[Any] = [(f1, t("ACCEPTED", "a", "b"), None, None), (f1, t("ACCEPTED", "a", "c"), None, None),
                        (f2, t("ACCEPTED", "a", "b"), None, None), (f1, t("DENIED_IN", "a"), None, None)]
    assert prune_bidirectional(bidir, 9) == [0, 1, 2, 3]
    assert prune_bidirectional(bidir, 2) == [0, 2]  # one per forward flow first
    assert prune_bidirectional(bidir, 3) == [0, 2, 3]  # then the missing disposition
