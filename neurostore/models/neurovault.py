"""Publications of results to NeuroVault: which collection and images hold what we sent.

One row per published thing (a meta-analysis run; a term map once it is published the same
way), the source of truth of its upload job as an analysis run is of its own. The row
remembers NeuroVault's collection id and each map's image id, so publishing the same run
again updates that collection and those images instead of making new ones.

``token`` holds the user's NeuroVault API token only between the request and the moment a
worker claims the job: the claim reads it and clears it in one transaction (the worker keeps
it in memory for the upload). It is never in the job's arguments, which the task queue keeps.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import JSON, Base, PublicId
from neurostore.models.columns import one_of
from neurostore.vocabulary import PublicationKind, RunStatus


class NeuroVaultPublication(Base):
    """The NeuroVault collection of one published result, and its upload job's state.

    ``images`` maps the name of each map sent to its NeuroVault image id; ``server`` is the
    NeuroVault those ids belong to (a publication to another server starts afresh).
    """

    __tablename__ = "neurovault_publications"
    __table_args__ = (
        CheckConstraint(one_of("status", RunStatus), name="status_known"),
        CheckConstraint(one_of("kind", PublicationKind), name="kind_known"),
        UniqueConstraint("kind", "source_id"),
    )

    id: Mapped[PublicId]
    kind: Mapped[str] = mapped_column(String(16))
    # The published thing's id: a run id (a term map: "<build id>/<user id>/<term>").
    source_id: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    options: Mapped[JSON] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED.value)
    progress: Mapped[JSON] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim: Mapped[str | None] = mapped_column(String(32))
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    token: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    server: Mapped[str | None] = mapped_column(String(300))
    collection_id: Mapped[int | None] = mapped_column(BigInteger)
    collection_url: Mapped[str | None] = mapped_column(Text)
    images: Mapped[JSON] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
