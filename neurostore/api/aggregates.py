"""Views shared by the editable aggregates (studies, studysets, annotations).

Each resource module builds an :class:`AggregateViews` with its service and its
representation, then routes its blueprint's functions to these flows. History routes are
the same for every aggregate and are added by :func:`add_history_routes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema

from neurostore.api import http
from neurostore.api.context import actor, reads
from neurostore.schemas.api_queries import DiffArgs, RevertBody, WriteArgs
from neurostore.schemas.api_responses import DiffOut, RevisionOut
from neurostore.services.aggregates import AggregateService
from neurostore.services.errors import Invalid
from neurostore.services.history import Provenance
from neurostore.services.versioning import Record


def provenance(args: dict[str, Any]) -> Provenance:
    """The change message of a write."""
    return Provenance(message=args.get("message"))


def check_patch(patch: Any) -> None:
    """Refuse shapes a merge over the current state cannot handle: ids and analysis
    references must be strings, notes objects (the schema only sees the merged result)."""
    stack = [("", patch)]
    errors: dict[str, list[str]] = {}
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key in ("id", "analysis"):
                if key in item and not isinstance(item[key], str):
                    errors[f"{path}{key}"] = ["must be a string id"]
            if "note" in item and not isinstance(item["note"], dict | None):
                errors[f"{path}note"] = ["must be an object"]
            # Free-form user data may hold anything, "id" keys included.
            stack.extend((f"{path}{k}.", v) for k, v in item.items()
                         if k not in ("metadata", "note"))
        elif isinstance(item, list):
            stack.extend((f"{path}{n}.", v) for n, v in enumerate(item))
    if errors:
        raise Invalid(errors)


@dataclass(frozen=True)
class AggregateViews:
    """The flows of one aggregate's routes.

    Attributes
    ----------
    service : callable
        Returns the aggregate's service (looked up per request, from the app).
    model : type
        The root model, for the version and timestamps shown with each state.
    endpoint : str
        The ``blueprint.view`` of the single-resource GET, for ``Location``.
    shape : callable
        ``shape(state, nested) -> JSON`` of the resource.
    schema : type
        The response schema documenting that JSON.
    nested_cacheable, flat_cacheable : bool
        Whether the ``nested=true`` (or the default) JSON is determined by the version, so
        ``If-None-Match`` may answer 304. It is not when it embeds other aggregates, which
        change on their own, or lists what follows them (a studyset leaves out studies
        made private or deleted; an annotation's notes follow its studyset's analyses).
    """

    service: Callable[[], AggregateService]
    model: type
    endpoint: str
    shape: Callable[[dict[str, Any], bool], dict[str, Any]]
    schema: type[Schema]
    nested_cacheable: bool = True
    flat_cacheable: bool = True

    def show(self, record: Record, nested: bool, status: int = 200, *,
             location: bool = False, cacheable: bool = False) -> Response:
        """The resource's JSON with its version as ETag."""
        if cacheable and http.etag_matches(record.version):
            return http.not_modified(record.version)
        body = {**self.shape(record.state, nested), **reads().meta(self.model, record.id)}
        return http.respond(
            body, status, version=record.version,
            location=url_for(self.endpoint, id=record.id) if location else None,
        )

    def get(self, id: str, args: dict[str, Any]) -> Response:
        """GET one; 304 when ``If-None-Match`` names its version (checked before reading
        the whole state)."""
        nested = args.get("nested", False)
        cacheable = self.nested_cacheable if nested else self.flat_cacheable
        if cacheable and request.headers.get("If-None-Match") is not None:
            version = reads().current_version(actor(), self.service(), id)
            if version is not None and http.etag_matches(version):
                return http.not_modified(version)
        return self.show(self.service().get(actor(), id), nested, cacheable=cacheable)

    def create(self, args: dict[str, Any], prepare: Callable[[Any], Any] = lambda b: b
               ) -> Response:
        """POST: create from the body (none: an empty object), or clone ``source_id``."""
        if args.get("source_id"):
            record = self.service().clone(actor(), args["source_id"],
                                          provenance=provenance(args))
        else:
            body = http.json_body(required=False, default={})
            record = self.service().create(actor(), prepare(body), provenance=provenance(args))
        return self.show(record, args.get("nested", False), http.CREATED, location=True)

    def replace(self, id: str, args: dict[str, Any], body: Any) -> Response:
        """PUT with a prepared body."""
        record = self.service().replace(actor(), id, body, if_match=http.if_match(),
                                        provenance=provenance(args))
        return self.show(record, args.get("nested", False))

    def update(self, id: str, args: dict[str, Any], patch: Any) -> Response:
        """PATCH with a prepared body."""
        return self.show(self.update_record(id, args, patch), args.get("nested", False))

    def update_record(self, id: str, args: dict[str, Any], patch: Any) -> Record:
        """PATCH, returning the new record."""
        check_patch(patch)
        return self.service().update(actor(), id, patch, if_match=http.if_match(),
                                     provenance=provenance(args))

    def delete(self, id: str, args: dict[str, Any]) -> Response:
        """DELETE: a restorable tombstone."""
        record = self.service().delete(actor(), id, if_match=http.if_match(),
                                       provenance=provenance(args))
        return http.respond({"id": record.id, "version": record.version, "deleted": True},
                            version=record.version)

    def restore(self, id: str, args: dict[str, Any]) -> Response:
        """Bring a deleted resource back."""
        record = self.service().restore(actor(), id, provenance=provenance(args))
        return self.show(record, False)


def add_history_routes(blp: Blueprint, views: AggregateViews) -> None:
    """Add ``revisions``, ``revisions/{n}``, ``revisions/{n}/diff``, ``revert`` and
    ``restore`` routes to ``blp``."""

    @blp.route("/<id>/revisions", endpoint="revisions")
    @blp.response(200, RevisionOut(many=True))
    def revisions(id: str) -> Response:
        """Edit history, oldest first: who, when, why, and which ingest run or job."""
        return http.respond(views.service().revisions(actor(), id))

    @blp.route("/<id>/revisions/<int:n>", endpoint="revision")
    @blp.response(200, RevisionOut)
    def revision(id: str, n: int) -> Response:
        """One revision with the full state then."""
        return http.respond(views.service().revision(actor(), id, n))

    @blp.route("/<id>/revisions/<int:n>/diff", endpoint="diff")
    @blp.arguments(DiffArgs, location="query", error_status_code=400)
    @blp.response(200, DiffOut)
    def diff(args: dict[str, Any], id: str, n: int) -> Response:
        """The JSON patch (RFC 6902) from revision ``n`` to revision ``to``."""
        patch = views.service().diff(actor(), id, n, args["to"])
        return http.respond({"from": n, "to": args["to"], "patch": patch})

    @blp.route("/<id>/revert", methods=["POST"], endpoint="revert")
    @blp.arguments(WriteArgs, location="query", error_status_code=400)
    @blp.doc(requestBody=http.body_doc(RevertBody))
    @blp.response(200, views.schema)
    def revert(args: dict[str, Any], id: str) -> Response:
        """Write the state of an earlier revision as a new revision (send If-Match)."""
        body = http.load(RevertBody(), http.json_body())
        record = views.service().revert(actor(), id, body["revision"],
                                        if_match=http.if_match(), provenance=provenance(args))
        return views.show(record, False)

    @blp.route("/<id>/restore", methods=["POST"], endpoint="restore")
    @blp.arguments(WriteArgs, location="query", error_status_code=400)
    @blp.response(200, views.schema)
    def restore(args: dict[str, Any], id: str) -> Response:
        """Undo a delete."""
        return views.restore(id, args)
