"""Read-side lists of the children of studies: analyses, tables, points and images.

Children are parts of their study: they are visible when their study is, and listing
returns each child's id with its study's id so callers can show it from the study's
state (never from a second copy that could disagree with it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from neurostore.models import Analysis, Image, Point, Study, Table
from neurostore.services.actors import Actor
from neurostore.services.reads.pagination import ListQuery, Page, SortKey, paginate
from neurostore.services.reads.roots import visible

CHILD_LABELS = {"analyses": "analysis", "tables": "table", "points": "point", "images": "image"}


def _by_id(table: Any) -> dict[str, SortKey]:
    return {"id": SortKey(table.c.id, str)}


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


def analysis_summaries(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Analyses by id: their name and description, without points or images."""
    rows = session.execute(
        select(Analysis.id, Analysis.name, Analysis.description).where(Analysis.id.in_(ids))
    )
    return {r.id: {"id": r.id, "name": r.name, "description": r.description} for r in rows}


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
