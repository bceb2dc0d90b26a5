"""Vendor parsers: config text -> `realfish.model.Device` plus a per-line `realfish.status.FileStatus`.

- detect.py: which format a file is in (Batfish's detector, plus plain FRR)
- tree.py: IOS-style text as a tree of lines with line numbers
- ciscolike.py: the language IOS, EOS and FRR share (`CiscoLikeParser`), which each dialect subclasses
- ios.py: Cisco IOS/IOS-XE (its defaults are the shared reader's)
- eos.py: Arista EOS (the shared reader, EOS defaults)
- frrconf.py: FRR's frr.conf (run as written; the model is read from it)
- cumulus.py: Cumulus concatenated files (hostname + interfaces + ports.conf + frr.conf)
- sonic.py: SONiC (config_db.json + frr.conf)
- host.py: Batfish host files and iptables-save files

The IOS-style hierarchy is built by tree.py (70 lines) rather than ciscoconfparse2: tried (0.9.18), it takes
about 3 s to import, pulls in loguru/typeguard/rich/hier_config, writes coloured tracebacks to the console
when it meets odd input, and raises on some (its own slicing failed a typeguard check; ciscoconfparse 1.9
raises ValueError on stray braces): the fuzz test's "nothing crashes, stays fast" could not hold. hier_config
drops line numbers, which the parse status needs.

`parse_config` never raises: a parser that fails on some input yields status FAILED with the reason.
"""

from __future__ import annotations

import logging

from realfish.model import Device
from realfish.parsers.detect import SUPPORTED, detect_format
from realfish.status import EMPTY, FAILED, UNKNOWN, UNSUPPORTED, FileStatus

log = logging.getLogger(__name__)


def parse_config(text: str, file: str, fmt: str | None = None) -> tuple[Device | None, FileStatus]:
    """Parse one file of configs/ (format detected unless given)."""
    from realfish.parsers.cumulus import parse_cumulus
    from realfish.parsers.eos import EosParser
    from realfish.parsers.frrconf import FrrParser
    from realfish.parsers.ios import IosParser

    fmt = fmt or detect_format(text)
    st = FileStatus(file, fmt, lines=len(text.splitlines()))
    if fmt == "EMPTY":
        st.status = EMPTY
        return None, st
    if fmt == "UNKNOWN":
        st.status = UNKNOWN
        st.note(None, "warning", "", "file format not recognized (no IOS, EOS, FRR, Cumulus or other signature)")
        return None, st
    if fmt not in SUPPORTED or fmt in ("HOST", "IPTABLES", "SONIC"):
        st.status = UNSUPPORTED
        st.note(None, "warning", "", f"format {fmt} is recognized but realfish has no parser for it yet")
        return None, st
    try:
        if fmt == "CUMULUS_CONCATENATED":
            dev, st = parse_cumulus(text, file, st)
        else:
            cls = {"CISCO_IOS": IosParser, "ARISTA": EosParser, "FRR": FrrParser}[fmt]
            dev = cls(text, file, st).parse()
            st.format = fmt
    except RecursionError:
        st.fail("the config is nested too deeply to read")
        return None, st
    except Exception as e:  # never crash on a user's file: report it
        log.exception("parser failed on %s", file)
        st.fail(f"parser failed: {type(e).__name__}: {e}")
        return None, st
    if st.status == FAILED:
        return None, st
    return dev, st
