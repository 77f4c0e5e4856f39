"""Studyset pages: the list, a new studyset, one studyset with its studies and their
screening, editing, cloning, and adding studies picked on the search page.

Every write goes through the studyset service with the version the page showed as
If-Match (a stale one is a 412 page, never an overwrite).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from neurostore.api.context import reads, services
from neurostore.api.errors import BadRequest, field_errors
from neurostore.api.studies import split_list_args
from neurostore.schemas.api_queries import StudysetListArgs
from neurostore.services import screening
from neurostore.services.errors import Invalid, PermissionDenied
from neurostore.services.permissions import Subject
from neurostore.services.versioning import Record
from neurostore.web.context import NAV, form_version, protect, require_signed_in, web_actor

blp = Blueprint("web-studysets", __name__)
blp.before_request(protect)
NAV.append(("web-studysets.studysets", "Studysets", "all"))

#: What the screening form's buttons do, and what each sets a study's decision to.
SCREENING_ACTIONS = {"include": screening.INCLUDED, "exclude": screening.EXCLUDED,
                     "clear": None}


def may_edit(record: Record) -> bool:
    """Whether the signed-in user may change this studyset (owner, curator of a public
    one, administrator)."""
    subject = Subject("studyset", record.id, record.state["user"], bool(record.state["public"]))
    return services().studysets.policy.allows("update", web_actor(), subject)


def require_edit(record: Record) -> None:
    """Refuse, saying why, a change to a studyset the user may not change."""
    if not may_edit(record):
        name = record.state.get("name") or record.id
        raise PermissionDenied(
            f"the studyset \u201c{name}\u201d belongs to another user: only its owner, an "
            "administrator, or a curator (when it is public) may change it. Clone it to "
            "get a copy of your own.")


def _submitted() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The new/edit form's fields, and what is wrong with them."""
    values = {"name": request.form.get("name", "").strip(),
              "description": request.form.get("description", "").strip() or None,
              "public": request.form.get("public") == "on"}
    errors = {} if values["name"] else {"name": ["give the studyset a name"]}
    return values, errors


@blp.route("/studysets", methods=["GET"])
def studysets() -> Any:
    """Public studysets and, signed in, mine (``mine=1``: only mine)."""
    who = web_actor()
    form = {k: v.strip() for k in ("search", "cursor", "limit")
            if (v := request.args.get(k, "")).strip()}
    mine = who.is_authenticated and request.args.get("mine") == "1"
    errors: dict[str, list[str]] = {}
    page = None
    try:
        args = StudysetListArgs().load(form)
    except ValidationError as exc:
        errors = field_errors(exc.messages)
    else:
        if mine:
            args["user_id"] = who.id
        query, filters = split_list_args(args)
        page = reads().studysets(who, query, **filters)
    api_args = {**form, "user_id": who.id if mine else None}
    return render_template(
        "studysets.html", form=form, mine=mine, errors=errors, page=page, api_args=api_args,
        next_args={**form, "mine": "1" if mine else None, "cursor": page.next}
        if page and page.next else None), 400 if errors else 200


@blp.route("/studysets/new", methods=["GET", "POST"])
def new() -> Any:
    """A new studyset: name, description, public or private."""
    if (signin := require_signed_in()) is not None:
        return signin
    values: dict[str, Any] = {"name": "", "description": "", "public": True}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values, errors = _submitted()
        if not errors:
            try:
                record = services().studysets.create(web_actor(), values)
            except Invalid as exc:
                errors = exc.field_errors
            else:
                flash("Studyset created. Add studies to it from the search page.", "success")
                return redirect(url_for(".studyset", id=record.id), 303)
    return render_template("studyset_form.html", values=values, errors=errors,
                           record=None), 422 if errors else 200


