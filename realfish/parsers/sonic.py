"""SONiC, as Batfish takes it: `sonic_configs/<device>/` holding `config_db.json` and `frr.conf`.

config_db.json gives the hostname (DEVICE_METADATA.localhost.hostname) and the layer-3 interfaces:
INTERFACE, LOOPBACK_INTERFACE, VLAN_INTERFACE and PORTCHANNEL_INTERFACE keys `NAME|A/P`, with PORT's mtu and
admin_status. frr.conf is read by `FrrParser` and runs as written; as for Cumulus, the interface addresses
are rendered into the FRR config because on a real switch they reach zebra from the kernel.

JSON keeps no line numbers: a note about a table or key points at the line where its name first appears.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from realfish.model import Device, InterfaceKind
from realfish.parsers.frrconf import FrrParser
from realfish.status import FileStatus

_KINDS: dict[str, InterfaceKind] = {"LOOPBACK_INTERFACE": "loopback", "VLAN_INTERFACE": "vlan",
                                    "PORTCHANNEL_INTERFACE": "aggregate"}
_L3_TABLES = ("INTERFACE", "LOOPBACK_INTERFACE", "VLAN_INTERFACE", "PORTCHANNEL_INTERFACE")
_IGNORED_TABLES = {"NTP_SERVER", "SYSLOG_SERVER", "TACPLUS_SERVER", "TACPLUS", "AAA", "SNMP", "SNMP_COMMUNITY",
                   "SNMP_LOCATION", "FEATURE", "FLEX_COUNTER_TABLE", "CRM", "BUFFER_POOL", "BUFFER_PROFILE",
                   "BUFFER_PG", "BUFFER_QUEUE", "QUEUE", "SCHEDULER", "WRED_PROFILE", "DSCP_TO_TC_MAP",
                   "TC_TO_QUEUE_MAP", "TC_TO_PRIORITY_GROUP_MAP", "PORT_QOS_MAP", "CABLE_LENGTH",
                   "MAP_PFC_PRIORITY_TO_QUEUE", "DEFAULT_LOSSLESS_BUFFER_PARAMETER", "LOSSLESS_TRAFFIC_PATTERN",
                   "MGMT_INTERFACE", "MGMT_PORT", "MGMT_VRF_CONFIG", "DEVICE_NEIGHBOR", "DEVICE_NEIGHBOR_METADATA",
                   "KDUMP", "RESTAPI", "TELEMETRY", "CONSOLE_PORT", "CONSOLE_SWITCH", "VERSIONS", "NTP",
                   "SYSLOG_CONFIG", "LOGGER", "BREAKOUT_CFG", "PASSW_HARDENING", "SYSTEM_DEFAULTS", "DHCP_SERVER",
                   "DHCP_RELAY", "BGP_DEVICE_GLOBAL", "BGP_MONITORS", "BGP_PEER_RANGE", "BGP_NEIGHBOR",
                   "BGP_INTERNAL_NEIGHBOR", "STATIC_ROUTE", "WATERMARK_TABLE", "PFC_WD", "COPP_TABLE"}
_L2_TABLES = {"VLAN", "VLAN_MEMBER", "PORTCHANNEL", "PORTCHANNEL_MEMBER", "VXLAN_TUNNEL", "VXLAN_TUNNEL_MAP",
              "MCLAG_DOMAIN", "MCLAG_INTERFACE", "ACL_TABLE", "ACL_RULE", "MIRROR_SESSION", "VRF", "NAT"}


def _line_of(text: str, needle: str) -> int | None:
    pos = text.find(needle)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def parse_config_db(text: str, file: str, device: Device, status: FileStatus) -> None:
    status.lines = len(text.splitlines())
    try:
        db: Any = json.loads(text)
    except json.JSONDecodeError as e:
        status.fail(f"invalid JSON: {e.msg} (column {e.colno})", e.lineno)
        return
    if not isinstance(db, dict):
        status.fail("config_db.json must hold a JSON object of tables", 1)
        return
    meta = db.get("DEVICE_METADATA", {})
    host = meta.get("localhost", {}).get("hostname") if isinstance(meta, dict) and isinstance(
        meta.get("localhost"), dict) else None
    if isinstance(host, str) and host:
        device.hostname, device.original_hostname = host.lower(), host
        status.note(_line_of(text, '"hostname"'), "translated", f"hostname {host}")
    ports = db.get("PORT", {}) if isinstance(db.get("PORT"), dict) else {}
    for table, rows in db.items():
        line = _line_of(text, json.dumps(table))
        if not isinstance(rows, dict):
            status.note(line, "error", table, "a table must be a JSON object")
            continue
        if table in _L3_TABLES:
            for key in rows:
                name, _, addr = str(key).partition("|")
                kind = _KINDS.get(table)
                iface = device.interface(name, _line_of(text, json.dumps(key)), kind=kind)
                if addr:
                    try:
                        iface.addresses.append(ipaddress.ip_interface(addr))
                        status.note(_line_of(text, json.dumps(key)), "translated", f"{table} {key}")
                    except ValueError as e:
                        status.note(_line_of(text, json.dumps(key)), "error", f"{table} {key}", str(e))
        elif table == "PORT":
            for name, attrs in rows.items():
                iface = device.interface(name, _line_of(text, json.dumps(name)))
                if isinstance(attrs, dict):
                    mtu = attrs.get("mtu")
                    if isinstance(mtu, str | int) and str(mtu).isdigit():
                        iface.mtu = int(mtu)
                    iface.shutdown = attrs.get("admin_status", "up") != "up"
                    if isinstance(attrs.get("description"), str):
                        iface.description = attrs["description"]
                    speed = attrs.get("speed")  # Mb/s: the port's link speed, which zebra reads
                    if isinstance(speed, str | int) and str(speed).isdigit() and int(speed) > 0:
                        iface.speed_kbps = int(speed) * 1000
            status.note(line, "translated", table, "ports: mtu, admin status, speed")
        elif table == "DEVICE_METADATA":
            status.note(line, "translated", table, "hostname (other metadata has no effect on routing)")
        elif table in _L2_TABLES:
            status.note(line, "unsupported", table, "layer-2 features, VRFs and ACL tables of SONiC are not "
                        "emulated yet")
        elif table in _IGNORED_TABLES:
            why = "the BGP config comes from frr.conf" if table.startswith("BGP") else "no effect on routing"
            status.note(line, "ignored", table, why)
        else:
            status.note(line, "unsupported", table, "SONiC table not modelled")
    for name in ports:
        if name in device.interfaces and not device.interfaces[name].addresses:
            device.interfaces[name].kind = "physical"


def parse_sonic(config_db: tuple[str, str] | None, frr: tuple[str, str] | None,
                fallback_name: str) -> tuple[Device, list[FileStatus]]:
    """(file, text) of config_db.json and frr.conf -> the device and one status per file."""
    source = (config_db or frr or ("", ""))[0]
    device = Device(hostname="", format="SONIC", source=source)
    statuses = []
    if config_db is not None:
        st = FileStatus(config_db[0], "SONIC")
        parse_config_db(config_db[1], config_db[0], device, st)
        statuses.append(st)
    if frr is not None:
        st = FileStatus(frr[0], "SONIC")
        first = (device.hostname, device.original_hostname)
        FrrParser(frr[1], frr[0], st, device=device).parse()
        st.format = "SONIC"
        if first[0]:
            device.hostname, device.original_hostname = first
        statuses.append(st)
    device.format = "SONIC"
    if not device.hostname:
        device.hostname, device.original_hostname = fallback_name.lower(), fallback_name
    return device, statuses
