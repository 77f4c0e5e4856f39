"""``/api/annotations``: typed notes on a studyset's analyses, and their history."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.aggregates import AggregateViews, add_history_routes
from neurostore.api.context import actor, reads, services
from neurostore.api.studies import split_list_args
from neurostore.models import Annotation
from neurostore.schemas.api_queries import (
    AnnotationListArgs,
    CreateArgs,
    NestedArgs,
    ReplaceArgs,
    WriteArgs,
)
from neurostore.schemas.api_responses import AnnotationOut, AnnotationPage, DeletedOut, NoteOut
from neurostore.schemas.studysets import AnnotationChangesSchema, AnnotationSchema, NoteSchema
from neurostore.services.errors import Invalid

blp = Blueprint("annotations", __name__, url_prefix="/api/annotations",
                description="Annotations: typed columns with one note per analysis")


def _shape(state: dict[str, Any], nested: bool) -> dict[str, Any]:
    shown = reads().with_note_details([state])
    return reads().nested_annotations(actor(), shown)[0] if nested else shown[0]


views = AggregateViews(lambda: services().annotations, Annotation, "annotations.annotation",
                       _shape, AnnotationOut, nested_cacheable=False, flat_cacheable=False)


def _id_of(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) and isinstance(value.get("id"), str) \
        else value


def as_references(body: Any) -> Any:
    """Turn the objects ``nested=true`` embeds (studyset, notes' analyses and studies) back
    into their ids, so a nested GET can be sent back unchanged."""
    if not isinstance(body, dict):
        return body
    out = dict(body)
    if "studyset" in out:
        out["studyset"] = _id_of(out["studyset"])
    if isinstance(out.get("notes"), list):
        out["notes"] = [{**n, **{k: _id_of(n[k]) for k in ("analysis", "study") if k in n}}
                        if isinstance(n, dict) else n for n in out["notes"]]
    return out


@blp.route("", methods=["GET"])
@blp.arguments(AnnotationListArgs, location="query", error_status_code=400)
@blp.response(200, AnnotationPage)
def list_annotations(args: dict[str, Any]) -> Response:
    """List annotations (keyset pages)."""
    query, filters = split_list_args(args)

    def fetch() -> Any:
        result = reads().annotations(actor(), query, **filters)
        result.rows = reads().with_note_details(result.rows)
        if args.get("nested"):
            result.rows = reads().nested_annotations(actor(), result.rows)
        return result

    return http.page(fetch)


@blp.route("", methods=["POST"])
@blp.arguments(CreateArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(AnnotationSchema, "The annotation (ignored with `source_id`)."))
@blp.response(http.CREATED, AnnotationOut)
def create_annotation(args: dict[str, Any]) -> Response:
    """Create an annotation of a studyset, or clone `source_id`."""
    return views.create(args, as_references)


@blp.route("/<id>", methods=["GET"], endpoint="annotation")
@blp.arguments(NestedArgs, location="query", error_status_code=400)
@blp.response(200, AnnotationOut)
def get_annotation(args: dict[str, Any], id: str) -> Response:
    """One annotation with every note; `nested=true` embeds the studyset, and each note's
    analysis (name, description) and study (flat)."""
    return views.get(id, args)


@blp.route("/<id>", methods=["PUT"])
@blp.arguments(ReplaceArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(AnnotationChangesSchema))
@blp.response(200, AnnotationOut)
def replace_annotation(args: dict[str, Any], id: str) -> Response:
    """Change the fields sent and keep the others, as NeuroStore's PUT does
    (`replace=true`: the whole annotation); send If-Match."""
    body = as_references(http.json_body())
    if args.get("replace"):
        return views.replace(id, args, body)
    return views.update(id, args, body)


@blp.route("/<id>", methods=["PATCH"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(AnnotationChangesSchema, "Only the fields to change; `notes`"
                                   " items are merged into the current notes of their analyses."))
@blp.response(200, AnnotationOut)
def update_annotation(args: dict[str, Any], id: str) -> Response:
    """Change some fields or notes of an annotation; send If-Match."""
    return views.update(id, args, as_references(http.json_body()))

@blp.route("/<id>", methods=["DELETE"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.response(200, DeletedOut)
def delete_annotation(args: dict[str, Any], id: str) -> Response:
    """Delete an annotation (restorable)."""
    return views.delete(id, args)


@blp.route("/<id>/notes", methods=["GET"])
@blp.response(200, NoteOut(many=True))
def get_notes(id: str) -> Response:
    """The notes of an annotation, one per analysis."""
    record = services().annotations.get(actor(), id)
    return http.respond(record.state["notes"], version=record.version)


@blp.route("/<id>/notes", methods=["PATCH"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(NoteSchema(many=True), "Notes to merge, by analysis."))
@blp.response(200, NoteOut(many=True))
def update_notes(args: dict[str, Any], id: str) -> Response:
    """Merge notes into the annotation (keys not sent keep their values); send If-Match."""
    notes = http.json_body()
    if not isinstance(notes, list):
        raise Invalid({"_schema": ["expected a list of notes"]})
    record = views.update_record(id, args, as_references({"notes": notes}))
    return http.respond(record.state["notes"], version=record.version)


add_history_routes(blp, views)
