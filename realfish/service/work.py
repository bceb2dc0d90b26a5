"""Background work, as Batfish's coordinator runs it: pybatfish POSTs a work item and polls its status.

Three kinds of work item (by their requestParams):
- parse (`init_snapshot`, `fork_snapshot`): convert the snapshot and converge it under the emulation
  (`realfish.convergence.analyse`, as the CLI does; `ParseSteps` is this service's side of it) and keep what the
  routers computed: in memory as a `SnapshotState`, on disk as dataplane.json next to the snapshot;
- dp (`generate_dataplane`): make sure the snapshot has been converged;
- answer: `realfish.answers.answer(question, snapshot, reference)`, stored for GET .../answer.

Parse work runs on one thread, and only one convergence runs at a time (`_converging`); answers run on their own
threads, so an answer never waits behind another snapshot's convergence, only behind its own snapshot's.
Only the most recently used snapshots' states stay in memory (MAX_STATES); one that is not there (dropped, or
the service restarted on the same data directory) is rebuilt from its input and its saved dataplane.json, or
parsed then if it never was.

Status codes are Batfish's WorkStatusCode values; a failure is TERMINATEDABNORMALLY with the reason in the
work log, which pybatfish fetches and shows. A parse ends normally whenever Batfish's would: files that do not
parse are reported by fileParseStatus/initIssues. A run that went wrong ends the parse work abnormally, saying
why (pybatfish's init_snapshot raises with the log): a convergence that fails (the snapshot is then
DATAPLANING_FAIL and questions that need the routers' tables fail with that reason), and one that did not converge
as configured (a daemon died, the run hit its limit: the tables are kept, initIssues lists the failure).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import itertools
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realfish import explore
from realfish.answers.state import SnapshotState
from realfish.convergence import Steps, analyse
from realfish.convert import ConvertedSnapshot, convert_snapshot
from realfish.dataplane import Dataplane
from realfish.progress import Progress
from realfish.service.store import (
    DATAPLANED,
    DATAPLANING,
    DATAPLANING_FAIL,
    PARSED,
    PARSING,
    PARSING_FAIL,
    BadRequest,
    NotFound,
    Store,
    check_name,
)
from realfish.snapshot import SnapshotError

UNASSIGNED, ASSIGNED = "UNASSIGNED", "ASSIGNED"
TERMINATEDNORMALLY, TERMINATEDABNORMALLY = "TERMINATEDNORMALLY", "TERMINATEDABNORMALLY"
TERMINAL = {TERMINATEDNORMALLY, TERMINATEDABNORMALLY, "TERMINATEDBYUSER", "ASSIGNMENTERROR", "REQUEUEFAILURE"}
_TASK_STATUS = {UNASSIGNED: "Unassigned", ASSIGNED: "InProgress", TERMINATEDNORMALLY: "TerminatedNormally",
                TERMINATEDABNORMALLY: "TerminatedAbnormally"}


class Shutdown(BaseException):
    """Raised inside a worker thread when the service stops: it unwinds the emulation's `with`, which stops
    every daemon it started."""


class WorkFailed(Exception):
    """The work cannot be done; the message is the reason the user reads in the work log."""


_workers = itertools.count(1)
# Snapshot states kept in memory (each holds its parsed configs and routing tables; a large network's take
# hundreds of MB); the others are rebuilt from their input and saved dataplane.json when asked for.
MAX_STATES = 8


def _ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Work:
    item: dict[str, Any]  # the work item as pybatfish posted it
    network: str
    snapshot: str
    kind: str  # parse | dp | answer
    status: str = UNASSIGNED
    obtained: int | None = None
    terminated: int | None = None
    batches: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    thread: int | None = None  # ident of the thread running it
    converging: bool = False  # the emulation runs (convergence.compute's window): the only place a stop interrupts

    @property
    def id(self) -> str:
        return str(self.item["id"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.item.get("requestParams") or {})

    def log(self, line: str) -> None:
        self.lines.append(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}")

    def batch(self, description: str) -> None:
        """A step, as Batfish reports its progress (pybatfish prints the last one at INFO level)."""
        self.batches.append({"description": description, "size": 0, "completed": 0, "startDate": _ms()})
        self.log(description)

    def to_json(self) -> dict[str, Any]:
        """Batfish's WorkStatus: the item, the status code and the task (its steps)."""
        task = {"args": [], "batches": self.batches, "obtained": self.obtained, "terminated": self.terminated,
                "status": _TASK_STATUS.get(self.status, self.status), "errMessage": None}
        return {"workitem": self.item, "workstatuscode": self.status,
                "task": task if self.obtained is not None else None}


