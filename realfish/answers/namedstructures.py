"""namedStructures: the named structures of Batfish's vendor-independent model per node (IP_Access_List,
Route_Filter_List, Routing_Policy, VRF, ...), by the names nodeProperties lists for them.

With `indicatePresence`, a row per structure name of a type and node, saying whether the node has it: exact.
Otherwise a row per structure a node has, with its definition as a Batfish SelfDescribingObject
({"schema": "Object", "value": ...}). realfish renders the definitions its device model holds in the shape of
Batfish's classes: IP_Access_List (IpAccessList: ExprAclLine lines matching a HeaderSpace), Route_Filter_List
(RouteFilterList: prefix-list lines with their length range; ACLs used as route filters are listed but not
rendered) and AS_Path_Access_List (AsPathAccessList). The others (Routing_Policy: Batfish's compiled routing
policy statements; VRF: its whole VRF object; the rest) have a null definition: realfish does not build Batfish's
compiled forms and does not guess them. No Batfish answer of this question was available to compare the rendered
JSON with field by field; its names and lines follow the configs.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from realfish.answers import UnsupportedQuestion, answerer, flag, node_set, specifiers, variable
from realfish.answers import table as tbl
from realfish.answers.filters import Filter, Match, device_filters
from realfish.answers.flow import protocol_name
from realfish.answers.properties import node_properties
from realfish.answers.state import SnapshotState
from realfish.answers.table import Column
from realfish.model import Device

Json = dict[str, Any]

# namedStructures type -> the nodeProperties property that lists its names (Batfish's NamedStructurePropertySpecifier)
TYPES = {
    "AS_Path_Access_List": "AS_Path_Access_Lists", "Authentication_Key_Chain": "Authentication_Key_Chains",
    "Community_List": None, "IKE_Phase1_Keys": "IKE_Phase1_Keys", "IKE_Phase1_Policies": "IKE_Phase1_Policies",
    "IKE_Phase1_Proposals": "IKE_Phase1_Proposals", "IP6_Access_List": "IP6_Access_Lists",
    "IP_Access_List": "IP_Access_Lists", "IPsec_Peer_Configs": "IPsec_Peer_Configs",
    "IPsec_Phase2_Policies": "IPsec_Phase2_Policies", "IPsec_Phase2_Proposals": "IPsec_Phase2_Proposals",
    "PBR_Policy": "PBR_Policies", "Route6_Filter_List": "Route6_Filter_Lists",
    "Route_Filter_List": "Route_Filter_Lists", "Routing_Policy": "Routing_Policies", "VRF": "VRFs", "Zone": "Zones",
}


def _wildcard(spec: tuple[int, int] | None) -> Json | None:
    if spec is None:
        return None
    addr, care = spec
    wild = ~care & 0xFFFFFFFF
    if (wild + 1) & wild == 0:  # contiguous: a prefix
        text = f"{ipaddress.IPv4Address(addr)}/{32 - wild.bit_length()}"
    else:
        text = f"{ipaddress.IPv4Address(addr)}:{ipaddress.IPv4Address(wild)}"
    return {"class": "org.batfish.datamodel.IpWildcardIpSpace", "ipWildcard": text}


def _header_space(m: Match) -> Json:
    hs: Json = {}
    for key, spec in (("srcIps", m.src), ("dstIps", m.dst)):
        if (space := _wildcard(spec)) is not None:
            hs[key] = space
    if m.protocol is not None:
        hs["ipProtocols"] = [protocol_name(m.protocol)]
    for key, ranges in (("srcPorts", m.src_ports), ("dstPorts", m.dst_ports)):
        if ranges is not None:
            hs[key] = [f"{lo}-{hi}" for lo, hi in ranges]
    for key, value in (("icmpTypes", m.icmp_type), ("icmpCodes", m.icmp_code), ("dscps", m.dscp)):
        if value is not None:
            hs[key] = [f"{value}-{value}"]
    if m.fragments:
        hs["fragmentOffsets"] = ["1-8191"]
    if m.established:
        hs["tcpFlagsMatchConditions"] = [
            {"tcpFlags": {"ack": True}, "useAck": True}, {"tcpFlags": {"rst": True}, "useRst": True}]
    return hs


def _acl_json(flt: Filter) -> Json:
    lines = []
    for line in flt.lines:
        cond: Json = ({"class": "org.batfish.datamodel.acl.FalseExpr"} if line.match.nothing else
                      {"class": "org.batfish.datamodel.acl.MatchHeaderSpace", "headerSpace": _header_space(line.match)})
        lines.append({"class": "org.batfish.datamodel.ExprAclLine", "action": "PERMIT" if line.permit else "DENY",
                      "matchCondition": cond, "name": line.name})
    return {"name": flt.name, "lines": lines}


def _definition(dev: Device, kind: str, name: str) -> Json | None:
    value: Json | None = None
    if kind == "IP_Access_List":
        flt = device_filters(dev).get(name)
        value = _acl_json(flt) if flt is not None else None
    elif kind == "Route_Filter_List" and name in dev.prefix_lists:
        value = {"name": name, "lines": [
            {"action": e.action.upper(), "ipWildcard": str(e.prefix),
             "lengthRange": f"{e.ge if e.ge is not None else e.prefix.prefixlen}-"
                            f"{e.le if e.le is not None else (e.prefix.prefixlen if e.ge is None else 32)}"}
            for e in dev.prefix_lists[name].entries]}
    elif kind == "AS_Path_Access_List" and name in dev.as_path_lists:
        value = {"name": name, "lines": [{"action": e.action.upper(), "regex": e.regex}
                                         for e in dev.as_path_lists[name].entries]}
    return None if value is None else {"schema": "Object", "value": value}


@answerer("namedstructures.NamedStructuresQuestion")
def named_structures(question: Json, state: SnapshotState, _reference: SnapshotState | None) -> Json:
    try:
        kinds = sorted(specifiers.enum_set(variable(question, "structureTypes"), TYPES))
    except specifiers.SpecifierError as e:
        raise UnsupportedQuestion(f"structureTypes: {e}") from None
    presence = flag(question, "indicatePresence")
    ignore_generated = flag(question, "ignoreGenerated", True)
    pattern = str(variable(question, "structureNames") or ".*")
    try:
        names = re.compile(pattern, re.I)  # Batfish: a Java regex over the whole name
    except re.error as e:
        raise UnsupportedQuestion(f"structureNames: bad regex {pattern!r}: {e}") from None
    nodes = sorted(node_set(question, "nodes", state))
    props = {n: node_properties(state, n) for n in nodes}
    rows = []
    for kind in kinds:
        prop = TYPES[kind]
        have = {n: set(props[n].get(prop) or []) if prop else set() for n in nodes}
        for name in sorted(set().union(*have.values())) if have else []:
            if not names.fullmatch(name) or (ignore_generated and name.startswith("~")):
                continue
            for n in nodes:
                row = {"Node": tbl.node(n), "Structure_Type": kind, "Structure_Name": name}
                if presence:
                    rows.append({**row, "Present_On_Node": name in have[n]})
                elif name in have[n]:
                    rows.append({**row, "Structure_Definition": _definition(state.devices[n], kind, name)})
    last = (Column("Present_On_Node", "Boolean", "Whether the structure is present on the node")
            if presence else Column("Structure_Definition", "SelfDescribing", "Structure definition"))
    columns = [Column("Node", "Node", "Node", key=True, value=False),
               Column("Structure_Type", "String", "Structure type", key=True, value=False),
               Column("Structure_Name", "String", "Structure name", key=True, value=False), last]
    return tbl.answer(question, tbl.table(columns, rows, "Structure ${Structure_Name} on node ${Node}."))
