"""Conditions: named experimental conditions that analyses weight."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import Base, PublicId


class Condition(Base):
    """A reusable condition (e.g. ``2-back``)."""

    __tablename__ = "conditions"

    id: Mapped[PublicId]
    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
