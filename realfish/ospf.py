"""OSPF facts both runtimes need: whether a router's OSPF (ospfd's OSPFv2, ospf6d's OSPFv3) is still on its way to
a stable state (read from the daemon's vty, as FRR's own topotests do).

Still moving, by RFC 2328 rules: an interface in Waiting (it leaves that state within the dead interval), and a
neighbour in a transient state (Init, ExStart, Exchange, Loading; 2-Way unless both ends are DROthers) or with
LSAs still to request or retransmit. OSPF does all this with timers and no route change, so a runtime that waits
for quiet must ask. A neighbour can also stay transient for good (ExStart forever on an MTU mismatch): callers
stop counting one after it has been seen in the same state for a while.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from realfish import frr


@dataclass
class OspfState:
    waiting: list[str]  # interfaces still in Waiting
    neighbours: list[tuple[str, bool, float]]  # ("neighbour RID on IF STATE[ (LSAs ...)]", final, uptime s)


PENDING_LSAS = " (LSAs to request or retransmit)"  # a Full neighbour still exchanging: not final yet


OSPF_DAEMONS = ("ospfd", "ospf6d")


def state(rdir: Path, timeout: float = 10.0, daemon: str = "ospfd") -> OspfState:
    """This router's OSPF interfaces and neighbours, read from `daemon`'s vty (ospfd or ospf6d). A neighbour is
    final when Full, or 2-Way between two DROthers, and has no LSA left to request or retransmit."""
    if daemon == "ospf6d":
        return _state6(rdir, timeout)
    with frr.Vty(rdir / "ospfd.vty", timeout=timeout) as vty:
        ifaces = frr.json_object(vty.command("show ip ospf interface json")).get("interfaces", {})
        nbrs = frr.json_object(vty.command("show ip ospf neighbor json")).get("neighbors", {})
    waiting = [name for name, i in ifaces.items() if isinstance(i, dict) and i.get("state") == "Waiting"]
    out = []
    for rid, entries in nbrs.items():
        for n in entries if isinstance(entries, list) else [entries]:
            st = str(n.get("converged") or str(n.get("state", "?")).split("/")[0])
            ifname = str(n.get("ifaceName", "?")).split(":")[0]
            what = f"neighbour {rid} on {ifname} {st}"
            final = st == "Full" or (st == "2-Way" and n.get("role") == "DROther"
                                     and ifaces.get(ifname, {}).get("state") == "DROther")
            if final and (n.get("linkStateRequestListCounter") or n.get("linkStateRetransmissionListCounter")):
                final, what = False, what + PENDING_LSAS
            out.append((what, final, n.get("upTimeInMsec", 0) / 1000.0))
    return OspfState(waiting, out)


def _state6(rdir: Path, timeout: float) -> OspfState:
    """state() from ospf6d: its neighbour detail is keyed "RID%IFNAME" and has the LSA list counts; an interface's
    state is ospf6InterfaceState (ospf6_interface.c, ospf6_neighbor.c of FRR 8.4)."""
    with frr.Vty(rdir / "ospf6d.vty", timeout=timeout) as vty:
        ifaces = frr.json_object(vty.command("show ipv6 ospf6 interface json"))
        nbrs = frr.json_object(vty.command("show ipv6 ospf6 neighbor detail json"))
    states = {name: i.get("ospf6InterfaceState") for name, i in ifaces.items() if isinstance(i, dict)}
    out = []
    for key, n in nbrs.items():
        if not isinstance(n, dict):
            continue
        rid, ifname = key.split("%", 1)[0], str(n.get("interface", "?"))
        st = str(n.get("neighborState", "?"))
        what = f"neighbour {rid} on {ifname} {st}"
        final = st == "Full" or (st == "Twoway" and states.get(ifname) == "DROther")
        if final and (n.get("requestListCount") or n.get("reTransListCount")):
            final, what = False, what + PENDING_LSAS
        out.append((what, final, _hms(str(n.get("neighborStateDuration", "")))))
    return OspfState([name for name, st in states.items() if st == "Waiting"], out)


def _hms(text: str) -> float:
    """ospf6d's durations (its timerstring: "00:01:25", past a day "1d02:03:04") in seconds; 0 if unreadable."""
    m = re.fullmatch(r"(?:(\d+)d)?(\d+):(\d+):(\d+)", text.strip())
    if not m:
        return 0.0
    days, h, mins, sec = (int(g or 0) for g in m.groups())
    return float(((days * 24 + h) * 60 + mins) * 60 + sec)


def unsettled(rdir: Path, timeout: float = 10.0, daemon: str = "ospfd") -> list[str]:
    """What in this router's OSPF is still moving, as "<interface or neighbour> <state>" (empty: settled)."""
    st = state(rdir, timeout, daemon)
    return [f"interface {name} Waiting" for name in st.waiting] + [w for w, final, _ in st.neighbours if not final]