class WorkProgress(Progress):
    """The emulation's progress as a work item's steps: a new batch (which pybatfish prints while it polls) and
    a log line when the kind of step changes (starting daemons, booting routers, converging), the batch's
    description updated in between, and the last state logged at the end."""

    def __init__(self, work: Work) -> None:
        super().__init__(io.StringIO(), enabled=True)
        self.work = work
        self.kind: str | None = None
        self.last = ""

    def step(self, text: str) -> None:
        with self._lock:
            kind = text.split(":")[0]
            if kind != self.kind:
                self.kind = kind
                self.work.batch(text)
            elif self.work.batches:
                self.work.batches[-1]["description"] = text
            self.last = text

    def done(self) -> None:
        with self._lock:
            if self.last:
                self.work.log(self.last)
                self.last = ""




class ParseSteps(Steps):
    """A parse work item's side of `analyse`: its log and steps, the snapshot's metadata, one emulation at a
    time, a stop that interrupts the run, and a failed convergence that leaves the snapshot its configs."""

    missing_ok = True  # Batfish parses a snapshot it can read no device from: it has none
    explores = True  # batfish/realfish_settings.json's orders of events: how a pybatfish user asks for them

    def __init__(self, worker: Worker, network: str, snapshot: str, work: Work):
        self.worker, self.network, self.snapshot, self.work = worker, network, snapshot, work
        self.parsed = False
        self.t0 = 0.0

    def parsing(self, path: Path) -> None:
        self.worker.store.update_metadata(self.network, self.snapshot, PARSING)
        self.work.batch("Parsing configuration files")

    def unreadable(self, error: SnapshotError) -> None:
        self.work.log(f"no device could be read: {error}")

    def converted(self, conv: ConvertedSnapshot) -> None:
        from realfish.convert import summary

        self.parsed = True
        work, store = self.work, self.worker.store
        s = summary(conv)
        files = ", ".join(f"{n} {k}" for k, n in sorted(s["files"].items())) or "none"
        work.log(f"{len(conv.statuses)} files ({files}); {s['routers']} routers, {s['hosts']} hosts, "
                 f"{s['layer3_edges']} layer-3 edges")
        for st in sorted(conv.statuses + conv.other, key=lambda x: x.file):
            if st.status not in ("PASSED", "EMPTY") or st.count("error"):
                work.log(f"  {st.file}: {st.status} (see fileParseStatus and initIssues)")
        interfaces = {name: sorted(dev.interfaces) for name, dev in conv.devices.items()}
        store.update_metadata(self.network, self.snapshot, PARSED, nodes=sorted(conv.devices), interfaces=interfaces)
        store.update_metadata(self.network, self.snapshot, DATAPLANING)
        if not conv.network.routers:
            work.log("no device to run: the data plane is empty")

    @contextlib.contextmanager
    def converging(self, conv: ConvertedSnapshot) -> Iterator[None]:
        if not self.t0:  # the first order of events; `exploring` announces the others
            outside = len(conv.network.routers) - len(conv.network.inside())
            self.work.batch(f"Converging {len(conv.network.inside())} devices under the emulation"
                            + (f" (and {outside} hidden outside BGP speakers)" if outside else ""))
            self.t0 = time.monotonic()
        with self.worker._converging:  # one emulation at a time: each uses every core while it converges
            if self.worker._closed:
                raise Shutdown()
            yield

    def exploring(self, seed: int, orders: int) -> None:
        self.work.batch(f"Converging again under order of events {seed + 1} of {orders} (seed {seed}; "
                        "batfish/realfish_settings.json)")

    def interruptible(self, on: bool) -> None:
        with self.worker._lock:
            self.work.converging = on

    def failed(self, error: Exception) -> bool:
        # the snapshot stays usable for config questions
        self.work.log(f"convergence failed: {type(error).__name__}: {error}\n{traceback.format_exc()}")
        return True

    def converged(self, dp: Dataplane) -> None:
        if not self.t0:  # no router ran
            return
        self.work.log(f"converged={dp.converged} in {time.monotonic() - self.t0:.1f} s")
        for p in dp.problems:
            self.work.log(f"  problem: {p}")
        for s_down in dp.sessions_down:
            self.work.log(f"  session not established: {s_down}")
        if dp.explore:
            for line in explore.summary(dp.explore):
                self.work.log(line)
