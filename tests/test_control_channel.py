"""The control channel between libreal and the controller (docs/control-channel.md): the C side, the controller's
table of verbs and the page list the same messages, and the controller answers by its table."""

from __future__ import annotations

import array
import errno
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from realfish.runtime.broker import Broker
from realfish.runtime.controller import VERBS, Controller
from realfish.topology import Interface, Network, Router

ROOT = Path(__file__).resolve().parent.parent
SENDS = {"rf_ctl_request": "request", "rf_ctl_send": "message", "rf_ctl_send_fd": "message with a descriptor",
         "tell": "message"}


def sent_by_libreal() -> dict[str, set[tuple[str, str]]]:
    """Each verb libreal writes (`snprintf(buf, sizeof(buf), "VERB ...`, or netlink.c's growing text,
    `add(&msg, "VERB ...`), with the file and how the first call after it sends it. The zygotes' channel
    (zygote.c) is another one."""
    out: dict[str, set[tuple[str, str]]] = {}
    for path in sorted((ROOT / "native" / "src").glob("*.c")):
        if path.name == "zygote.c":
            continue
        text = path.read_text()
        for m in re.finditer(r'(?:snprintf\(\s*\w+\s*,\s*sizeof\(\w+\)\s*,|\badd\(&\w+,)\s*"([A-Z]{2,})\b', text):
            call = re.search(r"\b(rf_ctl_request|rf_ctl_send_fd|rf_ctl_send|tell)\(", text[m.end():])
            assert call, f"{path.name}: how is {m.group(1)} sent?"
            out.setdefault(m.group(1), set()).add((path.name, SENDS[call.group(1)]))
    return out


def documented() -> dict[str, str]:
    """The rows of the page's table of messages from daemons, by verb."""
    rows = {}
    for line in (ROOT / "docs" / "control-channel.md").read_text().splitlines():
        m = re.match(r"\| `([A-Z]{2,})[ `]", line)
        if m:
            rows[m.group(1)] = line
    return rows


def test_libreal_the_table_of_verbs_and_the_page_name_the_same_messages() -> None:
    sent = sent_by_libreal()
    assert len(sent) == 17  # the reader sees them all
    assert sorted(sent) == sorted(VERBS)
    for verb, senders in sent.items():
        kinds = {kind for _, kind in senders}
        assert len(kinds) == 1, (verb, senders)
        assert VERBS[verb].replies == (kinds == {"request"}), verb
        assert VERBS[verb].takes_fd == (kinds == {"message with a descriptor"}), verb
    rows = documented()
    assert sorted(rows) == sorted(VERBS)
    for verb, senders in sent.items():
        for file, _ in senders:
            assert f"`{file}`" in rows[verb], f"the page does not say that {file} sends {verb}"


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[tuple[Controller, socket.socket]]:
    net = Network()
    net.add_router(Router("r1", "hostname r1\n", interfaces={"eth0": Interface("eth0")}))
    ctl = Controller(Broker(net), str(tmp_path / "control.sock"))
    ctl.start()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(ctl.path)
    sock.settimeout(60)  # a reply that never comes fails the test instead of hanging it
    try:
        yield ctl, sock
    finally:
        sock.close()
        ctl.stop()


def ask(sock: socket.socket, text: str, fd: int | None = None) -> str:
    """A request and its reply, as libreal's rf_ctl_request makes it (the reply is the state waited for)."""
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))] if fd is not None else []
    sock.sendmsg([text.encode()], anc)
    return sock.recv(256).decode()


def test_the_controller_answers_by_its_table(channel: tuple[Controller, socket.socket]) -> None:
    ctl, sock = channel
    assert ask(sock, f"HELLO r1 bgpd {os.getpid()} -1") == "OK"
    assert ask(sock, "BIND 4 0.0.0.0 179") == "OK"
    assert ask(sock, "BIND 4 10.9.9.9 179") == f"ERR {errno.EADDRNOTAVAIL}"  # not the router's address
    # A request it cannot handle still gets an answer, or the daemon would wait for ever
    assert ask(sock, "BIND 4") == f"ERR {errno.EIO}"
    assert any("cannot handle b'BIND 4'" in line for line in ctl.log)
    # An unknown verb gets none: the next reply is the next request's
    sock.send(b"FROB 1")
    assert ask(sock, "BIND 4 * 0") == "OK"
    assert any("unknown message 'FROB 1'" in line for line in ctl.log)


def test_a_descriptor_on_a_verb_that_takes_none_is_closed(channel: tuple[Controller, socket.socket]) -> None:
    _, sock = channel
    assert ask(sock, f"HELLO r1 bgpd {os.getpid()} -1") == "OK"
    r, w = os.pipe()
    try:
        sock.sendmsg([b"UNTRACK 7"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r]))])
        os.close(r)
        assert ask(sock, "BIND 4 * 0") == "OK"  # UNTRACK was handled before it
        with pytest.raises(BrokenPipeError):  # no reader left: the controller kept no copy
            os.write(w, b"x")
    finally:
        os.close(w)
