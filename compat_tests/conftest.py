"""Fixtures shared by the compat tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compat_tests.topotests import TopotestRuns


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TopotestRuns]:
    """Converged FRR topotests, one resident at a time, closed when the module's tests are done."""
    r = TopotestRuns(tmp_path_factory.mktemp("topotests"))
    try:
        yield r
    finally:
        r.close()