def _classify(params: dict[str, Any]) -> str:
    if "answer" in params:
        return "answer"
    if "dp" in params:
        return "dp"
    return "parse"


class Worker:
    """Queues, runs and remembers work items; keeps the snapshots' states (see the module docstring)."""

    def __init__(self, store: Store, converge_timeout: float = 600.0,
                 converge: Callable[..., Dataplane] | None = None):
        self.store = store
        self.converge_timeout = converge_timeout
        self.converge = converge  # instead of the emulation on this machine: convergence.analyse's `converge`
        self._works: dict[str, Work] = {}
        self._states: OrderedDict[tuple[str, str], SnapshotState] = OrderedDict()  # least recently used first
        self.max_states = MAX_STATES
        self._snapshot_locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.RLock()
        self._converging = threading.Lock()
        # Thread names unique per worker: close() waits for its own threads only (in-process sessions each
        # have a worker).
        self._prefix = f"realfish-work{next(_workers)}"
        self._parse_pool = ThreadPoolExecutor(1, thread_name_prefix=f"{self._prefix}-parse")
        self._answer_pool = ThreadPoolExecutor(2, thread_name_prefix=f"{self._prefix}-answer")
        self._closed = False

    # -- the HTTP layer's calls --------------------------------------------------------------------------------
    def queue(self, network: str, item: dict[str, Any]) -> Work:
        """Check a posted work item as Batfish's queueWork does, then run it in the background."""
        if not isinstance(item, dict) or not item.get("id"):
            raise BadRequest("a work item is a JSON object with an id and requestParams")
        check_name(str(item["id"]), "work item id")  # it names the work log's file
        self.store.network(network)
        params = item.get("requestParams") or {}
        if not isinstance(params, dict):
            raise BadRequest("requestParams must be a JSON object")
        snapshot = params.get("testrig") or item.get("testrigName")
        if not snapshot:
            raise BadRequest("the work item names no snapshot (requestParams.testrig)")
        snapshot = str(snapshot)
        self.store.metadata(network, snapshot)  # 404 if missing
        kind = _classify(params)
        if kind == "answer":
            qname = params.get("questionname")
            if not qname:
                raise BadRequest("an answer work item needs requestParams.questionname")
            self.store.question(network, str(qname))
            if "differential" in params or params.get("deltatestrig"):
                ref = params.get("deltatestrig")
                if not ref:
                    raise BadRequest("a differential answer needs requestParams.deltatestrig (the reference)")
                self.store.metadata(network, str(ref))
        work = Work(dict(item), network, snapshot, kind)
        with self._lock:
            if self._closed:
                raise BadRequest("the service is stopping")
            if work.id in self._works:
                raise BadRequest(f"work item {work.id} was already queued")
            self._works[work.id] = work
        pool = self._parse_pool if kind == "parse" else self._answer_pool
        pool.submit(self._run, work)
        return work

    def status(self, network: str, work_id: str) -> Work:
        work = self._works.get(work_id)
        if work is None or work.network != network:
            raise NotFound(f"no work item {work_id} in network {network!r}")
        return work

    def incomplete(self, network: str) -> list[Work]:
        self.store.network(network)
        with self._lock:
            return [w for w in self._works.values() if w.network == network and w.status not in TERMINAL]

    def log(self, network: str, snapshot: str, work_id: str) -> str:
        work = self._works.get(work_id)
        if work is not None and work.network == network:
            return "\n".join(work.lines) + "\n"
        text = self.store.read_log(network, snapshot, work_id)
        if text is None:
            raise NotFound(f"no work log for work item {work_id} on snapshot {snapshot!r}")
        return text

    def forget(self, network: str, snapshot: str | None = None) -> None:
        """Drop states of a deleted snapshot (or of every snapshot of a deleted network)."""
        with self._lock:
            for key in [k for k in self._states if k[0] == network and snapshot in (None, k[1])]:
                del self._states[key]

    def state(self, network: str, snapshot: str, work: Work | None = None) -> SnapshotState:
        """The snapshot as the answerers see it: from memory, else from its saved dataplane, else parsed now.
        Waits while the snapshot is being parsed."""
        key = (network, snapshot)
        with self._snapshot_lock(key):
            with self._lock:
                st = self._states.get(key)
                if st is not None:
                    self._states.move_to_end(key)
                    return st
            meta = self.store.metadata(network, snapshot)
            dp_path = self.store.snapshot_dir(network, snapshot) / "dataplane.json"
            if dp_path.is_file():
                st = SnapshotState(snapshot, self._convert(network, snapshot, work), Dataplane.load(dp_path))
            elif meta["initializationMetadata"]["currentStatus"] == DATAPLANING_FAIL:
                st = SnapshotState(snapshot, self._convert(network, snapshot, work), None)
            else:
                st = self._parse(network, snapshot, work or Work({"id": "-"}, network, snapshot, "parse"))
            self._remember(key, st)
            return st

    def _remember(self, key: tuple[str, str], st: SnapshotState) -> None:
        """Keep the most recently used states only: one dropped is rebuilt from disk when asked for again."""
        with self._lock:
            self._states[key] = st
            self._states.move_to_end(key)
            while len(self._states) > self.max_states:
                self._states.popitem(last=False)

    def close(self, timeout: float = 60.0) -> None:
        """Stop: queued work is dropped, a running convergence is interrupted (its emulation closes), running
        work is waited for."""
        with self._lock:  # held while interrupting: a convergence cannot leave its window meanwhile
            self._closed = True
            for w in self._works.values():
                if w.converging and w.thread is not None:
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(w.thread), ctypes.py_object(Shutdown))
        self._parse_pool.shutdown(wait=False, cancel_futures=True)
        self._answer_pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        for t in threading.enumerate():
            if t.name.startswith(f"{self._prefix}-"):
                t.join(max(0.0, deadline - time.monotonic()))

    # -- running work ------------------------------------------------------------------------------------------
    def _snapshot_lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._lock:
            return self._snapshot_locks.setdefault(key, threading.Lock())

    def _run(self, work: Work) -> None:
        work.thread = threading.get_ident()
        work.obtained = _ms()
        work.status = ASSIGNED
        ok = False
        try:
            handler: Callable[[Work], None] = {"parse": self._run_parse, "dp": self._run_dp,
                                                "answer": self._run_answer}[work.kind]
            handler(work)
            ok = True
        except WorkFailed as e:
            work.log(f"ERROR: {e}")
        except NotFound as e:  # the snapshot or question was deleted while the work waited
            work.log(f"ERROR: {e}")
        except Shutdown:
            work.log("ERROR: the service stopped while this work ran")
        except Exception as e:  # a bug: the user gets the traceback in the work log, never a hung poll
            work.log(f"ERROR: realfish failed: {type(e).__name__}: {e}\n{traceback.format_exc()}")
        finally:
            work.terminated = _ms()
            work.log("work terminated " + ("normally" if ok else "abnormally"))
            try:
                self.store.write_log(work.network, work.snapshot, work.id, "\n".join(work.lines) + "\n")
            except Exception as e:  # noqa: BLE001 - the log is still served from memory; the poll must end
                work.log(f"ERROR: the work log could not be saved: {type(e).__name__}: {e}")
            work.status = TERMINATEDNORMALLY if ok else TERMINATEDABNORMALLY

    def _run_parse(self, work: Work) -> None:
        key = (work.network, work.snapshot)
        with self._snapshot_lock(key):
            with self._lock:
                self._states.pop(key, None)
            st = self._parse(work.network, work.snapshot, work)
            if self.store.has_snapshot(work.network, work.snapshot):
                self._remember(key, st)

    def _run_dp(self, work: Work) -> None:
        st = self.state(work.network, work.snapshot, work)
        if st.dataplane is None:
            raise WorkFailed(f"snapshot {work.snapshot} has no data plane: its convergence failed (see the "
                             "log of its parse work)")
        work.log(f"data plane of {work.snapshot}: {len(st.dataplane.routers)} routers, converged="
                 f"{st.dataplane.converged}")

    def _run_answer(self, work: Work) -> None:
        from realfish import answers
        from realfish.answers.state import NoDataplane

        params = work.params
        qname = str(params["questionname"])
        question = self.store.question(work.network, qname)
        ref_name = str(params["deltatestrig"]) if params.get("deltatestrig") else None
        work.batch(f"Answering {qname} on snapshot {work.snapshot}"
                   + (f" against reference snapshot {ref_name}" if ref_name else ""))
        snap = self.state(work.network, work.snapshot, work)
        ref = self.state(work.network, ref_name, work) if ref_name else None
        try:
            answer = answers.answer(question, snap, ref)
        except (answers.UnsupportedQuestion, NoDataplane) as e:
            raise WorkFailed(str(e)) from None
        self.store.put_answer(work.network, qname, work.snapshot, ref_name, answer)
        rows = sum(len(e.get("rows") or []) for e in answer.get("answerElements", []))
        work.log(f"answer stored: status {answer.get('status')}, {rows} rows")

    # -- parse -------------------------------------------------------------------------------------------------
    def _convert(self, network: str, snapshot: str, work: Work | None) -> ConvertedSnapshot:
        """The snapshot's configs again, for a state whose data plane is saved (or failed)."""
        root = self.store.input_dir(network, snapshot)
        try:
            return convert_snapshot(root)
        except SnapshotError as e:  # Batfish parses such a snapshot too: it just has no device
            if work is not None:
                work.log(f"no device could be read: {e}")
            return ConvertedSnapshot(root)

    def _parse(self, network: str, snapshot: str, work: Work) -> SnapshotState:
        parse = ParseSteps(self, network, snapshot, work)
        try:
            conv, dp = analyse(self.store.input_dir(network, snapshot), parse, timeout=self.converge_timeout,
                               progress=WorkProgress(work), converge=self.converge)
        except Exception as e:
            if not parse.parsed:
                self.store.update_metadata(network, snapshot, PARSING_FAIL, f"{type(e).__name__}: {e}")
            raise
        if dp is None:
            self.store.update_metadata(network, snapshot, DATAPLANING_FAIL, "convergence failed (see the work log)")
        else:
            dp.save(self.store.snapshot_dir(network, snapshot) / "dataplane.json")
            self.store.update_metadata(network, snapshot, DATAPLANED)
        state = SnapshotState(snapshot, conv, dp)
        # A run that went wrong ends the work abnormally (pybatfish's init_snapshot raises with this log), the
        # snapshot still answers from what the routers had (initIssues says what went wrong)
        if dp is None:
            self._remember((network, snapshot), state)
            raise WorkFailed("the network could not be converged (see the traceback above); only questions on "
                             "the configs can be answered")
        if not dp.converged:
            self._remember((network, snapshot), state)
            why = "; ".join(f["what"].splitlines()[0] for f in dp.failures) or "see the problems above"
            raise WorkFailed(f"the network did not converge as configured: {why}. Its tables are kept as they "
                             "were (see initIssues); answers from them do not show a converged network")
        return state
