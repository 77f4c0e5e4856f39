"""Parse the NeuroQuery release (coordinates TSV + metadata TSV) into study dicts.

NeuroQuery publishes PMID, table id, table name and MNI x/y/z per peak, and PMID and
title per paper: no authors, journal, year or DOI. One study per PMID
(``source="neuroquery"``, ``source_id=PMID``), one analysis per table, points in MNI.
Peaks further than a margin outside the MNI box are reported and left out (see
:mod:`ingest.space` for the box and the default margin).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from typing import Any

from ingest.peak_tables import PeakTable, analyses_from_tables, group_by_study, read_peaks
from ingest.records import ParseResult, Skipped, Study, StudyStream
from ingest.space import DEFAULT_MARGIN_MM
from ingest.tabular import TsvFile
from neurostore.vocabulary import PointSpace

SOURCE = "neuroquery"
RELEASE_URL = "https://github.com/neuroquery/neuroquery_data/raw/4580f86/data/"  # + *_FILE
COORDINATES_FILE = "data-neuroquery_version-1_coordinates.tsv.gz"
METADATA_FILE = "data-neuroquery_version-1_metadata.tsv.gz"

_COORDINATE_COLUMNS = ("id", "table_id", "table_name", "x", "y", "z")
_METADATA_COLUMNS = ("id", "title")

PathLike = str | os.PathLike[str]


def iter_studies(
    coordinates: PathLike, metadata: PathLike, *, margin_mm: float = DEFAULT_MARGIN_MM
) -> StudyStream:
    """Stream the release's studies, one dict at a time.

    Studies come in coordinates-file order; papers listed only in the metadata file
    come last, with no analyses.

    Parameters
    ----------
    coordinates : str or path-like
        The coordinates TSV (gzipped or not).
    metadata : str or path-like
        The metadata TSV (gzipped or not); it is read whole first (titles only).
    margin_mm : float, optional
        Peaks further than this outside the MNI box are skipped and reported.

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
    coordinates: PathLike, metadata: PathLike, *, margin_mm: float = DEFAULT_MARGIN_MM
) -> ParseResult:
    """Parse the whole release into memory (see :func:`iter_studies`).

    Parameters
    ----------
    coordinates : str or path-like
        The coordinates TSV.
    metadata : str or path-like
        The metadata TSV.
    margin_mm : float, optional
        Peaks further than this outside the MNI box are skipped and reported.

    Returns
    -------
    ParseResult
        All studies and skipped-record reports.
    """
    return iter_studies(coordinates, metadata, margin_mm=margin_mm).collect()


def _generate(
    coordinates: PathLike, metadata: PathLike, margin_mm: float, skipped: list[Skipped]
) -> Iterator[Study]:
    titles = _read_titles(metadata, skipped)
    with TsvFile(coordinates, _COORDINATE_COLUMNS) as tsv:
        peaks = read_peaks(
            tsv, table_label_column="table_name", skipped=skipped, max_mni_excess=margin_mm
        )
        for pmid, tables in group_by_study(peaks, skipped):
            yield _study(pmid, titles.pop(pmid, None), tables)
    for pmid, title in titles.items():
        yield _study(pmid, title, [])


def _read_titles(path: PathLike, skipped: list[Skipped]) -> dict[str, str | None]:
    titles: dict[str, str | None] = {}
    with TsvFile(path, _METADATA_COLUMNS) as tsv:
        i_id, i_title = tsv.columns["id"], tsv.columns["title"]
        for line, fields in tsv.rows():
            if not fields:
                continue
            if len(fields) != len(tsv.columns):
                reason = f"metadata file: {len(fields)} fields, expected {len(tsv.columns)}"
                skipped.append(Skipped(fields[0].strip(), line, reason))
                continue
            pmid = fields[i_id].strip()
            if pmid in titles:
                skipped.append(Skipped(pmid, line, "metadata file: duplicate row for this id"))
                continue
            titles[pmid] = " ".join(fields[i_title].split()) or None
    return titles


def _study(pmid: str, title: str | None, tables: list[PeakTable]) -> dict[str, Any]:
    return {
        "name": title,
        "description": None,
        "publication": None,
        "authors": None,
        "year": None,
        "doi": None,
        "pmid": pmid,
        "pmcid": None,
        "metadata": {},
        "source": SOURCE,
        "source_id": pmid,
        "source_updated_at": None,
        "analyses": analyses_from_tables(tables, PointSpace.MNI.value),
    }
