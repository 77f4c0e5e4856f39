"""Canonical NIMADS JSON: the bytes whose sha256 identifies a snapshot.

The document is the studyset with the annotation embedded as ``"annotations": [annotation]``
(the layout NiMARE's own NIMADS writer uses and its reader accepts). It is written as compact
UTF-8 JSON with sorted keys; lists keep their given order. Integer point coordinates are
written as floats, so ``72`` and ``72.0`` give the same bytes. Nothing else is rewritten.
"""

from collections.abc import Mapping
from typing import Any, BinaryIO

from neurostore.snapshot.errors import MalformedSnapshot
from neurostore.snapshot.experiments import studies_of
from neurostore.snapshot.output import ExportSummary, HashingSink, dumps_json
from neurostore.snapshot.selection import Selection, reference_id


def _point(point: Any) -> Any:
    if not isinstance(point, Mapping):
        return point
    coordinates = point.get("coordinates")
    if not isinstance(coordinates, list | tuple):
        return point
    copy = dict(point)
    copy["coordinates"] = [
        float(c) if isinstance(c, int) and not isinstance(c, bool) else c for c in coordinates
    ]
    return copy


def _analysis(analysis: Any) -> Any:
    if not isinstance(analysis, Mapping) or not isinstance(analysis.get("points"), list):
        return analysis
    copy = dict(analysis)
    copy["points"] = [_point(p) for p in analysis["points"]]
    return copy


def _study(study: Any, selection: Selection) -> tuple[Any, int, int, int]:
    """Return the canonical study (None if the filter empties it) and its counts.

    Returns
    -------
    study, n_analyses, n_points, n_excluded
    """
    if not isinstance(study, Mapping) or not isinstance(study.get("analyses"), list):
        return study, 0, 0, 0
    analyses = study["analyses"]
    study_id = reference_id(study)
    kept = [_analysis(a) for a in analyses if selection.includes(study_id, reference_id(a))]
    n_excluded = len(analyses) - len(kept)
    if analyses and not kept:
        return None, 0, 0, n_excluded
    n_points = sum(
        len(a["points"])
        for a in kept
        if isinstance(a, Mapping) and isinstance(a.get("points"), list)
    )
    copy = dict(study)
    copy["analyses"] = kept
    return copy, len(kept), n_points, n_excluded


def _annotation(selection: Selection) -> dict | None:
    annotation = selection.annotation
    if annotation is None:
        return None
    copy = dict(annotation)
    if selection.include is not None:
        copy["notes"] = [
            n for n in annotation.get("notes") or []
            if selection.includes(reference_id(n.get("study")), reference_id(n.get("analysis")))
        ]
    return copy


def _top_level(studyset: Mapping, selection: Selection) -> dict:
    """The studyset's own fields (without ``studies``), with the annotation embedded."""
    strange = [k for k in studyset if not isinstance(k, str)]
    if strange:
        raise MalformedSnapshot("studyset", f"keys must be strings, not {strange[0]!r}")
    top = {k: v for k, v in studyset.items() if k != "studies"}
    annotation = _annotation(selection)
    if annotation is not None:
        top["annotations"] = [annotation]
    return top


def canonical_document(
    studyset: Mapping, annotation: Mapping | None = None, *, include: str | None = None
) -> dict:
    """Build the canonical snapshot document (a new dict; the input is not changed).

    Parameters
    ----------
    studyset : dict
        A nested NIMADS studyset.
    annotation : dict, optional
        A NIMADS annotation of the studyset, embedded as ``annotations``.
    include : str, optional
        A boolean note key: keep only analyses whose note is true there (and their notes);
        a study left with no analysis is dropped. Studies that had none are kept.

    Returns
    -------
    dict

    Raises
    ------
    MalformedSnapshot, SnapshotError
        See :class:`~neurostore.snapshot.selection.Selection` and
        :func:`~neurostore.snapshot.experiments.studies_of`.
    """
    selection = Selection(annotation, include)
    studies = []
    for study in studies_of(studyset):
        canonical = _study(study, selection)[0]
        if canonical is not None:
            studies.append(canonical)
    document = _top_level(studyset, selection)
    document["studies"] = studies
    return document


def canonical_bytes(
    studyset: Mapping, annotation: Mapping | None = None, *, include: str | None = None
) -> bytes:
    """Return the canonical NIMADS JSON as one bytes object.

    Same arguments as :func:`canonical_document`. For large snapshots prefer
    :func:`write_nimads`, which writes the same bytes without holding them.
    """
    document = canonical_document(studyset, annotation, include=include)
    return dumps_json(document, "studyset").encode()


def write_nimads(
    studyset: Mapping,
    out: BinaryIO,
    annotation: Mapping | None = None,
    *,
    include: str | None = None,
) -> ExportSummary:
    """Stream the canonical NIMADS JSON to ``out``, one study at a time.

    Parameters
    ----------
    studyset, annotation, include
        As for :func:`canonical_document`.
    out : binary file object
        Receives exactly the bytes of :func:`canonical_bytes`.

    Returns
    -------
    ExportSummary
        Its ``sha256`` is the snapshot identity.
    """
    selection = Selection(annotation, include)
    studies = studies_of(studyset)
    top = _top_level(studyset, selection)
    sink = HashingSink(out)
    keys = sorted([*top, "studies"])
    n_studies = n_analyses = n_points = n_excluded = 0
    sink.write(b"{")
    for position, key in enumerate(keys):
        if position:
            sink.write(b",")
        sink.write_text(dumps_json(key, "studyset") + ":")
        if key != "studies":
            sink.write_text(dumps_json(top[key], f"studyset.{key}"))
            continue
        sink.write(b"[")
        for i, study in enumerate(studies):
            canonical, analyses, points, excluded = _study(study, selection)
            n_excluded += excluded
            if canonical is None:
                continue
            sink.write_text(("," if n_studies else "") + dumps_json(canonical, f"studies[{i}]"))
            n_studies += 1
            n_analyses += analyses
            n_points += points
        sink.write(b"]")
    sink.write(b"}")
    sha256 = sink.finish()
    return ExportSummary("nimads", sha256, sink.n_bytes, n_studies, n_analyses, n_points,
                         n_excluded, ())


class _Discard:
    """A binary file object that forgets what it is given."""

    def write(self, data: bytes) -> int:
        return len(data)


def snapshot_id(
    studyset: Mapping, annotation: Mapping | None = None, *, include: str | None = None
) -> str:
    """Return the snapshot identity: the sha256 hex digest of the canonical NIMADS JSON.

    Same arguments as :func:`canonical_document`; nothing is held in memory but one study.
    """
    return write_nimads(studyset, _Discard(), annotation, include=include).sha256
