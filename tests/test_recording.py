"""Record and replay: a router replayed alone from a recorded run reaches the FIB it had in the run."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from realfish import topogen
from realfish.runtime import Emulation
from realfish.runtime.recording import HEAD, Event, Recording, RecordingError, compare, read_events
from realfish.runtime.replayer import _stream
from realfish.topology import Network


def record(kind: str, conn: int, data: bytes, vtime: int = 1000) -> bytes:
    return HEAD.pack(vtime, ord(kind), len(data), conn) + data


def test_records_read_back_and_a_truncated_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r1.bgpd.rec"
    body = record("a", 7, b"7 10.0.0.0 179 10.0.0.1 32768") + record("d", 7, b"\xff" * 19, 2000)
    path.write_bytes(body)
    events = read_events(path)
    assert [(e.kind, e.conn, e.vtime) for e in events] == [("a", 7, 1000), ("d", 7, 2000)]
    assert read_events(path, len(record("a", 7, b"7 10.0.0.0 179 10.0.0.1 32768"))) == events[:1]
    path.write_bytes(body[:-3])
    with pytest.raises(RecordingError, match=r"r1\.bgpd\.rec: bad record at byte 53"):
        read_events(path)
    path.write_bytes(body + struct.pack("<q", 5))
    with pytest.raises(RecordingError, match="truncated record header"):
        read_events(path)


def test_where_a_peer_closed_comes_from_the_routers_reads_and_writes() -> None:
    ev = [Event(1, "c", 0, b"CONNECT 4 * 0 10.0.0.1 179 1 -\nPENDING 5"),
          Event(2, "r", 5, b"OK 10.0.0.0 32768"),
          Event(2, "w", 5, b"99"),  # the router's OPEN went through
          Event(2, "e", 5, b"104"),  # then the peer reset the connection (closed with the OPEN unread)
          Event(3, "c", 0, b"CONNECT 4 * 0 10.0.0.3 179 1 -\nOK 6 10.0.0.2 32769"),
          Event(3, "d", 6, b"x" * 19),
          Event(3, "w", 6, b"-32"),  # a write failed: the peer had closed after its 19 bytes
          Event(3, "e", 6, b"0"),
          Event(4, "w", 6, b"-32")]
    s = _stream(ev)
    assert [e.kind for e in s.events] == ["r", "e", "d", "e"]  # what the replay delivers or waits for
    assert s.calls == [1, 1, 2, 2]  # each waits for the router's connect() calls made before it
    assert s.need == [0, 99, 0, 0]  # and for the bytes it had written on that connection
    assert set(s.connects) == {("10.0.0.1", 179), ("10.0.0.3", 179)}
    close5, close6 = s.closes[5], s.closes[6]
    assert (close5.vtime, close5.written, close5.reset) == (2, 99, True)
    assert (close6.vtime, close6.written, close6.after, close6.reset) == (3, 0, 2, False)


def test_a_packet_waits_for_the_copies_the_router_had_sent_and_says_if_it_came_before_them() -> None:
    ev = [Event(1, "s", 89, b"2"),  # a hello out of a two-neighbour link
          Event(2, "p", 89, b"hello"),  # read at 2 before anything was sent at 2: came while its timers worked
          Event(2, "s", 89, b"1"),
          Event(2, "p", 89, b"dd"),  # read after its DD went out at 2
          Event(3, "p", 89, b"lsu")]
    s = _stream(ev)
    assert [e.kind for e in s.events] == ["p", "p", "p"]
    assert s.need == [2, 3, 3]
    assert s.early == [True, False, True]


def test_compare_names_each_difference() -> None:
    hop = {"ip": "10.0.0.1", "interface": "eth0"}
    a: list[dict[str, Any]] = [{"prefix": "10.1.0.0/24", "nexthops": [hop]},
                               {"prefix": "10.2.0.0/24", "nexthops": [hop]}]
    b: list[dict[str, Any]] = [{"prefix": "10.1.0.0/24", "nexthops": [{"ip": "10.0.0.3", "interface": "eth1"}]},
         {"prefix": "10.3.0.0/24", "nexthops": []}]
    assert compare(a, a) == []
    out = compare(a, b)
    assert out[0] == "10.2.0.0/24: recorded only"
    assert out[1] == "10.3.0.0/24: replayed only"
    assert out[2].startswith("10.1.0.0/24: next hops")


def test_recording_needs_the_virtual_clock_and_a_replay_a_recording(tmp_path: Path) -> None:
    net = topogen.chain(2, tmp_path / "snap")
    with pytest.raises(ValueError, match="virtual clock"):
        Emulation(net, record=tmp_path / "rec", virtual_time=False)
    with pytest.raises(RecordingError, match="no meta.json"):
        Recording(tmp_path)


@pytest.mark.slow
@pytest.mark.frr
def test_every_router_of_a_fattree_replays_alone_to_its_recorded_fib(tmp_path: Path) -> None:
    net = topogen.fattree(4, tmp_path / "ft4")
    rec_dir = tmp_path / "rec"
    with Emulation(net, record=rec_dir) as emu:
        emu.converge(timeout=300)
        recorded = {name: sorted(emu.fib(name), key=str) for name in net.routers}
    meta = json.loads((rec_dir / "meta.json").read_text())
    assert set(meta["boot"]) == set(net.routers) and meta["end_ns"] > meta["start_ns"]
    # Only bgpd talks to other routers over TCP; the files stop where the run ended (not at the shutdown).
    assert {p.name.split(".")[1] for p in rec_dir.glob("*.rec")} == {"bgpd"}
    assert all(meta["lengths"][p.name] <= p.stat().st_size for p in rec_dir.glob("*.rec"))
    recording = Recording(rec_dir)
    diverged = {}
    for name in sorted(net.routers):
        with Emulation(net.part([name]), replay=recording) as emu:
            report = emu.converge(timeout=120)
            replay = report.extra["replay"]
            assert sorted(emu.fib(name), key=str) == recorded[name], name
            assert replay["fib_differences"] == {}, name
            # Every recorded input delivered, every connect the router made in the run made again, its sessions
            # up at the end as they were in the run.
            assert replay["undelivered"] == 0 and replay["connects_unasked"] == 0, (name, replay)
            assert report.extra["sessions_down"] == [], name
            assert not report.problems, report.problems
            if replay["divergences"] or replay["late"]:
                diverged[name] = (replay["late"], replay["late_max_s"], replay["divergences"])
    # Not asserted: inputs delivered late, or a connect the recorded run did not make. Which of bgpd's threads
    # gets somewhere first at one virtual instant (the I/O thread's write or the main thread's close after a
    # peer's reset, say) is not in the recording; a router can take another path there, on which it reaches the
    # same FIB (before the poll records, 4 of 60 replays had inputs late; with them, 60 of 60 and 80 of 80 at
    # k=8 were clean).
    print(f"replays with late inputs or divergences: {diverged}")


@pytest.mark.frr
def test_a_changed_config_replayed_against_the_recorded_peers_shows_what_changed(tmp_path: Path) -> None:
    """The recorded peers do not react, but the router does: a neighbor shut on agg-0-0 loses the ToR's
    prefix (its other paths run through its own pod's AS, which it refuses as a loop)."""
    net = topogen.fattree(4, tmp_path / "ft4")
    rec_dir = tmp_path / "rec"
    with Emulation(net, record=rec_dir) as emu:
        emu.converge(timeout=300)
    part = net.part(["agg-0-0"])
    router = part.routers["agg-0-0"]
    line = next(line for line in router.config.splitlines() if " remote-as 42" in line)  # a ToR
    router.config = router.config.replace(line, f"{line}\n neighbor {line.split()[1]} shutdown")
    with Emulation(part, replay=Recording(rec_dir)) as emu:
        report = emu.converge(timeout=120)
    assert not report.problems, report.problems
    diff = report.extra["replay"]["fib_differences"]["agg-0-0"]
    assert any(d.endswith("recorded only") for d in diff), diff
    assert report.extra["replay"]["divergences"], "its connects and the recorded ones no longer match"


def ospf_chain(n: int, outdir: Path) -> Network:
    """n routers in a line running OSPF alone (the iBGP grid without its BGP)."""
    net = topogen.ospf_ibgp_grid(1, n, outdir)
    for router in net.routers.values():
        router.config = router.config[:router.config.index("router bgp")]
    return net


def replay_each_alone(net: Network, recording: Recording) -> None:
    """Every router replayed alone from the recording reaches its recorded FIB, every recorded packet delivered and
    packets sent to its absent neighbours as in the run."""
    for name in sorted(net.routers):
        with Emulation(net.part([name]), replay=recording) as emu:
            report = emu.converge(timeout=120)
        replay = report.extra["replay"]
        assert replay["fib_differences"] == {} and not report.problems, (name, replay, report.problems)
        assert replay["undelivered"] == 0 and replay["packets_out"] > 0, (name, replay)
        print(name, {k: replay[k] for k in ("delivered", "late", "late_max_s", "packets_out")})


@pytest.mark.frr
def test_routers_running_ospf_replay_alone_to_their_recorded_fibs(tmp_path: Path) -> None:
    net = ospf_chain(3, tmp_path / "snap")
    rec_dir = tmp_path / "rec"
    with Emulation(net, record=rec_dir) as emu:
        emu.converge(timeout=120)
        learned = {name: [e for e in emu.fib(name) if e.protocol == "ospf"] for name in net.routers}
    assert all(learned.values()), learned
    assert {p.name.split(".")[1] for p in rec_dir.glob("*.rec")} == {"ospfd"}
    recording = Recording(rec_dir)
    for name in net.routers:
        events = recording.events(name, "ospfd")
        packets = [e for e in events if e.kind == "p"]
        # Hellos, DDs, LS updates from its neighbours, as read: the inbox header (not looped back) and the IP
        # packet of protocol 89; what it sent is counted, one copy per neighbour on the link.
        assert packets and all(struct.unpack_from("<IiII", e.data)[3] == 0 for e in packets), name
        assert {e.data[16 + 9] for e in packets} == {89} and any(e.kind == "s" for e in events)
    replay_each_alone(net, recording)
    # Not asserted: late inputs. Where a packet goes against the daemon's timers of its instant and its polls
    # follows the recorded polls, but holding a woken daemon has a wall-time limit (20 ms) that a loaded
    # machine could exceed. Seen: 15 of 15 replays of this chain clean (5 recordings), 51 of 51 for 2x3 and 3x3
    # grids; before the poll records, 2 of 45 here had packets late (same FIBs).
