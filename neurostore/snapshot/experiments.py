"""Read a NIMADS studyset into the experiments the tabular formats write.

The NIMADS JSON export copies the studyset as it is; the NiMARE, Sleuth and TSV exports need
ids, usable coordinates, a space and a sample size. This module finds them once, the same way
for every format, and lists what it had to leave out.
"""

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from neurostore.snapshot.errors import MalformedSnapshot, SnapshotError
from neurostore.snapshot.output import Skip
from neurostore.snapshot.selection import Selection, reference_id
from neurostore.vocabulary import PointSpace

MNI = PointSpace.MNI.value
TAL = PointSpace.TAL.value
UNKNOWN = PointSpace.UNKNOWN.value
#: The usual spellings, looked up before :func:`normalise_space` parses a value.
SPACE_NAMES = {"MNI": MNI, "TAL": TAL, None: UNKNOWN, "UNKNOWN": UNKNOWN}


def normalise_space(value: Any) -> str:
    """Map a NIMADS point or image space to ``"MNI"``, ``"TAL"`` or ``"UNKNOWN"``.

    ``"MNI"``, ``"mni152_2mm"``, ``"MNI152NLin6Asym"`` are MNI; ``"TAL"``, ``"Talairach"`` are
    Talairach; null, empty, ``"UNKNOWN"`` and anything else are unknown.
    """
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered.startswith("mni"):
            return MNI
        if lowered.startswith("tal"):
            return TAL
    return UNKNOWN


def check_space(space: str | None, name: str) -> str | None:
    """Return ``space`` as ``"MNI"`` or ``"TAL"`` (or None), or raise naming the argument."""
    if space is None:
        return None
    normalised = normalise_space(space)
    if normalised == UNKNOWN:
        raise SnapshotError(f"{name}={space!r}: expected 'MNI' or 'TAL'")
    return normalised


class Point(NamedTuple):
    """A peak with usable coordinates (a named tuple: hundreds of thousands are made).

    Attributes
    ----------
    index : int
        Position in the analysis' ``points`` list.
    point_id : str or None
        The NIMADS point id, when it has one.
    x, y, z : float
    space : str
        The point's own space, normalised (``"MNI"``, ``"TAL"`` or ``"UNKNOWN"``).
    kind : str or None
        The NIMADS point kind, as given.
    """

    index: int
    point_id: str | None
    x: float
    y: float
    z: float
    space: str
    kind: str | None


@dataclass(frozen=True)
class Experiment:
    """One analysis of a study, with what the tabular formats need from it.

    Attributes
    ----------
    study, analysis : Mapping
        The NIMADS objects, unchanged.
    study_id, analysis_id : str
    note : Mapping
        The annotation note of the analysis (empty without one).
    points : tuple of Point
        Points with three finite coordinates, in the given order.
    sample_sizes : tuple of float or None
        Sample sizes found for the analysis (see :func:`sample_sizes`).
    skipped : tuple of Skip
        Points left out, with the reason.
    """

    study: Mapping
    analysis: Mapping
    study_id: str
    analysis_id: str
    note: Mapping
    points: tuple[Point, ...]
    sample_sizes: tuple[int | float, ...] | None
    skipped: tuple[Skip, ...]

    @property
    def sample_size(self) -> int | float | None:
        """Mean of :attr:`sample_sizes`: the single figure NiMARE's ALE kernel uses."""
        if not self.sample_sizes:
            return None
        mean = sum(self.sample_sizes) / len(self.sample_sizes)
        return int(mean) if mean.is_integer() else mean

    def space(self, unknown_space: str | None = None) -> tuple[str | None, str | None]:
        """Find the one space of the analysis' points.

        Points whose space is unknown take the space of the other points of the analysis, or
        ``unknown_space`` when none has one.

        Parameters
        ----------
        unknown_space : {"MNI", "TAL"} or None
            Space assumed for an analysis none of whose points names one.

        Returns
        -------
        space : str or None
            ``"MNI"``, ``"TAL"`` or ``"UNKNOWN"``; None when points name both MNI and TAL.
        problem : str or None
            Why there is no single space.
        """
        known = sorted({p.space for p in self.points} - {UNKNOWN})
        if len(known) > 1:
            return None, f"points in several spaces ({', '.join(known)})"
        if known:
            return known[0], None
        return unknown_space or UNKNOWN, None


@dataclass(frozen=True)
class StudyRecord:
    """A study and its selected experiments.

    Attributes
    ----------
    study : Mapping
    study_id : str
    experiments : tuple of Experiment
        Analyses the selection includes, in the given order.
    n_excluded : int
        Analyses the selection left out.
    """

    study: Mapping
    study_id: str
    experiments: tuple[Experiment, ...]
    n_excluded: int


def studies_of(studyset: Any) -> list:
    """Return the ``studies`` list of a studyset, or raise :class:`MalformedSnapshot`."""
    if not isinstance(studyset, Mapping):
        raise MalformedSnapshot("studyset", f"expected an object, got {type(studyset).__name__}")
    studies = studyset.get("studies")
    if not isinstance(studies, list):
        raise MalformedSnapshot("studyset.studies", "expected a list of studies")
    return studies


