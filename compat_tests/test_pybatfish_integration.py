"""pybatfish's own integration tests (its tests/integration files for sessions, networks, snapshots, answers,
asserts and facts; copied unchanged into pybatfish_integration/, see SOURCE.txt there) against `realfish serve`.

One server on a free port serves the module; each upstream file runs in its own pytest process from that folder
(the tests import their helpers as `tests.common_util`, a name this repository's own tests/ package holds), with
REALFISH_PORT telling the folder's plugin where the server is. A file passes when every one of its tests does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_service import serving

pytestmark = pytest.mark.frr

HERE = Path(__file__).parent / "pybatfish_integration"
FILES = ["test_session.py", "test_network_funcs.py", "test_snapshot_funcs.py", "test_answer_funcs.py",
         "test_asserts.py", "test_facts.py"]


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with serving(tmp_path_factory.mktemp("data")) as port:
        yield port


@pytest.mark.parametrize("name", FILES)
def test_pybatfish_integration_file(port: int, name: str, tmp_path: Path) -> None:
    env = {**os.environ, "REALFISH_PORT": str(port), "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                          str(tmp_path / "pytest"), f"tests/integration/{name}"],
                         cwd=HERE, env=env, capture_output=True, text=True, timeout=900)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0 and " passed" in summary and "failed" not in summary, run.stdout[-6000:] + run.stderr
