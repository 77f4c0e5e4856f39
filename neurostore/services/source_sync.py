"""Matching an upstream record to the store's version of it, so unchanged data stays put.

A batch's records are hashed (:func:`hash_records`) and compared with the hashes stored
with the studies (:func:`existing_studies`, :func:`store_hashes`); a study a curator
changed since its last ingest is told apart (:func:`last_changed_by_ingest`).

When a source record changes, the new tree reuses the ids of the children it matches
(tables by ``t_id``, analyses by table and name, then by position; peaks and images by
position), so annotations on analyses survive an upstream correction.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from neurostore.models import Revision, Study


def carry_ids(current: dict[str, Any], incoming: dict[str, Any]) -> None:
    """Copy child ids from ``current`` (a stored state) onto ``incoming`` (loaded data)."""
    tables_by_tid = {t["t_id"]: t["id"] for t in current["tables"] if t.get("t_id")}
    t_id_of = {t["id"]: t.get("t_id") for t in current["tables"]}
    for table in incoming["tables"]:
        if table.get("t_id") in tables_by_tid:
            table["id"] = tables_by_tid[table["t_id"]]
    by_key: dict[tuple[Any, Any], dict[str, Any]] = {}
    for analysis in current["analyses"]:
        by_key.setdefault((t_id_of.get(analysis["table"]), analysis["name"]), analysis)
    unused = list(current["analyses"])
    matched: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for analysis in incoming["analyses"]:
        ref = analysis.get("table")
        t_id = ref.get("t_id") if isinstance(ref, dict) else None
        old = by_key.get((t_id, analysis.get("name")))
        if old is not None and old in unused:
            unused.remove(old)
        else:
            old = None
        matched.append((analysis, old))
    for analysis, old in matched:
        if old is None and unused:
            old = unused.pop(0)
        if old is None:
            continue
        analysis["id"] = old["id"]
        ref = analysis.get("table")
        if isinstance(ref, dict) and ref.get("t_id") in tables_by_tid:
            ref["id"] = tables_by_tid[ref["t_id"]]
        for new_child, old_child in zip(analysis["points"], old["points"], strict=False):
            new_child["id"] = old_child["id"]
        for new_child, old_child in zip(analysis["images"], old["images"], strict=False):
            new_child["id"] = old_child["id"]
        for cond, old_cond in zip(analysis["conditions"], old["conditions"], strict=False):
            if not cond.get("id") and (cond.get("name"), cond.get("description")) == (
                old_cond["name"], old_cond["description"]
            ):
                cond["id"] = old_cond["id"]


def hash_records(source: str, records: list[dict[str, Any]],
                 report: Any) -> dict[str, tuple[dict[str, Any], str]]:
    """The records of one batch by source id, each with the sha256 of its canonical JSON;
    records without a source id, or with one seen before in the batch, are counted in
    ``report`` as skipped."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for record in records:
        source_id = str(record.get("source_id") or "").strip()
        if not source_id:
            report.skipped += 1
            report.errors.append({"source_id": None, "line": None,
                                  "reason": "record without a source_id"})
            continue
        if source_id in out:
            report.skipped += 1
            report.errors.append({"source_id": source_id, "line": None,
                                  "reason": "the same source_id twice in one batch"})
            continue
        record = {**record, "source": source, "source_id": source_id}
        canonical = json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))
        out[source_id] = (record, hashlib.sha256(canonical.encode()).hexdigest())
    return out


def store_hashes(session: Session, hashes: dict[str, str]) -> None:
    """Record each study's source hash (study id -> sha256), in one statement."""
    if not hashes:
        return
    table = Study.__table__
    session.execute(
        update(table).where(table.c.id == bindparam("_id"))
        .values(source_hash=bindparam("_hash")),
        [{"_id": k, "_hash": v} for k, v in hashes.items()],
    )


def existing_studies(session: Session, source: str, source_ids: list[str]) -> dict[str, Any]:
    """The live studies of ``source`` with these source ids, by source id."""
    if not source_ids:
        return {}
    rows = session.execute(
        select(Study.id, Study.source_id, Study.version, Study.owner_id, Study.source_hash)
        .where(Study.source == source, Study.source_id.in_(source_ids),
               Study.deleted_at.is_(None))
    )
    return {row.source_id: row for row in rows}


def last_changed_by_ingest(session: Session, study_ids: list[str]) -> set[str]:
    """Which of the studies were last changed by an ingest run (not by a curator)."""
    if not study_ids:
        return set()
    latest = (
        select(Revision.aggregate_id, func.max(Revision.version).label("version"))
        .where(Revision.aggregate_type == "study", Revision.aggregate_id.in_(study_ids))
        .group_by(Revision.aggregate_id)
        .subquery()
    )
    rows = session.execute(
        select(Revision.aggregate_id)
        .join(latest, (latest.c.aggregate_id == Revision.aggregate_id)
              & (latest.c.version == Revision.version))
        .where(Revision.aggregate_type == "study", Revision.ingest_run_id.is_not(None))
    )
    return {r[0] for r in rows}
