"""Publications: linking study versions to one BaseStudy per paper, edits and merges."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from neurostore.db import new_id
from neurostore.models import BaseStudy, Study
from neurostore.schemas.studies import BaseStudySchema
from neurostore.services import history, versioning
from neurostore.services.actors import Actor
from neurostore.services.errors import Conflict, Invalid, NotFound, PermissionDenied
from neurostore.services.history import NO_PROVENANCE, Provenance
from neurostore.services.permissions import require_user
from neurostore.services.reads.studies import publication_visible
from neurostore.services.trees.state import PUBLICATION_FIELDS
from neurostore.services.uow import UnitOfWork
from neurostore.vocabulary import RevisionAction

KIND = "base_study"
IDENTIFIERS = ("pmid", "doi", "pmcid")
FIELDS = PUBLICATION_FIELDS


def base_state(row: dict[str, Any]) -> dict[str, Any]:
    """Canonical JSON state of a base study row (``metadata`` under its public name)."""
    state = {k: row.get(k) for k in FIELDS}
    state["id"] = row["id"]
    state["merged_into"] = row.get("merged_into_id")
    return state


def _row_state(row: BaseStudy) -> dict[str, Any]:
    values = {k: getattr(row, k) for k in FIELDS if k != "metadata"}
    values.update(id=row.id, metadata=row.metadata_, merged_into_id=row.merged_into_id)
    return base_state(values)


def link(
    session: Session, actor: Actor, studies: list[dict[str, Any]], provenance: Provenance
) -> list[str]:
    """Return the base study id of each loaded study, creating publications as needed.

    A study naming ``base_study`` keeps it (merged ids resolve to the survivor); otherwise
    it joins the active publication sharing its PMID, DOI or PMCID (in that order), or a
    new one is created from its descriptive fields. Studies of one batch with the same
    identifier share one new publication.
    """
    wanted = {k: {_same(k, s[k]) for s in studies if s.get(k)} for k in IDENTIFIERS}
    found: dict[tuple[str, str], str] = {}
    if any(wanted.values()):
        clauses = [_column(k).in_(v) for k, v in wanted.items() if v]
        rows = session.execute(
            select(BaseStudy.id, BaseStudy.pmid, BaseStudy.doi, BaseStudy.pmcid).where(
                BaseStudy.deleted_at.is_(None), BaseStudy.merged_into_id.is_(None), or_(*clauses)
            )
        )
        for row in rows:
            for key in IDENTIFIERS:
                value = getattr(row, key)
                if value:
                    found[(key, _same(key, value))] = row.id
    explicit = _resolve_explicit(session, {s["base_study"] for s in studies if s.get("base_study")})
    result: list[str] = []
    created: list[dict[str, Any]] = []
    for study in studies:
        if study.get("base_study"):
            result.append(explicit[study["base_study"]])
            continue
        keys = [(k, _same(k, study[k])) for k in IDENTIFIERS if study.get(k)]
        base_id = next((found[key] for key in keys if key in found), None)
        if base_id is None:
            base_id = new_id()
            row = {k: study.get(k) for k in FIELDS}
            row["id"] = base_id
            created.append(row)
            for key in keys:
                found[key] = base_id
        result.append(base_id)
    if created:
        session.execute(
            insert(BaseStudy),
            [
                {
                    **{k: r[k] for k in FIELDS if k != "metadata"},
                    "id": r["id"],
                    "metadata_": r["metadata"],
                }
                for r in created
            ],
        )
        history.record(
            session,
            actor,
            KIND,
            [(r["id"], 1, RevisionAction.CREATE, base_state(r), None) for r in created],
            provenance,
        )
    return result


def _same(key: str, value: str) -> str:
    """An identifier as compared: DOIs without regard to case."""
    return value.lower() if key == "doi" else value


def _column(key: str) -> Any:
    """The column an identifier is compared on (``lower(doi)``, which the index covers)."""
    return func.lower(BaseStudy.doi) if key == "doi" else getattr(BaseStudy, key)


def _resolve_explicit(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = {
        r.id: r
        for r in session.execute(
            select(BaseStudy.id, BaseStudy.merged_into_id, BaseStudy.deleted_at).where(
                BaseStudy.id.in_(ids)
            )
        )
    }
    out: dict[str, str] = {}
    for id_ in ids:
        row = rows.get(id_)
        if row is None or row.deleted_at is not None:
            raise Invalid({"base_study": f"base study {id_} not found"})
        out[id_] = row.merged_into_id or row.id
    return out


class BaseStudyService:
    """Reads and edits of publications."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._sf = session_factory

    def get(self, actor: Actor, base_study_id: str) -> versioning.Record:
        """Return a publication; a merged id answers with the survivor."""
        with UnitOfWork(self._sf) as uow:
            row = uow.session.get(BaseStudy, base_study_id)
            if row is not None and row.merged_into_id:
                row = uow.session.get(BaseStudy, row.merged_into_id)
            if row is None or row.deleted_at is not None or not self._visible(
                    uow.session, actor, row.id):
                raise NotFound(f"base study {base_study_id} not found")
            return versioning.Record(row.id, row.version, _row_state(row))

    @staticmethod
    def _visible(session: Session, actor: Actor, base_study_id: str) -> bool:
        b = BaseStudy.__table__
        return session.execute(select(b.c.id).where(
            b.c.id == base_study_id, publication_visible(b, actor))).first() is not None

    def create(
        self, actor: Actor, data: Any, *, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> versioning.Record:
        """Create a publication; each identifier must be free among active ones."""
        require_user(actor, "create publications")
        if not isinstance(data, dict):
            raise Invalid({"_schema": ["expected a base study object"]})
        try:
            loaded = BaseStudySchema().load(data)
        except ValidationError as exc:
            raise Invalid(exc.normalized_messages()) from exc
        state = base_state({**{k: loaded[k] for k in FIELDS}, "id": new_id()})
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            self._check_unique(s, state["id"], state)
            values = {k: state[k] for k in FIELDS if k != "metadata"}
            try:
                with s.begin_nested():
                    s.execute(insert(BaseStudy).values(id=state["id"],
                                                       metadata_=state["metadata"], **values))
            except IntegrityError as exc:
                raise Conflict("an identifier was taken by a concurrent write; retry") from exc
            history.record(s, actor, KIND, [(state["id"], 1, RevisionAction.CREATE, state, None)],
                           provenance)
        return versioning.Record(state["id"], 1, state)

    def delete(
        self, actor: Actor, base_study_id: str, *, if_match: int | None = None,
        uow: UnitOfWork | None = None, provenance: Provenance = NO_PROVENANCE,
    ) -> versioning.Record:
        """Tombstone a publication without active study versions (curators only)."""
        self._require_curator(actor, "delete")
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            root = versioning.lock(s, BaseStudy, KIND, base_study_id)
            versioning.expect(KIND, root, if_match)
            versioning.expect_alive(KIND, root)
            row = s.get(BaseStudy, base_study_id)
            if row.merged_into_id:
                raise Conflict(f"base study {base_study_id} is merged into {row.merged_into_id}")
            linked = s.execute(
                select(func.count()).where(Study.base_study_id == base_study_id,
                                           Study.deleted_at.is_(None))
            ).scalar_one()
            if linked:
                raise Conflict(f"base study {base_study_id} still has {linked} study versions;"
                               " merge it into another publication instead")
            state = _row_state(row)
            version = versioning.bump(s, BaseStudy, root, deleted_at=dt.datetime.now(dt.UTC))
            history.record(s, actor, KIND,
                           [(root.id, version, RevisionAction.DELETE, state, state)], provenance)
            s.expire(row)
        return versioning.Record(root.id, version, state, deleted=True)

    def restore(
        self, actor: Actor, base_study_id: str, *, uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> versioning.Record:
        """Undo a delete, unless an active publication took one of its identifiers."""
        self._require_curator(actor, "restore")
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            root = versioning.lock(s, BaseStudy, KIND, base_study_id)
            if not root.deleted:
                raise Conflict(f"base study {base_study_id} is not deleted")
            row = s.get(BaseStudy, base_study_id)
            state = _row_state(row)
            self._check_unique(s, root.id, state)
            version = versioning.bump(s, BaseStudy, root, deleted_at=None)
            history.record(s, actor, KIND,
                           [(root.id, version, RevisionAction.RESTORE, state, state)], provenance)
            s.expire(row)
        return versioning.Record(root.id, version, state)

    def revisions(self, actor: Actor, base_study_id: str) -> list[dict[str, Any]]:
        """A publication's revisions, oldest first, if ``actor`` may see it."""
        with UnitOfWork(self._sf) as uow:
            if not self._visible(uow.session, actor, base_study_id):
                raise NotFound(f"base study {base_study_id} not found")
            revs = history.list_revisions(uow.session, KIND, base_study_id)
            return [history.summary(r) for r in revs]

    def revision(self, actor: Actor, base_study_id: str, version: int) -> dict[str, Any]:
        """One revision of a publication with its full state then."""
        with UnitOfWork(self._sf) as uow:
            if not self._visible(uow.session, actor, base_study_id):
                raise NotFound(f"base study {base_study_id} not found")
            rev = history.get_revision(uow.session, KIND, base_study_id, version)
            return {**history.summary(rev), "state": rev.state, "diff": rev.diff}

    @staticmethod
    def _require_curator(actor: Actor, action: str) -> None:
        require_user(actor, f"{action} publications")
        if not actor.is_curator:
            raise PermissionDenied(f"only curators may {action} publications")

    def update(
        self,
        actor: Actor,
        base_study_id: str,
        data: dict[str, Any],
        *,
        if_match: int | None = None,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> versioning.Record:
        """Edit a publication's fields (curators and admins only)."""
        require_user(actor, "edit publications")
        if not actor.is_curator:
            raise PermissionDenied("only curators may edit publications")
        try:
            loaded = BaseStudySchema(partial=True).load(data)
        except ValidationError as exc:
            raise Invalid(exc.normalized_messages()) from exc
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            root = versioning.lock(s, BaseStudy, KIND, base_study_id)
            versioning.expect(KIND, root, if_match)
            versioning.expect_alive(KIND, root)
            row = s.get(BaseStudy, base_study_id)
            before = _row_state(row)
            after = {**before, **{k: v for k, v in loaded.items() if k in FIELDS}}
            self._check_unique(s, base_study_id, after)
            values = {k: after[k] for k in FIELDS if k != "metadata"}
            values["metadata"] = after["metadata"]
            version = versioning.bump(s, BaseStudy, root, **values)
            history.record(
                s, actor, KIND, [(root.id, version, RevisionAction.UPDATE, after, before)],
                provenance,
            )
            s.expire(row)
        return versioning.Record(root.id, version, after)

    def merge(
        self,
        actor: Actor,
        survivor_id: str,
        duplicate_id: str,
        *,
        uow: UnitOfWork | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> versioning.Record:
        """Merge a duplicate publication into ``survivor_id``; its id then redirects."""
        if not actor.is_curator:
            raise PermissionDenied("only curators may merge publications")
        if survivor_id == duplicate_id:
            raise Invalid({"duplicate": "a publication cannot be merged into itself"})
        with versioning.unit(self._sf, uow) as u:
            s = u.session
            survivor = versioning.lock(s, BaseStudy, KIND, survivor_id)
            duplicate = versioning.lock(s, BaseStudy, KIND, duplicate_id)
            for root in (survivor, duplicate):
                versioning.expect_alive(KIND, root)
            dup_row = s.get(BaseStudy, duplicate_id)
            if dup_row.merged_into_id:
                raise Conflict(f"base study {duplicate_id} is already merged")
            before = _row_state(dup_row)
            version = versioning.bump(s, BaseStudy, duplicate, merged_into_id=survivor_id)
            s.execute(
                update(BaseStudy)
                .where(BaseStudy.merged_into_id == duplicate_id)
                .values(merged_into_id=survivor_id)
            )
            s.execute(
                update(Study)
                .where(Study.base_study_id == duplicate_id)
                .values(base_study_id=survivor_id)
            )
            after = {**before, "merged_into": survivor_id}
            history.record(
                s, actor, KIND, [(duplicate_id, version, RevisionAction.MERGE, after, before)],
                provenance,
            )
            self._adopt_identifiers(s, actor, survivor, dup_row, provenance)
        return self.get(actor, survivor_id)

    @staticmethod
    def _adopt_identifiers(
        session: Session, actor: Actor, survivor: versioning.Root, duplicate: BaseStudy,
        provenance: Provenance,
    ) -> None:
        """Give the survivor the identifiers it lacks, so later records find it by them."""
        row = session.get(BaseStudy, survivor.id)
        session.refresh(row)
        before = _row_state(row)
        missing = {k: getattr(duplicate, k) for k in IDENTIFIERS
                   if getattr(duplicate, k) and not getattr(row, k)}
        if not missing:
            return
        current = versioning.Root(row.id, row.version, None, True, False)
        version = versioning.bump(session, BaseStudy, current, **missing)
        history.record(session, actor, KIND,
                       [(row.id, version, RevisionAction.UPDATE, {**before, **missing}, before)],
                       provenance)

    @staticmethod
    def _check_unique(session: Session, base_study_id: str, state: dict[str, Any]) -> None:
        for key in IDENTIFIERS:
            value = state.get(key)
            if not value:
                continue
            clash = session.execute(
                select(BaseStudy.id).where(
                    _column(key) == _same(key, value),
                    BaseStudy.id != base_study_id,
                    BaseStudy.deleted_at.is_(None),
                    BaseStudy.merged_into_id.is_(None),
                )
            ).scalar()
            if clash:
                raise Conflict(
                    f"{key} {value} already belongs to base study {clash}",
                    field_errors={key: f"already used by base study {clash}"},
                )
