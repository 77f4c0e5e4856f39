"""The read side the API uses: lists, searches and views of children, with visibility.

Every method opens its own short session. Writes stay in the aggregate services; views of
children (an analysis, a point) are cut out of their study's state so they can never
disagree with it. The one thing a read may write is the cache of study documents (see
:mod:`neurostore.services.reads.documents`): :meth:`ReadService._documents` commits the
documents it had to build, so the next read of those studies is a lookup.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from neurostore.json_codec import RawJSON
from neurostore.services.actors import Actor
from neurostore.services.aggregates import AggregateService
from neurostore.services.errors import NotFound
from neurostore.services.permissions import Subject
from neurostore.services.reads.children import (
    CHILD_LABELS,
    analysis_summaries,
    find_child,
    list_children,
    study_of_child,
)
from neurostore.services.reads.collections import (
    annotation_states,
    list_annotations,
    list_studysets,
    note_details,
    studyset_states,
    studysets_of,
    without_hidden_notes,
    without_hidden_studies,
)
from neurostore.services.reads.documents import DocumentCache, TreeText, read_documents
from neurostore.services.reads.lookups import list_conditions, list_users, user_names
from neurostore.services.reads.members import (
    annotations_of,
    owned_studysets,
    studyset_members,
)
from neurostore.services.reads.pagination import ListQuery, Page
from neurostore.services.reads.roots import root_meta
from neurostore.services.reads.studies import (
    StudyFilters,
    base_study_states,
    list_base_studies,
    list_studies,
    study_summaries,
    version_counts,
    visible_study_ids,
)
from neurostore.services.studies import StudyService
from neurostore.services.trees.read import read_trees
from neurostore.services.uow import UnitOfWork


class ReadService:
    """Lists, searches and child views over one session factory."""

    def __init__(self, session_factory: sessionmaker, studies: StudyService,
                 documents: DocumentCache | None = None) -> None:
        self._sf = session_factory
        self._studies = studies
        self._documents = documents

    def database_answers(self) -> bool:
        """Whether the database answers a trivial query now (a health probe's question).

        Returns
        -------
        bool
            False when no connection can be had or the query fails.
        """
        try:
            with self._sf() as session:
                session.execute(text("SELECT 1"))
        except DBAPIError:
            return False
        return True

    def _trees(self, ids: list[str]) -> dict[str, TreeText]:
        """The documents of ``ids``; those it had to build are committed (kept) here."""
        with UnitOfWork(self._sf) as uow:
            trees = read_documents(uow.session, ids, self._documents)
            uow.commit()
        return trees

    def studies(
        self, actor: Actor, filters: StudyFilters, query: ListQuery, *, nested: bool = False
    ) -> Page:
        """A page of studies: flat summaries, or whole trees with ``nested``."""
        with UnitOfWork(self._sf) as uow:
            page = list_studies(uow.session, actor, filters, query)
            ids = [r.id for r in page.rows]
            page.extra["ids"] = ids
            if not nested:
                summaries = study_summaries(uow.session, ids)
                page.rows = [summaries[i] for i in ids]
                return page
        trees = self._trees(ids)
        # A study deleted between the page and this read stays an id (as in a nested
        # studyset) rather than failing the request.
        page.rows = [trees[i].body() if i in trees and not trees[i].deleted else {"id": i}
                     for i in ids]
        return page

    def study_tree(self, actor: Actor, id_: str) -> TreeText:
        """One study ``actor`` may read, with its tree as JSON text."""
        tree = self._trees([id_]).get(id_)
        if tree is None:
            raise NotFound(f"study {id_} not found")
        self._studies.policy.check("read", actor, tree.root.subject("study"))
        if tree.root.deleted:
            raise NotFound(f"study {id_} was deleted (its history is still readable)")
        return tree

    def meta(self, model: type, id_: str) -> dict[str, Any]:
        """Version and timestamps of one aggregate root."""
        with UnitOfWork(self._sf) as uow:
            return root_meta(uow.session, model, [id_]).get(id_, {})

    def base_studies(
        self, actor: Actor, filters: StudyFilters, query: ListQuery, *, nested: bool = False
    ) -> Page:
        """A page of publications with the ids (or summaries) of their visible versions."""
        with UnitOfWork(self._sf) as uow:
            page = list_base_studies(uow.session, actor, filters, query)
            ids = [r.id for r in page.rows]
            states = base_study_states(uow.session, actor, ids)
            page.rows = [states[i] for i in ids]
            if nested:
                self._expand_versions(uow, page.rows)
            return page

    def base_study(self, actor: Actor, id_: str, *, nested: bool = False) -> dict[str, Any]:
        """One publication (a merged id answers with the survivor)."""
        with UnitOfWork(self._sf) as uow:
            state = base_study_states(uow.session, actor, [id_]).get(id_)
            if state is not None and state["merged_into"]:
                survivor = state["merged_into"]
                state = base_study_states(uow.session, actor, [survivor]).get(survivor)
            if state is None:
                raise NotFound(f"base study {id_} not found")
            if nested:
                self._expand_versions(uow, [state])
            return state

    def version_counts(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Source, peak count and image count of study versions (ids a read returned)."""
        with UnitOfWork(self._sf) as uow:
            return version_counts(uow.session, ids)

    @staticmethod
    def _expand_versions(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
        ids = [v for row in rows for v in row["versions"]]
        summaries = study_summaries(uow.session, ids)
        for row in rows:
            row["versions"] = [summaries[v] for v in row["versions"]]

    def studysets(self, actor: Actor, query: ListQuery, **filters: Any) -> Page:
        """A page of studysets with their study ids (filters: see
        :func:`neurostore.services.reads.collections.list_studysets`)."""
        with UnitOfWork(self._sf) as uow:
            page = list_studysets(uow.session, actor, query, **filters)
            states = self._studyset_states(uow, actor, [r.id for r in page.rows])
            page.rows = [states[r.id] for r in page.rows]
            return page

    def studyset_members(self, actor: Actor, studyset_id: str) -> list[dict[str, Any]]:
        """The studies of a studyset ``actor`` may read, with their analysis and peak counts
        (see :func:`neurostore.services.reads.members.studyset_members`)."""
        with UnitOfWork(self._sf) as uow:
            return studyset_members(uow.session, actor, studyset_id)

    def annotations_of(self, actor: Actor, studyset_id: str) -> list[dict[str, Any]]:
        """The annotations of a studyset ``actor`` may read (id, name, version)."""
        with UnitOfWork(self._sf) as uow:
            return annotations_of(uow.session, actor, studyset_id)

    def owned_studysets(self, actor: Actor) -> list[dict[str, Any]]:
        """The studysets ``actor`` owns (id, name), last changed first."""
        with UnitOfWork(self._sf) as uow:
            return owned_studysets(uow.session, actor)

    @staticmethod
    def _studyset_states(uow: UnitOfWork, actor: Actor, ids: list[str]
                         ) -> dict[str, dict[str, Any]]:
        states = studyset_states(uow.session, ids, meta=True)
        return {st["id"]: st for st in without_hidden_studies(uow.session, actor,
                                                              list(states.values()))}

    def nested_studies(self, actor: Actor, ids: list[str]) -> list[RawJSON | dict[str, Any]]:
        """Whole trees of the given studies in order; ones ``actor`` may not read (or
        deleted ones) are left out.

        The trees are the JSON text PostgreSQL built, passed through to the response
        unparsed: a studyset of a thousand studies is never turned into Python objects.
        """
        trees = self._trees(ids)
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
            page = list_annotations(uow.session, actor, query, studyset=studyset,
                                    user_id=user_id)
            states = annotation_states(uow.session, [r.id for r in page.rows], meta=True)
            shown = {st["id"]: st for st in without_hidden_notes(uow.session, actor,
                                                                 list(states.values()))}
            page.rows = [shown[r.id] for r in page.rows]
            return page

    def studysets_of(self, actor: Actor, study_ids: list[str], owner: str | None = None
                     ) -> dict[str, list[dict[str, Any]]]:
        """The studysets ``actor`` may read that hold each study (``owner``'s only)."""
        with UnitOfWork(self._sf) as uow:
            return studysets_of(uow.session, actor, study_ids, owner)

    def with_note_details(self, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Annotations whose notes also carry their analysis's name and their study's
        name, year, authors and journal, as NeuroStore's do (one query for all)."""
        ids = sorted({n["analysis"] for st in states for n in st["notes"]})
        with UnitOfWork(self._sf) as uow:
            details = note_details(uow.session, ids)
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
            studysets = self._studyset_states(uow, actor,
                                              sorted({st["studyset"] for st in states}))
            readable = visible_study_ids(
                s, actor, sorted({n["study"] for n in notes if n["study"]}))
            studies = study_summaries(s, sorted(readable))
            analyses = analysis_summaries(
                s, sorted({n["analysis"] for n in notes if n["study"] in readable}))
        policy = self._studies.policy
        out = []
        for state in states:
            studyset = studysets.get(state["studyset"])
            if studyset is not None and policy.may_read(actor, Subject(
                    "studyset", studyset["id"], studyset["user"], bool(studyset["public"]))):
                state = {**state, "studyset": studyset}
            out.append({**state, "notes": [
                {**n, "analysis": analyses.get(n["analysis"], n["analysis"]),
                 "study": studies.get(n["study"], n["study"])} for n in state["notes"]
            ]})
        return out

    def current_version(self, actor: Actor, service: AggregateService, id_: str) -> int | None:
        """The version of an aggregate ``actor`` may read; None when deleted."""
        with UnitOfWork(self._sf) as uow:
            root = service.root(uow.session, id_)
            service.authorize(uow.session, actor, root, "read")
        return None if root.deleted else root.version

    def study_of(self, kind: str, child_id: str) -> str:
        """The study holding a child; :class:`NotFound` for an unknown id."""
        with UnitOfWork(self._sf) as uow:
            study_id = study_of_child(uow.session, kind, child_id)
        if study_id is None:
            raise NotFound(f"{CHILD_LABELS[kind]} {child_id} not found")
        return study_id

    def children(self, actor: Actor, kind: str, query: ListQuery, **filters: Any) -> Page:
        """A page of children of one kind, each cut out of its (visible) study."""
        with UnitOfWork(self._sf) as uow:
            page = list_children(uow.session, actor, kind, query, **filters)
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
            page = list_users(uow.session, query)
        page.rows = [{"id": r.id, "name": r.name, "role": r.role} for r in page.rows]
        return page

    def user_names(self, ids: list[str]) -> dict[str, str]:
        """The names of the given users (for showing who did what)."""
        wanted = sorted({i for i in ids if i})
        if not wanted:
            return {}
        with UnitOfWork(self._sf) as uow:
            return user_names(uow.session, wanted)

    def conditions(self, query: ListQuery, *, name: str | None = None) -> Page:
        """A page of conditions."""
        with UnitOfWork(self._sf) as uow:
            page = list_conditions(uow.session, query, name=name)
        page.rows = [{"id": r.id, "name": r.name, "description": r.description}
                     for r in page.rows]
        return page
