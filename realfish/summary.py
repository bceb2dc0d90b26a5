"""Print a converge report (`realfish converge --json`) for a person: per router, what it learned and its
BGP sessions; then one router's FIB in full, and what the run cost."""

from __future__ import annotations

import json
import sys
from typing import Any

SUMMARY = "show bgp summary json"


def sessions(router: dict[str, Any]) -> tuple[int, int]:
    summary = router.get("show", {}).get(SUMMARY) or {}
    peers = [p for fam in summary.values() if isinstance(fam, dict) for p in (fam.get("peers") or {}).values()]
    return sum(p.get("state") == "Established" for p in peers), len(peers)


def render(doc: dict[str, Any], out: Any = sys.stdout) -> None:
    routers = doc["routers"]
    width = max((len(n) for n in routers), default=6)
    print(f"{'router':<{width}}  {'FIB':>4}  {'bgp':>4}  {'connected':>9}  BGP sessions up", file=out)
    for name, r in routers.items():
        protos = [e["protocol"] for e in r["fib"]]
        up, total = sessions(r)
        sess = f"{up}/{total}" if total else "-"
        print(f"{name:<{width}}  {len(protos):>4}  {protos.count('bgp'):>4}  {protos.count('connected'):>9}  {sess}",
              file=out)
    if routers:
        name = next(iter(routers))
        print(f"\nFIB of {name} (what zebra installed, as the emulated kernel recorded it):", file=out)
        for e in routers[name]["fib"]:
            hops = ", ".join(f"via {h['ip']} {h['interface']}" if h["ip"] else f"dev {h['interface']}"
                             for h in e["nexthops"])
            print(f"  {e['prefix']:<20} {e['protocol']:<10} [{e['distance']}/{e['metric']}] {hops}", file=out)
    t, m, c = doc["timing"], doc["memory"], doc["cpu"]
    print(f"\nruntime {doc['runtime']}: setup {t['setup_s']:.2f} s, convergence {t['converge_s']:.2f} s, "
          f"total {t['total_s']:.2f} s; peak PSS {m['peak_pss_bytes'] / 2**20:.0f} MiB; "
          f"daemon CPU {c['daemon_s']:.2f} s", file=out)
    for p in doc.get("problems", []):
        print(f"problem: {p}", file=out)


def main() -> int:
    with open(sys.argv[1]) as f:
        render(json.load(f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
