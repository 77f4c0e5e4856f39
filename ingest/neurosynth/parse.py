"""Parse the Neurosynth v7 release (coordinates TSV + metadata TSV) into study dicts.

One study per PMID (``source="neurosynth"``, ``source_id=PMID``) with its DOI (raw:
the store normalises it), title, authors, year and journal; one analysis per table
(``table_id``, labelled by the free-text ``table_num`` when it has one). Points take
the study's space from the metadata (``MNI``, ``TAL`` or ``UNKNOWN``). Neurosynth's
peak ids are not kept: NIMADS points have no field for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from typing import Any

from ingest.peak_tables import PeakTable, analyses_from_tables, group_by_study, read_peaks
from ingest.records import ParseResult, Skipped, Study, StudyStream
from ingest.space import normalise_space
from ingest.tabular import TsvFile
from neurostore.vocabulary import PointSpace

SOURCE = "neurosynth"
RELEASE_URL = "https://github.com/neurosynth/neurosynth-data/raw/209c33c/"  # + *_FILE
COORDINATES_FILE = "data-neurosynth_version-7_coordinates.tsv.gz"
METADATA_FILE = "data-neurosynth_version-7_metadata.tsv.gz"

_COORDINATE_COLUMNS = ("id", "table_id", "table_num", "x", "y", "z")
_METADATA_COLUMNS = ("id", "doi", "space", "title", "authors", "year", "journal")
# Placeholders some derived copies write instead of leaving a DOI empty.
_MISSING = {"", "n/a", "na", "nan", "none", "null"}

_NO_METADATA: dict[str, Any] = {
    "name": None,
    "authors": None,
    "publication": None,
    "year": None,
    "doi": None,
    "space": PointSpace.UNKNOWN.value,
}

PathLike = str | os.PathLike[str]


def iter_studies(
    coordinates: PathLike, metadata: PathLike, *, margin_mm: float | None = None
) -> StudyStream:
    """Stream the release's studies, one dict at a time.

    Studies come in coordinates-file order; papers listed only in the metadata file
    come last, with no analyses. A study missing from the metadata file has no
    title and space ``"UNKNOWN"``.

    Parameters
    ----------
    coordinates : str or path-like
        The coordinates TSV (gzipped or not).
    metadata : str or path-like
        The metadata TSV (gzipped or not); it is read whole first.
    margin_mm : float or None, optional
        If given, peaks further than this outside the MNI box are skipped and
        reported. Off by default: Neurosynth peaks are in each study's own space
        (a Talairach box differs), and the release already bounds them to +-100 mm.

    Returns
    -------
    StudyStream
        Iterate it for study dicts; its ``skipped`` fills on the way.

    Raises
    ------
    ParseError
        While iterating, if a file lacks a required column or cannot be tokenised.
    """
    return StudyStream(partial(_generate, coordinates, metadata, margin_mm))


def parse(
    coordinates: PathLike, metadata: PathLike, *, margin_mm: float | None = None
) -> ParseResult:
    """Parse the whole release into memory (see :func:`iter_studies`).

    Parameters
    ----------
    coordinates : str or path-like
        The coordinates TSV.
    metadata : str or path-like
        The metadata TSV.
    margin_mm : float or None, optional
        Optional MNI-box margin, as in :func:`iter_studies`.

    Returns
    -------
    ParseResult
        All studies and skipped-record reports.
    """
    return iter_studies(coordinates, metadata, margin_mm=margin_mm).collect()


def _generate(
    coordinates: PathLike, metadata: PathLike, margin_mm: float | None, skipped: list[Skipped]
) -> Iterator[Study]:
    papers = _read_metadata(metadata, skipped)
    with TsvFile(coordinates, _COORDINATE_COLUMNS) as tsv:
        peaks = read_peaks(
            tsv, table_label_column="table_num", skipped=skipped, max_mni_excess=margin_mm
        )
        for pmid, tables in group_by_study(peaks, skipped):
            yield _study(pmid, papers.pop(pmid, None), tables)
    for pmid, paper in papers.items():
        yield _study(pmid, paper, [])


def _read_metadata(path: PathLike, skipped: list[Skipped]) -> dict[str, dict[str, Any]]:
    papers: dict[str, dict[str, Any]] = {}
    with TsvFile(path, _METADATA_COLUMNS) as tsv:
        c = tsv.columns
        for line, fields in tsv.rows():
            if not fields:
                continue
            pmid = fields[c["id"]].strip()
            if len(fields) != len(c):
                reason = f"metadata file: {len(fields)} fields, expected {len(c)}"
                skipped.append(Skipped(pmid, line, reason))
                continue
            if pmid in papers:
                skipped.append(Skipped(pmid, line, "metadata file: duplicate row for this id"))
                continue
            year = fields[c["year"]].strip()
            if year and not year.isdigit():
                skipped.append(
                    Skipped(pmid, line, f"metadata file: year {year!r} is not a number; kept empty")
                )
            papers[pmid] = {
                "name": _text(fields[c["title"]]),
                "authors": _text(fields[c["authors"]]),
                "publication": _text(fields[c["journal"]]),
                "year": int(year) if year.isdigit() else None,
                "doi": _doi(fields[c["doi"]]),
                "space": normalise_space(fields[c["space"]]) or PointSpace.UNKNOWN.value,
            }
    return papers


def _text(value: str) -> str | None:
    return " ".join(value.split()) or None


def _doi(value: str) -> str | None:
    value = value.strip()
    return None if value.lower() in _MISSING else value


def _study(pmid: str, paper: dict[str, Any] | None, tables: list[PeakTable]) -> dict[str, Any]:
    paper = paper or _NO_METADATA
    return {
        "name": paper["name"],
        "description": None,
        "publication": paper["publication"],
        "authors": paper["authors"],
        "year": paper["year"],
        "doi": paper["doi"],
        "pmid": pmid,
        "pmcid": None,
        "metadata": {"space": paper["space"]},
        "source": SOURCE,
        "source_id": pmid,
        "source_updated_at": None,
        "analyses": analyses_from_tables(tables, paper["space"]),
    }
