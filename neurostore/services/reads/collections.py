"""Read-side lists and states of the collections users build: studysets and annotations.

The states here are the ones the aggregate services keep in revisions; the read side adds
version and timestamps and leaves out the studies an actor may not read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from neurostore.models import Analysis, Annotation, AnnotationNote, Study, Studyset, StudysetStudy
from neurostore.schemas.studysets import blank_note
from neurostore.services.actors import Actor
from neurostore.services.reads.pagination import ListQuery, Page, paginate, timestamps_sort
from neurostore.services.reads.roots import meta_of, visible
from neurostore.services.reads.studies import visible_study_ids
from neurostore.services.trees.state import PUBLICATION_FIELDS

STUDYSET_FIELDS = (*PUBLICATION_FIELDS, "public")
ANNOTATION_FIELDS = ("name", "description", "metadata", "note_keys", "public")


def list_studysets(
    session: Session, actor: Actor, query: ListQuery, *, user_id: str | None = None,
    study: str | None = None, search: str | None = None, name: str | None = None,
    description: str | None = None, authors: str | None = None,
) -> Page:
    """A page of visible studysets, optionally of one owner, holding one study, or whose
    name, description or authors contain a text (``search``: name or description)."""
    t = Studyset.__table__
    stmt = select(t.c.id).where(visible(t, actor))
    for column, text in (("name", name), ("description", description), ("authors", authors)):
        if text:
            stmt = stmt.where(t.c[column].icontains(text, autoescape=True))
    if search:
        stmt = stmt.where(or_(t.c.name.icontains(search, autoescape=True),
                              t.c.description.icontains(search, autoescape=True)))
    if user_id:
        stmt = stmt.where(t.c.owner_id == user_id)
    if study:
        stmt = stmt.where(t.c.id.in_(
            select(StudysetStudy.studyset_id).where(StudysetStudy.study_id == study)
        ))
    return paginate(session, stmt, t.c.id, timestamps_sort(t), query)


def list_annotations(
    session: Session, actor: Actor, query: ListQuery, *, studyset: str | None = None,
    user_id: str | None = None,
) -> Page:
    """A page of visible annotations, optionally of one studyset or owner."""
    t, ss = Annotation.__table__, Studyset.__table__
    # An annotation follows its studyset: one of a private studyset is private too.
    stmt = select(t.c.id).where(visible(t, actor), t.c.studyset_id.in_(
        select(ss.c.id).where(visible(ss, actor))))
    if studyset:
        stmt = stmt.where(t.c.studyset_id == studyset)
    if user_id:
        stmt = stmt.where(t.c.owner_id == user_id)
    return paginate(session, stmt, t.c.id, timestamps_sort(t), query)


def studyset_states(session: Session, ids: list[str], *, meta: bool = False
                    ) -> dict[str, dict[str, Any]]:
    """Studysets by id with the ids of all their studies, in order (the state revisions
    keep); with ``meta``, also their version and timestamps."""
    t = Studyset.__table__
    out: dict[str, dict[str, Any]] = {}
    for row in session.execute(select(t).where(t.c.id.in_(ids))).mappings():
        state = {k: row[k] for k in STUDYSET_FIELDS}
        state.update(id=row["id"], user=row["owner_id"], parent=row["parent_id"], studies=[])
        if meta:
            state.update(meta_of(row))
        out[row["id"]] = state
    for set_id, study_id in session.execute(
        select(StudysetStudy.studyset_id, StudysetStudy.study_id)
        .where(StudysetStudy.studyset_id.in_(list(out)))
        .order_by(StudysetStudy.studyset_id, StudysetStudy.order)
    ):
        out[set_id]["studies"].append(study_id)
    return out


def without_hidden_studies(session: Session, actor: Actor, states: list[dict[str, Any]]
                           ) -> list[dict[str, Any]]:
    """Studyset states without the studies ``actor`` may not read (others' private ones,
    deleted ones)."""
    readable = visible_study_ids(session, actor,
                                 sorted({i for st in states for i in st["studies"]}))
    return [st if all(i in readable for i in st["studies"]) else
            {**st, "studies": [i for i in st["studies"] if i in readable]}
            for st in states]


def annotation_states(session: Session, ids: list[str], *, meta: bool = False
                      ) -> dict[str, dict[str, Any]]:
    """Annotations by id with all their notes (the state revisions keep); with ``meta``,
    also their version and timestamps."""
    t = Annotation.__table__
    out: dict[str, dict[str, Any]] = {}
    for row in session.execute(select(t).where(t.c.id.in_(ids))).mappings():
        state = {k: row[k] for k in ANNOTATION_FIELDS}
        state.update(id=row["id"], studyset=row["studyset_id"], user=row["owner_id"],
                     parent=row["parent_id"], notes=[])
        if meta:
            state.update(meta_of(row))
        out[row["id"]] = state
    for annotation_id, notes in annotation_notes(
            session, {i: st["note_keys"] for i, st in out.items()}).items():
        out[annotation_id]["notes"] = notes
    return out


def without_hidden_notes(session: Session, actor: Actor, states: list[dict[str, Any]]
                         ) -> list[dict[str, Any]]:
    """Annotation states without the notes of studies ``actor`` may not read."""
    readable = visible_study_ids(session, actor,
                                 sorted({n["study"] for st in states for n in st["notes"]}))
    return [st if all(n["study"] in readable for n in st["notes"]) else
            {**st, "notes": [n for n in st["notes"] if n["study"] in readable]}
            for st in states]


def annotation_notes(session: Session, note_keys: dict[str, dict[str, str]]
                     ) -> dict[str, list[dict[str, Any]]]:
    """The notes of annotations (``{id: note_keys}``), one per analysis of their studysets'
    studies now, ordered by study then analysis.

    Notes follow membership: an analysis added to the studyset (a study added, an analysis
    added to a study) has a blank note (each key's default, else ``null``) until one is
    written, and the
    stored notes of analyses no longer in it are not shown.
    """
    a, n = Annotation.__table__, AnnotationNote.__table__
    rows = session.execute(
        select(a.c.id, Analysis.id.label("analysis"), Analysis.study_id, n.c.note)
        .join(StudysetStudy, StudysetStudy.studyset_id == a.c.studyset_id)
        .join(Analysis, Analysis.study_id == StudysetStudy.study_id)
        .outerjoin(n, (n.c.annotation_id == a.c.id) & (n.c.analysis_id == Analysis.id))
        .where(a.c.id.in_(list(note_keys)))
        .order_by(a.c.id, Analysis.study_id, Analysis.id)
    )
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in note_keys}
    for row in rows:
        note = row.note if row.note is not None else blank_note(note_keys[row.id])
        out[row.id].append({"analysis": row.analysis, "study": row.study_id, "note": note})
    return out


def studysets_of(session: Session, actor: Actor, study_ids: list[str],
                 owner: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """The visible studysets (``id``, ``name``, ``description``) holding each study, as
    NeuroStore lists them with a study; only ``owner``'s when given."""
    t = Studyset.__table__
    stmt = (select(StudysetStudy.study_id, t.c.id, t.c.name, t.c.description)
            .join(t, t.c.id == StudysetStudy.studyset_id)
            .where(StudysetStudy.study_id.in_(study_ids), visible(t, actor))
            .order_by(StudysetStudy.study_id, t.c.created_at, t.c.id))
    if owner:
        stmt = stmt.where(t.c.owner_id == owner)
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in study_ids}
    for row in session.execute(stmt):
        out[row.study_id].append({"id": row.id, "name": row.name,
                                  "description": row.description})
    return out


def note_details(session: Session, analysis_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What NeuroStore shows with each note, by analysis: the analysis's name and its
    study's name, year, authors and journal."""
    s = Study.__table__
    rows = session.execute(
        select(Analysis.id, Analysis.name, s.c.name.label("study_name"), s.c.year,
               s.c.authors, s.c.publication)
        .join(s, s.c.id == Analysis.study_id).where(Analysis.id.in_(analysis_ids)))
    return {r.id: {"analysis_name": r.name, "study_name": r.study_name, "study_year": r.year,
                   "authors": r.authors, "publication": r.publication} for r in rows}
