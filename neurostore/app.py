"""The Flask application factory: the HTTP API and the web pages."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Flask, current_app, request
from flask_cors import CORS

from neurostore import web
from neurostore.api import (
    annotation_analyses,
    annotations,
    base_studies,
    children,
    errors,
    health,
    ingest_runs,
    meta_analyses,
    neurovault,
    releases,
    snapshots,
    studies,
    studysets,
    terms,
    users,
)
from neurostore.api.context import EXTENSION, Backend
from neurostore.api.openapi import NeurostoreApi
from neurostore.config import Settings
from neurostore.db import database_url, make_engine, make_session_factory
from neurostore.services.reads.documents import DocumentCache
from neurostore.services.reads.service import ReadService
from neurostore.services.registry import Services, build_services
from neurostore.storage import open_file_store

BLUEPRINTS = (
    studies.blp,
    base_studies.blp,
    children.analyses,
    children.tables,
    children.points,
    children.images,
    children.conditions,
    studysets.blp,
    annotations.blp,
    annotation_analyses.blp,
    users.users,
    users.tokens,
    snapshots.blp,
    releases.blp,
    meta_analyses.blp,
    neurovault.blp,
    ingest_runs.blp,
    terms.blp,
    health.blp,
)
API_DESCRIPTION = (
    "NIMADS studies, studysets and annotations with history and optimistic concurrency.\n\n"
    "Send `Authorization: Bearer <token>` to act as a user. Every editable resource has an"
    " `ETag` (its version); send it back as `If-Match` and a stale write is refused with 412."
    " Errors are `application/problem+json`."
)


@cache
def _query_parameters(view: Any) -> frozenset[str]:
    """The query parameters a view declares (flask-smorest keeps its argument schemas);
    read once per view, not on every request."""
    names: set[str] = set()
    for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
        if parameter.get("in") == "query":
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) else schema
            names.update(f.data_key or name for name, f in schema.fields.items())
    return frozenset(names)


#: The longest URL (path and query) the API reads; longer ones get 414.
MAX_URL_BYTES = 65536


def _refuse_unknown_parameters() -> Any:
    # A parameter the route does not take is an error, never silently ignored: a client
    # filtering by it would otherwise get the whole list. One given twice is ambiguous.
    if len(request.path) + len(request.query_string) > MAX_URL_BYTES:
        return errors.problem(414, "URI Too Long",
                              f"the URL is longer than {MAX_URL_BYTES} bytes")
    if not request.args or request.endpoint is None or not request.path.startswith("/api"):
        return None
    unknown = sorted(set(request.args) - _query_parameters(
        current_app.view_functions.get(request.endpoint)))
    if unknown:
        return errors.problem(400, "Bad Request", "unknown query parameter(s): "
                              + ", ".join(unknown)[:500],
                              errors={name[:100]: ["not a parameter of this route"]
                                      for name in unknown[:20]})
    repeated = sorted(k for k in request.args if len(request.args.getlist(k)) > 1)
    if repeated:
        return errors.problem(400, "Bad Request", "query parameter(s) given more than once: "
                              + ", ".join(repeated)[:500],
                              errors={name: ["give this parameter once"] for name in repeated})
    return None


def _refuse_nul() -> Any:  # on pages as on the API
    # PostgreSQL text cannot hold NUL: refuse it in the path or query before any lookup.
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.args.items(multi=True)):
        return errors.problem(400, "Bad Request", "NUL characters are not allowed in URLs")
    return None


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Flask:
    """Build the API application.

    Parameters
    ----------
    settings : Settings, optional
        Read from the environment when omitted.
    services : Services, optional
        The services to serve; built on ``settings``' database when omitted.

    Returns
    -------
    Flask
        The application, with the OpenAPI document at ``/api/openapi.json`` and its
        browsable docs at ``/api/docs``.
    """
    settings = settings or Settings.from_env()
    if services is None:
        engine = make_engine(database_url(settings), pool_size=10, max_overflow=10)
        # The file store of these settings, not of the environment's.
        services = build_services(make_session_factory(engine),
                                  files=open_file_store(settings))
    app = Flask("neurostore", template_folder="web/templates", static_folder="web/static")
    app.config.update(
        API_TITLE="NeuroStore",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_REDOC_PATH="/docs",
        OPENAPI_REDOC_URL="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js",
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{}, {"bearer": []}],
        },
        MAX_CONTENT_LENGTH=settings.max_content_length,
    )
    documents = (DocumentCache(settings.read_cache_mb * 2**20) if settings.read_cache_mb > 0
                 else None)
    app.extensions[EXTENSION] = Backend(services, ReadService(services.session_factory,
                                                              services.studies, documents))
    # NeuroStore's clients call "/api/studies/" with a trailing slash: serve both forms.
    app.url_map.strict_slashes = False
    api = NeurostoreApi(app)
    meta_analyses.document_run_body(api, services.analysis_runs.spec_schemas())
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    errors.register(app, page=web.error_page)
    web.register(app, settings)
    app.before_request(_refuse_nul)
    app.before_request(_refuse_unknown_parameters)
    if settings.cors_origins:
        # Browser clients on other sites (e.g. a meta-analysis front end) read ETags and
        # send If-Match; a bearer token needs no cookies, so no credentials are allowed.
        CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}},
             allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match"],
             expose_headers=["ETag", "Location"], max_age=600)
    return app
