"""NiMARE-ready dataset: the dict ``nimare.dataset.Dataset(source)`` loads, and its JSON.

Layout: ``{study_id: {"metadata": {...}, "contrasts": {analysis_id: contrast}}}`` where a
contrast holds ``coords`` (``space``, ``x``, ``y``, ``z`` and ``kind`` when points have one),
``metadata`` (names, bibliography, ``sample_sizes``), ``images`` (NiMARE image type -> url or
file name, and their ``space``) and ``labels`` (the annotation note). NiMARE moves
coordinates into its target space when it loads them; an analysis whose points name no space
is written as ``"UNKNOWN"`` (NiMARE leaves those as they are) unless ``unknown_space`` says
which space to assume.
"""

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from neurostore.snapshot.experiments import (
    Experiment,
    StudyRecord,
    check_space,
    metadata_of,
    read_studies,
)
from neurostore.snapshot.output import ExportSummary, HashingSink, Skip, dumps_json
from neurostore.snapshot.selection import Selection

#: Image columns a NiMARE Dataset knows how to use.
NIMARE_IMAGE_TYPES = frozenset({"beta", "varcope", "se", "sd", "samplevar_dataset", "t", "z", "p"})
#: Other spellings of those types (NeuroVault labels, NIMADS synonyms), lower-case.
IMAGE_TYPE_ALIASES = {
    "variance": "varcope",
    "univariate-beta": "beta",
    "multivariate-beta": "beta",
    "p map (given null hypothesis)": "p",
}
#: File name endings of images NiMARE can read.
IMAGE_SUFFIXES = (".nii", ".nii.gz", ".img", ".hdr", ".brik", ".head")
#: Metadata keys read for sample sizes, kept out of the copied analysis metadata.
SAMPLE_SIZE_KEYS = ("sample_size", "sample_sizes")


def image_type(value_type: Any) -> str | None:
    """Map a NIMADS image ``value_type`` to a NiMARE image column, or None.

    Case and a trailing ``" map"`` are ignored: ``"T"``, ``"t"`` and ``"T map"`` are ``"t"``,
    ``"VARCOPE"`` and ``"variance"`` are ``"varcope"``.
    """
    if not isinstance(value_type, str):
        return None
    lowered = value_type.strip().lower()
    lowered = IMAGE_TYPE_ALIASES.get(lowered, lowered).removesuffix(" map").strip()
    lowered = IMAGE_TYPE_ALIASES.get(lowered, lowered)
    return lowered if lowered in NIMARE_IMAGE_TYPES else None


def _image_location(image: Mapping) -> str | None:
    """Prefer whichever of ``url`` and ``filename`` names an image file, url first."""
    candidates = [v for v in (image.get("url"), image.get("filename")) if isinstance(v, str) and v]
    for candidate in candidates:
        if candidate.split("?", 1)[0].lower().endswith(IMAGE_SUFFIXES):
            return candidate
    return candidates[0] if candidates else None


def _image_entry(image: Any, taken: Mapping) -> tuple[str, str] | str:
    """Return ``(column, location)`` for a usable image, or why it is not usable."""
    if not isinstance(image, Mapping):
        return "not an image object"
    column = image_type(image.get("value_type"))
    location = _image_location(image)
    if column is None:
        return f"value_type {image.get('value_type')!r} is not one NiMARE uses"
    if location is None:
        return "no url or filename"
    if column in taken:
        return f"a second {column!r} image"
    return column, location


def experiment_images(experiment: Experiment, skipped: list[Skip]) -> dict:
    """The NiMARE image columns of an experiment (``{"t": location, ...}``); images it
    cannot use are added to ``skipped``."""
    images: dict[str, Any] = {}
    raw_images = experiment.analysis.get("images") or []
    space = None
    for i, image in enumerate(raw_images if isinstance(raw_images, list) else []):
        entry = _image_entry(image, images)
        if isinstance(entry, str):
            skipped.append(Skip(experiment.study_id, experiment.analysis_id, None,
                                f"images[{i}]: {entry}"))
            continue
        column, location = entry
        images[column] = location
        space = space or image.get("space")
    if images and space:
        images["space"] = space
    return images


def _bibliography(study: Mapping, study_id: str) -> dict:
    name = study.get("name") or study_id
    return {
        "authors": study.get("authors"),
        "journal": study.get("publication"),
        "year": study.get("year"),
        "doi": study.get("doi"),
        "pmid": study.get("pmid"),
        "title": name,
        "study_name": name,
    }


