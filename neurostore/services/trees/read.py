"""Whole study trees read as JSON, built by one statement inside PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from neurostore import json_codec
from neurostore.services.trees.state import (
    ANALYSIS_FIELDS,
    IMAGE_FIELDS,
    POINT_FIELDS,
    TABLE_FIELDS,
)


def _pairs(alias: str, fields: tuple[str, ...]) -> str:
    """``json_build_object`` arguments of columns named as the state's keys."""
    return ", ".join(f"'{f}', {alias}.{f}" for f in fields)


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
# (:mod:`neurostore.services.reads.documents`).
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
    table = "t.id" if document else f"json_build_object('id', t.id, {_pairs('t', TABLE_FIELDS)})"
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
                {_pairs("p", POINT_FIELDS)}, 'values', coalesce(pv.vals, '[]'::json)
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
                'id', i.id, {_pairs("i", IMAGE_FIELDS)},
                'add_date', {_iso("i.add_date")}) ORDER BY i."order") AS images
         FROM images i JOIN a ON i.analysis_id = a.id GROUP BY i.analysis_id),
aj AS (SELECT a.study_id,
              json_agg(json_build_object(
                'id', a.id, {_pairs("a", ANALYSIS_FIELDS)}, 'table', a.table_id,
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


def read_trees(session: Session, study_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Read the canonical states of the given studies in one statement."""
    if not study_ids:
        return {}
    return {row[0]: json_codec.loads(row[1])
            for row in session.execute(TREE_SQL, {"ids": list(study_ids)})}
