"""The export formats of a snapshot: which writer, media type and file suffix each uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

from analysis.snapshot import ExportSummary, write_nimads, write_nimare, write_sleuth, write_tsv
from analysis.snapshot.release import write_release
from neurostore.vocabulary import PointSpace

#: Skipped items kept in an export's stored summary (the count is always complete).
SKIPS_KEPT = 100


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
    write : callable
        ``write(studyset, out, annotation) -> ExportSummary``.
    description : str
        One line for help texts.
    """

    name: str
    media_type: str
    suffix: str
    write: Callable[[Any, BinaryIO, Any], ExportSummary]
    description: str


def _sleuth(space: str) -> Callable[[Any, BinaryIO, Any], ExportSummary]:
    def write(studyset: Any, out: BinaryIO, annotation: Any) -> ExportSummary:
        return write_sleuth(studyset, out, annotation, space=space)
    return write


FORMATS = {
    f.name: f
    for f in (
        ExportFormat("nimads", "application/json", ".json", write_nimads,
                     "canonical NIMADS studyset with its annotation embedded (the snapshot)"),
        ExportFormat("nimare", "application/json", ".nimare.json", write_nimare,
                     "NiMARE dataset dict: nimare.dataset.Dataset(path) loads it"),
        ExportFormat("sleuth-mni", "text/plain; charset=utf-8", ".mni.txt", _sleuth(PointSpace.MNI),
                     "Sleuth text of the experiments in MNI space"),
        ExportFormat("sleuth-tal", "text/plain; charset=utf-8", ".tal.txt", _sleuth(PointSpace.TAL),
                     "Sleuth text of the experiments in Talairach space"),
        ExportFormat("tsv", "text/tab-separated-values; charset=utf-8", ".tsv", write_tsv,
                     "one row per peak: study, analysis, space, x, y, z, sample size, notes"),
        ExportFormat("release", "application/gzip", ".tar.gz", write_release,
                     "parquet tables in a .tar.gz: nimare.extract.fetch_neurostore loads it"),
    )
}


def summary_json(summary: ExportSummary) -> dict[str, Any]:
    """An export summary as JSON data, with at most :data:`SKIPS_KEPT` skipped items."""
    data = asdict(summary)
    data["n_skipped"] = len(summary.skipped)
    data["skipped"] = data["skipped"][:SKIPS_KEPT]
    return data
