"""What ``GET /api/health`` answers: whether this process can serve requests."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class HealthOut(Schema):
    """A process that answers and reaches its database."""

    status = fields.String(required=True, validate=validate.OneOf(["ok"]))
    database = fields.String(required=True, validate=validate.OneOf(["ok"]),
                             metadata={"description": "the database answered a query"})
