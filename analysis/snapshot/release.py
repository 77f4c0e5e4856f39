"""NeuroStore studyset release: the archive ``nimare.extract.fetch_neurostore`` downloads.

A gzip tarball holding, at its root, ``studyset.json`` and parquet tables that NiMARE's
``Studyset(directory)`` reads. Analyses are keyed as NiMARE keys them when it reads NIMADS:
``id`` is ``"<study id>-<analysis id>"``, with ``study_id`` and ``contrast_id`` (the analysis
id) beside it.

- ``studies.parquet``: ``study_id, name, description, authors, publication, year, doi, pmid``
  (every study, also those without a selected analysis).
- ``analyses.parquet``: ``id, study_id, contrast_id, name``.
- ``coordinates.parquet``: ``id, study_id, contrast_id, x, y, z, space, kind``, one row per
  peak with three finite coordinates. ``space`` is ``MNI``, ``TAL`` or ``UNKNOWN``; a peak
  naming none takes the one space of the other peaks of its analysis.
- ``images.parquet``: ``id, study_id, contrast_id``, ``<type>__source`` (url or file name) for
  each NiMARE image type, and ``space``; one row per analysis with usable images.
- ``metadata.parquet``: ``id, study_id, contrast_id, sample_sizes`` (the numbers NiMARE's
  kernels use), then the analysis metadata keys whose values are numbers, text or booleans.
- ``annotations.parquet`` (with an annotation): ``id, study_id, contrast_id``, then one column
  per note key.
- ``studyset.json``: ``format, version, id, name, description, tables, annotations``.

A key whose values mix types (or hold lists and objects) cannot be a parquet column: it is
left out and listed in the summary. Members have fixed times and modes, so the same snapshot
always gives the same bytes, and so the same checksum.
"""

import gzip
import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from analysis.snapshot.nimare import SAMPLE_SIZE_KEYS, experiment_images
from neurostore.snapshot.experiments import UNKNOWN, Experiment, metadata_of, read_studies
from neurostore.snapshot.output import ExportSummary, HashingSink, Skip
from neurostore.snapshot.selection import Selection

#: What ``studyset.json`` says the archive is (the name NiMARE's own writer uses).
FORMAT = "nimare-studyset-parquet"
FORMAT_VERSION = 1
#: The keys of every analysis-level table.
KEYS = ("id", "study_id", "contrast_id")
TEXT = pa.string()
STUDY_COLUMNS = {
    "study_id": TEXT, "name": TEXT, "description": TEXT, "authors": TEXT,
    "publication": TEXT, "year": pa.int64(), "doi": TEXT, "pmid": TEXT,
}
ANALYSIS_COLUMNS = {"id": TEXT, "study_id": TEXT, "contrast_id": TEXT, "name": TEXT}
COORDINATE_COLUMNS = {
    **dict.fromkeys(KEYS, TEXT), "x": pa.float64(), "y": pa.float64(), "z": pa.float64(),
    "space": TEXT, "kind": TEXT,
}
_INT64 = range(-(2**63), 2**63)


class _Table:
    """Columns of one table, filled row by row; a column first named late gets nulls before.

    Parameters
    ----------
    name : str
        The table (and file) name.
    types : dict
        Columns always written, with their arrow type (None: the type of their values);
        other columns get the type of their values.
    """

    def __init__(self, name: str, types: Mapping[str, pa.DataType | None]) -> None:
        self.name = name
        self.types = dict(types)
        self.columns: dict[str, list] = {column: [] for column in types}
        self.n_rows = 0

    def add(self, row: Mapping[str, Any]) -> None:
        """Append one row (columns it does not name are null)."""
        for column, value in row.items():
            self.columns.setdefault(column, [None] * self.n_rows).append(value)
        self.n_rows += 1
        for values in self.columns.values():
            if len(values) < self.n_rows:
                values.append(None)

    def parquet(self, skipped: list[Skip]) -> bytes:
        """The table as parquet bytes; columns of values of mixed types go to ``skipped``."""
        arrays, names = [], []
        for column, values in self.columns.items():
            kind = self.types.get(column)
            kind = _arrow_type(values) if kind is None else kind
            if kind is None:
                skipped.append(Skip(None, None, None, f"{self.name} column {column!r} left out: "
                                                      "not all numbers, all text or all booleans"))
                continue
            arrays.append(pa.array(values, type=kind))
            names.append(column)
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_arrays(arrays, names=names), buffer)
        return buffer.getvalue()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if value in _INT64 else "other"
    if isinstance(value, float):
        return "float"
    return "str" if isinstance(value, str) else "other"


def _arrow_type(values: Iterable[Any]) -> pa.DataType | None:
    """The arrow type of a column of JSON scalars, or None for values of several types."""
    kinds = {_kind(v) for v in values if v is not None}
    if not kinds:
        return pa.null()
    if kinds <= {"int", "float"}:
        return pa.int64() if kinds == {"int"} else pa.float64()
    if len(kinds) == 1 and kinds <= {"bool", "str"}:
        return pa.bool_() if kinds == {"bool"} else TEXT
    return None


def _text(value: Any) -> str | None:
    """A study field as text (a PMID may be a number); None for anything else."""
    if isinstance(value, str):
        return value
    return str(value) if _kind(value) in ("int", "float") else None


