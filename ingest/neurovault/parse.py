"""Turn NeuroVault API records into study dicts: a collection is a study, an image an analysis.

A collection becomes one study (``source="neurovault"``, ``source_id`` = collection
id, DOI when it has one); each selected image becomes one analysis holding one
image, whose ``value_type`` comes from NeuroVault's display label (``"T map"`` ->
``"T"``, see :mod:`ingest.value_types`). Keys we do not map are kept in metadata
(empty values dropped), so nothing NeuroVault says is lost: study-level keys in the
study's metadata, what describes the contrast in the analysis' metadata, and the
rest (file facts, quality figures, unknown keys) in the image's metadata.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ingest.records import ParseResult, Skipped, Study
from ingest.value_types import normalise_value_type

SOURCE = "neurovault"

_COLLECTION_FIELDS = {"id", "name", "description", "DOI", "authors", "journal_name", "modify_date"}
_IMAGE_FIELDS = {"id", "name", "description", "file", "target_template_image", "map_type"}
_ANALYSIS_KEYS = (
    "analysis_level",
    "number_of_subjects",
    "modality",
    "cognitive_paradigm_cogatlas",
    "cognitive_paradigm_cogatlas_id",
    "cognitive_paradigm_name",
    "cognitive_paradigm_short_description",
    "cognitive_paradigm_description_url",
    "cognitive_contrast_cogatlas",
    "cognitive_contrast_cogatlas_id",
    "contrast_definition",
    "contrast_definition_cogatlas",
    "statistic_parameters",
    "smoothness_fwhm",
)
_GROUP_LEVELS = {"group", "g"}


@dataclass(frozen=True)
class Selection:
    """Which collections and images to ingest.

    Limits on how many collections or images to fetch are the client's
    ``max_items`` arguments, not part of the selection.

    Attributes
    ----------
    collection_ids : frozenset of int or None
        Only these collections; None for all.
    require_doi : bool
        Only collections that name a DOI.
    group_level_only : bool
        Only images whose ``analysis_level`` is ``"group"``.
    value_types : frozenset of str or None
        Only images whose mapped ``value_type`` is one of these (e.g. ``{"T", "Z"}``).
    """

    collection_ids: frozenset[int] | None = None
    require_doi: bool = False
    group_level_only: bool = False
    value_types: frozenset[str] | None = None


def collection_selected(collection: Mapping[str, Any], selection: Selection) -> bool:
    """Tell whether a collection record passes the selection.

    Parameters
    ----------
    collection : mapping
        A record from ``/api/collections/``.
    selection : Selection
        The selection options.

    Returns
    -------
    bool
        True if the collection should be ingested.
    """
    if (
        selection.collection_ids is not None
        and collection.get("id") not in selection.collection_ids
    ):
        return False
    return not (selection.require_doi and not _text(collection.get("DOI")))


def image_selected(image: Mapping[str, Any], selection: Selection) -> bool:
    """Tell whether an image record passes the selection.

    Parameters
    ----------
    image : mapping
        A record from ``/api/collections/{id}/images/`` or ``/api/images/{id}/``.
    selection : Selection
        The selection options.

    Returns
    -------
    bool
        True if the image should be ingested.
    """
    level = (_text(image.get("analysis_level")) or "").lower()
    if selection.group_level_only and level not in _GROUP_LEVELS:
        return False
    if selection.value_types is not None:
        return normalise_value_type(image.get("map_type")) in selection.value_types
    return True


def _image_left_out(image: Mapping[str, Any], selection: Selection) -> str:
    level = _text(image.get("analysis_level"))
    if selection.group_level_only and (level or "").lower() not in _GROUP_LEVELS:
        return f"not a group-level map (analysis_level {level!r})"
    return f"map type {image.get('map_type')!r} not selected"


def collection_left_out(collection: Mapping[str, Any], selection: Selection) -> str:
    """Why the selection leaves a collection out."""
    if selection.require_doi and not _text(collection.get("DOI")):
        return "no DOI (--with-doi)"
    return "not among the selected collections"


def parse_collection(
    collection: Mapping[str, Any],
    images: Iterable[Mapping[str, Any]],
    selection: Selection | None = None,
) -> ParseResult:
    """Build the study for one collection from its record and its image records.

    Images the selection leaves out are dropped silently; malformed images (no id,
    no file URL, another collection's image) are reported. A collection that fails
    the selection, or keeps no image, gives no study.

    Parameters
    ----------
    collection : mapping
        The collection record.
    images : iterable of mapping
        Its image records.
    selection : Selection, optional
        What to keep; everything by default.

    Returns
    -------
    ParseResult
        At most one study, and the reports of skipped records.
    """
    selection = selection or Selection()
    result = ParseResult()
    collection_id = collection.get("id")
    if not isinstance(collection_id, int):
        result.skipped.append(
            Skipped(None, None, f"collection record without an id: {collection_id!r}")
        )
        return result
    if not collection_selected(collection, selection):
        result.skipped.append(Skipped(str(collection_id), None, "collection left out: "
                                      + collection_left_out(collection, selection)))
        return result
    analyses = []
    updated = [collection.get("modify_date")]
    for image in images:
        if not image_selected(image, selection):
            result.skipped.append(Skipped(str(collection_id), None, f"image {image.get('id')}"
                                          f" left out: {_image_left_out(image, selection)}"))
            continue
        problem = _image_problem(image, collection_id)
        if problem:
            result.skipped.append(Skipped(str(collection_id), None, problem))
            continue
        analyses.append(_analysis(image))
        updated.append(image.get("modify_date"))
    if analyses:
        result.studies.append(_study(collection, analyses, _latest(updated)))
    return result


def _study(
    collection: Mapping[str, Any], analyses: list[dict[str, Any]], updated: str | None
) -> Study:
    return {
        "name": _text(collection.get("name")),
        "description": _text(collection.get("description")),
        "publication": _text(collection.get("journal_name")),
        "authors": _text(collection.get("authors")),
        "year": None,
        "doi": _text(collection.get("DOI")),
        "pmid": None,
        "pmcid": None,
        "metadata": _kept(collection, exclude=_COLLECTION_FIELDS),
        "source": SOURCE,
        "source_id": str(collection["id"]),
        "source_updated_at": updated,
        "analyses": analyses,
    }


def _analysis(image: Mapping[str, Any]) -> dict[str, Any]:
    analysis_metadata = {"neurovault_image_id": image["id"]}
    analysis_metadata.update(_kept({k: image.get(k) for k in _ANALYSIS_KEYS}, exclude=set()))
    url = image["file"]
    return {
        "name": _text(image.get("name")) or f"image {image['id']}",
        "description": _text(image.get("description")),
        "metadata": analysis_metadata,
        "table": None,
        "conditions": [],
        "weights": [],
        "points": [],
        "images": [
            {
                "url": url,
                "filename": posixpath.basename(urlsplit(url).path) or None,
                "space": _text(image.get("target_template_image")),
                "value_type": normalise_value_type(image.get("map_type")),
                "metadata": {
                    "map_type": image.get("map_type"),
                    **_kept(image, exclude=_IMAGE_FIELDS | set(_ANALYSIS_KEYS)),
                },
            }
        ],
    }


def _image_problem(image: Mapping[str, Any], collection_id: int) -> str | None:
    image_id = image.get("id")
    if not isinstance(image_id, int):
        return f"image record without an id: {image_id!r}"
    if not _text(image.get("file")):
        return f"image {image_id} has no file URL"
    owner = image.get("collection_id", collection_id)
    if owner != collection_id:
        return f"image {image_id} belongs to collection {owner}, not {collection_id}"
    return None


def _kept(record: Mapping[str, Any], exclude: set[str]) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.items()
        if key not in exclude and value is not None and value != "" and value != [] and value != {}
    }


def _latest(dates: list[Any]) -> str | None:
    parsed = []
    for value in dates:
        if isinstance(value, str):
            try:
                parsed.append(datetime.fromisoformat(value))
            except ValueError:
                continue
    return max(parsed).isoformat() if parsed else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None
