"""Peaks: the schema that documents and validates one point, and a fast list field.

A study can carry thousands of peaks, and marshmallow's nested machinery costs about
25 microseconds a point. :class:`PointList` validates a list of points in one plain loop
with exactly :class:`PointSchema`'s rules and messages (a test holds the two equal), which
is what keeps whole-release ingestion and large saves fast.
"""

from __future__ import annotations

import math
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from neurostore import vocabulary
from neurostore.schemas.fields import (
    COORDINATE_LIMIT,
    OPENAPI,
    Coordinates,
    FiniteFloat,
    PointSpace,
    StrictBoolean,
)

_AXIS = validate.Range(-COORDINATE_LIMIT, COORDINATE_LIMIT)
KIND_MAX = 64
LABEL_MAX = 255
ID_MAX = 32


class PointValueSchema(Schema):
    """A statistic at a peak."""

    class Meta:
        unknown = EXCLUDE

    kind = fields.String(allow_none=True, validate=validate.Length(max=KIND_MAX),
                         load_default=None)
    value = FiniteFloat(allow_none=True, load_default=None)


class PointSchema(Schema):
    """A peak; ``coordinates`` are ``[x, y, z]`` in mm (``x``, ``y``, ``z`` may be sent
    instead, as NeuroStore's clients do; as in NeuroStore, ``coordinates`` win when both
    are sent)."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(validate=validate.Length(min=1, max=ID_MAX))
    coordinates = Coordinates(required=True)
    x = FiniteFloat(validate=_AXIS, metadata={
        "description": "instead of coordinates, with y and z"})
    y = FiniteFloat(validate=_AXIS)
    z = FiniteFloat(validate=_AXIS)
    space = PointSpace(allow_none=True, load_default=None)
    kind = fields.String(allow_none=True, validate=validate.Length(max=KIND_MAX),
                         load_default=None)
    label_id = fields.String(allow_none=True, validate=validate.Length(max=LABEL_MAX),
                             load_default=None)
    cluster_size = FiniteFloat(allow_none=True, validate=validate.Range(min=0),
                               load_default=None)
    subpeak = StrictBoolean(allow_none=True, load_default=None)
    deactivation = StrictBoolean(allow_none=True, load_default=None)
    values = fields.List(fields.Nested(PointValueSchema), load_default=list)


_NOT_NULL = "Field may not be null."
_FINITE = "must be a finite number (NaN and infinity are refused)"
_coordinates = Coordinates()


def _text(value: Any, limit: int | None, errors: dict, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[key] = ["Not a valid string."]
        return None
    if limit is not None and len(value) > limit:
        errors[key] = [f"Longer than maximum length {limit}."]
    return value


def _number(value: Any, errors: dict, key: str, minimum: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors[key] = ["Not a valid number."]
        return None
    try:
        number = float(value)
    except OverflowError:
        errors[key] = ["Not a valid number."]
        return None
    if not math.isfinite(number):
        errors[key] = [_FINITE]
        return None
    if minimum is not None and number < minimum:
        errors[key] = [f"Must be greater than or equal to {minimum}."]
    return number


def _boolean(value: Any, errors: dict, key: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    errors[key] = ["Not a valid boolean: send true or false."]
    return None


def _values(raw: Any, errors: dict) -> list[dict[str, Any]]:
    if raw is None:
        errors["values"] = [_NOT_NULL]
        return []
    if not isinstance(raw, list):
        errors["values"] = ["Not a valid list."]
        return []
    out, problems = [], {}
    for n, item in enumerate(raw):
        if item is None:
            problems[n] = [_NOT_NULL]
            continue
        if not isinstance(item, dict):
            problems[n] = {"_schema": ["Invalid input type."]}
            continue
        item_errors: dict[str, list[str]] = {}
        kind = _text(item.get("kind"), KIND_MAX, item_errors, "kind")
        value = _number(item.get("value"), item_errors, "value")
        if item_errors:
            problems[n] = item_errors
        out.append({"kind": kind, "value": value})
    if problems:
        errors["values"] = problems
    return out


#: NeuroStore's names of the coordinates, shown with each point and accepted on input.
AXES = ("x", "y", "z")


def load_point(raw: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Validate one point; return ``(point, {})`` or ``(None, errors)``."""
    if not isinstance(raw, dict):
        return None, {"_schema": ["Invalid input type."]}
    errors: dict[str, Any] = {}
    point: dict[str, Any] = {}
    if "id" in raw:
        ident = _text(raw["id"], ID_MAX, errors, "id")
        if raw["id"] is None:
            errors["id"] = [_NOT_NULL]
        elif ident is not None and not ident:
            errors["id"] = ["Shorter than minimum length 1."]
        point["id"] = ident
    axes = [k for k in AXES if k in raw]
    if "coordinates" not in raw and len(axes) == 3:
        # NeuroStore's clients may send x, y, z instead.
        raw = {**raw, "coordinates": [raw[k] for k in AXES]}
        axes = []
    if "coordinates" not in raw:
        errors["coordinates"] = ["Missing data for required field."
                                 + (" (or give all of x, y and z)" if axes else "")]
    elif raw["coordinates"] is None:
        errors["coordinates"] = [_NOT_NULL]
    else:
        try:
            point["coordinates"] = _coordinates.deserialize(raw["coordinates"])
        except ValidationError as exc:
            errors["coordinates"] = exc.messages

    space = raw.get("space")
    if space is not None:
        if not isinstance(space, str):
            errors["space"] = ["Not a valid string."]
        elif space.strip().upper() not in vocabulary.POINT_SPACE_ALIASES:
            errors["space"] = [f"unknown space {space!r}; expected one of"
                               f" {', '.join(vocabulary.PointSpace)}"]
        else:
            space = vocabulary.POINT_SPACE_ALIASES[space.strip().upper()].value
    point["space"] = space
    point["kind"] = _text(raw.get("kind"), KIND_MAX, errors, "kind")
    point["label_id"] = _text(raw.get("label_id"), LABEL_MAX, errors, "label_id")
    point["cluster_size"] = _number(raw.get("cluster_size"), errors, "cluster_size", 0)
    point["subpeak"] = _boolean(raw.get("subpeak"), errors, "subpeak")
    point["deactivation"] = _boolean(raw.get("deactivation"), errors, "deactivation")
    point["values"] = _values(raw.get("values", []), errors)
    return (None, errors) if errors else (point, {})


class PointList(fields.Field):
    """A list of points validated like ``fields.List(fields.Nested(PointSchema))``, faster."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata[OPENAPI] = {"type": "array", "items": PointSchema()}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if not isinstance(value, list):
            raise ValidationError("Not a valid list.")
        out, errors = [], {}
        for n, raw in enumerate(value):
            if raw is None:
                errors[n] = [_NOT_NULL]
                continue
            point, problems = load_point(raw)
            if problems:
                errors[n] = problems
            else:
                out.append(point)
        if errors:
            raise ValidationError(errors)
        return out
