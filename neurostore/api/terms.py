"""Term-based meta-analyses, decoding and text-to-brain maps.

``/api/feature-sets`` and ``/api/term-builds`` (what the maps are built from, and the jobs
that build them), ``/api/terms`` (Neurosynth's term maps, and boolean expressions of terms
computed on demand), ``/api/decode`` (terms for a map or a region), and
``/api/neuroquery`` (a map predicted from text).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, request, url_for
from flask_smorest import Blueprint
from werkzeug.exceptions import UnsupportedMediaType

from neurostore.api import http
from neurostore.api.context import actor, services
from neurostore.schemas.terms import (
    DecodeArgs,
    DecodeOut,
    FeatureSetArg,
    FeatureSetOut,
    FeatureSetPage,
    StudyFeaturesOut,
    StudyTextPage,
    TermArgs,
    TermBuildArgs,
    TermBuildIn,
    TermBuildOut,
    TermBuildPage,
    TermListArgs,
    TermOut,
    TermPage,
    TextQueryArgs,
    TextQueryOut,
)
from neurostore.services.errors import Invalid

blp = Blueprint("terms", __name__, url_prefix="/api",
                description="Term-based meta-analyses, decoding and text-to-brain maps")

#: Formats a map is served in.
MAP_FORMATS = {"nii.gz": "application/gzip", "png": "image/png"}
MAP_RESPONSE = {"200": {"description": "A map",
                        "content": {m: {"schema": {}} for m in MAP_FORMATS.values()}}}
UPLOAD_BODY = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "image": {"type": "string", "format": "binary",
                  "description": "a statistical map to decode by correlation"},
        "roi": {"type": "string", "format": "binary",
                "description": "a region (non-zero voxels) to decode by its studies"}}}},
    "application/json": {"schema": {"type": "object", "properties": {
        "coordinates": {"type": "array", "items": {}, "description": "[x, y, z] or a list"},
        "radius": {"type": "number", "description": "mm, with coordinates (default 6)"},
        "meta_analysis": {"type": "string", "description": "a run whose map to decode"},
        "map": {"type": "string", "description": "with meta_analysis: the map's name"},
        "method": {"type": "string", "enum": ["neurosynth", "brainmap"]},
        "top": {"type": "integer"}}}}}}


def _map_urls(term: str, names: list[str], feature_set: str | None) -> dict[str, Any]:
    extra = {"feature_set": feature_set} if feature_set else {}
    return {name: {fmt: url_for("terms.term_map", term=term, file=f"{name}.{fmt}", **extra)
                   for fmt in MAP_FORMATS} for name in names}


@blp.route("/feature-sets", methods=["GET"])
@blp.response(200, FeatureSetPage)
def list_feature_sets() -> Response:
    """Feature sets (studies x terms weights), newest first."""
    return http.respond({"results": services().terms.feature_sets()})


@blp.route("/feature-sets/<ref>", methods=["GET"])
@blp.response(200, FeatureSetOut)
def get_feature_set(ref: str) -> Response:
    """A feature set by id, id prefix (8+ characters) or name (the newest of that name)."""
    return http.respond(services().terms.feature_set(ref))


@blp.route("/base-studies/<id>/features", methods=["GET"])
@blp.arguments(TermArgs, location="query", error_status_code=400)
@blp.response(200, StudyFeaturesOut)
def base_study_features(args: dict[str, Any], id: str) -> Response:
    """A publication's heaviest terms in a feature set (NeuroStore's ``features``)."""
    return http.respond(services().terms.study_features(
        actor(), id, feature_set=args.get("feature_set"), top=args["top"]))


@blp.route("/base-studies/<id>/texts", methods=["GET"])
@blp.response(200, StudyTextPage)
def base_study_texts(id: str) -> Response:
    """A publication's texts (title, abstract, keywords...), by source."""
    return http.respond({"results": services().texts.of(actor(), id)})


@blp.route("/term-builds", methods=["POST"])
@blp.arguments(TermBuildIn)
@blp.response(202, TermBuildOut)
def create_build(body: dict[str, Any]) -> Response:
    """Build a feature set, the term maps of one, or a text-to-brain model (administrators)."""
    build = services().terms.request(actor(), body["kind"], body["parameters"])
    return http.respond(build, 202, location=url_for("terms.get_build", build_id=build["id"]))


@blp.route("/term-builds", methods=["GET"])
@blp.arguments(TermBuildArgs, location="query", error_status_code=400)
@blp.response(200, TermBuildPage)
def list_builds(args: dict[str, Any]) -> Response:
    """Term builds, newest first."""
    return http.respond({"results": services().terms.list_builds(
        actor(), kind=args.get("kind"), limit=args["limit"])})


@blp.route("/term-builds/<build_id>", methods=["GET"])
@blp.response(200, TermBuildOut)
def get_build(build_id: str) -> Response:
    """A build's status, progress and result."""
    return http.respond(services().terms.get_build(actor(), build_id))


@blp.route("/terms", methods=["GET"])
@blp.arguments(TermListArgs, location="query", error_status_code=400)
@blp.response(200, TermPage)
def list_terms(args: dict[str, Any]) -> Response:
    """Terms of the newest term maps with their study counts (``search``: a substring)."""
    return http.respond(services().terms.terms(
        feature_set=args.get("feature_set"), search=args.get("search"),
        built_only=args["built"], limit=args["limit"], offset=args["offset"]))


