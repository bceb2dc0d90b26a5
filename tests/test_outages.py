"""Every known outage under snapshots/outages/: `realfish check broken/ expect.yaml` exits 1 (the outage
shows) and `realfish check fixed/ expect.yaml` exits 0 (the fix removes it), through the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

OUTAGES = Path(__file__).resolve().parent.parent / "snapshots" / "outages"
NAMES = sorted(p.name for p in OUTAGES.iterdir() if (p / "expect.yaml").is_file())


def check(snapshot: Path, expectations: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "realfish.cli", "check", str(snapshot), str(expectations)],
                          capture_output=True, text=True, timeout=600)


def test_the_four_incidents_are_there() -> None:
    assert NAMES == ["facebook-2021", "route-leak-2019", "twitter-rtcomm-2022", "youtube-pakistan-2008"]
    for name in NAMES:
        assert (OUTAGES / name / "README.md").is_file()


@pytest.mark.frr
@pytest.mark.parametrize("name", NAMES)
def test_broken_fails_and_fixed_passes(name: str) -> None:
    exp = OUTAGES / name / "expect.yaml"
    broken = check(OUTAGES / name / "broken", exp)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "FAIL " in broken.stdout and "ERROR" not in broken.stdout
    fixed = check(OUTAGES / name / "fixed", exp)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "FAIL " not in fixed.stdout and " 0 failed, 0 errors" in fixed.stdout
