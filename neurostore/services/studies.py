"""The study aggregate service: the only writer of studies and their trees."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from neurostore.db import new_id
from neurostore.models import Study
from neurostore.schemas.studies import StudySchema
from neurostore.services import base_studies, history, versioning
from neurostore.services.actors import Actor
from neurostore.services.errors import Conflict, Invalid, NotFound
from neurostore.services.history import NO_PROVENANCE, Provenance
from neurostore.services.permissions import DEFAULT_POLICY, Policy, require_user
from neurostore.services.study_trees import (
    TreeWrite,
    assign_ids,
    read_trees,
    resolve_conditions,
    state_of,
    write_trees,
)
from neurostore.services.uow import UnitOfWork
from neurostore.services.versioning import Record

KIND = "study"
CLONE_SOURCE = "neurostore"


def _load(data: Any, *, many: bool = False) -> Any:
    if many and not isinstance(data, list):
        raise Invalid({"_schema": "expected a list of studies"})
    if not many and not isinstance(data, dict):
        raise Invalid({"_schema": "expected a study object"})
    try:
        return StudySchema(many=many).load(data)
    except ValidationError as exc:
        raise Invalid(exc.normalized_messages()) from exc


def _strip_ids(state: dict[str, Any]) -> dict[str, Any]:
    """A copy of a state with every child id removed (for clones)."""
    out = copy.deepcopy(state)
    table_ids = {t["id"]: t for t in out["tables"]}
    for t in out["tables"]:
        del t["id"]
    for a in out["analyses"]:
        del a["id"]
        a["table"] = table_ids[a["table"]] if a["table"] else None
        for p in a["points"]:
            del p["id"]
        for i in a["images"]:
            del i["id"]
    out["tables"] = []
    return out


class StudyService:
    """Create, read, edit, delete, restore, clone and revert study versions."""

    def __init__(self, session_factory: sessionmaker, policy: Policy = DEFAULT_POLICY) -> None:
        self._sf = session_factory
        self.policy = policy

    # reads -----------------------------------------------------------------------------
    def get(self, actor: Actor, study_id: str) -> Record:
        """Return a study's current state; private studies of others are not found."""
        with UnitOfWork(self._sf) as uow:
            root = self._root(uow, study_id)
            self.policy.check("read", actor, root.subject(KIND))
            if root.deleted:
                raise NotFound(f"study {study_id} was deleted (its history is still readable)")
            return Record(root.id, root.version, read_trees(uow.session, [study_id])[study_id])

    def revisions(self, actor: Actor, study_id: str) -> list[dict[str, Any]]:
        """List a study's revisions, oldest first."""
        with UnitOfWork(self._sf) as uow:
            self._readable_history(uow, actor, study_id)
            return [history.summary(r) for r in history.list_revisions(uow.session, KIND, study_id)]

    def revision(self, actor: Actor, study_id: str, version: int) -> dict[str, Any]:
        """Return revision ``version`` with its full state."""
        with UnitOfWork(self._sf) as uow:
            self._readable_history(uow, actor, study_id)
            rev = history.get_revision(uow.session, KIND, study_id, version)
            return {**history.summary(rev), "state": rev.state, "diff": rev.diff}

    def diff(self, actor: Actor, study_id: str, from_version: int, to_version: int) -> list:
        """Return the JSON patch from revision ``from_version`` to ``to_version``."""
        with UnitOfWork(self._sf) as uow:
            self._readable_history(uow, actor, study_id)
            a = history.get_revision(uow.session, KIND, study_id, from_version)
            b = history.get_revision(uow.session, KIND, study_id, to_version)
            return history.diff_states(a.state, b.state)

    # writes ----------------------------------------------------------------------------
    def create(
        self,
        actor: Actor,
        data: dict[str, Any],
        *,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Create a study (with its whole tree) owned by ``actor``."""
        return self.create_many(actor, [data], uow=uow, provenance=provenance)[0]

    def create_many(
        self,
        actor: Actor,
        items: list[dict[str, Any]],
        *,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> list[Record]:
        """Create many studies in one transaction, with one statement per table."""
        require_user(actor, "create studies")
        loaded = _load(items, many=True)
        with versioning.unit(self._sf, uow) as u:
            return self._insert(u, actor, loaded, provenance)

    def _insert(
        self,
        u: UnitOfWork,
        actor: Actor,
        loaded: list[dict[str, Any]],
        provenance: Provenance,
        parents: list[str | None] | None = None,
        action: str = "create",
    ) -> list[Record]:
        s = u.session
        for data in loaded:
            assign_ids(s, None, data)
        bases = base_studies.link(s, actor, loaded, provenance)
        writes = [
            TreeWrite(new_id(), data, base, actor.id, parents[n] if parents else None, True)
            for n, (data, base) in enumerate(zip(loaded, bases, strict=True))
        ]
        conditions = resolve_conditions(s, actor.id, writes)
        states = [state_of(w, conditions) for w in writes]
        write_trees(s, writes)
        history.record(
            s,
            actor,
            KIND,
            [(w.study_id, 1, action, st, None) for w, st in zip(writes, states, strict=True)],
            provenance,
        )
        return [Record(w.study_id, 1, st) for w, st in zip(writes, states, strict=True)]

    def replace(
        self,
        actor: Actor,
        study_id: str,
        data: dict[str, Any],
        *,
        if_match: int | None = None,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Replace a study's state with ``data`` (children matched by id)."""
        loaded = _load(data)
        with versioning.unit(self._sf, uow) as u:
            return self._replace(u, actor, study_id, loaded, if_match, provenance, "update")

    def update(
        self,
        actor: Actor,
        study_id: str,
        patch: dict[str, Any],
        *,
        if_match: int | None = None,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Partially update a study.

        Top-level fields present in ``patch`` replace the current ones. ``analyses``, when
        present, is the complete new list; an item carrying the id of a current analysis
        is merged over it, so unchanged points need not be sent again.
        """
        if not isinstance(patch, dict):
            raise Invalid({"_schema": "expected an object of fields to change"})
        with versioning.unit(self._sf, uow) as u:
            root = versioning.lock(u.session, Study, KIND, study_id)
            self.policy.check("update", actor, root.subject(KIND))
            current = read_trees(u.session, [study_id])[study_id]
            merged = {**current, **patch}
            if "analyses" in patch and isinstance(patch["analyses"], list):
                by_id = {a["id"]: a for a in current["analyses"]}
                merged["analyses"] = [
                    {**by_id[a["id"]], **a} if isinstance(a, dict) and a.get("id") in by_id else a
                    for a in patch["analyses"]
                ]
            loaded = _load(merged)
            return self._replace(u, actor, study_id, loaded, if_match, provenance, "update")

    def revert(
        self,
        actor: Actor,
        study_id: str,
        version: int,
        *,
        if_match: int | None = None,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Restore the state of revision ``version`` as a new revision."""
        with versioning.unit(self._sf, uow) as u:
            rev = history.get_revision(u.session, KIND, study_id, version)
            loaded = _load(rev.state)
            loaded["base_study"] = rev.state.get("base_study")
            return self._replace(
                u, actor, study_id, loaded, if_match, provenance, "revert", reuse_free_ids=True
            )

    def _replace(
        self,
        u: UnitOfWork,
        actor: Actor,
        study_id: str,
        loaded: dict[str, Any],
        if_match: int | None,
        provenance: Provenance,
        action: str,
        *,
        reuse_free_ids: bool = False,
    ) -> Record:
        s = u.session
        root = versioning.lock(s, Study, KIND, study_id)
        self.policy.check("update", actor, root.subject(KIND))
        versioning.expect(KIND, root, if_match)
        versioning.expect_alive(KIND, root)
        before = read_trees(s, [study_id])[study_id]
        assign_ids(s, study_id, loaded, reuse_free_ids=reuse_free_ids)
        if loaded.get("base_study"):
            base = base_studies.link(s, actor, [loaded], provenance)[0]
        else:
            base = before["base_study"]
        write = TreeWrite(study_id, loaded, base, root.owner_id, before["parent"], False)
        conditions = resolve_conditions(s, actor.id, [write])
        after = state_of(write, conditions)
        if after == before and action == "update":
            return Record(study_id, root.version, before)
        version = versioning.bump(s, Study, root)
        write_trees(s, [write])
        history.record(s, actor, KIND, [(study_id, version, action, after, before)], provenance)
        return Record(study_id, version, after)

    def delete(
        self,
        actor: Actor,
        study_id: str,
        *,
        if_match: int | None = None,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Tombstone a study; :meth:`restore` brings it back."""
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            root = versioning.lock(s, Study, KIND, study_id)
            self.policy.check("delete", actor, root.subject(KIND))
            versioning.expect(KIND, root, if_match)
            versioning.expect_alive(KIND, root)
            state = read_trees(s, [study_id])[study_id]
            version = versioning.bump(s, Study, root, deleted_at=dt.datetime.now(dt.UTC))
            history.record(
                s, actor, KIND, [(study_id, version, "delete", state, state)], provenance
            )
            return Record(study_id, version, state, deleted=True)

    def restore(
        self,
        actor: Actor,
        study_id: str,
        *,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Undo a delete."""
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            root = versioning.lock(s, Study, KIND, study_id)
            self.policy.check("delete", actor, root.subject(KIND))
            if not root.deleted:
                raise Conflict(f"study {study_id} is not deleted")
            state = read_trees(s, [study_id])[study_id]
            if state["source"] not in (None, CLONE_SOURCE) and state["source_id"]:
                clash = s.execute(
                    select(Study.id).where(
                        Study.source == state["source"],
                        Study.source_id == state["source_id"],
                        Study.deleted_at.is_(None),
                    )
                ).scalar()
                if clash:
                    raise Conflict(
                        f"study {clash} now holds {state['source']} {state['source_id']}"
                    )
            version = versioning.bump(s, Study, root, deleted_at=None)
            history.record(
                s, actor, KIND, [(study_id, version, "restore", state, state)], provenance
            )
            return Record(study_id, version, state)

    def clone(
        self,
        actor: Actor,
        source_study_id: str,
        *,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Copy a readable study into a new version owned by ``actor`` (copy-on-write)."""
        require_user(actor, "clone studies")
        with versioning.unit(self._sf, uow) as u:
            source = self.get(actor, source_study_id).state
            data = _strip_ids(source)
            data.update(source=CLONE_SOURCE, source_id=source_study_id, source_updated_at=None)
            loaded = _load(data)
            loaded["base_study"] = source["base_study"]
            return self._insert(u, actor, [loaded], provenance, [source_study_id], "clone")[0]

    # helpers ---------------------------------------------------------------------------
    @staticmethod
    def _root(uow: UnitOfWork, study_id: str) -> versioning.Root:
        row = uow.session.execute(
            select(Study.id, Study.version, Study.owner_id, Study.public, Study.deleted_at).where(
                Study.id == study_id
            )
        ).first()
        if row is None:
            raise NotFound(f"study {study_id} not found")
        return versioning.Root(
            row.id, row.version, row.owner_id, row.public, row.deleted_at is not None
        )

    def _readable_history(self, uow: UnitOfWork, actor: Actor, study_id: str) -> None:
        root = self._root(uow, study_id)
        self.policy.check("read", actor, root.subject(KIND))
