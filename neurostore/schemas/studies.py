"""Schemas of the study aggregate: what a write may send (a GET's output loads back)."""

from __future__ import annotations

from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
)

from neurostore.schemas.fields import (
    FiniteFloat,
    Identifier,
    ImageSpace,
    Reference,
    StrictBoolean,
    UtcDateTime,
    ValueType,
    WholeNumber,
    not_blank,
)
from neurostore.schemas.points import PointList

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="must be a lower-case sha256 hex digest")


class InputSchema(Schema):
    """Base of input schemas: unknown keys (read-only fields of a GET) are ignored."""

    class Meta:
        unknown = EXCLUDE


class ImageSchema(InputSchema):
    """A statistical map."""

    id = fields.String(validate=validate.Length(min=1, max=32))
    url = fields.String(allow_none=True, load_default=None)
    filename = fields.String(allow_none=True, load_default=None)
    sha256 = fields.String(allow_none=True, validate=SHA256, load_default=None)
    space = ImageSpace(allow_none=True, load_default=None)
    value_type = ValueType(allow_none=True, load_default=None)
    metadata = fields.Dict(allow_none=True, load_default=None)
    add_date = UtcDateTime(allow_none=True, load_default=None)


class ConditionSchema(InputSchema):
    """A condition given inline."""

    id = fields.String(validate=validate.Length(min=1, max=32))
    name = fields.String(allow_none=True, load_default=None, validate=not_blank(),
                         metadata={"description": "null for no name; never blank"})
    description = fields.String(allow_none=True, load_default=None)


class TableSchema(InputSchema):
    """A publication table."""

    id = fields.String(validate=validate.Length(min=1, max=32))
    t_id = fields.String(allow_none=True, validate=validate.Length(max=255), load_default=None)
    name = fields.String(allow_none=True, load_default=None)
    caption = fields.String(allow_none=True, load_default=None)
    footer = fields.String(allow_none=True, load_default=None)
    metadata = fields.Dict(allow_none=True, load_default=None)


class AnalysisSchema(InputSchema):
    """A contrast with its conditions, weights, points and images."""

    id = fields.String(validate=validate.Length(min=1, max=32))
    name = fields.String(allow_none=True, load_default=None)
    description = fields.String(allow_none=True, load_default=None)
    metadata = fields.Dict(allow_none=True, load_default=None)
    table = Reference(TableSchema(), allow_none=True, load_default=None)
    conditions = fields.List(Reference(ConditionSchema()), load_default=list)
    weights = fields.List(FiniteFloat(), load_default=None)
    points = PointList(load_default=list)
    images = fields.List(fields.Nested(ImageSchema), load_default=list)
    table_id = fields.String(allow_none=True, load_only=True,
                             metadata={"description": "NeuroStore's name of `table`"})

    @pre_load
    def table_id_is_table(self, data: Any, **kwargs: Any) -> Any:
        # NeuroStore's clients send table_id; sent with it, our own `table` wins.
        if isinstance(data, dict) and "table_id" in data:
            data = dict(data)
            data.setdefault("table", data.pop("table_id"))
            data.pop("table_id", None)
        return data

    @post_load
    def default_weights(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("weights") is None:
            data["weights"] = [1.0] * len(data["conditions"])
        elif len(data["weights"]) != len(data["conditions"]):
            raise ValidationError(
                f"{len(data['weights'])} weights for {len(data['conditions'])} conditions:"
                " give one weight per condition",
                "weights",
            )
        return data


class PublicationSchema(InputSchema):
    """Descriptive fields shared by publications, studies and studysets."""

    name = fields.String(allow_none=True, load_default=None, validate=not_blank(),
                         metadata={"description": "null for no name; never blank"})
    description = fields.String(allow_none=True, load_default=None)
    publication = fields.String(allow_none=True, load_default=None)
    authors = fields.String(allow_none=True, load_default=None)
    year = WholeNumber(allow_none=True, validate=validate.Range(1800, 2200), load_default=None)
    doi = Identifier("doi", load_default=None)
    pmid = Identifier("pmid", load_default=None)
    pmcid = Identifier("pmcid", load_default=None)
    metadata = fields.Dict(allow_none=True, load_default=None)


class StudySchema(PublicationSchema):
    """A study version with its whole tree."""

    id = fields.String(validate=validate.Length(min=1, max=32))
    base_study = fields.String(allow_none=True, load_default=None)
    source = fields.String(
        allow_none=True, validate=[validate.Length(min=1, max=64), not_blank()],
        load_default=None,
    )
    source_id = fields.String(
        allow_none=True, validate=[validate.Length(min=1, max=255), not_blank()],
        load_default=None,
    )
    source_updated_at = UtcDateTime(allow_none=True, load_default=None)
    public = StrictBoolean(load_default=True)
    tables = fields.List(fields.Nested(TableSchema), load_default=list)
    analyses = fields.List(fields.Nested(AnalysisSchema), load_default=list)


class BaseStudySchema(PublicationSchema):
    """A publication."""

    id = fields.String(validate=validate.Length(min=1, max=32))
