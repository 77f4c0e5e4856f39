"""``/api/studysets``: curated lists of study versions, and their history."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.aggregates import AggregateViews, add_history_routes
from neurostore.api.context import actor, reads, services
from neurostore.api.studies import split_list_args
from neurostore.models import Studyset
from neurostore.schemas.api_queries import (
    CreateArgs,
    NestedArgs,
    ReplaceArgs,
    StudysetListArgs,
    WriteArgs,
)
from neurostore.schemas.api_responses import DeletedOut, StudysetOut, StudysetPage
from neurostore.schemas.studysets import StudysetSchema

blp = Blueprint("studysets", __name__, url_prefix="/api/studysets",
                description="Studysets: curated, ordered lists of study versions")

BODY_NOTE = (
    "`studies` lists study ids in order. A study object carrying an id (as nested=true"
    " returns them) stands for that id; an object without an id is created with the studyset."
)


def _shape(state: dict[str, Any], nested: bool) -> dict[str, Any]:
    # NeuroStore's clients also read the members as objects of their own, and where a
    # copy came from as its source.
    shown = {**state, "studyset_studies": [{"id": i, "curation_stub_uuid": None}
                                           for i in state["studies"]],
             "source": "neurostore" if state["parent"] else None,
             "source_id": state["parent"]}
    if not nested:
        return shown
    return {**shown, "studies": reads().nested_studies(actor(), state["studies"])}


views = AggregateViews(lambda: services().studysets, Studyset, "studysets.studyset", _shape,
                       StudysetOut, nested_cacheable=False, flat_cacheable=False)


def as_references(body: Any) -> Any:
    """Turn nested study objects that carry an id back into ids (a GET round trip)."""
    if not isinstance(body, dict) or not isinstance(body.get("studies"), list):
        return body
    studies = [s["id"] if isinstance(s, dict) and isinstance(s.get("id"), str) else s
               for s in body["studies"]]
    return {**body, "studies": studies}


@blp.route("", methods=["GET"])
@blp.arguments(StudysetListArgs, location="query", error_status_code=400)
@blp.response(200, StudysetPage)
def list_studysets(args: dict[str, Any]) -> Response:
    """List studysets (keyset pages)."""
    query, filters = split_list_args(args)

    def fetch() -> Any:
        result = reads().studysets(actor(), query, **filters)
        result.rows = [_shape(row, args.get("nested", False)) for row in result.rows]
        return result

    return http.page(fetch)


@blp.route("", methods=["POST"])
@blp.arguments(CreateArgs, location="query", error_status_code=400)
@blp.doc(requestBody={**http.body_doc(StudysetSchema, BODY_NOTE), "required": False})
@blp.response(http.CREATED, StudysetOut)
def create_studyset(args: dict[str, Any]) -> Response:
    """Create a studyset, or clone `source_id` (with the annotations you can read)."""
    return views.create(args, as_references)


@blp.route("/<id>", methods=["GET"], endpoint="studyset")
@blp.arguments(NestedArgs, location="query", error_status_code=400)
@blp.response(200, StudysetOut)
def get_studyset(args: dict[str, Any], id: str) -> Response:
    """One studyset; `nested=true` embeds its studies' whole trees."""
    return views.get(id, args)


@blp.route("/<id>", methods=["PUT"])
@blp.arguments(ReplaceArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(StudysetSchema, BODY_NOTE))
@blp.response(200, StudysetOut)
def replace_studyset(args: dict[str, Any], id: str) -> Response:
    """Change the fields sent and keep the others, as NeuroStore's PUT does
    (`replace=true`: the whole studyset); send If-Match."""
    body = as_references(http.json_body())
    if args.get("replace"):
        return views.replace(id, args, body)
    return views.update(id, args, body)


@blp.route("/<id>", methods=["PATCH"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(StudysetSchema, "Only the fields to change."))
@blp.response(200, StudysetOut)
def update_studyset(args: dict[str, Any], id: str) -> Response:
    """Change some fields of a studyset; send If-Match."""
    return views.update(id, args, as_references(http.json_body()))


@blp.route("/<id>", methods=["DELETE"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.response(200, DeletedOut)
def delete_studyset(args: dict[str, Any], id: str) -> Response:
    """Delete a studyset (restorable)."""
    return views.delete(id, args)


add_history_routes(blp, views)
