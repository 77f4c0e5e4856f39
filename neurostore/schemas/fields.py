"""Marshmallow fields for the store's value domains."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from marshmallow import ValidationError, fields, validate

from neurostore.schemas.identifiers import normalize_doi, normalize_pmcid, normalize_pmid

POINT_SPACES = {"MNI": "MNI", "TAL": "TAL", "TALAIRACH": "TAL", "UNKNOWN": "UNKNOWN"}
VALUE_TYPES = {
    "T": "T",
    "T MAP": "T",
    "Z": "Z",
    "Z MAP": "Z",
    "F": "F",
    "F MAP": "F",
    "X2": "X2",
    "CHI2": "X2",
    "CHI-SQUARED MAP": "X2",
    "P": "P",
    "P MAP": "P",
    "IP": "IP",
    "1-P MAP": "IP",
    "BETA": "BETA",
    "SE": "SE",
    "VARCOPE": "VARCOPE",
    "VARIANCE": "VARIANCE",
    "V": "VARIANCE",
    "M": "M",
    "UNIVARIATE-BETA MAP": "M",
    "U": "U",
    "MULTIVARIATE-BETA MAP": "U",
    "R": "R",
    "ROI/MASK": "R",
    "PA": "PA",
    "PARCELLATION": "PA",
    "A": "A",
    "ANATOMICAL": "A",
    "OTHER": "OTHER",
}
IMAGE_SPACE_PREFIXES = ("MNI", "TAL", "UNKNOWN")
#: Image metadata key holding an imported file's own spelling of ``value_type`` (``"t"``,
#: ``"beta"``): the store keeps its code, a snapshot gives the spelling back.
GIVEN_VALUE_TYPE = "nimads_value_type"


class Identifier(fields.String):
    """A publication identifier normalised on load (``kind`` is doi, pmid or pmcid)."""

    _normalizers = {"doi": normalize_doi, "pmid": normalize_pmid, "pmcid": normalize_pmcid}

    def __init__(self, kind: str, **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)
        self._normalize = self._normalizers[kind]

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self._normalize(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class Coordinates(fields.Field):
    """``[x, y, z]`` in mm: three finite numbers, or three nulls."""

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
            out.append(float(v))
        return out


#: Text PostgreSQL can store that is not blank: no NUL or lone surrogate, and something
#: other than white space (documented as this pattern, checked by the same one).
NOT_BLANK = "^[^\\u0000\\ud800-\\udfff]*[^\\s\\u0000\\ud800-\\udfff][^\\u0000\\ud800-\\udfff]*$"


def not_blank() -> validate.Regexp:
    """A validator refusing empty and white-space-only text."""
    return validate.Regexp(NOT_BLANK, error="must not be blank")


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``: strings and numbers are refused, not read as truthy
    (``"public": "yes"`` must not make a study public)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: send true or false.")
        return value


class FiniteFloat(fields.Float):
    """A float that refuses NaN and infinities, with a message naming the value."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)
        self.error_messages["special"] = "must be a finite number (NaN and infinity are refused)"


class PointSpace(fields.String):
    """MNI, TAL (Talairach) or UNKNOWN, case-insensitive."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        key = text.strip().upper()
        if key not in POINT_SPACES:
            raise ValidationError(f"unknown space {text!r}; expected one of MNI, TAL, UNKNOWN")
        return POINT_SPACES[key]


class ImageSpace(fields.String):
    """A template space starting with MNI, TAL or UNKNOWN (e.g. ``MNI152NLin2009cAsym``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        upper = text.upper()
        if upper in POINT_SPACES:
            return POINT_SPACES[upper]
        if not upper.startswith(IMAGE_SPACE_PREFIXES) or len(text) > 64 or " " in text:
            raise ValidationError(
                f"unknown space {text!r}; expected MNI, TAL, UNKNOWN or a template name such as"
                " MNI152NLin2009cAsym"
            )
        return text


class ValueType(fields.String):
    """The statistic an image holds: T, Z, F, X2, P, IP, BETA, SE, VARCOPE, VARIANCE, ..."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        key = text.strip().upper()
        if key not in VALUE_TYPES:
            known = ", ".join(sorted(set(VALUE_TYPES.values())))
            raise ValidationError(f"unknown value_type {text!r}; expected one of {known}")
        return VALUE_TYPES[key]


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

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                raise ValidationError("an id must not be blank")
            return {"id": value}
        if isinstance(value, dict):
            return self._schema.load(value)
        raise ValidationError("expected an id string or an object")
