"""Read-side lists, searches and states of studies and publications (base studies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    String,
    any_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import Session

from neurostore.models import Analysis, BaseStudy, Image, Point, Study, Table
from neurostore.schemas.api_queries import MAP_TYPES
from neurostore.services import coordinates, search
from neurostore.services.actors import Actor
from neurostore.services.errors import Invalid
from neurostore.services.permissions import DEFAULT_POLICY
from neurostore.services.reads.pagination import ListQuery, Page, SortKey, paginate, timestamps_sort
from neurostore.services.reads.roots import meta_of, visible
from neurostore.services.trees.state import STUDY_FIELDS, iso

BASE_FIELDS = ("name", "description", "publication", "authors", "year", "doi", "pmid", "pmcid",
               "metadata")


@dataclass(frozen=True)
class StudyFilters:
    """Filters of the study and base-study lists; ``None`` means "not filtered"."""

    search: str | None = None
    name: str | None = None
    description: str | None = None
    authors: str | None = None
    journal: str | None = None
    publication: str | None = None
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    source: str | None = None
    source_id: str | None = None
    unique: str | None = None
    data_type: str | None = None
    map_type: str | None = None
    level: str | None = None
    has_coordinates: bool | None = None
    has_images: bool | None = None
    value_type: str | None = None
    space: str | None = None
    user_id: str | None = None
    base_study: str | None = None
    x: float | None = None
    y: float | None = None
    z: float | None = None
    radius: float | None = None

    def is_search(self) -> bool:
        """Whether a text or radius search narrows the list (to few rows, at a cost)."""
        return (any((self.search, self.name, self.description, self.authors, self.journal,
                     self.publication, self.source_id))
                or self.location() is not None)

    def location(self) -> tuple[float, float, float, float] | None:
        """The radius search, or None; all of x, y, z and radius or none of them."""
        parts = (self.x, self.y, self.z, self.radius)
        if all(p is None for p in parts):
            return None
        if any(p is None for p in parts):
            missing = [n for n, p in zip(("x", "y", "z", "radius"), parts, strict=True)
                       if p is None]
            raise Invalid({name: ["x, y, z and radius go together"] for name in missing})
        return parts  # type: ignore[return-value]


def publication_visible(b: Any, actor: Actor) -> ColumnElement:
    """Publications ``actor`` may see: every one that lists a study version the actor may
    read, or none the actor may not (a publication made from another user's private study
    would show its title)."""
    s = Study.__table__
    may_read = DEFAULT_POLICY.readable(actor, s.c.public, s.c.owner_id)
    if may_read is true():
        return true()
    readable = exists(select(s.c.id).where(s.c.base_study_id == b.c.id, visible(s, actor)))
    hidden = exists(select(s.c.id).where(s.c.base_study_id == b.c.id, ~may_read))
    return or_(readable, ~hidden)


def _publication_sorts(table: Any) -> dict[str, SortKey]:
    return {
        **timestamps_sort(table),
        "name": SortKey(func.coalesce(table.c.name, ""), str),
        "year": SortKey(func.coalesce(table.c.year, 0), int),
    }


def _point_exists(study_id: ColumnElement, *where: ColumnElement) -> ColumnElement:
    return exists(select(Point.id).where(Point.study_id == study_id, *where))


def _image_exists(study_id: ColumnElement, *where: ColumnElement) -> ColumnElement:
    return exists(
        select(Image.id).join(Analysis, Analysis.id == Image.analysis_id)
        .where(Analysis.study_id == study_id, *where)
    )


def _content_clauses(f: StudyFilters, study_id: ColumnElement, *, scan: bool = False
                     ) -> list[ColumnElement]:
    """Conditions on a study's analyses (the study is ``study_id``); with ``scan``, a
    radius search checks the study's own peaks instead of reading the GiST index."""
    clauses = []
    if f.has_coordinates is not None:
        found = _point_exists(study_id, Point.x.is_not(None))
        clauses.append(found if f.has_coordinates else ~found)
    if f.has_images is not None:
        found = _image_exists(study_id)
        clauses.append(found if f.has_images else ~found)
    if f.value_type:
        clauses.append(_image_exists(study_id, Image.value_type == f.value_type))
    if f.data_type:
        peaks, images = _point_exists(study_id, Point.x.is_not(None)), _image_exists(study_id)
        clauses.append({"coordinate": peaks, "image": images}.get(f.data_type,
                                                                  or_(peaks, images)))
    if f.map_type:
        clauses += ([_image_exists(study_id, Image.value_type == kind)
                     for kind in MAP_TYPES[f.map_type]] or [_image_exists(study_id)])
    if f.level == "meta":
        # Every study here is a group-level one.
        clauses.append(false())
    if f.space:
        clauses.append(or_(
            _point_exists(study_id, Point.space == f.space),
            _image_exists(study_id, Image.space.startswith(f.space)),
        ))
    location = f.location()
    if location is not None:
        near = coordinates.near if scan else coordinates.within
        clauses.append(_point_exists(study_id, near(*location)))
    return clauses


