"""What a snapshot offers a meta-analysis, and the engine inputs built from it.

Experiments are the snapshot's analyses (after its inclusion filter), named
``<study id>-<analysis id>``. Coordinates keep their recorded space (Talairach peaks are
moved to MNI by the engine); peaks whose space is not recorded take the space of the other
peaks of their analysis, or ``unknown_space``. Images are found in the file store by the
sha256 the snapshot records for them; an analysis with a standard error map and no varcope
map gives its varcope as the square of the standard error (NiMARE's rule).
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.wrapstruct import WrapStructError
from nilearn.image import resample_to_img

from analysis.meta import CoordinateInputs, ImageInputs, MetaAnalysisInputError
from analysis.rungroups import ColumnSplit
from analysis.snapshot.nimare import image_type
from neurostore.schemas.fields import GIVEN_ID
from neurostore.snapshot import Selection
from neurostore.snapshot.experiments import (
    UNKNOWN,
    Experiment,
    StudyRecord,
    read_studies,
    sample_sizes,
)
from neurostore.snapshot.selection import reference_id

#: File name suffixes an image may be stored under, tried in order.
IMAGE_SUFFIXES = (".nii.gz", ".nii")
#: Image types read from another type's map when an analysis lacks them: a sampling
#: variance (varcope) is the square of a standard error.
DERIVED = {"varcope": "se"}


#: How a map off the mask's grid is resampled onto it: NiMARE 0.22.1's image-based
#: estimators' defaults (``IBMAEstimator._resample_kwargs``).
RESAMPLING = {"clip": True, "interpolation": "linear", "copy_header": True}

def records(studyset: dict[str, Any], annotation: Any) -> Iterator[StudyRecord]:
    """The studies of a (stored, already filtered) snapshot with their experiments."""
    return read_studies(studyset, Selection(annotation), [])


def experiment_id(experiment: Experiment) -> str:
    """The id an experiment has in the engine's inputs and outputs."""
    return f"{experiment.study_id}-{experiment.analysis_id}"


def _given_id(item: Mapping) -> str | None:
    given = (item.get("metadata") or {}).get(GIVEN_ID) if isinstance(item, Mapping) else None
    return given if isinstance(given, str) else None


def nimare_order(studies: Iterable[StudyRecord]) -> list[Experiment]:
    """Every experiment, in the order NiMARE gives the file they were imported from.

    NiMARE sorts a dataset's experiments by ``<study id>-<analysis id>``; sums over
    experiments round in that order. Experiments imported from a NIMADS file keep that
    file's ids (:data:`GIVEN_ID`), so they are ordered by them, and a run gives the same
    maps whatever ids a store assigned; others are ordered by their ids in the store.
    """
    def key(experiment: Experiment) -> tuple[str, str]:
        study, analysis = _given_id(experiment.study), _given_id(experiment.analysis)
        given = f"{study}-{analysis}" if study is not None and analysis is not None else None
        own = experiment_id(experiment)
        return (given or own, own)

    return sorted((e for record in studies for e in record.experiments), key=key)


def _images(analysis: Mapping) -> dict[str, tuple[str, str]]:
    """Image type -> (type of the map it is read from, that map's sha256), for the analysis'
    images that name one (first of each type). An analysis with a standard error map and no
    varcope map has a varcope: the square of its standard error (as NiMARE derives it)."""
    found: dict[str, tuple[str, str]] = {}
    images = analysis.get("images")
    for image in images if isinstance(images, list) else []:
        if not isinstance(image, dict):
            continue
        kind, sha = image_type(image.get("value_type")), image.get("sha256")
        if kind and isinstance(sha, str) and sha and kind not in found:
            found[kind] = (kind, sha)
    for kind, source in DERIVED.items():
        if kind not in found and source in found:
            found[kind] = found[source]
    return found


def _derived(img: Any, kind: str, source: str) -> Any:
    """A map of ``kind`` made from a map of ``source`` (a varcope from a standard error),
    on the source's own grid, in float64 (as NiMARE derives it before resampling)."""
    if (kind, source) != ("varcope", "se"):
        raise ValueError(f"no rule makes a {kind} map from a {source} map")
    return nib.Nifti1Image(np.asarray(img.dataobj, dtype=np.float64) ** 2, img.affine)


def _on_mask_grid(img: Any, mask: Any) -> Any:
    """``img`` as it is when on the mask's grid, else resampled there as NiMARE 0.22.1's
    image-based estimators do (:data:`RESAMPLING`)."""
    shape = getattr(img, "shape", ())
    if tuple(shape[:3]) == tuple(mask.shape) and np.allclose(img.affine, mask.affine):
        return img
    target = nib.Nifti1Image(mask.data.astype(np.int8), mask.affine)
    try:
        return resample_to_img(img, target, **RESAMPLING)
    except (ValueError, TypeError, np.linalg.LinAlgError) as error:
        # nilearn's DimensionError is a TypeError; a singular affine a LinAlgError.
        raise MetaAnalysisInputError(
            f"images: a map of shape {tuple(shape)} cannot be resampled onto the mask's grid:"
            f" {error}") from error


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value)


