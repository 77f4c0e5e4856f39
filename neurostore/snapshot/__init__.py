"""Freezing a studyset: the store's canonical NIMADS form of a snapshot, and reading it back.

No database and no web framework: the snapshot service hands in plain data.

- :mod:`~neurostore.snapshot.nimads`: canonical NIMADS JSON, whose sha256 is the snapshot id.
- :mod:`~neurostore.snapshot.selection`: which analyses an annotation includes.
- :mod:`~neurostore.snapshot.experiments`: the studies of a snapshot as experiments, with
  what was skipped and why (shared by every export format and by meta-analysis runs).
- :mod:`~neurostore.snapshot.output`: export summaries and hashing writers.
- :mod:`~neurostore.snapshot.frozen`: a stored snapshot streamed back, study by study.
- :mod:`~neurostore.snapshot.formats`: the export formats the store offers; their writers
  (other than NIMADS) are plugged in (:mod:`neurostore.plugins`).
"""

from neurostore.snapshot.errors import MalformedSnapshot, SnapshotError
from neurostore.snapshot.nimads import (
    canonical_bytes,
    canonical_document,
    snapshot_id,
    write_nimads,
)
from neurostore.snapshot.output import ExportSummary, Skip
from neurostore.snapshot.selection import Selection

__all__ = [
    "ExportSummary",
    "MalformedSnapshot",
    "Selection",
    "Skip",
    "SnapshotError",
    "canonical_bytes",
    "canonical_document",
    "snapshot_id",
    "write_nimads",
]
