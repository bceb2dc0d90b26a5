"""The emulated FIB's longest-prefix match (realfish/runtime/fib.py) against a plain scan of every route, on
random tables with adds and deletes: the index by prefix length must give the kernel's answer."""

from __future__ import annotations

import ipaddress
import random

from realfish.runtime.fib import Fib, IPAddress


def _scan(fib: Fib, ip: IPAddress) -> tuple[str, str] | None:
    best: tuple[int, int, str, str] | None = None
    for net in fib.connected():
        if ip in net and (best is None or (net.prefixlen, 1) > best[:2]):
            best = (net.prefixlen, 1, "connected", str(net))
    for net in fib.routes:
        if ip in net and (best is None or (net.prefixlen, 0) > best[:2]):
            best = (net.prefixlen, 0, "route", str(net))
    return (best[2], best[3]) if best else None


def test_lookup_is_longest_prefix_match() -> None:
    rnd = random.Random(7)
    fib = Fib({1: "lo", 2: "eth0", 3: "eth1"}, up={1, 2, 3})
    fib.address(True, 2, "10.0.0.1/24")
    fib.address(True, 3, "10.1.0.1/16")
    nets = [ipaddress.ip_network(f"10.{rnd.randrange(4)}.{rnd.randrange(4)}.0/{rnd.choice([8, 16, 20, 24, 28])}",
                                 strict=False) for _ in range(60)]
    for step in range(400):
        net = rnd.choice(nets)
        op = "del" if rnd.random() < 0.3 else "add"
        fib.route(f"RT {op} {net} table=254 proto=186 type=1 metric=20 nhid=0 nh=10.0.0.2@2")
        if step % 7 == 0:
            fib.address(step % 14 == 0, 3, "10.2.0.1/24")
        ip = ipaddress.ip_address(f"10.{rnd.randrange(4)}.{rnd.randrange(4)}.{rnd.randrange(256)}")
        got = fib.lookup(ip)
        answer = (got[0], str(got[1])) if got else None
        assert answer == _scan(fib, ip), (step, ip)


def test_connected_wins_at_equal_length_and_other_tables_are_ignored() -> None:
    fib = Fib({2: "eth0"}, up={2})
    fib.address(True, 2, "192.0.2.1/24")
    fib.route("RT add 192.0.2.0/24 table=254 proto=188 type=1 metric=20 nhid=0 nh=10.9.9.9@2")
    fib.route("RT add 192.0.2.128/25 table=10 proto=186 type=1 metric=20 nhid=0 nh=10.9.9.9@2")
    got = fib.lookup(ipaddress.ip_address("192.0.2.200"))
    assert got is not None and got[0] == "connected" and str(got[1]) == "192.0.2.0/24"
    fib.route("RT add 2001:db8::/32 table=254 proto=186 type=1 metric=20 nhid=0 nh=fe80::1@2")
    got6 = fib.lookup(ipaddress.ip_address("2001:db8::5"))
    assert got6 is not None and str(got6[1]) == "2001:db8::/32"
    fib.route("RT del 2001:db8::/32 table=254 proto=186 type=1 metric=20 nhid=0")
    assert fib.lookup(ipaddress.ip_address("2001:db8::5")) is None


def test_local_addresses_follow_address_changes() -> None:
    fib = Fib({1: "lo", 2: "eth0"}, up={1, 2})
    fib.address(True, 1, "10.255.0.1/32")
    fib.address(True, 1, "192.168.0.1/24")  # an IPv4 subnet on lo is all local
    fib.address(True, 2, "10.0.0.1/31")
    assert fib.owns(ipaddress.ip_address("10.255.0.1")) and fib.owns(ipaddress.ip_address("192.168.0.77"))
    assert fib.owns(ipaddress.ip_address("10.0.0.1")) and not fib.owns(ipaddress.ip_address("10.0.0.0"))
    fib.address(False, 2, "10.0.0.1/31")
    assert not fib.owns(ipaddress.ip_address("10.0.0.1"))


def test_ipv4_link_local_subnets_are_connected_ipv6_ones_are_not() -> None:
    """169.254.0.0/31 between an ISP and the Internet (Batfish's ISP model) is a subnet like any other; fe80::/64
    is on every link and reached by its scope only."""
    fib = Fib({3: "To-Internet"}, up={3})
    fib.address(True, 3, "169.254.0.1/31")
    fib.address(True, 3, "fe80::1/64")
    got = fib.lookup(ipaddress.ip_address("169.254.0.0"))
    assert got is not None and got[0] == "connected" and str(got[1]) == "169.254.0.0/31"
    assert fib.lookup(ipaddress.ip_address("fe80::2")) is None


def test_host_addresses_main_table_route_ipv6_only() -> None:
    """The kernel gives an IPv6 /128 (a loopback's, OSPFv3 advertises it) a main-table route, as any IPv6 address;
    an IPv4 /32 only a local-table one; ::1 and 127.0.0.1 stay local."""
    fib = Fib({1: "lo"}, up={1})
    for a in ("127.0.0.1/8", "::1/128", "10.255.0.1/32", "2001:db8:ff::1/128"):
        fib.address(True, 1, a)
    assert [str(n) for n in fib.connected()] == ["2001:db8:ff::1/128"]
