"""A study tree to write, and its canonical JSON state.

A study tree is a study with its tables, analyses, conditions, weights, points, point
values and images. The canonical state built here from the data about to be written
equals what :func:`neurostore.services.trees.read.read_trees` reads back, which is what
revisions store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

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
#: The columns of each child that the state and the rows share, by the same name.
TABLE_FIELDS = ("t_id", "name", "caption", "footer", "metadata")
ANALYSIS_FIELDS = ("name", "description", "metadata")
POINT_FIELDS = ("space", "kind", "label_id", "cluster_size", "subpeak", "deactivation")
IMAGE_FIELDS = ("url", "filename", "sha256", "space", "value_type", "metadata")


@dataclass
class TreeWrite:
    """One study tree to write.

    ``data`` is loaded (validated, normalised) input whose children all carry ids
    (see :func:`neurostore.services.trees.ids.assign_ids`).
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
    return {"id": table["id"], **{k: table.get(k) for k in TABLE_FIELDS}}


def _analysis_state(a: dict[str, Any], conditions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": a["id"],
        **{k: a.get(k) for k in ANALYSIS_FIELDS},
        "table": a.get("table"),
        "conditions": [conditions[c["id"]] for c in a["conditions"]],
        "weights": [float(w) for w in a["weights"]],
        "points": [
            {
                "id": p["id"],
                "coordinates": list(p["coordinates"]),
                **{k: p.get(k) for k in POINT_FIELDS},
                "values": [{"kind": v.get("kind"), "value": v.get("value")} for v in p["values"]],
            }
            for p in a["points"]
        ],
        "images": [
            {
                "id": i["id"],
                **{k: i.get(k) for k in IMAGE_FIELDS},
                "add_date": iso(i.get("add_date")),
            }
            for i in a["images"]
        ],
    }
