"""OSPF facts both runtimes need: which config lines ask for OSPFv3 (not emulated yet), and whether a router's
OSPF is still on its way to a stable state (read from ospfd's vty, as FRR's own topotests do).

Still moving, by RFC 2328 rules: an interface in Waiting (it leaves that state within the dead interval), and a
neighbour in a transient state (Init, ExStart, Exchange, Loading; 2-Way unless both ends are DROthers) or with
LSAs still to request or retransmit. OSPF does all this with timers and no route change, so a runtime that waits
for quiet must ask. A neighbour can also stay transient for good (ExStart forever on an MTU mismatch): callers
stop counting one after it has been seen in the same state for a while.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from realfish import frr

# ospf6d's commands: `router ospf6`, and interface lines `ipv6 ospf6 ...` (FRR 8.4 still accepts `ipv6 ospf`).
_OSPF6 = re.compile(r"^\s*(router ospf6\b|ipv6 ospf6?\s)", re.M)


def ospf6_lines(config: str) -> list[tuple[int, str]]:
    """(line number, text) of every line that needs ospf6d."""
    return [(n, line.strip()) for n, line in enumerate(config.splitlines(), start=1) if _OSPF6.match(line)]


def unsettled(rdir: Path, timeout: float = 10.0) -> list[str]:
    """What in this router's OSPF is still moving, as "<interface or neighbour> <state>" (empty: settled)."""
    with frr.Vty(rdir / "ospfd.vty", timeout=timeout) as vty:
        ifaces = _json(vty.command("show ip ospf interface json")).get("interfaces", {})
        nbrs = _json(vty.command("show ip ospf neighbor json")).get("neighbors", {})
    out = [f"interface {name} Waiting" for name, i in ifaces.items()
           if isinstance(i, dict) and i.get("state") == "Waiting"]
    for rid, entries in nbrs.items():
        for n in entries if isinstance(entries, list) else [entries]:
            state = str(n.get("converged") or str(n.get("state", "?")).split("/")[0])
            ifname = str(n.get("ifaceName", "?")).split(":")[0]
            final = state == "Full" or (state == "2-Way" and n.get("role") == "DROther"
                                        and ifaces.get(ifname, {}).get("state") == "DROther")
            if not final:
                out.append(f"neighbour {rid} on {ifname} {state}")
            elif n.get("linkStateRequestListCounter") or n.get("linkStateRetransmissionListCounter"):
                out.append(f"neighbour {rid} on {ifname} {state} (LSAs to request or retransmit)")
    return out


def _json(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}
