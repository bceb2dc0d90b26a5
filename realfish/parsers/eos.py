"""Arista EOS: the IOS language with EOS's own defaults and a few commands of its own.

Differences from IOS that change behaviour, and how they are kept:
- BGP administrative distances are 200 for eBGP, iBGP and local routes (IOS: 20/200/200): rendered as
  `distance bgp 200 200 200` unless the config sets them.
- Ethernet ports are layer-2 switchports unless `no switchport` or `switchport default mode routed`.
- `maximum-paths N ecmp M` sets one limit for eBGP and iBGP paths.
- IPv6 neighbors are not active in IPv4 unicast unless `bgp default ipv4-unicast transport ipv6` (IOS: they are).
- `ip address A/P` (CIDR) and `interface Ethernet1` (a name that is already Linux-safe) are read as such.
EOS-only management commands (`management api`, `daemon`, `transceiver`, ...) are ignored like IOS's.
"""

from __future__ import annotations

from realfish.parsers.ciscolike import CiscoLikeParser


class EosParser(CiscoLikeParser):
    FORMAT = "ARISTA"
    BGP_DISTANCES = (200, 200, 200)
    IPV4_UNICAST_OVER_IPV6 = False

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.switchport_default = True
