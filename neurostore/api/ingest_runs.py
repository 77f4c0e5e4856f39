"""``/api/ingest-runs``: start an ingestion in the background and watch runs (admins only).

A POST opens a ``queued`` run and enqueues its job in the same transaction, so a run
is never queued without a job to run it; a worker (``manage.py worker``) picks it up.
The job is named by source (``ingest.<source>`` on the ``ingest`` queue): the tasks are
declared by ``ingest.tasks``, which this layer does not import.
"""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.context import actor, services
from neurostore.schemas.ingest_runs import (
    IngestRunBody,
    IngestRunListArgs,
    IngestRunOut,
    IngestRunPage,
)

blp = Blueprint("ingest_runs", __name__, url_prefix="/api/ingest-runs",
                description="Ingestion runs: start one in the background, watch them")

@blp.route("", methods=["POST"])
@blp.doc(requestBody=http.body_doc(IngestRunBody))
@blp.response(202, IngestRunOut)
def start_run() -> Response:
    """Queue a run of a source for a worker; 409 while that source has an active run."""
    me = actor()
    ingest = services().ingest
    # Who may start a run is answered before what was sent is judged.
    ingest.check_manager(me, "start ingestion")
    body = http.load(IngestRunBody(), http.json_body())
    run_id = ingest.start_run(me, body["source"], body["parameters"], queued=True,
                              batch_size=body["batch_size"])
    return http.respond(ingest.get_run(me, run_id), 202,
                        location=url_for("ingest_runs.ingest_run", id=run_id))


@blp.route("", methods=["GET"])
@blp.arguments(IngestRunListArgs, location="query", error_status_code=400)
@blp.response(200, IngestRunPage)
def list_runs(args: dict[str, Any]) -> Response:
    """The latest runs, newest first (optionally of one source)."""
    rows = services().ingest.list_runs(actor(), source=args.get("source"), limit=args["limit"])
    return http.respond({"metadata": {"total_count": len(rows), "next": None},
                         "results": rows})


@blp.route("/<int:id>", methods=["GET"], endpoint="ingest_run")
@blp.response(200, IngestRunOut)
def get_run(id: int) -> Response:
    """One run with its counts and errors."""
    return http.respond(services().ingest.get_run(actor(), id))
