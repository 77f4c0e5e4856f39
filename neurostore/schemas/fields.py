"""Marshmallow fields for the store's value domains."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from marshmallow import ValidationError, fields, validate

from neurostore import vocabulary
from neurostore.schemas.identifiers import (
    DOI_PATTERN,
    PMCID_PATTERN,
    PMID_PATTERN,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
)
from neurostore.schemas.patterns import NOT_BLANK, any_word, matches
from neurostore.vocabulary import POINT_SPACE_ALIASES, VALUE_TYPE_ALIASES, values

#: What an image's template space starts with (``MNI152NLin2009cAsym``).
IMAGE_SPACE_PREFIXES = values(vocabulary.PointSpace)
#: Image metadata key holding an imported file's own spelling of ``value_type`` (``"t"``,
#: ``"beta"``): the store keeps its code, a snapshot gives the spelling back.
GIVEN_VALUE_TYPE = "nimads_value_type"
#: Study and analysis metadata key holding the id an imported NIMADS file gave it: NiMARE
#: orders experiments by those ids, so a run on the import orders them the same way.
GIVEN_ID = "nimads_id"


#: The JSON Schema a field documents, for fields whose rules marshmallow's own types do
#: not say (read by the OpenAPI document; the field checks exactly this).
OPENAPI = "openapi"


class Identifier(fields.Field):
    """A publication identifier normalised on load (``kind`` is doi, pmid or pmcid); in a
    body (``integers``), PMIDs and PMCIDs may also be sent as JSON integers."""

    _normalizers = {"doi": normalize_doi, "pmid": normalize_pmid, "pmcid": normalize_pmcid}
    _patterns = {"doi": DOI_PATTERN, "pmid": PMID_PATTERN, "pmcid": PMCID_PATTERN}

    def __init__(self, kind: str, *, integers: bool = True, **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)
        self._normalize = self._normalizers[kind]
        self._numeric = integers and kind != "doi"
        text = {"type": "string", "pattern": self._patterns[kind]}
        self.metadata[OPENAPI] = (
            {"anyOf": [text, {"type": "integer", "minimum": 1, "maximum": 9_999_999_999},
                       {"type": "null"}]}
            if self._numeric else {"anyOf": [text, {"type": "null"}]})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        if self._numeric and is_whole_number(value):
            value = str(int(value))
        if not isinstance(value, str):
            raise ValidationError("Not a valid string.")
        try:
            return self._normalize(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


#: The largest distance from the origin, in mm, of a peak on any axis (a brain spans less
#: than 200 mm; beyond this a coordinate is a unit or data-entry error).
COORDINATE_LIMIT = 10_000.0


class Coordinates(fields.Field):
    """``[x, y, z]`` in mm: three numbers within :data:`COORDINATE_LIMIT`, or three nulls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata[OPENAPI] = {"type": "array", "minItems": 3, "maxItems": 3, "anyOf": [
            {"items": {"type": "number", "minimum": -COORDINATE_LIMIT,
                       "maximum": COORDINATE_LIMIT}},
            {"items": {"type": "null"}},
        ]}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if not isinstance(value, list | tuple) or len(value) != 3:
            raise ValidationError("coordinates must be a list of three numbers [x, y, z]")
        if all(v is None for v in value):
            return [None, None, None]
        out = []
        for axis, v in zip("xyz", value, strict=True):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValidationError(f"{axis} must be a number, got {v!r}")
            if not math.isfinite(v):
                raise ValidationError(f"{axis} must be finite, got {v!r}")
            if abs(v) > COORDINATE_LIMIT:
                raise ValidationError(f"{axis} must be within ±{COORDINATE_LIMIT:g} mm, got {v!r}")
            out.append(float(v))
        return out


def not_blank() -> validate.Regexp:
    """A validator refusing empty and white-space-only text."""
    return validate.Regexp(NOT_BLANK, error="must not be blank")


