"""The publication: one BaseStudy per paper, whatever its sources."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import Base, PublicId
from neurostore.models.columns import PublicationFields, Versioned, identifier_checks, not_blank
from neurostore.models.search import FULLTEXT_DOCUMENT

ACTIVE = text("deleted_at IS NULL AND merged_into_id IS NULL")


class BaseStudy(PublicationFields, Versioned, Base):
    """A publication; merged duplicates point to the survivor."""

    __tablename__ = "base_studies"
    __table_args__ = (
        *identifier_checks(),
        not_blank("name"),
        # DOIs keep their case and are compared without it.
        Index("uq_base_studies_active_doi", text("lower(doi)"), unique=True,
              postgresql_where=ACTIVE),
        Index("uq_base_studies_active_pmid", "pmid", unique=True, postgresql_where=ACTIVE),
        Index("uq_base_studies_active_pmcid", "pmcid", unique=True, postgresql_where=ACTIVE),
        Index("ix_base_studies_fulltext", text(FULLTEXT_DOCUMENT), postgresql_using="gin"),
        Index("ix_base_studies_created_at_id", "created_at", "id"),
        # A fixed-size sample, read in id-hash order, estimates large match counts.
        Index("ix_base_studies_id_hash", text("hashtext(id)")),
    )

    id: Mapped[PublicId]
    merged_into_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("base_studies.id", ondelete="SET NULL")
    )
