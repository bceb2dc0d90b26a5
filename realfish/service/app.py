"""The HTTP layer: Batfish's v2 API (base path /v2), request by request as pybatfish calls it
(/work/shared/reference/pybatfish-protocol.md §1; Batfish's coordinator resources are named per route).

A WSGI app (Flask): `realfish serve` runs it under waitress, and the in-process session
(`realfish.service.inprocess`) calls it without a socket. Errors carry a message in the body, which pybatfish
appends to its HTTPError: 404 for what does not exist, 400 for what cannot be done, 401 for a wrong API key.
Never a 5xx: pybatfish retries those for minutes.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from realfish import __version__
from realfish.questions import templates
from realfish.service.roles import infer_node_roles, role_assignments, roles_fields
from realfish.service.store import BadRequest, NotFound, Store, fork_inputs, unpack_zip
from realfish.service.work import Worker

log = logging.getLogger(__name__)

API_VERSION = "2.1.0"  # Batfish's coordinator API version that pybatfish 2026.9 speaks
APIKEY_HEADER = "X-Batfish-Apikey"
# Request bodies: a snapshot zip may be as large as realfish unpacks (realfish.convert.MAX_ARCHIVE_BYTES, also
# waitress's default); JSON (questions, work items, books, settings) is small, and parsing it costs ~10x its size.
MAX_REQUEST_BYTES = 1 << 30
MAX_JSON_BYTES = 16 << 20


def _flag(name: str) -> bool:
    """Query booleans arrive as True/False (requests' str(bool))."""
    return request.args.get(name, "false").strip().lower() in ("true", "1", "yes")


def _json_body() -> Any:
    data = request.stream.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise RequestEntityTooLarge(f"a JSON body is at most {MAX_JSON_BYTES} bytes")
    try:
        return json.loads(data or b"null")
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"the request body is not JSON: {e}") from None


def _key() -> str:
    key = request.args.get("key")
    if not key:
        raise BadRequest("the object key is required (?key=...)")
    return key


def _raw(data: bytes) -> Response:
    return Response(data, mimetype="application/octet-stream")


def _ok() -> Response:
    return Response("", status=200)


def create_app(store: Store, worker: Worker, api_key: str | None = None) -> Flask:
    """Batfish's v2 API over `store` and `worker`, one part per kind of resource (below)."""
    app = Flask("realfish")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES  # a larger body is a 413 before it is read
    _errors_and_authentication(app, api_key)
    _about(app)
    _networks(app, store, worker)
    _snapshots(app, store, worker)
    _objects(app, store)
    _work(app, worker)
    _questions_and_answers(app, store)
    _node_roles(app, store)
    _reference_library(app, store)
    _autocomplete(app, store)
    _question_settings(app, store)
    return app


def _errors_and_authentication(app: Flask, api_key: str | None) -> None:
    """Errors as 404/400 with a message (never a 5xx), and the API key on every request but the version."""
    @app.errorhandler(NotFound)
    def not_found(e: NotFound) -> tuple[str, int]:
        return str(e.args[0] if e.args else e), 404

    @app.errorhandler(BadRequest)
    def bad_request(e: BadRequest) -> tuple[str, int]:
        return str(e), 400

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> tuple[str, int]:
        return f"{e.name}: {request.method} {request.path}: {e.description}", e.code or 400

    @app.errorhandler(Exception)
    def internal(e: Exception) -> tuple[str, int]:
        # 400, not 500: pybatfish would retry a 5xx for minutes, and this is no transient failure.
        log.exception("request failed: %s %s", request.method, request.path)
        return f"realfish failed on {request.method} {request.path} (a bug): {type(e).__name__}: {e}", 400

    @app.before_request
    def authenticate() -> tuple[str, int] | None:
        given = request.headers.get(APIKEY_HEADER, "").encode()
        # compare_digest: how long the check takes says nothing about how much of the key was right
        if api_key and request.path != "/v2/version" and not hmac.compare_digest(given, api_key.encode()):
            return f"missing or wrong API key (header {APIKEY_HEADER})", 401
        return None


