"""Why a row differs, from what the emulated routers themselves hold: ospfd's neighbours, interfaces and
routes, bgpd's neighbours (state, last reset, NOTIFICATION, policy names), zebra's routes, the parsed configs and
their parse status (what each line became). Nothing here knows a particular network.

A route Batfish has and the routers do not is followed upstream, next hop by next hop, to the first place it is
lost: an OSPF adjacency that is not Full (and why: MTU, hello/dead, area, network type, authentication), a BGP
session that is not Established (bgpd's last reset, a line FRR rejected), a policy that denies it, FRR's own
connected-route selection, or a config line the routers did not run. Other questions' rows go to the adjacency,
the session or the config lines they are about; a row nothing explains stays unexplained. Every explanation is
{"cause", "evidence"}; the cause is the grouping key, so all rows lost for one reason share it.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter, defaultdict
from typing import Any

from realfish.answers.state import SnapshotState
from realfish.diff.rows import Difference, cell_text
from realfish.model import Device, RouteMap
from realfish.render import ospf_areas

Explanation = dict[str, str]
Route = dict[str, Any]


def _state(nbr: dict[str, Any]) -> str:
    return str(nbr.get("nbrState") or nbr.get("state") or "?")


class Explainer:
    """Explanations for one snapshot's differences. `batfish_routes`: Batfish's routes rows, if asked."""

    def __init__(self, snapshot: SnapshotState, batfish_routes: list[Route] | None,
                 realfish_routes: list[Route] | None) -> None:
        self.st = snapshot
        self.dp = snapshot.tables()
        self.owner: dict[str, tuple[str, str]] = {}  # address -> (node, user's interface)
        for node, dev in snapshot.devices.items():
            for iface in dev.interfaces.values():
                for a in iface.addresses:
                    self.owner.setdefault(str(a.ip), (node, iface.name))
        self.b_routes = _by_node_net(batfish_routes or [])
        self.r_routes = _by_node_net(realfish_routes or [])
        self.ospf_nbrs: dict[str, list[dict[str, Any]]] = {}  # node -> neighbours with the user's iface name
        self.ospf_ifs: dict[str, dict[str, dict[str, Any]]] = {}  # node -> user's iface -> ospfd's interface
        for node, t in self.dp.routers.items():
            nbrs = (t.show.get("ospf_neighbors") or {}).get("neighbors") or {}
            self.ospf_nbrs[node] = [
                {**n, "rid": rid, "iface": t.user_ifname(str(n.get("ifaceName", "")).split(":")[0])}
                for rid, entries in nbrs.items() for n in (entries if isinstance(entries, list) else [entries])]
            ifs = (t.show.get("ospf_interfaces") or {}).get("interfaces") or {}
            self.ospf_ifs[node] = {t.user_ifname(k): v for k, v in ifs.items() if isinstance(v, dict)}
        self._mtu_groups = self._mtu_mismatches()
        # node -> config lines the routers did not run as written: (file, line, text, kind, message, context)
        self.untranslated: dict[str, list[tuple[str, int | None, str, str, str, str]]] = defaultdict(list)
        for st in snapshot.conv.statuses:
            text_of = {n.line: n.text for n in st.notes if n.text and n.line is not None}
            context_of = {n.line: n.context for n in st.notes if n.context and n.line is not None}
            for n in st.notes:
                if n.kind in UNCARRIED:
                    line = n.line if n.line is not None else -1
                    note = (st.file, n.line, n.text or text_of.get(line, ""), n.kind, n.message,
                            n.context or context_of.get(line, ""))
                    for node in st.nodes:
                        self.untranslated[node].append(note)

    # -- entry point ------------------------------------------------------------------------------------------

    def explain(self, question: str, d: Difference) -> Explanation | None:
        row = d.batfish if d.batfish is not None else d.realfish or {}
        if question == "routes":
            node, net = d.key.get("Node", ""), d.key.get("Network", "")
            return self.route_cause(node, net, set())
        cause = None
        if question in ("bgpSessionStatus", "bgpSessionCompatibility", "bgpEdges"):
            node = d.key.get("Node", "")
            ip = d.key.get("Remote_IP", "")
            cause = self.session_cause(node, ip, configured_check=d.kind == "only_batfish")
        elif question in ("ospfSessionCompatibility", "ospfEdges"):
            cause = self.ospf_row_cause(row)
        elif question == "bgpRib" and self.b_routes:  # the main RIB's difference for the prefix, if any
            cause = self.route_cause(d.key.get("Node", ""), d.key.get("Network", ""), set())
        elif question in ("fileParseStatus", "initIssues"):
            return self.parse_status_cause(question, d, row)
        elif question in ("definedStructures", "unusedStructures", "referencedStructures") and d.batfish:
            cause = self.structure_cause(d.batfish)
        return cause or self.config_cause(question, row) or self.config_value_cause(d)

    # -- questions about the configuration and the adjacencies --------------------------------------------------

    def ospf_row_cause(self, row: dict[str, Any]) -> Explanation | None:
        """An OSPF session or edge: why ospfd's adjacency on that interface is not Full."""
        local, remote = row.get("Interface"), row.get("Remote_Interface")
        if not isinstance(local, dict):
            return None
        ip = cell_text(row.get("Remote_IP")) if row.get("Remote_IP") else None
        if ip is None and isinstance(remote, dict):  # an edge names the far interface: its address
            dev = self.st.devices.get(str(remote.get("hostname")))
            iface = dev.find_interface(str(remote.get("interface"))) if dev else None
            v4 = [a for a in iface.addresses if a.version == 4] if iface else []
            ip = str(v4[0].ip) if v4 else None
        if ip is None or ip not in self.owner:
            return None
        return self.ospf_link_cause(str(local.get("hostname")), str(local.get("interface")), ip)

    def config_cause(self, question: str, row: dict[str, Any]) -> Explanation | None:
        """A row of a question about the configuration: the lines of the row's router the routers did not run
        that name what the row is about (an interface, an address, a structure); for BGP and OSPF questions,
        those of the process. A router realfish does not have at all: the files it could not read."""
        node, names = _row_subject(row)
        if not node:
            return None
        far = row.get("Remote_Interface")
        if node in self.st.devices and isinstance(far, dict) and far.get("hostname") != node:
            # an edge or session: what its own end's config says first, then the far end's
            near = self._config_lines(question, node, names)
            if near:
                return near
            return self._config_lines(question, str(far.get("hostname")), [str(far.get("interface"))])
        if node not in self.st.devices:
            unread = [f"{st.file} ({st.status}{': ' + str(st.notes[0]) if st.notes else ''})"
                      for st in self.st.conv.statuses if st.status in ("FAILED", "UNKNOWN", "UNSUPPORTED")]
            if not unread:
                return None
            return {"cause": "files realfish could not read", "evidence": f"no router {node} in realfish's "
                    f"snapshot; files it could not read: {'; '.join(unread)}"}
        return self._config_lines(question, node, names)

    def _config_lines(self, question: str, node: str, names: list[str]) -> Explanation | None:
        found = [x for x in self.untranslated.get(node, [])
                 if any(re.search(rf"(?<![\w./-]){re.escape(n)}(?![\w./-])", f"{x[5]} {x[2]}") for n in names)]
        about = ", ".join(names) or node
        if not found and question.startswith(("bgp", "ospf")):
            proto = "bgp" if question.startswith("bgp") else "ospf"
            found = [x for x in self.untranslated.get(node, []) if _about(x, {proto}, set())]
            about = f"its {proto.upper()} process"
        return _uncarried(node, found, about) if found else None

    def config_value_cause(self, d: Difference) -> Explanation | None:
        """A value both sides read from the configuration and read differently: the lines realfish read it from
        (those naming what the row is about, or its peer-group, and the column's words: `remote-as` for
        Remote_AS, `ip ospf cost` for OSPF_Cost), with both sides' values."""
        if d.kind != "changed" or d.batfish is None or d.realfish is None:
            return None
        node, names = _row_subject(d.realfish)
        dev = self.st.devices.get(node)
        st = self.st.conv.status_of(dev.source) if dev else None
        if dev is None or st is None:
            return None
        if dev.bgp:
            names += [str(p.peer_group) for n in names if (p := dev.bgp.peers.get(n)) and p.peer_group]
        for col in d.columns:
            parts = set(col.lower().split("_"))
            lines = [n for n in st.notes if n.kind == "translated" and n.line is not None
                     and parts <= set(re.split(r"[\s-]+", n.text.lower()))
                     and any(re.search(rf"(?<![\w./-]){re.escape(x)}(?![\w./-])", f"{n.context} {n.text}")
                             for x in names)]
            if lines:
                where = f"{st.file} line{'s' if len(lines) > 1 else ''} {', '.join(str(n.line) for n in lines)}"
                return {"cause": f"{node} {col} as realfish reads {where}",
                        "evidence": f"{node} {col}: Batfish {cell_text(d.batfish.get(col))}, realfish "
                                    f"{cell_text(d.realfish.get(col))}; realfish read it from "
                                    + "; ".join(f"line {n.line} `{n.text}`" for n in lines)}
        return None

    def structure_cause(self, row: dict[str, Any]) -> Explanation | None:
        """A structure Batfish finds at lines realfish did not carry (so it defines or uses nothing there)."""
        where = row.get("Source_Lines")
        where = where[0] if isinstance(where, list) and where else where
        if not isinstance(where, dict):
            return None
        st = self.st.conv.status_of(str(where.get("filename")))
        lines = set(where.get("lines") or [])
        found = [(st.file, n.line, n.text, str(n.kind), n.message, n.context) for n in st.notes
                 if n.line in lines and n.kind in UNCARRIED] if st else []
        node = st.nodes[0] if st and st.nodes else str(where.get("filename"))
        return _uncarried(node, found, f"{row.get('Structure_Type')} {row.get('Structure_Name')}") if found else None

    def parse_status_cause(self, question: str, d: Difference, row: dict[str, Any]) -> Explanation | None:
        """fileParseStatus and initIssues: realfish's own notes on the lines concerned."""
        if question == "fileParseStatus":
            st = self.st.conv.status_of(cell_text(row.get("File_Name")))
            bad = [n for n in st.notes if n.kind in ("unrecognized", "rejected")] if st else []
            if st is None or d.realfish is None or not bad:
                return None  # realfish read the file at least as well: which lines Batfish could not, it cannot say
            shown = "; ".join(str(n) for n in bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
            return {"cause": f"{st.file}: lines realfish could not read or FRR rejected",
                    "evidence": f"realfish's parse status {st.status}: {shown}"}
        where = row.get("Source_Lines")
        first = where[0] if isinstance(where, list) and where else where
        if not isinstance(first, dict):
            return None
        st = self.st.conv.status_of(str(first.get("filename")))
        lines = set(first.get("lines") or [])
        notes = [n for n in st.notes if n.line in lines] if st else []
        said = row.get("Line_Text")
        if d.realfish is None and not (said and all(n.text == said for n in notes)):
            return None  # realfish's line there is not the one Batfish warns about: nothing to say of it
        if d.realfish is not None:  # realfish's own issue: the notes that are issues say why
            notes = [n for n in notes if n.kind not in ("translated", "ignored")]
        if st is None or not notes:
            return None
        kinds = sorted({n.kind for n in notes})
        verdict = {"rejected": "FRR rejects", "unsupported": "realfish does not carry into FRR",
                   "unrecognized": "realfish does not recognize", "translated": "realfish reads and translates",
                   "ignored": "realfish reads as without effect", "warning": "realfish warns about",
                   "error": "realfish finds invalid"}
        what = ", ".join(verdict.get(k, k) for k in kinds)
        return {"cause": f"{st.file}: lines {what}",
                "evidence": "realfish's parse status: " + "; ".join(str(n) for n in notes)}

    # -- routes -----------------------------------------------------------------------------------------------

    def route_cause(self, node: str, net: str, seen: set[tuple[str, str]]) -> Explanation | None:
        """Why `node`'s routes to `net` differ from Batfish's: the first cause found along Batfish's paths."""
        if (node, net) in seen:
            return None
        seen.add((node, net))
        b, r = self.b_routes.get((node, net), []), self.r_routes.get((node, net), [])
        if sorted(map(_route_values, b)) == sorted(map(_route_values, r)):
            return None  # this router agrees with Batfish: the difference is not from here
        ours = {_route_text(x) for x in r}
        # Batfish's paths the routers lack first: where it was lost is down one of those
        for row in sorted(b, key=lambda x: _route_text(x) in ours):
            proto = str(row.get("Protocol", ""))
            nh = row.get("Next_Hop") or {}
            nh_ip, nh_if = nh.get("ip"), nh.get("interface")
            if proto in ("connected", "local"):
                cause = self.connected_cause(node, net, str(nh_if or ""), r)
            elif proto.startswith("ospf"):
                cause = self.ospf_link_cause(node, str(nh_if or ""), str(nh_ip or "")) if nh_ip else None
                cause = cause or self.ospf_type_cause(node, net, row, r)
                if cause is None and nh_ip in self.owner:
                    cause = self.route_cause(self.owner[str(nh_ip)][0], net, seen)
            elif proto in ("bgp", "ibgp"):
                cause = self.bgp_route_cause(node, net, str(nh_ip or ""), proto, seen)
            elif proto == "aggregate":
                cause = self.aggregate_cause(node, net)
            else:
                cause = None
            if cause:
                return cause
        cause = self.only_ours_cause(node, net, r, seen) if not b and r else None
        if cause:
            return cause
        # nothing in the routers' state: a line of this router's config (or its upstream's) the routers did not
        # run, about this prefix or this protocol
        rows = b + r
        upstream = [self.owner[str(ip)][0] for x in rows if (ip := (x.get("Next_Hop") or {}).get("ip")) in self.owner]
        return self.untranslated_cause([node, *dict.fromkeys(upstream)], net,
                                       {str(x.get("Protocol", "")) for x in rows},
                                       {str((x.get("Next_Hop") or {}).get("interface") or "") for x in rows})

    def only_ours_cause(self, node: str, net: str, r: list[Route], seen: set[tuple[str, str]]) -> Explanation | None:
        """A route the routers have and Batfish does not: follow the routers' own next hops upstream to where
        Batfish's answer differs (a path Batfish's model does not have)."""
        for row in r:
            nh_ip = (row.get("Next_Hop") or {}).get("ip")
            if nh_ip in self.owner:
                cause = self.route_cause(self.owner[str(nh_ip)][0], net, seen)
                if cause:
                    return cause
        return None

    def connected_cause(self, node: str, net: str, iface: str, ours: list[Route]) -> Explanation | None:
        """A connected route Batfish lists and zebra does not select: two interfaces in one subnet (zebra keeps
        one connected route per prefix, vendors list one per interface), or the interface is down."""
        dev = self.st.devices.get(node)
        if dev is None:
            return None
        try:
            subnet = ipaddress.ip_network(net, strict=False)
        except ValueError:
            return None
        sharing = [(i.name, str(a)) for i in dev.interfaces.values() for a in i.addresses
                   if a.network == subnet and not i.shutdown]
        if len(sharing) > 1 and ours:
            kept = ", ".join(cell_text(x.get("Next_Hop")) for x in ours)
            return {"cause": f"FRR keeps one connected route per subnet: {node} has {len(sharing)} interfaces in "
                             f"{subnet}",
                    "evidence": f"{node}: " + ", ".join(f"{n} {a}" for n, a in sharing)
                                + f"; zebra selected {kept}; Batfish (like the vendor) lists one route per "
                                  "interface"}
        linux = self._linux_name(node, iface)
        zif = (self.dp.routers[node].show.get("interfaces") or {}).get(linux) if node in self.dp.routers else None
        if isinstance(zif, dict) and zif.get("operationalStatus") not in (None, "up"):
            return {"cause": f"interface {node} {iface} is down in the emulation",
                    "evidence": f"zebra: {iface} ({linux}) operational status {zif.get('operationalStatus')}"}
        return None

    # -- OSPF -------------------------------------------------------------------------------------------------

    def ospf_link_cause(self, node: str, iface: str, nh_ip: str) -> Explanation | None:
        """Why the OSPF adjacency from `node`'s `iface` to the router owning `nh_ip` is not Full (None if it is)."""
        nbr = next((n for n in self.ospf_nbrs.get(node, []) if n.get("ifaceAddress") == nh_ip), None)
        if nbr is not None and _state(nbr).startswith("Full"):
            return None
        peer, peer_if = self.owner.get(nh_ip, ("?", "?"))
        state = _state(nbr) if nbr else "no neighbour (no hello accepted)"
        for group, links in self._mtu_groups.items():
            if any({(node, iface), (peer, peer_if)} == {link[0][:2], link[1][:2]} for link in links):
                return self._mtu_explanation(group, links)
        mine, theirs = self.ospf_ifs.get(node, {}).get(iface), self.ospf_ifs.get(peer, {}).get(peer_if)
        where = " - ".join(sorted((f"{node} {iface}", f"{peer} {peer_if}")))  # one cause whichever end asks
        if mine is None or theirs is None:
            off = f"{node} {iface}" if mine is None else f"{peer} {peer_if}"
            at, at_if = (node, iface) if mine is None else (peer, peer_if)
            lines = [x for x in self.untranslated.get(at, []) if x[5].lower() == f"interface {at_if}".lower()]
            if lines:  # the interface's own lines that were not carried keep it out of OSPF
                return _uncarried(at, lines, f"{at_if}, where ospfd does not run")
            return {"cause": f"OSPF does not run on {off}",
                    "evidence": f"ospfd has no interface {off} (not in an OSPF network or area statement, or "
                                f"its daemon does not run); adjacency {where}: {state}"}
        checks = [("hello interval", "timerMsecs", "ms"), ("dead interval", "timerDeadSecs", "s"),
                  ("area", "area", ""), ("network type", "networkType", "")]
        for what, field, unit in checks:
            if mine.get(field) != theirs.get(field):
                return {"cause": f"OSPF {what} mismatch on {where}",
                        "evidence": f"ospfd: {node} {iface} {what} {mine.get(field)}{unit}, {peer} {peer_if} "
                                    f"{theirs.get(field)}{unit}; adjacency {state}"}
        auth = self.ospf_auth_cause((node, iface, mine), (peer, peer_if, theirs), where, state)
        if auth:
            return auth
        return {"cause": f"OSPF adjacency {where} not Full",
                "evidence": f"ospfd on {node}: neighbour {nh_ip} on {iface} is {state}"}

    def ospf_type_cause(self, node: str, net: str, theirs: Route, ours: list[Route]) -> Explanation | None:
        """The routers reach `net` over Batfish's next hop, as another OSPF route type (intra-area, inter-area,
        external): ospfd's route entry and the areas ospfd puts the network's interfaces in."""
        nh = cell_text(theirs.get("Next_Hop"))
        mine = next((x for x in ours if cell_text(x.get("Next_Hop")) == nh
                     and str(x.get("Protocol", "")).startswith("ospf")), None)
        if mine is None or mine.get("Protocol") == theirs.get("Protocol"):
            return None
        t = self.dp.routers.get(node)
        entry = _find_prefix((t.show.get("ospf_routes") or {}) if t else {}, net)
        try:
            subnet = ipaddress.ip_network(net)
        except ValueError:
            return None
        attached = sorted({(n, i, str(self.ospf_ifs.get(n, {}).get(i, {}).get("area", "not in OSPF")))
                           for a, (n, i) in self.owner.items() if ipaddress.ip_address(a) in subnet})
        where = ", ".join(f"{n} {i} area {a}" for n, i, a in attached) or "none in the snapshot"
        held = (f"{entry.get('routeType', '?').strip()} in area {entry.get('area', '?')}" if entry
                else "not in its route table")
        return {"cause": f"OSPF route type of {net} follows its interfaces' areas: {where}",
                "evidence": f"ospfd on {node}: {net} {held} ({mine.get('Protocol')}); Batfish: "
                            f"{theirs.get('Protocol')}; ospfd's areas of the interfaces in {net}: {where}"}

    def ospf_auth_cause(self, a: tuple[str, str, dict[str, Any]], b: tuple[str, str, dict[str, Any]], where: str,
                        state: str) -> Explanation | None:
        """ospfd drops a packet whose authentication does not check (RFC 2328 D.3): the two ends' types as ospfd
        shows them; with the same type, the keys as the configs give them (the lines, never the keys)."""
        types = [str(x[2].get("authentication") or "authenticationNone") for x in (a, b)]
        if types[0] != types[1]:
            return {"cause": f"OSPF authentication mismatch on {where}",
                    "evidence": f"ospfd: {a[0]} {a[1]} {types[0]}, {b[0]} {b[1]} {types[1]}"
                                f"{self._auth_lines(a[0], a[1], b[0], b[1])}; adjacency {state}"}
        devs = [self.st.devices.get(n) for n, _, _ in (a, b)]
        x, y = (d.find_interface(i) if d else None for d, (_, i, _) in zip(devs, (a, b), strict=True))
        if types[0] == "authenticationNone" or x is None or y is None:
            return None
        if types[0] == "authenticationSimplePassword":
            differ = x.ospf_auth_key != y.ospf_auth_key
        else:  # each end signs with its last key; the other must hold that key id with the same key
            differ = not x.ospf_md5_keys or not y.ospf_md5_keys or any(
                r.ospf_md5_keys.get(k) != v for s, r in ((x, y), (y, x))
                for k, v in [list(s.ospf_md5_keys.items())[-1]])
        if not differ:
            return None
        return {"cause": f"OSPF authentication key mismatch on {where}",
                "evidence": f"ospfd: both ends {types[0]}, the keys differ"
                            f"{self._auth_lines(a[0], a[1], b[0], b[1])}; adjacency {state}"}

    def _auth_lines(self, *ends: str) -> str:
        """Where each end's authentication is configured: `; as2dist1.cfg lines 60, 61, ...`."""
        parts = []
        for node, name in zip(ends[::2], ends[1::2], strict=True):
            dev = self.st.devices.get(node)
            iface = dev.find_interface(name) if dev else None
            if dev is None or iface is None:
                continue
            lines = list(iface.ospf_auth_lines)
            for proc in dev.ospf:  # the area's `authentication` line, when the interface sets no type itself
                area = proc.areas.get(ospf_areas(dev, proc).get(iface.name, ""))
                if area is not None and area.authentication_line and not iface.ospf_auth:
                    lines.append(area.authentication_line)
            if lines:
                parts.append(f"{dev.source} line{'s' if len(lines) > 1 else ''} "
                             + ", ".join(map(str, sorted(lines))) + f" ({node} {name})")
        return ("; " + "; ".join(parts)) if parts else ""

    def _mtu_mismatches(self) -> dict[str, list[tuple[tuple[str, str, int], tuple[str, str, int], str]]]:
        """Adjacencies held short of Full with different interface MTUs on the two ends (OSPF compares them in
        its Database Description exchange, RFC 2328 10.6), grouped by the router they have in common."""
        links: dict[frozenset[tuple[str, str]], tuple[tuple[str, str, int], tuple[str, str, int], str]] = {}
        for node, nbrs in self.ospf_nbrs.items():
            for n in nbrs:
                if _state(n).startswith("Full") or n.get("ifaceAddress") not in self.owner:
                    continue
                peer, peer_if = self.owner[str(n["ifaceAddress"])]
                mine, theirs = self.ospf_ifs[node].get(n["iface"]), self.ospf_ifs.get(peer, {}).get(peer_if)
                if not mine or not theirs or mine.get("mtuBytes") == theirs.get("mtuBytes"):
                    continue
                key = frozenset({(node, n["iface"]), (peer, peer_if)})
                if key not in links:
                    links[key] = ((node, n["iface"], int(mine["mtuBytes"])),
                                  (peer, peer_if, int(theirs["mtuBytes"])), _state(n))
        count = Counter(end[0] for link in links.values() for end in link[:2])
        groups: dict[str, list[tuple[tuple[str, str, int], tuple[str, str, int], str]]] = defaultdict(list)
        for a, b, state in links.values():
            # the end shared by the most mismatched links; on a tie, the one whose MTU is not the common 1500
            at = max((a, b), key=lambda e: (count[e[0]], e[2] != 1500, e[0]))
            other = b if at is a else a
            groups[at[0]].append((at, other, state))
        return dict(groups)

    @staticmethod
    def _mtu_explanation(router: str, links: list[tuple[tuple[str, str, int], tuple[str, str, int], str]]
                         ) -> Explanation:
        parts = [f"{a[0]} {a[1]} MTU {a[2]} vs {b[0]} {b[1]} MTU {b[2]} ({state})" for a, b, state in sorted(links)]
        return {"cause": f"OSPF MTU mismatch at {router}",
                "evidence": "; ".join(parts) + ". ospfd compares interface MTUs in its database exchange "
                            "(RFC 2328 10.6) and keeps these adjacencies in ExStart/Exchange; Batfish does not "
                            "model the check"}

    # -- BGP --------------------------------------------------------------------------------------------------

    def bgp_neighbors(self, node: str) -> dict[str, dict[str, Any]]:
        t = self.dp.routers.get(node)
        doc = ((t.show.get("bgp_neighbors") or {}).get("default") or {}) if t else {}
        return {k: v for k, v in doc.items() if isinstance(v, dict)}

    def bgp_route_cause(self, node: str, net: str, nh_ip: str, proto: str,
                        seen: set[tuple[str, str]]) -> Explanation | None:
        peers = self.bgp_neighbors(node)
        upstream = self.owner.get(nh_ip, ("", ""))[0]
        direct = [a for a in peers if a == nh_ip or (upstream and self.owner.get(a, ("",))[0] == upstream)]
        if not direct and proto == "bgp" and upstream:  # eBGP from a router bgpd has no neighbor for
            return self.session_cause(node, nh_ip, configured_check=True, seen=seen)
        if not direct:  # learned over iBGP: from the AS's routers that Batfish has the route on
            direct = [a for a in peers if a in self.owner and peers[a].get("remoteAs") == peers[a].get("localAs")
                      and self.b_routes.get((self.owner[a][0], net))]
        for a in direct:
            if peers[a].get("bgpState") != "Established":
                return self.session_cause(node, a, seen=seen)
        for a in direct:
            cause = self.route_cause(self.owner[a][0], net, seen) if a in self.owner else None
            if cause:
                return cause
        for a in direct:
            cause = self.policy_cause(node, a, net)
            if cause:
                return cause
        return self.best_path_cause(node, net, nh_ip)

    def best_path_cause(self, node: str, net: str, nh_ip: str) -> Explanation | None:
        """bgpd has Batfish's path but selected another one: FRR's own selection reason."""
        t = self.dp.routers.get(node)
        table = ((((t.show.get("bgp_routes") or {}).get("default") or {}).get("routes") or {}) if t else {})
        paths = [p for p in table.get(net) or [] if isinstance(p, dict)]
        best = next((p for p in paths if p.get("bestpath")), None)
        theirs = next((p for p in paths if p.get("peerId") == nh_ip
                       or any(h.get("ip") == nh_ip for h in p.get("nexthops") or [])), None)
        if best is None or theirs is None or best is theirs or theirs.get("multipath"):
            return None
        reason = best.get("selectionReason", "?")

        def describe(p: dict[str, Any]) -> str:
            return (f"from {p.get('peerId')} (AS path '{p.get('path', '')}', local preference "
                    f"{p.get('locPrf', '-')}, weight {p.get('weight', '-')}, MED {p.get('metric', '-')})")

        return {"cause": f"bgpd on {node} selects another best path ({reason})",
                "evidence": f"bgpd's best path for {net}: {describe(best)}, selected by {reason}; Batfish's path "
                            f"{describe(theirs)}"}

    def aggregate_cause(self, node: str, net: str) -> Explanation | None:
        """An aggregate Batfish has and bgpd did not originate: with its contributing routes or without."""
        dev = self.st.devices.get(node)
        agg = next((a for a in dev.bgp.aggregates if str(a.prefix) == net), None) if dev and dev.bgp else None
        if dev is None or agg is None:
            return None
        t = self.dp.routers.get(node)
        table = ((((t.show.get("bgp_routes") or {}).get("default") or {}).get("routes") or {}) if t else {})
        prefix = ipaddress.ip_network(net)
        contributing = sorted(p for p in table if p != net and _within(p, prefix))
        paths = [f"{'internal' if x.get('pathFrom') == 'internal' else 'external'} from {x.get('peerId')}"
                 for x in table.get(net) or []]
        where = f"{dev.source} line {agg.line}: aggregate-address {net}"
        if not contributing:
            return {"cause": f"aggregate {net} on {node}: no contributing route in bgpd",
                    "evidence": f"{where}; bgpd on {node} has no more specific route of {net}"}
        why = ""
        if any(x.get("pathFrom") == "internal" for x in table.get(net) or []):
            # bgpd 8.4.4, bgp_aggregate_install(): "unchanged" is judged against the prefix's first path
            why = ("; FRR 8.4.4 compares the aggregate it would add with the prefix's first path, here another "
                   "router's aggregate learned over iBGP with the same origin, AS path and communities, finds "
                   "nothing changed and adds none (fixed in FRR 9.0, pull request 13564); it happens when that "
                   "copy arrives before the contributing routes, so it depends on the order of events")
        return {"cause": f"bgpd on {node} did not originate aggregate {net} although contributing routes are "
                         "present",
                "evidence": f"{where}; bgpd's table has {', '.join(contributing)}; its paths for {net}: "
                            f"{'; '.join(paths) or 'none'} (no locally originated one){why}"}

    def session_cause(self, node: str, addr: str, configured_check: bool = False,
                      seen: set[tuple[str, str]] | None = None) -> Explanation | None:
        """Why bgpd's session from `node` to `addr` is not Established (None if it is). With no route to the
        peer, the route Batfish has toward it is followed upstream: that loss is the cause."""
        peers = self.bgp_neighbors(node)
        peer_node = self.owner.get(addr, (addr,))[0]
        pair = " - ".join(sorted((node, peer_node)))
        nb = peers.get(addr)
        rejected = self._rejected(node, [addr])
        if nb is None:
            if rejected:
                return {"cause": f"FRR rejected the BGP configuration between {pair}", "evidence": "; ".join(rejected)}
            lines = self.untranslated_lines(node, [addr])
            if lines:  # the neighbor's own lines were not carried
                return _uncarried(node, lines, f"BGP neighbor {addr}")
            if configured_check:
                return {"cause": f"BGP neighbor {addr} of {node} not configured in FRR",
                        "evidence": f"bgpd on {node} has no neighbor {addr} (the translation did not carry it)"}
            return None
        if nb.get("bgpState") == "Established":
            return None
        back = next((v for k, v in self.bgp_neighbors(peer_node).items() if self.owner.get(k, ("",))[0] == node),
                    None) if peer_node in self.dp.routers else None
        if peer_node in self.dp.routers:  # a line the peer's FRR rejected about this router counts as much
            rejected += self._rejected(peer_node, [a for a, (n, _) in self.owner.items() if n == node])
        if rejected:
            return {"cause": f"FRR rejected the BGP configuration between {pair}",
                    "evidence": "; ".join(rejected) + f"; bgpd on {node}: {_session_state(nb)}"}
        if back is None and peer_node in self.dp.routers:
            lines = self.untranslated_lines(peer_node, [a for a, (n, _) in self.owner.items() if n == node])
            if lines:  # the peer's neighbor lines for this router were not carried
                return _uncarried(peer_node, lines, f"its BGP neighbor {node}")
        ends = [(node, nb)] + ([(peer_node, back)] if back is not None else [])
        ends.sort(key=lambda e: e[0])  # one cause for the session, whichever end a row was lost at
        evidence = [f"bgpd on {n}: {_session_state(v)}" for n, v in ends]
        if not self._has_route(node, addr):
            evidence.append(f"{node} has no route to {addr}")
            toward = self._batfish_route_to(node, addr)
            lost = self.route_cause(node, toward, seen if seen is not None else set()) if toward else None
            # without Batfish's routes to follow: an end cut off from OSPF, from ospfd's own adjacencies
            lost = lost or self._ospf_isolated(node) or self._ospf_isolated(peer_node)
            if lost:
                return {"cause": lost["cause"],
                        "evidence": f"BGP session {pair} down: {'; '.join(evidence)}; {lost['evidence']}"}
        # the configs say it whatever bgpd's last reset holds (which depends on the order the two ends met in)
        evidence += self._remote_as_mismatches(node, addr, peer_node)
        # a NOTIFICATION says why (Bad Peer AS, ...); a later reset ("Waiting for peer OPEN") says less
        reason = next((str(v["lastNotificationReason"]) for _, v in ends if v.get("lastNotificationReason")),
                      next((_reset_reason(v) for _, v in ends if _reset_reason(v)), str(nb.get("bgpState"))))
        return {"cause": f"BGP session {pair} not established ({reason})", "evidence": "; ".join(evidence)}

    def _remote_as_mismatches(self, node: str, addr: str, peer_node: str) -> list[str]:
        """Each end whose configured remote-as for the other is a number other than the other's AS, as
        `FILE line N: A expects AS X from ADDR; B is AS Y`."""
        out: list[str] = []
        a, b = self.st.devices.get(node), self.st.devices.get(peer_node)
        if a is None or b is None or a.bgp is None or b.bgp is None:
            return out
        back = [k for k in b.bgp.peers if self.owner.get(k, ("",))[0] == node]
        for dev, other, key in [(a, b, addr)] + [(b, a, k) for k in back]:
            assert dev.bgp is not None and other.bgp is not None
            peer = dev.bgp.peers.get(key)
            expected = dev.bgp.peer_setting(peer, "remote_as") if peer else None
            if peer and isinstance(expected, str) and expected.isdigit() and expected != other.bgp.asn:
                where = peer if peer.remote_as is not None else dev.bgp.groups.get(peer.peer_group or "")
                via = f" (peer-group {peer.peer_group})" if where is not peer else ""
                out.append(f"{dev.source} line {where.line if where else '?'}: {dev.hostname} expects AS "
                           f"{expected} from {key}{via}; {other.hostname} is AS {other.bgp.asn}")
        return out

    def _ospf_isolated(self, node: str) -> Explanation | None:
        """`node` has OSPF links to other routers and ospfd holds none of them Full: the causes of each."""
        causes = []
        for a, a_if, b, b_if in self.st.conv.edges:
            if a != node or a_if not in self.ospf_ifs.get(node, {}) or b not in self.dp.routers:
                continue
            dev = self.st.devices.get(b)
            far = dev.find_interface(b_if) if dev else None
            v4 = [x for x in far.addresses if x.version == 4] if far else []
            cause = self.ospf_link_cause(node, a_if, str(v4[0].ip)) if v4 else None
            if cause is None and v4:
                return None  # one adjacency is Full (or a link ospfd does not account for): not cut off
            if cause is not None:
                causes.append(cause["cause"])
        if not causes:
            return None
        return {"cause": f"no OSPF adjacency of {node} is Full",
                "evidence": f"{node}'s OSPF links: " + "; ".join(sorted(set(causes)))}

    def _rejected(self, node: str, addrs: list[str]) -> list[str]:
        """Config lines FRR rejected on `node` that name one of `addrs` or a peer-group one of them is in: the
        daemons' at boot (the run's problems) and vtysh's grammar's (the parse status)."""
        dev = self.st.devices.get(node)
        names = list(addrs) + [str(p.peer_group) for a in addrs
                               if dev and dev.bgp and (p := dev.bgp.peers.get(a)) and p.peer_group]
        found = [p for p in self.dp.problems if p.startswith(f"{node}:") and "rejected" in p
                 and any(re.search(rf"(?<![\w.-]){re.escape(a)}(?![\w.-])", p) for a in names)]
        for file, line, text, kind, message, _ in self.untranslated_lines(node, names):
            where = f"{file} line {line}" if line is not None else file
            if kind == "rejected" and not any(f"{where}:" in p for p in found):
                found.append(f"{node}: {where}: {text!r}: {message}")
        return found

    def _batfish_route_to(self, node: str, addr: str) -> str | None:
        """The network of Batfish's longest-prefix route at `node` covering `addr`."""
        ip = ipaddress.ip_address(addr)
        best: Any = None
        for n, net in self.b_routes:
            if n != node:
                continue
            try:
                candidate = ipaddress.ip_network(net)
            except ValueError:
                continue
            if ip in candidate and (best is None or candidate.prefixlen > best.prefixlen):
                best = candidate
        return str(best) if best is not None else None

    def _has_route(self, node: str, addr: str) -> bool:
        t = self.dp.routers.get(node)
        ip = ipaddress.ip_address(addr)
        for e in t.fib if t else []:
            try:
                if ip in ipaddress.ip_network(e["prefix"], strict=False):
                    return True
            except (ValueError, KeyError):
                continue
        return False

    def policy_cause(self, node: str, addr: str, net: str) -> Explanation | None:
        """A route the upstream router has and `node` does not: the inbound policy on `node`'s neighbor or the
        upstream's outbound policy toward `node`, as bgpd applies them, evaluated on the parsed route-maps."""
        checks: list[tuple[str, str, str, str, str]] = []  # (router, kind, name, direction, neighbor)
        af = (self.bgp_neighbors(node).get(addr) or {}).get("addressFamilyInfo", {}).get("ipv4Unicast", {})
        for kind, field in (("prefix-list", "incomingUpdatePrefixFilterList"),
                            ("route-map", "routeMapForIncomingAdvertisements")):
            if af.get(field):
                checks.append((node, kind, af[field], "in", addr))
        upstream = self.owner.get(addr, ("",))[0]
        for k, v in self.bgp_neighbors(upstream).items():
            if self.owner.get(k, ("",))[0] == node:
                out = v.get("addressFamilyInfo", {}).get("ipv4Unicast", {})
                for kind, field in (("prefix-list", "outgoingUpdatePrefixFilterList"),
                                    ("route-map", "routeMapForOutgoingAdvertisements")):
                    if out.get(field):
                        checks.append((upstream, kind, out[field], "out", k))
        prefix = ipaddress.ip_network(net, strict=False)
        for router, kind, name, direction, nbr in checks:
            dev = self.st.devices.get(router)
            if dev is None:
                continue
            if kind == "route-map":
                verdict, why = route_map_verdict(dev, name, net)
            elif name not in dev.prefix_lists:
                verdict, why = "deny", f"prefix-list {name} is not defined in {dev.source}"
            else:
                permits = _prefix_list_permits(dev, name, prefix)
                verdict, why = ("permit" if permits else "deny"), \
                    f"prefix-list {name} ({dev.source}) {'permits' if permits else 'does not permit'} {net}"
            if verdict == "deny":
                return {"cause": f"BGP policy: {kind} {name} on {router} ({direction}, neighbor {nbr}) denies "
                                 f"{net}",
                        "evidence": f"bgpd on {router} applies {kind} {name} {direction} to {nbr}; {why}"}
        return None

    # -- config lines the routers did not run ----------------------------------------------------------------

    def untranslated_cause(self, nodes: list[str], net: str, protocols: set[str],
                           interfaces: set[str]) -> Explanation | None:
        """Lines of `nodes`' configs that were not carried into FRR (unsupported, unrecognized, invalid) or that
        FRR rejected: those naming `net` first; else those in the part of the config that makes routes of these
        protocols (the BGP or OSPF process, static routes, the next hop's interface)."""
        try:
            prefix = ipaddress.ip_network(net, strict=False)
        except ValueError:
            return None
        for strong in (True, False):
            for node in nodes:
                found = [x for x in self.untranslated.get(node, [])
                         if (_mentions(x[2], prefix) if strong else _about(x, protocols, interfaces))]
                if found:
                    return _uncarried(node, found, f"{net}" if strong else "/".join(sorted(protocols)))
        return None

    def untranslated_lines(self, node: str, names: list[str]) -> list[tuple[str, int | None, str, str, str, str]]:
        """Lines of `node`'s config the routers did not run that name one of `names` (a neighbor's address, a
        peer-group)."""
        return [x for x in self.untranslated.get(node, [])
                if any(re.search(rf"(?<![\w.-]){re.escape(a)}(?![\w.-])", x[2]) for a in names)]

    # -- helpers ----------------------------------------------------------------------------------------------

    def _linux_name(self, node: str, user: str) -> str:
        t = self.dp.routers.get(node)
        return next((k for k, v in (t.name_map if t else {}).items() if v == user), user)


def _session_state(nb: dict[str, Any]) -> str:
    text = f"state {nb.get('bgpState')}"
    reason = _reset_reason(nb)
    return text + (f", last reset: {reason}" if reason else "")


def _reset_reason(nb: dict[str, Any] | None) -> str:
    if not nb:
        return ""
    parts = [str(nb[k]) for k in ("lastNotificationReason", "lastResetDueTo") if nb.get(k)]
    if nb.get("lastErrorCodeSubcode") and not nb.get("lastNotificationReason"):
        parts.append(f"error code/subcode {nb['lastErrorCodeSubcode']}")
    return "; ".join(dict.fromkeys(parts))


def route_map_verdict(dev: Device, name: str, net: str) -> tuple[str | None, str]:
    """("permit"|"deny"|None if undecidable here, why) for a route to `net` through `dev`'s route-map `name`,
    with FRR's semantics: an undefined route-map denies everything; the first clause whose matches all hold
    decides; none: deny. Only prefix-list matches are evaluated (others make it undecidable)."""
    rm: RouteMap | None = dev.route_maps.get(name)
    where = f"{dev.source}"
    if rm is None:
        return "deny", f"route-map {name} is not defined in {where}; FRR denies every route through it"
    prefix = ipaddress.ip_network(net, strict=False)
    for clause in sorted(rm.clauses, key=lambda c: c.seq):
        holds = True
        for m in clause.matches:
            if m.kind != "prefix-list":
                return None, ""
            if not any(_prefix_list_permits(dev, pl, prefix) for pl in m.args):
                holds = False
        if holds:
            return clause.action, (f"{where} line {clause.line}: route-map {name} {clause.action} {clause.seq} "
                                   f"matches {net}")
    return "deny", f"no clause of route-map {name} ({where}) matches {net}: implicit deny"


def _prefix_list_permits(dev: Device, name: str, prefix: Any) -> bool:
    pl = dev.prefix_lists.get(name)
    for e in sorted(pl.entries, key=lambda x: x.seq) if pl else []:
        if e.prefix.version != prefix.version or not prefix.subnet_of(e.prefix):  # type: ignore[arg-type]
            continue
        lo = e.ge or e.prefix.prefixlen
        hi = e.le or (e.ge and prefix.max_prefixlen) or e.prefix.prefixlen
        if lo <= prefix.prefixlen <= hi:
            return e.action == "permit"
    return False


UNCARRIED = ("unsupported", "unrecognized", "error", "rejected")
_ADDR = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2}))?(?:\s+(?:mask\s+)?(\d{1,3}(?:\.\d{1,3}){3}))?")