@blp.route("/studysets/<id>", methods=["GET"])
def studyset(id: str) -> Any:
    """A studyset: its studies (title, year, authors, analyses, peaks, screening) and the
    PRISMA-style counts of its screening."""
    who = web_actor()
    record = services().studysets.get(who, id)
    members = reads().studyset_members(who, id)
    decisions = screening.decisions_of(record.state)
    seen: set[str] = set()
    for member in members:
        base = member["base_study"]
        member["repeat"] = base is not None and base in seen
        seen.add(base)
        member["decision"] = decisions.get(member["id"])
    return render_template(
        "studyset.html", record=record, state=record.state, members=members,
        counts=screening.counts(record.state), editable=may_edit(record),
        annotations=reads().annotations_of(who, id), reasons=screening.STANDARD_REASONS)


@blp.route("/studysets/<id>/edit", methods=["GET", "POST"])
def edit(id: str) -> Any:
    """Change a studyset's name, description and visibility."""
    if (signin := require_signed_in()) is not None:
        return signin
    record = services().studysets.get(web_actor(), id)
    require_edit(record)
    values = {k: record.state[k] for k in ("name", "description", "public")}
    errors: dict[str, list[str]] = {}
    version = record.version
    if request.method == "POST":
        version = form_version()
        values, errors = _submitted()
        if not errors:
            try:
                services().studysets.update(web_actor(), id, values, if_match=version)
            except Invalid as exc:
                errors = exc.field_errors
            else:
                flash("Studyset saved.", "success")
                return redirect(url_for(".studyset", id=id), 303)
    return render_template("studyset_form.html", values=values, errors=errors,
                           record=record, version=version), 422 if errors else 200


@blp.route("/studysets/<id>/clone", methods=["GET", "POST"])
def clone(id: str) -> Any:
    """Copy a studyset (and its annotations I can read) as one of my own."""
    if (signin := require_signed_in()) is not None:
        return signin
    record = services().studysets.get(web_actor(), id)
    if request.method == "POST":
        copy = services().studysets.clone(web_actor(), id)
        flash("This is your copy: change it freely; the original stays as it was.", "success")
        return redirect(url_for(".studyset", id=copy.id), 303)
    return render_template("studyset_clone.html", record=record, state=record.state)


@blp.route("/studysets/add", methods=["POST"])
def add() -> Any:
    """Add the studies picked on the search page to one of my studysets."""
    if (signin := require_signed_in()) is not None:
        return signin
    target = request.form.get("studyset", "").strip()
    if not target:
        raise BadRequest("choose the studyset to add the studies to",
                         {"studyset": ["choose a studyset"]})
    record = services().studysets.get(web_actor(), target)
    require_edit(record)
    picked = request.form.getlist("study")
    _, added = services().studysets.add_studies(web_actor(), target, picked)
    again = len(set(picked)) - added
    flash(f"Added {added} stud{'y' if added == 1 else 'ies'}"
          + (f" ({again} already in the studyset)" if again else "") + ".", "success")
    return redirect(url_for(".studyset", id=target), 303)


@blp.route("/studysets/<id>/screening", methods=["POST"])
def screen(id: str) -> Any:
    """Include, exclude (with a reason), clear or remove the selected studies."""
    if (signin := require_signed_in()) is not None:
        return signin
    action = request.form.get("action", "")
    if action not in (*SCREENING_ACTIONS, "remove"):
        raise BadRequest(f"unknown action {action!r}",
                         {"action": ["include, exclude, clear or remove"]})
    record = services().studysets.get(web_actor(), id)
    require_edit(record)
    version, picked = form_version(), request.form.getlist("study")
    if action == "remove":
        services().studysets.remove_studies(web_actor(), id, picked, if_match=version)
        flash(f"Removed {len(picked)} stud{'y' if len(picked) == 1 else 'ies'}.", "success")
    else:
        reason = request.form.get("reason_other", "").strip() or request.form.get("reason")
        services().studysets.screen(web_actor(), id, picked, SCREENING_ACTIONS[action],
                                    reason, if_match=version)
        done = {"include": "Included", "exclude": "Excluded", "clear": "Cleared"}[action]
        why = f" ({reason.strip()})" if action == "exclude" and reason else ""
        flash(f"{done} {len(picked)} stud{'y' if len(picked) == 1 else 'ies'}{why}.",
              "success")
    return redirect(url_for(".studyset", id=id) + "#screening", 303)
