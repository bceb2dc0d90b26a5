"""Assertions about a converged snapshot, named after pybatfish's own where one exists, plus route assertions.

Each assertion asks Batfish questions and judges the rows, so one implementation serves three callers:
`realfish check` (over a `SnapshotState`, in this process), a pytest test and a pybatfish script (over a
pybatfish `Session`, against realfish or against Batfish itself):

    from realfish.assertions import assert_route_present, assert_flows_fail
    assert_route_present(bf, nodes="as3491-pccw", prefix="208.65.153.0/24", origin_as=17557)

A failing assertion raises `AssertionFailed` (an AssertionError, so pytest shows it), whose message lists what
was seen; a passing one returns its `Verdict`, which lists it too (traces, routes, sessions).

What fails each (pybatfish's semantics for pybatfish's names):
- `assert_flows_succeed(startLocation, headers)`: reachability finds a flow with a failure disposition;
- `assert_flows_fail(startLocation, headers)`: reachability finds a flow with a success disposition;
- `assert_no_unestablished_bgp_sessions(nodes, remote_nodes)`: a session is NOT_ESTABLISHED;
- `assert_no_incompatible_bgp_sessions(nodes, remote_nodes, status)`: a configured status other than
  UNIQUE_MATCH, DYNAMIC_MATCH or UNKNOWN_REMOTE (any session matching `status`, when given);
- `assert_no_incompatible_ospf_sessions(nodes, remote_nodes)`: an OSPF session not ESTABLISHED;
- `assert_no_forwarding_loops()`: detectLoops finds a loop;
- `assert_route_present(nodes, prefix, protocol, next_hop, as_path, origin_as)` (realfish's): a node has no
  route for exactly `prefix` with those properties;
- `assert_route_absent(...)` (realfish's, same parameters): a node has such a route.

Route properties: `protocol` as Batfish labels routes (bgp = eBGP, ibgp, ospf, static, connected, ...),
`next_hop` an IP address, `as_path` the BGP path as Batfish prints it ("3491 17557", "1239 {7018,7019}"),
`origin_as` the path's last AS. With `as_path` or `origin_as` the BGP RIB's best paths are read, else the
main RIB.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol

Row = dict[str, Any]


class AssertionFailed(AssertionError):
    def __init__(self, verdict: Verdict):
        super().__init__(verdict.text())
        self.verdict = verdict


@dataclass
class Verdict:
    kind: str
    params: dict[str, Any]
    passed: bool
    summary: str
    seen: list[str] = field(default_factory=list)  # what the assertion looked at, one line each
    name: str = ""

    def text(self) -> str:
        head = f"{'PASS' if self.passed else 'FAIL'} {self.name or self.kind}: {self.summary}"
        return "\n".join([head] + [f"    {s}" for s in self.seen])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "assert": self.kind, "params": self.params, "passed": self.passed,
                "summary": self.summary, "seen": self.seen}


class Asker(Protocol):
    def ask(self, question: str, **params: Any) -> list[Row]:
        """The rows of Batfish question `question` (instance name) asked with `params`."""


class StateAsker:
    """Questions answered by realfish's answerers over a converged `SnapshotState`, in this process."""

    def __init__(self, state: Any):
        self.state = state

    def ask(self, question: str, **params: Any) -> list[Row]:
        from realfish import answers

        text = resources.files("realfish.questions").joinpath("templates", f"{question}.json").read_text()
        q = json.loads(text)
        variables = q["instance"].setdefault("variables", {})
        for k, v in params.items():
            variables.setdefault(k, {})["value"] = v
        return list(answers.answer(q, self.state)["answerElements"][0]["rows"])


class SessionAsker:
    """Questions asked through a pybatfish Session (realfish's or Batfish's)."""

    def __init__(self, session: Any, snapshot: str | None = None):
        self.session, self.snapshot = session, snapshot

    def ask(self, question: str, **params: Any) -> list[Row]:
        from pybatfish.datamodel.flow import HeaderConstraints, PathConstraints

        if isinstance(params.get("headers"), dict):
            params["headers"] = HeaderConstraints(**params["headers"])
        if isinstance(params.get("pathConstraints"), dict):
            params["pathConstraints"] = PathConstraints(**params["pathConstraints"])
        ans = getattr(self.session.q, question)(**params).answer(snapshot=self.snapshot)
        return list(ans["answerElements"][0]["rows"])


