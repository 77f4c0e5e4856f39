"""Ids of the children of a study tree: new ones given, given ones checked."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from neurostore.db import new_id
from neurostore.models import Analysis, Image, Point, Table
from neurostore.services.errors import Invalid


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
