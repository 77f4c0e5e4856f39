"""The members and annotations of a studyset, as its page lists them.

One query for a whole studyset, whatever its size: each member's title, year, authors,
journal, source and publication, with its analysis and peak counts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neurostore.models import Analysis, Annotation, Point, Study, Studyset, StudysetStudy
from neurostore.services.actors import Actor
from neurostore.services.reads.roots import visible


def studyset_members(session: Session, actor: Actor, studyset_id: str) -> list[dict[str, Any]]:
    """The studies of a studyset that ``actor`` may read, in order, each with ``id``,
    ``name``, ``year``, ``authors``, ``publication``, ``source``, ``base_study``,
    ``n_analyses`` and ``n_points``."""
    s = Study.__table__
    # Counts as correlated subqueries: two index lookups per member whatever the planner
    # estimates (grouped subqueries joined back can turn into loops over whole groups).
    n_analyses = (select(func.count()).where(Analysis.study_id == s.c.id)
                  .correlate(s).scalar_subquery())
    n_points = select(func.count()).where(Point.study_id == s.c.id).correlate(s).scalar_subquery()
    rows = session.execute(
        select(s.c.id, s.c.name, s.c.year, s.c.authors, s.c.publication, s.c.source,
               s.c.base_study_id.label("base_study"), n_analyses.label("n_analyses"),
               n_points.label("n_points"))
        .join(StudysetStudy, StudysetStudy.study_id == s.c.id)
        .where(StudysetStudy.studyset_id == studyset_id, visible(s, actor))
        .order_by(StudysetStudy.order)
    ).mappings()
    return [dict(row) for row in rows]


def annotations_of(session: Session, actor: Actor, studyset_id: str) -> list[dict[str, Any]]:
    """The annotations of a studyset that ``actor`` may read (``id``, ``name``, ``version``),
    oldest first."""
    t = Annotation.__table__
    rows = session.execute(
        select(t.c.id, t.c.name, t.c.version)
        .where(t.c.studyset_id == studyset_id, visible(t, actor))
        .order_by(t.c.created_at, t.c.id)).mappings()
    return [dict(row) for row in rows]


def owned_studysets(session: Session, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """The studysets ``actor`` owns (``id``, ``name``), last changed first: where a user
    adds studies."""
    if actor.id is None:
        return []
    t = Studyset.__table__
    rows = session.execute(
        select(t.c.id, t.c.name)
        .where(t.c.owner_id == actor.id, t.c.deleted_at.is_(None))
        .order_by(func.coalesce(t.c.updated_at, t.c.created_at).desc(), t.c.id)
        .limit(limit)).mappings()
    return [dict(row) for row in rows]
