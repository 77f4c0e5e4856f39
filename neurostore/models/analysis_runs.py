"""Meta-analysis runs: one row per requested analysis of a snapshot, the truth of its status."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import JSON, Base, PublicId
from neurostore.models.columns import one_of
from neurostore.vocabulary import RunStatus


class AnalysisRun(Base):
    """A meta-analysis of a snapshot: its validated spec, status, progress and results.

    ``claim`` names the attempt that currently owns the run; a worker writes progress and
    results only while its claim is the row's (compare-and-set), so a run stores at most
    one result set however many workers tried it.
    """

    __tablename__ = "analysis_runs"
    __table_args__ = (
        CheckConstraint(one_of("status", RunStatus), name="status_known"),
    )

    id: Mapped[PublicId]
    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("snapshots.id", ondelete="RESTRICT"), index=True
    )
    # Group 2 of a two-group run given as a second snapshot (the spec's groups.snapshot).
    comparison_snapshot_id: Mapped[str | None] = mapped_column(
        ForeignKey("snapshots.id", ondelete="RESTRICT"), index=True
    )
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    estimator: Mapped[str] = mapped_column(String(64))
    spec: Mapped[JSON] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED.value, index=True)
    progress: Mapped[JSON] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim: Mapped[str | None] = mapped_column(String(32))
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    results: Mapped[JSON | None]
    provenance: Mapped[JSON | None]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
