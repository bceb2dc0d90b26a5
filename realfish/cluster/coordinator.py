"""One virtual clock over every part (conservative synchronisation), and the run from boot to report.

Every part's clock moves only up to the limit the coordinator sets. A round: every part is idle at the limit
(nothing of it runs, no message to its controller unread, no byte unread on its emulated connections or its
relay's ends), and every frame one part sent another has been handled there (the sums of frames sent and
received agree), seen twice with each part's scheduler having stepped in between. Then the next limit is the
earliest deadline over all parts (with the deadlines within the scheduler's 1 ms quantum of it, which fire
together as on one machine), or the next boot batch's instant, or the end of the quiet period, whichever is
first; every part's clock goes there. Routers boot in the whole network's batches, 1.5 virtual seconds apart,
as in a one-part run; the run has converged once `quiet` virtual seconds pass with no event in any part.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from realfish.cluster.part import QUANTUM_NS
from realfish.runtime.emulation import BOOT_BATCH, boot_gaps, quiet_period
from realfish.runtime.vclock import FIXED_START_NS
from realfish.topology import Network

# How long a part waits to be idle before it answers a status poll (Part.status): fewer polls, each a call to
# every part (on Ray, a round trip to each actor)
STATUS_WAIT_S = 0.02


class PartFailed(RuntimeError):
    """A part died or failed: the run cannot go on."""

    def __init__(self, index: int, routers: list[str], where: str, cause: str) -> None:
        self.index = index
        shown = ", ".join(routers[:6]) + (f" and {len(routers) - 6} more" if len(routers) > 6 else "")
        super().__init__(f"part {index} ({len(routers)} routers: {shown}; {where}) failed: {cause}; "
                         f"its routers' state is lost and the run ends")


class Parts(Protocol):
    """The parts, wherever they run: `call` runs one method on every part at once, one argument tuple each,
    and returns the results in order, or raises PartFailed for the first part that failed."""

    routers: list[list[str]]  # each part's routers

    def call(self, method: str, args: Sequence[tuple[Any, ...]] | None = None,
             timeout: float | None = None) -> list[Any]: ...


class LocalParts:
    """Parts in this process (tests, and the pieces of a cluster run without Ray)."""

    def __init__(self, parts: list[Any], routers: list[list[str]]) -> None:
        self.parts = parts
        self.routers = routers
        self.pool = ThreadPoolExecutor(max_workers=max(1, len(parts)))

    def call(self, method: str, args: Sequence[tuple[Any, ...]] | None = None,
             timeout: float | None = None) -> list[Any]:
        args = args or [()] * len(self.parts)
        futures = [self.pool.submit(getattr(p, method), *a) for p, a in zip(self.parts, args, strict=True)]
        out = []
        for i, f in enumerate(futures):
            try:
                out.append(f.result(timeout=timeout))
            except Exception as e:
                raise PartFailed(i, self.routers[i], "in this process", repr(e)) from e
        return out

    def close(self) -> None:
        self.pool.shutdown()


class Coordinator:
    def __init__(self, network: Network, parts: Parts, quiet: float | None = None,
                 on_round: Callable[[int, int], None] | None = None) -> None:
        self.network = network
        self.parts = parts
        self.quiet_ns = int((quiet if quiet is not None else quiet_period(network)) * 1e9)
        self.rounds = 0  # clock rounds: how often every part's limit was raised
        self.polls = 0
        self.boots = 0
        self.v_boot = FIXED_START_NS
        self.v_ready = FIXED_START_NS
        self.now = FIXED_START_NS
        self.converged = False
        self.t_ready = 0.0
        self.on_round = on_round

    def settled(self, deadline: float) -> list[dict[str, Any]]:
        """Every part's status, once all are idle at their limit with nothing in flight between them."""
        prev: list[dict[str, Any]] | None = None
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError("the parts did not settle in time")
            st = self.parts.call("status", [(STATUS_WAIT_S,)] * len(self.parts.routers))
            self.polls += 1
            ok = all(s["idle"] for s in st) and \
                sum(s["frames_sent"] for s in st) == sum(s["frames_received"] for s in st)
            if ok and prev is not None and all(
                    s["steps"] > p["steps"] and (s["frames_sent"], s["frames_received"]) ==
                    (p["frames_sent"], p["frames_received"]) for s, p in zip(st, prev, strict=True)):
                return st
            prev = st if ok else None
            if not ok:
                time.sleep(0.0002)

    def run(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        batches = self.network.boot_batches(BOOT_BATCH)
        gaps = boot_gaps(len(batches), 0)
        boots: list[tuple[int, list[str]]] = []
        at = self.v_boot
        for batch, gap in zip(batches, gaps, strict=True):
            at += round(gap * 1e9)
            boots.append((at, batch))
        while True:
            st = self.settled(deadline)
            self.now = now = max(s["now"] for s in st)
            if boots and now >= boots[0][0]:
                _, batch = boots.pop(0)
                self.parts.call("boot", [(batch,)] * len(st))
                self.boots += 1
                if not boots:
                    self.v_ready = now
                    self.t_ready = time.monotonic()
                continue
            if boots:
                cap = boots[0][0]
            else:
                end = max(max(s["last_event"] for s in st), self.v_ready) + self.quiet_ns
                if now >= end:
                    self.converged = True
                    return
                cap = end
            ds = sorted(d for s in st for d in s["deadlines"] if d > now)
            limit = cap
            if ds and ds[0] < cap:
                limit = max(d for d in ds if d <= ds[0] + QUANTUM_NS and d <= cap)
            self.parts.call("advance", [(limit,)] * len(st))
            self.rounds += 1
            if self.on_round:
                self.on_round(self.rounds, limit)

    def report(self, docs: list[dict[str, Any]], routers: list[list[str]], where: list[dict[str, Any]],
               cut: dict[str, int], t_start: float, t_end: float) -> dict[str, Any]:
        """One report as a one-part run gives it, from the parts' own, plus `parts`."""
        out: dict[str, Any] = {"runtime": "real", "converged": self.converged and all(d["converged"] for d in docs),
                               "routers": {}, "problems": []}
        for d in docs:
            out["routers"].update(d["routers"])
            out["problems"] += d["problems"]
        out["routers"] = dict(sorted(out["routers"].items()))
        setup = (self.t_ready or t_end) - t_start
        out["timing"] = {"setup_s": round(setup, 4), "converge_s": round(t_end - t_start - setup, 4),
                         "total_s": round(t_end - t_start, 4)}
        out["memory"] = {k: sum(d["memory"][k] for d in docs) for k in docs[0]["memory"]}
        out["cpu"] = {k: round(sum(d["cpu"][k] for d in docs), 4) for k in docs[0]["cpu"]}
        last_route = max(max(d.get("last_route_change", 0) for d in docs), self.v_ready)
        out["virtual"] = {"converge_s": round((last_route - self.v_ready) / 1e9, 6),
                          "end_s": round((self.now - self.v_ready) / 1e9, 3),
                          "boot_s": round((self.v_ready - self.v_boot) / 1e9, 3),
                          "quiet_s": self.quiet_ns / 1e9,
                          "clock_advances": sum(d["clock"]["advances"] for d in docs),
                          "wakeups": sum(d["clock"]["wakeups"] for d in docs), "ordered": False}
        out["sessions_down"] = sorted(x for d in docs for x in d.get("sessions_down", []))
        for key in ("failures", "rejected"):
            merged: Any = None
            for d in docs:
                if key in d:
                    merged = (merged or ([] if isinstance(d[key], list) else {}))
                    merged = merged + d[key] if isinstance(merged, list) else {**merged, **d[key]}
            if merged:
                out[key] = merged
        out["parts"] = {
            "count": len(docs), "links_cut": cut, "clock_rounds": self.rounds, "status_polls": self.polls,
            "boot_batches": self.boots,
            "list": [{"routers": len(r), "names": r, **w, "relay": d["relay"]}
                     for r, w, d in zip(routers, where, docs, strict=True)],
            "bytes_between_parts": sum(d["relay"]["bytes_out"] for d in docs),
            "packets_between_parts": sum(d["relay"]["packets_out"] for d in docs),
            "frames_between_parts": sum(d["relay"]["frames_sent"] for d in docs),
        }
        return out
