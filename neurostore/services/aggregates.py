"""The life cycle every editable aggregate shares.

Create, read, replace, partially update, delete (a tombstone), restore, clone and revert,
each as one transaction that writes exactly one revision per changed aggregate. A subclass
says how its aggregate is validated, read and written; the flows here are the same for
studies, studysets and annotations.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neurostore.services import history, versioning
from neurostore.services.actors import Actor
from neurostore.services.errors import Conflict, Invalid, NotFound
from neurostore.services.history import NO_PROVENANCE, Provenance
from neurostore.services.permissions import DEFAULT_POLICY, Policy, require_user
from neurostore.services.uow import UnitOfWork
from neurostore.services.versioning import Record, Root
from neurostore.vocabulary import RevisionAction


class AggregateService:
    """Base of the aggregate services; subclasses fill in the ``_hooks``."""

    kind: str
    label: str
    model: type
    schema: Schema
    many_schema: Schema

    def __init__(self, session_factory: sessionmaker, policy: Policy = DEFAULT_POLICY) -> None:
        self._sf = session_factory
        self.policy = policy

    # hooks ---------------------------------------------------------------------------
    def _read(self, session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def _insert(
        self, session: Session, actor: Actor, loaded: list[dict[str, Any]],
        provenance: Provenance, parents: list[str | None], action: str,
    ) -> list[Record]:
        raise NotImplementedError

    def _write(
        self, session: Session, actor: Actor, root: Root, loaded: dict[str, Any],
        before: dict[str, Any], *, reuse_free_ids: bool,
    ) -> tuple[dict[str, Any], Any]:
        """Return the state after the change and a callable that writes it."""
        raise NotImplementedError

    def _merge_patch(self, current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        return {**current, **patch}

    def _clone_data(self, state: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _check_restorable(self, session: Session, state: dict[str, Any]) -> None:
        """Raise :class:`Conflict` if bringing ``state`` back would clash; no clash by default."""

    def authorize(self, session: Session, actor: Actor, root: Root, action: str) -> None:
        """Raise unless ``actor`` may do ``action`` (read, update, delete) to ``root``.

        The declared policy decides; an aggregate whose visibility also depends on another
        one (an annotation on its studyset) extends this.
        """
        self.policy.check(action, actor, root.subject(self.label))

    def redact(self, session: Session, actor: Actor,
               states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The states as ``actor`` may see them: references to what the actor may not read
        (a private study listed in a public studyset) are left out. Nothing by default."""
        return states

    # validation ------------------------------------------------------------------------
    def load(self, data: Any, *, many: bool = False) -> Any:
        """Validate and normalise input; :class:`Invalid` names every bad field."""
        if many and not isinstance(data, list):
            raise Invalid({"_schema": f"expected a list of {self.label}s"})
        if not many and not isinstance(data, dict):
            raise Invalid({"_schema": f"expected a {self.label} object"})
        try:
            return (self.many_schema if many else self.schema).load(data)
        except ValidationError as exc:
            raise Invalid(exc.normalized_messages()) from exc

    # reads -----------------------------------------------------------------------------
    def root(self, session: Session, id_: str) -> Root:
        """The root row without a lock; :class:`NotFound` if absent."""
        t = self.model.__table__
        row = session.execute(
            select(t.c.id, t.c.version, t.c.owner_id, t.c.public, t.c.deleted_at)
            .where(t.c.id == id_)
        ).first()
        if row is None:
            raise NotFound(f"{self.label} {id_} not found")
        return Root(row[0], row[1], row[2], bool(row[3]), row[4] is not None)

    def get(self, actor: Actor, id_: str, *, uow: UnitOfWork | None = None) -> Record:
        """Return the current state (as ``uow`` sees it, when given); others' private
        aggregates are not found."""
        with versioning.reading(self._sf, uow) as uow:
            root = self.root(uow.session, id_)
            self.authorize(uow.session, actor, root, "read")
            if root.deleted:
                raise NotFound(f"{self.label} {id_} was deleted (its history is still readable)")
            state = self._read(uow.session, [id_])[id_]
            return Record(root.id, root.version, self.redact(uow.session, actor, [state])[0])

    def revisions(self, actor: Actor, id_: str) -> list[dict[str, Any]]:
        """List the revisions, oldest first."""
        with UnitOfWork(self._sf) as uow:
            self._check_history(uow.session, actor, id_)
            revs = history.list_revisions(uow.session, self.kind, id_)
            return [history.summary(r) for r in revs]

    def revision(self, actor: Actor, id_: str, version: int) -> dict[str, Any]:
        """Return revision ``version`` with the full state then."""
        with UnitOfWork(self._sf) as uow:
            s = uow.session
            self._check_history(s, actor, id_)
            rev = history.get_revision(s, self.kind, id_, version)
            state, diff = rev.state, rev.diff
            if state is not None:
                before = (history.get_revision(s, self.kind, id_, version - 1).state
                          if version > 1 else None)
                shown = self.redact(s, actor, [state, *([before] if before else [])])
                if shown[0] != state or (before is not None and shown[1] != before):
                    state = shown[0]
                    diff = history.diff_states(shown[1] if before is not None else None, state)
            return {**history.summary(rev), "state": state, "diff": diff}

    def diff(self, actor: Actor, id_: str, from_version: int, to_version: int) -> list:
        """The JSON patch from revision ``from_version`` to revision ``to_version``."""
        with UnitOfWork(self._sf) as uow:
            self._check_history(uow.session, actor, id_)
            a = history.get_revision(uow.session, self.kind, id_, from_version)
            b = history.get_revision(uow.session, self.kind, id_, to_version)
            before, after = self.redact(uow.session, actor, [a.state, b.state])
            return history.diff_states(before, after)

    def _check_history(self, session: Session, actor: Actor, id_: str) -> None:
        self.authorize(session, actor, self.root(session, id_), "read")

    # writes ----------------------------------------------------------------------------
    def create(
        self, actor: Actor, data: dict[str, Any], *, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Create one aggregate owned by ``actor``."""
        require_user(actor, f"create {self.label}s")
        loaded = self.load(data)
        with versioning.unit(self._sf, uow) as u:
            return self._insert(u.session, actor, [loaded], provenance, [None],
                                RevisionAction.CREATE)[0]

    def create_many(
        self, actor: Actor, items: list[dict[str, Any]], *, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> list[Record]:
        """Create many aggregates in one transaction (one statement per table)."""
        require_user(actor, f"create {self.label}s")
        loaded = self.load(items, many=True)
        with versioning.unit(self._sf, uow) as u:
            return self._insert(u.session, actor, loaded, provenance, [None] * len(loaded),
                                RevisionAction.CREATE)

    def replace(
        self, actor: Actor, id_: str, data: dict[str, Any], *, if_match: int | None = None,
        uow: UnitOfWork | None = None, provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Replace the whole state with ``data``."""
        loaded = self.load(data)
        with versioning.unit(self._sf, uow) as u:
            return self._change(u.session, actor, id_, lambda before: loaded, if_match,
                                provenance, RevisionAction.UPDATE)

    def update(
        self, actor: Actor, id_: str, patch: dict[str, Any], *, if_match: int | None = None,
        uow: UnitOfWork | None = None, provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Change only the fields present in ``patch``."""
        if not isinstance(patch, dict):
            raise Invalid({"_schema": "expected an object of fields to change"})
        with versioning.unit(self._sf, uow) as u:
            return self._change(
                u.session, actor, id_,
                lambda before: self.load(self._merge_patch(before, patch)),
                if_match, provenance, RevisionAction.UPDATE,
            )

    def modify(
        self, actor: Actor, id_: str, change: Callable[[dict[str, Any]], Any], *,
        replace: bool = False, if_match: int | None = None, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Write what ``change(current state)`` returns, built under the row lock.

        ``change`` gets a copy of the current state and returns a patch (or, with
        ``replace``, a whole state). The row stays locked from the read to the write, so
        concurrent writes without ``if_match`` are serialised and none is lost.
        """
        def make(before: dict[str, Any]) -> Any:
            body = change(copy.deepcopy(before))
            if not isinstance(body, dict):
                raise Invalid({"_schema": f"expected a {self.label} object"})
            return self.load(body if replace else self._merge_patch(before, body))

        with versioning.unit(self._sf, uow) as u:
            return self._change(u.session, actor, id_, make, if_match, provenance,
                                RevisionAction.UPDATE)

    def revert(
        self, actor: Actor, id_: str, version: int, *, if_match: int | None = None,
        uow: UnitOfWork | None = None, provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Write the state of revision ``version`` as a new revision."""
        with versioning.unit(self._sf, uow) as u:
            rev = history.get_revision(u.session, self.kind, id_, version)
            return self._change(
                u.session, actor, id_, lambda before: self._revert_data(rev.state),
                if_match, provenance, RevisionAction.REVERT, reuse_free_ids=True,
            )

    def _revert_data(self, state: dict[str, Any]) -> dict[str, Any]:
        return self.load(state)

    def _change(
        self, session: Session, actor: Actor, id_: str, make_loaded: Any,
        if_match: int | None, provenance: Provenance, action: str, *,
        reuse_free_ids: bool = False,
    ) -> Record:
        root = versioning.lock(session, self.model, self.label, id_)
        self.authorize(session, actor, root, "update")
        versioning.expect(self.label, root, if_match)
        versioning.expect_alive(self.label, root)
        before = self._read(session, [id_])[id_]
        loaded = make_loaded(before)
        after, write = self._write(session, actor, root, loaded, before,
                                   reuse_free_ids=reuse_free_ids)
        if after == before and action == RevisionAction.UPDATE:
            return Record(id_, root.version, self.redact(session, actor, [before])[0])
        version = versioning.bump(session, self.model, root)
        write()
        history.record(session, actor, self.kind, [(id_, version, action, after, before)],
                       provenance)
        return Record(id_, version, self.redact(session, actor, [after])[0])

    def delete(
        self, actor: Actor, id_: str, *, if_match: int | None = None,
        uow: UnitOfWork | None = None, provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Tombstone the aggregate; :meth:`restore` brings it back."""
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            root = versioning.lock(s, self.model, self.label, id_)
            self.authorize(s, actor, root, "delete")
            versioning.expect(self.label, root, if_match)
            versioning.expect_alive(self.label, root)
            state = self._read(s, [id_])[id_]
            version = versioning.bump(s, self.model, root, deleted_at=dt.datetime.now(dt.UTC))
            history.record(s, actor, self.kind,
                           [(id_, version, RevisionAction.DELETE, state, state)], provenance)
            return Record(id_, version, state, deleted=True)

    def restore(
        self, actor: Actor, id_: str, *, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Undo a delete."""
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            root = versioning.lock(s, self.model, self.label, id_)
            self.authorize(s, actor, root, "delete")
            if not root.deleted:
                raise Conflict(f"{self.label} {id_} is not deleted")
            state = self._read(s, [id_])[id_]
            self._check_restorable(s, state)
            version = versioning.bump(s, self.model, root, deleted_at=None)
            history.record(s, actor, self.kind,
                           [(id_, version, RevisionAction.RESTORE, state, state)], provenance)
            return Record(id_, version, self.redact(s, actor, [state])[0])

    def clone(
        self, actor: Actor, source_id: str, *, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Copy a readable aggregate into a new one owned by ``actor`` (copy-on-write)."""
        require_user(actor, f"clone {self.label}s")
        source = self.get(actor, source_id).state
        loaded = self.load(self._clone_data(source))
        with versioning.unit(self._sf, uow) as u:
            return self._insert(u.session, actor, [loaded], provenance, [source_id],
                                RevisionAction.CLONE)[0]
