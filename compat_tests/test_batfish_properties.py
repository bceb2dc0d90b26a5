"""realfish's configuration and OSPF answers on Batfish's example-live snapshot against the real Batfish's refs.

Refs used (../shared/compat/batfish-example/refs; `commands` says which question made each):

- parse-status.ref: the fileParseStatus answer element, compared whole (metadata, rows, summary);
- init.ref: Batfish's init answer. Its conversion and parse warnings are what initIssues reports (none here);
  its definedStructures/referencedStructures are Batfish's per-file structures, the names nodeProperties lists
  (interfaces, ACLs, prefix lists and the ACLs route-maps use as route filters, route-maps, community lists);
- topology.ref: the layer-3 edges (layer3Edges) and their interfaces' types (interfaceProperties);
- uniqueIpAssignments.ref: duplicated addresses (ipOwners with duplicatesOnly);
- ospfStatus.ref (`interfaces="Loopback.*", status=".*passive"`): the OSPF-enabled passive loopbacks, read
  here from ospfd's own interface table (what ospfSessionCompatibility and ospfEdges start from).

There is no ref for ospfSessionCompatibility or ospfEdges; one test states Batfish's static verdict on this
network (every candidate pair ESTABLISHED) and checks that realfish departs from it only where FRR does.

Every difference must be listed, with its reason, in expectations/properties.json; a difference not
listed, or an entry that no longer matches, fails the test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pybatfish.datamodel.answer.table import TableAnswer

from compat_tests.conftest import EXAMPLE, load_ref
from realfish.answers import answer
from realfish.answers.ospfsessions import ospf_interfaces
from realfish.answers.state import SnapshotState

REFS = EXAMPLE / "refs"
EXPECTED_FILE = Path(__file__).parent / "expectations" / "properties.json"
EXPECTED = json.loads(EXPECTED_FILE.read_text())["differences"]

pytestmark = [pytest.mark.frr, pytest.mark.skipif(not REFS.is_dir(), reason=f"Batfish's refs not found at {REFS}")]


def ask(snapshot: SnapshotState, cls: str, **params: Any) -> dict[str, Any]:
    """The answer element, after checking that pybatfish decodes it."""
    top = {k: params.pop(k) for k in ("edgeType",) if k in params}
    q = {"class": f"org.batfish.question.{cls}", "differential": False, **top,
         "instance": {"instanceName": cls, "variables": {k: {"value": v} for k, v in params.items()}}}
    element = answer(q, snapshot)["answerElements"][0]
    assert len(TableAnswer({"answerElements": [element]}).frame()) == len(element["rows"])
    return element


def check_explained(question: str, realfish_only: list[dict[str, Any]], batfish_only: list[dict[str, Any]]) -> None:
    """Each difference matched by exactly one expectation, each expectation by exactly its `count`."""
    entries = [e for e in EXPECTED if e["question"] == question]
    hits = [0] * len(entries)
    unexplained = []
    for side, rows in (("realfish", realfish_only), ("batfish", batfish_only)):
        for row in rows:
            found = [i for i, e in enumerate(entries) if e["side"] == side and all(
                re.search(rx, json.dumps(row.get(f)) if not isinstance(row.get(f), str) else row[f])
                for f, rx in e["match"].items())]
            if len(found) != 1:
                unexplained.append((side, row))
            for i in found:
                hits[i] += 1
    stale = [(e["match"], e["count"], n) for e, n in zip(entries, hits, strict=True) if n != e["count"]]
    assert not unexplained, f"{question}: differences from Batfish not explained in {EXPECTED_FILE}: {unexplained}"
    assert not stale, f"{question}: expectations that no longer match their count (match, count, seen): {stale}"


# -- parse status and init issues ---------------------------------------------------------------------------


def test_file_parse_status_equals_ref(example_live: SnapshotState) -> None:
    ref = load_ref(REFS / "parse-status.ref")
    element = ask(example_live, "initialization.FileParseStatusQuestion")
    assert {k: element[k] for k in ref} == ref


def batfish_init_issues(init: dict[str, Any]) -> list[dict[str, Any]]:
    """The initIssues rows Batfish derives from its init answer: conversion warnings per node, parse warnings
    per file, and a row per file whose parse status is neither PASSED nor IGNORED."""
    parse, convert = (next(e for e in init["answerElements"] if e["class"].endswith(cls))
                      for cls in ("ParseVendorConfigurationAnswerElement", "ConvertConfigurationAnswerElement"))
    rows: list[dict[str, Any]] = []
    kinds = (("redFlagWarnings", "Convert warning (redflag)"), ("unimplementedWarnings",
                                                                "Convert warning (unimplemented)"))
    for node, warnings in sorted(convert.get("warnings", {}).items()):
        for key, kind in kinds:
            rows += [{"Nodes": [node], "Type": kind, "Details": w.get("text")} for w in warnings.get(key, [])]
    for file, warnings in sorted(parse.get("warnings", {}).items()):
        for w in warnings.get("parseWarnings", []):
            rows.append({"Nodes": None, "Type": "Parse warning", "Details": w.get("comment"), "File": file})
    for file, status in sorted(parse.get("parseStatus", {}).items()):
        if status not in ("PASSED", "IGNORED", "FAILED", "PARTIALLY_UNRECOGNIZED"):
            rows.append({"Nodes": None, "Type": "Parse status", "Details": status, "File": file})
    return rows


def test_init_issues_against_init_ref(example_live: SnapshotState) -> None:
    batfish = batfish_init_issues(load_ref(REFS / "init.ref"))
    ours = [{"Nodes": r["Nodes"], "Type": r["Type"], "Details": r["Details"]}
            for r in ask(example_live, "initialization.InitIssuesQuestion")["rows"]]
    key = json.dumps
    check_explained("initIssues", [r for r in ours if key(r) not in {key(b) for b in batfish}],
                    [b for b in batfish if key(b) not in {key(r) for r in ours}])


# -- topology and addresses ---------------------------------------------------------------------------------


def topology_ref() -> tuple[set[tuple[str, str, str, str]], dict[tuple[str, str], str]]:
    topo = json.loads((REFS / "topology.ref").read_text())
    ifaces = {i["id"]: (i["nodeId"].removeprefix("node-"), i["name"]) for i in topo["interfaces"]}
    links = {(*ifaces[link["srcId"]], *ifaces[link["dstId"]]) for link in topo["links"]}
    types = {ifaces[i["id"]]: i["type"] for i in topo["interfaces"]}
    return links, types


def test_layer3_edges_equal_topology_ref(example_live: SnapshotState) -> None:
    links, _ = topology_ref()
    element = ask(example_live, "edges.EdgesQuestion", edgeType="layer3")
    got = {(r["Interface"]["hostname"], r["Interface"]["interface"], r["Remote_Interface"]["hostname"],
            r["Remote_Interface"]["interface"]) for r in element["rows"]}
    assert len(links) == 38
    assert got == links
    row = next(r for r in element["rows"] if r["Interface"] == {"hostname": "as1border1",
                                                                 "interface": "GigabitEthernet0/0"})
    assert (row["IPs"], row["Remote_IPs"]) == (["1.0.1.1"], ["1.0.1.2"])  # the protocol reference's example


def test_interface_types_equal_topology_ref(example_live: SnapshotState) -> None:
    _, types = topology_ref()
    element = ask(example_live, "interfaceproperties.InterfacePropertiesQuestion", properties="Interface_Type")
    got = {(r["Interface"]["hostname"], r["Interface"]["interface"]): r["Interface_Type"] for r in element["rows"]}
    assert {k: got[k] for k in types} == types


def test_ip_owners_duplicates_equal_unique_ip_assignments_ref(example_live: SnapshotState) -> None:
    ref = load_ref(REFS / "uniqueIpAssignments.ref")["duplicateIps"]
    expected = {ip: {(o["hostname"], o["interface"]) for o in owners} for ip, owners in ref.items()}
    got: dict[str, set[tuple[str, str]]] = {}
    for r in ask(example_live, "ipowners.IpOwnersQuestion", duplicatesOnly=True)["rows"]:
        got.setdefault(r["IP"], set()).add((r["Node"]["name"], r["Interface"]))
    assert got == expected


# -- node properties against Batfish's structures -----------------------------------------------------------


def test_node_properties_name_sets_equal_batfish_structures(example_live: SnapshotState) -> None:
    init = load_ref(REFS / "init.ref")
    convert = next(e for e in init["answerElements"] if e["class"].endswith("ConvertConfigurationAnswerElement"))
    rows = {r["Node"]["name"]: r for r in ask(example_live, "nodeproperties.NodePropertiesQuestion")["rows"]}
    checked = 0
    for file, defined in convert["definedStructures"].items():
        if not defined:
            continue  # hosts: Batfish defines no structures for them
        node = Path(file).stem
        used = convert["referencedStructures"].get(file, {})

        def names(*kinds: str, defined: dict[str, list[str]] = defined) -> list[str]:
            return sorted({n for k in kinds for n in defined.get(k, [])})

        acls = names("standard ipv4 access-list", "extended ipv4 access-list")
        route_filters = set(names("ipv4 prefix-list")) | {
            a for a, ctx in used.get("ipv4 acl", {}).items() if "route-map match ipv4 access-list" in ctx}
        expected = {
            "Interfaces": names("interface"),
            "IP_Access_Lists": acls,
            "Route_Filter_Lists": sorted(route_filters),
            "Routing_Policies": names("route-map"),
            "Community_Match_Exprs": names("standard community-list", "expanded community-list"),
            "AS_Path_Access_Lists": names("as-path access-list"),
            "VRFs": ["default"],
            "Configuration_Format": "CISCO_IOS",
        }
        assert {k: rows[node][k] for k in expected} == expected, node
        checked += 1
    assert checked == 13


# -- OSPF ---------------------------------------------------------------------------------------------------


def test_ospf_passive_loopbacks_equal_ospf_status_ref(example_live: SnapshotState) -> None:
    ref = load_ref(REFS / "ospfStatus.ref")["ospfStatuses"]
    expected = {(s["interface"]["hostname"], s["interface"]["interface"]) for s in ref
                if s["ospfStatus"] == "ENABLED_PASSIVE"}
    got = {k for k, oi in ospf_interfaces(example_live).items() if re.match("Loopback", k[1]) and oi.passive}
    assert expected == {("as1border1", "Loopback0")}
    assert got == expected


def test_ospf_sessions_differ_from_batfish_only_on_mtu(example_live: SnapshotState) -> None:
    """No ref: Batfish's static verdict on example-live is ESTABLISHED for every candidate pair, since every
    OSPF interface there has the same area, timers and network type and Batfish does not compare MTUs. FRR keeps
    the three as2core2 links whose MTU differs (1600/1700/1800 against 1500) in ExStart/Exchange, so realfish
    reports those, in both directions, as MTU_MISMATCH; the established ones are exactly ospfEdges' edges."""
    element = ask(example_live, "ospfsession.OspfSessionCompatibilityQuestion")
    ends = {(r["Interface"]["hostname"], r["Interface"]["interface"], r["Remote_Interface"]["hostname"],
             r["Remote_Interface"]["interface"]): r["Session_Status"] for r in element["rows"]}
    mtu = {k for k, status in ends.items() if status != "ESTABLISHED"}
    as2core2 = {("as2core2", "GigabitEthernet0/0", "as2border2", "GigabitEthernet1/0"),
                ("as2core2", "GigabitEthernet1/0", "as2border1", "GigabitEthernet2/0"),
                ("as2core2", "GigabitEthernet2/0", "as2dist2", "GigabitEthernet0/0")}
    assert mtu == as2core2 | {(c, d, a, b) for a, b, c, d in as2core2}
    assert {ends[k] for k in mtu} == {"MTU_MISMATCH"}
    edges = ask(example_live, "edges.EdgesQuestion", edgeType="ospf")["rows"]
    assert {(r["Interface"]["hostname"], r["Interface"]["interface"], r["Remote_Interface"]["hostname"],
             r["Remote_Interface"]["interface"]) for r in edges} == set(ends) - mtu
