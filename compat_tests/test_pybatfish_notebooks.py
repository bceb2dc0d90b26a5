"""The filter questions against Batfish's documented examples: pybatfish's ACL notebooks and its filter
question docs (../shared/compat/pybatfish-notebooks), whose stored cell outputs are the real Batfish's answers.

Each case asks the notebook's own question through pybatfish (`Session.get("realfish")`) on the notebook's
snapshot and checks pybatfish's frame against that cell's stored output: an empty answer where Batfish's was
empty (same columns), else every cell of every row, as pybatfish prints it, in the stored text (pandas prints
the frame in column blocks, so a cell is looked up in the output, not a whole line), and as many rows.

Known difference (kind: Batfish models what realfish does not): the notebooks' `firewall` filters are IOS
zone-based firewall policies, which Batfish turns into generated filters such as `~ZONE_OUTGOING_ACL~zone-z3~`
on the zone's interfaces. realfish models interface ACLs only, so `@out(GigabitEthernet0/0/3)` names no filter
there: testFilters has no row and searchFilters ends with "No matching filters"
(test_zone_based_firewall_is_not_modelled pins that).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pybatfish.client.session import Session
from pybatfish.datamodel.flow import HeaderConstraints
from pybatfish.exception import BatfishException

from compat_tests.topotests import shared_dir

NOTEBOOKS = shared_dir() / "compat" / "pybatfish-notebooks"
NETWORKS = NOTEBOOKS / "jupyter_notebooks" / "networks" / "example-filters"
EXAMPLE_LIVE = shared_dir() / "compat" / "batfish-example" / "snapshots" / "example-live"
ANALYZING = NOTEBOOKS / "jupyter_notebooks" / "Analyzing ACLs and Firewall Rules.ipynb"
PROVABLY_SAFE = NOTEBOOKS / "jupyter_notebooks" / "Provably Safe ACL and Firewall Changes.ipynb"
DOCS = NOTEBOOKS / "docs" / "source" / "notebooks" / "filters.ipynb"

pytestmark = [pytest.mark.frr, pytest.mark.skipif(not NOTEBOOKS.is_dir(), reason=f"notebooks not found at {NOTEBOOKS}")]

DNS = HeaderConstraints(srcIps="10.10.10.1", dstIps="218.8.104.58", applications=["dns"])
DNS_SUBNET = HeaderConstraints(srcIps="10.10.10.0/24", dstIps="218.8.104.58", applications=["dns"])
CHANGE = HeaderConstraints(srcIps="10.10.10.0/24", dstIps="18.18.18.0/27", ipProtocols=["tcp"], dstPorts="80, 8080")


def stored_output(notebook: Path, marker: str, then: str | None = None) -> str:
    """The printed output of the code cell whose source contains `marker` (or, with `then`, of the first code
    cell after it whose source contains `then`: the docs ask in one cell and print in the next)."""
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(cells):
        if marker in "".join(cell["source"]):
            if then is not None:
                cell = next(c for c in cells[i + 1:] if then in "".join(c["source"]))
            texts = ["".join(o.get("data", {}).get("text/plain", o.get("text", ""))) for o in cell["outputs"]]
            return [t for t in texts if t.strip()][-1]
    raise AssertionError(f"no cell with {marker!r} in {notebook.name}")


def check(frame: Any, output: str) -> None:
    if output.startswith("Empty DataFrame"):
        columns = output.split("Columns: [", 1)[1].split("]", 1)[0].split(", ")
        assert frame.empty, frame.to_dict("records")
        assert list(frame.columns) == columns
        return
    body = " ".join(output.split())
    for record in frame.to_dict("records"):
        for column, value in record.items():
            text = " ".join(str(value).split())
            assert text in body, f"{column}: {text!r} is not in Batfish's stored answer:\n{output}"
    indexes = {line.split(maxsplit=1)[0] for line in output.splitlines() if line[:1].isdigit()}
    assert len(frame) == len(indexes), (frame.to_dict("records"), output)


@pytest.fixture(scope="module")
def bf() -> Iterator[Any]:
    session: Any = Session.get("realfish")
    try:
        session.set_network("network-example-filters")
        for name in ("current", "candidate1", "candidate2"):
            session.init_snapshot(str(NETWORKS / name), name=name, overwrite=True)
        session.set_network("generate_questions")
        session.init_snapshot(str(EXAMPLE_LIVE), name="generate_questions")
        session.set_network("network-example-filters")
        yield session
    finally:
        session.close()


def test_test_filters_dns(bf: Any) -> None:
    ans = bf.q.testFilters(headers=DNS, nodes="rtr-with-acl", filters="acl_in").answer(snapshot="current")
    check(ans.frame(), stored_output(ANALYZING, "answer = bf.q.testFilters(headers=dns_flow"))
    check(ans.frame(), stored_output(DOCS, "bf.q.testFilters(", then="result.head(5)"))


def test_search_filters_dns_subnet_denied(bf: Any) -> None:
    ans = bf.q.searchFilters(headers=DNS_SUBNET, action="deny", filters="acl_in").answer(snapshot="current")
    check(ans.frame(), stored_output(ANALYZING, "answer = bf.q.searchFilters(headers=dns_traffic"))
    check(ans.frame(), stored_output(DOCS, "bf.q.searchFilters(", then="result.head(5)"))


def test_filter_line_reachability(bf: Any) -> None:
    ans = bf.q.filterLineReachability(nodes="rtr-with-acl").answer(snapshot="current")
    check(ans.frame(), stored_output(ANALYZING, "bf.q.filterLineReachability(nodes="))


def test_filter_line_reachability_example_network(bf: Any) -> None:
    """The docs ask it on Batfish's example network and print the first 5 rows: there are 2."""
    bf.set_network("generate_questions")
    try:
        frame = bf.q.filterLineReachability().answer(snapshot="generate_questions").frame()
    finally:
        bf.set_network("network-example-filters")
    check(frame, stored_output(DOCS, "bf.q.filterLineReachability(", then="result.head(5)"))