def _about(app: Flask) -> None:
    """The service itself: its version and Batfish's question templates."""
    templates_text = templates()

    @app.get("/v2/version")
    def version() -> Response:
        # realfish's own version; a leading 0 is what Batfish's dev builds report, so pybatfish's
        # requires_bf(...) gates run every test instead of skipping them.
        return jsonify({"Batfish": __version__, "realfish": __version__, "api_version": API_VERSION})

    @app.get("/v2/question_templates")
    def question_templates() -> Response:
        verbose = _flag("verbose")
        return jsonify({name.lower(): text for name, text in templates_text.items()
                        if verbose or not name.startswith("__")})


def _networks(app: Flask, store: Store, worker: Worker) -> None:
    """Networks: list, create, read, delete."""
    @app.get("/v2/networks")
    def networks() -> Response:
        return jsonify([store.network(n) for n in store.networks()])

    @app.post("/v2/networks")
    def create_network() -> tuple[str, int]:
        store.create_network(request.args.get("name", ""))
        return "", 201

    @app.get("/v2/networks/<network>")
    def get_network(network: str) -> Response:
        return jsonify(store.network(network))

    @app.delete("/v2/networks/<network>")
    def delete_network(network: str) -> Response:
        store.delete_network(network)
        worker.forget(network)
        return _ok()


def _snapshots(app: Flask, store: Store, worker: Worker) -> None:
    """Snapshots: upload, list, read, delete, fork, and their input files."""
    @app.get("/v2/networks/<network>/snapshots")
    def snapshots(network: str) -> Response:
        names = store.snapshots(network)
        if _flag("verbose"):
            return jsonify([store.snapshot_entry(network, s) for s in names])
        return jsonify(names)

    @app.post("/v2/networks/<network>/snapshots/<snapshot>")
    def upload_snapshot(network: str, snapshot: str) -> tuple[str, int]:
        data = request.get_data()
        store.add_snapshot(network, snapshot, lambda dest: unpack_zip(data, dest))
        return "", 201

    @app.get("/v2/networks/<network>/snapshots/<snapshot>")
    def snapshot_metadata(network: str, snapshot: str) -> Response:
        return jsonify(store.snapshot_entry(network, snapshot)["metadata"])

    @app.delete("/v2/networks/<network>/snapshots/<snapshot>")
    def delete_snapshot(network: str, snapshot: str) -> Response:
        store.delete_snapshot(network, snapshot)
        worker.forget(network, snapshot)
        return _ok()

    @app.post("/v2/networks/<network>/snapshots:fork")
    def fork_snapshot(network: str) -> Response:
        bean = _json_body()
        if not isinstance(bean, dict):
            raise BadRequest("the fork request is a JSON object (ForkSnapshotBean)")
        base, new = bean.get("snapshotBase"), bean.get("snapshotNew")
        if not base or not new:
            raise BadRequest("snapshotBase and snapshotNew are required")
        if bean.get("deactivateLinks") or bean.get("restoreLinks"):
            raise BadRequest("realfish does not deactivate or restore single links; deactivate an interface")
        if not store.has_snapshot(network, str(base)):
            raise NotFound(f"Base snapshot with name: {base!r} does not exist")
        base_input = store.input_dir(network, str(base))
        store.add_snapshot(network, str(new), lambda dest: fork_inputs(base_input, dest, bean), parent=str(base))
        return _ok()

    @app.get("/v2/networks/<network>/snapshots/<snapshot>/input")
    def input_object(network: str, snapshot: str) -> Response:
        return _raw(store.input_object(network, snapshot, _key()).read_bytes())


