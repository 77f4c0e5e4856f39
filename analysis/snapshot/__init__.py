"""Export a frozen studyset (NIMADS studyset + annotation, as plain data) to files.

Every writer streams to a binary file object and returns an
:class:`~analysis.snapshot.output.ExportSummary` (counts, sha256 of the bytes, what was
skipped and why). No database, no web framework: callers hand in the snapshot's data.

- :mod:`~analysis.snapshot.nimads`: canonical NIMADS JSON, whose sha256 is the snapshot id.
- :mod:`~analysis.snapshot.nimare`: the dataset dict NiMARE's ``Dataset`` loads, as JSON.
- :mod:`~analysis.snapshot.sleuth`: Sleuth text, one file per space.
- :mod:`~analysis.snapshot.tsv`: one row per point.
"""

from analysis.snapshot.errors import MalformedSnapshot, SnapshotError
from analysis.snapshot.nimads import canonical_bytes, canonical_document, snapshot_id, write_nimads
from analysis.snapshot.nimare import nimare_dict, write_nimare
from analysis.snapshot.output import ExportSummary, Skip
from analysis.snapshot.selection import Selection
from analysis.snapshot.sleuth import write_sleuth
from analysis.snapshot.tsv import write_tsv

__all__ = [
    "ExportSummary",
    "MalformedSnapshot",
    "Selection",
    "Skip",
    "SnapshotError",
    "canonical_bytes",
    "canonical_document",
    "nimare_dict",
    "snapshot_id",
    "write_nimads",
    "write_nimare",
    "write_sleuth",
    "write_tsv",
]
