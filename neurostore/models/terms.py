"""Texts of publications, the feature sets built from them, and the builds that make
term maps and text-to-brain models.

A feature set is content-addressed like a snapshot: its id is the sha256 of the file that
holds its matrix, terms and base-study ids, so a term map or a text model names the exact
features it was computed from. A :class:`TermBuild` row is the source of truth of one
build job (status, progress, result files), as an analysis run is of a meta-analysis.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import JSON, Base, PublicId
from neurostore.models.columns import not_blank, one_of
from neurostore.vocabulary import RunStatus, TermBuildKind, TextKind


class StudyText(Base):
    """One text of a publication from one source (a title, an abstract, keywords...)."""

    __tablename__ = "study_texts"
    __table_args__ = (
        CheckConstraint(one_of("kind", TextKind), name="kind_known"),
        not_blank("text"),
    )

    base_study_id: Mapped[str] = mapped_column(
        ForeignKey("base_studies.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class FeatureSet(Base):
    """An immutable studies x terms weight matrix, named by the sha256 of its file."""

    __tablename__ = "feature_sets"
    __table_args__ = (not_blank("name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    vocabulary: Mapped[str] = mapped_column(String(128))
    weighting: Mapped[str] = mapped_column(String(16))
    n_studies: Mapped[int] = mapped_column(Integer)
    n_terms: Mapped[int] = mapped_column(Integer)
    nnz: Mapped[int] = mapped_column(Integer)
    file: Mapped[str] = mapped_column(String(80))
    built_from: Mapped[JSON] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class TermBuild(Base):
    """A job that builds a feature set, the term maps of one, or a text-to-brain model."""

    __tablename__ = "term_builds"
    __table_args__ = (
        CheckConstraint(one_of("status", RunStatus), name="status_known"),
        CheckConstraint(one_of("kind", TermBuildKind), name="kind_known"),
        Index("ix_term_builds_feature_set_id_kind", "feature_set_id", "kind"),
    )

    id: Mapped[PublicId]
    kind: Mapped[str] = mapped_column(String(16))
    feature_set_id: Mapped[str | None] = mapped_column(
        ForeignKey("feature_sets.id", ondelete="RESTRICT")
    )
    parameters: Mapped[JSON] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED.value, index=True)
    progress: Mapped[JSON] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim: Mapped[str | None] = mapped_column(String(32))
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[JSON | None]
    requested_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