def _publication_clauses(f: StudyFilters, table: Any) -> list[ColumnElement]:
    clauses = []
    if f.search:
        clauses.append(search.matches(f.search))
    for key, column in (("name", "name"), ("description", "description"),
                        ("authors", "authors"), ("journal", "publication"),
                        ("publication", "publication")):
        if getattr(f, key):
            clauses.append(table.c[column].icontains(getattr(f, key), autoescape=True))
    for key in ("pmid", "pmcid"):
        if getattr(f, key):
            clauses.append(table.c[key] == getattr(f, key))
    if f.doi:
        clauses.append(func.lower(table.c.doi) == f.doi.lower())
    if f.year_min is not None:
        clauses.append(table.c.year >= f.year_min)
    if f.year_max is not None:
        clauses.append(table.c.year <= f.year_max)
    return clauses


def study_clauses(f: StudyFilters, actor: Actor, *, scan: bool = False
                  ) -> list[ColumnElement]:
    """Every condition of the study list for ``f``, visibility included (``scan``: in
    the form checked row by row, see :func:`_content_clauses`)."""
    t = Study.__table__
    clauses = [visible(t, actor), *_publication_clauses(f, t),
               *_content_clauses(f, t.c.id, scan=scan)]
    if f.source:
        clauses.append(t.c.source == f.source)
    if f.source_id:
        clauses.append(t.c.source_id == f.source_id)
    if f.user_id:
        clauses.append(t.c.owner_id == f.user_id)
    if f.base_study:
        clauses.append(t.c.base_study_id == f.base_study)
    if f.unique:
        clauses.append(first_of_its_value(t, f.unique, actor))
    return clauses


def first_of_its_value(table: Any, column: str, actor: Actor) -> ColumnElement:
    """Rows with no earlier visible row (by creation, then id) sharing their ``column``
    value: NeuroStore's ``unique``. Rows without a value are all kept."""
    e = table.alias("earlier")
    earlier = exists(select(e.c.id).where(
        e.c[column] == table.c[column], visible(e, actor),
        tuple_(e.c.created_at, e.c.id) < tuple_(table.c.created_at, table.c.id)))
    return or_(table.c[column].is_(None), ~earlier)


def list_studies(session: Session, actor: Actor, f: StudyFilters, query: ListQuery) -> Page:
    """A page of visible studies matching ``f``; rows are ``(id, version, created_at, ...)``."""
    t = Study.__table__
    stmt = select(t.c.id).where(*study_clauses(f, actor))
    scan = select(t.c.id).where(*study_clauses(f, actor, scan=True)) if f.is_search() else None
    return paginate(session, stmt, t.c.id, _publication_sorts(t), query, scan=scan,
                    sampled=True)


def list_base_studies(
    session: Session, actor: Actor, f: StudyFilters, query: ListQuery
) -> Page:
    """A page of publications matching ``f``; content filters apply to their visible studies."""
    b = BaseStudy.__table__
    stmt = select(b.c.id).where(*_base_study_clauses(f, actor))
    scan = (select(b.c.id).where(*_base_study_clauses(f, actor, scan=True))
            if f.is_search() else None)
    return paginate(session, stmt, b.c.id, _publication_sorts(b), query, scan=scan,
                    sampled=True)


