"""Matching an upstream record to the store's version of it, so unchanged data stays put.

When a source record changes, the new tree reuses the ids of the children it matches
(tables by ``t_id``, analyses by table and name, then by position; peaks and images by
position), so annotations on analyses survive an upstream correction.
"""

from __future__ import annotations

from typing import Any


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
