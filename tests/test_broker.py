"""The broker's decisions, on hand-made FIBs: the errors and silences a kernel would give."""

from __future__ import annotations

import errno
import ipaddress
import time

import pytest

from realfish.runtime.broker import Attempt, Broker, Listener
from realfish.topology import Interface, Network, Router, Segment


@pytest.fixture
def chain() -> Broker:
    """a --(10.0.1.0/24)-- b --(10.0.2.0/24)-- c, loopbacks 1.1.1.x/32, listeners on b and c port 179."""
    net = Network()
    for name in "abc":
        net.add_router(Router(name, "", interfaces={"eth0": Interface("eth0"), "eth1": Interface("eth1")}))
    net.segments = [Segment("ab", [("a", "eth1"), ("b", "eth0")]), Segment("bc", [("b", "eth1"), ("c", "eth0")])]
    br = Broker(net)
    br.address("a", True, 3, "10.0.1.1/24")
    br.address("b", True, 2, "10.0.1.2/24")
    br.address("b", True, 3, "10.0.2.2/24")
    br.address("c", True, 2, "10.0.2.3/24")
    for i, name in enumerate("abc", start=1):
        br.address(name, True, 1, f"1.1.1.{i}/32")
    for router in "bc":
        lid = br.next_id()
        br.listeners[lid] = Listener(lid, router, 4, None, 179, False)
    return br


def attempt(br: Broker, router: str, dst: str, ttl: int = 64, src: str | None = None, md5: str | None = None,
            port: int = 179) -> Attempt:
    return Attempt(br.next_id(), router, 4, ipaddress.ip_address(src) if src else None, 0,
                   ipaddress.ip_address(dst), port, ttl, md5, time.monotonic_ns())


def route(br: Broker, router: str, prefix: str, gw: str, oif: int) -> None:
    br.fibs[router].route(f"RT add {prefix} table=254 proto=186 type=1 metric=20 nhid=0 nh={gw}@{oif}")


def test_direct_neighbour_single_hop(chain: Broker) -> None:
    v = chain.decide(attempt(chain, "a", "10.0.1.2", ttl=1))
    assert v.ok and str(v.src) == "10.0.1.1" and v.listener and v.listener.router == "b"


def test_no_route_is_enetunreach(chain: Broker) -> None:
    v = chain.decide(attempt(chain, "a", "1.1.1.3"))
    assert not v.ok and v.err == errno.ENETUNREACH


def test_nothing_listening_is_refused(chain: Broker) -> None:
    v = chain.decide(attempt(chain, "a", "10.0.1.2", port=80))
    assert not v.ok and v.err == errno.ECONNREFUSED


def test_multihop_needs_routes_both_ways_and_ttl(chain: Broker) -> None:
    route(chain, "a", "1.1.1.3/32", "10.0.1.2", 3)
    route(chain, "b", "1.1.1.3/32", "10.0.2.3", 3)
    a = attempt(chain, "a", "1.1.1.3", src="1.1.1.1")
    v = chain.decide(a)
    assert v.pending and "no path back" in v.why  # c has no route to a's loopback yet: the SYN-ACK is lost
    route(chain, "c", "1.1.1.1/32", "10.0.2.2", 2)
    route(chain, "b", "1.1.1.1/32", "10.0.1.1", 2)
    assert chain.decide(a).ok
    one_hop = attempt(chain, "a", "1.1.1.3", src="1.1.1.1", ttl=1)
    assert chain.decide(one_hop).pending, "TTL 1 does not cross b"


def test_gtsm_and_md5(chain: Broker) -> None:
    lst = next(lst for lst in chain.listeners.values() if lst.router == "b")
    lst.minttl = 255
    assert chain.decide(attempt(chain, "a", "10.0.1.2", ttl=254)).pending
    assert chain.decide(attempt(chain, "a", "10.0.1.2", ttl=255)).ok
    lst.md5[ipaddress.ip_address("10.0.1.1")] = "736563726574"
    assert chain.decide(attempt(chain, "a", "10.0.1.2", ttl=255)).pending, "unsigned SYN to a keyed listener"
    assert chain.decide(attempt(chain, "a", "10.0.1.2", ttl=255, md5="736563726574")).ok