def _objects(app: Flask, store: Store) -> None:
    """Network and snapshot objects, by key."""
    def objects(network: str, snapshot: str | None) -> Response:
        key = _key()
        if request.method == "GET":
            return _raw(store.get_object(network, snapshot, key))
        if request.method == "PUT":
            store.put_object(network, snapshot, key, request.get_data())
        else:
            store.delete_object(network, snapshot, key)
        return _ok()

    @app.route("/v2/networks/<network>/objects", methods=["GET", "PUT", "DELETE"])
    def network_objects(network: str) -> Response:
        return objects(network, None)

    @app.route("/v2/networks/<network>/snapshots/<snapshot>/objects", methods=["GET", "PUT", "DELETE"])
    def snapshot_objects(network: str, snapshot: str) -> Response:
        return objects(network, snapshot)


def _work(app: Flask, worker: Worker) -> None:
    """Work items: queue, list the unfinished, status, log."""
    @app.post("/v2/networks/<network>/work")
    def queue_work(network: str) -> tuple[str, int]:
        worker.queue(network, _json_body())
        return "", 201

    @app.get("/v2/networks/<network>/work")
    def incomplete_work(network: str) -> Response:
        return jsonify([w.to_json() for w in worker.incomplete(network)])

    @app.get("/v2/networks/<network>/work/<work_id>")
    def work_status(network: str, work_id: str) -> Response:
        return jsonify(worker.status(network, work_id).to_json())

    @app.get("/v2/networks/<network>/snapshots/<snapshot>/worklog/<work_id>")
    def work_log(network: str, snapshot: str, work_id: str) -> Response:
        return Response(worker.log(network, snapshot, work_id), mimetype="text/plain")


def _questions_and_answers(app: Flask, store: Store) -> None:
    """Questions as pybatfish uploads them, and their answers."""
    @app.get("/v2/networks/<network>/questions")
    def list_questions(network: str) -> Response:
        verbose = _flag("verbose")  # names starting with __ (pybatfish's own) only when verbose
        return jsonify([q for q in store.question_names(network) if verbose or not q.startswith("__")])

    @app.route("/v2/networks/<network>/questions/<question>", methods=["GET", "PUT", "DELETE"])
    def question(network: str, question: str) -> Response:
        if request.method == "PUT":
            body = _json_body()
            if not isinstance(body, dict):
                raise BadRequest("a question is a JSON object")
            store.put_question(network, question, body)
            return _ok()
        if request.method == "DELETE":
            store.delete_question(network, question)
            return _ok()
        return jsonify(store.question(network, question))

    @app.get("/v2/networks/<network>/questions/<question>/answer")
    def answer(network: str, question: str) -> Response:
        snapshot = request.args.get("snapshot")
        if not snapshot:
            raise BadRequest("the snapshot is required (?snapshot=...)")
        return jsonify(store.answer(network, question, snapshot, request.args.get("referenceSnapshot")))