@pytest.mark.parametrize(("snapshot", "action", "marker"), [
    ("current", "permit", "snapshot=CURRENT_SNAPSHOT_NAME)"),
    ("candidate1", "deny", "bf.init_snapshot(CANDIDATE1_SNAPSHOT_PATH"),
    ("candidate2", "deny", "bf.init_snapshot(CANDIDATE2_SNAPSHOT_PATH"),
])
def test_provably_safe_change(bf: Any, snapshot: str, action: str, marker: str) -> None:
    ans = bf.q.searchFilters(headers=CHANGE, filters="acl_in", nodes="rtr-with-acl", action=action)
    check(ans.answer(snapshot=snapshot).frame(), stored_output(PROVABLY_SAFE, marker))


@pytest.mark.parametrize(("snapshot", "marker"), [
    ("candidate1", "invertSearch=True,\n                           filters"),
    ("candidate2", "invertSearch=True).answer(snapshot=CANDIDATE2"),
])
def test_provably_safe_collateral_damage(bf: Any, snapshot: str, marker: str) -> None:
    """The differential searchFilters: flows outside the change that the candidate treats differently."""
    q = bf.q.searchFilters(headers=CHANGE, invertSearch=True, filters="acl_in", nodes="rtr-with-acl")
    check(q.answer(snapshot=snapshot, reference_snapshot="current").frame(), stored_output(PROVABLY_SAFE, marker))


def test_zone_based_firewall_is_not_modelled(bf: Any) -> None:
    http = HeaderConstraints(srcIps="10.114.64.1", dstIps="10.114.60.10", applications=["http"])
    batfish = stored_output(ANALYZING, "http_flow = HeaderConstraints")
    assert "~ZONE_OUTGOING_ACL~zone-z3~" in batfish and "no-match" in batfish  # Batfish's generated filter
    frame = bf.q.testFilters(headers=http, startLocation="@enter(firewall[GigabitEthernet0/0/2])",
                             filters="@out(GigabitEthernet0/0/3)").answer(snapshot="current").frame()
    assert frame.empty
    with pytest.raises(BatfishException, match="No matching filters"):
        bf.q.searchFilters(headers=http, startLocation="@enter(firewall[GigabitEthernet0/0/2])",
                           filters="@out(GigabitEthernet0/0/3)", action="permit").answer(snapshot="current")
