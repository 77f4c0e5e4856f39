"""The export formats of a snapshot: what each is, its media type and file suffix.

The store declares the formats it offers (the API documents them and the command line lists
them); how each but NIMADS is written is plugged in (:mod:`neurostore.plugins`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

from neurostore.snapshot.output import ExportSummary

#: Skipped items kept in an export's stored summary (the count is always complete).
SKIPS_KEPT = 100

#: ``write(studyset, out, annotation) -> ExportSummary``.
Writer = Callable[[Any, BinaryIO, Any], ExportSummary]


@dataclass(frozen=True)
class ExportFormat:
    """One downloadable form of a snapshot.

    Attributes
    ----------
    name : str
        The ``format`` parameter (``nimads``, ``nimare``, ``sleuth-mni``, ``sleuth-tal``,
        ``tsv``, ``release``).
    media_type : str
        HTTP content type.
    suffix : str
        File name suffix in the file store and in downloads.
    description : str
        One line for help texts.
    """

    name: str
    media_type: str
    suffix: str
    description: str


FORMATS = {
    f.name: f
    for f in (
        ExportFormat("nimads", "application/json", ".json",
                     "canonical NIMADS studyset with its annotation embedded (the snapshot)"),
        ExportFormat("nimare", "application/json", ".nimare.json",
                     "NiMARE dataset dict: nimare.dataset.Dataset(path) loads it"),
        ExportFormat("sleuth-mni", "text/plain; charset=utf-8", ".mni.txt",
                     "Sleuth text of the experiments in MNI space"),
        ExportFormat("sleuth-tal", "text/plain; charset=utf-8", ".tal.txt",
                     "Sleuth text of the experiments in Talairach space"),
        ExportFormat("tsv", "text/tab-separated-values; charset=utf-8", ".tsv",
                     "one row per peak: study, analysis, space, x, y, z, sample size, notes"),
        ExportFormat("release", "application/gzip", ".tar.gz",
                     "parquet tables in a .tar.gz: nimare.extract.fetch_neurostore loads it"),
    )
}


def summary_json(summary: ExportSummary) -> dict[str, Any]:
    """An export summary as JSON data, with at most :data:`SKIPS_KEPT` skipped items."""
    data = asdict(summary)
    data["n_skipped"] = len(summary.skipped)
    data["skipped"] = data["skipped"][:SKIPS_KEPT]
    return data
