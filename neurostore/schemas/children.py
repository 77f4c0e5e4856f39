"""Bodies that create a part of a study: the part, and the id of the study or analysis
holding it."""

from __future__ import annotations

from marshmallow import fields, validate

from neurostore.schemas.points import PointSchema
from neurostore.schemas.studies import AnalysisSchema, ImageSchema, TableSchema


class AnalysisCreate(AnalysisSchema):
    """A new analysis and the study it is added to."""

    study = fields.String(required=True, validate=validate.Length(min=1, max=32))


class TableCreate(TableSchema):
    """A new table and the study it is added to."""

    study = fields.String(required=True, validate=validate.Length(min=1, max=32))


class PointCreate(PointSchema):
    """A new peak and the analysis it is added to."""

    analysis = fields.String(required=True, validate=validate.Length(min=1, max=32))


class ImageCreate(ImageSchema):
    """A new image and the analysis it is added to."""

    analysis = fields.String(required=True, validate=validate.Length(min=1, max=32))


#: The documented body of each kind's create: its parent's id is required.
CREATE_SCHEMAS = {AnalysisSchema: AnalysisCreate, TableSchema: TableCreate,
                  PointSchema: PointCreate, ImageSchema: ImageCreate}
