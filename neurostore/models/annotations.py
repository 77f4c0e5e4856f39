"""Annotations: typed columns over a studyset's analyses, one note per analysis."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import JSON, Base, PublicId
from neurostore.models.columns import Owned, Versioned


class Annotation(Versioned, Owned, Base):
    """Typed note columns (``note_keys``) for the analyses of one studyset."""

    __tablename__ = "annotations"

    id: Mapped[PublicId]
    studyset_id: Mapped[str] = mapped_column(
        ForeignKey("studysets.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[JSON | None] = mapped_column("metadata")
    note_keys: Mapped[JSON] = mapped_column(default=dict)
    parent_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("annotations.id", ondelete="SET NULL")
    )


class AnnotationNote(Base):
    """The note of one analysis in an annotation."""

    __tablename__ = "annotation_notes"

    annotation_id: Mapped[str] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True
    )
    analysis_id: Mapped[str] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    note: Mapped[JSON] = mapped_column(default=dict)
