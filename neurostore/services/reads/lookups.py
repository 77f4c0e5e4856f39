"""Read-side lists of what every study shares: users' public profiles and conditions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurostore.models import Condition, User
from neurostore.services.reads.pagination import ListQuery, Page, SortKey, paginate


def list_users(session: Session, query: ListQuery) -> Page:
    """A page of users' public profiles."""
    t = User.__table__
    stmt = select(t.c.id, t.c.name, t.c.role)
    return paginate(session, stmt, t.c.id, {"id": SortKey(t.c.id, str)}, query)


def user_names(session: Session, ids: list[str]) -> dict[str, str]:
    """The names of the users in ``ids`` (one query, whatever their number)."""
    t = User.__table__
    return {row.id: row.name for row in session.execute(
        select(t.c.id, t.c.name).where(t.c.id.in_(ids)))}


def list_conditions(session: Session, query: ListQuery, *, name: str | None = None) -> Page:
    """A page of conditions, optionally those whose name contains ``name``."""
    t = Condition.__table__
    stmt = select(t.c.id, t.c.name, t.c.description)
    if name:
        stmt = stmt.where(t.c.name.icontains(name, autoescape=True))
    return paginate(session, stmt, t.c.id, {"id": SortKey(t.c.id, str)}, query)
