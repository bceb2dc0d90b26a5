"""The drop-in, shown: an ordinary pybatfish script, with `Session.get("realfish")` instead of a Batfish server.

    python -m realfish.demo [SNAPSHOT]        (default: snapshots/fattree-k4; `make demo` runs it)

It uploads the snapshot (realfish converges it under the emulation, in this process), then prints what a
pybatfish user gets: the routes (`bf.q.routes`) of one ToR, every BGP session (`bf.q.bgpSessionStatus`) and a
traceroute from the first ToR to the prefix the last ToR originates (`bf.q.traceroute`).
"""

from __future__ import annotations

import ipaddress
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from pybatfish.client.session import Session
from pybatfish.datamodel.flow import HeaderConstraints

DEFAULT_SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "fattree-k4"


def _show(title: str, frame: pd.DataFrame) -> None:
    print(f"\n== {title} ({len(frame)} rows)")
    print(frame.to_string(index=False) if len(frame) else "(no rows)")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    snapshot = Path(args[0]) if args else DEFAULT_SNAPSHOT
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", None)
    pd.set_option("display.max_colwidth", 80)

    # pybatfish's own Session, answered by realfish in this process (bf.q is built from the templates)
    bf: Any = Session.get("realfish")
    try:
        bf.set_network("demo")
        t0 = time.monotonic()
        bf.init_snapshot(str(snapshot), name=snapshot.name)
        print(f"realfish: {snapshot.name} initialized (parsed and converged) in {time.monotonic() - t0:.1f} s")

        routes = bf.q.routes().answer().frame()
        nodes = sorted(set(routes["Node"]))
        tors = [n for n in nodes if n.startswith(("tor", "leaf", "h"))] or nodes
        if not tors:
            print("realfish: the snapshot has no routes to show")
            return 1
        src, dst = tors[0], tors[-1]
        _show(f"bf.q.routes(), node {src}", routes[routes["Node"] == src])
        _show("bf.q.bgpSessionStatus()", bf.q.bgpSessionStatus().answer().frame())

        # The destination: an address in a subnet the last ToR is connected to (e.g. the /24 it originates).
        connected = routes[(routes["Node"] == dst) & (routes["Protocol"] == "connected")]
        nets = [ipaddress.ip_network(n) for n in connected["Network"]]
        subnets = [n for n in nets if n.prefixlen < 31] or nets
        if not subnets:
            print(f"\n{dst} has no connected subnet to trace to")
            return 1
        dst_ip = str(next(subnets[-1].hosts(), subnets[-1].network_address))
        trace = bf.q.traceroute(startLocation=src, headers=HeaderConstraints(dstIps=dst_ip)).answer().frame()
        _show(f"bf.q.traceroute(startLocation={src!r}, headers=HeaderConstraints(dstIps={dst_ip!r}))", trace)
        for _, row in trace.iterrows():
            for t in row["Traces"]:
                print(f"\n{t.disposition}:\n{t}")
        return 0
    finally:
        bf.close()


if __name__ == "__main__":
    sys.exit(main())
