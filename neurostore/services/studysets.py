"""The studyset service: curated lists of study versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from neurostore.db import new_id
from neurostore.models import Annotation, Study, Studyset, StudysetStudy
from neurostore.schemas.studysets import StudysetSchema
from neurostore.services import history, screening, versioning
from neurostore.services.actors import Actor
from neurostore.services.aggregates import AggregateService
from neurostore.services.errors import Invalid
from neurostore.services.history import NO_PROVENANCE, Provenance
from neurostore.services.permissions import DEFAULT_POLICY, Policy, Subject
from neurostore.services.reads.collections import (
    STUDYSET_FIELDS,
    studyset_states,
    without_hidden_studies,
)
from neurostore.services.studies import StudyService
from neurostore.services.uow import UnitOfWork
from neurostore.services.versioning import Record, Root
from neurostore.vocabulary import RevisionAction

FIELDS = STUDYSET_FIELDS


class StudysetService(AggregateService):
    """Create, read, edit, delete, restore, clone and revert studysets.

    ``studies`` lists study ids in order; inline study objects (without ids) are created
    in the same transaction, owned by the caller.
    """

    kind = "studyset"
    label = "studyset"
    model = Studyset
    schema = StudysetSchema()
    many_schema = StudysetSchema(many=True)

    def __init__(
        self, session_factory: sessionmaker, studies: StudyService,
        policy: Policy = DEFAULT_POLICY,
    ) -> None:
        super().__init__(session_factory, policy)
        self.studies = studies
        self.annotations: Any = None

    def _read(self, session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
        return studyset_states(session, ids)

    def redact(self, session: Session, actor: Actor,
               states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Studies ``actor`` may not read (others' private ones, deleted ones) are left out."""
        return without_hidden_studies(session, actor, states)

    def _resolve_members(
        self, session: Session, actor: Actor, loaded: list[dict[str, Any]],
        provenance: Provenance, kept: frozenset[str] = frozenset(),
    ) -> list[list[str]]:
        """Create inline studies and check referenced ones; return each list of ids.

        Ids in ``kept`` (members the studyset already has) stay valid even when the actor
        may no longer read them.
        """
        inline = [ref["new"] for data in loaded for ref in data["studies"] if "new" in ref]
        created = iter(
            self.studies._insert(session, actor, inline, provenance, [None] * len(inline),
                                 RevisionAction.CREATE) if inline else []
        )
        members = [
            [ref["id"] if "id" in ref else next(created).id for ref in data["studies"]]
            for data in loaded
        ]
        wanted = {i for ids in members for i in ids}
        rows = {
            r.id: r for r in session.execute(
                select(Study.id, Study.owner_id, Study.public, Study.deleted_at)
                .where(Study.id.in_(wanted))
            )
        } if wanted else {}
        errors: dict[str, Any] = {}
        for n, ids in enumerate(members):
            seen: set[str] = set()
            for k, study_id in enumerate(ids):
                row = rows.get(study_id)
                visible = row is not None and row.deleted_at is None and (
                    self.studies.policy.may_read(
                        actor, Subject("study", row.id, row.owner_id, bool(row.public)))
                )
                if not visible and study_id not in kept:
                    errors[f"{n}.studies.{k}"] = f"study {study_id} not found"
                elif study_id in seen:
                    errors[f"{n}.studies.{k}"] = f"study {study_id} is listed twice"
                seen.add(study_id)
        if errors:
            if len(loaded) == 1:
                errors = {key.split(".", 1)[1]: msg for key, msg in errors.items()}
            raise Invalid(errors)
        return members

    def _state(self, id_: str, data: dict[str, Any], owner: str | None, parent: str | None,
               members: list[str]) -> dict[str, Any]:
        state = {k: data.get(k) for k in FIELDS}
        state.update(id=id_, user=owner, parent=parent, studies=list(members))
        return state

    def _insert(
        self, session: Session, actor: Actor, loaded: list[dict[str, Any]],
        provenance: Provenance, parents: list[str | None], action: str,
    ) -> list[Record]:
        members = self._resolve_members(session, actor, loaded, provenance)
        states = [
            self._state(new_id(), data, actor.id, parent, ids)
            for data, parent, ids in zip(loaded, parents, members, strict=True)
        ]
        session.execute(insert(Studyset.__table__), [
            {**{k: st[k] for k in FIELDS}, "id": st["id"], "owner_id": actor.id,
             "parent_id": st["parent"]} for st in states
        ])
        self._write_members(session, states)
        history.record(session, actor, self.kind,
                       [(st["id"], 1, action, st, None) for st in states], provenance)
        return [Record(st["id"], 1, st) for st in states]

    @staticmethod
    def _write_members(session: Session, states: list[dict[str, Any]]) -> None:
        rows = [
            {"studyset_id": st["id"], "study_id": study_id, "order": n}
            for st in states for n, study_id in enumerate(st["studies"])
        ]
        if rows:
            session.execute(insert(StudysetStudy.__table__), rows)

    def _write(
        self, session: Session, actor: Actor, root: Root, loaded: dict[str, Any],
        before: dict[str, Any], *, reuse_free_ids: bool,
    ) -> tuple[dict[str, Any], Any]:
        members = self._resolve_members(session, actor, [loaded], NO_PROVENANCE,
                                        frozenset(before["studies"]))[0]
        # Members the actor was not shown (another user's private study) stay listed.
        shown = set(self.redact(session, actor, [before])[0]["studies"])
        members += [i for i in before["studies"] if i not in shown and i not in members]
        after = self._state(root.id, loaded, root.owner_id, before["parent"], members)

        def write() -> None:
            session.execute(
                update(Studyset.__table__).where(Studyset.__table__.c.id == root.id)
                .values({k: after[k] for k in FIELDS})
            )
            session.execute(delete(StudysetStudy).where(StudysetStudy.studyset_id == root.id))
            self._write_members(session, [after])

        return after, write

    def _merge_patch(self, current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        return {**current, **patch}

    def add_studies(
        self, actor: Actor, id_: str, study_ids: list[str], *, if_match: int | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> tuple[Record, int]:
        """Append studies to a studyset; ones already in it are left where they are.

        Returns the studyset and how many studies were new (adding a member again is
        harmless: with nothing new, no revision is written).
        """
        if not study_ids:
            raise Invalid({"studies": "select at least one study"})
        added: list[str] = []

        def change(before: dict[str, Any]) -> dict[str, Any]:
            have = set(before["studies"])
            added.extend(dict.fromkeys(i for i in study_ids if i not in have))
            return {"studies": [*before["studies"], *added]}

        record = self.modify(actor, id_, change, if_match=if_match, provenance=provenance)
        return record, len(added)

    def remove_studies(
        self, actor: Actor, id_: str, study_ids: list[str], *, if_match: int | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Take studies out of a studyset (their screening decisions are kept)."""
        if not study_ids:
            raise Invalid({"studies": "select at least one study"})
        gone = set(study_ids)
        return self.modify(
            actor, id_, lambda before: {"studies": [i for i in before["studies"]
                                                    if i not in gone]},
            if_match=if_match, provenance=provenance)

    def screen(
        self, actor: Actor, id_: str, study_ids: list[str], status: str | None,
        reason: str | None = None, *, if_match: int | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Include or exclude studies of a studyset (``status`` ``None``: not screened).

        A reason is required to exclude (see :mod:`neurostore.services.screening`); the
        decisions are written to the studyset's metadata as a new revision.
        """
        decision = screening.decide(status, reason) if status is not None else None
        return self.modify(
            actor, id_,
            lambda before: {"metadata": screening.with_decisions(before, study_ids, decision)},
            if_match=if_match, provenance=provenance)

    def included_study_ids(self, actor: Actor, id_: str) -> list[str]:
        """The ids of a studyset's studies that screening did not exclude, in order (the
        studies a meta-analysis of it uses); those ``actor`` may not read are left out."""
        return screening.included_ids(self.get(actor, id_).state)

    def _clone_data(self, state: dict[str, Any]) -> dict[str, Any]:
        return dict(state)

    def clone(
        self, actor: Actor, source_id: str, *, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Record:
        """Copy a studyset and the annotations of it that ``actor`` can read."""
        with versioning.unit(self._sf, uow) as u:
            record = super().clone(actor, source_id, uow=u, provenance=provenance)
            if self.annotations is not None:
                for annotation_id in self._readable_annotations(u.session, actor, source_id,
                                                                self.annotations.policy):
                    self.annotations.clone(actor, annotation_id, uow=u, provenance=provenance,
                                           studyset_id=record.id)
            return record

    @staticmethod
    def _readable_annotations(session: Session, actor: Actor, studyset_id: str,
                              policy: Policy) -> list[str]:
        query = select(Annotation.id).where(
            Annotation.studyset_id == studyset_id, Annotation.deleted_at.is_(None),
            policy.readable(actor, Annotation.public, Annotation.owner_id))
        return list(session.execute(query.order_by(Annotation.created_at)).scalars())
