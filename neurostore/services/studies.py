"""The study aggregate service: the only writer of studies and their trees."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, true, tuple_
from sqlalchemy.orm import Session

from neurostore.db import new_id
from neurostore.models import Study
from neurostore.schemas.studies import StudySchema
from neurostore.services import base_studies, history
from neurostore.services.actors import Actor
from neurostore.services.aggregates import AggregateService
from neurostore.services.errors import Conflict, Invalid
from neurostore.services.history import Provenance
from neurostore.services.trees.ids import assign_ids
from neurostore.services.trees.read import read_trees
from neurostore.services.trees.state import TreeWrite, state_of
from neurostore.services.trees.write import resolve_conditions, write_trees
from neurostore.services.versioning import Record, Root

CLONE_SOURCE = "neurostore"


def has_refs(body: Any) -> bool:
    """Whether a study body names current tables, analyses, points or images by id."""
    if not isinstance(body, dict):
        return False
    analyses = body.get("analyses")
    lists = [body.get("tables"), analyses]
    lists += [a.get(k) for a in (analyses if isinstance(analyses, list) else [])
              if isinstance(a, dict) for k in ("points", "images")]
    return any(isinstance(x, list) and any(isinstance(i, str) for i in x) for x in lists)


def _expand(items: list[Any], current: dict[str, dict[str, Any]], path: str) -> list[Any]:
    errors = {f"{path}.{n}": [f"{item} is not a current {path[:-1]} id of this study"]
              for n, item in enumerate(items) if isinstance(item, str) and item not in current}
    if errors:
        raise Invalid(errors)
    return [current[item] if isinstance(item, str) else item for item in items]


def expand_refs(body: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Replace ids of current tables, analyses, points and images by their objects."""
    out = dict(body)
    analyses = {a["id"]: a for a in state["analyses"]}
    if isinstance(body.get("tables"), list):
        out["tables"] = _expand(body["tables"], {t["id"]: t for t in state["tables"]}, "tables")
    if isinstance(body.get("analyses"), list):
        out["analyses"] = _expand(body["analyses"], analyses, "analyses")
        points = {p["id"]: p for a in state["analyses"] for p in a["points"]}
        images = {i["id"]: i for a in state["analyses"] for i in a["images"]}
        out["analyses"] = [
            {**a, **{k: _expand(a[k], pool, k) for k, pool in (("points", points),
                                                                 ("images", images))
                     if isinstance(a.get(k), list)}} if isinstance(a, dict) else a
            for a in out["analyses"]
        ]
    return out