def _node_roles(app: Flask, store: Store) -> None:
    """Node roles: the user's, else inferred from a snapshot's hostnames (`realfish.service.roles`)."""
    def network_roles(network: str) -> dict[str, Any]:
        """The roles the user PUT (CUSTOM), else the newest parsed snapshot's inferred roles (AUTO), as Batfish
        adopts inferred roles for a network without its own."""
        custom = store.node_roles(network)
        if custom is not None:
            return {**roles_fields(custom), "type": "CUSTOM"}
        for s in store.snapshots(network):
            nodes = store.metadata(network, s).get("nodes") or []
            if nodes:
                return {**infer_node_roles(nodes), "type": "AUTO"}
        return {**infer_node_roles([]), "type": "AUTO"}

    def dimension(roles: dict[str, Any], dim: str, nodes: list[str], snapshot: str | None) -> dict[str, Any]:
        if not any(dim in (m.get("roleDimensionGroups") or {}) for m in roles["roleMappings"]):
            raise NotFound(f"no node role dimension {dim!r}")
        assigned = role_assignments(roles, nodes).get(dim, {})
        return {"name": dim, "type": roles["type"], "snapshot": snapshot,
                "roles": [{"name": r, "nodes": sorted(ns)} for r, ns in sorted(assigned.items())]}

    @app.get("/v2/networks/<network>/noderoles")
    def get_node_roles(network: str) -> Response:
        return jsonify({**network_roles(network), "snapshot": None})

    @app.put("/v2/networks/<network>/noderoles")
    def put_node_roles(network: str) -> Response:
        body = _json_body()
        if not isinstance(body, dict) or not isinstance(body.get("roleMappings", []), list):
            raise BadRequest("node roles are a JSON object with roleMappings (NodeRolesData)")
        for m in body.get("roleMappings") or []:
            if not isinstance(m, dict) or not isinstance(m.get("regex"), str):
                raise BadRequest("every role mapping needs a regex")
        store.put_node_roles(network, roles_fields(body))
        return _ok()

    @app.get("/v2/networks/<network>/noderoles/<dim>")
    def get_node_role_dimension(network: str, dim: str) -> Response:
        snaps = store.snapshots(network)
        nodes = store.metadata(network, snaps[0]).get("nodes", []) if snaps else []
        return jsonify(dimension(network_roles(network), dim, nodes, None))

    @app.delete("/v2/networks/<network>/noderoles/<dim>")
    def delete_node_role_dimension(network: str, dim: str) -> Response:
        roles = network_roles(network)
        if not any(dim in (m.get("roleDimensionGroups") or {}) for m in roles["roleMappings"]):
            raise NotFound(f"no node role dimension {dim!r}")
        mappings = []
        for m in roles["roleMappings"]:
            m = {**m, "roleDimensionGroups": {d: g for d, g in (m.get("roleDimensionGroups") or {}).items()
                                              if d != dim},
                 "canonicalRoleNames": {d: c for d, c in (m.get("canonicalRoleNames") or {}).items() if d != dim}}
            if m["roleDimensionGroups"]:
                mappings.append(m)
        store.put_node_roles(network, {
            "defaultDimension": None if roles["defaultDimension"] == dim else roles["defaultDimension"],
            "roleDimensionOrder": [d for d in roles["roleDimensionOrder"] or [] if d != dim],
            "roleMappings": mappings})
        return _ok()

    @app.get("/v2/networks/<network>/snapshots/<snapshot>/noderoles")
    @app.get("/v2/networks/<network>/snapshots/<snapshot>/inferred_node_roles")
    def snapshot_node_roles(network: str, snapshot: str) -> Response:
        nodes = store.metadata(network, snapshot).get("nodes") or []
        if request.path.endswith("/inferred_node_roles"):
            return jsonify({**infer_node_roles(nodes), "type": "AUTO", "snapshot": snapshot})
        return jsonify({**network_roles(network), "snapshot": snapshot})

    @app.get("/v2/networks/<network>/snapshots/<snapshot>/noderoles/<dim>")
    @app.get("/v2/networks/<network>/snapshots/<snapshot>/inferred_node_roles/<dim>")
    def snapshot_node_role_dimension(network: str, snapshot: str, dim: str) -> Response:
        nodes = store.metadata(network, snapshot).get("nodes") or []
        inferred = "/inferred_node_roles/" in request.path
        roles = {**infer_node_roles(nodes), "type": "AUTO"} if inferred else network_roles(network)
        return jsonify(dimension(roles, dim, nodes, snapshot))


def _reference_library(app: Flask, store: Store) -> None:
    """Reference books."""
    @app.get("/v2/networks/<network>/referencelibrary")
    def reference_library(network: str) -> Response:
        return jsonify({"books": [_book_bean(b) for b in store.books(network)]})

    @app.route("/v2/networks/<network>/referencelibrary/<book>", methods=["GET", "PUT", "DELETE"])
    def reference_book(network: str, book: str) -> Response:
        if request.method == "GET":
            return jsonify(_book_bean(store.book(network, book)))
        if request.method == "DELETE":
            store.delete_book(network, book)
            return _ok()
        body = _json_body()
        if not isinstance(body, dict):
            raise BadRequest("a reference book is a JSON object (ReferenceBook)")
        if body.get("name", book) != book:
            raise BadRequest(f"the book's name {body.get('name')!r} differs from {book!r} in the path")
        store.put_book(network, {**body, "name": book})
        return _ok()


