"""What the service keeps, on disk under one data directory, laid out by network the way Batfish's coordinator
keeps it (names instead of ids):

    DATA/networks/NET/
      network.json                      {"name", "creationTimestamp"}
      objects/KEY                       network objects (put_network_object)
      node_roles.json                   node roles the user PUT (absent: the newest snapshot's inferred roles)
      reference_library/BOOK.json       reference books
      settings/CLASS.json               question settings per question class
      questions/QNAME.json              questions as pybatfish uploaded them
      answers/QNAME/SNAP/single.json    answers; ref-REF.json for a differential answer against REF
      snapshots/SNAP/
        metadata.json                   creation time, parent, initialization status, nodes and interfaces
        input/...                       the uploaded snapshot's top folder (input objects are keyed from here)
        objects/KEY                     snapshot objects
        dataplane.json                  what the routers computed (realfish.dataplane.Dataplane.save)
        worklogs/WORKID.log             the log of every work item run on the snapshot

Every name is stored as one safe path component (`_fs`). Errors are `NotFound` (HTTP 404) and `BadRequest`
(HTTP 400), each with a message for the user: a deterministic failure must never be a 5xx, which pybatfish
retries for minutes.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import shutil
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from realfish.clean import claim
from realfish.convert import extract_zip
from realfish.snapshot import SnapshotError
from realfish.status import FileStatus


class NotFound(LookupError):
    """Something named in the request does not exist (HTTP 404)."""


class BadRequest(ValueError):
    """The request cannot be honoured as it is (HTTP 400)."""


MAX_NAME = 150
# A name's file-name form must fit in one path component (255 bytes) with the longest suffix we add (ref-*.json).
_MAX_COMPONENT = 245
# Batfish's WorkMgr: these never count as the snapshot's top-level folder.
_IGNORED_TOP = {".DS_Store", ".DS_STORE", "__MACOSX", ".git", ".svn"}
# Batfish's validateSnapshotDir: at least one of these directories holds the devices.
_CONFIG_DIRS = ("configs", "hosts", "aws_configs", "sonic_configs", "azure_configs")

# Batfish's ProcessingStatus values, as listed in a snapshot's initializationMetadata.
UNINITIALIZED, PARSING, PARSED, PARSING_FAIL = "UNINITIALIZED", "PARSING", "PARSED", "PARSING_FAIL"
DATAPLANING, DATAPLANED, DATAPLANING_FAIL = "DATAPLANING", "DATAPLANED", "DATAPLANING_FAIL"


def _fs(name: str) -> str:
    """`name` as one path component: percent-encoded, dots too (so never `.` or `..`)."""
    component = quote(name, safe="").replace(".", "%2E") or "%00"
    if len(component) > _MAX_COMPONENT:  # non-ASCII characters and punctuation take 3-12 bytes each
        raise BadRequest(f"the name {name!r} is too long to store ({len(component)} bytes percent-encoded, at most "
                         f"{_MAX_COMPONENT}); use a shorter or plainer name")
    return component


def _unfs(component: str) -> str:
    return "" if component == "%00" else unquote(component)


def check_name(name: str | None, what: str) -> str:
    if not name:
        raise BadRequest(f"a {what} name is required")
    if len(name) > MAX_NAME:
        raise BadRequest(f"{what} name is longer than {MAX_NAME} characters")
    return name


def now_iso() -> str:
    """Batfish's creationTimestamp form: ISO-8601 in UTC with milliseconds."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write_json(path: Path, doc: Any) -> None:
    """Write atomically: a reader (another request thread) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, path)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


# -- snapshot archives -----------------------------------------------------------------------------------------


def unpack_zip(data: bytes, dest: Path, require_configs: bool = True) -> None:
    """Unpack a snapshot zip as Batfish does and copy its single top-level folder's contents into `dest`.

    Batfish's rules (WorkMgr.getSnapshotSubdir, validateSnapshotDir): after ignoring __MACOSX, .DS_Store, .git
    and .svn, the archive holds exactly one top-level folder (any name), which holds at least one of configs/,
    hosts/, aws_configs/, sonic_configs/, azure_configs/ (for an upload; a fork's added files need only the
    folder). Members that would land outside the folder, links and oversized members are skipped
    (realfish.convert's safe extraction) and listed in `skipped.notes`.
    """
    with tempfile.TemporaryDirectory(prefix="realfish-upload-") as tmp:
        claim(Path(tmp))  # `realfish clean` must not take it from under a live upload
        archive = Path(tmp) / "upload.zip"
        archive.write_bytes(data)
        if not zipfile.is_zipfile(archive):
            raise BadRequest("the upload is not a zip archive (pybatfish zips a snapshot directory for you; "
                             "a zip file's path works too)")
        out = Path(tmp) / "unzipped"
        out.mkdir()
        skipped = FileStatus("upload.zip", "ZIP")
        try:
            extract_zip(archive, out, skipped)
        except SnapshotError as e:
            raise BadRequest(f"cannot unpack the snapshot zip: {e}") from None
        tops = [p for p in out.iterdir() if p.name not in _IGNORED_TOP]
        if len(tops) != 1 or not tops[0].is_dir():
            found = ", ".join(sorted(p.name + ("/" if p.is_dir() else "") for p in tops)) or "nothing"
            raise BadRequest("Unexpected packaging of snapshot. There should be just one top-level folder "
                             f"(found: {found}); e.g. snapshot/configs/r1.cfg")
        top = tops[0]
        if require_configs and not any((top / d).is_dir() for d in _CONFIG_DIRS):
            raise BadRequest("Unexpected packaging of snapshot. At least one of these directories must exist: "
                             + ", ".join(f"{top.name}/{d}" for d in _CONFIG_DIRS))
        if skipped.notes:
            raise BadRequest("the snapshot zip has members realfish will not unpack: "
                             + "; ".join(str(n) for n in skipped.notes))
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copytree(top, dest, dirs_exist_ok=True)


def fork_inputs(base_input: Path, dest: Path, bean: dict[str, Any]) -> None:
    """The forked snapshot's input files, as Batfish's WorkMgr.forkSnapshot makes them: the base's files, the
    zip's top folder over them, then the deactivations: interfaces line-down in batfish/runtime_data.json
    (restored ones line-up; the legacy interface_blacklist moves there too), nodes in node_blacklist."""
    shutil.copytree(base_input, dest)
    if bean.get("zipFile"):
        try:
            data = base64.b64decode(bean["zipFile"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise BadRequest("zipFile is not base64") from None
        unpack_zip(data, dest, require_configs=False)
    runtime = dest / "batfish" / "runtime_data.json"
    if (dest / "runtime_data.json").is_file():
        runtime.parent.mkdir(exist_ok=True)
        shutil.move(dest / "runtime_data.json", runtime)

    def pairs(key: str) -> list[tuple[str, str]]:
        out = []
        for p in bean.get(key) or []:
            if not isinstance(p, dict) or not p.get("hostname") or not p.get("interface"):
                raise BadRequest(f"{key}: each interface is {{\"hostname\", \"interface\"}}")
            out.append((str(p["hostname"]).lower(), str(p["interface"])))
        return out

    down, up = pairs("deactivateInterfaces"), pairs("restoreInterfaces")
    legacy = dest / "interface_blacklist"
    if legacy.is_file():
        try:
            down += [(str(p["hostname"]).lower(), str(p["interface"])) for p in _read_json(legacy)]
        except (ValueError, KeyError, TypeError):
            pass  # as Batfish: an unreadable legacy blacklist is dropped
        legacy.unlink()
    if down or up:
        doc: Any = {}
        if runtime.is_file():
            try:
                doc = _read_json(runtime)
            except ValueError:
                doc = {}  # as Batfish: unreadable runtime data is replaced
        if not isinstance(doc, dict) or not isinstance(doc.get("runtimeData"), dict):
            doc = {"runtimeData": {}}
        for (host, name), line_up in [(p, False) for p in down] + [(p, True) for p in up]:
            node = doc["runtimeData"].setdefault(host, {})
            node.setdefault("interfaces", {}).setdefault(name, {})["lineUp"] = line_up
        _write_json(runtime, doc)

    blacklist = dest / "node_blacklist"
    nodes: list[str] = []
    if blacklist.is_file():
        try:
            nodes = [str(n) for n in _read_json(blacklist)]
        except (ValueError, TypeError):
            raise BadRequest("the base snapshot's node_blacklist is not a JSON list") from None
    add = [str(n) for n in bean.get("deactivateNodes") or []]
    restore = [str(n) for n in bean.get("restoreNodes") or []]
    missing = [n for n in restore if n not in nodes]
    if missing:
        raise BadRequest(f"cannot restore node(s) {missing}: not deactivated in snapshot "
                         f"{bean.get('snapshotBase')!r}")
    if add or restore:
        nodes = [n for n in nodes + add if n not in restore]
        _write_json(blacklist, nodes)


# -- the store -------------------------------------------------------------------------------------------------


class Store:
    """Networks, snapshots and everything attached to them, under `root`. Safe to call from any thread."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        (self.root / "networks").mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()

    # -- networks ----------------------------------------------------------------------------------------------
    def _net(self, network: str) -> Path:
        d = self.root / "networks" / _fs(check_name(network, "network"))
        if not (d / "network.json").is_file():
            raise NotFound(f"network {network!r} does not exist")
        return d

    def networks(self) -> list[str]:
        base = self.root / "networks"
        return sorted(_unfs(d.name) for d in base.iterdir() if (d / "network.json").is_file())

    def create_network(self, network: str) -> None:
        with self.lock:
            d = self.root / "networks" / _fs(check_name(network, "network"))
            if (d / "network.json").is_file():
                raise BadRequest(f"network {network!r} already exists")
            _write_json(d / "network.json", {"name": network, "creationTimestamp": now_iso()})

    def network(self, network: str) -> dict[str, Any]:
        """Batfish's Container: the name and the snapshots (testrigs)."""
        self._net(network)
        return {"name": network, "testrigs": self.snapshots(network)}

    def delete_network(self, network: str) -> None:
        with self.lock:
            d = self._net(network)
            (d / "network.json").unlink()  # gone for every reader at once, then the rest
            shutil.rmtree(d, ignore_errors=True)

    # -- snapshots ---------------------------------------------------------------------------------------------
    def _snap(self, network: str, snapshot: str) -> Path:
        d = self._net(network) / "snapshots" / _fs(check_name(snapshot, "snapshot"))
        if not (d / "metadata.json").is_file():
            raise NotFound(f"snapshot {snapshot!r} does not exist in network {network!r}")
        return d

    def snapshot_dir(self, network: str, snapshot: str) -> Path:
        return self._snap(network, snapshot)

    def input_dir(self, network: str, snapshot: str) -> Path:
        return self._snap(network, snapshot) / "input"

    def has_snapshot(self, network: str, snapshot: str) -> bool:
        try:
            self._snap(network, snapshot)
            return True
        except NotFound:
            return False

    def snapshots(self, network: str) -> list[str]:
        """Newest first (creation time, then name, both descending), as Batfish lists them."""
        base = self._net(network) / "snapshots"
        if not base.is_dir():
            return []
        metas = []
        for d in base.iterdir():
            if d.name.startswith("."):
                continue  # a snapshot being created (add_snapshot's staging directory)
            try:
                m = _read_json(d / "metadata.json")
            except (OSError, ValueError):
                continue  # being created or deleted
            metas.append((m.get("createdNs", 0), m["name"]))
        return [name for _, name in sorted(metas, reverse=True)]

    def add_snapshot(self, network: str, snapshot: str, fill: Any, parent: str | None = None) -> None:
        """Create `snapshot` from `fill(input_dir)`, which writes the input files (and raises BadRequest if it
        cannot). The snapshot appears only once it is complete. Filling (unpacking an upload, copying a fork's
        base) runs outside the store's lock, so a large upload holds up no other request or work item."""
        base = self._net(network) / "snapshots"
        final = base / _fs(check_name(snapshot, "snapshot"))

        def check_new() -> None:
            if (final / "metadata.json").is_file():
                raise BadRequest(f"snapshot {snapshot!r} already exists in network {network!r}")

        check_new()
        base.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".new-", dir=base))
        try:
            fill(staging / "input")
            (staging / "input").mkdir(exist_ok=True)
            with self.lock:
                self._net(network)  # not deleted meanwhile
                check_new()  # nor created by another request
                meta = {"name": snapshot, "creationTimestamp": now_iso(), "createdNs": time.time_ns(),
                        "parentSnapshotId": parent,
                        "initializationMetadata": {"currentStatus": UNINITIALIZED, "errMessage": None,
                                                   "statusHistory": [UNINITIALIZED]},
                        "nodes": [], "interfaces": {}}
                _write_json(staging / "metadata.json", meta)
                shutil.rmtree(final, ignore_errors=True)  # a half-deleted earlier snapshot of that name
                os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def delete_snapshot(self, network: str, snapshot: str) -> None:
        with self.lock:
            d = self._snap(network, snapshot)
            (d / "metadata.json").unlink()
            shutil.rmtree(d, ignore_errors=True)
            # Its answers go too: a later snapshot of the same name must not see them.
            answers = self._net(network) / "answers"
            for qdir in answers.iterdir() if answers.is_dir() else []:
                shutil.rmtree(qdir / _fs(snapshot), ignore_errors=True)
                for f in qdir.glob(f"*/ref-{_fs(snapshot)}.json"):
                    f.unlink(missing_ok=True)

    def metadata(self, network: str, snapshot: str) -> dict[str, Any]:
        return dict(_read_json(self._snap(network, snapshot) / "metadata.json"))

    def update_metadata(self, network: str, snapshot: str, status: str | None = None,
                        err: str | None = None, **fields: Any) -> None:
        """Set the initialization status (appended to the history) and/or other metadata fields."""
        with self.lock:
            path = self._snap(network, snapshot) / "metadata.json"
            meta = _read_json(path)
            if status is not None:
                init = meta["initializationMetadata"]
                init["currentStatus"] = status
                init["errMessage"] = err
                init["statusHistory"].append(status)
            meta.update(fields)
            _write_json(path, meta)

    def snapshot_entry(self, network: str, snapshot: str) -> dict[str, Any]:
        """Batfish's SnapshotMetadataEntry (the verbose snapshot list)."""
        m = self.metadata(network, snapshot)
        return {"name": snapshot, "metadata": {k: m[k] for k in
                                               ("creationTimestamp", "initializationMetadata", "parentSnapshotId")}}

    def input_object(self, network: str, snapshot: str, key: str) -> Path:
        """An uploaded file, keyed by its path under the snapshot's top folder (e.g. configs/r1.cfg)."""
        base = self.input_dir(network, snapshot).resolve()
        path = (base / key).resolve()
        if not key or not path.is_relative_to(base) or not path.is_file():
            raise NotFound(f"snapshot {snapshot!r} has no input file {key!r}")
        return path

    # -- objects (network and snapshot) ------------------------------------------------------------------------
    def _objects(self, network: str, snapshot: str | None) -> Path:
        return (self._snap(network, snapshot) if snapshot is not None else self._net(network)) / "objects"

    def put_object(self, network: str, snapshot: str | None, key: str, data: bytes) -> None:
        d = self._objects(network, snapshot)
        d.mkdir(exist_ok=True)
        tmp = d / f".{threading.get_ident()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, d / _fs(check_name(key, "object key")))

    def get_object(self, network: str, snapshot: str | None, key: str) -> bytes:
        path = self._objects(network, snapshot) / _fs(check_name(key, "object key"))
        if not path.is_file():
            raise NotFound(f"no object with key {key!r}")
        return path.read_bytes()

    def delete_object(self, network: str, snapshot: str | None, key: str) -> None:
        path = self._objects(network, snapshot) / _fs(check_name(key, "object key"))
        if not path.is_file():
            raise NotFound(f"no object with key {key!r}")
        path.unlink()

    # -- questions and answers ---------------------------------------------------------------------------------
    def put_question(self, network: str, name: str, question: dict[str, Any]) -> None:
        _write_json(self._net(network) / "questions" / f"{_fs(check_name(name, 'question'))}.json", question)

    def question(self, network: str, name: str) -> dict[str, Any]:
        path = self._net(network) / "questions" / f"{_fs(check_name(name, 'question'))}.json"
        if not path.is_file():
            raise NotFound(f"question {name!r} does not exist in network {network!r}")
        return dict(_read_json(path))

    def question_names(self, network: str) -> list[str]:
        d = self._net(network) / "questions"
        return sorted(_unfs(f.name[:-5]) for f in d.glob("*.json")) if d.is_dir() else []

    def delete_question(self, network: str, name: str) -> None:
        self.question(network, name)
        (self._net(network) / "questions" / f"{_fs(name)}.json").unlink()
        shutil.rmtree(self._net(network) / "answers" / _fs(name), ignore_errors=True)

    def _answer_path(self, network: str, question: str, snapshot: str, reference: str | None) -> Path:
        leaf = f"ref-{_fs(reference)}.json" if reference else "single.json"
        return self._net(network) / "answers" / _fs(check_name(question, "question")) / _fs(snapshot) / leaf

    def put_answer(self, network: str, question: str, snapshot: str, reference: str | None,
                   answer: dict[str, Any]) -> None:
        _write_json(self._answer_path(network, question, snapshot, reference), answer)

    def answer(self, network: str, question: str, snapshot: str, reference: str | None) -> dict[str, Any]:
        """The stored answer, if it answers the question as it is now: like Batfish, which keys answers by the
        question's content, a question PUT again with other parameters has no answer until it is asked."""
        current = self.question(network, question)
        self._snap(network, snapshot)
        if reference:
            self._snap(network, reference)
        path = self._answer_path(network, question, snapshot, reference)
        doc = dict(_read_json(path)) if path.is_file() else None
        if doc is None or doc.get("question") != current:
            against = f" against reference snapshot {reference!r}" if reference else ""
            raise NotFound(f"question {question!r} has no answer for snapshot {snapshot!r}{against} (ask it "
                           "first; an answer that failed leaves its reason in the work log)")
        return doc

    # -- node roles --------------------------------------------------------------------------------------------
    def node_roles(self, network: str) -> dict[str, Any] | None:
        """The node roles the user PUT, or None."""
        path = self._net(network) / "node_roles.json"
        return dict(_read_json(path)) if path.is_file() else None

    def put_node_roles(self, network: str, data: dict[str, Any]) -> None:
        _write_json(self._net(network) / "node_roles.json", data)

    # -- reference library -------------------------------------------------------------------------------------
    def books(self, network: str) -> list[dict[str, Any]]:
        d = self._net(network) / "reference_library"
        return [_read_json(f) for f in sorted(d.glob("*.json"))] if d.is_dir() else []

    def book(self, network: str, name: str) -> dict[str, Any]:
        path = self._net(network) / "reference_library" / f"{_fs(check_name(name, 'reference book'))}.json"
        if not path.is_file():
            raise NotFound(f"reference book {name!r} does not exist in network {network!r}")
        return dict(_read_json(path))

    def put_book(self, network: str, book: dict[str, Any]) -> None:
        name = check_name(book.get("name"), "reference book")
        _write_json(self._net(network) / "reference_library" / f"{_fs(name)}.json", book)

    def delete_book(self, network: str, name: str) -> None:
        self.book(network, name)
        (self._net(network) / "reference_library" / f"{_fs(name)}.json").unlink()

    # -- question settings -------------------------------------------------------------------------------------
    def settings(self, network: str, question_class: str) -> dict[str, Any] | None:
        path = self._net(network) / "settings" / f"{_fs(check_name(question_class, 'question class'))}.json"
        return dict(_read_json(path)) if path.is_file() else None

    def put_settings(self, network: str, question_class: str, doc: dict[str, Any]) -> None:
        _write_json(self._net(network) / "settings" / f"{_fs(check_name(question_class, 'question class'))}.json",
                    doc)

    # -- work logs ---------------------------------------------------------------------------------------------
    def write_log(self, network: str, snapshot: str, work_id: str, text: str) -> None:
        try:
            d = self._snap(network, snapshot) / "worklogs"
        except NotFound:
            return  # deleted while the work ran
        d.mkdir(exist_ok=True)
        (d / f"{_fs(work_id)}.log").write_text(text)

    def read_log(self, network: str, snapshot: str, work_id: str) -> str | None:
        path = self._snap(network, snapshot) / "worklogs" / f"{_fs(work_id)}.log"
        return path.read_text() if path.is_file() else None
