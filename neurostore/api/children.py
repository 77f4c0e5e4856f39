"""``/api/analyses``, ``/api/tables``, ``/api/points``, ``/api/images`` (parts of studies)
and ``/api/conditions``."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.child_views import ChildViews
from neurostore.api.context import reads
from neurostore.api.studies import split_list_args
from neurostore.schemas.api_queries import ChildListArgs, ConditionListArgs, NestedArgs, WriteArgs
from neurostore.schemas.api_responses import (
    AnalysisOut,
    AnalysisPage,
    ConditionOut,
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
from neurostore.schemas.studies import AnalysisSchema, ImageSchema, TableSchema

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
                       description="Conditions. They are shared by the analyses that weight"
                                   " them and recorded in those studies' histories, so they"
                                   " are created inline with analyses and never edited.")

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


@conditions.route("/<id>", methods=["GET"])
@conditions.response(200, ConditionOut)
def get_condition(id: str) -> Response:
    """One condition."""
    return http.respond(reads().condition(id))