def _mentions(text: str, prefix: Any) -> bool:
    """`text` names `prefix` (`10.1.0.0/16`, `10.1.0.0 255.255.0.0`, `10.1.0.0 mask 255.255.0.0`; an address
    alone when it is the prefix's own address)."""
    for m in _ADDR.finditer(text):
        try:
            if m.group(2) is not None:
                length = int(m.group(2))
            elif m.group(3) is not None and m.group(3).startswith("255."):
                length = ipaddress.ip_network(f"0.0.0.0/{m.group(3)}").prefixlen
            else:
                length = prefix.prefixlen
            if ipaddress.ip_network(f"{m.group(1)}/{length}", strict=False) == prefix and \
                    (m.group(2) is not None or m.group(3) is not None or m.group(1) == str(prefix.network_address)):
                return True
        except ValueError:
            continue
    return False


def _about(note: tuple[str, int | None, str, str, str, str], protocols: set[str], interfaces: set[str]) -> bool:
    """The line is in the part of a config that makes routes of one of `protocols` or configures one of
    `interfaces` (where the routes leave)."""
    text, context = note[2].lower(), note[5].lower()
    where = f"{context} {text}".strip()
    for p in protocols:
        if p in ("bgp", "ibgp", "aggregate") and where.startswith("router bgp"):
            return True
        if p.startswith("ospf") and (where.startswith("router ospf") or " ip ospf " in f" {where}"):
            return True
        if p == "static" and text.startswith("ip route"):
            return True
    return any(i and context == f"interface {i.lower()}" for i in interfaces)


