"""Declarative permission policies evaluated inside the services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true

from neurostore.services.actors import Actor
from neurostore.services.errors import NotFound, PermissionDenied, Unauthenticated


@dataclass(frozen=True)
class Subject:
    """What a policy needs to know about an object."""

    kind: str
    id: str
    owner_id: str | None
    public: bool


class Need:
    """A condition under which an actor is allowed an action."""

    def allows(self, actor: Actor, subject: Subject) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def where(self, actor: Actor, public: ColumnElement,
              owner: ColumnElement) -> ColumnElement:  # pragma: no cover - interface
        """The same condition in SQL, over rows whose publicity is ``public`` and whose
        owner's id is ``owner``."""
        raise NotImplementedError


class Owner(Need):
    """The actor owns the object."""

    def allows(self, actor: Actor, subject: Subject) -> bool:
        return actor.id is not None and actor.id == subject.owner_id

    def where(self, actor: Actor, public: ColumnElement, owner: ColumnElement) -> ColumnElement:
        return owner == actor.id if actor.id is not None else false()


class Curator(Need):
    """Curators may act on public objects."""

    def allows(self, actor: Actor, subject: Subject) -> bool:
        return actor.is_curator and subject.public

    def where(self, actor: Actor, public: ColumnElement, owner: ColumnElement) -> ColumnElement:
        return public.is_(true()) if actor.is_curator else false()


class Admin(Need):
    """Administrators may act on anything."""

    def allows(self, actor: Actor, subject: Subject) -> bool:
        return actor.is_admin

    def where(self, actor: Actor, public: ColumnElement, owner: ColumnElement) -> ColumnElement:
        return true() if actor.is_admin else false()


class Public(Need):
    """Anyone may act on a public object."""

    def allows(self, actor: Actor, subject: Subject) -> bool:
        return subject.public

    def where(self, actor: Actor, public: ColumnElement, owner: ColumnElement) -> ColumnElement:
        return public.is_(true())


@dataclass(frozen=True)
class Policy:
    """Which needs grant each action on one kind of aggregate."""

    can_read: tuple[Need, ...] = (Public(), Owner(), Admin())
    can_update: tuple[Need, ...] = (Owner(), Curator(), Admin())
    can_delete: tuple[Need, ...] = (Owner(), Admin())
    #: Actions on the kind as a whole, beyond one object's owner (creating accounts,
    #: changing roles, starting ingestion).
    can_manage: tuple[Need, ...] = (Admin(),)

    def allows(self, action: str, actor: Actor, subject: Subject) -> bool:
        """Whether ``actor`` may do ``action`` (``read``, ``update``, ``delete`` or
        ``manage``) to ``subject``, by the needs declared for that action."""
        needs = {"read": self.can_read, "update": self.can_update,
                 "delete": self.can_delete, "manage": self.can_manage}[action]
        return any(need.allows(actor, subject) for need in needs)

    def readable(self, actor: Actor, public: ColumnElement,
                 owner: ColumnElement) -> ColumnElement:
        """The SQL condition on rows ``actor`` may read, by the needs declared for reading:
        ``public`` is a row's publicity, ``owner`` its owner's id (the list and search
        filters that match :meth:`may_read` one row at a time)."""
        wheres = [need.where(actor, public, owner) for need in self.can_read]
        # true() when any need grants every row, so callers can tell "no filter" by identity.
        return true() if any(w is true() for w in wheres) else or_(*wheres)

    def check_manage(self, actor: Actor, kind: str, doing: str) -> None:
        """Raise unless ``actor`` may manage ``kind`` as a whole (``doing`` says what, for the
        message): :class:`Unauthenticated` for an anonymous caller, else
        :class:`PermissionDenied`."""
        if self.allows("manage", actor, Subject(kind, "", None, False)):
            return
        if not (actor.is_authenticated or actor.is_system):
            raise Unauthenticated(f"sign in as an administrator to {doing}")
        raise PermissionDenied(f"only administrators may {doing}")

    def may_read(self, actor: Actor, subject: Subject) -> bool:
        """Whether ``actor`` may see ``subject`` at all."""
        return self.allows("read", actor, subject)

    def check(self, action: str, actor: Actor, subject: Subject) -> None:
        """Raise unless ``actor`` may do ``action`` to ``subject``.

        Objects the actor may not read are reported as missing, so private rows are
        invisible to everyone else.
        """
        if not self.may_read(actor, subject):
            raise NotFound(f"{subject.kind} {subject.id} not found")
        if action == "read":
            return
        if self.allows(action if action == "update" else "delete", actor, subject):
            return
        if not actor.is_authenticated:
            raise Unauthenticated(f"sign in to {action} {subject.kind} {subject.id}")
        raise PermissionDenied(f"you may not {action} {subject.kind} {subject.id}")


def require_user(actor: Actor, action: str) -> None:
    """Raise :class:`Unauthenticated` for anonymous actors."""
    if not (actor.is_authenticated or actor.is_system):
        raise Unauthenticated(f"sign in to {action}")


DEFAULT_POLICY = Policy()
