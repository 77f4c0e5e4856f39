"""Set-based reading and writing of whole study trees.

A study tree is a study with its tables, analyses, conditions, weights, points, point
values and images. Writes take many trees at once and issue one multi-row statement per
table, so saving one study or ten thousand costs the same number of round trips. The
canonical JSON state built here from the written data equals what :func:`read_trees`
reads back, which is what revisions store.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, literal, select, text, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from neurostore import json_codec
from neurostore.db import new_id
from neurostore.models import (
    Analysis,
    AnalysisCondition,
    Condition,
    Image,
    Point,
    PointValue,
    Study,
    Table,
)
from neurostore.services.bulk import copy_rows
from neurostore.services.errors import Invalid

PUBLICATION_FIELDS = (
    "name",
    "description",
    "publication",
    "authors",
    "year",
    "doi",
    "pmid",
    "pmcid",
    "metadata",
)
STUDY_FIELDS = (*PUBLICATION_FIELDS, "source", "source_id", "source_updated_at", "public")


@dataclass
class TreeWrite:
    """One study tree to write.

    ``data`` is loaded (validated, normalised) input whose children all carry ids
    (see :func:`assign_ids`).
    """

    study_id: str
    data: dict[str, Any]
    base_study_id: str | None
    owner_id: str | None
    parent_id: str | None
    is_new: bool
    #: Whether the tables and analyses changed: when not, only the study row is written.
    children_changed: bool = True
    #: Analyses equal to the stored ones, at the same place: their rows, peaks, images and
    #: condition links are left as they are.
    unchanged_analyses: frozenset[str] = frozenset()


def iso(value: dt.datetime | None) -> str | None:
    """Return a UTC ISO 8601 string, the form states keep date-times in."""
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def assign_ids(
    session: Session, study_id: str | None, data: dict[str, Any], *, reuse_free_ids: bool = False
) -> None:
    """Give every child in ``data`` an id, in place, checking the ids it already has.

    On a new study (``study_id`` is None) given ids are replaced by new ones (an analysis
    naming a table by its old id follows it). On an existing study a given id must name a
    child of that study; with ``reuse_free_ids`` (a revert) an id that exists nowhere is
    also accepted, so deleted children come back under their old ids.
    """
    given: dict[str, list[str]] = defaultdict(list)
    renamed: dict[str, str] = {}
    for table in data["tables"]:
        old = table.get("id")
        _take(table, "tables", given, study_id)
        if old and study_id is None:
            renamed[old] = table["id"]
    for analysis in data["analyses"]:
        _take(analysis, "analyses", given, study_id)
        ref = analysis["table"]
        if ref is not None and set(ref) == {"id"}:
            analysis["table"] = {"id": renamed.get(ref["id"], ref["id"])}
        elif ref is not None:
            _take(ref, "tables", given, study_id)
        for point in analysis["points"]:
            _take(point, "points", given, study_id)
        for image in analysis["images"]:
            _take(image, "images", given, study_id)
    if study_id is not None:
        _check_given_ids(session, study_id, given, reuse_free_ids)
    _link_tables(data)


def _take(
    child: dict[str, Any], kind: str, given: dict[str, list[str]], study_id: str | None
) -> None:
    if study_id is not None and child.get("id"):
        given[kind].append(child["id"])
    else:
        child["id"] = new_id()


def _owners(session: Session, given: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """For each kind of child, the study owning each given id (one statement for all)."""
    T, A = Table.__table__.c, Analysis.__table__.c
    P, IM = Point.__table__.c, Image.__table__.c
    parts = []
    if given.get("tables"):
        parts.append(select(literal("tables"), T.id, T.study_id)
                     .where(T.id.in_(set(given["tables"]))))
    if given.get("analyses"):
        parts.append(select(literal("analyses"), A.id, A.study_id)
                     .where(A.id.in_(set(given["analyses"]))))
    if given.get("points"):
        parts.append(select(literal("points"), P.id, A.study_id)
                     .join(Analysis.__table__, A.id == P.analysis_id)
                     .where(P.id.in_(set(given["points"]))))
    if given.get("images"):
        parts.append(select(literal("images"), IM.id, A.study_id)
                     .join(Analysis.__table__, A.id == IM.analysis_id)
                     .where(IM.id.in_(set(given["images"]))))
    owners: dict[str, dict[str, str]] = defaultdict(dict)
    if parts:
        for kind, child_id, study_id in session.execute(union_all(*parts)):
            owners[kind][child_id] = study_id
    return owners


def _check_given_ids(
    session: Session, study_id: str, given: dict[str, list[str]], reuse_free_ids: bool
) -> None:
    errors: dict[str, Any] = {}
    owners = _owners(session, given)
    for kind, ids in given.items():
        duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
        if duplicates and kind != "tables":
            errors[kind] = f"ids given twice: {', '.join(duplicates)}"
            continue
        found = owners[kind]
        foreign = sorted(i for i in set(ids) if found.get(i, study_id) != study_id)
        unknown = sorted(i for i in set(ids) if i not in found)
        if foreign:
            errors[kind] = f"ids belong to another study: {', '.join(foreign)}"
        elif unknown and not reuse_free_ids:
            errors[kind] = (
                f"unknown ids: {', '.join(unknown)} (omit the id to create a new {kind[:-1]})"
            )
    if errors:
        raise Invalid(errors)


def _link_tables(data: dict[str, Any]) -> None:
    """Resolve each analysis's ``table`` to the id of a table in ``data['tables']``."""
    by_id = {t["id"]: t for t in data["tables"]}
    by_tid = {t["t_id"]: t for t in data["tables"] if t.get("t_id")}
    errors: dict[str, Any] = {}
    for n, analysis in enumerate(data["analyses"]):
        ref = analysis["table"]
        if ref is None:
            continue
        if set(ref) == {"id"}:
            if ref["id"] not in by_id:
                errors[f"analyses.{n}.table"] = f"table {ref['id']} is not a table of this study"
            analysis["table"] = ref["id"]
            continue
        existing = by_tid.get(ref.get("t_id")) if ref.get("t_id") else None
        if existing is None:
            ref.setdefault("t_id", None)
            for key in ("name", "caption", "footer", "metadata"):
                ref.setdefault(key, None)
            data["tables"].append(ref)
            by_id[ref["id"]] = ref
            if ref.get("t_id"):
                by_tid[ref["t_id"]] = ref
            existing = ref
        analysis["table"] = existing["id"]
    if errors:
        raise Invalid(errors)


