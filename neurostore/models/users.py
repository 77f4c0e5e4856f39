"""Users and their API tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from neurostore.db import Base, PublicId, Timestamp
from neurostore.models.columns import one_of
from neurostore.vocabulary import Role


class User(Base):
    """A person (or the system) that acts on the store."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("role", Role), name="role_known"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint("length(btrim(external_id)) > 0", name="external_id_not_blank"),
    )

    id: Mapped[PublicId]
    external_id: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16), default=Role.USER.value,
                                      server_default=Role.USER.value)
    created_at: Mapped[Timestamp]


class ApiToken(Base):
    """A bearer token; only its sha256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("token_hash ~ '^[0-9a-f]{64}$'", name="hash_is_sha256"),)

    id: Mapped[PublicId]
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[Timestamp]
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
