"""Peak tables shared by the NeuroQuery and Neurosynth releases.

Both releases are one TSV row per peak, with a study id and a table id. Rows are
read in one pass and grouped into studies as they stream by: each release lists
a study's rows together (checked for both full releases), while the rows of one
table may interleave with other tables of the same study (Neurosynth does this).
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ingest.records import Skipped
from ingest.space import MNI_BOX_MM, mni_box_excess
from ingest.tabular import TsvFile

_WHITESPACE = re.compile(r"\s+")

# (line, study id, table id, table label, [x, y, z])
PeakRow = tuple[int, str, str, str, list[float]]


@dataclass
class PeakTable:
    """The peaks of one table of one study, in file order."""

    t_id: str
    label: str
    coordinates: list[list[float]] = field(default_factory=list)


def read_peaks(
    tsv: TsvFile,
    *,
    table_label_column: str,
    skipped: list[Skipped],
    max_mni_excess: float | None,
) -> Iterator[PeakRow]:
    """Yield the valid peak rows of an open release file, reporting the others.

    Parameters
    ----------
    tsv : TsvFile
        An entered file with columns ``id``, ``table_id``, ``x``, ``y``, ``z`` and
        ``table_label_column``.
    table_label_column : str
        Column holding the table's free-text label.
    skipped : list of Skipped
        Receives a report for each row left out.
    max_mni_excess : float or None
        Leave out peaks further than this (mm) outside the MNI box; None keeps every
        finite coordinate.

    Yields
    ------
    tuple
        ``(line, study_id, table_id, table_label, [x, y, z])``.
    """
    c = tsv.columns
    i_id, i_table, i_label = c["id"], c["table_id"], c[table_label_column]
    i_x, i_y, i_z = c["x"], c["y"], c["z"]
    width = len(c)
    # Fast path: one chained comparison per axis; NaN and +-inf always fail it.
    if max_mni_excess is None:
        (x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi) = [(-sys.float_info.max, sys.float_info.max)] * 3
    else:
        (x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi) = (
            (low - max_mni_excess, high + max_mni_excess) for low, high in MNI_BOX_MM
        )
    for line, fields in tsv.rows():
        if not fields:
            continue
        study_id = fields[i_id].strip()
        if len(fields) != width:
            skipped.append(Skipped(study_id, line, f"expected {width} fields, found {len(fields)}"))
            continue
        try:
            x, y, z = float(fields[i_x]), float(fields[i_y]), float(fields[i_z])
        except ValueError:
            raw = ", ".join(fields[i] for i in (i_x, i_y, i_z))
            skipped.append(Skipped(study_id, line, f"coordinates are not numbers: ({raw})"))
            continue
        if not (x_lo <= x <= x_hi and y_lo <= y <= y_hi and z_lo <= z <= z_hi):
            skipped.append(Skipped(study_id, line, _peak_problem([x, y, z], max_mni_excess)))
            continue
        if not study_id:
            skipped.append(Skipped(None, line, "empty study id"))
            continue
        yield line, study_id, fields[i_table].strip(), fields[i_label], [x, y, z]


def _peak_problem(xyz: list[float], max_mni_excess: float | None) -> str:
    if not all(math.isfinite(v) for v in xyz):
        return f"coordinates are not finite: {xyz}"
    return (
        f"implausible peak {xyz}: {mni_box_excess(xyz):g} mm outside the MNI box "
        f"(more than the {max_mni_excess:g} mm margin)"
    )


def group_by_study(
    peaks: Iterator[PeakRow], skipped: list[Skipped]
) -> Iterator[tuple[str, list[PeakTable]]]:
    """Group consecutive peak rows into studies, and each study's rows into tables.

    A study whose rows resume after another study's rows have started cannot be
    completed in one pass: those late rows are reported and left out, so a file that
    is not grouped by study shows up in the report instead of yielding a study twice.

    Parameters
    ----------
    peaks : iterator of tuple
        Rows from :func:`read_peaks`.
    skipped : list of Skipped
        Receives a report for each row left out.

    Yields
    ------
    tuple of (str, list of PeakTable)
        A study id and its tables, in order of first appearance.
    """
    finished: set[str] = set()
    current: str | None = None
    tables: dict[str, PeakTable] = {}
    for line, study_id, t_id, label, xyz in peaks:
        if study_id != current:
            if current is not None:
                finished.add(current)
                yield current, list(tables.values())
            if study_id in finished:
                skipped.append(
                    Skipped(
                        study_id,
                        line,
                        "rows of this study resume after other studies; "
                        "the file must list each study's rows together",
                    )
                )
                current, tables = None, {}
                continue
            current, tables = study_id, {}
        table = tables.get(t_id)
        if table is None:
            table = tables[t_id] = PeakTable(t_id=t_id, label=label)
        table.coordinates.append(xyz)
    if current is not None:
        yield current, list(tables.values())


def analyses_from_tables(tables: list[PeakTable], space: str | None) -> list[dict[str, Any]]:
    """Build one NIMADS analysis per table, with its peaks as points.

    The analysis is named after the table's label with whitespace collapsed (labels
    such as ``"Table\\n1"`` or ``"Table\\xa03"`` occur), or after the table id when
    the label is empty; a name repeated within the study gets the table id appended.
    The raw label stays in ``table["name"]``.

    Parameters
    ----------
    tables : list of PeakTable
        The study's tables.
    space : str or None
        Space of every point (``"MNI"``, ``"TAL"``, ``"UNKNOWN"``).

    Returns
    -------
    list of dict
        Analyses in the store's input shape.
    """
    names = [_WHITESPACE.sub(" ", t.label).strip() or t.t_id for t in tables]
    repeated = {name for name, count in Counter(names).items() if count > 1}
    analyses = []
    for table, name in zip(tables, names, strict=True):
        analyses.append(
            {
                "name": f"{name} ({table.t_id})" if name in repeated else name,
                "description": None,
                "metadata": {},
                "table": {"t_id": table.t_id, "name": table.label or None},
                "conditions": [],
                "weights": [],
                "points": [
                    {
                        "coordinates": xyz,
                        "space": space,
                        "kind": None,
                        "label_id": None,
                        "values": [],
                    }
                    for xyz in table.coordinates
                ],
                "images": [],
            }
        )
    return analyses
