"""Read-side lists of studysets, annotations, users, conditions and the children of studies.

Children (analyses, tables, points, images) are parts of their study: they are visible
when their study is, and listing returns each child's id with its study's id so callers
can show it from the study's state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, Select, String, any_, bindparam, or_, select
from sqlalchemy.orm import Session

from neurostore.models import (
    Analysis,
    Annotation,
    AnnotationNote,
    Condition,
    Image,
    Point,
    Study,
    Studyset,
    StudysetStudy,
    Table,
    User,
)
from neurostore.schemas.studysets import blank_note
from neurostore.services.actors import Actor
from neurostore.services.listing import ListQuery, Page, SortKey, paginate, timestamps_sort, visible
from neurostore.services.study_queries import meta_of

STUDYSET_FIELDS = ("name", "description", "publication", "authors", "year", "doi", "pmid",
                   "pmcid", "metadata", "public")
ANNOTATION_FIELDS = ("name", "description", "metadata", "note_keys", "public")


def _by_id(table: Any) -> dict[str, SortKey]:
    return {"id": SortKey(table.c.id, str)}


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


def studyset_states(session: Session, actor: Actor, ids: list[str]
                    ) -> dict[str, dict[str, Any]]:
    """Studysets with the ids of the studies ``actor`` may read, version and timestamps."""
    t = Studyset.__table__
    out: dict[str, dict[str, Any]] = {}
    for row in session.execute(select(t).where(t.c.id.in_(ids))).mappings():
        state = {k: row[k] for k in STUDYSET_FIELDS}
        state.update(id=row["id"], user=row["owner_id"], parent=row["parent_id"], studies=[],
                     **meta_of(row))
        out[row["id"]] = state
    for set_id, study_id in session.execute(
        select(StudysetStudy.studyset_id, StudysetStudy.study_id)
        .where(StudysetStudy.studyset_id.in_(ids))
        .order_by(StudysetStudy.studyset_id, StudysetStudy.order)
    ):
        out[set_id]["studies"].append(study_id)
    readable = visible_study_ids(session, actor,
                                 sorted({i for st in out.values() for i in st["studies"]}))
    for state in out.values():
        state["studies"] = [i for i in state["studies"] if i in readable]
    return out


def annotation_states(session: Session, actor: Actor, ids: list[str]
                      ) -> dict[str, dict[str, Any]]:
    """Annotations with the notes of studies ``actor`` may read, version and timestamps."""
    t = Annotation.__table__
    out: dict[str, dict[str, Any]] = {}
    for row in session.execute(select(t).where(t.c.id.in_(ids))).mappings():
        state = {k: row[k] for k in ANNOTATION_FIELDS}
        state.update(id=row["id"], studyset=row["studyset_id"], user=row["owner_id"],
                     parent=row["parent_id"], notes=[], **meta_of(row))
        out[row["id"]] = state
    for annotation_id, notes in annotation_notes(
            session, {i: st["note_keys"] for i, st in out.items()}).items():
        out[annotation_id]["notes"] = notes
    readable = visible_study_ids(session, actor,
                                 sorted({n["study"] for st in out.values() for n in st["notes"]}))
    for state in out.values():
        state["notes"] = [n for n in state["notes"] if n["study"] in readable]
    return out


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


def analysis_summaries(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Analyses by id: their name and description, without points or images."""
    rows = session.execute(
        select(Analysis.id, Analysis.name, Analysis.description).where(Analysis.id.in_(ids))
    )
    return {r.id: {"id": r.id, "name": r.name, "description": r.description} for r in rows}


def visible_study_ids(session: Session, actor: Actor, ids: list[str]) -> set[str]:
    """The subset of ``ids`` naming studies ``actor`` may read."""
    if not ids:
        return set()
    t = Study.__table__
    # One array parameter: a studyset's thousand ids as an IN list cost more to send and
    # plan than to look up.
    wanted = bindparam("ids", list(ids), type_=ARRAY(String))
    return set(session.execute(select(t.c.id).where(t.c.id == any_(wanted), visible(t, actor)))
               .scalars())


def _child_select(kind: str) -> tuple[Select, Any]:
    """Select (child id, study id) for a kind of child, with its id column."""
    if kind == "analyses":
        return select(Analysis.id, Analysis.study_id), Analysis.__table__
    if kind == "tables":
        return select(Table.id, Table.study_id), Table.__table__
    model = Point if kind == "points" else Image
    return (
        select(model.id, Analysis.study_id).join(Analysis, Analysis.id == model.analysis_id),
        model.__table__,
    )


def list_children(
    session: Session, actor: Actor, kind: str, query: ListQuery, *,
    study: str | None = None, analysis: str | None = None, value_type: str | None = None,
) -> Page:
    """A page of ``(id, study_id)`` of one kind of child, in visible studies."""
    stmt, table = _child_select(kind)
    s = Study.__table__
    stmt = stmt.join(s, s.c.id == (Analysis.study_id if kind != "tables" else Table.study_id))
    stmt = stmt.where(visible(s, actor))
    if study:
        stmt = stmt.where(s.c.id == study)
    if analysis and kind in ("points", "images"):
        stmt = stmt.where(table.c.analysis_id == analysis)
    if value_type and kind == "images":
        stmt = stmt.where(table.c.value_type == value_type)
    return paginate(session, stmt, table.c.id, _by_id(table), query)


def study_of_child(session: Session, kind: str, child_id: str) -> str | None:
    """The id of the study holding a child, or None for an unknown id."""
    stmt, table = _child_select(kind)
    row = session.execute(stmt.where(table.c.id == child_id)).first()
    return None if row is None else row[1]


def list_users(session: Session, query: ListQuery) -> Page:
    """A page of users' public profiles."""
    t = User.__table__
    stmt = select(t.c.id, t.c.name, t.c.role)
    return paginate(session, stmt, t.c.id, _by_id(t), query)


def list_conditions(session: Session, query: ListQuery, *, name: str | None = None) -> Page:
    """A page of conditions, optionally those whose name contains ``name``."""
    t = Condition.__table__
    stmt = select(t.c.id, t.c.name, t.c.description)
    if name:
        stmt = stmt.where(t.c.name.icontains(name, autoescape=True))
    return paginate(session, stmt, t.c.id, _by_id(t), query)
