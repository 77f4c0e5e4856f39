"""What ingestion runs count: one batch's report, and a run as services return it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neurostore.models import IngestRun

#: The counts of a batch report, by what happened to each record.
COUNTS = ("created", "updated", "unchanged", "skipped", "failed")


@dataclass
class BatchReport:
    """What one batch did (or, in a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    diffs: list[dict[str, Any]] = field(default_factory=list)
    #: What the batch made or updated besides studies, by kind (``studyset``: its id).
    made: dict[str, str] = field(default_factory=dict)

    def add(self, other: BatchReport) -> None:
        """Accumulate another batch's counts, errors, diffs and what it made."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)
        self.diffs.extend(other.diffs)
        self.made.update(other.made)


def run_summary(run: IngestRun) -> dict[str, Any]:
    """The JSON form of a run."""
    return {
        "id": run.id, "source": run.source, "status": run.status,
        "parameters": run.parameters, "requested_by": run.requested_by,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "created": run.created, "updated": run.updated, "unchanged": run.unchanged,
        "skipped": run.skipped, "failed": run.failed, "errors": run.errors,
    }
