"""The annotation grid: one row per analysis (grouped by study), one column per note key;
booleans as checkboxes, other types as values; adding a column; a new annotation.

Saves go through the annotation service with the page's version as If-Match: an edit made
meanwhile refuses the save (a 412 page) instead of being overwritten.
"""

from __future__ import annotations

import math
from itertools import groupby
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from neurostore.api.context import reads, services
from neurostore.schemas.studysets import NOTE_TYPES, note_type
from neurostore.services.errors import Invalid
from neurostore.services.permissions import Subject
from neurostore.services.versioning import Record
from neurostore.web.context import form_version, protect, require_signed_in, web_actor

blp = Blueprint("web-annotations", __name__)
blp.before_request(protect)

#: The column a new annotation starts with (as Neurosynth Compose's do).
FIRST_COLUMN = {"included": {"type": "boolean", "default": True, "order": 0}}


def columns(note_keys: dict[str, Any]) -> list[tuple[str, str]]:
    """The note keys as (name, type), by their ``order`` then name."""
    def rank(item: tuple[str, Any]) -> tuple[float, str]:
        order = item[1].get("order") if isinstance(item[1], dict) else None
        return (order if order is not None else math.inf, item[0])

    return [(name, note_type(spec)) for name, spec in sorted(note_keys.items(), key=rank)]


def _may_edit(record: Record) -> bool:
    subject = Subject("annotation", record.id, record.state["user"],
                      bool(record.state["public"]))
    return services().annotations.policy.allows("update", web_actor(), subject)


def _cell(kind: str, raw: str | None, where: str) -> Any:
    """A submitted cell as its column's type (booleans: a checkbox sent or not)."""
    if kind == "boolean":
        return raw is not None
    raw = (raw or "").strip()
    if not raw:
        return None
    if kind == "string":
        return raw
    try:
        number = float(raw)
    except ValueError:
        raise Invalid({where: f"expected a {kind}, got {raw!r}"}) from None
    if kind == "integer":
        if not number.is_integer():
            raise Invalid({where: f"expected an integer, got {raw!r}"})
        return int(number)
    if not math.isfinite(number):
        raise Invalid({where: f"expected a finite number, got {raw!r}"})
    return number


@blp.route("/annotations/<id>", methods=["GET"])
def annotation(id: str) -> Any:
    """The grid of an annotation's notes."""
    record = services().annotations.get(web_actor(), id)
    studyset = services().studysets.get(web_actor(), record.state["studyset"]).state
    state = reads().with_note_details([record.state])[0]
    studies = [(study, list(notes)) for study, notes in
               groupby(state["notes"], key=lambda n: n["study"])]
    return render_template("annotation.html", record=record, state=state, studies=studies,
                           studyset_name=studyset["name"],
                           columns=columns(state["note_keys"]), editable=_may_edit(record),
                           note_types=NOTE_TYPES)


@blp.route("/annotations/<id>", methods=["POST"])
def save(id: str) -> Any:
    """Save the grid's cells (only the rows the page showed)."""
    if (signin := require_signed_in()) is not None:
        return signin
    version = form_version()
    record = services().annotations.get(web_actor(), id)
    keys = columns(record.state["note_keys"])
    notes = []
    for n, analysis in enumerate(request.form.getlist("row")):
        notes.append({"analysis": analysis, "note": {
            name: _cell(kind, request.form.get(f"c{n}.{k}"), f"{analysis}.{name}")
            for k, (name, kind) in enumerate(keys)}})
    services().annotations.update(web_actor(), id, {"notes": notes}, if_match=version)
    flash("Annotation saved.", "success")
    return redirect(url_for(".annotation", id=id), 303)


@blp.route("/annotations/<id>/columns", methods=["POST"])
def add_column(id: str) -> Any:
    """Add a note column (each analysis gets a blank value)."""
    if (signin := require_signed_in()) is not None:
        return signin
    version = form_version()
    name = request.form.get("name", "").strip()
    kind = request.form.get("type", "")
    record = services().annotations.get(web_actor(), id)
    keys = record.state["note_keys"]
    if not name:
        raise Invalid({"name": "give the column a name"})
    if name in keys:
        raise Invalid({"name": f"the annotation already has a column {name!r}"})
    column = {"type": kind, "order": len(keys)}
    services().annotations.update(web_actor(), id, {"note_keys": {**keys, name: column}},
                                  if_match=version)
    flash(f"Column {name!r} added.", "success")
    return redirect(url_for(".annotation", id=id), 303)


@blp.route("/studysets/<studyset_id>/annotations", methods=["POST"])
def new(studyset_id: str) -> Any:
    """Start an annotation of a studyset, with an ``included`` column."""
    if (signin := require_signed_in()) is not None:
        return signin
    created = services().annotations.create(web_actor(), {
        "studyset": studyset_id, "name": "Annotation", "note_keys": FIRST_COLUMN})
    flash("Annotation created: tick the analyses to include, add columns as you need.",
          "success")
    return redirect(url_for(".annotation", id=created.id), 303)
