"""Schemas of snapshots: freeze requests, list filters, exports and the snapshots themselves."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from neurostore.snapshot.formats import FORMATS


class SnapshotOptions(Schema):
    """What to freeze with a studyset."""

    annotation = fields.String(allow_none=True, load_default=None,
                               validate=validate.Length(min=1, max=32))
    include = fields.String(allow_none=True, load_default=None,
                            validate=validate.Length(min=1, max=255))


class SnapshotBody(SnapshotOptions):
    """A studyset to freeze, with an annotation of it and an inclusion column."""

    studyset = fields.String(required=True, validate=validate.Length(min=1, max=32))


class SnapshotListArgs(Schema):
    """Filters of the snapshot list."""

    studyset = fields.String(validate=validate.Length(min=1, max=32))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ExportArgs(Schema):
    """Which export to download."""

    format = fields.String(load_default="nimads", validate=validate.OneOf(list(FORMATS)),
                           metadata={"description": "; ".join(
                               f"{f.name}: {f.description}" for f in FORMATS.values())})


class SnapshotExportOut(Schema):
    """An export made of a snapshot."""

    format = fields.String(required=True)
    file = fields.String(required=True)
    n_bytes = fields.Integer(required=True)


class SnapshotOut(Schema):
    """A snapshot: where it came from, what it holds, and its id (the sha256 of its bytes)."""

    id = fields.String(required=True)
    file = fields.String(required=True)
    studyset = fields.String(allow_none=True)
    studyset_version = fields.Integer()
    annotation = fields.String(allow_none=True)
    annotation_version = fields.Integer(allow_none=True)
    include = fields.String(allow_none=True)
    user = fields.String(allow_none=True)
    public = fields.Boolean()
    n_studies = fields.Integer()
    n_analyses = fields.Integer()
    n_points = fields.Integer()
    n_excluded = fields.Integer()
    n_bytes = fields.Integer()
    inputs = fields.Dict(metadata={"description": "what the snapshot can feed an estimator"})
    created_at = fields.String(allow_none=True)
    exports = fields.List(fields.Nested(SnapshotExportOut))


class SnapshotPage(Schema):
    """Snapshots, newest first."""

    results = fields.List(fields.Nested(SnapshotOut), required=True)