def _base_study_clauses(f: StudyFilters, actor: Actor, *, scan: bool = False
                        ) -> list[ColumnElement]:
    b, s = BaseStudy.__table__, Study.__table__
    clauses = [b.c.deleted_at.is_(None), b.c.merged_into_id.is_(None),
               publication_visible(b, actor), *_publication_clauses(f, b)]
    if f.unique:
        clauses.append(first_of_its_value(b, f.unique, actor))
    version_clauses = _content_clauses(f, s.c.id, scan=scan)
    if f.source:
        version_clauses.append(s.c.source == f.source)
    if f.source_id:
        version_clauses.append(s.c.source_id == f.source_id)
    if f.user_id:
        version_clauses.append(s.c.owner_id == f.user_id)
    if version_clauses:
        clauses.append(exists(
            select(s.c.id).where(s.c.base_study_id == b.c.id, visible(s, actor),
                                 *version_clauses)
        ))
    return clauses


def study_summaries(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Studies with their analyses and tables as ids, plus version and timestamps."""
    t = Study.__table__
    out: dict[str, dict[str, Any]] = {}
    for row in session.execute(select(t).where(t.c.id.in_(ids))).mappings():
        state = {key: row[key] for key in STUDY_FIELDS}
        state.update(
            id=row["id"], source_updated_at=iso(row["source_updated_at"]),
            base_study=row["base_study_id"], user=row["owner_id"], parent=row["parent_id"],
            tables=[], analyses=[], **meta_of(row),
        )
        out[row["id"]] = state
    for study_id, table_id in session.execute(
        select(Table.study_id, Table.id).where(Table.study_id.in_(ids))
        .order_by(Table.study_id, Table.order)
    ):
        out[study_id]["tables"].append(table_id)
    for study_id, analysis_id in session.execute(
        select(Analysis.study_id, Analysis.id).where(Analysis.study_id.in_(ids))
        .order_by(Analysis.study_id, Analysis.order)
    ):
        out[study_id]["analyses"].append(analysis_id)
    return out


def base_study_states(
    session: Session, actor: Actor, ids: list[str]
) -> dict[str, dict[str, Any]]:
    """Publications ``actor`` may see, with the ids of their visible study versions."""
    b, s = BaseStudy.__table__, Study.__table__
    out: dict[str, dict[str, Any]] = {}
    for row in session.execute(
        select(b).where(b.c.id.in_(ids), b.c.deleted_at.is_(None),
                        publication_visible(b, actor))
    ).mappings():
        state = {key: row[key] for key in BASE_FIELDS}
        state.update(id=row["id"], merged_into=row["merged_into_id"], versions=[],
                     **meta_of(row))
        out[row["id"]] = state
    for base_id, study_id in session.execute(
        select(s.c.base_study_id, s.c.id)
        .where(s.c.base_study_id.in_(ids), visible(s, actor))
        .order_by(s.c.base_study_id, s.c.created_at, s.c.id)
    ):
        out[base_id]["versions"].append(study_id)
    return out


def flat_study(state: dict[str, Any]) -> dict[str, Any]:
    """A study state (or document) with its tables and analyses as ids (the default,
    non-nested view)."""
    return {**state, "tables": [t if isinstance(t, str) else t["id"] for t in state["tables"]],
            "analyses": [a["id"] for a in state["analyses"]]}


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


def version_counts(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Source, peak count and image count of each study version in ``ids``."""
    points = (select(Point.study_id, func.count().label("n")).where(Point.study_id.in_(ids))
              .group_by(Point.study_id).subquery())
    images = (select(Analysis.study_id, func.count().label("n"))
              .join(Image, Image.analysis_id == Analysis.id).where(Analysis.study_id.in_(ids))
              .group_by(Analysis.study_id).subquery())
    rows = session.execute(
        select(Study.id, Study.source, func.coalesce(points.c.n, 0),
               func.coalesce(images.c.n, 0))
        .outerjoin(points, points.c.study_id == Study.id)
        .outerjoin(images, images.c.study_id == Study.id)
        .where(Study.id.in_(ids)))
    return {id_: {"source": source, "n_points": n_points, "n_images": n_images}
            for id_, source, n_points, n_images in rows}
