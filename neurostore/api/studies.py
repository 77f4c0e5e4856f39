"""``/api/studies``: study versions, their history, and their search."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from neurostore import json_codec
from neurostore.api import http
from neurostore.api.aggregates import (
    AggregateViews,
    add_history_routes,
    check_patch,
    provenance,
)
from neurostore.api.context import actor, reads, services
from neurostore.api.errors import BadRequest
from neurostore.models import Study
from neurostore.schemas.api_queries import (
    CreateArgs,
    ReplaceArgs,
    StudyArgs,
    StudyListArgs,
    WriteArgs,
)
from neurostore.schemas.api_responses import DeletedOut, StudyOut, StudyPage
from neurostore.schemas.studies import StudySchema
from neurostore.services.reads.pagination import ListQuery
from neurostore.services.reads.studies import StudyFilters, flat_study
from neurostore.services.versioning import Record

blp = Blueprint("studies", __name__, url_prefix="/api/studies",
                description="Study versions: a publication's data from one source or curator")

LIST_KEYS = ("limit", "cursor", "sort", "desc", "page", "everything")
BODY_NOTE = (
    "A whole study. Analyses and tables may be given as the ids of current ones (as a GET"
    " without nested=true returns them), which keeps them unchanged."
)


def _shape(state: dict[str, Any], nested: bool) -> dict[str, Any]:
    if not nested:
        return flat_study(state)
    # The nested form a GET sends (tables as ids in analyses, points with x, y, z, ...).
    return json_codec.loads(reads().study_tree(actor(), state["id"]).body().text)


views = AggregateViews(lambda: services().studies, Study, "studies.study", _shape, StudyOut)


def shown_as(args: dict[str, Any], filters: dict[str, Any]) -> tuple[bool, str | None]:
    """Take NeuroStore's ``flat`` and ``studyset_owner`` out of ``filters``: they say how
    rows are shown, not which; ``flat`` and ``nested`` exclude each other."""
    flat = filters.pop("flat", False)
    if flat and args.get("nested"):
        raise BadRequest("flat and nested exclude each other",
                         {"flat": ["give either flat or nested"]})
    return flat, filters.pop("studyset_owner", None)


def split_list_args(args: dict[str, Any]) -> tuple[ListQuery, dict[str, Any]]:
    """The page part and the filter part of a list's query arguments."""
    query = ListQuery(**{k: args[k] for k in LIST_KEYS if k in args})
    return query, {k: v for k, v in args.items() if k not in LIST_KEYS and k != "nested"}


@blp.route("", methods=["GET"])
@blp.arguments(StudyListArgs, location="query", error_status_code=400)
@blp.response(200, StudyPage)
def list_studies(args: dict[str, Any]) -> Response:
    """Search and list studies (keyset pages; pass `metadata.next` as `cursor`)."""
    query, filters = split_list_args(args)
    flat, owner = shown_as(args, filters)

    def fetch() -> Any:
        page = reads().studies(actor(), StudyFilters(**filters), query,
                               nested=args.get("nested", False))
        if flat:
            page.rows = [{k: v for k, v in row.items() if k not in ("tables", "analyses")}
                         for row in page.rows]
        if owner is not None:
            ids = page.extra["ids"]
            studysets = reads().studysets_of(actor(), ids, owner)
            page.rows = [json_codec.with_member(row, "studysets", studysets.get(i, []))
                         for row, i in zip(page.rows, ids, strict=True)]
        return page

    return http.page(fetch)


@blp.route("", methods=["POST"])
@blp.arguments(CreateArgs, location="query", error_status_code=400)
@blp.doc(requestBody={**http.body_doc(StudySchema, BODY_NOTE), "required": False})
@blp.response(http.CREATED, StudyOut)
def create_study(args: dict[str, Any]) -> Response:
    """Create a study with its whole tree, or clone `source_id` into your own copy."""
    return views.create(args)


@blp.route("/<id>", methods=["GET"], endpoint="study")
@blp.arguments(StudyArgs, location="query", error_status_code=400)
@blp.response(200, StudyOut)
@blp.alt_response(304, description=http.NOT_MODIFIED)
def get_study(args: dict[str, Any], id: str) -> Response:
    """One study; `nested=true` embeds tables and analyses with their points and images;
    `studyset_owner` adds the studysets of that user holding it."""
    tree = reads().study_tree(actor(), id)
    body = tree.body() if args.get("nested") else flat_study(json_codec.loads(tree.document))
    owner = args.get("studyset_owner")
    if owner is None:
        return http.respond(body, version=tree.root.version, cacheable=True)
    # The studysets change on their own: the version names the study, not this list.
    studysets = reads().studysets_of(actor(), [id], owner)[id]
    return http.respond(json_codec.with_member(body, "studysets", studysets),
                        version=tree.root.version)


def _write(id: str, args: dict[str, Any], replace: bool) -> Record:
    service = services().studies
    body = http.json_body()
    if not replace:
        check_patch(body)
    return service.write_with_refs(actor(), id, body, replace=replace,
                                   if_match=http.if_match(), provenance=provenance(args))


@blp.route("/<id>", methods=["PUT"])
@blp.arguments(ReplaceArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(StudySchema, BODY_NOTE))
@blp.response(200, StudyOut)
def replace_study(args: dict[str, Any], id: str) -> Response:
    """Change the fields sent and keep the others, as NeuroStore's PUT does (`replace=true`:
    the whole state, a GET's output being a valid body); send If-Match."""
    return views.show(_write(id, args, args.get("replace", False)), False)


@blp.route("/<id>", methods=["PATCH"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(StudySchema, "Only the fields to change. `analyses`, when"
                                   " given, is the complete new list; an item with the id of a"
                                   " current analysis is merged over it."))
@blp.response(200, StudyOut)
def update_study(args: dict[str, Any], id: str) -> Response:
    """Change some fields of a study; send If-Match."""
    return views.show(_write(id, args, False), False)


@blp.route("/<id>", methods=["DELETE"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.response(200, DeletedOut)
def delete_study(args: dict[str, Any], id: str) -> Response:
    """Delete a study (a tombstone: its history stays readable, `restore` undoes it)."""
    return views.delete(id, args)


add_history_routes(blp, views)