def _study_row(study: Mapping, study_id: str) -> dict[str, Any]:
    row: dict[str, Any] = {column: _text(study.get(column)) for column in STUDY_COLUMNS}
    year = study.get("year")
    row.update(study_id=study_id, year=year if _kind(year) == "int" else None)
    return row


def _coordinate_rows(keys: dict[str, str], experiment: Experiment) -> Iterable[dict[str, Any]]:
    # None when the peaks name both MNI and TAL: then each keeps its own.
    space, _ = experiment.space()
    for point in experiment.points:
        yield {**keys, "x": point.x, "y": point.y, "z": point.z, "kind": point.kind,
               "space": point.space if point.space != UNKNOWN else space or UNKNOWN}


class _Release:
    """The tables of a release, filled one experiment at a time."""

    def __init__(self, selection: Selection) -> None:
        self.studies = _Table("studies", STUDY_COLUMNS)
        self.analyses = _Table("analyses", ANALYSIS_COLUMNS)
        self.coordinates = _Table("coordinates", COORDINATE_COLUMNS)
        self.images = _Table("images", {**dict.fromkeys(KEYS, TEXT), "space": TEXT})
        self.metadata = _Table("metadata", {**dict.fromkeys(KEYS, TEXT),
                                            "sample_sizes": pa.list_(pa.float64())})
        self.annotations = None
        if selection.annotation is not None:
            # Declared note keys are columns even when no note fills them.
            declared = [k for k in selection.note_keys if k not in KEYS]
            self.annotations = _Table("annotations", {**dict.fromkeys(KEYS, TEXT),
                                                      **dict.fromkeys(declared)})
        self.skipped: list[Skip] = []

    def tables(self) -> list[_Table]:
        """The tables to write, in archive order."""
        tables = [self.studies, self.analyses, self.coordinates, self.images, self.metadata]
        return tables + ([self.annotations] if self.annotations is not None else [])

    def add(self, experiment: Experiment) -> None:
        """Write the rows of one analysis."""
        keys = {"id": f"{experiment.study_id}-{experiment.analysis_id}",
                "study_id": experiment.study_id, "contrast_id": experiment.analysis_id}
        self.skipped.extend(experiment.skipped)
        self.analyses.add({**keys, "name": _text(experiment.analysis.get("name"))})
        for row in _coordinate_rows(keys, experiment):
            self.coordinates.add(row)
        images = experiment_images(experiment, self.skipped)
        if images:
            space = _text(images.pop("space", None))
            self.images.add({**keys, "space": space,
                             **{f"{column}__source": v for column, v in images.items()}})
        metadata = {k: v for k, v in metadata_of(experiment.analysis).items()
                    if k not in SAMPLE_SIZE_KEYS}
        sizes = experiment.sample_sizes
        self.metadata.add({**self._extra("metadata", experiment, metadata), **keys,
                           "sample_sizes": [float(n) for n in sizes] if sizes else None})
        if self.annotations is not None:
            self.annotations.add({**self._extra("annotations", experiment, experiment.note),
                                  **keys})

    def _extra(self, table: str, experiment: Experiment, values: Mapping) -> dict[str, Any]:
        """Columns named by a document (metadata, notes), without those clashing with keys."""
        for name in KEYS:
            if name in values:
                self.skipped.append(Skip(experiment.study_id, experiment.analysis_id, None,
                                         f"{table} key {name!r} left out: it names a key column"))
        return {str(k): v for k, v in values.items() if k not in KEYS}


def _member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def write_release(
    studyset: Mapping,
    out: BinaryIO,
    annotation: Mapping | None = None,
    *,
    include: str | None = None,
) -> ExportSummary:
    """Write the release archive (``.tar.gz``) of a studyset to ``out``.

    Parameters
    ----------
    studyset : dict
        A nested NIMADS studyset.
    out : binary file object
    annotation : dict, optional
        A NIMADS annotation; its notes become ``annotations.parquet``.
    include : str, optional
        A boolean note key selecting the analyses to export.

    Returns
    -------
    ExportSummary
        ``n_studies`` counts every study written (``studies.parquet`` rows); ``skipped``
        lists peaks, images and columns left out.
    """
    selection = Selection(annotation, include)
    release = _Release(selection)
    n_excluded = 0
    for record in read_studies(studyset, selection, release.skipped):
        n_excluded += record.n_excluded
        release.studies.add(_study_row(record.study, record.study_id))
        for experiment in record.experiments:
            release.add(experiment)
    members = {f"{t.name}.parquet": t.parquet(release.skipped) for t in release.tables()}
    manifest = {
        "format": FORMAT, "version": FORMAT_VERSION, "id": studyset.get("id"),
        "name": studyset.get("name") or "", "description": studyset.get("description"),
        "tables": {name.removesuffix(".parquet"): name for name in members},
        "annotations": [] if annotation is None else [
            {"id": annotation.get("id"), "name": annotation.get("name")}],
    }
    members["studyset.json"] = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
    sink = HashingSink(out)
    # mtime=0 in the gzip header and in every member: the bytes depend on the content only.
    with gzip.GzipFile(filename="", mode="wb", fileobj=sink, mtime=0) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            _member(tar, name, members[name])
    sha256 = sink.finish()
    return ExportSummary("release", sha256, sink.n_bytes, release.studies.n_rows,
                         release.analyses.n_rows, release.coordinates.n_rows, n_excluded,
                         tuple(release.skipped))
