"""``/api/base-studies``: publications, whatever their sources, and their search."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.aggregates import provenance
from neurostore.api.context import actor, reads, services
from neurostore.api.studies import shown_as, split_list_args
from neurostore.schemas.api_queries import (
    BaseStudyArgs,
    BaseStudyListArgs,
    MergeBody,
    WriteArgs,
)
from neurostore.schemas.api_responses import BaseStudyOut, BaseStudyPage, DeletedOut, RevisionOut
from neurostore.schemas.studies import BaseStudySchema
from neurostore.services.errors import Invalid
from neurostore.services.reads.studies import BASE_FIELDS, StudyFilters

blp = Blueprint("base-studies", __name__, url_prefix="/api/base-studies",
                description="Publications: one per paper, linking its study versions."
                            " Created when studies are; curators edit and merge them.")


@blp.route("", methods=["GET"])
@blp.arguments(BaseStudyListArgs, location="query", error_status_code=400)
@blp.response(200, BaseStudyPage)
def list_base_studies(args: dict[str, Any]) -> Response:
    """Search and list publications; content filters (coordinates, images, radius) apply to
    their visible study versions."""
    query, filters = split_list_args(args)
    flat, _ = shown_as(args, filters)

    def fetch() -> Any:
        page = reads().base_studies(actor(), StudyFilters(**filters), query,
                                    nested=args.get("nested", False))
        if flat:
            page.rows = [{k: v for k, v in row.items() if k != "versions"} for row in page.rows]
        return page

    return http.page(fetch)


def _show(id: str, nested: bool, status: int = 200, *, location: bool = False,
          feature_display: str | None = None, feature_count: int = 20) -> Response:
    state = reads().base_study(actor(), id, nested=nested)
    if feature_display:
        found = services().terms.study_features(actor(), state["id"],
                                                feature_set=feature_display, top=feature_count)
        state = {**state, "features": {found["name"]: found["terms"]}}
    return http.respond(state, status, version=state["version"],
                        location=url_for("base-studies.base_study", id=state["id"])
                        if location else None)


@blp.route("", methods=["POST"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(BaseStudySchema))
@blp.response(http.CREATED, BaseStudyOut)
def create_base_study(args: dict[str, Any]) -> Response:
    """Create a publication; its DOI, PMID and PMCID are normalised and must not belong to
    another active publication (409 names the field)."""
    record = services().base_studies.create(actor(), http.json_body(),
                                            provenance=provenance(args))
    return _show(record.id, False, http.CREATED, location=True)


@blp.route("/<id>", methods=["GET"], endpoint="base_study")
@blp.arguments(BaseStudyArgs, location="query", error_status_code=400)
@blp.response(200, BaseStudyOut)
def get_base_study(args: dict[str, Any], id: str) -> Response:
    """One publication (a merged id answers with the survivor); `nested=true` summarises
    its versions; `feature_display=SET` adds its heaviest terms in a feature set."""
    return _show(id, args.get("nested", False), feature_display=args.get("feature_display"),
                 feature_count=args["feature_count"])


def _edit(id: str, args: dict[str, Any], body: Any) -> Response:
    if not isinstance(body, dict):
        raise Invalid({"_schema": ["expected a base study object"]})
    record = services().base_studies.update(actor(), id, body, if_match=http.if_match(),
                                            provenance=provenance(args))
    return _show(record.id, False)


@blp.route("/<id>", methods=["PUT"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(BaseStudySchema))
@blp.response(200, BaseStudyOut)
def replace_base_study(args: dict[str, Any], id: str) -> Response:
    """Replace a publication's fields (omitted ones become null); curators only."""
    body = http.json_body()
    if isinstance(body, dict):
        body = {**dict.fromkeys(BASE_FIELDS), **body}
    return _edit(id, args, body)


@blp.route("/<id>", methods=["PATCH"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(BaseStudySchema))
@blp.response(200, BaseStudyOut)
def update_base_study(args: dict[str, Any], id: str) -> Response:
    """Change some fields of a publication; curators only."""
    return _edit(id, args, http.json_body())


@blp.route("/<id>/merge", methods=["POST"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(MergeBody))
@blp.response(200, BaseStudyOut)
def merge_base_study(args: dict[str, Any], id: str) -> Response:
    """Merge the duplicate publication into this one; its id then redirects here."""
    body = http.load(MergeBody(), http.json_body())
    record = services().base_studies.merge(actor(), id, body["duplicate"],
                                           provenance=provenance(args))
    return _show(record.id, False)


@blp.route("/<id>", methods=["DELETE"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.response(200, DeletedOut)
def delete_base_study(args: dict[str, Any], id: str) -> Response:
    """Delete a publication without active study versions (a tombstone; `restore` undoes
    it); curators only. Merge duplicates instead of deleting them."""
    record = services().base_studies.delete(actor(), id, if_match=http.if_match(),
                                            provenance=provenance(args))
    return http.respond({"id": record.id, "version": record.version, "deleted": True},
                        version=record.version)


@blp.route("/<id>/restore", methods=["POST"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.response(200, BaseStudyOut)
def restore_base_study(args: dict[str, Any], id: str) -> Response:
    """Undo a delete (409 if an active publication now holds one of its identifiers)."""
    record = services().base_studies.restore(actor(), id, provenance=provenance(args))
    return _show(record.id, False)


@blp.route("/<id>/revisions", methods=["GET"])
@blp.response(200, RevisionOut(many=True))
def base_study_revisions(id: str) -> Response:
    """Edit history of a publication, oldest first: who, when, why."""
    return http.respond(services().base_studies.revisions(actor(), id))


@blp.route("/<id>/revisions/<int:n>", methods=["GET"])
@blp.response(200, RevisionOut)
def base_study_revision(id: str, n: int) -> Response:
    """One revision of a publication with its full state then."""
    return http.respond(services().base_studies.revision(actor(), id, n))
