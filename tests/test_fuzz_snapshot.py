"""Bad input: random and truncated configs, broken archives, zip-slip, binary, huge and duplicate files.

Every case must load what can be loaded, report the rest per file (and line where there is one), never raise
anything but SnapshotError for a snapshot that has nothing to load, and never write outside its directory.
Seeded, so a failure reproduces; a few hundred cases run in seconds.
"""

from __future__ import annotations

import io
import json
import random
import stat
import zipfile
from pathlib import Path

import pytest

from realfish import convert
from realfish.convert import convert_snapshot
from realfish.parsers import parse_config
from realfish.render import render
from realfish.snapshot import SnapshotError
from realfish.status import FAILED, PARTIALLY_UNRECOGNIZED, PASSED

SEED_CONFIGS = {
    "ios": """!
hostname r1
interface Loopback0
 ip address 10.255.0.1 255.255.255.255
interface GigabitEthernet0/0
 ip address 10.0.0.1 255.255.255.0
 ip access-group A in
router ospf 1
 network 10.0.0.0 0.0.0.255 area 0
router bgp 1
 neighbor G peer-group
 neighbor G remote-as 2
 neighbor 10.0.0.2 peer-group G
 address-family ipv4
  network 10.255.0.1 mask 255.255.255.255
  neighbor G route-map RM in
 exit-address-family
ip prefix-list P seq 5 permit 10.0.0.0/8 le 32
route-map RM permit 10
 match ip address prefix-list P
 set community 1:1 additive
ip access-list extended A
 permit tcp any host 10.0.0.1 eq 22
banner motd ^C
hi
^C
""",
    "frr": """frr version 8.4.4
hostname r2
interface eth0
 ip address 10.0.0.2/24
router bgp 2
 neighbor 10.0.0.1 remote-as 1
 address-family ipv4 unicast
  network 10.2.0.0/16
 exit-address-family
""",
    "cumulus": """sw1
# This file describes the network interfaces
auto swp1
iface swp1
    address 10.1.0.1/31
# ports.conf --
1=100G
frr version 8.4.4
router bgp 3
 neighbor 10.1.0.0 remote-as 4
""",
}
_STATUSES = {PASSED, PARTIALLY_UNRECOGNIZED, FAILED, "UNKNOWN", "EMPTY", "UNSUPPORTED", "IGNORED"}
_JUNK = ["!", "  ", "\t\t x", "interface", "router bgp", " neighbor", "ip address 1.2.3", "route-map",
         "}", "{", "^C", "banner exec ^C", "\x7f\x01", "ip route 1.1.1.1", "exit", " " * 200 + "deep",
         "neighbor 300.1.1.1 remote-as 99999999999", "network 10.0.0.0 mask 255.0.255.0",
         "ip prefix-list X seq 5 permit 10.0.0.0/33", "access-list 101 permit ip host", "é ü ✓"]


def _mutate(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(5)
        i = rng.randrange(len(lines) + 1)
        if op == 0 and lines:
            del lines[min(i, len(lines) - 1)]
        elif op == 1:
            lines.insert(i, rng.choice(_JUNK))
        elif op == 2 and lines:
            j = min(i, len(lines) - 1)
            lines[j] = lines[j][: rng.randrange(len(lines[j]) + 1)]
        elif op == 3 and lines:
            lines.insert(i, lines[rng.randrange(len(lines))])
        else:
            lines.insert(i, "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(40))))
    out = "\n".join(lines)
    if rng.random() < 0.3:
        out = out[: rng.randrange(len(out) + 1)]  # truncated file
    return out


def test_random_and_truncated_configs_never_crash() -> None:
    rng = random.Random(5)
    for case in range(400):
        base = rng.choice(list(SEED_CONFIGS.values()))
        text = _mutate(rng, base)
        dev, st = parse_config(text, f"configs/fuzz{case}")
        assert st.status in _STATUSES, (case, st.status)
        assert all(n.line is None or 1 <= n.line <= max(1, len(text.splitlines())) for n in st.notes), case
        if dev is not None:
            render(dev)  # whatever parsed must render


@pytest.mark.frr
def test_random_bytes_are_unknown_or_failed(tmp_path: Path) -> None:
    rng = random.Random(7)
    cfg = tmp_path / "snap" / "configs"
    cfg.mkdir(parents=True)
    (cfg / "good.cfg").write_text(SEED_CONFIGS["frr"])
    for i in range(20):
        (cfg / f"rand{i}.cfg").write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))))
    conv = convert_snapshot(tmp_path / "snap")
    assert list(conv.network.routers) == ["r2"]
    assert {s.file: s.status for s in conv.statuses}["configs/good.cfg"] == PASSED
    assert all(s.status in _STATUSES for s in conv.statuses) and len(conv.statuses) == 21