def _autocomplete(app: Flask, store: Store) -> None:
    """Autocomplete: node and interface names from a snapshot's parse."""
    @app.get("/v2/networks/<network>/autocomplete/<var_type>")
    @app.get("/v2/networks/<network>/snapshots/<snapshot>/autocomplete/<var_type>")
    def autocomplete(network: str, var_type: str, snapshot: str | None = None) -> Response:
        try:
            limit = int(request.args.get("maxsuggestions") or 0)
        except ValueError:
            raise BadRequest("maxsuggestions must be an integer") from None
        snaps = [snapshot] if snapshot else store.snapshots(network)[:1]
        meta = store.metadata(network, snaps[0]) if snaps else {}
        texts = _completions(var_type, meta)
        query = (request.args.get("query") or "").lower()
        matches = [t for t in texts if query in t.lower()]
        if limit > 0:
            matches = matches[:limit]
        return jsonify({"suggestions": [{"text": t, "isPartial": False, "rank": i, "description": None,
                                         "hint": None, "insertionIndex": 0} for i, t in enumerate(matches)],
                        "querymetadata": {"numResults": len(matches)}})


def _question_settings(app: Flask, store: Store) -> None:
    """Question settings per question class, whole or at a JSON path."""
    @app.route("/v2/networks/<network>/settings/questions/<question_class>", methods=["GET", "PUT"],
               strict_slashes=False)  # pybatfish sends .../CLASS/ when there is no JSON path
    @app.route("/v2/networks/<network>/settings/questions/<question_class>/<path:json_path>",
               methods=["GET", "PUT"])
    def question_settings(network: str, question_class: str, json_path: str = "") -> Response:
        path = [p for p in json_path.split("/") if p]
        doc = store.settings(network, question_class)
        if request.method == "GET":
            node: Any = doc
            for p in path:
                node = node.get(p) if isinstance(node, dict) else None
            if node is None:
                raise NotFound(f"no settings for question class {question_class!r}"
                               + (f" at {'/'.join(path)}" if path else ""))
            return jsonify(node)
        value = _json_body()
        if not path:
            if not isinstance(value, dict):
                raise BadRequest("question settings are a JSON object")
            store.put_settings(network, question_class, value)
            return _ok()
        doc = doc or {}
        node = doc
        for p in path[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise BadRequest(f"{p} is not an object in the settings")
        node[path[-1]] = value
        store.put_settings(network, question_class, doc)
        return _ok()


# -- helpers ---------------------------------------------------------------------------------------------------


def _book_bean(book: dict[str, Any]) -> dict[str, Any]:
    """Batfish's ReferenceBookBean: every kind of group, empty when the book has none."""
    out: dict[str, Any] = {k: [] for k in ("addressGroups", "filterGroups", "interfaceGroups", "serviceEndpoints",
                           "serviceObjectGroups", "serviceObjects")}
    out.update(book)
    return out


def _completions(var_type: str, meta: dict[str, Any]) -> list[str]:
    """What realfish can suggest from a snapshot's parse: node names and interfaces; nothing for other types
    (an empty list is a valid answer)."""
    nodes = list(meta.get("nodes") or [])
    interfaces: dict[str, list[str]] = meta.get("interfaces") or {}
    if var_type in ("nodeName", "nodeSpec"):
        return nodes
    if var_type == "interfaceName":
        return sorted({i for names in interfaces.values() for i in names})
    if var_type in ("interface", "interfacesSpec", "locationSpec"):
        return [f"{n}[{i}]" for n in nodes for i in interfaces.get(n, [])]
    return []
