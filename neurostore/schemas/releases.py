"""Schemas of the NeuroStore studyset releases (snapshots as NiMARE's fetch_neurostore
reads them)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ReleaseListArgs(Schema):
    """How many releases to list."""

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ReleaseOut(Schema):
    """A release: where to download its archive, and the archive's sha256."""

    version = fields.String(required=True, metadata={"description": "the snapshot id"})
    release_type = fields.String(required=True)
    built_at = fields.String(required=True, metadata={"description": "ISO 8601, UTC"})
    study_count = fields.Integer(required=True)
    analysis_count = fields.Integer(required=True)
    point_count = fields.Integer(required=True)
    download_path = fields.String(required=True,
                                  metadata={"description": "resolved against this URL"})
    archive_name = fields.String(required=True)
    archive_checksum = fields.String(required=True, metadata={"description": "sha256, hex"})
    archive_size = fields.Integer(required=True)
    snapshot = fields.String(required=True)
    studyset = fields.String(allow_none=True)
    annotation = fields.String(allow_none=True)


class ReleaseCount(Schema):
    """Size of the whole list."""

    total_count = fields.Integer(required=True)


class ReleasePage(Schema):
    """Releases, newest first."""

    metadata = fields.Nested(ReleaseCount, required=True)
    results = fields.List(fields.Nested(ReleaseOut), required=True)
