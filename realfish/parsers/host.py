"""Batfish hosts: `hosts/NAME.json` (interfaces, default gateway, iptables file) and `iptables/*.iptables`.

A host becomes an end host in the emulation: a Linux box running only zebra and staticd, with its
interfaces, their addresses and a default route to its gateway, so traceroute can start from it and reach
it. Its iptables rules are kept in the model (`Device.iptables`) for the answerers; FRR has no firewall.

host.json (Batfish's format)::

    {"hostname": "host1", "iptablesFile": "iptables/host1.iptables",
     "hostInterfaces": {"eth0": {"name": "eth0", "prefix": "2.128.0.101/24", "gateway": "2.128.0.1"}}}
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from realfish.model import Device, IptablesRule, StaticRoute
from realfish.status import FileStatus


def _line_of(text: str, needle: str) -> int | None:
    pos = text.find(needle)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def parse_host(text: str, file: str, fallback_name: str) -> tuple[Device | None, FileStatus]:
    st = FileStatus(file, "HOST")
    st.lines = len(text.splitlines())
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as e:
        st.fail(f"invalid JSON: {e.msg} (column {e.colno})", e.lineno)
        return None, st
    if not isinstance(doc, dict):
        st.fail("a host file holds one JSON object", 1)
        return None, st
    name = doc.get("hostname")
    if not isinstance(name, str) or not name:
        st.note(1, "warning", "", f"no \"hostname\": named after the file ({fallback_name})")
        name = fallback_name
    dev = Device(hostname=name.lower(), format="HOST", source=file, kind="host", original_hostname=name)
    st.note(_line_of(text, '"hostname"'), "translated", f"hostname {name}")
    ifaces = doc.get("hostInterfaces", {})
    if not isinstance(ifaces, dict):
        st.note(_line_of(text, '"hostInterfaces"'), "error", "hostInterfaces", "expected an object")
        ifaces = {}
    for key, spec in ifaces.items():
        line = _line_of(text, json.dumps(key))
        if not isinstance(spec, dict):
            st.note(line, "error", str(key), "expected an object with name, prefix, gateway")
            continue
        iname = str(spec["name"]) if isinstance(spec.get("name"), str) else str(key)
        iface = dev.interface(iname, line, kind="physical")
        try:
            if spec.get("prefix") is not None:
                iface.addresses.append(ipaddress.IPv4Interface(str(spec["prefix"])))
            if spec.get("gateway") is not None:
                gw = ipaddress.IPv4Address(str(spec["gateway"]))
                if dev.default_gateway is None:
                    dev.default_gateway = gw
                    dev.static_routes.append(StaticRoute(ipaddress.IPv4Network("0.0.0.0/0"), gw, iname, line=line))
            st.note(line, "translated", f"interface {iname}")
        except ValueError as e:
            st.note(line, "error", f"interface {iname}", f"invalid value, skipped: {e}")
        if spec.get("shutdown") is True:
            iface.shutdown = True
        extra = set(spec) - {"name", "prefix", "gateway", "shutdown", "otherPrefixes"}
        if extra:
            st.note(line, "unsupported", f"interface {iname}", f"fields not modelled: {', '.join(sorted(extra))}")
    ipt = doc.get("iptablesFile")
    if isinstance(ipt, str):
        dev.iptables_file = ipt
        st.note(_line_of(text, '"iptablesFile"'), "translated", f"iptablesFile {ipt}",
                "rules kept in the model for the answerers")
    extra = set(doc) - {"hostname", "hostInterfaces", "iptablesFile", "hostType", "overlay"}
    for k in sorted(extra):
        st.note(_line_of(text, json.dumps(k)), "unsupported", k, "host field not modelled")
    st.nodes = [dev.hostname]
    return dev, st


def parse_iptables(text: str, file: str) -> tuple[list[IptablesRule], FileStatus]:
    """iptables-save output: `*table`, `:CHAIN POLICY [..]`, `-A CHAIN ...`, `COMMIT`."""
    st = FileStatus(file, "IPTABLES")
    st.lines = len(text.splitlines())
    rules: list[IptablesRule] = []
    table = "filter"
    for i, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s:
            continue
        if s.startswith("#"):
            st.note(i, "ignored", s, "comment")
        elif s.startswith("*"):
            table = s[1:]
            st.note(i, "translated", s)
        elif s.startswith(":"):
            parts = s[1:].split()
            rules.append(IptablesRule(table, parts[0], f"-P {parts[0]} {parts[1] if len(parts) > 1 else '-'}", i))
            st.note(i, "translated", s, "chain policy")
        elif s.startswith(("-A ", "-I ", "-N ")):
            rules.append(IptablesRule(table, s.split()[1] if len(s.split()) > 1 else "", s, i))
            st.note(i, "translated", s, "kept for the answerers (FRR has no firewall)")
        elif s == "COMMIT":
            st.note(i, "ignored", s, "end of table")
        else:
            st.note(i, "unrecognized", s, "This syntax is unrecognized")
    st.nodes = [file]  # as Batfish reports an iptables file: a node named after the file
    return rules, st
