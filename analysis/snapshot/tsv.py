"""Coordinates TSV: one row per point, for spreadsheets, pandas and R.

Columns: ``study_id, analysis_id, point_id, study_name, analysis_name, authors, year, x, y, z,
space, kind, sample_size``, then ``note_<key>`` for each annotation note key (sorted). ``space``
is the point's own (``MNI``, ``TAL`` or ``UNKNOWN``); ``sample_size`` is the mean of the
analysis' sample sizes (the figure NiMARE's ALE kernel uses). Whitespace runs in text, tabs
and line breaks included, become one space; fields holding a double quote are quoted as CSV
does. Booleans are ``true``/``false``, missing values empty, other note values compact JSON
(or their Python text when JSON cannot hold them).
"""

import csv
import io
import re
from collections.abc import Mapping
from typing import Any, BinaryIO

from neurostore.snapshot.errors import MalformedSnapshot
from neurostore.snapshot.experiments import Experiment, read_studies
from neurostore.snapshot.output import ExportSummary, HashingSink, Skip, dumps_json, format_number
from neurostore.snapshot.selection import Selection

COLUMNS = (
    "study_id", "analysis_id", "point_id", "study_name", "analysis_name", "authors", "year",
    "x", "y", "z", "space", "kind", "sample_size",
)
#: Rows gathered before they are encoded and handed to the sink.
ROWS_PER_BLOCK = 10_000
_WHITESPACE = re.compile(r"\s+")


def cell(value: Any) -> str:
    """Write one value as TSV cell text (see the module description)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, str):
        return _WHITESPACE.sub(" ", value).strip()
    try:
        return dumps_json(value, "TSV cell")
    except MalformedSnapshot:  # NaN inside a list, say: a cell can still show it
        return _WHITESPACE.sub(" ", repr(value))


def _rows(experiment: Experiment, note_keys: tuple[str, ...]) -> list[list[str]]:
    study, analysis = experiment.study, experiment.analysis
    shared = [
        experiment.study_id,
        experiment.analysis_id,
        study.get("name"),
        analysis.get("name"),
        study.get("authors"),
        study.get("year"),
    ]
    head = [cell(v) for v in shared]
    tail = [cell(experiment.sample_size)] + [cell(experiment.note.get(k)) for k in note_keys]
    return [
        [*head[:2], cell(p.point_id), *head[2:], format_number(p.x), format_number(p.y),
         format_number(p.z), p.space, cell(p.kind), *tail]
        for p in experiment.points
    ]


def write_tsv(
    studyset: Mapping,
    out: BinaryIO,
    annotation: Mapping | None = None,
    *,
    include: str | None = None,
) -> ExportSummary:
    """Stream the coordinates TSV (UTF-8, ``\\n`` line endings) to ``out``.

    Parameters
    ----------
    studyset : dict
        A nested NIMADS studyset.
    out : binary file object
    annotation : dict, optional
        A NIMADS annotation; its note keys become ``note_<key>`` columns.
    include : str, optional
        A boolean note key selecting the analyses to export.

    Returns
    -------
    ExportSummary
        ``skipped`` lists points without three finite coordinates, and studies and analyses
        that could not be read. Analyses without points give no row and are not counted.
    """
    selection = Selection(annotation, include)
    skipped: list[Skip] = []
    sink = HashingSink(out)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow([*COLUMNS, *(f"note_{k}" for k in selection.note_keys)])
    n_studies = n_analyses = n_points = n_excluded = pending = 0
    for record in read_studies(studyset, selection, skipped):
        n_excluded += record.n_excluded
        written = 0
        for experiment in record.experiments:
            skipped.extend(experiment.skipped)
            rows = _rows(experiment, selection.note_keys)
            writer.writerows(rows)
            pending += len(rows)
            n_points += len(rows)
            written += bool(rows)
        n_analyses += written
        n_studies += bool(written)
        if pending >= ROWS_PER_BLOCK:
            sink.write_text(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    sink.write_text(buffer.getvalue())
    sha256 = sink.finish()
    return ExportSummary("tsv", sha256, sink.n_bytes, n_studies, n_analyses, n_points,
                         n_excluded, tuple(skipped))
