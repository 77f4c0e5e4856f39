"""``/api/ingest-runs``: start an ingestion in the background and watch runs (admins only).

A POST opens a ``queued`` run and enqueues its job in the same transaction, so a run
is never queued without a job to run it; a worker (``manage.py worker``) picks it up.
The job is named by source (``ingest.<source>`` on the ``ingest`` queue): the tasks are
declared by ``ingest.tasks``, which this layer does not import.
"""

from __future__ import annotations

from typing import Any

import procrastinate
from flask import Response, current_app, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy.orm import Session

from neurostore import jobs
from neurostore.api import http
from neurostore.api.context import actor, services
from neurostore.schemas.api_responses import PageMeta
from neurostore.services.actors import Actor
from neurostore.services.errors import PermissionDenied, Unauthenticated
from neurostore.vocabulary import RunStatus

blp = Blueprint("ingest_runs", __name__, url_prefix="/api/ingest-runs",
                description="Ingestion runs: start one in the background, watch them")

QUEUE = "ingest"
JOBS_EXTENSION = "neurostore.jobs"


class _Parameters(Schema):
    class Meta:
        unknown = RAISE


class ReleaseParameters(_Parameters):
    """NeuroQuery and Neurosynth: the release files (the public release by default)."""

    coordinates = fields.String(validate=validate.Length(min=1))
    metadata = fields.String(validate=validate.Length(min=1))


class NeuroVaultParameters(_Parameters):
    """NeuroVault: server and selection (every collection of neurovault.org by default)."""

    base_url = fields.Url(schemes={"http", "https"}, require_tld=False)
    collection_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1)),
                                 allow_none=True)
    require_doi = fields.Boolean()
    group_level_only = fields.Boolean()
    max_collections = fields.Integer(strict=True, allow_none=True,
                                     validate=validate.Range(min=1))
    max_images_per_collection = fields.Integer(strict=True, allow_none=True,
                                               validate=validate.Range(min=1))


class SleuthParameters(_Parameters):
    """Sleuth: text files on the server."""

    paths = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                        validate=validate.Length(min=1))
    skip_bad = fields.Boolean(load_default=False, metadata={
        "description": "leave out each experiment with a bad line instead of refusing"})


class NimadsParameters(_Parameters):
    """NIMADS: a studyset JSON on the server, and optionally its annotation."""

    studyset = fields.String(required=True, validate=validate.Length(min=1))
    annotation = fields.String(allow_none=True, validate=validate.Length(min=1))
    into = fields.String(allow_none=True, validate=validate.Length(min=1, max=32), metadata={
        "description": "update this studyset (made by an earlier import) instead of making"
                       " a new one"})
    skip_bad = fields.Boolean(load_default=False, metadata={
        "description": "leave out what cannot be read instead of refusing the file"})
    fetch_images = fields.Boolean(load_default=False, metadata={
        "description": "fetch the maps the images reference into the file store (checked;"
                       " NIDM-Results packs unpacked), so image-based meta-analyses can run"})
    images = fields.String(allow_none=True, validate=validate.Length(min=1), metadata={
        "description": "a folder on the server or an http(s) URL that relative image paths"
                       " are resolved against (implies fetch_images); the studyset file's"
                       " own folder by default"})


PARAMETERS: dict[str, type[Schema]] = {
    "neuroquery": ReleaseParameters,
    "neurosynth": ReleaseParameters,
    "neurovault": NeuroVaultParameters,
    "sleuth": SleuthParameters,
    "nimads": NimadsParameters,
}


class IngestRunBody(Schema):
    """A run to start."""

    source = fields.String(required=True, validate=validate.OneOf(list(PARAMETERS)))
    parameters = fields.Dict(load_default=dict,
                             metadata={"description": "the source's options (see schemas)"})
    batch_size = fields.Integer(strict=True, load_default=1000,
                                validate=validate.Range(min=1, max=100_000))

    @validates_schema
    def check_parameters(self, data: dict[str, Any], **kwargs: Any) -> None:
        schema = PARAMETERS.get(data.get("source", ""))
        if schema is None:
            return
        try:
            data["parameters"] = schema().load(data.get("parameters") or {})
        except ValidationError as exc:
            raise ValidationError({"parameters": exc.messages}) from exc


class IngestRunOut(Schema):
    """A run: its status, counts and errors."""

    id = fields.Integer(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "queued, running, succeeded, failed or cancelled"})
    parameters = fields.Dict()
    requested_by = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    skipped = fields.Integer()
    failed = fields.Integer()
    errors = fields.List(fields.Dict())


class IngestRunPage(Schema):
    """The latest runs, newest first."""

    metadata = fields.Nested(PageMeta, required=True)
    results = fields.List(fields.Nested(IngestRunOut), required=True)


class IngestRunListArgs(Schema):
    """Filters of the run list."""

    source = fields.String(validate=validate.OneOf(list(PARAMETERS)))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


def _admin() -> Actor:
    me = actor()
    if me.id is None:
        raise Unauthenticated("sign in as an administrator to manage ingestion")
    if not me.is_admin:
        raise PermissionDenied("only administrators may manage ingestion")
    return me


def _queue() -> procrastinate.App:
    # Built once per app; its pool is never opened: jobs are written on the run's session.
    if JOBS_EXTENSION not in current_app.extensions:
        url = services().session_factory.kw["bind"].url.render_as_string(hide_password=False)
        current_app.extensions[JOBS_EXTENSION] = jobs.connected(url)
    return current_app.extensions[JOBS_EXTENSION]


@blp.route("", methods=["POST"])
@blp.doc(requestBody=http.body_doc(IngestRunBody))
@blp.response(202, IngestRunOut)
def start_run() -> Response:
    """Queue a run of a source for a worker; 409 while that source has an active run."""
    me = _admin()
    body = http.load(IngestRunBody(), http.json_body())
    queue = _queue()

    def enqueue(session: Session, run_id: int) -> None:
        connection = session.connection().connection.driver_connection
        queue.configure_task(name=f"ingest.{body['source']}", queue=QUEUE,
                             connection=connection).defer(run_id=run_id,
                                                          batch_size=body["batch_size"])

    ingest = services().ingest
    run_id = ingest.start_run(me, body["source"], body["parameters"], status=RunStatus.QUEUED,
                              on_start=enqueue)
    return http.respond(ingest.get_run(run_id), 202,
                        location=url_for("ingest_runs.ingest_run", id=run_id))


@blp.route("", methods=["GET"])
@blp.arguments(IngestRunListArgs, location="query", error_status_code=400)
@blp.response(200, IngestRunPage)
def list_runs(args: dict[str, Any]) -> Response:
    """The latest runs, newest first (optionally of one source)."""
    _admin()
    rows = services().ingest.list_runs(source=args.get("source"), limit=args["limit"])
    return http.respond({"metadata": {"total_count": len(rows), "next": None},
                         "results": rows})


@blp.route("/<int:id>", methods=["GET"], endpoint="ingest_run")
@blp.response(200, IngestRunOut)
def get_run(id: int) -> Response:
    """One run with its counts and errors."""
    _admin()
    return http.respond(services().ingest.get_run(id))