def read_studies(
    studyset: Mapping, selection: Selection, skipped: list[Skip]
) -> Iterator[StudyRecord]:
    """Yield each study with its selected experiments, in the given order.

    Parameters
    ----------
    studyset : dict
        A nested NIMADS studyset.
    selection : Selection
        Notes and the inclusion filter.
    skipped : list of Skip
        Receives studies and analyses left out (no id, a repeated id, not nested objects).
        The points an experiment left out are in its own ``skipped``.

    Raises
    ------
    MalformedSnapshot
        If the studyset has no list of studies.
    """
    seen_studies: set[str] = set()
    for i, study in enumerate(studies_of(studyset)):
        study_id = reference_id(study)
        if not isinstance(study, Mapping) or study_id is None:
            skipped.append(Skip(study_id, None, None, f"studies[{i}] is not a study with an id"))
            continue
        if study_id in seen_studies:
            skipped.append(Skip(study_id, None, None, "study id repeated"))
            continue
        seen_studies.add(study_id)
        analyses = study.get("analyses") or []
        if not isinstance(analyses, list):
            skipped.append(Skip(study_id, None, None, "analyses is not a list"))
            continue
        experiments = []
        seen_analyses: set[str] = set()
        n_excluded = 0
        for j, analysis in enumerate(analyses):
            analysis_id = reference_id(analysis)
            if not isinstance(analysis, Mapping) or analysis_id is None:
                reason = f"analyses[{j}] is not an analysis with an id"
                skipped.append(Skip(study_id, analysis_id, None, reason))
                continue
            if not selection.includes(study_id, analysis_id):
                n_excluded += 1
                continue
            if analysis_id in seen_analyses:
                reason = "analysis id repeated in its study"
                skipped.append(Skip(study_id, analysis_id, None, reason))
                continue
            seen_analyses.add(analysis_id)
            experiments.append(_experiment(study, study_id, analysis, analysis_id, selection))
        yield StudyRecord(study, study_id, tuple(experiments), n_excluded)


def _experiment(
    study: Mapping, study_id: str, analysis: Mapping, analysis_id: str, selection: Selection
) -> Experiment:
    points: list[Point] = []
    skipped: list[Skip] = []
    raw_points = analysis.get("points") or []
    if not isinstance(raw_points, list):
        skipped.append(Skip(study_id, analysis_id, None, "points is not a list"))
        raw_points = []
    for index, raw in enumerate(raw_points):
        point, problem = _point(index, raw)
        if problem is not None:
            skipped.append(Skip(study_id, analysis_id, index, problem))
        else:
            points.append(point)
    note = selection.note(study_id, analysis_id)
    return Experiment(
        study=study,
        analysis=analysis,
        study_id=study_id,
        analysis_id=analysis_id,
        note=note,
        points=tuple(points),
        sample_sizes=sample_sizes(study, analysis, note),
        skipped=tuple(skipped),
    )


def _point(index: int, raw: Any) -> tuple[Point | None, str | None]:
    if not isinstance(raw, Mapping):
        return None, "point is not an object"
    coordinates = raw.get("coordinates")
    if coordinates is None and "x" in raw:
        coordinates = [raw.get("x"), raw.get("y"), raw.get("z")]
    if coordinates is None:
        return None, "point has no coordinates"
    if not isinstance(coordinates, list | tuple) or len(coordinates) != 3:
        return None, f"coordinates {coordinates!r} are not three numbers"
    x, y, z = coordinates
    if not (_is_finite(x) and _is_finite(y) and _is_finite(z)):
        return None, f"coordinates {list(coordinates)!r} are not three finite numbers"
    kind = raw.get("kind")
    point_id = raw.get("id")
    space = raw.get("space")
    space = (space is None or type(space) is str) and SPACE_NAMES.get(space)
    return Point(
        index,
        point_id if type(point_id) is str else reference_id(point_id),
        float(x),
        float(y),
        float(z),
        space or normalise_space(raw.get("space")),
        kind if isinstance(kind, str) else None,
    ), None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    if type(value) is float:  # the common case first: this runs for every coordinate
        return math.isfinite(value)
    return _is_number(value) and math.isfinite(value)


def _positive(value: Any) -> int | float | None:
    """Return a sample size as a positive number, or None if it is not one."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        return None
    return int(value) if float(value).is_integer() else float(value)


def metadata_of(obj: Mapping) -> Mapping:
    """Return the ``metadata`` object of a study or analysis (empty when it is not one)."""
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def sample_sizes(
    study: Mapping, analysis: Mapping, note: Mapping
) -> tuple[int | float, ...] | None:
    """Find the sample sizes of an analysis where NiMARE looks for them, in its order.

    The first usable candidate wins: the note's ``sample_size``, then its ``sample_sizes``,
    the analysis metadata's ``sample_sizes``, then ``sample_size``, the study metadata's
    ``sample_sizes``, then ``sample_size``. A list is usable when every entry is a positive
    number; a scalar when it is one. Numeric strings are read as numbers.

    Returns
    -------
    tuple of int or float, or None
    """
    analysis_md, study_md = metadata_of(analysis), metadata_of(study)
    candidates = (
        ("sample_size", note), ("sample_sizes", note),
        ("sample_sizes", analysis_md), ("sample_size", analysis_md),
        ("sample_sizes", study_md), ("sample_size", study_md),
    )
    for key, source in candidates:
        value = source.get(key)
        if isinstance(value, list | tuple):
            values = [_positive(v) for v in value]
            if values and all(v is not None for v in values):
                return tuple(values)
        elif value is not None:
            single = _positive(value)
            if single is not None:
                return (single,)
    return None