def _has_peaks(analysis: Mapping) -> bool:
    """Whether some point of the analysis has three finite coordinates."""
    points = analysis.get("points")
    for point in points if isinstance(points, list) else []:
        coordinates = point.get("coordinates") if isinstance(point, Mapping) else None
        if isinstance(coordinates, list | tuple) and len(coordinates) == 3 \
                and all(_finite(c) for c in coordinates):
            return True
    return False


@dataclass
class InputsTally:
    """Counts of what the analyses of a snapshot can feed an estimator."""

    analyses: int = 0
    with_coordinates: int = 0
    with_sample_size: int = 0
    images_with_n: int = 0
    images: Counter = field(default_factory=Counter)

    def add(self, study: Mapping, selection: Selection) -> None:
        """Count the analyses of one study document that ``selection`` includes.

        The same rules as :func:`~neurostore.snapshot.experiments.read_studies` (sample sizes
        where NiMARE looks for them, peaks with three finite coordinates), without building
        every peak: this runs on every study of a snapshot while it is written.
        """
        study_id = reference_id(study)
        analyses = study.get("analyses")
        for analysis in analyses if isinstance(analyses, list) else []:
            analysis_id = reference_id(analysis)
            if not isinstance(analysis, Mapping) or analysis_id is None \
                    or not selection.includes(study_id, analysis_id):
                continue
            self.analyses += 1
            note = selection.note(study_id, analysis_id)
            has_n = sample_sizes(study, analysis, note) is not None
            if _has_peaks(analysis):
                self.with_coordinates += 1
                self.with_sample_size += has_n
            kinds = _images(analysis)
            self.images.update(kinds.keys())
            self.images_with_n += bool(kinds) and has_n

    def as_json(self) -> dict[str, Any]:
        """The counts as stored with the snapshot."""
        return {"analyses": self.analyses, "with_coordinates": self.with_coordinates,
                "with_sample_size": self.with_sample_size, "images_with_n": self.images_with_n,
                "images": dict(sorted(self.images.items()))}


def coordinate_inputs(studies: Iterable[StudyRecord], unknown_space: str, *,
                      keep: Callable[[Experiment], bool] | None = None,
                      label: str = "the snapshot"
                      ) -> tuple[CoordinateInputs, list[dict[str, str]]]:
    """The peaks of every experiment that has some, as the engine's inputs.

    Parameters
    ----------
    studies : iterable of StudyRecord
    unknown_space : str
        Space of peaks whose space is not recorded (nor that of their analysis).
    keep : callable, optional
        Experiments for which it is false are left out silently (another group's).
    label : str, optional
        What the studies are, for the error when none has peaks.

    Returns
    -------
    inputs : CoordinateInputs
    excluded : list of dict
        The experiments left out, each with the reason (``experiment``, ``reason``).

    Raises
    ------
    MetaAnalysisInputError
        When no experiment has coordinates (and the engine's own checks).
    """
    ids: list[str] = []
    xyz: list[tuple[float, float, float]] = []
    spaces: list[str] = []
    sizes: list[float] = []
    excluded: list[dict[str, str]] = []
    for experiment in nimare_order(studies):
        if keep is not None and not keep(experiment):
            continue
        if not experiment.points:
            excluded.append({"experiment": experiment_id(experiment),
                             "reason": "no peak with three finite coordinates"})
            continue
        space, _ = experiment.space(unknown_space)
        size = experiment.sample_size
        for point in experiment.points:
            ids.append(experiment_id(experiment))
            xyz.append((point.x, point.y, point.z))
            own = point.space if point.space != UNKNOWN else space
            spaces.append(own if own in ("MNI", "TAL") else unknown_space)
            sizes.append(float("nan") if size is None else float(size))
    if not ids:
        raise MetaAnalysisInputError(f"coordinates: no experiment of {label} has peaks")
    columns = list(zip(*xyz, strict=True))
    inputs = CoordinateInputs.from_table(ids, *columns, space=spaces, sample_size=sizes,
                                         order="given")
    return inputs, excluded


