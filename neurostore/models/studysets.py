"""Studysets: curated, ordered lists of study versions."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import Base, PublicId
from neurostore.models.columns import (
    Owned,
    PublicationFields,
    Versioned,
    identifier_checks,
    not_blank,
)


class Studyset(PublicationFields, Versioned, Owned, Base):
    """A curated list of study versions."""

    __tablename__ = "studysets"
    __table_args__ = (*identifier_checks(), not_blank("name"))

    id: Mapped[PublicId]
    parent_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("studysets.id", ondelete="SET NULL")
    )


class StudysetStudy(Base):
    """Membership of a study version in a studyset, in order."""

    __tablename__ = "studyset_studies"

    studyset_id: Mapped[str] = mapped_column(
        ForeignKey("studysets.id", ondelete="CASCADE"), primary_key=True
    )
    study_id: Mapped[str] = mapped_column(
        ForeignKey("studies.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    order: Mapped[int] = mapped_column(Integer, default=0)