def _zip(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


@pytest.mark.frr
def test_zip_layout_as_pybatfish_uploads_it(tmp_path: Path) -> None:
    data = _zip({"snap/configs/r1.cfg": SEED_CONFIGS["ios"].encode(),
                 "snap/configs/r2.cfg": SEED_CONFIGS["frr"].encode(),
                 "snap/hosts/h1.json": json.dumps({"hostname": "h1", "hostInterfaces": {
                     "eth0": {"name": "eth0", "prefix": "10.0.0.9/24", "gateway": "10.0.0.1"}}}).encode()})
    (tmp_path / "s.zip").write_bytes(data)
    conv = convert_snapshot(tmp_path / "s.zip")
    assert sorted(conv.network.routers) == ["h1", "r1", "r2"]
    assert conv.network.routers["h1"].kind == "host"
    assert {("r1", "GigabitEthernet0/0", "r2", "eth0"), ("h1", "eth0", "r1", "GigabitEthernet0/0")} <= set(conv.edges)


@pytest.mark.frr
def test_zip_slip_links_and_oversized_members_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "MAX_FILE_BYTES", 4096)
    data = _zip({"snap/configs/r1.cfg": SEED_CONFIGS["ios"].encode(),
                 "snap/../../evil.cfg": b"hostname evil\n", "/abs/evil2.cfg": b"hostname evil2\n",
                 "snap/configs/huge.cfg": b"!\n" * 5000},
                links={"snap/configs/link.cfg": "/etc/passwd"})
    work = tmp_path / "work"
    work.mkdir()
    (work / "s.zip").write_bytes(data)
    conv = convert_snapshot(work / "s.zip")
    assert list(conv.network.routers) == ["r1"]
    archive = conv.status_of("s.zip")
    assert archive is not None
    text = "\n".join(str(n) for n in archive.notes)
    assert "evil.cfg" in text and "evil2.cfg" in text and "symbolic link" in text and "huge.cfg" in text
    written = {p.name for p in tmp_path.rglob("*")}
    assert "evil.cfg" not in written and "evil2.cfg" not in written


@pytest.mark.frr
def test_a_member_that_is_also_a_directory_is_skipped(tmp_path: Path) -> None:
    """`configs/x` as a file and `configs/x/y` as a member below it (either order) cannot both be written."""
    for order in ((0, 1), (1, 0)):
        members = [("snap/configs/x", b"hostname x\n"), ("snap/configs/x/y.cfg", b"hostname y\n")]
        data = _zip(dict(members[i] for i in order) | {"snap/configs/r1.cfg": SEED_CONFIGS["ios"].encode()})
        work = tmp_path / f"w{order[0]}"
        work.mkdir()
        (work / "s.zip").write_bytes(data)
        conv = convert_snapshot(work / "s.zip")
        assert "r1" in conv.network.routers
        archive = conv.status_of("s.zip")
        assert archive is not None and "cannot be extracted" in "\n".join(str(n) for n in archive.notes)


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04garbage", b"not a zip at all"])
def test_broken_archives_raise_snapshot_error(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "s.zip").write_bytes(data)
    with pytest.raises(SnapshotError):
        convert_snapshot(tmp_path / "s.zip")


@pytest.mark.frr
def test_truncated_zips_never_crash(tmp_path: Path) -> None:
    data = _zip({f"snap/configs/r{i}.cfg": SEED_CONFIGS["ios"].replace("r1", f"r{i}").encode() for i in range(5)})
    rng = random.Random(3)
    for case in range(30):
        cut = data[: rng.randrange(len(data))]
        if rng.random() < 0.5:
            pos = rng.randrange(len(data))
            cut = data[:pos] + bytes([rng.randrange(256)]) + data[pos + 1:]
        p = tmp_path / f"c{case}.zip"
        p.write_bytes(cut)
        try:
            conv = convert_snapshot(p)
        except SnapshotError:
            continue
        assert all(s.status in _STATUSES for s in conv.statuses)


@pytest.mark.frr
def test_binary_huge_duplicate_and_overlapping_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "MAX_FILE_BYTES", 4096)
    cfg = tmp_path / "configs"
    cfg.mkdir()
    (cfg / "a.cfg").write_text(SEED_CONFIGS["ios"])
    (cfg / "b.cfg").write_text(SEED_CONFIGS["ios"].replace("10.0.0.1 255", "10.0.0.7 255"))  # hostname r1 again
    (cfg / "c.cfg").write_text(SEED_CONFIGS["frr"].replace("10.0.0.2/24", "10.0.0.1/24"))  # r1's address
    (cfg / "bin.cfg").write_bytes(b"\x7fELF\x00\x00")
    (cfg / "big.cfg").write_text("!\n" * 5000)
    (cfg / "latin.cfg").write_bytes(b"!\nhostname caf\xe9\ninterface Ethernet0/0\n")
    conv = convert_snapshot(tmp_path)
    st = {s.file: s for s in conv.statuses}
    assert st["configs/b.cfg"].status == FAILED and "duplicate hostname 'r1'" in str(st["configs/b.cfg"].notes)
    assert "configs/a.cfg:2" in str(st["configs/b.cfg"].notes)
    assert st["configs/bin.cfg"].status == FAILED and "binary" in st["configs/bin.cfg"].notes[0].message
    assert st["configs/big.cfg"].status == FAILED and "bytes" in st["configs/big.cfg"].notes[0].message
    assert any("Latin-1" in n.message and n.line == 2 for n in st["configs/latin.cfg"].notes)
    assert any("10.0.0.1 is assigned more than once" in n.message for n in st["configs/c.cfg"].notes)
    assert sorted(conv.network.routers) == ["caf_", "r1", "r2"]  # unsafe hostname made a safe file name


def test_missing_snapshot_and_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no such"):
        convert_snapshot(tmp_path / "nope")
    with pytest.raises(SnapshotError, match="configs/"):
        convert_snapshot(tmp_path)