def state_of(write: TreeWrite, condition_rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return the canonical JSON state of a tree about to be written."""
    data = write.data
    state = {key: data.get(key) for key in STUDY_FIELDS}
    state["source_updated_at"] = iso(data.get("source_updated_at"))
    state.update(
        id=write.study_id,
        base_study=write.base_study_id,
        user=write.owner_id,
        parent=write.parent_id,
        tables=[_table_state(t) for t in data["tables"]],
        analyses=[_analysis_state(a, condition_rows) for a in data["analyses"]],
    )
    return state


def _table_state(table: dict[str, Any]) -> dict[str, Any]:
    return {k: table.get(k) for k in ("id", "t_id", "name", "caption", "footer", "metadata")}


def _analysis_state(a: dict[str, Any], conditions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": a["id"],
        "name": a.get("name"),
        "description": a.get("description"),
        "metadata": a.get("metadata"),
        "table": a.get("table"),
        "conditions": [conditions[c["id"]] for c in a["conditions"]],
        "weights": [float(w) for w in a["weights"]],
        "points": [
            {
                "id": p["id"],
                "coordinates": list(p["coordinates"]),
                "space": p.get("space"),
                "kind": p.get("kind"),
                "label_id": p.get("label_id"),
                "cluster_size": p.get("cluster_size"),
                "subpeak": p.get("subpeak"),
                "deactivation": p.get("deactivation"),
                "values": [{"kind": v.get("kind"), "value": v.get("value")} for v in p["values"]],
            }
            for p in a["points"]
        ],
        "images": [
            {
                "id": i["id"],
                "url": i.get("url"),
                "filename": i.get("filename"),
                "sha256": i.get("sha256"),
                "space": i.get("space"),
                "value_type": i.get("value_type"),
                "metadata": i.get("metadata"),
                "add_date": iso(i.get("add_date")),
            }
            for i in a["images"]
        ],
    }


def resolve_conditions(
    session: Session, owner_id: str | None, writes: Iterable[TreeWrite]
) -> dict[str, dict[str, Any]]:
    """Create inline conditions and look up referenced ones; return them by id."""
    referenced: set[str] = set()
    new_rows: list[dict[str, Any]] = []
    for write in writes:
        for analysis in write.data["analyses"]:
            for cond in analysis["conditions"]:
                if set(cond) == {"id"} or cond.get("id"):
                    referenced.add(cond["id"])
                else:
                    cond["id"] = new_id()
                    new_rows.append(
                        {
                            "id": cond["id"],
                            "name": cond.get("name"),
                            "description": cond.get("description"),
                            "owner_id": owner_id,
                        }
                    )
    found = (
        {
            row.id: {"id": row.id, "name": row.name, "description": row.description}
            for row in session.execute(
                select(Condition.id, Condition.name, Condition.description).where(
                    Condition.id.in_(referenced)
                )
            )
        }
        if referenced
        else {}
    )
    missing = sorted(referenced - set(found))
    if missing:
        raise Invalid({"analyses.conditions": f"unknown condition ids: {', '.join(missing)}"})
    if new_rows:
        session.execute(insert(Condition), new_rows)
        found.update({r["id"]: {k: r[k] for k in ("id", "name", "description")} for r in new_rows})
    return found


def write_trees(session: Session, writes: list[TreeWrite]) -> None:
    """Write the trees: insert new studies, replace the children of existing ones."""
    if not writes:
        return
    now = dt.datetime.now(dt.UTC)
    existing = [w for w in writes if not w.is_new]
    if existing:
        _clear_children(session, [w for w in existing if w.children_changed])
        table = Study.__table__
        columns = _study_columns(existing[0])
        session.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(c) for c in columns} | {"updated_at": now}),
            [{"_id": w.study_id, **_study_columns(w)} for w in existing],
        )
    new = [w for w in writes if w.is_new]
    if new:
        session.execute(
            insert(Study.__table__), [{"id": w.study_id, **_study_columns(w)} for w in new]
        )
    _insert_children(session, [w for w in writes if w.is_new or w.children_changed])


def _study_columns(w: TreeWrite) -> dict[str, Any]:
    cols = {key: w.data.get(key) for key in STUDY_FIELDS}
    cols["public"] = bool(w.data.get("public", True))
    cols.update(base_study_id=w.base_study_id, owner_id=w.owner_id, parent_id=w.parent_id)
    return cols


def _clear_children(session: Session, writes: list[TreeWrite]) -> None:
    if not writes:
        return
    study_ids = [w.study_id for w in writes]
    keep_analyses = [a["id"] for w in writes for a in w.data["analyses"]]
    keep_tables = [t["id"] for w in writes for t in w.data["tables"]]
    session.execute(
        delete(Analysis).where(Analysis.study_id.in_(study_ids), Analysis.id.not_in(keep_analyses))
    )
    session.execute(
        delete(Table).where(Table.study_id.in_(study_ids), Table.id.not_in(keep_tables))
    )
    rewritten = [a["id"] for w in writes for a in w.data["analyses"]
                 if a["id"] not in w.unchanged_analyses]
    if rewritten:
        for model in (Point, Image, AnalysisCondition):
            session.execute(delete(model).where(model.analysis_id.in_(rewritten)))


def _upsert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = pg_insert(model.__table__)
    columns = [c for c in rows[0] if c != "id"]
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"], set_={c: stmt.excluded[c] for c in columns}
    )
    session.execute(stmt, rows)


def _insert_children(session: Session, writes: list[TreeWrite]) -> None:
    tables, analyses, links, points, values, images = [], [], [], [], [], []
    for w in writes:
        for order, t in enumerate(w.data["tables"]):
            tables.append(
                {
                    "id": t["id"],
                    "study_id": w.study_id,
                    "t_id": t.get("t_id"),
                    "name": t.get("name"),
                    "caption": t.get("caption"),
                    "footer": t.get("footer"),
                    "metadata": t.get("metadata"),
                    "order": order,
                }
            )
        for a_order, a in enumerate(w.data["analyses"]):
            if a["id"] in w.unchanged_analyses:
                continue
            analyses.append(
                {
                    "id": a["id"],
                    "study_id": w.study_id,
                    "table_id": a.get("table"),
                    "name": a.get("name"),
                    "description": a.get("description"),
                    "metadata": a.get("metadata"),
                    "order": a_order,
                }
            )
            for c_order, (cond, weight) in enumerate(
                zip(a["conditions"], a["weights"], strict=True)
            ):
                links.append(
                    {
                        "analysis_id": a["id"],
                        "order": c_order,
                        "condition_id": cond["id"],
                        "weight": float(weight),
                    }
                )
            for p_order, p in enumerate(a["points"]):
                x, y, z = p["coordinates"]
                points.append(
                    {
                        "id": p["id"],
                        "analysis_id": a["id"],
                        "study_id": w.study_id,
                        "x": x,
                        "y": y,
                        "z": z,
                        "space": p.get("space"),
                        "kind": p.get("kind"),
                        "label_id": p.get("label_id"),
                        "cluster_size": p.get("cluster_size"),
                        "subpeak": p.get("subpeak"),
                        "deactivation": p.get("deactivation"),
                        "order": p_order,
                    }
                )
                for v_order, v in enumerate(p["values"]):
                    values.append(
                        {
                            "point_id": p["id"],
                            "order": v_order,
                            "kind": v.get("kind"),
                            "value": v.get("value"),
                        }
                    )
            for i_order, i in enumerate(a["images"]):
                images.append(
                    {
                        "id": i["id"],
                        "analysis_id": a["id"],
                        "url": i.get("url"),
                        "filename": i.get("filename"),
                        "sha256": i.get("sha256"),
                        "space": i.get("space"),
                        "value_type": i.get("value_type"),
                        "metadata": i.get("metadata"),
                        "add_date": i.get("add_date"),
                        "order": i_order,
                    }
                )
    _upsert(session, Table, tables)
    _upsert(session, Analysis, analyses)
    for model, rows in (
        (AnalysisCondition, links),
        (Point, points),
        (PointValue, values),
        (Image, images),
    ):
        copy_rows(session, model.__table__, rows)


def _iso(column: str) -> str:
    """SQL rendering a timestamptz exactly as Python's ``datetime.isoformat`` in UTC."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN extract(microseconds FROM {column})::bigint % 1000000 = 0 "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') END"""
    )


def root_meta_json(alias: str) -> str:
    """SQL of a root's version and timestamps as JSON text, as the API shows them."""
    return (f"json_build_object('version', {alias}.version,"
            f" 'created_at', {_iso(alias + '.created_at')},"
            f" 'updated_at', {_iso(alias + '.updated_at')})::text")


