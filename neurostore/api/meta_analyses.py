"""``/api/meta-analyses``: run estimators on snapshots on the workers, and fetch the results."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.context import actor, services
from neurostore.api.downloads import send_stored
from neurostore.api.openapi import JSON_VALUE_REF
from neurostore.schemas.meta_analyses import EstimatorList, RunListArgs, RunOut, RunPage
from neurostore.schemas.patterns import NOT_BLANK, STORABLE_TEXT

blp = Blueprint("meta_analyses", __name__, url_prefix="/api/meta-analyses",
                description="Meta-analysis runs of snapshots (queued, run by workers)")

MEDIA_TYPES = {".nii.gz": "application/gzip", ".png": "image/png",
               ".tsv": "text/tab-separated-values; charset=utf-8",
               ".txt": "text/plain; charset=utf-8", ".npz": "application/octet-stream"}


#: The OpenAPI component of a run request, registered by :func:`document_run_body`.
RUN_BODY = "MetaAnalysisRequest"


def document_run_body(api: Any, schemas: list[dict[str, Any]]) -> None:
    """Register the run request's schema in ``api``'s OpenAPI document: a snapshot, and the
    spec of one of the estimators the services offer (``schemas``, one per estimator)."""
    api.spec.components.schema(RUN_BODY, {"oneOf": [
        {**spec, "required": ["snapshot", *spec["required"]],
         "properties": {"snapshot": {"type": "string", "minLength": 1, "maxLength": 64,
                                     "pattern": NOT_BLANK}, **spec["properties"]},
         "propertyNames": {"pattern": STORABLE_TEXT}, "additionalProperties": JSON_VALUE_REF}
        for spec in schemas]})


@blp.route("/estimators", methods=["GET"])
@blp.response(200, EstimatorList)
def list_estimators() -> Response:
    """Estimators, their parameters (types, defaults, ranges) and the corrections they take."""
    return http.respond(services().analysis_runs.catalogue())


@blp.route("", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {
                          "schema": {"$ref": f"#/components/schemas/{RUN_BODY}"}}},
                      "description": "Validated in full (422 names each bad field), including"
                                     " against what the snapshot holds."})
@blp.response(202, RunOut)
def create_run() -> Response:
    """Ask for a meta-analysis of a snapshot; it is queued for a worker."""
    run = services().analysis_runs.create(actor(), http.json_body())
    return http.respond(run, 202, location=url_for("meta_analyses.run", run_id=run["id"]))


@blp.route("", methods=["GET"])
@blp.arguments(RunListArgs, location="query", error_status_code=400)
@blp.response(200, RunPage)
def list_runs(args: dict[str, Any]) -> Response:
    """Runs you may read, newest first."""
    rows = services().analysis_runs.list(actor(), snapshot=args.get("snapshot"),
                                         status=args.get("status"), limit=args["limit"])
    return http.respond({"results": rows})


@blp.route("/<run_id>", methods=["GET"], endpoint="run")
@blp.response(200, RunOut)
def get_run(run_id: str) -> Response:
    """A run's status and progress; once succeeded, its results and provenance."""
    return http.respond(services().analysis_runs.get(actor(), run_id))


@blp.route("/<run_id>/cancel", methods=["POST"])
@blp.response(200, RunOut)
def cancel_run(run_id: str) -> Response:
    """Cancel a queued or running run (409 once it has finished)."""
    return http.respond(services().analysis_runs.cancel(actor(), run_id))


FILE_RESPONSE = {"200": {"description": "A result file",
                         "content": {m: {"schema": {}} for m in sorted(MEDIA_TYPES.values())}}}


@blp.route("/<run_id>/files/<name>", methods=["GET"])
@blp.doc(responses=FILE_RESPONSE)
def download_file(run_id: str, name: str) -> Response:
    """Download a result file: a NIfTI map, a PNG picture, the cluster table, the methods."""
    found = services().analysis_runs.result_file(actor(), run_id, name)
    suffix = next(s for s in MEDIA_TYPES if found.endswith(s))
    return send_stored(found, media_type=MEDIA_TYPES[suffix], download_name=found,
                       max_age=86400)