class StudyService(AggregateService):
    """Create, read, edit, delete, restore, clone and revert study versions.

    A partial update (:meth:`update`) replaces the top-level fields it names; ``analyses``,
    when present, is the complete new list, and an item carrying the id of a current
    analysis is merged over it, so unchanged points need not be sent again.
    """

    kind = "study"
    label = "study"
    model = Study
    schema = StudySchema()
    many_schema = StudySchema(many=True)

    def _read(self, session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
        return read_trees(session, ids)

    def _insert(
        self, session: Session, actor: Actor, loaded: list[dict[str, Any]],
        provenance: Provenance, parents: list[str | None], action: str,
    ) -> list[Record]:
        self._check_sources(session, loaded)
        for data in loaded:
            assign_ids(session, None, data)
        bases = base_studies.link(session, actor, loaded, provenance)
        writes = [
            TreeWrite(new_id(), data, base, actor.id, parent, True)
            for data, base, parent in zip(loaded, bases, parents, strict=True)
        ]
        conditions = resolve_conditions(session, actor.id, writes)
        states = [state_of(w, conditions) for w in writes]
        write_trees(session, writes)
        history.record(
            session, actor, self.kind,
            [(w.study_id, 1, action, st, None) for w, st in zip(writes, states, strict=True)],
            provenance,
        )
        return [Record(w.study_id, 1, st) for w, st in zip(writes, states, strict=True)]

    def _write(
        self, session: Session, actor: Actor, root: Root, loaded: dict[str, Any],
        before: dict[str, Any], *, reuse_free_ids: bool,
    ) -> tuple[dict[str, Any], Any]:
        if (loaded.get("source"), loaded.get("source_id")) != (before["source"],
                                                               before["source_id"]):
            self._check_sources(session, [loaded], exclude=root.id)
        assign_ids(session, root.id, loaded, reuse_free_ids=reuse_free_ids)
        if loaded.get("base_study"):
            base = base_studies.link(session, actor, [loaded], history.NO_PROVENANCE)[0]
        else:
            base = before["base_study"]
        write = TreeWrite(root.id, loaded, base, root.owner_id, before["parent"], False)
        conditions = resolve_conditions(session, actor.id, [write])
        after = state_of(write, conditions)
        # A change of the study's own fields (a title, a flag) leaves its peaks alone, and
        # one of an analysis leaves the others' alone.
        write.children_changed = (after["tables"] != before["tables"]
                                  or after["analyses"] != before["analyses"])
        old = before["analyses"]
        write.unchanged_analyses = frozenset(
            a["id"] for n, a in enumerate(after["analyses"]) if n < len(old) and old[n] == a)
        return after, lambda: write_trees(session, [write])

    @staticmethod
    def _check_sources(session: Session, loaded: list[dict[str, Any]],
                       exclude: str | None = None) -> None:
        """Raise :class:`Conflict` naming the active study that already holds a
        ``(source, source_id)`` of ``loaded`` (or that two of them share)."""
        keys = [(d["source"], d["source_id"]) for d in loaded
                if d.get("source") and d.get("source_id")]
        if not keys:
            return
        if len(set(keys)) < len(keys):
            twice = next(k for k in keys if keys.count(k) > 1)
            raise Conflict(f"{twice[0]} {twice[1]} is given to two studies",
                           field_errors={"source_id": [f"{twice[1]} is listed twice"]})
        clash = session.execute(
            select(Study.id, Study.source, Study.source_id).where(
                tuple_(Study.source, Study.source_id).in_(keys), Study.deleted_at.is_(None),
                Study.id != exclude if exclude else true())
            .limit(1)
        ).first()
        if clash is not None:
            raise Conflict(
                f"study {clash.id} already holds {clash.source} {clash.source_id}",
                field_errors={"source_id": [f"already used by study {clash.id}"]})

    def _merge_patch(self, current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        merged = {**current, **patch}
        if isinstance(patch.get("analyses"), list):
            bad = {f"analyses.{n}.id": ["must be a string id"]
                   for n, a in enumerate(patch["analyses"])
                   if isinstance(a, dict) and "id" in a and not isinstance(a["id"], str)}
            if bad:
                raise Invalid(bad)
            by_id = {a["id"]: a for a in current["analyses"]}
            merged["analyses"] = [
                {**by_id[a["id"]], **a} if isinstance(a, dict) and a.get("id") in by_id else a
                for a in patch["analyses"]
            ]
        return merged

    def _clone_data(self, state: dict[str, Any]) -> dict[str, Any]:
        data = dict(state)
        data.update(source=CLONE_SOURCE, source_id=state["id"], source_updated_at=None)
        return data

    def _check_restorable(self, session: Session, state: dict[str, Any]) -> None:
        if state["source"] in (None, CLONE_SOURCE) or not state["source_id"]:
            return
        clash = session.execute(
            select(Study.id).where(
                Study.source == state["source"], Study.source_id == state["source_id"],
                Study.deleted_at.is_(None),
            )
        ).scalar()
        if clash:
            raise Conflict(f"study {clash} now holds {state['source']} {state['source_id']}")

    def write_with_refs(
        self, actor: Actor, id_: str, body: Any, *, replace: bool = False,
        if_match: int | None = None, provenance: Provenance = history.NO_PROVENANCE,
    ) -> Record:
        """Replace (``replace``) or update a study from a body that may name current
        tables, analyses, points and images by id (as a GET's flat view shows them).

        A body with such ids is expanded against the current state under the row lock
        (:meth:`modify`), so it cannot be read stale and written over a concurrent edit;
        one without them is written directly.
        """
        if not has_refs(body):
            change = self.replace if replace else self.update
            return change(actor, id_, body, if_match=if_match, provenance=provenance)
        return self.modify(actor, id_, lambda current: expand_refs(body, current),
                           replace=replace, if_match=if_match, provenance=provenance)
