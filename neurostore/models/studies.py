"""The study aggregate: a version of a publication's data and everything it holds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import JSON, Base, PublicId
from neurostore.models.columns import (
    Owned,
    PublicationFields,
    Versioned,
    identifier_checks,
    not_blank,
    one_of,
)
from neurostore.models.search import FULLTEXT_DOCUMENT, MNI_XY_POINT
from neurostore.vocabulary import PointSpace, ValueType


def _finite(col: str) -> str:
    # abs(NaN) is NaN, and PostgreSQL orders NaN above Infinity, so this refuses both.
    return f"abs({col}) < 'Infinity'::float8"


class Study(PublicationFields, Versioned, Owned, Base):
    """One version of a publication's data: from a source, or a curator's copy."""

    __tablename__ = "studies"
    __table_args__ = (
        *identifier_checks(),
        not_blank("source"),
        not_blank("source_id"),
        Index(
            "uq_studies_active_source",
            "source",
            "source_id",
            unique=True,
            postgresql_where=text(
                "deleted_at IS NULL AND source IS NOT NULL AND source_id IS NOT NULL"
                " AND source <> 'neurostore'"
            ),
        ),
        Index("ix_studies_fulltext", text(FULLTEXT_DOCUMENT), postgresql_using="gin"),
        Index("ix_studies_created_at_id", "created_at", "id"),
        # A fixed-size sample, read in id-hash order, estimates large match counts.
        Index("ix_studies_id_hash", text("hashtext(id)")),
    )

    id: Mapped[PublicId]
    base_study_id: Mapped[str | None] = mapped_column(
        ForeignKey("base_studies.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str | None] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(255))
    source_updated_at: Mapped[dt.datetime | None]
    # sha256 of the upstream record last ingested: an unchanged record is recognised
    # without loading or comparing its tree.
    source_hash: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("studies.id", ondelete="SET NULL"), index=True
    )


class Table(Base):
    """A table of a publication that analyses were read from."""

    __tablename__ = "tables"

    id: Mapped[PublicId]
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    t_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(Text)
    caption: Mapped[str | None] = mapped_column(Text)
    footer: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[JSON | None] = mapped_column("metadata")
    order: Mapped[int] = mapped_column(Integer, default=0)


class Analysis(Base):
    """A contrast: its peaks, images and the conditions it weights."""

    __tablename__ = "analyses"

    id: Mapped[PublicId]
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    table_id: Mapped[str | None] = mapped_column(
        ForeignKey("tables.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[JSON | None] = mapped_column("metadata")
    order: Mapped[int] = mapped_column(Integer, default=0)


class AnalysisCondition(Base):
    """A condition used by an analysis, with its weight."""

    __tablename__ = "analysis_conditions"
    __table_args__ = (CheckConstraint(_finite("weight"), name="weight_finite"),)

    analysis_id: Mapped[str] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), primary_key=True
    )
    order: Mapped[int] = mapped_column(Integer, primary_key=True)
    condition_id: Mapped[str] = mapped_column(
        ForeignKey("conditions.id", ondelete="RESTRICT"), index=True
    )
    weight: Mapped[float] = mapped_column(Float(precision=53))


class Point(Base):
    """A reported peak."""

    __tablename__ = "points"
    __table_args__ = (
        CheckConstraint(
            f"(x IS NULL AND y IS NULL AND z IS NULL) OR"
            f" ({_finite('x')} AND {_finite('y')} AND {_finite('z')})",
            name="coordinates_finite",
        ),
        CheckConstraint(one_of("space", PointSpace, nullable=True), name="space_known"),
        CheckConstraint("cluster_size IS NULL OR cluster_size >= 0", name="cluster_size_positive"),
        Index("ix_points_analysis_order", "analysis_id", "order"),
        Index("ix_points_study_id", "study_id"),
        # Covering: a radius search reads candidates, their z and their study from the
        # index alone (an index-only scan), never the table.
        Index("ix_points_mni_xy", text(MNI_XY_POINT), postgresql_using="gist",
              postgresql_include=["x", "y", "z", "space", "study_id"]),
    )

    id: Mapped[PublicId]
    analysis_id: Mapped[str] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    # The study of the point's analysis, copied so that searches over peaks need not join
    # analyses. Written only with the analysis (an analysis never changes study); no
    # foreign key, which would cost a check per peak on bulk loads: the analysis's
    # cascade already removes the point.
    study_id: Mapped[str] = mapped_column(String(32))
    x: Mapped[float | None]
    y: Mapped[float | None]
    z: Mapped[float | None]
    space: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(64))
    label_id: Mapped[str | None] = mapped_column(String(255))
    cluster_size: Mapped[float | None]
    subpeak: Mapped[bool | None]
    deactivation: Mapped[bool | None]
    order: Mapped[int] = mapped_column(Integer, default=0)


class PointValue(Base):
    """A statistic reported at a peak (``kind`` e.g. Z, T)."""

    __tablename__ = "point_values"
    __table_args__ = (CheckConstraint(f"value IS NULL OR {_finite('value')}", name="value_finite"),)

    point_id: Mapped[str] = mapped_column(
        ForeignKey("points.id", ondelete="CASCADE"), primary_key=True
    )
    order: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[float | None]


class Image(Base):
    """A statistical map attached to an analysis."""

    __tablename__ = "images"
    __table_args__ = (
        CheckConstraint("sha256 IS NULL OR sha256 ~ '^[0-9a-f]{64}$'", name="sha256_format"),
        CheckConstraint(
            f"space IS NULL OR space ~ '^({'|'.join(PointSpace)})[A-Za-z0-9_.-]*$'",
            name="space_known",
        ),
        CheckConstraint(one_of("value_type", ValueType, nullable=True), name="value_type_known"),
    )

    id: Mapped[PublicId]
    analysis_id: Mapped[str] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    space: Mapped[str | None] = mapped_column(String(64))
    value_type: Mapped[str | None] = mapped_column(String(16))
    metadata_: Mapped[JSON | None] = mapped_column("metadata")
    add_date: Mapped[dt.datetime | None]
    order: Mapped[int] = mapped_column(Integer, default=0)


class StudyDocument(Base):
    """A study as the JSON text reads send (its tree, version and timestamps), kept to
    spare rebuilding it.

    Derived data, never a source of truth: a document is valid only while its study row is
    the one it was built from (``row_xmin`` holds that row's ``xmin``, which every update
    of the row changes, including a version bump and a foreign key's ``SET NULL``). Every
    change to a tree bumps its study's version, so a stale document is never served.
    """

    __tablename__ = "study_documents"

    study_id: Mapped[str] = mapped_column(
        ForeignKey("studies.id", ondelete="CASCADE"), primary_key=True
    )
    row_xmin: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)