@blp.route("/terms/<term>", methods=["GET"])
@blp.arguments(TermArgs, location="query", error_status_code=400)
@blp.response(200, TermOut)
def get_term(args: dict[str, Any], term: str) -> Response:
    """A term, or a boolean expression of terms (``pain AND NOT itch``, computed on demand
    and cached): its studies, the addresses of its maps, and related terms."""
    found = services().terms.term(term, feature_set=args.get("feature_set"), top=args["top"])
    found["map_urls"] = _map_urls(term, found["maps"], args.get("feature_set"))
    return http.respond(found)


@blp.route("/terms/<term>/maps/<file>", methods=["GET"], endpoint="term_map")
@blp.arguments(FeatureSetArg, location="query", error_status_code=400)
@blp.doc(responses=MAP_RESPONSE)
def get_term_map(args: dict[str, Any], term: str, file: str) -> Response:
    """One map of a term or expression: ``{map}.nii.gz`` (NIfTI) or ``{map}.png``."""
    fmt = next((f for f in MAP_FORMATS if file.endswith(f".{f}")), None)
    if fmt is None:
        raise Invalid({"file": f"must end in {' or '.join('.' + f for f in MAP_FORMATS)}"})
    name = file.removesuffix(f".{fmt}")
    data = services().terms.term_map(term, name, feature_set=args.get("feature_set"),
                                     picture=fmt == "png")
    filename = f"{quote(term, safe='')}_{name}.{fmt}"
    return Response(data, mimetype=MAP_FORMATS[fmt], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
        "Cache-Control": "public, max-age=3600"})


def _decode_request() -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The decode request from an upload or a JSON body, and the run it names."""
    if request.mimetype == "multipart/form-data":
        uploaded = {k: request.files[k].read() for k in ("image", "roi") if k in request.files}
        if len(uploaded) != 1:
            raise Invalid({"_body": "upload one file, as `image` (a map) or `roi` (a region)"})
        return uploaded, None
    body = http.json_body()
    if not isinstance(body, dict):
        raise Invalid({"_body": "expected an object"})
    run = body.pop("meta_analysis", None)
    if run is None:
        return body, None
    name = body.pop("map", None)
    if not isinstance(run, str) or not (name is None or isinstance(name, str)):
        raise Invalid({"meta_analysis": "expected a run id, and a map name if any"})
    data, name = services().analysis_runs.result_map(actor(), run, name,
                                                       services().terms.files)
    return {**body, "image": data}, {"meta_analysis": run, "map": name}


@blp.route("/decode", methods=["POST"])
@blp.arguments(DecodeArgs, location="query", error_status_code=400)
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(200, DecodeOut)
def decode(args: dict[str, Any]) -> Response:
    """Terms for a map (an upload, or a meta-analysis result: correlation with every term
    map) or a region (an ROI upload, or coordinates and a radius: the Neurosynth or
    BrainMap decoder on the studies reporting foci in it)."""
    if request.mimetype not in ("multipart/form-data", "application/json"):
        raise UnsupportedMediaType("send a multipart upload or a JSON body")
    wanted, source = _decode_request()
    for key in ("method", "top"):
        if key in args:
            wanted.setdefault(key, args[key])
    decoded = services().terms.decode(wanted, feature_set=args.get("feature_set"))
    if source is not None:
        decoded["source"] = source
    return http.respond(decoded)


@blp.route("/meta-analyses/<run_id>/terms", methods=["GET"])
@blp.arguments(DecodeArgs, location="query", error_status_code=400)
@blp.response(200, DecodeOut)
def run_terms(args: dict[str, Any], run_id: str) -> Response:
    """The top terms of a meta-analysis result (its z map decoded by correlation)."""
    data, name = services().analysis_runs.result_map(actor(), run_id, None,
                                                       services().terms.files)
    decoded = services().terms.decode({"image": data, "top": args["top"]},
                                      feature_set=args.get("feature_set"))
    decoded["source"] = {"meta_analysis": run_id, "map": name}
    return http.respond(decoded)


@blp.route("/neuroquery", methods=["GET"])
@blp.arguments(TextQueryArgs, location="query", error_status_code=400)
@blp.response(200, TextQueryOut)
def text_to_brain(args: dict[str, Any]) -> Response:
    """NeuroQuery: the brain map predicted from a text, the terms it used, similar terms
    and the most similar studies."""
    answer = services().terms.text_query(args["text"], feature_set=args.get("feature_set"),
                                         top=args["top"])
    answer.pop("map")
    extra = {"feature_set": args["feature_set"]} if args.get("feature_set") else {}
    answer["map_url"] = url_for("terms.text_map", text=args["text"], **extra)
    return http.respond(answer)


@blp.route("/neuroquery/map.nii.gz", methods=["GET"], endpoint="text_map")
@blp.arguments(TextQueryArgs, location="query", error_status_code=400)
@blp.doc(responses={"200": {"description": "The predicted z map",
                            "content": {"application/gzip": {"schema": {}}}}})
def text_to_brain_map(args: dict[str, Any]) -> Response:
    """The brain map predicted from a text, as NIfTI."""
    answer = services().terms.text_query(args["text"], feature_set=args.get("feature_set"),
                                         top=1)
    return Response(answer["map"], mimetype="application/gzip", headers={
        "Content-Disposition": "attachment; filename=neuroquery.nii.gz"})
