"""Generated fat-trees, rings and chains: sizes, address and ASN plans, and that they load back unchanged."""

from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path

import pytest

from realfish.convert import load_network
from realfish.topogen import chain, fattree, ospf_ibgp_grid, ring
from realfish.topology import Network


def asn(net: Network, name: str) -> int:
    m = re.search(r"^router bgp (\d+)$", net.routers[name].config, re.M)
    assert m, name
    return int(m.group(1))


def origins(net: Network) -> dict[str, ipaddress.IPv4Network]:
    out = {}
    for name, r in net.routers.items():
        nets = re.findall(r"^  network (\S+)$", r.config, re.M)
        if nets:
            assert len(nets) == 1
            out[name] = ipaddress.IPv4Network(nets[0])
    return out


def same_topology(a: Network, b: Network) -> None:
    assert a.routers == b.routers  # names, configs, sources, interfaces (addresses, mtu, ifindex)
    assert {frozenset(s.members) for s in a.segments} == {frozenset(s.members) for s in b.segments}
    assert len(a.segments) == len(b.segments)


def check_sessions(net: Network) -> None:
    """Every link carries one eBGP session, configured on both ends with the other end's address and AS."""
    for seg in net.segments:
        assert len(seg.members) == 2
        (r1, i1), (r2, i2) = seg.members
        a1 = net.routers[r1].interfaces[i1].addresses[0]
        a2 = net.routers[r2].interfaces[i2].addresses[0]
        assert a1.network == a2.network and a1.network.prefixlen == 31 and a1.ip != a2.ip
        assert f"\n neighbor {a2.ip} remote-as {asn(net, r2)}\n" in net.routers[r1].config
        assert f"\n neighbor {a1.ip} remote-as {asn(net, r1)}\n" in net.routers[r2].config
    for r in net.routers.values():
        assert r.config.count(" remote-as ") == len(r.interfaces) - 1  # one per link, none on lo


@pytest.mark.parametrize("k", [4, 8])
def test_fattree_shape_and_plans(tmp_path: Path, k: int) -> None:
    net = fattree(k, tmp_path)
    h = k // 2
    assert len(net.routers) == 5 * k * k // 4
    assert len(net.segments) == k ** 3 // 2
    spines = [n for n in net.routers if n.startswith("spine-")]
    aggs = [n for n in net.routers if n.startswith("agg-")]
    tors = [n for n in net.routers if n.startswith("tor-")]
    assert (len(spines), len(aggs), len(tors)) == (h * h, k * h, k * h)
    # every ToR to every agg of its pod; agg i to spines i*h .. i*h+h-1
    links = {frozenset(r for r, _ in s.members) for s in net.segments}
    for p in range(k):
        for i in range(h):
            for j in range(h):
                assert frozenset({f"agg-{p}-{i}", f"tor-{p}-{j}"}) in links
            for m in range(h):
                assert frozenset({f"agg-{p}-{i}", f"spine-{i * h + m}"}) in links
    for name, r in net.routers.items():
        assert len(r.interfaces) - 1 == (h if name.startswith("tor-") else k)
    # ASN plan: one AS for the spines, one per pod's aggs, one per ToR; pods and ToRs all distinct
    assert {asn(net, s) for s in spines} == {65000}
    for p in range(k):
        assert {asn(net, f"agg-{p}-{i}") for i in range(h)} == {65100 + p}
    tor_asns = [asn(net, t) for t in tors]
    assert len(set(tor_asns)) == len(tors) and all(4200000000 <= a <= 4294967294 for a in tor_asns)
    assert len({65000} | {65100 + p for p in range(k)} | set(tor_asns)) == 1 + k + len(tors)
    check_sessions(net)
    # one /24 per ToR, unique, configured on lo; nothing else originates
    orig = origins(net)
    assert set(orig) == set(tors) and len(set(orig.values())) == len(tors)
    for tor, prefix in orig.items():
        assert prefix.prefixlen == 24
        lo = net.routers[tor].interfaces["lo"]
        assert ipaddress.IPv4Interface((int(prefix.network_address) + 1, 24)) in lo.addresses
    # router-ids are the /32 loopbacks, all distinct
    rids = [line.split()[-1] for r in net.routers.values() for line in r.config.splitlines()
            if line.startswith(" bgp router-id ")]
    assert len(set(rids)) == len(rids)
    for r, rid in zip(net.routers.values(), rids, strict=True):
        assert ipaddress.IPv4Interface(f"{rid}/32") in r.interfaces["lo"].addresses


