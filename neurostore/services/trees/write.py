"""Set-based writing of whole study trees.

Writes take many trees at once and issue one multi-row statement per table, so saving
one study or ten thousand costs the same number of round trips.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

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
from neurostore.services.trees.state import (
    ANALYSIS_FIELDS,
    IMAGE_FIELDS,
    POINT_FIELDS,
    STUDY_FIELDS,
    TABLE_FIELDS,
    TreeWrite,
)


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
                    **{k: t.get(k) for k in TABLE_FIELDS},
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
                    **{k: a.get(k) for k in ANALYSIS_FIELDS},
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
                        **{k: p.get(k) for k in POINT_FIELDS},
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
                        **{k: i.get(k) for k in IMAGE_FIELDS},
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
