"""``/api/analyses``, ``/api/tables``, ``/api/points``, ``/api/images`` (parts of studies)
and ``/api/conditions``."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.aggregates import provenance
from neurostore.api.child_views import ChildViews
from neurostore.api.context import actor, reads, services
from neurostore.api.studies import split_list_args
from neurostore.schemas.api_queries import ChildListArgs, ConditionListArgs, NestedArgs, WriteArgs
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


# analyses ------------------------------------------------------------------------------
@analyses.route("", methods=["GET"])
@analyses.arguments(ChildListArgs, location="query", error_status_code=400)
@analyses.response(200, AnalysisPage)
def list_analyses(args: dict[str, Any]) -> Response:
    """List analyses of visible studies; `nested=true` embeds points and images."""
    return analysis_views.list(args)


@analyses.route("", methods=["POST"])
@analyses.arguments(WriteArgs, location="query", error_status_code=400)
@analyses.doc(requestBody=_body(AnalysisSchema, "study"))
@analyses.response(201, AnalysisOut)
def create_analysis(args: dict[str, Any]) -> Response:
    """Add an analysis to the study named by `study`."""
    return analysis_views.create(args)


@analyses.route("/<id>", methods=["GET"], endpoint="analysis")
@analyses.arguments(NestedArgs, location="query", error_status_code=400)
@analyses.response(200, AnalysisOut)
@analyses.alt_response(304, description=http.NOT_MODIFIED)
def get_analysis(args: dict[str, Any], id: str) -> Response:
    """One analysis."""
    return analysis_views.get(id, args)


@analyses.route("/<id>", methods=["PUT"])
@analyses.arguments(WriteArgs, location="query", error_status_code=400)
@analyses.doc(requestBody=_body(AnalysisSchema, "study"))
@analyses.response(200, AnalysisOut)
def replace_analysis(args: dict[str, Any], id: str) -> Response:
    """Replace an analysis (points and images may be given as current ids)."""
    return analysis_views.change(id, args, "PUT")


@analyses.route("/<id>", methods=["PATCH"])
@analyses.arguments(WriteArgs, location="query", error_status_code=400)
@analyses.doc(requestBody=_body(AnalysisSchema, "study"))
@analyses.response(200, AnalysisOut)
def update_analysis(args: dict[str, Any], id: str) -> Response:
    """Change some fields of an analysis."""
    return analysis_views.change(id, args, "PATCH")


@analyses.route("/<id>", methods=["DELETE"])
@analyses.arguments(WriteArgs, location="query", error_status_code=400)
@analyses.response(200, DeletedOut)
def delete_analysis(args: dict[str, Any], id: str) -> Response:
    """Remove an analysis from its study."""
    return analysis_views.delete(id, args)


# tables --------------------------------------------------------------------------------
@tables.route("", methods=["GET"])
@tables.arguments(ChildListArgs, location="query", error_status_code=400)
@tables.response(200, TablePage)
def list_tables(args: dict[str, Any]) -> Response:
    """List tables of visible studies."""
    return table_views.list(args)


@tables.route("", methods=["POST"])
@tables.arguments(WriteArgs, location="query", error_status_code=400)
@tables.doc(requestBody=_body(TableSchema, "study"))
@tables.response(201, TableOut)
def create_table(args: dict[str, Any]) -> Response:
    """Add a table to the study named by `study`."""
    return table_views.create(args)


@tables.route("/<id>", methods=["GET"], endpoint="table")
@tables.response(200, TableOut)
@tables.alt_response(304, description=http.NOT_MODIFIED)
def get_table(id: str) -> Response:
    """One table."""
    return table_views.get(id, {})


@tables.route("/<id>", methods=["PUT"])
@tables.arguments(WriteArgs, location="query", error_status_code=400)
@tables.doc(requestBody=_body(TableSchema, "study"))
@tables.response(200, TableOut)
def replace_table(args: dict[str, Any], id: str) -> Response:
    """Replace a table."""
    return table_views.change(id, args, "PUT")


@tables.route("/<id>", methods=["PATCH"])
@tables.arguments(WriteArgs, location="query", error_status_code=400)
@tables.doc(requestBody=_body(TableSchema, "study"))
@tables.response(200, TableOut)
def update_table(args: dict[str, Any], id: str) -> Response:
    """Change some fields of a table."""
    return table_views.change(id, args, "PATCH")


@tables.route("/<id>", methods=["DELETE"])
@tables.arguments(WriteArgs, location="query", error_status_code=400)
@tables.response(200, DeletedOut)
def delete_table(args: dict[str, Any], id: str) -> Response:
    """Remove a table (analyses read from it keep their data, unlinked)."""
    return table_views.delete(id, args)


# points --------------------------------------------------------------------------------
@points.route("", methods=["GET"])
@points.arguments(ChildListArgs, location="query", error_status_code=400)
@points.response(200, PointPage)
def list_points(args: dict[str, Any]) -> Response:
    """List peaks of visible studies."""
    return point_views.list(args)


@points.route("", methods=["POST"])
@points.arguments(WriteArgs, location="query", error_status_code=400)
@points.doc(requestBody=_body(PointSchema, "analysis"))
@points.response(201, PointOut)
def create_point(args: dict[str, Any]) -> Response:
    """Add a peak to the analysis named by `analysis`."""
    return point_views.create(args)


@points.route("/<id>", methods=["GET"], endpoint="point")
@points.response(200, PointOut)
@points.alt_response(304, description=http.NOT_MODIFIED)
def get_point(id: str) -> Response:
    """One peak."""
    return point_views.get(id, {})


@points.route("/<id>", methods=["PUT"])
@points.arguments(WriteArgs, location="query", error_status_code=400)
@points.doc(requestBody=_body(PointSchema, "analysis"))
@points.response(200, PointOut)
def replace_point(args: dict[str, Any], id: str) -> Response:
    """Replace a peak."""
    return point_views.change(id, args, "PUT")


@points.route("/<id>", methods=["PATCH"])
@points.arguments(WriteArgs, location="query", error_status_code=400)
@points.doc(requestBody=_body(PointSchema, "analysis"))
@points.response(200, PointOut)
def update_point(args: dict[str, Any], id: str) -> Response:
    """Change some fields of a peak (e.g. fix its coordinates)."""
    return point_views.change(id, args, "PATCH")


@points.route("/<id>", methods=["DELETE"])
@points.arguments(WriteArgs, location="query", error_status_code=400)
@points.response(200, DeletedOut)
def delete_point(args: dict[str, Any], id: str) -> Response:
    """Remove a peak."""
    return point_views.delete(id, args)


# images --------------------------------------------------------------------------------
@images.route("", methods=["GET"])
@images.arguments(ChildListArgs, location="query", error_status_code=400)
@images.response(200, ImagePage)
def list_images(args: dict[str, Any]) -> Response:
    """List images of visible studies."""
    return image_views.list(args)


@images.route("", methods=["POST"])
@images.arguments(WriteArgs, location="query", error_status_code=400)
@images.doc(requestBody=_body(ImageSchema, "analysis"))
@images.response(201, ImageOut)
def create_image(args: dict[str, Any]) -> Response:
    """Add an image to the analysis named by `analysis`."""
    return image_views.create(args)


@images.route("/<id>", methods=["GET"], endpoint="image")
@images.response(200, ImageOut)
@images.alt_response(304, description=http.NOT_MODIFIED)
def get_image(id: str) -> Response:
    """One image."""
    return image_views.get(id, {})


@images.route("/<id>", methods=["PUT"])
@images.arguments(WriteArgs, location="query", error_status_code=400)
@images.doc(requestBody=_body(ImageSchema, "analysis"))
@images.response(200, ImageOut)
def replace_image(args: dict[str, Any], id: str) -> Response:
    """Replace an image."""
    return image_views.change(id, args, "PUT")


@images.route("/<id>", methods=["PATCH"])
@images.arguments(WriteArgs, location="query", error_status_code=400)
@images.doc(requestBody=_body(ImageSchema, "analysis"))
@images.response(200, ImageOut)
def update_image(args: dict[str, Any], id: str) -> Response:
    """Change some fields of an image."""
    return image_views.change(id, args, "PATCH")


@images.route("/<id>", methods=["DELETE"])
@images.arguments(WriteArgs, location="query", error_status_code=400)
@images.response(200, DeletedOut)
def delete_image(args: dict[str, Any], id: str) -> Response:
    """Remove an image."""
    return image_views.delete(id, args)


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
                        version=record.version, cacheable=status == 200,
                        location=url_for("conditions.condition", id=record.id)
                        if location else None)


@conditions.route("", methods=["POST"])
@conditions.arguments(WriteArgs, location="query", error_status_code=400)
@conditions.doc(requestBody=http.body_doc(ConditionSchema))
@conditions.response(201, ConditionDetailOut)
def create_condition(args: dict[str, Any]) -> Response:
    """Create a condition you own (analyses then weight it by id)."""
    record = services().conditions.create(actor(), http.json_body(),
                                          provenance=provenance(args))
    return _condition(record, 201, location=True)


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
@conditions.arguments(WriteArgs, location="query", error_status_code=400)
@conditions.doc(requestBody=http.body_doc(ConditionSchema))
@conditions.response(200, ConditionDetailOut)
def replace_condition(args: dict[str, Any], id: str) -> Response:
    """Replace a condition's name and description (omitted ones become null)."""
    return _edit_condition(id, args, True)


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
