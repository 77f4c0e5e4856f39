"""``/api/analyses``, ``/api/tables``, ``/api/points``, ``/api/images`` (parts of studies)
and ``/api/conditions``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, url_for
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.aggregates import provenance
from neurostore.api.child_views import ChildViews
from neurostore.api.context import actor, reads, services
from neurostore.api.studies import split_list_args
from neurostore.schemas.api_queries import (
    ChildListArgs,
    ConditionListArgs,
    NestedArgs,
    ReplaceArgs,
    WriteArgs,
)
from neurostore.schemas.api_responses import (
    AnalysisOut,
    AnalysisPage,
    ConditionDetailOut,
    ConditionPage,
    DeletedOut,
    ImageOut,
    ImagePage,
    PointOut,
    PointPage,
    TableOut,
    TablePage,
)
from neurostore.schemas.children import CREATE_SCHEMAS
from neurostore.schemas.points import PointSchema
from neurostore.schemas.studies import AnalysisSchema, ConditionSchema, ImageSchema, TableSchema
from neurostore.services.versioning import Record

PART_NOTE = (
    " A write changes the study that holds it: the ETag is the study's version and the"
    " study's history records the change."
)
analyses = Blueprint("analyses", __name__, url_prefix="/api/analyses",
                     description="Analyses (contrasts) of studies." + PART_NOTE)
tables = Blueprint("tables", __name__, url_prefix="/api/tables",
                   description="Tables of studies." + PART_NOTE)
points = Blueprint("points", __name__, url_prefix="/api/points",
                   description="Peaks of analyses." + PART_NOTE)
images = Blueprint("images", __name__, url_prefix="/api/images",
                   description="Statistical maps of analyses." + PART_NOTE)
conditions = Blueprint("conditions", __name__, url_prefix="/api/conditions",
                       description="Conditions, shared by the analyses that weight them"
                                   " (usually created inline with an analysis). Their owner"
                                   " and curators edit them; each edit is a revision. One"
                                   " still weighted by an analysis cannot be deleted (409).")

analysis_views = ChildViews("analyses", AnalysisSchema(), "analyses.analysis")
table_views = ChildViews("tables", TableSchema(), "tables.table")
point_views = ChildViews("points", PointSchema(), "points.point")
image_views = ChildViews("images", ImageSchema(), "images.image")


def _body(schema: type, parent: str) -> dict[str, Any]:
    return http.body_doc(schema, f"The part, with `{parent}`: the id of the {parent} holding"
                                 " it (required to create).")




@dataclass(frozen=True)
class PartRoutes:
    """What the routes of one kind of study part differ by.

    Attributes
    ----------
    blueprint, views
        Where the routes go and the flows they call.
    schema, out, page
        The request schema and the documented responses.
    parent : str
        ``study`` or ``analysis``: what a new part is added to.
    nested : bool
        Whether the single GET takes ``nested`` (analyses embed their points and images).
    docs : dict of str to str
        The summary of each route (``list``, ``create``, ``get``, ``replace``, ``update``,
        ``delete``), shown in the OpenAPI document.
    """

    blueprint: Blueprint
    views: ChildViews
    schema: type
    out: type
    page: type
    parent: str
    nested: bool
    docs: dict[str, str]


def _documented(view: Callable[..., Response], doc: str, name: str) -> Callable[..., Response]:
    view.__doc__ = doc
    view.__name__ = name
    return view


def add_part_routes(r: PartRoutes) -> None:
    """Add list, create, get, replace, update and delete routes for one kind of part."""
    blp, views, body = r.blueprint, r.views, _body(r.schema, r.parent)
    one = r.views.endpoint.split(".")[1]

    def listed(args: dict[str, Any]) -> Response:
        return views.list(args)

    def created(args: dict[str, Any]) -> Response:
        return views.create(args)

    def got(args: dict[str, Any], id: str) -> Response:
        return views.get(id, args)

    def replaced(args: dict[str, Any], id: str) -> Response:
        return views.change(id, args, replace=args.get("replace", False))

    def updated(args: dict[str, Any], id: str) -> Response:
        return views.change(id, args, replace=False)

    def deleted(args: dict[str, Any], id: str) -> Response:
        return views.delete(id, args)

    def got_plain(id: str) -> Response:
        return views.get(id, {})

    write = blp.arguments(WriteArgs, location="query", error_status_code=400)
    blp.route("", methods=["GET"])(blp.arguments(
        ChildListArgs, location="query", error_status_code=400)(blp.response(200, r.page)(
            _documented(listed, r.docs["list"], f"list_{blp.name}"))))
    created_body = _body(CREATE_SCHEMAS[r.schema], r.parent)
    blp.route("", methods=["POST"])(write(blp.doc(requestBody=created_body)(blp.response(
        http.CREATED, r.out)(_documented(created, r.docs["create"], f"create_{one}")))))
    get = blp.response(200, r.out)(blp.alt_response(304, description=http.NOT_MODIFIED)(
        _documented(got if r.nested else got_plain, r.docs["get"], f"get_{one}")))
    if r.nested:
        get = blp.arguments(NestedArgs, location="query", error_status_code=400)(get)
    blp.route("/<id>", methods=["GET"], endpoint=one)(get)
    put = blp.arguments(ReplaceArgs, location="query", error_status_code=400)
    for method, view, key, arguments in (("PUT", replaced, "replace", put),
                                         ("PATCH", updated, "update", write)):
        blp.route("/<id>", methods=[method])(arguments(blp.doc(requestBody=body)(blp.response(
            200, r.out)(_documented(view, r.docs[key], f"{key}_{one}")))))
    blp.route("/<id>", methods=["DELETE"])(write(blp.response(200, DeletedOut)(
        _documented(deleted, r.docs["delete"], f"delete_{one}"))))


add_part_routes(PartRoutes(analyses, analysis_views, AnalysisSchema, AnalysisOut, AnalysisPage,
                           "study", True, {
    "list": "List analyses of visible studies; `nested=true` embeds points and images.",
    "create": "Add an analysis to the study named by `study`.",
    "get": "One analysis.",
    "replace": "Change the fields sent of an analysis, keep the others (`replace=true`:"
               " the whole analysis; points and images may be given as current ids).",
    "update": "Change some fields of an analysis.",
    "delete": "Remove an analysis from its study.",
}))
add_part_routes(PartRoutes(tables, table_views, TableSchema, TableOut, TablePage, "study",
                           False, {
    "list": "List tables of visible studies.",
    "create": "Add a table to the study named by `study`.",
    "get": "One table.",
    "replace": "Change the fields sent of a table (`replace=true`: the whole table).",
    "update": "Change some fields of a table.",
    "delete": "Remove a table (analyses read from it keep their data, unlinked).",
}))
add_part_routes(PartRoutes(points, point_views, PointSchema, PointOut, PointPage, "analysis",
                           False, {
    "list": "List peaks of visible studies.",
    "create": "Add a peak to the analysis named by `analysis`.",
    "get": "One peak.",
    "replace": "Change the fields sent of a peak (`replace=true`: the whole peak).",
    "update": "Change some fields of a peak (e.g. fix its coordinates).",
    "delete": "Remove a peak.",
}))
add_part_routes(PartRoutes(images, image_views, ImageSchema, ImageOut, ImagePage, "analysis",
                           False, {
    "list": "List images of visible studies.",
    "create": "Add an image to the analysis named by `analysis`.",
    "get": "One image.",
    "replace": "Change the fields sent of an image (`replace=true`: the whole image).",
    "update": "Change some fields of an image.",
    "delete": "Remove an image.",
}))


# conditions ----------------------------------------------------------------------------
@conditions.route("", methods=["GET"])
@conditions.arguments(ConditionListArgs, location="query", error_status_code=400)
@conditions.response(200, ConditionPage)
def list_conditions(args: dict[str, Any]) -> Response:
    """List conditions, optionally those whose name contains `name`."""
    query, filters = split_list_args(args)
    return http.page(lambda: reads().conditions(query, **filters))


def _condition(record: Record, status: int = 200, *, location: bool = False) -> Response:
    return http.respond({**record.state, "version": record.version}, status,
                        version=record.version, cacheable=not location,
                        location=url_for("conditions.condition", id=record.id)
                        if location else None)


@conditions.route("", methods=["POST"])
@conditions.arguments(WriteArgs, location="query", error_status_code=400)
@conditions.doc(requestBody=http.body_doc(ConditionSchema))
@conditions.response(http.CREATED, ConditionDetailOut)
def create_condition(args: dict[str, Any]) -> Response:
    """Create a condition you own (analyses then weight it by id)."""
    record = services().conditions.create(actor(), http.json_body(),
                                          provenance=provenance(args))
    return _condition(record, http.CREATED, location=True)


@conditions.route("/<id>", methods=["GET"], endpoint="condition")
@conditions.response(200, ConditionDetailOut)
@conditions.alt_response(304, description=http.NOT_MODIFIED)
def get_condition(id: str) -> Response:
    """One condition."""
    return _condition(services().conditions.get(actor(), id))


def _edit_condition(id: str, args: dict[str, Any], replace: bool) -> Response:
    record = services().conditions.update(actor(), id, http.json_body(), replace=replace,
                                          if_match=http.if_match(),
                                          provenance=provenance(args))
    return _condition(record)


@conditions.route("/<id>", methods=["PUT"])
@conditions.arguments(ReplaceArgs, location="query", error_status_code=400)
@conditions.doc(requestBody=http.body_doc(ConditionSchema))
@conditions.response(200, ConditionDetailOut)
def replace_condition(args: dict[str, Any], id: str) -> Response:
    """Change the fields sent of a condition (`replace=true`: omitted ones become null)."""
    return _edit_condition(id, args, args.get("replace", False))


@conditions.route("/<id>", methods=["PATCH"])
@conditions.arguments(WriteArgs, location="query", error_status_code=400)
@conditions.doc(requestBody=http.body_doc(ConditionSchema))
@conditions.response(200, ConditionDetailOut)
def update_condition(args: dict[str, Any], id: str) -> Response:
    """Change a condition's name or description (every analysis weighting it shows it)."""
    return _edit_condition(id, args, False)


@conditions.route("/<id>", methods=["DELETE"])
@conditions.arguments(WriteArgs, location="query", error_status_code=400)
@conditions.response(200, DeletedOut)
def delete_condition(args: dict[str, Any], id: str) -> Response:
    """Delete a condition no analysis weights (409 otherwise); its history stays."""
    record = services().conditions.delete(actor(), id, if_match=http.if_match(),
                                          provenance=provenance(args))
    return http.respond({"id": record.id, "version": record.version, "deleted": True})
