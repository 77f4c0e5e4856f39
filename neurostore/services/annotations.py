"""The annotation service: typed notes on the analyses of a studyset."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from neurostore.db import new_id
from neurostore.models import Analysis, Annotation, AnnotationNote, StudysetStudy
from neurostore.schemas.studysets import AnnotationSchema, blank_note
from neurostore.services import history, versioning
from neurostore.services.actors import Actor
from neurostore.services.aggregates import AggregateService
from neurostore.services.errors import Invalid, NotFound
from neurostore.services.history import NO_PROVENANCE, Provenance
from neurostore.services.permissions import require_user
from neurostore.services.reads.collections import (
    ANNOTATION_FIELDS,
    annotation_states,
    without_hidden_notes,
)
from neurostore.services.reads.studies import visible_study_ids
from neurostore.services.studysets import StudysetService
from neurostore.services.uow import UnitOfWork
from neurostore.services.versioning import Record, Root
from neurostore.vocabulary import RevisionAction

FIELDS = ANNOTATION_FIELDS


class AnnotationService(AggregateService):
    """Create, read, edit, delete, restore, clone and revert annotations.

    Every analysis of every study in the studyset has one note holding each key of
    ``note_keys`` (its default, else ``null``, when not set). Notes are kept ordered by
    study then analysis id.
    """

    kind = "annotation"
    label = "annotation"
    model = Annotation
    schema = AnnotationSchema()
    many_schema = AnnotationSchema(many=True)

    def __init__(self, session_factory: Any, studysets: StudysetService, policy: Any = None):
        super().__init__(session_factory, policy or studysets.policy)
        self.studysets = studysets
        studysets.annotations = self

    def _read(self, session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
        return annotation_states(session, ids)

    def authorize(self, session: Session, actor: Actor, root: Root, action: str) -> None:
        """An annotation is seen only by those who may read it and its studyset."""
        studyset_id = session.execute(
            select(Annotation.studyset_id).where(Annotation.id == root.id)).scalar_one()
        try:
            self.studysets.authorize(session, actor, self.studysets.root(session, studyset_id),
                                     "read")
        except NotFound as exc:
            raise NotFound(f"annotation {root.id} not found") from exc
        super().authorize(session, actor, root, action)

    def redact(self, session: Session, actor: Actor,
               states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Notes of studies ``actor`` may not read are left out."""
        return without_hidden_notes(session, actor, states)

    def _notes(
        self, session: Session, actor: Actor, data: dict[str, Any],
        before: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """The complete, validated note list for ``data`` (defaults filled in).

        Notes in ``before`` of studies ``actor`` may not read (and so was not shown) keep
        their values.
        """
        root = self.studysets.root(session, data["studyset"])
        self.studysets.authorize(session, actor, root, "read")
        if root.deleted:
            raise NotFound(f"studyset {data['studyset']} not found")
        analyses = dict(
            session.execute(
                select(Analysis.id, Analysis.study_id)
                .join(StudysetStudy, StudysetStudy.study_id == Analysis.study_id)
                .where(StudysetStudy.studyset_id == data["studyset"])
            ).all()
        )
        blank = blank_note(data["note_keys"])
        given = {n["analysis"]: n["note"] for n in data["notes"] or []}
        if before:
            readable = visible_study_ids(session, actor, sorted({n["study"] for n in before}))
            given = {**{n["analysis"]: n["note"] for n in before
                        if n["study"] not in readable}, **given}
        foreign = sorted(set(given) - set(analyses))
        if foreign:
            raise Invalid({"notes": f"analyses not in the studyset: {', '.join(foreign)}"})
        notes = [
            {"analysis": a, "study": s, "note": given.get(a, dict(blank))}
            for a, s in analyses.items()
        ]
        notes.sort(key=lambda n: (n["study"], n["analysis"]))
        return notes

    def _state(self, id_: str, data: dict[str, Any], owner: str | None, parent: str | None,
               notes: list[dict[str, Any]]) -> dict[str, Any]:
        state = {k: data.get(k) for k in FIELDS}
        state.update(id=id_, studyset=data["studyset"], user=owner, parent=parent, notes=notes)
        return state

    def _insert(
        self, session: Session, actor: Actor, loaded: list[dict[str, Any]],
        provenance: Provenance, parents: list[str | None], action: str,
    ) -> list[Record]:
        states = [
            self._state(new_id(), data, actor.id, parent, self._notes(session, actor, data))
            for data, parent in zip(loaded, parents, strict=True)
        ]
        session.execute(insert(Annotation.__table__), [
            {**{k: st[k] for k in FIELDS}, "id": st["id"], "studyset_id": st["studyset"],
             "owner_id": actor.id, "parent_id": st["parent"]} for st in states
        ])
        self._write_notes(session, states)
        history.record(session, actor, self.kind,
                       [(st["id"], 1, action, st, None) for st in states], provenance)
        return [Record(st["id"], 1, st) for st in states]

    @staticmethod
    def _write_notes(session: Session, states: list[dict[str, Any]]) -> None:
        rows = [
            {"annotation_id": st["id"], "analysis_id": n["analysis"], "study_id": n["study"],
             "note": n["note"]}
            for st in states for n in st["notes"]
        ]
        if rows:
            session.execute(insert(AnnotationNote.__table__), rows)

    def replace(self, actor: Actor, id_: str, data: dict[str, Any], **kwargs: Any) -> Record:
        """Replace the whole state with ``data``; the studyset, which cannot change, may be
        left out."""
        if isinstance(data, dict) and "studyset" not in data:
            return self.modify(actor, id_, lambda before: {**data,
                                                           "studyset": before["studyset"]},
                               replace=True, **kwargs)
        return super().replace(actor, id_, data, **kwargs)

    def _write(
        self, session: Session, actor: Actor, root: Root, loaded: dict[str, Any],
        before: dict[str, Any], *, reuse_free_ids: bool,
    ) -> tuple[dict[str, Any], Any]:
        if loaded["studyset"] != before["studyset"]:
            raise Invalid({"studyset": "an annotation cannot move to another studyset"})
        after = self._state(root.id, loaded, root.owner_id, before["parent"],
                            self._notes(session, actor, loaded, before["notes"]))

        def write() -> None:
            session.execute(
                update(Annotation.__table__).where(Annotation.__table__.c.id == root.id)
                .values({k: after[k] for k in FIELDS})
            )
            session.execute(delete(AnnotationNote).where(AnnotationNote.annotation_id == root.id))
            self._write_notes(session, [after])

        return after, write

    def _merge_patch(self, current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        merged = {**current, **patch}
        keys = patch.get("note_keys")
        if isinstance(keys, dict) and "notes" not in patch:
            # Columns taken out take their values with them (new ones get their defaults).
            merged["notes"] = [{**n, "note": {k: v for k, v in n["note"].items() if k in keys}}
                               for n in current["notes"]]
        if isinstance(patch.get("notes"), list) and "note_keys" not in patch:
            by_analysis = {n["analysis"]: n for n in current["notes"]}
            unmatched = []
            for item in patch["notes"]:
                key = item.get("analysis") if isinstance(item, dict) else None
                if isinstance(key, str) and key in by_analysis:
                    old = by_analysis[key]
                    by_analysis[key] = {**old, "note": {**old["note"], **(item.get("note") or {})}}
                else:
                    # Left for validation to name: a malformed item, or an analysis
                    # outside the studyset, is refused rather than dropped.
                    unmatched.append(item)
            merged["notes"] = [*by_analysis.values(), *unmatched]
        return merged

    def merge_notes(
        self, actor: Actor, changes: dict[str, list[dict[str, Any]]], *,
        provenance: Provenance = NO_PROVENANCE,
    ) -> dict[str, Record]:
        """Merge notes (``{annotation id: [{analysis, note}]}``) into several annotations in
        one transaction: all are written, or none."""
        with versioning.unit(self._sf, None) as u:
            return {id_: self.update(actor, id_, {"notes": notes}, uow=u,
                                     provenance=provenance)
                    for id_, notes in changes.items()}

    def _clone_data(self, state: dict[str, Any]) -> dict[str, Any]:
        return dict(state)

    def clone(
        self, actor: Actor, source_id: str, *, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE, studyset_id: str | None = None,
    ) -> Record:
        """Copy an annotation, onto another studyset holding the same analyses if given."""
        require_user(actor, "clone annotations")
        source = self.get(actor, source_id).state
        data = self._clone_data(source)
        if studyset_id is not None:
            data["studyset"] = studyset_id
        loaded = self.load(data)
        with versioning.unit(self._sf, uow) as u:
            return self._insert(u.session, actor, [loaded], provenance, [source_id],
                                RevisionAction.CLONE)[0]