def _contrast(experiment: Experiment, selection: Selection, unknown_space: str | None,
              skipped: list[Skip]) -> tuple[dict, int]:
    analysis = experiment.analysis
    metadata = {k: v for k, v in metadata_of(analysis).items() if k not in SAMPLE_SIZE_KEYS}
    metadata.update(_bibliography(experiment.study, experiment.study_id))
    analysis_name = analysis.get("name") or experiment.analysis_id
    metadata["analysis_name"] = analysis_name
    metadata["name"] = f"{metadata['study_name']}-{analysis_name}"
    if experiment.sample_sizes:
        metadata["sample_sizes"] = list(experiment.sample_sizes)
    contrast: dict[str, Any] = {"metadata": metadata}
    n_points = 0
    skipped.extend(experiment.skipped)
    if experiment.points:
        space, problem = experiment.space(unknown_space)
        if problem is not None:
            skipped.append(Skip(experiment.study_id, experiment.analysis_id, None, problem))
        else:
            points = experiment.points
            coords: dict[str, Any] = {
                "space": space,
                "x": [p.x for p in points],
                "y": [p.y for p in points],
                "z": [p.z for p in points],
            }
            if any(p.kind is not None for p in points):
                coords["kind"] = [p.kind for p in points]
            contrast["coords"] = coords
            n_points = len(points)
    images = experiment_images(experiment, skipped)
    if images:
        contrast["images"] = images
    if selection.annotation is not None:
        labels = dict.fromkeys(selection.note_keys)
        labels.update(experiment.note)
        contrast["labels"] = labels
    return contrast, n_points


def _study_entries(
    records: Iterator[StudyRecord], selection: Selection, unknown_space: str | None,
    skipped: list[Skip], counts: dict[str, int],
) -> Iterator[tuple[str, dict]]:
    for record in records:
        counts["excluded"] += record.n_excluded
        if not record.experiments:
            continue
        contrasts = {}
        for experiment in record.experiments:
            contrast, n_points = _contrast(experiment, selection, unknown_space, skipped)
            contrasts[experiment.analysis_id] = contrast
            counts["points"] += n_points
        counts["studies"] += 1
        counts["analyses"] += len(contrasts)
        metadata = _bibliography(record.study, record.study_id)
        metadata.update(metadata_of(record.study))
        yield record.study_id, {"metadata": metadata, "contrasts": contrasts}


def _entries(studyset, annotation, include, unknown_space):
    selection = Selection(annotation, include)
    unknown_space = check_space(unknown_space, "unknown_space")
    skipped: list[Skip] = []
    counts = dict.fromkeys(("studies", "analyses", "points", "excluded"), 0)
    records = read_studies(studyset, selection, skipped)
    return _study_entries(records, selection, unknown_space, skipped, counts), skipped, counts


def nimare_dict(
    studyset: Mapping,
    annotation: Mapping | None = None,
    *,
    include: str | None = None,
    unknown_space: str | None = None,
) -> tuple[dict, tuple[Skip, ...]]:
    """Build the NiMARE dataset dict in memory.

    Parameters
    ----------
    studyset : dict
        A nested NIMADS studyset.
    annotation : dict, optional
        A NIMADS annotation; its notes become each contrast's ``labels``.
    include : str, optional
        A boolean note key selecting the analyses to export.
    unknown_space : {"MNI", "TAL"}, optional
        Space assumed for analyses whose points name none.

    Returns
    -------
    dataset : dict
        Loads with ``nimare.dataset.Dataset(dataset)``.
    skipped : tuple of Skip
        Points, coordinates of analyses in several spaces, and images left out.
    """
    entries, skipped, _ = _entries(studyset, annotation, include, unknown_space)
    dataset = dict(entries)
    return dataset, tuple(skipped)


def write_nimare(
    studyset: Mapping,
    out: BinaryIO,
    annotation: Mapping | None = None,
    *,
    include: str | None = None,
    unknown_space: str | None = None,
) -> ExportSummary:
    """Stream the NiMARE dataset as JSON (sorted keys, compact) to ``out``.

    Same arguments as :func:`nimare_dict`; ``nimare.dataset.Dataset(path)`` loads the file.

    Returns
    -------
    ExportSummary
    """
    entries, skipped, counts = _entries(studyset, annotation, include, unknown_space)
    sink = HashingSink(out)
    sink.write(b"{")
    for i, (study_id, entry) in enumerate(entries):
        text = dumps_json({study_id: entry}, f"study {study_id!r}")
        sink.write_text(("," if i else "") + text[1:-1])
    sink.write(b"}")
    sha256 = sink.finish()
    return ExportSummary("nimare", sha256, sink.n_bytes, counts["studies"], counts["analyses"],
                         counts["points"], counts["excluded"], tuple(skipped))