def is_whole_number(value: Any) -> bool:
    """True for what JSON Schema calls an integer: ``3`` or ``3.0``, not ``true``/``"3"``."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


class WholeNumber(fields.Integer):
    """A JSON integer (``3.0`` is one, as JSON Schema says); strings and booleans are
    refused, not converted."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=False, **kwargs)

    def _validated(self, value: Any) -> int:
        if not is_whole_number(value):
            raise self.make_error("invalid")
        return int(value)


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``: strings and numbers are refused, not read as truthy
    (``"public": "yes"`` must not make a study public)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: send true or false.")
        return value


class FiniteFloat(fields.Float):
    """A JSON number, finite: NaN, infinities, strings and booleans are refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)
        self.error_messages["special"] = "must be a finite number (NaN and infinity are refused)"

    def _validated(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._validated(value)


class _Spelled(fields.String):
    """A string that must match ``pattern`` (documented as it), normalised on load."""

    pattern = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata[OPENAPI] = {"pattern": self.pattern}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not matches(self.pattern, text):
            raise ValidationError(self.refusal(text))
        return self.normalize(text.strip())

    def refusal(self, text: str) -> str:
        """The message naming a refused value."""
        raise NotImplementedError

    def normalize(self, text: str) -> str:
        """The stored form of an accepted value."""
        space = POINT_SPACE_ALIASES.get(text.upper())
        return text if space is None else space.value


class PointSpace(_Spelled):
    """MNI, TAL (Talairach) or UNKNOWN, in any case."""

    pattern = any_word(POINT_SPACE_ALIASES)

    def refusal(self, text: str) -> str:
        return f"unknown space {text!r}; expected one of {', '.join(vocabulary.PointSpace)}"


class ImageSpace(_Spelled):
    """A template space starting with MNI, TAL or UNKNOWN in any case (e.g.
    ``MNI152NLin2009cAsym``; stored with the prefix in capitals), then up to 57 letters,
    digits, ``_``, ``.`` or ``-``."""

    pattern = (any_word(IMAGE_SPACE_PREFIXES).removesuffix(")\\s*$")
               + ")[A-Za-z0-9_.-]{0,57}\\s*$")

    def refusal(self, text: str) -> str:
        return (f"unknown space {text!r}; expected MNI, TAL, UNKNOWN or a template name such"
                " as MNI152NLin2009cAsym (at most 64 letters, digits, _, . or -)")

    def normalize(self, text: str) -> str:
        upper = text.upper()
        if upper in POINT_SPACE_ALIASES:
            return POINT_SPACE_ALIASES[upper].value
        prefix = next(p for p in IMAGE_SPACE_PREFIXES if upper.startswith(p))
        return prefix + text[len(prefix):]


class ValueType(_Spelled):
    """The statistic an image holds: T, Z, F, X2, P, IP, BETA, SE, VARCOPE, VARIANCE, ..."""

    pattern = any_word(VALUE_TYPE_ALIASES)

    def refusal(self, text: str) -> str:
        known = ", ".join(sorted(vocabulary.ValueType))
        return f"unknown value_type {text!r}; expected one of {known}"

    def normalize(self, text: str) -> str:
        return VALUE_TYPE_ALIASES[text.upper()].value


class UtcDateTime(fields.DateTime):
    """An ISO 8601 date-time, stored in UTC; a naive value is taken as UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        when = super()._deserialize(value, attr, data, **kwargs)
        if when.tzinfo is None:
            return when.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC)


class Reference(fields.Field):
    """Either an id string or a nested object loaded with ``schema``."""

    def __init__(self, schema: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._schema = schema
        self.metadata[OPENAPI] = {"anyOf": [{"type": "string", "pattern": NOT_BLANK}, schema,
                                            *([{"type": "null"}] if self.allow_none else [])]}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                raise ValidationError("an id must not be blank")
            return {"id": value}
        if isinstance(value, dict):
            return self._schema.load(value)
        raise ValidationError("expected an id string or an object")