def _uncarried(node: str, found: list[tuple[str, int | None, str, str, str, str]], about: str) -> Explanation:
    files = sorted({x[0] for x in found})
    lines = ", ".join(str(x[1]) for x in found if x[1] is not None)
    where = f"{', '.join(files)} line{'s' if len(found) > 1 else ''} {lines}".rstrip()
    shown = "; ".join(f"{x[0]} line {x[1]}: `{x[2]}` ({x[3]}: {x[4]})" for x in found[:5])
    more = f"; and {len(found) - 5} more" if len(found) > 5 else ""
    verb = "FRR rejected" if all(x[3] == "rejected" for x in found) else "the routers did not run"
    return {"cause": f"{where} ({node}): config the routers did not run",
            "evidence": f"{node}'s config, about {about}: {verb} {'these lines' if len(found) > 1 else 'this line'}:"
                        f" {shown}{more}"}


def _row_subject(row: dict[str, Any]) -> tuple[str, list[str]]:
    """(the router a row is about, the names in it that config lines would name: interfaces, addresses,
    structures). Cells about another router (Remote_Node, Remote_Interface) are left out."""
    node = ""
    for col in ("Node", "Interface", "Nodes"):
        v = row.get(col)
        v = v[0] if isinstance(v, list) and v else v
        if isinstance(v, dict):
            node = str(v.get("name") or v.get("hostname") or "")
            if node:
                break
    names: list[str] = []
    for col, v in row.items():
        if col.startswith("Remote_") and col != "Remote_IP" or col in ("Node", "VRF", "Nodes"):
            continue
        if isinstance(v, dict) and v.get("hostname") == node and "interface" in v:
            names.append(str(v["interface"]))
        elif isinstance(v, dict) and "value" in v:
            names.append(str(v["value"]))
        elif isinstance(v, str) and col in ("IP", "Remote_IP", "Local_IP", "Interface", "Local_Interface",
                                            "Structure_Name", "Router_ID"):
            names.append(v.split(" (")[0])  # "10.0.0.1 (VRF default)": the name as written
    return node, [n for n in dict.fromkeys(names) if n and n != "default"]


def _find_prefix(doc: dict[str, Any], net: str) -> dict[str, Any] | None:
    """ospfd's route entry for `net`, at the top of its JSON or one level down (per VRF)."""
    for body in [doc, *[v for v in doc.values() if isinstance(v, dict)]]:
        if isinstance(body.get(net), dict):
            return dict(body[net])
    return None


def _by_node_net(rows: list[Route]) -> dict[tuple[str, str], list[Route]]:
    out: dict[tuple[str, str], list[Route]] = defaultdict(list)
    for r in rows:
        out[(cell_text(r.get("Node")), str(r.get("Network")))].append(r)
    return out


def _within(text: str, net: Any) -> bool:
    try:
        return bool(ipaddress.ip_network(text).subnet_of(net))
    except (ValueError, TypeError):
        return False


def _route_values(r: Route) -> str:
    return f"{_route_text(r)} {r.get('Metric')} {r.get('Admin_Distance')}"


def _route_text(r: Route) -> str:
    return f"{cell_text(r.get('Next_Hop'))} {r.get('Protocol')}"