def asker(target: Any, snapshot: str | None = None) -> Asker:
    """A SnapshotState, a pybatfish Session, or an Asker already."""
    if hasattr(target, "ask"):
        return target  # type: ignore[no-any-return]
    if hasattr(target, "conv") and hasattr(target, "dataplane"):
        return StateAsker(target)
    return SessionAsker(target, snapshot)


# -- what was seen, one line each ---------------------------------------------------------------------------


def _name(v: Any) -> str:
    """A Node ({"name"}) or Interface ({"hostname", "interface"}) cell as text."""
    if isinstance(v, dict) and "hostname" in v:
        return f"{v['hostname']}[{v.get('interface')}]"
    return str(v.get("name")) if isinstance(v, dict) else str(v)


def trace_line(trace: Row) -> str:
    return f"{trace.get('disposition')}: " + " -> ".join(_name(h.get("node")) for h in trace.get("hops") or [])


def flow_text(flow: Row) -> str:
    proto = flow.get("ipProtocol", "")
    port = f":{flow['dstPort']}" if flow.get("dstPort") not in (None, 0) else ""
    return f"flow {flow.get('srcIp')} -> {flow.get('dstIp')}{port} {proto} from {flow.get('ingressNode')}" + (
        f"[{flow['ingressInterface']}]" if flow.get("ingressInterface") else "")


def _flow_rows(rows: list[Row]) -> list[str]:
    out = []
    for r in rows:
        out.append(flow_text(r.get("Flow") or {}))
        out += [f"  {trace_line(t)}" for t in r.get("Traces") or []]
    return out


def next_hop_text(r: Row) -> str:
    nh = r.get("Next_Hop")
    if isinstance(nh, dict):
        return " ".join(f"{k} {v}" for k, v in nh.items() if k != "type" and v is not None) or str(nh.get("type"))
    return str(r.get("Next_Hop_IP") or nh)


def route_line(r: Row) -> str:
    path = f" as-path [{r['AS_Path']}]" if r.get("AS_Path") is not None else ""
    return f"{_name(r.get('Node'))}: {r.get('Network')} {r.get('Protocol')} via {next_hop_text(r)}{path}"


def session_line(r: Row, status: str) -> str:
    remote = _name(r["Remote_Node"]) if r.get("Remote_Node") else "outside the snapshot"
    ip = r.get("Remote_IP")
    ip = ip.get("value") if isinstance(ip, dict) else ip or r.get("Remote_Interface")
    return f"{_name(r.get('Node'))} -> {ip} (AS {r.get('Remote_AS')}, {remote}): {r.get(status)}"


# -- the assertions -----------------------------------------------------------------------------------------


def _verdict(kind: str, params: dict[str, Any], bad: bool, fail: str, ok: str, seen: list[str]) -> Verdict:
    return Verdict(kind, params, not bad, fail if bad else ok, seen)


def _flows(a: Asker, kind: str, params: dict[str, Any], expect_success: bool) -> Verdict:
    start, headers = params["startLocation"], dict(params.get("headers") or {})
    wrong = "failure" if expect_success else "success"
    rows = a.ask("reachability", pathConstraints={"startLocation": start}, headers=headers, actions=wrong)
    seen = _flow_rows(rows)
    if not rows:
        try:
            seen = _flow_rows(a.ask("traceroute", startLocation=start, headers=headers))
        except Exception:  # noqa: BLE001 - a flow set traceroute cannot make concrete: only the search is shown
            seen = []
    want = "succeed" if expect_success else "fail"
    other = "fail" if expect_success else "succeed"
    return _verdict(kind, params, bool(rows), f"found {len(rows)} flow(s) that {other}, when all were expected to "
                    f"{want}", f"every flow from {start} {headers} is expected to {want}: none found that does not",
                    seen)


def assert_flows_succeed_(a: Asker, params: dict[str, Any]) -> Verdict:
    return _flows(a, "assert_flows_succeed", params, True)


def assert_flows_fail_(a: Asker, params: dict[str, Any]) -> Verdict:
    return _flows(a, "assert_flows_fail", params, False)


def _node_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    if params.get("nodes") is not None:
        out["nodes"] = params["nodes"]
    if params.get("remote_nodes") is not None:
        out["remoteNodes"] = params["remote_nodes"]
    return out


def unestablished_bgp_(a: Asker, params: dict[str, Any]) -> Verdict:
    rows = a.ask("bgpSessionStatus", **_node_params(params))
    bad = [r for r in rows if r.get("Established_Status") == "NOT_ESTABLISHED"]
    return _verdict("assert_no_unestablished_bgp_sessions", params, bool(bad),
                    f"{len(bad)} of {len(rows)} BGP session(s) not established", f"{len(rows)} BGP session(s), none "
                    "NOT_ESTABLISHED", [session_line(r, "Established_Status") for r in rows])


