"""``/api/snapshots``: freeze a studyset (with an annotation) and download it in any format."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.context import actor, services
from neurostore.api.downloads import send_stored
from neurostore.schemas.snapshots import (
    ExportArgs,
    SnapshotBody,
    SnapshotListArgs,
    SnapshotOptions,
    SnapshotOut,
    SnapshotPage,
)
from neurostore.snapshot.formats import FORMATS

blp = Blueprint("snapshots", __name__, url_prefix="/api",
                description="Snapshots: immutable, content-addressed studysets, and exports")

INCLUDE_NOTE = ("`include` names a boolean note key of the annotation: only analyses whose "
                "note is true there are frozen (default: every analysis).")


def _created(state: dict[str, Any], created: bool) -> Response:
    location = url_for("snapshots.snapshot", snapshot_id=state["id"])
    return http.respond(state, 201 if created else 200, location=location)


@blp.route("/snapshots", methods=["POST"])
@blp.doc(requestBody=http.body_doc(SnapshotBody, INCLUDE_NOTE))
@blp.response(201, SnapshotOut)
@blp.alt_response(200, schema=SnapshotOut, description="The same content was frozen before")
def create_snapshot() -> Response:
    """Freeze a studyset and an annotation of it into a snapshot."""
    body = http.load(SnapshotBody(), http.json_body())
    return _created(*services().snapshots.create(
        actor(), body["studyset"], annotation_id=body["annotation"], include=body["include"]))


@blp.route("/studysets/<studyset_id>/snapshots", methods=["POST"])
@blp.doc(requestBody={**http.body_doc(SnapshotOptions, INCLUDE_NOTE), "required": False})
@blp.response(201, SnapshotOut)
@blp.alt_response(200, schema=SnapshotOut, description="The same content was frozen before")
def snapshot_studyset(studyset_id: str) -> Response:
    """Freeze this studyset (and an annotation of it) into a snapshot."""
    body = http.load(SnapshotOptions(), http.json_body(required=False, default={}))
    return _created(*services().snapshots.create(
        actor(), studyset_id, annotation_id=body["annotation"], include=body["include"]))


@blp.route("/snapshots", methods=["GET"])
@blp.arguments(SnapshotListArgs, location="query", error_status_code=400)
@blp.response(200, SnapshotPage)
def list_snapshots(args: dict[str, Any]) -> Response:
    """Snapshots you may read, newest first."""
    rows = services().snapshots.list(actor(), studyset=args.get("studyset"),
                                     limit=args["limit"])
    return http.respond({"results": rows})


@blp.route("/snapshots/<snapshot_id>", methods=["GET"], endpoint="snapshot")
@blp.response(200, SnapshotOut)
def get_snapshot(snapshot_id: str) -> Response:
    """One snapshot, with the exports made of it so far."""
    return http.respond(services().snapshots.get(actor(), snapshot_id))


@blp.route("/snapshots/<snapshot_id>", methods=["DELETE"])
@blp.response(204)
def delete_snapshot(snapshot_id: str) -> Response:
    """Delete a snapshot that no meta-analysis uses (409 otherwise)."""
    services().snapshots.delete(actor(), snapshot_id)
    return Response(status=204)


EXPORT_RESPONSE = {
    "200": {
        "description": "The export, streamed from the file store",
        "content": {media: {"schema": {}} for media in
                    sorted({f.media_type for f in FORMATS.values()})},
    }
}


@blp.route("/snapshots/<snapshot_id>/export", methods=["GET"])
@blp.arguments(ExportArgs, location="query", error_status_code=400)
@blp.doc(responses=EXPORT_RESPONSE)
def export_snapshot(args: dict[str, Any], snapshot_id: str) -> Response:
    """Download a snapshot as NIMADS, a NiMARE dataset, Sleuth text (per space) or TSV.

    The first request of a format writes it into the file store; later ones stream it.
    """
    fmt = FORMATS[args["format"]]
    export = services().snapshots.export(actor(), snapshot_id, fmt.name)
    response = send_stored(export["file"], media_type=fmt.media_type,
                           download_name=f"snapshot-{snapshot_id[:12]}{fmt.suffix}",
                           max_age=3600)
    response.headers["X-Export-Skipped"] = str(export["summary"].get("n_skipped", 0))
    return response