def group_inputs(groups: Mapping[str, Any], studies: Iterable[StudyRecord],
                 other: Callable[[str], Iterable[StudyRecord]], unknown_space: str
                 ) -> tuple[tuple[CoordinateInputs, CoordinateInputs], list[list[str]],
                            list[dict[str, str]]]:
    """The two groups of a pairwise run (:mod:`analysis.rungroups`) as the engine's inputs.

    Parameters
    ----------
    groups : dict
        The spec's validated ``groups``.
    studies : iterable of StudyRecord
        The run's snapshot.
    other : callable
        ``other(snapshot_id)``: the studies of group 2's snapshot.
    unknown_space : str

    Returns
    -------
    inputs : (CoordinateInputs, CoordinateInputs)
    experiments : [list of str, list of str]
        Ids of each group's experiments, in order.
    excluded : list of dict
        Experiments left out, with the reason (in neither group, or no peaks).
    """
    if "snapshot" in groups:
        first = coordinate_inputs(studies, unknown_space, label="group 1's snapshot")
        second = coordinate_inputs(other(groups["snapshot"]), unknown_space,
                                   label=f"group 2's snapshot {groups['snapshot']}")
        excluded = [*first[1], *second[1]]
    else:
        split = ColumnSplit(groups["column"], tuple(groups["values"]))
        studies = list(studies)
        first, second = (
            coordinate_inputs(studies, unknown_space, keep=lambda e, g=g: split.group_of(e) == g,
                              label=f"group {g} ({split.column} = {split.values[g - 1]!r})")
            for g in (1, 2))
        neither = [{"experiment": experiment_id(e),
                    "reason": f"{split.column} is {e.note.get(split.column)!r}: in neither "
                              "group"}
                   for e in nimare_order(studies) if split.group_of(e) is None]
        excluded = [*first[1], *second[1], *neither]
    inputs = (first[0], second[0])
    return inputs, [list(i.experiment_ids) for i in inputs], excluded


#: ``sizeof_hdr``, the first field of a NIfTI header, tells NIfTI-1 (348) from NIfTI-2 (540).
_NIFTI2_HEADER_SIZE = 540


def _nifti_class(data: bytes) -> type:
    sizes = {int.from_bytes(data[:4], order) for order in ("little", "big")}
    return nib.Nifti2Image if _NIFTI2_HEADER_SIZE in sizes else nib.Nifti1Image


def _load(files: Any, sha256: str) -> Any:
    for suffix in IMAGE_SUFFIXES:
        name = sha256 + suffix
        if files.exists(name):
            with files.open(name) as fp:
                data = fp.read()
            try:
                if data[:2] == b"\x1f\x8b":
                    data = gzip.decompress(data)
                return _nifti_class(data).from_bytes(data)
            except (OSError, EOFError, zlib.error, ValueError, WrapStructError) as error:
                # ImageFileError and HeaderDataError are ValueErrors; a short header is a
                # WrapStructError.
                raise MetaAnalysisInputError(
                    f"images: stored file {name} is not a readable NIfTI-1 or NIfTI-2 image:"
                    f" {error}"
                ) from error
    return None


def image_inputs(studies: Iterable[StudyRecord], kinds: tuple[str, ...], files: Any,
                 mask: Any, with_sample_sizes: bool
                 ) -> tuple[ImageInputs, list[str], list[dict[str, str]]]:
    """The images of every experiment that has all of ``kinds`` in the file store.

    Returns
    -------
    inputs : ImageInputs
    used : list of str
        Ids of the experiments used, in order.
    excluded : list of dict
        The experiments left out, each with the reason (``experiment``, ``reason``).
    """
    stacks: dict[str, list] = {kind: [] for kind in kinds}
    sizes: list[float] = []
    used: list[str] = []
    excluded: list[dict[str, str]] = []
    for experiment in nimare_order(studies):
        found = _images(experiment.analysis)
        missing = [kind for kind in kinds if kind not in found]
        reason = None
        if missing:
            reason = f"no {' or '.join(missing)} image"
        elif with_sample_sizes and experiment.sample_size is None:
            reason = "no sample size"
        else:
            loaded = {kind: _load(files, found[kind][1]) for kind in kinds}
            absent = [found[kind][1] for kind, img in loaded.items() if img is None]
            if absent:
                reason = f"image {', '.join(absent)} is not in the file store"
        if reason is not None:
            excluded.append({"experiment": experiment_id(experiment), "reason": reason})
            continue
        for kind, img in loaded.items():
            source = found[kind][0]
            made = img if source == kind else _derived(img, kind, source)
            stacks[kind].append(_on_mask_grid(made, mask))
        sizes.append(float(experiment.sample_size or 0))
        used.append(experiment_id(experiment))
    if not used:
        raise MetaAnalysisInputError(
            f"images: no experiment has {' and '.join(kinds)} images in the file store")
    inputs = ImageInputs.from_images(mask, **stacks,
                                     sample_sizes=sizes if with_sample_sizes else None)
    return inputs, used, excluded
