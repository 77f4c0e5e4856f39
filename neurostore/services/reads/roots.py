"""What the read side takes from every aggregate root row: who may see it, and its
version and timestamps as the API shows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from neurostore.services.actors import Actor
from neurostore.services.permissions import DEFAULT_POLICY, Policy
from neurostore.services.trees.state import iso


def visible(table: Any, actor: Actor, policy: Policy = DEFAULT_POLICY) -> ColumnElement:
    """Rows ``actor`` may see: alive, and readable by ``policy`` (public, own, or anything
    for an administrator, by default) when the table has owners and publicity."""
    alive = table.c.deleted_at.is_(None)
    if "public" not in table.c:
        return alive
    return alive & policy.readable(actor, table.c.public, table.c.owner_id)


def meta_of(row: Any) -> dict[str, Any]:
    """The version and timestamps of a root row, as the API shows them."""
    return {"version": row["version"], "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"])}


def root_meta(session: Session, model: type, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Version and timestamps of aggregate roots by id."""
    t = model.__table__
    return {
        row["id"]: meta_of(row)
        for row in session.execute(
            select(t.c.id, t.c.version, t.c.created_at, t.c.updated_at).where(t.c.id.in_(ids))
        ).mappings()
    }