def test_blackhole_and_arp_failure(chain: Broker) -> None:
    chain.fibs["a"].route("RT add 10.9.0.0/16 table=254 proto=196 type=6 metric=20 nhid=0")
    assert chain.decide(attempt(chain, "a", "10.9.1.1")).err == errno.ENETUNREACH
    v = chain.decide(attempt(chain, "a", "10.0.1.99"))
    assert v.pending and "ARP" in v.why


def test_nexthop_objects_and_groups(chain: Broker) -> None:
    fib = chain.fibs["a"]
    fib.nexthop("NH add id=5 gw=10.0.1.2 oif=3 blackhole=0 group=-")
    fib.nexthop("NH add id=6 gw=10.0.1.9 oif=3 blackhole=0 group=-")
    fib.nexthop("NH add id=7 gw=- oif=0 blackhole=0 group=5,6")
    fib.route("RT add 10.0.2.0/24 table=254 proto=186 type=1 metric=20 nhid=7")
    entry = next(e for e in fib.entries() if e.prefix == "10.0.2.0/24")
    assert {n.ip for n in entry.nexthops} == {"10.0.1.2", "10.0.1.9"}
    assert chain.walk("a", ipaddress.ip_address("10.0.2.3"))[0] == "c"


def test_anyone_owns_follows_addresses_and_loopback_subnets(chain: Broker) -> None:
    ip = ipaddress.ip_address
    assert chain.anyone_owns(ip("10.0.2.3")) and not chain.anyone_owns(ip("10.0.2.9"))
    chain.address("c", False, 2, "10.0.2.3/24")
    assert not chain.anyone_owns(ip("10.0.2.3"))
    chain.address("c", True, 1, "172.16.0.1/24")  # a subnet on lo: all of it is local
    assert chain.anyone_owns(ip("172.16.0.77")) and chain.anyone_owns(ip("127.0.0.5"))


def test_link_local_connects_only_on_the_link_its_scope_names(chain: Broker) -> None:
    """BGP unnumbered: fe80::...%IFINDEX reaches the segment member that has the address on that link, from the
    caller's own link-local address there; each side sees its own interface as the scope; elsewhere it stays
    unanswered (neighbour discovery), and without a scope it is EINVAL, as connect() gives."""
    net = Network()
    for name in "abc":
        net.add_router(Router(name, "", interfaces={"eth0": Interface("eth0"), "eth1": Interface("eth1")}))
    routers = list(net.routers.values())
    b = routers[1]
    b_eth0 = b.link_local(b.interfaces["eth0"], 1)  # b's side of a-b (a's eth1, ifindex 3; b's eth0, ifindex 2)
    a_eth1 = routers[0].link_local(routers[0].interfaces["eth1"], 0)
    lid = chain.next_id()
    chain.listeners[lid] = Listener(lid, "b", 6, None, 179, True)

    def ll(router: str, dst: str, md5: str | None = None) -> Attempt:
        return Attempt(chain.next_id(), router, 6, None, 0, ipaddress.ip_address(dst), 179, 1, md5,
                       time.monotonic_ns())

    v = chain.decide(ll("a", f"{b_eth0}%3"))
    assert v.ok and v.listener is not None and v.listener.router == "b"
    assert str(v.src) == f"{a_eth1}%3" and v.accepted_as == (f"{b_eth0}%2", f"{a_eth1}%2")
    assert chain.decide(ll("a", f"{b_eth0}%2")).pending  # a's eth0 is on no segment with b's eth0
    assert chain.decide(ll("a", str(b_eth0))).err == errno.EINVAL
    chain.listeners[lid].md5[ipaddress.ip_address(f"{a_eth1}%2")] = "6b6579"  # a key set for the scoped peer
    assert chain.decide(ll("a", f"{b_eth0}%3", md5="6b6579")).ok
    assert chain.decide(ll("a", f"{b_eth0}%3")).pending
