"""The drop-in, shown: an ordinary pybatfish script, with `Session.get("realfish")` instead of a Batfish server.

    python -m realfish.demo [SNAPSHOT]        (default: snapshots/fattree-k4; `make demo` runs it)

It uploads the snapshot (realfish converges it under the emulation, in this process), then prints what a
pybatfish user gets: the routes (`bf.q.routes`) of one ToR, every BGP session (`bf.q.bgpSessionStatus`) and a
traceroute from the prefix the first ToR originates to the last ToR's (`bf.q.traceroute`).
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


def _address(routes: pd.DataFrame, node: str) -> str:
    """The first host address of the node's last connected subnet (not a /31 or /32 link address)."""
    connected = routes[(routes["Node"] == node) & (routes["Protocol"] == "connected")]
    nets = [ipaddress.ip_network(n) for n in connected["Network"]]
    subnets = [n for n in nets if n.prefixlen < 31] or nets
    return str(next(subnets[-1].hosts(), subnets[-1].network_address)) if subnets else ""


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

        # From an address of the first ToR to one of the last ToR, each in a subnet it is connected to (on a
        # ToR: the /24 it originates), so that the question names one flow.
        src_ip, dst_ip = _address(routes, src), _address(routes, dst)
        if not src_ip or not dst_ip:
            print(f"\n{src} or {dst} has no connected subnet to trace between")
            return 1
        headers = HeaderConstraints(srcIps=src_ip, dstIps=dst_ip)
        answer = bf.q.traceroute(startLocation=src, headers=headers).answer().frame()
        print(f"\n== bf.q.traceroute(startLocation={src!r}, headers=HeaderConstraints(srcIps={src_ip!r}, "
              f"dstIps={dst_ip!r}))")
        for _, row in answer.iterrows():
            print(f"flow {row['Flow']}: {row['TraceCount']} traces")
            for n, trace in enumerate(row["Traces"], 1):
                print(f"-- trace {n}: {trace}")
        return 0
    finally:
        bf.close()


if __name__ == "__main__":
    sys.exit(main())
