"""``/api/base-studies``: publications, whatever their sources, and their search."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.aggregates import provenance
from neurostore.api.context import actor, reads, services
from neurostore.api.studies import split_list_args
from neurostore.schemas.api_queries import MergeBody, NestedArgs, StudyListArgs, WriteArgs
from neurostore.schemas.api_responses import BaseStudyOut, BaseStudyPage
from neurostore.schemas.studies import BaseStudySchema
from neurostore.services.errors import Invalid
from neurostore.services.study_queries import BASE_FIELDS, StudyFilters

blp = Blueprint("base-studies", __name__, url_prefix="/api/base-studies",
                description="Publications: one per paper, linking its study versions."
                            " Created when studies are; curators edit and merge them.")


@blp.route("", methods=["GET"])
@blp.arguments(StudyListArgs, location="query", error_status_code=400)
@blp.response(200, BaseStudyPage)
def list_base_studies(args: dict[str, Any]) -> Response:
    """Search and list publications; content filters (coordinates, images, radius) apply to
    their visible study versions."""
    query, filters = split_list_args(args)
    return http.page(lambda: reads().base_studies(actor(), StudyFilters(**filters), query,
                                                  nested=args.get("nested", False)))


def _show(id: str, nested: bool) -> Response:
    state = reads().base_study(actor(), id, nested=nested)
    return http.respond(state, version=state["version"])


@blp.route("/<id>", methods=["GET"])
@blp.arguments(NestedArgs, location="query", error_status_code=400)
@blp.response(200, BaseStudyOut)
def get_base_study(args: dict[str, Any], id: str) -> Response:
    """One publication (a merged id answers with the survivor); `nested=true` summarises
    its versions."""
    return _show(id, args.get("nested", False))


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
