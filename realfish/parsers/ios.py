"""Cisco IOS / IOS-XE: the language `CiscoLikeParser` reads, with IOS's defaults, which are its own."""

from __future__ import annotations

from realfish.parsers.ciscolike import CiscoLikeParser


class IosParser(CiscoLikeParser):
    FORMAT = "CISCO_IOS"
