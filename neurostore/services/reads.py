"""The read side the API uses: lists, searches and views of children, with visibility.

Every method opens its own short session and only reads. Writes stay in the aggregate
services; views of children (an analysis, a point) are cut out of their study's state so
they can never disagree with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import sessionmaker

from neurostore.json_codec import RawJSON
from neurostore.services import queries, study_queries
from neurostore.services.actors import Actor
from neurostore.services.aggregates import AggregateService
from neurostore.services.errors import NotFound
from neurostore.services.listing import ListQuery, Page
from neurostore.services.permissions import Subject
from neurostore.services.studies import StudyService
from neurostore.services.study_documents import DocumentCache, TreeText, read_tree_texts
from neurostore.services.study_queries import StudyFilters
from neurostore.services.study_trees import read_trees
from neurostore.services.uow import UnitOfWork

CHILD_LABELS = {"analyses": "analysis", "tables": "table", "points": "point", "images": "image"}


def find_child(state: dict[str, Any], kind: str, child_id: str) -> dict[str, Any] | None:
    """The child ``child_id`` of a study state with its place (``order``), or None."""
    if kind in ("tables", "analyses"):
        return next(({**c, "order": n} for n, c in enumerate(state[kind])
                     if c["id"] == child_id), None)
    for analysis in state["analyses"]:
        for n, child in enumerate(analysis[kind]):
            if child["id"] == child_id:
                return {**child, "analysis": analysis["id"], "order": n}
    return None


def flat_study(state: dict[str, Any]) -> dict[str, Any]:
    """A study state (or document) with its tables and analyses as ids (the default,
    non-nested view)."""
    return {**state, "tables": [t if isinstance(t, str) else t["id"] for t in state["tables"]],
            "analyses": [a["id"] for a in state["analyses"]]}


class ReadService:
    """Lists, searches and child views over one session factory."""

    def __init__(self, session_factory: sessionmaker, studies: StudyService,
                 documents: DocumentCache | None = None) -> None:
        self._sf = session_factory
        self._studies = studies
        self._documents = documents

    def studies(
        self, actor: Actor, filters: StudyFilters, query: ListQuery, *, nested: bool = False
    ) -> Page:
        """A page of studies: flat summaries, or whole trees with ``nested``."""
        with UnitOfWork(self._sf) as uow:
            page = study_queries.list_studies(uow.session, actor, filters, query)
            ids = [r.id for r in page.rows]
            page.extra["ids"] = ids
            if nested:
                trees = read_tree_texts(uow.session, ids, self._documents)
                uow.commit()
                # A study deleted between the page and this read stays an id (as in a
                # nested studyset) rather than failing the request.
                page.rows = [trees[i].body() if not trees[i].deleted else {"id": i}
                             for i in ids]
            else:
                summaries = study_queries.study_summaries(uow.session, ids)
                page.rows = [summaries[i] for i in ids]
            return page

    def study_tree(self, actor: Actor, id_: str) -> TreeText:
        """One study ``actor`` may read, with its tree as JSON text."""
        with UnitOfWork(self._sf) as uow:
            tree = read_tree_texts(uow.session, [id_], self._documents).get(id_)
            uow.commit()
        if tree is None:
            raise NotFound(f"study {id_} not found")
        self._studies.policy.check("read", actor, tree.root.subject("study"))
        if tree.root.deleted:
            raise NotFound(f"study {id_} was deleted (its history is still readable)")
        return tree

    def meta(self, model: type, id_: str) -> dict[str, Any]:
        """Version and timestamps of one aggregate root."""
        with UnitOfWork(self._sf) as uow:
            return study_queries.root_meta(uow.session, model, [id_]).get(id_, {})

    def base_studies(
        self, actor: Actor, filters: StudyFilters, query: ListQuery, *, nested: bool = False
    ) -> Page:
        """A page of publications with the ids (or summaries) of their visible versions."""
        with UnitOfWork(self._sf) as uow:
            page = study_queries.list_base_studies(uow.session, actor, filters, query)
            ids = [r.id for r in page.rows]
            states = study_queries.base_study_states(uow.session, actor, ids)
            page.rows = [states[i] for i in ids]
            if nested:
                self._expand_versions(uow, page.rows)
            return page

    def base_study(self, actor: Actor, id_: str, *, nested: bool = False) -> dict[str, Any]:
        """One publication (a merged id answers with the survivor)."""
        with UnitOfWork(self._sf) as uow:
            states = study_queries.base_study_states(uow.session, actor, [id_])
            state = states.get(id_)
            if state is not None and state["merged_into"]:
                state = study_queries.base_study_states(
                    uow.session, actor, [state["merged_into"]]
                ).get(state["merged_into"])
            if state is None:
                raise NotFound(f"base study {id_} not found")
            if nested:
                self._expand_versions(uow, [state])
            return state

    @staticmethod
    def _expand_versions(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
        ids = [v for row in rows for v in row["versions"]]
        summaries = study_queries.study_summaries(uow.session, ids)
        for row in rows:
            row["versions"] = [summaries[v] for v in row["versions"]]

    def studysets(self, actor: Actor, query: ListQuery, **filters: Any) -> Page:
        """A page of studysets with their study ids (filters: see
        :func:`queries.list_studysets`)."""
        with UnitOfWork(self._sf) as uow:
            page = queries.list_studysets(uow.session, actor, query, **filters)
            states = queries.studyset_states(uow.session, actor, [r.id for r in page.rows])
            page.rows = [states[r.id] for r in page.rows]
            return page

    def nested_studies(self, actor: Actor, ids: list[str]) -> list[RawJSON | dict[str, Any]]:
        """Whole trees of the given studies in order; ones ``actor`` may not read (or
        deleted ones) are left out.

        The trees are the JSON text PostgreSQL built, passed through to the response
        unparsed: a studyset of a thousand studies is never turned into Python objects.
        """
        with UnitOfWork(self._sf) as uow:
            trees = read_tree_texts(uow.session, ids, self._documents)
            uow.commit()
        policy = self._studies.policy
        readable = {i: t.body() for i, t in trees.items() if not t.deleted and policy.may_read(
            actor, Subject("study", t.id, t.owner_id, bool(t.public)))}
        return [readable[i] for i in ids if i in readable]

    def annotations(
        self, actor: Actor, query: ListQuery, *, studyset: str | None = None,
        user_id: str | None = None,
    ) -> Page:
        """A page of annotations with their notes."""
        with UnitOfWork(self._sf) as uow:
            page = queries.list_annotations(uow.session, actor, query, studyset=studyset,
                                            user_id=user_id)
            states = queries.annotation_states(uow.session, actor, [r.id for r in page.rows])
            page.rows = [states[r.id] for r in page.rows]
            return page

    def studysets_of(self, actor: Actor, study_ids: list[str], owner: str | None = None
                     ) -> dict[str, list[dict[str, Any]]]:
        """The studysets ``actor`` may read that hold each study (``owner``'s only)."""
        with UnitOfWork(self._sf) as uow:
            return queries.studysets_of(uow.session, actor, study_ids, owner)

    def with_note_details(self, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Annotations whose notes also carry their analysis's name and their study's
        name, year, authors and journal, as NeuroStore's do (one query for all)."""
        ids = sorted({n["analysis"] for st in states for n in st["notes"]})
        with UnitOfWork(self._sf) as uow:
            details = queries.note_details(uow.session, ids)
        return [{**st, "notes": [{**n, **details.get(n["analysis"], {})} for n in st["notes"]]}
                for st in states]

    def nested_annotations(self, actor: Actor, states: list[dict[str, Any]]
                           ) -> list[dict[str, Any]]:
        """Annotations with their studyset, and each note's analysis and study, as objects.

        Analyses are summaries (name, description) and studies flat (analyses as ids);
        what ``actor`` may not read stays an id. One query of each kind for all of them.
        """
        notes = [n for state in states for n in state["notes"]]
        with UnitOfWork(self._sf) as uow:
            s = uow.session
            studysets = queries.studyset_states(s, actor,
                                                sorted({st["studyset"] for st in states}))
            readable = queries.visible_study_ids(
                s, actor, sorted({n["study"] for n in notes if n["study"]}))
            studies = study_queries.study_summaries(s, sorted(readable))
            analyses = queries.analysis_summaries(
                s, sorted({n["analysis"] for n in notes if n["study"] in readable}))
        out = []
        for state in states:
            studyset = studysets.get(state["studyset"])
            if studyset is not None and (studyset["public"] or actor.is_admin
                                         or studyset["user"] == actor.id):
                state = {**state, "studyset": studyset}
            out.append({**state, "notes": [
                {**n, "analysis": analyses.get(n["analysis"], n["analysis"]),
                 "study": studies.get(n["study"], n["study"])} for n in state["notes"]
            ]})
        return out

    def current_version(self, service: AggregateService, actor: Actor, id_: str) -> int | None:
        """The version of an aggregate ``actor`` may read; None when deleted."""
        with UnitOfWork(self._sf) as uow:
            root = service.root(uow.session, id_)
            service.authorize(uow.session, actor, root, "read")
        return None if root.deleted else root.version

    def study_of(self, kind: str, child_id: str) -> str:
        """The study holding a child; :class:`NotFound` for an unknown id."""
        with UnitOfWork(self._sf) as uow:
            study_id = queries.study_of_child(uow.session, kind, child_id)
        if study_id is None:
            raise NotFound(f"{CHILD_LABELS[kind]} {child_id} not found")
        return study_id

    def children(self, actor: Actor, kind: str, query: ListQuery, **filters: Any) -> Page:
        """A page of children of one kind, each cut out of its (visible) study."""
        with UnitOfWork(self._sf) as uow:
            page = queries.list_children(uow.session, actor, kind, query, **filters)
            states = read_trees(uow.session, sorted({r.study_id for r in page.rows}))
        rows = []
        for row in page.rows:
            child = find_child(states[row.study_id], kind, row.id)
            rows.append({**child, "study": row.study_id})
        page.rows = rows
        return page

    def users(self, query: ListQuery) -> Page:
        """A page of users' public profiles."""
        with UnitOfWork(self._sf) as uow:
            page = queries.list_users(uow.session, query)
        page.rows = [{"id": r.id, "name": r.name, "role": r.role} for r in page.rows]
        return page

    def conditions(self, query: ListQuery, *, name: str | None = None) -> Page:
        """A page of conditions."""
        with UnitOfWork(self._sf) as uow:
            page = queries.list_conditions(uow.session, query, name=name)
        page.rows = [{"id": r.id, "name": r.name, "description": r.description}
                     for r in page.rows]
        return page