def incompatible_bgp_(a: Asker, params: dict[str, Any]) -> Verdict:
    kw = _node_params(params)
    if params.get("status") is not None:
        kw["status"] = params["status"]
    rows = a.ask("bgpSessionCompatibility", **kw)
    ok = ("UNIQUE_MATCH", "DYNAMIC_MATCH", "UNKNOWN_REMOTE")
    bad = rows if params.get("status") is not None else [r for r in rows if r.get("Configured_Status") not in ok]
    return _verdict("assert_no_incompatible_bgp_sessions", params, bool(bad),
                    f"{len(bad)} of {len(rows)} BGP session(s) incompatible", f"{len(rows)} BGP session(s), all "
                    "compatible", [session_line(r, "Configured_Status") for r in rows])


def incompatible_ospf_(a: Asker, params: dict[str, Any]) -> Verdict:
    rows = a.ask("ospfSessionCompatibility", **_node_params(params))
    bad = [r for r in rows if not str(r.get("Session_Status", "")).startswith("ESTABLISHED")]
    seen = [f"{_name(r.get('Interface'))} -> {_name(r.get('Remote_Interface'))}: {r.get('Session_Status')}"
            for r in rows]
    return _verdict("assert_no_incompatible_ospf_sessions", params, bool(bad),
                    f"{len(bad)} of {len(rows)} OSPF session(s) not established", f"{len(rows)} OSPF session(s), "
                    "all established", seen)


def forwarding_loops_(a: Asker, params: dict[str, Any]) -> Verdict:
    rows = a.ask("detectLoops")
    return _verdict("assert_no_forwarding_loops", params, bool(rows), f"{len(rows)} flow(s) loop",
                    "no forwarding loop", _flow_rows(rows))


def _matches(r: Row, params: dict[str, Any]) -> bool:
    if params.get("protocol") is not None and str(r.get("Protocol")).lower() != str(params["protocol"]).lower():
        return False
    if params.get("next_hop") is not None:
        nh = r.get("Next_Hop")
        ip = nh.get("ip") if isinstance(nh, dict) else r.get("Next_Hop_IP")
        if str(ip) != str(params["next_hop"]):
            return False
    path = str(r.get("AS_Path") or "")
    if params.get("as_path") is not None and " ".join(path.split()) != " ".join(str(params["as_path"]).split()):
        return False
    if params.get("origin_as") is not None:
        last = path.replace("{", " ").replace("}", " ").replace(",", " ").split()[-1:]
        if last != [str(params["origin_as"])]:
            return False
    return True


def _routes(a: Asker, params: dict[str, Any]) -> tuple[list[str], dict[str, list[Row]]]:
    nodes = sorted({_name(r.get("Node")) for r in a.ask("nodeProperties", nodes=params["nodes"])})
    if not nodes:
        raise ValueError(f"nodes {params['nodes']!r} names no node of the snapshot")
    bgp = params.get("as_path") is not None or params.get("origin_as") is not None
    kw: dict[str, Any] = {"nodes": params["nodes"], "network": str(params["prefix"])}
    if bgp:
        kw["rib"] = "bgp"
    rows = [r for r in a.ask("routes", **kw) if str(r.get("Network")) == str(params["prefix"])
            and (not bgp or "BEST" in (r.get("Status") or ["BEST"]))]
    if not bgp and any(str(r.get("Protocol")) in ("bgp", "ibgp") for r in rows):
        # what was seen includes the AS paths of BGP routes: the best paths' of the BGP RIB, by next hop
        paths = {(_name(b.get("Node")), next_hop_text(b)): b.get("AS_Path")
                 for b in a.ask("routes", rib="bgp", **kw) if "BEST" in (b.get("Status") or ["BEST"])}
        rows = [{**r, "AS_Path": paths.get((_name(r.get("Node")), next_hop_text(r)))}
                if str(r.get("Protocol")) in ("bgp", "ibgp") else r for r in rows]
    by_node: dict[str, list[Row]] = {n: [] for n in nodes}
    for r in rows:
        by_node.setdefault(_name(r.get("Node")), []).append(r)
    return nodes, by_node


def _wanted(params: dict[str, Any]) -> str:
    extra = [f"{k} {params[k]}" for k in ("protocol", "next_hop", "as_path", "origin_as") if params.get(k) is not None]
    return str(params["prefix"]) + (f" ({', '.join(extra)})" if extra else "")


