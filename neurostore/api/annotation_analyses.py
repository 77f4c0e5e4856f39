"""``/api/annotation-analyses``: one analysis's note in an annotation, as NeuroStore serves it.

A note's id is ``<annotation id>_<analysis id>``. NeuroStore's clients edit notes here (its
generated client's ``annotation_analyses_post`` sends a list of ``{id, note}``); the notes
are those of ``/api/annotations/{id}``, with the same visibility, history and versions.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.aggregates import provenance
from neurostore.api.annotations import views
from neurostore.api.context import actor, reads, services
from neurostore.schemas.api_queries import WriteArgs
from neurostore.schemas.notes import NoteItemIn, NoteItemOut
from neurostore.services.errors import Invalid, NotFound
from neurostore.services.versioning import Record

blp = Blueprint("annotation-analyses", __name__, url_prefix="/api/annotation-analyses",
                description="Notes one at a time: `<annotation id>_<analysis id>`")


def _split(note_id: str) -> tuple[str, str]:
    annotation, sep, analysis = note_id.partition("_")
    if not sep or not annotation or not analysis or "_" in analysis:
        raise NotFound(f"note {note_id} not found (ids are <annotation id>_<analysis id>)")
    return annotation, analysis


def _item(record: Record, analysis: str) -> dict[str, Any]:
    state = reads().with_note_details([record.state])[0]
    note = next((n for n in state["notes"] if n["analysis"] == analysis), None)
    if note is None:
        raise NotFound(f"note {record.id}_{analysis} not found")
    return {**note, "id": f"{record.id}_{analysis}", "annotation": record.id}


@blp.route("/<id>", methods=["GET"], endpoint="note")
@blp.response(200, NoteItemOut)
def get_note(id: str) -> Response:
    """One analysis's note; its ETag is the annotation's version."""
    annotation, analysis = _split(id)
    record = services().annotations.get(actor(), annotation)
    return http.respond(_item(record, analysis), version=record.version)


@blp.route("/<id>", methods=["PUT", "PATCH"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(NoteItemIn))
@blp.response(200, NoteItemOut)
def update_note(args: dict[str, Any], id: str) -> Response:
    """Merge keys into one note (keys not sent keep their values); send If-Match."""
    annotation, analysis = _split(id)
    body = http.load(NoteItemIn(), http.json_body())
    record = views.update_record(annotation, args, {"notes": [{"analysis": analysis,
                                                               "note": body["note"]}]})
    return http.respond(_item(record, analysis), version=record.version)


@blp.route("", methods=["POST"])
@blp.arguments(WriteArgs, location="query", error_status_code=400)
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "array", "minItems": 1, "items": NoteItemIn}}}})
@blp.response(200, NoteItemOut(many=True))
def update_notes(args: dict[str, Any]) -> Response:
    """Merge notes of one or more annotations, all or none."""
    body = http.json_body()
    if not isinstance(body, list) or not body:
        raise Invalid({"_schema": ["expected a non-empty list of notes"]})
    changes: dict[str, list[dict[str, Any]]] = {}
    order = []
    for n, raw in enumerate(body):
        item = http.load(NoteItemIn(), raw) if isinstance(raw, dict) else None
        if item is None:
            raise Invalid({f"{n}": ["expected a note object"]})
        if item.get("id"):
            annotation, analysis = _split(item["id"])
        elif item.get("annotation") and item.get("analysis"):
            annotation, analysis = item["annotation"], item["analysis"]
        else:
            raise Invalid({f"{n}.id": ["give the note's id, or its annotation and analysis"]})
        changes.setdefault(annotation, []).append({"analysis": analysis, "note": item["note"]})
        order.append((annotation, analysis))
    records = services().annotations.merge_notes(actor(), changes,
                                                 provenance=provenance(args))
    return http.respond([_item(records[a], analysis) for a, analysis in order])
