"""A local stand-in for NeuroVault's writing API, served over real HTTP on a free port.

It implements the endpoints an upload uses, as NeuroVault documents and answers them
(Django REST framework, token authentication ``Authorization: Token <key>``):

- ``POST /api/collections/`` (JSON or form): 201 and the record; ``name`` is required and
  unique on the site (400 ``{"name": [...]}``);
- ``GET``, ``PUT`` (all fields), ``PATCH`` (some) ``/api/collections/{id}/``;
- ``POST /api/collections/{id}/images/`` (multipart): ``name``, ``map_type``, ``modality``
  and ``file`` required, ``map_type`` / ``analysis_level`` / ``modality`` from NeuroVault's
  choices (400 naming the field otherwise);
- ``GET``, ``PUT /api/images/{id}/``.

and their errors: 401 without a token or with an unknown one (``{"detail": ...}``), 403 on
another user's collection, 404 ``{"detail": "Not found."}``, 413 for a body over
``max_upload`` bytes, and 500s injected with :meth:`NeuroVaultServer.fail_next` (a transient
failure: the request changes nothing).
"""

from __future__ import annotations

import gzip
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

MAP_TYPES = {"T", "Z", "F", "X2", "P", "IP", "M", "U", "R", "Pa", "A", "V", "Other"}
ANALYSIS_LEVELS = {"S", "G", "M", "Other"}
MODALITIES = {"fMRI-BOLD", "fMRI-CBF", "fMRI-CBV", "Diffusion MRI", "Structural MRI",
              "PET FDG", "PET [15O]-water", "PET other", "MEG", "EEG", "Other"}
COLLECTION_FIELDS = ("name", "description", "full_dataset_url", "private")


