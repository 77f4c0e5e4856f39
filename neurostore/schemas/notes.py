"""Notes one at a time (`/api/annotation-analyses`): what is merged, and what is returned."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields

from neurostore.schemas.api_responses import NoteOut


class NoteItemOut(NoteOut):
    """A note with its id and annotation."""

    id = fields.String(required=True)
    annotation = fields.String(required=True)


class NoteItemIn(Schema):
    """A note to merge: named by its id, or by annotation and analysis."""

    class Meta:
        # NeuroStore's client adds "public" to every object it sends.
        unknown = EXCLUDE

    id = fields.String(metadata={"description": "`<annotation id>_<analysis id>`"})
    annotation = fields.String()
    analysis = fields.String()
    note = fields.Dict(required=True, metadata={"description": "keys to set; others kept"})
