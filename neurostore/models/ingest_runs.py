"""Ingestion runs: one row per run of a source, the source of truth for its status."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import JSON, Base, JSONList
from neurostore.models.columns import one_of
from neurostore.vocabulary import ACTIVE_STATUSES, RunStatus


class IngestRun(Base):
    """A run of one source with its parameters, counts and errors."""

    __tablename__ = "ingest_runs"
    __table_args__ = (
        CheckConstraint(one_of("status", RunStatus), name="status_known"),
        Index(
            "uq_ingest_runs_active_source",
            "source",
            unique=True,
            postgresql_where=text(one_of("status", ACTIVE_STATUSES)),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    parameters: Mapped[JSON] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED.value)
    requested_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[JSONList] = mapped_column(default=list)
