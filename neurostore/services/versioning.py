"""Version counters of aggregate roots: locking, compare-and-set, tombstones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neurostore.services.errors import Conflict, NotFound, RevisionConflict
from neurostore.services.permissions import Subject
from neurostore.services.uow import UnitOfWork


@dataclass(frozen=True)
class Root:
    """The locked row of an aggregate root."""

    id: str
    version: int
    owner_id: str | None
    public: bool
    deleted: bool

    def subject(self, kind: str) -> Subject:
        """The permission subject for this row."""
        return Subject(kind=kind, id=self.id, owner_id=self.owner_id, public=self.public)


@dataclass(frozen=True)
class Record:
    """What a service returns for one aggregate: its id, version and state."""

    id: str
    version: int
    state: dict[str, Any]
    deleted: bool = False


def lock(session: Session, model: type, kind: str, id_: str) -> Root:
    """Lock the root row ``FOR UPDATE`` and return it; :class:`NotFound` if absent."""
    table = model.__table__
    row = session.execute(
        select(
            table.c.id,
            table.c.version,
            table.c.owner_id if "owner_id" in table.c else None,
            table.c.public if "public" in table.c else True,
            table.c.deleted_at,
        )
        .where(table.c.id == id_)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"{kind} {id_} not found")
    return Root(
        id=row[0], version=row[1], owner_id=row[2], public=bool(row[3]), deleted=row[4] is not None
    )


def expect(kind: str, root: Root, if_match: int | None) -> None:
    """Raise :class:`RevisionConflict` when ``if_match`` is not the current version."""
    if if_match is not None and if_match != root.version:
        raise RevisionConflict(
            f"{kind} {root.id} is at version {root.version}, not {if_match}: reload and retry",
            current_version=root.version,
        )


def expect_alive(kind: str, root: Root) -> None:
    """Refuse edits of a deleted aggregate (restore it first)."""
    if root.deleted:
        raise Conflict(f"{kind} {root.id} is deleted; restore it before editing")


def bump(session: Session, model: type, root: Root, **values: Any) -> int:
    """Compare-and-set the version to ``root.version + 1`` with ``values``; return it."""
    table = model.__table__
    new_version = root.version + 1
    result = session.execute(
        update(table)
        .where(table.c.id == root.id, table.c.version == root.version)
        .values(version=new_version, updated_at=dt.datetime.now(dt.UTC), **values)
    )
    if result.rowcount != 1:
        raise RevisionConflict(f"{root.id} changed concurrently", current_version=new_version)
    return new_version


@contextmanager
def reading(session_factory: sessionmaker, uow: UnitOfWork | None) -> Iterator[UnitOfWork]:
    """Use the caller's unit of work (seeing what it wrote so far), or open one, which is
    closed without a commit unless the block commits it."""
    if uow is not None:
        yield uow
        return
    with UnitOfWork(session_factory) as own:
        yield own


@contextmanager
def unit(session_factory: sessionmaker, uow: UnitOfWork | None) -> Iterator[UnitOfWork]:
    """Use the caller's unit of work, or open one and commit it at the end."""
    if uow is not None:
        yield uow
        return
    with UnitOfWork(session_factory) as own:
        yield own
        own.commit()