def route_present_(a: Asker, params: dict[str, Any]) -> Verdict:
    nodes, by_node = _routes(a, params)
    missing = [n for n in nodes if not any(_matches(r, params) for r in by_node[n])]
    seen = [route_line(r) for n in nodes for r in by_node[n]] + [f"{n}: no route for {params['prefix']}"
                                                                 for n in nodes if not by_node[n]]
    return _verdict("assert_route_present", params, bool(missing),
                    f"{_wanted(params)} missing on {', '.join(missing)}", f"{_wanted(params)} on {', '.join(nodes)}",
                    seen)


def route_absent_(a: Asker, params: dict[str, Any]) -> Verdict:
    nodes, by_node = _routes(a, params)
    found = [n for n in nodes if any(_matches(r, params) for r in by_node[n])]
    seen = [route_line(r) for n in nodes for r in by_node[n]] + [f"{n}: no route for {params['prefix']}"
                                                                 for n in nodes if not by_node[n]]
    return _verdict("assert_route_absent", params, bool(found),
                    f"{_wanted(params)} present on {', '.join(found)}",
                    f"no {_wanted(params)} on {', '.join(nodes)}", seen)


_ROUTE = {"nodes": True, "prefix": True, "protocol": False, "next_hop": False, "as_path": False, "origin_as": False}
_SESSIONS = {"nodes": False, "remote_nodes": False}

# kind -> (evaluator, {parameter: required})
KINDS: dict[str, tuple[Callable[[Asker, dict[str, Any]], Verdict], dict[str, bool]]] = {
    "assert_flows_succeed": (assert_flows_succeed_, {"startLocation": True, "headers": False}),
    "assert_flows_fail": (assert_flows_fail_, {"startLocation": True, "headers": False}),
    "assert_no_unestablished_bgp_sessions": (unestablished_bgp_, _SESSIONS),
    "assert_no_incompatible_bgp_sessions": (incompatible_bgp_, {**_SESSIONS, "status": False}),
    "assert_no_incompatible_ospf_sessions": (incompatible_ospf_, _SESSIONS),
    "assert_no_forwarding_loops": (forwarding_loops_, {}),
    "assert_route_present": (route_present_, _ROUTE),
    "assert_route_absent": (route_absent_, _ROUTE),
}


def check_params(kind: str, params: dict[str, Any]) -> str | None:
    """Why `params` do not fit assertion `kind`, or None."""
    if kind not in KINDS:
        return f"unknown assertion {kind!r}; known: {', '.join(KINDS)}"
    spec = KINDS[kind][1]
    unknown = [k for k in params if k not in spec]
    if unknown:
        return f"{kind} has no parameter {', '.join(map(repr, unknown))} (it takes: {', '.join(spec) or 'none'})"
    missing = [k for k, req in spec.items() if req and params.get(k) is None]
    if missing:
        return f"{kind} needs {', '.join(missing)}"
    if "headers" in params and params["headers"] is not None and not isinstance(params["headers"], dict):
        return "headers is a mapping of pybatfish HeaderConstraints fields (dstIps, applications, ...)"
    return None


def evaluate(target: Any, kind: str, params: dict[str, Any], name: str = "", snapshot: str | None = None) -> Verdict:
    """Judge one assertion (no exception for a failed one: see `Verdict.passed`). ValueError: bad parameters."""
    why = check_params(kind, params)
    if why:
        raise ValueError(why)
    verdict = KINDS[kind][0](asker(target, snapshot), dict(params))
    verdict.name = name
    return verdict


def _public(kind: str) -> Callable[..., Verdict]:
    def run(target: Any, snapshot: str | None = None, **params: Any) -> Verdict:
        verdict = evaluate(target, kind, params, snapshot=snapshot)
        if not verdict.passed:
            raise AssertionFailed(verdict)
        return verdict

    run.__name__ = run.__qualname__ = kind
    run.__doc__ = f"{kind}(session_or_state, snapshot=None, **params): raises AssertionFailed, else the Verdict."
    return run


assert_flows_succeed = _public("assert_flows_succeed")
assert_flows_fail = _public("assert_flows_fail")
assert_no_unestablished_bgp_sessions = _public("assert_no_unestablished_bgp_sessions")
assert_no_incompatible_bgp_sessions = _public("assert_no_incompatible_bgp_sessions")
assert_no_incompatible_ospf_sessions = _public("assert_no_incompatible_ospf_sessions")
assert_no_forwarding_loops = _public("assert_no_forwarding_loops")
assert_route_present = _public("assert_route_present")
assert_route_absent = _public("assert_route_absent")