# One statement builds every tree, whole, as JSON inside PostgreSQL: a single round trip
# whatever the number of analyses and peaks, no per-row Python objects, and text that can
# be sent to a client as it is. Each level is aggregated once for all the requested
# studies and joined by key (hash joins), rather than by a correlated subquery per row.
# Whole-number floats come back as JSON integers, which compare equal to the floats the
# write path holds. The root's columns come along for reads that keep the text
# (:mod:`neurostore.services.study_documents`).
def _tree_sql(document: bool) -> str:
    """The tree statement: the canonical state, or (``document``) the API's document.

    The document adds what NeuroStore's clients read and the state does not hold, all
    derived: points' ``x``, ``y``, ``z`` and ``order``; analyses' ``table_id``, ``order``,
    ``point_count`` and ``study``; the study's ``has_coordinates`` and ``has_images``; and
    it lists tables by id, as NeuroStore does even when nested.
    """
    point_extra = ", 'x', p.x, 'y', p.y, 'z', p.z, 'order', p.\"order\"" if document else ""
    analysis_extra = (", 'table_id', a.table_id, 'order', a.\"order\", 'study', a.study_id,"
                      " 'point_count', coalesce(pj.n, 0)") if document else ""
    table = "t.id" if document else """json_build_object(
                'id', t.id, 't_id', t.t_id, 'name', t.name, 'caption', t.caption,
                'footer', t.footer, 'metadata', t.metadata)"""
    study_extra = (", 'has_coordinates', coalesce(aj.has_coordinates, false),"
                   " 'has_images', coalesce(aj.has_images, false)") if document else ""
    return f"""
WITH s AS (SELECT studies.*, studies.xmin::text::bigint AS row_xmin FROM studies
           WHERE id = ANY(:ids)),
a AS (SELECT a.* FROM analyses a JOIN s ON a.study_id = s.id),
p AS (SELECT p.* FROM points p JOIN a ON p.analysis_id = a.id),
pv AS (SELECT v.point_id,
              json_agg(json_build_object('kind', v.kind, 'value', v.value)
                       ORDER BY v."order") AS vals
         FROM point_values v JOIN p ON v.point_id = p.id GROUP BY v.point_id),
pj AS (SELECT p.analysis_id,
              json_agg(json_build_object(
                'id', p.id, 'coordinates', json_build_array(p.x, p.y, p.z),
                'space', p.space, 'kind', p.kind, 'label_id', p.label_id,
                'cluster_size', p.cluster_size, 'subpeak', p.subpeak,
                'deactivation', p.deactivation, 'values', coalesce(pv.vals, '[]'::json)
                {point_extra}) ORDER BY p."order") AS points,
              count(*) AS n, bool_or(p.x IS NOT NULL) AS has_coordinates
         FROM p LEFT JOIN pv ON pv.point_id = p.id GROUP BY p.analysis_id),
cj AS (SELECT l.analysis_id,
              json_agg(json_build_object('id', c.id, 'name', c.name,
                                         'description', c.description)
                       ORDER BY l."order") AS conditions,
              json_agg(l.weight ORDER BY l."order") AS weights
         FROM analysis_conditions l JOIN a ON l.analysis_id = a.id
         JOIN conditions c ON c.id = l.condition_id GROUP BY l.analysis_id),
ij AS (SELECT i.analysis_id,
              json_agg(json_build_object(
                'id', i.id, 'url', i.url, 'filename', i.filename, 'sha256', i.sha256,
                'space', i.space, 'value_type', i.value_type, 'metadata', i.metadata,
                'add_date', {_iso("i.add_date")}) ORDER BY i."order") AS images
         FROM images i JOIN a ON i.analysis_id = a.id GROUP BY i.analysis_id),
aj AS (SELECT a.study_id,
              json_agg(json_build_object(
                'id', a.id, 'name', a.name, 'description', a.description,
                'metadata', a.metadata, 'table', a.table_id,
                'conditions', coalesce(cj.conditions, '[]'::json),
                'weights', coalesce(cj.weights, '[]'::json),
                'points', coalesce(pj.points, '[]'::json),
                'images', coalesce(ij.images, '[]'::json){analysis_extra})
                ORDER BY a."order") AS analyses,
              bool_or(pj.has_coordinates) AS has_coordinates,
              bool_or(ij.analysis_id IS NOT NULL) AS has_images
         FROM a LEFT JOIN pj ON pj.analysis_id = a.id LEFT JOIN cj ON cj.analysis_id = a.id
         LEFT JOIN ij ON ij.analysis_id = a.id GROUP BY a.study_id),
tj AS (SELECT t.study_id, json_agg({table} ORDER BY t."order") AS tables
         FROM tables t JOIN s ON t.study_id = s.id GROUP BY t.study_id)
SELECT s.id, json_build_object(
         'name', s.name, 'description', s.description, 'publication', s.publication,
         'authors', s.authors, 'year', s.year, 'doi', s.doi, 'pmid', s.pmid,
         'pmcid', s.pmcid, 'metadata', s.metadata, 'source', s.source,
         'source_id', s.source_id, 'source_updated_at', {_iso("s.source_updated_at")},
         'public', s.public, 'id', s.id, 'base_study', s.base_study_id,
         'user', s.owner_id, 'parent', s.parent_id,
         'tables', coalesce(tj.tables, '[]'::json),
         'analyses', coalesce(aj.analyses, '[]'::json){study_extra})::text AS tree,
       s.row_xmin, s.version, s.owner_id, s.public, s.deleted_at,
       {root_meta_json("s")} AS meta
FROM s LEFT JOIN tj ON tj.study_id = s.id LEFT JOIN aj ON aj.study_id = s.id
"""


TREE_SQL = text(_tree_sql(document=False))
#: The same trees as the API sends them (see :func:`_tree_sql`).
DOCUMENT_SQL = text(_tree_sql(document=True))


def read_tree_texts(session: Session, study_ids: list[str]) -> dict[str, str]:
    """The canonical states of the given studies as JSON text, ready to send as it is."""
    if not study_ids:
        return {}
    return {row[0]: row[1] for row in session.execute(TREE_SQL, {"ids": list(study_ids)})}


def read_trees(session: Session, study_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Read the canonical states of the given studies in one statement."""
    texts = read_tree_texts(session, study_ids)
    return {id_: json_codec.loads(tree) for id_, tree in texts.items()}
