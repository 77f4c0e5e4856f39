"""Schemas of studysets and annotations."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate

from neurostore.schemas.fields import OPENAPI, StrictBoolean, is_whole_number
from neurostore.schemas.patterns import NOT_BLANK, STORABLE_TEXT
from neurostore.schemas.studies import InputSchema, PublicationSchema, StudySchema

NOTE_TYPES = ("boolean", "string", "number", "integer")


class StudyRef(fields.Field):
    """A study given by id, or inline: an object with an ``id`` names that existing study
    (as NeuroStore's clients send a nested studyset back), one without creates a new study
    with the studyset."""

    _study = StudySchema()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata[OPENAPI] = {"anyOf": [{"type": "string", "pattern": NOT_BLANK},
                                            self._study]}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                raise ValidationError("a study id must not be blank")
            return {"id": value}
        if isinstance(value, dict):
            study = self._study.load(value)
            return {"id": study["id"]} if study.get("id") else {"new": study}
        raise ValidationError("expected a study id or a study object")


class StudysetSchema(PublicationSchema):
    """A curated, ordered list of study versions."""

    id = fields.String(validate=validate.Length(min=1, max=32))
    public = StrictBoolean(load_default=True)
    studies = fields.List(StudyRef(), load_default=list,
                          metadata={"uniqueItems": True, "description": "each study once"})


class NoteKey(fields.Field):
    """A note column: its type (``"boolean"``), or NeuroStore's object form
    ``{"type": "boolean", "order": 0, "default": true}``, kept as given."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata[OPENAPI] = {"anyOf": [
            {"type": "string", "enum": list(NOTE_TYPES)},
            *({"type": "object", "required": ["type"], "additionalProperties": False,
               "properties": {"type": {"type": "string", "enum": [kind]},
                              "order": {"type": ["integer", "null"]},
                              "default": {"type": [kind, "null"],
                                          **({"pattern": STORABLE_TEXT} if kind == "string"
                                             else {})}}}
              for kind in NOTE_TYPES),
        ]}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            if value not in NOTE_TYPES:
                raise ValidationError(f"must be one of: {', '.join(NOTE_TYPES)}")
            return value
        if not isinstance(value, dict):
            raise ValidationError("expected a type name or an object with a type")
        errors: dict[str, str] = {}
        unknown = sorted(set(value) - {"type", "order", "default"})
        if unknown:
            errors["_schema"] = f"unknown keys: {', '.join(unknown)}"
        kind = value.get("type")
        if kind not in NOTE_TYPES:
            errors["type"] = f"must be one of: {', '.join(NOTE_TYPES)}"
        order = value.get("order")
        if order is not None and not is_whole_number(order):
            errors["order"] = "must be an integer"
        default = value.get("default")
        if kind in NOTE_TYPES and default is not None and not _matches(default, kind):
            errors["default"] = f"expected a {kind}, got {default!r}"
        if errors:
            raise ValidationError(errors)
        return dict(value)


def note_type(key: str | dict[str, Any]) -> str:
    """The type of a note column, in either form."""
    return key if isinstance(key, str) else key["type"]


def blank_note(note_keys: dict[str, Any]) -> dict[str, Any]:
    """The note of an analysis nobody has annotated: each key's default, else null."""
    return {k: v.get("default") if isinstance(v, dict) else None for k, v in note_keys.items()}


class NoteSchema(InputSchema):
    """One analysis's note."""

    analysis = fields.String(required=True, validate=validate.Length(min=1, max=32))
    study = fields.String(allow_none=True, load_default=None)
    note = fields.Dict(allow_none=True, load_default=dict)


class AnnotationSchema(InputSchema):
    """Typed columns over a studyset's analyses, with one note per analysis."""

    id = fields.String(validate=validate.Length(min=1, max=32))
    studyset = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(allow_none=True, load_default=None)
    description = fields.String(allow_none=True, load_default=None)
    metadata = fields.Dict(allow_none=True, load_default=None)
    public = StrictBoolean(load_default=True)
    note_keys = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=255)),
        values=NoteKey(),
        load_default=dict,
    )
    notes = fields.List(fields.Nested(NoteSchema), load_default=None)

    @post_load
    def check_notes(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        keys = data["note_keys"]
        errors: dict[str, Any] = {}
        seen: set[str] = set()
        for n, item in enumerate(data["notes"] or []):
            if item["analysis"] in seen:
                errors[f"notes.{n}.analysis"] = f"analysis {item['analysis']} has two notes"
            seen.add(item["analysis"])
            note = item["note"] or {}
            unknown = sorted(set(note) - set(keys))
            if unknown:
                errors[f"notes.{n}.note"] = (
                    f"keys not in note_keys: {', '.join(unknown)}; declare them in note_keys"
                )
                continue
            for key, column in keys.items():
                value, kind = note.get(key), note_type(column)
                if value is not None and not _matches(value, kind):
                    errors[f"notes.{n}.note.{key}"] = f"expected a {kind}, got {value!r}"
            blank = blank_note(keys)
            item["note"] = {key: note[key] if key in note else blank[key] for key in keys}
        if errors:
            raise ValidationError(errors)
        return data


def _matches(value: Any, kind: str) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


class AnnotationChangesSchema(AnnotationSchema):
    """Fields of an annotation to change (PUT and PATCH): any of them, the studyset too."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(partial=True, **kwargs)
