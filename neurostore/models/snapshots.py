"""Snapshots: frozen, content-addressed copies of a studyset and its annotation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import JSON, Base


class Snapshot(Base):
    """A studyset (with an annotation and an inclusion column) frozen at one moment.

    The id is the sha256 of the canonical NIMADS JSON, which lives in the file store under
    ``file``; the row never changes after it is written. The studyset and annotation it
    was taken from are named with the versions they had, for provenance only: later edits
    of them do not touch the snapshot.
    """

    __tablename__ = "snapshots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    file: Mapped[str] = mapped_column(String(80))
    studyset_id: Mapped[str | None] = mapped_column(
        ForeignKey("studysets.id", ondelete="SET NULL"), index=True
    )
    studyset_version: Mapped[int] = mapped_column(Integer)
    annotation_id: Mapped[str | None] = mapped_column(
        ForeignKey("annotations.id", ondelete="SET NULL")
    )
    annotation_version: Mapped[int | None] = mapped_column(Integer)
    include: Mapped[str | None] = mapped_column(String(255))
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    public: Mapped[bool] = mapped_column(default=True, server_default="true")
    n_studies: Mapped[int] = mapped_column(Integer)
    n_analyses: Mapped[int] = mapped_column(Integer)
    n_points: Mapped[int] = mapped_column(Integer)
    n_excluded: Mapped[int] = mapped_column(Integer)
    n_bytes: Mapped[int] = mapped_column(BigInteger)
    header: Mapped[JSON] = mapped_column(default=dict)
    inputs: Mapped[JSON] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class SnapshotExport(Base):
    """One export of a snapshot (a format, and a space for Sleuth) kept in the file store."""

    __tablename__ = "snapshot_exports"

    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[str] = mapped_column(String(16), primary_key=True)
    file: Mapped[str] = mapped_column(String(80))
    n_bytes: Mapped[int] = mapped_column(BigInteger)
    summary: Mapped[JSON] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class SnapshotReader(Base):
    """A user who froze a snapshot, and so may read it.

    Snapshots are content-addressed: two users freezing the same content get the same row.
    Each of them may read it, whoever froze it first.
    """

    __tablename__ = "snapshot_readers"

    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