@dataclass
class NeuroVaultServer:
    """The server's state: users' tokens, collections, images, and what was asked.

    Attributes
    ----------
    tokens : dict of str to str
        API token -> user name.
    max_upload : int
        Largest request body accepted (bytes); a larger one gets 413.
    collections, images : dict of int to dict
        What was made, by id.
    files : dict of int to bytes
        Each image's uploaded file.
    log : list of tuple
        ``(method, path, status)`` of every request.
    """

    tokens: dict[str, str] = field(default_factory=lambda: {"good-token-1234": "alice"})
    max_upload: int = 50 * 1024 * 1024
    collections: dict[int, dict[str, Any]] = field(default_factory=dict)
    images: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[int, bytes] = field(default_factory=dict)
    log: list[tuple[str, str, int]] = field(default_factory=list)
    _faults: deque = field(default_factory=deque)
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Any = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        """Serve on a free loopback port, on a daemon thread."""
        self._server = make_server("127.0.0.1", 0, _app(self), threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()

    def fail_next(self, method: str, path_prefix: str, *, status: int = 500,
                  times: int = 1) -> None:
        """Answer the next ``times`` requests of ``method`` on a path starting with
        ``path_prefix`` with ``status``, changing nothing."""
        with self._lock:
            self._faults.extend([(method, path_prefix, status)] * times)

    def count(self, method: str, path_prefix: str) -> int:
        """How many ``method`` requests reached a path starting with ``path_prefix``."""
        return sum(1 for m, p, _ in self.log if m == method and p.startswith(path_prefix))

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def fault_for(self, method: str, path: str) -> int | None:
        with self._lock:
            for i, (m, prefix, status) in enumerate(self._faults):
                if m == method and path.startswith(prefix):
                    del self._faults[i]
                    return status
        return None


def _problem(status: int, body: dict[str, Any]) -> Any:
    response = jsonify(body)
    response.status_code = status
    return response


def _app(state: NeuroVaultServer) -> Flask:
    app = Flask("neurovault-stand-in")

    def user() -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        return state.tokens.get(key) if scheme == "Token" else None

    @app.before_request
    def checks() -> Any:
        fault = state.fault_for(request.method, request.path)
        if fault is not None:
            return _problem(fault, {"detail": "Server Error (500)"})
        if (request.content_length or 0) > state.max_upload:
            # Read the body first, so the client sees the answer and not a reset connection.
            while request.stream.read(1 << 16):
                pass
            return _problem(413, {"detail": "Request Entity Too Large"})
        if request.method != "GET" and user() is None:
            if "Authorization" not in request.headers:
                return _problem(401, {"detail": "Authentication credentials were not provided."})
            return _problem(401, {"detail": "Invalid token."})
        return None

    @app.after_request
    def record(response: Any) -> Any:
        with state._lock:
            state.log.append((request.method, request.path, response.status_code))
        return response

    def fields_of() -> dict[str, Any]:
        if request.is_json:
            return dict(request.get_json())
        return request.form.to_dict()

    def owned_collection(cid: int) -> tuple[dict[str, Any] | None, Any]:
        found = state.collections.get(cid)
        if found is None:
            return None, _problem(404, {"detail": "Not found."})
        if request.method != "GET" and found["owner"] != user():
            return None, _problem(403, {"detail": "You do not have permission to perform "
                                                  "this action."})
        return found, None

    def collection_errors(data: dict[str, Any], cid: int | None, partial: bool) -> dict:
        errors: dict[str, list[str]] = {}
        name = data.get("name")
        if not partial and not name:
            errors["name"] = ["This field is required."]
        if name and any(c["name"] == name and c["id"] != cid
                        for c in state.collections.values()):
            errors["name"] = ["collection with this name already exists."]
        return errors

    def public(collection: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in collection.items() if k != "owner"}

    @app.post("/api/collections/")
    def create_collection() -> Any:
        data = fields_of()
        errors = collection_errors(data, None, partial=False)
        if errors:
            return _problem(400, errors)
        cid = state.new_id()
        state.collections[cid] = {
            "id": cid, "owner": user(), "url": f"{state.url}/collections/{cid}/",
            **{k: data.get(k) for k in COLLECTION_FIELDS}}
        return _problem(201, public(state.collections[cid]))

    @app.route("/api/collections/<int:cid>/", methods=["GET", "PUT", "PATCH"])
    def collection(cid: int) -> Any:
        found, refusal = owned_collection(cid)
        if refusal is not None:
            return refusal
        if request.method != "GET":
            data = fields_of()
            errors = collection_errors(data, cid, partial=request.method == "PATCH")
            if errors:
                return _problem(400, errors)
            keys = data if request.method == "PATCH" else COLLECTION_FIELDS
            found.update({k: data.get(k) for k in keys if k in COLLECTION_FIELDS})
        return jsonify(public(found))

    def image_errors(data: dict[str, Any], partial: bool) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for key in ("name", "map_type", "modality"):
            if not partial and not data.get(key):
                errors[key] = ["This field is required."]
        if "file" not in request.files and not partial:
            errors["file"] = ["No file was submitted."]
        for key, allowed in (("map_type", MAP_TYPES), ("analysis_level", ANALYSIS_LEVELS),
                             ("modality", MODALITIES)):
            if data.get(key) and data[key] not in allowed:
                errors[key] = [f'"{data[key]}" is not a valid choice.']
        upload = request.files.get("file")
        if upload is not None:
            content = upload.read()
            upload.seek(0)
            try:
                gzip.decompress(content)
            except OSError:
                errors["file"] = ["The file is not a gzipped NIfTI image."]
        return errors

    def store_image(iid: int, cid: int, data: dict[str, Any]) -> dict[str, Any]:
        content = request.files["file"].read()
        state.files[iid] = content
        record = {**data, "id": iid, "collection_id": cid,
                  "file": f"{state.url}/media/images/{cid}/{request.files['file'].filename}"}
        if "number_of_subjects" in record:
            record["number_of_subjects"] = int(record["number_of_subjects"])
        state.images[iid] = record
        return record

    @app.post("/api/collections/<int:cid>/images/")
    def add_image(cid: int) -> Any:
        _, refusal = owned_collection(cid)
        if refusal is not None:
            return refusal
        data = request.form.to_dict()
        errors = image_errors(data, partial=False)
        if errors:
            return _problem(400, errors)
        return _problem(201, store_image(state.new_id(), cid, data))

    @app.route("/api/images/<int:iid>/", methods=["GET", "PUT"])
    def image(iid: int) -> Any:
        found = state.images.get(iid)
        if found is None:
            return _problem(404, {"detail": "Not found."})
        if request.method == "GET":
            return jsonify(found)
        _, refusal = owned_collection(found["collection_id"])
        if refusal is not None:
            return refusal
        data = request.form.to_dict()
        errors = image_errors(data, partial=False)
        if errors:
            return _problem(400, errors)
        return jsonify(store_image(iid, found["collection_id"], data))

    return app
