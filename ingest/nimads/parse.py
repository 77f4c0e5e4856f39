"""Parse a NIMADS studyset JSON (and optionally its annotation JSON) into study dicts.

Each study becomes one study dict (``source="nimads"``, ``source_id`` = the study's
NIMADS id) with its analyses, conditions, weights, points and images. NIMADS lets
a relation be a nested object or only an id string: nested objects are parsed,
bare ids cannot be resolved from the file and are reported. Points whose
coordinates are missing, null or not finite are reported and skipped.

An annotation's notes are keyed by :class:`AnalysisRef`, the position of the
analysis in the parsed output, because the store gives analyses new ids.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ingest.compressed import read_bytes
from ingest.records import Skipped, Study
from ingest.space import normalise_space
from ingest.value_types import normalise_value_type
from neurostore.schemas.fields import GIVEN_ID, GIVEN_VALUE_TYPE

SOURCE = "nimads"
#: Keys NiMARE writes beside an analysis's (or a study's) NIMADS fields; kept in its
#: metadata under :data:`EXTRAS_KEY` rather than dropped.
EXTRAS = ("annotations", "texts")
EXTRAS_KEY = "nimads_extras"

_NOTE_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
}

JsonInput = Mapping[str, Any] | str | os.PathLike[str]


class AnalysisRef(NamedTuple):
    """Where an analysis is in the parsed output.

    Attributes
    ----------
    study_source_id : str
        ``source_id`` of the study dict.
    analysis_index : int
        Position in that study's ``analyses`` list.
    """

    study_source_id: str
    analysis_index: int


@dataclass
class Annotation:
    """An annotation's columns and its notes, keyed by analysis.

    Attributes
    ----------
    name, description : str or None
        As in the file.
    metadata : dict
        As in the file (empty if null).
    note_keys : dict of str to str
        Column name -> type (``"boolean"``, ``"string"``, ``"number"``, ``"integer"``).
    notes : dict of AnalysisRef to dict
        One note per annotated analysis, holding every note key (None when absent).
    """

    name: str | None
    description: str | None
    metadata: dict[str, Any]
    note_keys: dict[str, str]
    notes: dict[AnalysisRef, dict[str, Any]] = field(default_factory=dict)


@dataclass
class NimadsResult:
    """A parsed studyset.

    Attributes
    ----------
    studyset : dict
        The studyset's own fields: ``id``, ``name``, ``description``,
        ``publication``, ``doi``, ``pmid``.
    studies : list of dict
        Study dicts in the store's input shape.
    skipped : list of Skipped
        Records left out, with reasons.
    annotation : Annotation or None
        The annotation, if one was given.
    """

    studyset: dict[str, Any]
    studies: list[Study] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    annotation: Annotation | None = None


def parse(studyset: JsonInput, annotation: JsonInput | None = None) -> NimadsResult:
    """Parse a studyset and, optionally, an annotation of it.

    Parameters
    ----------
    studyset : mapping or path
        The studyset document, or the path of its JSON file.
    annotation : mapping or path, optional
        The annotation document, or the path of its JSON file.

    Returns
    -------
    NimadsResult
        Studyset fields, studies, skipped records and the annotation.

    Raises
    ------
    ValueError
        If a document is not a JSON object or the studyset has no ``studies`` list.
    """
    document = _load(studyset)
    studies = document.get("studies")
    if not isinstance(studies, list):
        raise ValueError("a NIMADS studyset needs a 'studies' list")
    result = NimadsResult(
        studyset={k: document.get(k) for k in ("id", "description", "publication")}
        | {"name": _name(document.get("name")), "doi": document.get("doi"),
           "pmid": _id_text(document.get("pmid"))}
    )
    refs: dict[str, AnalysisRef] = {}
    for item in studies:
        study = _study(item, refs, result.skipped)
        if study is not None:
            result.studies.append(study)
    if annotation is not None:
        result.annotation = _annotation(_load(annotation), refs, result.skipped)
    return result


def _load(source: JsonInput) -> dict[str, Any]:
    if isinstance(source, Mapping):
        document: Any = source
    else:
        name = Path(source).name
        try:
            document = json.loads(read_bytes(source).decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name}: not UTF-8 text (a NIMADS file is JSON)") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}: not valid JSON ({exc})") from exc
    if not isinstance(document, Mapping):
        raise ValueError("a NIMADS document must be a JSON object")
    return dict(document)


def _study(item: Any, refs: dict[str, AnalysisRef], skipped: list[Skipped]) -> Study | None:
    if not isinstance(item, Mapping):
        skipped.append(Skipped(_id_text(item), None, "study given by id only: not in this file"))
        return None
    study_id = _id_text(item.get("id"))
    if study_id is None:
        skipped.append(Skipped(None, None, f"study without an id: {item.get('name')!r}"))
        return None
    analyses = []
    for analysis_item in item.get("analyses") or []:
        analysis = _analysis(analysis_item, study_id, skipped)
        if analysis is None:
            continue
        analysis_id = _id_text(analysis_item.get("id"))
        if analysis_id is not None:
            refs[analysis_id] = AnalysisRef(study_id, len(analyses))
        analyses.append(analysis)
    year = item.get("year")
    return {
        "name": _name(item.get("name")),
        "description": _text(item.get("description")),
        "publication": _text(item.get("publication")),
        "authors": _text(item.get("authors")),
        "year": int(year) if isinstance(year, int | str) and str(year).isdigit() else None,
        "doi": _text(item.get("doi")),
        "pmid": _id_text(item.get("pmid")),
        "pmcid": _id_text(item.get("pmcid")),
        "metadata": {**_metadata(item), GIVEN_ID: study_id},
        "source": SOURCE,
        "source_id": study_id,
        "source_updated_at": item.get("updated_at") or item.get("created_at"),
        "analyses": analyses,
    }


def _analysis(item: Any, study_id: str, skipped: list[Skipped]) -> dict[str, Any] | None:
    if not isinstance(item, Mapping):
        skipped.append(Skipped(study_id, None, f"analysis {item!r} given by id only"))
        return None
    label = f"analysis {item.get('id') or item.get('name')!r}"
    conditions = []
    for condition in item.get("conditions") or []:
        if isinstance(condition, Mapping):
            conditions.append(
                {
                    "name": _text(condition.get("name")),
                    "description": _text(condition.get("description")),
                }
            )
        else:
            skipped.append(Skipped(study_id, None, f"{label}: condition {condition!r} by id only"))
    weights = item.get("weights") or []
    if len(weights) != len(conditions) or not all(_is_number(w) for w in weights):
        if weights:
            reason = f"{label}: weights {weights!r} do not match its {len(conditions)} conditions"
            skipped.append(Skipped(study_id, None, reason))
        weights = []
    points = []
    for point in item.get("points") or []:
        parsed = _point(point, label, study_id, skipped)
        if parsed is not None:
            points.append(parsed)
    images = []
    for image in item.get("images") or []:
        if isinstance(image, Mapping):
            images.append(_image(image))
        else:
            skipped.append(Skipped(study_id, None, f"{label}: image {image!r} by id only"))
    return {
        "name": _text(item.get("name")) if isinstance(item.get("name"), str)
        else _id_text(item.get("id")) or "analysis",
        "description": _text(item.get("description")),
        "metadata": {**_metadata(item), **({GIVEN_ID: given} if (given := _id_text(item.get("id")))
                                           is not None else {})},
        "table": None,
        "conditions": conditions,
        "weights": [float(w) for w in weights],
        "points": points,
        "images": images,
    }


def _point(item: Any, label: str, study_id: str, skipped: list[Skipped]) -> dict[str, Any] | None:
    if not isinstance(item, Mapping):
        skipped.append(Skipped(study_id, None, f"{label}: point {item!r} by id only"))
        return None
    coordinates = item.get("coordinates")
    if (
        not isinstance(coordinates, list)
        or len(coordinates) != 3
        or not all(_is_number(c) and math.isfinite(c) for c in coordinates)
    ):
        reason = f"{label}: point {item.get('id')!r} has unusable coordinates {coordinates!r}"
        skipped.append(Skipped(study_id, None, reason))
        return None
    values = []
    for value in item.get("values") or []:
        if isinstance(value, Mapping) and _is_number(value.get("value")):
            values.append({"kind": _text(value.get("kind")), "value": float(value["value"])})
        else:
            reason = f"{label}: point {item.get('id')!r} value {value!r} is not a number"
            skipped.append(Skipped(study_id, None, reason))
    label_id = item.get("label_id")
    return {
        "coordinates": [float(c) for c in coordinates],
        "space": normalise_space(item.get("space")),
        "kind": _text(item.get("kind")),
        "label_id": None if label_id is None else str(label_id),
        "values": values,
    }


def _image(item: Mapping[str, Any]) -> dict[str, Any]:
    given = item.get("value_type")
    code = normalise_value_type(given)
    metadata = dict(item.get("metadata") or {})
    if isinstance(given, str) and given != code:
        # The store keeps its code; a snapshot gives the file's spelling back.
        metadata[GIVEN_VALUE_TYPE] = given
    return {
        "url": _text(item.get("url")),
        "filename": _text(item.get("filename")),
        "space": _text(item.get("space")),
        "value_type": code,
        "metadata": metadata,
    }


def _annotation(
    document: dict[str, Any], refs: dict[str, AnalysisRef], skipped: list[Skipped]
) -> Annotation:
    note_keys = {str(k): str(v) for k, v in (document.get("note_keys") or {}).items()}
    annotation = Annotation(
        name=_text(document.get("name")),
        description=_text(document.get("description")),
        metadata=dict(document.get("metadata") or {}),
        note_keys=note_keys,
    )
    for item in document.get("notes") or []:
        target = item.get("analysis") if isinstance(item, Mapping) else None
        analysis_id = _id_text(target.get("id") if isinstance(target, Mapping) else target)
        ref = refs.get(analysis_id) if analysis_id is not None else None
        if ref is None:
            reason = f"note for analysis {analysis_id!r}, which is not in the studyset"
            skipped.append(Skipped(analysis_id, None, reason))
            continue
        annotation.notes[ref] = _note(item.get("note") or {}, note_keys, analysis_id, skipped)
    return annotation


def _note(
    note: Mapping[str, Any], note_keys: dict[str, str], analysis_id: str, skipped: list[Skipped]
) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, kind in note_keys.items():
        value = note.get(key)
        allowed = _NOTE_TYPES.get(kind)
        wrong_bool = isinstance(value, bool) and kind in {"number", "integer"}
        if (
            value is not None
            and allowed is not None
            and (not isinstance(value, allowed) or wrong_bool)
        ):
            reason = f"note {key}={value!r} is not a {kind}; kept empty"
            skipped.append(Skipped(analysis_id, None, reason))
            value = None
        kept[key] = value
    for key in note.keys() - note_keys.keys():
        skipped.append(Skipped(analysis_id, None, f"note key {key!r} is not in note_keys"))
    return kept


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str | None:
    # Kept as given (white space and empty strings included): storage must not normalise.
    return value if isinstance(value, str) else None


def _name(value: Any) -> str | None:
    # As given, except a blank one: the store holds no blank study names (null instead).
    return value if isinstance(value, str) and value.strip() else None


def _metadata(item: Mapping[str, Any]) -> dict[str, Any]:
    """An object's metadata, with NiMARE's extras (``annotations``, ``texts``) kept in it."""
    metadata = dict(item.get("metadata") or {})
    extras = {key: item[key] for key in EXTRAS if item.get(key) not in (None, {}, [])}
    if extras:
        metadata[EXTRAS_KEY] = extras
    return metadata


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None