def test_fattree_defaults_only(tmp_path: Path) -> None:
    net = fattree(4, tmp_path)
    for r in net.routers.values():
        assert "no bgp ebgp-requires-policy" in r.config
        assert not re.search(r"timers|coalesce|advertisement-interval|frr defaults", r.config)


def test_fattree_k32_addresses_unique(tmp_path: Path) -> None:
    net = fattree(32, tmp_path)
    assert len(net.routers) == 1280
    addrs = [a for r in net.routers.values() for i in r.interfaces.values() for a in i.addresses]
    assert len({a.ip for a in addrs}) == len(addrs)
    nets = sorted({a.network for a in addrs if a.network.prefixlen < 32})
    assert all(not x.overlaps(y) for x, y in zip(nets, nets[1:], strict=False))  # /24s clash with no link
    assert len(set(origins(net).values())) == 512


@pytest.mark.frr  # load_network checks the configs with vtysh
def test_fattree_loads_back_equal(tmp_path: Path) -> None:
    net = fattree(8, tmp_path)
    same_topology(net, load_network(tmp_path))
    shutil.rmtree(tmp_path / "batfish")  # without layer1, links are inferred from the /31s: same segments
    same_topology(net, load_network(tmp_path))


@pytest.mark.frr
@pytest.mark.parametrize("n", [3, 7])
def test_ring(tmp_path: Path, n: int) -> None:
    net = ring(n, tmp_path)
    assert list(net.routers) == [f"r{i}" for i in range(n)] and len(net.segments) == n
    assert all(len(r.interfaces) == 3 for r in net.routers.values())
    assert len({asn(net, r) for r in net.routers}) == n
    assert len(set(origins(net).values())) == n
    check_sessions(net)
    same_topology(net, load_network(tmp_path))


@pytest.mark.frr
@pytest.mark.parametrize("n", [1, 2, 5])
def test_chain(tmp_path: Path, n: int) -> None:
    net = chain(n, tmp_path)
    assert list(net.routers) == [f"r{i}" for i in range(n)] and len(net.segments) == n - 1
    assert len({asn(net, r) for r in net.routers}) == n and len(set(origins(net).values())) == n
    check_sessions(net)
    same_topology(net, load_network(tmp_path))


def test_arguments_and_overwrite(tmp_path: Path) -> None:
    for bad in (0, 3, -2):
        with pytest.raises(ValueError):
            fattree(bad, tmp_path)
    with pytest.raises(ValueError):
        ring(2, tmp_path)
    with pytest.raises(ValueError):
        chain(0, tmp_path)
    fattree(4, tmp_path)
    with pytest.raises(FileExistsError):
        ring(3, tmp_path)
    ring(3, tmp_path, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "configs").iterdir()) == ["r0.cfg", "r1.cfg", "r2.cfg"]


def test_boot_batches_never_boot_neighbours_together(tmp_path: Path) -> None:
    net = fattree(8, tmp_path)
    batches = net.boot_batches(16)
    assert sorted(n for b in batches for n in b) == sorted(net.routers)
    assert all(len(b) <= 16 for b in batches)
    adj = net.neighbours()
    for seg in net.segments:
        (r1, _), (r2, _) = seg.members
        assert r2 in adj[r1] and r1 in adj[r2]
    for b in batches:
        assert not any(adj[n].intersection(b) for n in b), b
    assert len(batches) == 5  # 80 routers, 16 per batch, nothing wasted: the plan packs as well as it can


def test_neighbours_include_ibgp_peers_without_a_shared_segment(tmp_path: Path) -> None:
    net = ospf_ibgp_grid(1, 3, tmp_path)  # r0 - r1 - r2, iBGP full mesh between loopbacks
    linked = {frozenset(r for r, _ in seg.members) for seg in net.segments}
    assert frozenset({"r0", "r2"}) not in linked
    assert net.neighbours()["r0"] == {"r1", "r2"}
    assert all(len(b) == 1 for b in net.boot_batches(16))  # everyone peers with everyone
