"""Revisions: the append-only edit history of every editable aggregate."""

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
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import JSON, Base, JSONList
from neurostore.models.columns import one_of
from neurostore.vocabulary import RevisionAction


class Revision(Base):
    """One committed change of one aggregate.

    ``state`` is the aggregate's full JSON after the change and ``diff`` the RFC 6902 patch
    from the previous revision's state. History rows carry no foreign key to what they
    describe, so they outlive it.
    """

    __tablename__ = "revisions"
    __table_args__ = (
        CheckConstraint(one_of("action", RevisionAction), name="action_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index(
            "uq_revisions_aggregate_version",
            "aggregate_type",
            "aggregate_id",
            "version",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    aggregate_type: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    message: Mapped[str | None] = mapped_column(Text)
    state: Mapped[JSON]
    diff: Mapped[JSONList] = mapped_column(default=list)
    ingest_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingest_runs.id", ondelete="SET NULL"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(BigInteger)
