"""json_cmp behaves as FRR 8.4.4's topotest json_cmp (report text included; checked against upstream)."""

from __future__ import annotations

from typing import Any

import pytest

from compat_tests.topotests import json_cmp

ROUTE = {"10.0.0.0/24": [{"protocol": "bgp", "selected": True, "installed": True, "distance": 20,
                          "nexthops": [{"ip": "10.0.1.1", "interfaceName": "eth0", "active": True},
                                       {"ip": "10.0.2.1", "interfaceName": "eth1", "active": True}]}],
         "10.0.1.0/24": [{"protocol": "connected", "selected": True}]}


@pytest.mark.parametrize("expected", [
    {},
    {"10.0.0.0/24": [{"protocol": "bgp"}]},  # subset of keys, at any depth
    {"10.0.0.0/24": [{"nexthops": [{"ip": "10.0.2.1"}]}]},  # list elements match in any order
    {"10.0.0.0/24": [{"nexthops": [{"ip": "10.0.2.1"}, {"ip": "10.0.1.1"}]}]},
    {"10.0.0.0/24": [{"distance": 20.0}]},  # Python ==: 20 == 20.0
    {"10.0.1.0/24": [{"selected": 1}]},  # ... and True == 1, as upstream
    {"10.0.0.0/24": "*"},  # "*": present, any value
    {"10.0.0.0/24": [{"nexthops": ["*", "*"]}]},
    {"10.0.0.0/24": [{"metric": None}]},  # None: key must be absent
    {"192.168.0.0/16": None},
    {"10.0.0.0/24": [{"nexthops": ["__ordered__", {"ip": "10.0.1.1"}, {"ip": "10.0.2.1"}]}]},
])
def test_matches(expected: Any) -> None:
    assert json_cmp(ROUTE, expected) is None


@pytest.mark.parametrize("expected, words", [
    ({"10.0.1.0/24": None}, "> $: d1 has key '10.0.1.0/24' which is not supposed to be present"),
    ({"10.0.9.0/24": []}, "> $: d2 has key '10.0.9.0/24' which is not present in d1"),
    ({"10.0.0.0/24": [{"distance": 200}]},
     "> $->10.0.0.0/24: d2 has the following element at index 0 which is not present in d1"),
    ({"10.0.1.0/24": [{}, {}]}, "> $->10.0.1.0/24: d1 has Array of length 1 but in d2 it is of length 2"),
    ({"10.0.0.0/24": [{"nexthops": ["__ordered__", {"ip": "10.0.2.1"}, {"ip": "10.0.1.1"}]}]},
     "d1 has element with value '10.0.1.1' but in d2 it has value '10.0.2.1'"),
    ({"10.0.0.0/24": [{"nexthops": ["__ordered__", {"ip": "10.0.1.1"}]}]},
     "d1 has Array of length 2 but in d2 it is of length 1"),
    ({"10.0.0.0/24": {"protocol": "bgp"}}, "> $->10.0.0.0/24: d1 has element of type 'Array' but the "
                                           "corresponding element in d2 is of type 'Object'"),
])
def test_mismatches(expected: Any, words: str) -> None:
    report = json_cmp(ROUTE, expected)
    assert report is not None and report.startswith("Generated JSON diff error report:\n\n\n")
    assert words in report


def test_report_text_is_upstreams() -> None:
    # Produced by FRR 8.4.4's lib/topotest.py json_cmp on the same input.
    actual = {"a": [{"x": 1, "y": 2}, {"x": 3}], "b": 5}
    report = json_cmp(actual, {"a": [{"x": 1, "y": 3}], "b": 6, "c": None})
    assert report == (
        "Generated JSON diff error report:\n\n\n"
        "> $->a: d2 has the following element at index 0 which is not present in d1: \n"
        "\n"
        "\t{\n"
        "\t    \"x\": 1,\n"
        "\t    \"y\": 3\n"
        "\t}\n"
        "\n"
        "\tClosest match in d1 is at index 0 with the following errors: \n"
        "\n"
        "\t> $->a[0]->y: d1 has element with value '2' but in d2 it has value '3'\n"
        "\n"
        "> $->b: d1 has element with value '5' but in d2 it has value '6'\n\n"
    )  # and "c": None asks only that "c" be absent, which it is


def test_null_value_for_absent_key_is_not_checked_further() -> None:
    # A None value only asserts absence; it never asks for a null in d1.
    assert json_cmp({"a": None}, {"a": None}) is not None
    assert json_cmp({}, {"a": None}) is None


def test_lists_are_subsets_matched_greedily() -> None:
    assert json_cmp([1, 2, 3], [3, 1]) is None
    assert json_cmp([1], [1, 1]) is not None  # each actual element is used once
    assert json_cmp([1, 1], [1, 1]) is None
    # Upstream takes the first unused match and never backtracks: {"a": 1} grabs the first element, and the
    # more specific second one is then left without a match although an assignment exists.
    actual = [{"a": 1, "b": 2}, {"a": 1}]
    assert json_cmp(actual, [{"a": 1}, {"a": 1, "b": 2}]) is not None
    assert json_cmp(actual, [{"a": 1, "b": 2}, {"a": 1}]) is None


def test_exact() -> None:
    assert json_cmp({"a": [1, 2]}, {"a": [1, 2]}, exact=True) is None
    assert json_cmp({"a": [1, 2], "b": 1}, {"a": [1, 2]}, exact=True) is not None
    assert json_cmp({"a": [1, 2]}, {"a": [2, 1]}, exact=True) is not None


def test_inputs_are_not_modified() -> None:
    actual = {"l": [1, 2]}
    expected = {"l": ["__ordered__", 1, 2]}
    assert json_cmp(actual, expected) is None
    assert actual == {"l": [1, 2]} and expected == {"l": ["__ordered__", 1, 2]}
