"""Conditions: shared, named experimental conditions that analyses weight.

A condition row has no version column; its version is that of its latest revision (1 for a
condition created inline with a study, which has none). Every edit is recorded as a
revision under ``condition``, so it is attributed and kept in history; the studies whose
analyses weight an edited condition show its new name, so each gets a new version and a
revision too. A condition still weighted by an analysis cannot be deleted.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from neurostore.db import new_id
from neurostore.models import Analysis, AnalysisCondition, Condition, Revision, Study
from neurostore.schemas.studies import ConditionSchema
from neurostore.services import history, versioning
from neurostore.services.actors import Actor
from neurostore.services.errors import Conflict, Invalid, NotFound
from neurostore.services.history import NO_PROVENANCE, Provenance
from neurostore.services.permissions import Policy, Subject, require_user
from neurostore.services.trees.read import read_trees
from neurostore.services.uow import UnitOfWork
from neurostore.services.versioning import Record
from neurostore.vocabulary import RevisionAction

KIND = "condition"
FIELDS = ("name", "description")
# Conditions are public; their owner, curators and administrators edit and delete them.
POLICY = Policy(can_delete=Policy().can_update)


def current_versions(session: Session, ids: list[str]) -> dict[str, int]:
    """The version of each condition: its latest revision's, or 1 without revisions."""
    found = dict(session.execute(
        select(Revision.aggregate_id, func.max(Revision.version))
        .where(Revision.aggregate_type == KIND, Revision.aggregate_id.in_(ids))
        .group_by(Revision.aggregate_id)
    ).all())
    return {i: found.get(i, 1) for i in ids}


def _load(data: Any, *, partial: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid({"_schema": ["expected a condition object"]})
    try:
        loaded = ConditionSchema(partial=partial).load(data)
    except ValidationError as exc:
        raise Invalid(exc.normalized_messages()) from exc
    return {k: loaded[k] for k in FIELDS if k in loaded}


class ConditionService:
    """Create, edit and delete conditions."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._sf = session_factory

    def create(
        self, actor: Actor, data: Any, *, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Create a condition owned by ``actor``."""
        require_user(actor, "create conditions")
        state = {"id": new_id(), **dict.fromkeys(FIELDS), **_load(data, partial=False),
                 "user": actor.id}
        with versioning.unit(self._sf, uow) as u:
            u.session.add(Condition(id=state["id"], name=state["name"],
                                    description=state["description"], owner_id=actor.id))
            history.record(u.session, actor, KIND,
                           [(state["id"], 1, RevisionAction.CREATE, state, None)], provenance)
        return Record(state["id"], 1, state)

    def get(self, actor: Actor, condition_id: str) -> Record:
        """One condition with its version."""
        with UnitOfWork(self._sf) as uow:
            row = uow.session.get(Condition, condition_id)
            if row is None:
                raise NotFound(f"condition {condition_id} not found")
            version = current_versions(uow.session, [condition_id])[condition_id]
            return Record(row.id, version, _state(row))

    def update(
        self, actor: Actor, condition_id: str, data: Any, *, replace: bool = False,
        if_match: int | None = None, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Change the fields in ``data`` (all of them, omitted ones null, with ``replace``)."""
        loaded = _load(data, partial=not replace)
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            row, version = self._lock(s, actor, condition_id, "update", if_match)
            before = _state(row)
            after = {**before, **loaded}
            if after == before:
                return Record(condition_id, version, before)
            studies = _lock_studies(s, condition_id)
            states_before = read_trees(s, studies)
            s.execute(update(Condition).where(Condition.id == condition_id)
                      .values({k: after[k] for k in FIELDS}))
            history.record(s, actor, KIND,
                           [(condition_id, version + 1, RevisionAction.UPDATE, after, before)],
                           provenance)
            _bump_studies(s, actor, studies, states_before, provenance)
            s.expire(row)
        return Record(condition_id, version + 1, after)

    def delete(
        self, actor: Actor, condition_id: str, *, if_match: int | None = None,
        uow: UnitOfWork | None = None, provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Delete an unused condition (its history stays); :class:`Conflict` if used."""
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            row, version = self._lock(s, actor, condition_id, "delete", if_match)
            used = s.execute(select(exists().where(
                AnalysisCondition.condition_id == condition_id))).scalar()
            if used:
                raise Conflict(f"condition {condition_id} is weighted by analyses; remove it"
                               " from them first")
            state = _state(row)
            try:
                with s.begin_nested():
                    s.execute(delete(Condition).where(Condition.id == condition_id))
            except IntegrityError as exc:
                raise Conflict(f"condition {condition_id} was just used by an analysis") \
                    from exc
            history.record(s, actor, KIND,
                           [(condition_id, version + 1, RevisionAction.DELETE, state, state)],
                           provenance)
        return Record(condition_id, version + 1, state, deleted=True)

    @staticmethod
    def _lock(session: Session, actor: Actor, condition_id: str, action: str,
              if_match: int | None) -> tuple[Condition, int]:
        row = session.execute(
            select(Condition).where(Condition.id == condition_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"condition {condition_id} not found")
        POLICY.check(action, actor, Subject(KIND, row.id, row.owner_id, True))
        version = current_versions(session, [condition_id])[condition_id]
        versioning.expect(KIND, versioning.Root(row.id, version, row.owner_id, True, False),
                          if_match)
        return row, version


def _lock_studies(session: Session, condition_id: str) -> list[str]:
    """Lock the studies whose analyses weight the condition (they show its name)."""
    return list(session.execute(
        select(Study.id).where(Study.id.in_(
            select(Analysis.study_id).join(AnalysisCondition,
                                           AnalysisCondition.analysis_id == Analysis.id)
            .where(AnalysisCondition.condition_id == condition_id)
        ), Study.deleted_at.is_(None)).order_by(Study.id).with_for_update()
    ).scalars())


def _bump_studies(session: Session, actor: Actor, ids: list[str],
                  before: dict[str, dict[str, Any]], provenance: Provenance) -> None:
    """Give each study showing an edited condition a new version and revision, so its ETag
    and history tell the change."""
    if not ids:
        return
    after = read_trees(session, ids)
    versions = dict(session.execute(
        update(Study).where(Study.id.in_(ids))
        .values(version=Study.version + 1, updated_at=func.now())
        .returning(Study.id, Study.version)
    ).all())
    history.record(session, actor, "study",
                   [(i, versions[i], RevisionAction.UPDATE, after[i], before[i]) for i in ids],
                   provenance)


def _state(row: Condition) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description,
            "user": row.owner_id}
