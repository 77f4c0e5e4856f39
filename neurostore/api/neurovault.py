"""``/api/meta-analyses/{id}/neurovault`` and ``/api/terms/{term}/neurovault``: a finished
run's maps, or a term's maps, out to NeuroVault, as a bundle to download or an upload job run
by a worker with the user's API token."""

from __future__ import annotations

from typing import Any

from flask import Response, request, stream_with_context, url_for
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.context import actor, services
from neurostore.schemas.neurovault import (
    PublicationOut,
    PublishOptions,
    PublishRequest,
    TermPublishOptions,
)
from neurostore.schemas.terms import FeatureSetArg

blp = Blueprint("neurovault", __name__, url_prefix="/api",
                description="Publish meta-analysis results and term maps to NeuroVault")

BUNDLE_RESPONSE = {"200": {"description": "A zip: maps/, collection.json, images.json, "
                                          "methods.txt, README.md",
                           "content": {"application/zip": {"schema": {}}}}}


def _attachment(name: str, chunks: Any) -> Response:
    return Response(stream_with_context(chunks), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _site() -> str:
    """This store's address as the caller reached it (for the links back from NeuroVault)."""
    return request.host_url.rstrip("/")


@blp.route("/meta-analyses/<run_id>/neurovault.zip", methods=["GET"])
@blp.arguments(PublishOptions, location="query", error_status_code=400)
@blp.doc(responses=BUNDLE_RESPONSE)
def bundle(args: dict[str, Any], run_id: str) -> Response:
    """An upload-ready NeuroVault bundle of a finished run (its owner or an admin), streamed.

    409 while the run has not succeeded.
    """
    return _attachment(*services().neurovault.bundle(actor(), run_id, args, site=_site()))


@blp.route("/meta-analyses/<run_id>/neurovault", methods=["POST"])
@blp.doc(requestBody=http.body_doc(PublishRequest, "Your NeuroVault API token (kept only "
                                   "until a worker starts the upload) and the collection's "
                                   "options."))
@blp.response(202, PublicationOut)
def publish(run_id: str) -> Response:
    """Upload a finished run's maps to NeuroVault (a job; follow it with GET). Publishing
    the same run again updates its collection and images. 409 while the run has not
    succeeded or an upload of it is under way."""
    state = services().neurovault.request(actor(), run_id, http.json_body(), site=_site())
    return http.respond(state, 202, location=url_for("neurovault.publication", run_id=run_id))


@blp.route("/meta-analyses/<run_id>/neurovault", methods=["GET"], endpoint="publication")
@blp.response(200, PublicationOut)
def publication(run_id: str) -> Response:
    """The run's NeuroVault publication: status, progress, collection URL, error."""
    return http.respond(services().neurovault.state(actor(), run_id))


@blp.route("/terms/<term>/neurovault.zip", methods=["GET"])
@blp.arguments(TermPublishOptions, location="query", error_status_code=400)
@blp.doc(responses=BUNDLE_RESPONSE)
def term_bundle(args: dict[str, Any], term: str) -> Response:
    """An upload-ready NeuroVault bundle of a term's maps (or a boolean expression's), of
    the newest term maps or a feature set's; any signed-in user. 404 for an unknown term."""
    feature_set = args.pop("feature_set", None)
    return _attachment(*services().neurovault.term_bundle(
        actor(), term, args, feature_set=feature_set, site=_site()))


@blp.route("/terms/<term>/neurovault", methods=["POST"])
@blp.arguments(FeatureSetArg, location="query", error_status_code=400)
@blp.doc(requestBody=http.body_doc(PublishRequest, "Your NeuroVault API token (kept only "
                                   "until a worker starts the upload) and the collection's "
                                   "options."))
@blp.response(202, PublicationOut)
def publish_term(args: dict[str, Any], term: str) -> Response:
    """Upload a term's maps to your NeuroVault account (a job; follow it with GET).
    Publishing the same term of the same term maps again updates your collection and
    images. 409 while an upload of it is under way."""
    feature_set = args.get("feature_set")
    state = services().neurovault.term_request(actor(), term, http.json_body(),
                                               feature_set=feature_set, site=_site())
    extra = {"feature_set": feature_set} if feature_set else {}
    return http.respond(state, 202, location=url_for("neurovault.term_publication",
                                                     term=term, **extra))


@blp.route("/terms/<term>/neurovault", methods=["GET"], endpoint="term_publication")
@blp.arguments(FeatureSetArg, location="query", error_status_code=400)
@blp.response(200, PublicationOut)
def term_publication(args: dict[str, Any], term: str) -> Response:
    """Your NeuroVault publication of a term's maps: status, progress, collection URL,
    error."""
    return http.respond(services().neurovault.term_state(
        actor(), term, feature_set=args.get("feature_set")))
