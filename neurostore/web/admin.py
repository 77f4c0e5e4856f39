"""Administration pages: ingestion runs (watch them, start one) and users' roles.

Both pages act through the services the API and the command line use
(``POST /api/ingest-runs`` and ``manage.py ingest --queue``; ``PATCH /api/users/<id>``),
so the same rules hold: only administrators may, and anyone else gets a 403 page saying so.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from neurostore.api.context import reads, services
from neurostore.api.errors import field_errors
from neurostore.schemas.ingest_runs import PARAMETERS, IngestRunBody
from neurostore.services.errors import Conflict, Invalid, PermissionDenied
from neurostore.services.reads.pagination import ListQuery
from neurostore.vocabulary import Role, values
from neurostore.web.context import NAV, protect, require_signed_in, web_actor

blp = Blueprint("web-admin", __name__, url_prefix="/admin")
blp.before_request(protect)
NAV.append(("web-admin.ingest_runs", "Ingestion", "admin"))
NAV.append(("web-admin.users", "Users", "admin"))

#: Ingest runs listed, and users per page.
RUNS_SHOWN = 50
USERS_SHOWN = 200


@blp.before_request
def _administrators_only() -> Any:
    """Anonymous visitors sign in first; signed-in users who are not administrators get a
    403 page that says why."""
    if (away := require_signed_in()) is not None:
        return away
    if not web_actor().is_admin:
        raise PermissionDenied("only administrators may manage ingestion and users; ask "
                               "one to change your role if you need to")
    return None


def _parameter_help() -> dict[str, list[tuple[str, str]]]:
    """Each source's options and what they mean (from the schemas the API validates with)."""
    return {source: [(name, (f.metadata or {}).get("description", ""))
                     for name, f in schema().fields.items()]
            for source, schema in PARAMETERS.items()}


def _ingest_page(form: dict[str, str], errors: dict[str, list[str]], status: int = 200) -> Any:
    source = request.args.get("source") or None
    runs = services().ingest.list_runs(web_actor(), source=source if source in PARAMETERS
                                       else None, limit=RUNS_SHOWN)
    return render_template("admin_ingest_runs.html", runs=runs, form=form, errors=errors,
                           sources=list(PARAMETERS), options=_parameter_help(),
                           source=source), status


@blp.route("/ingest-runs", methods=["GET"])
def ingest_runs() -> Any:
    """The latest ingestion runs with their counts and errors, and the form to start one."""
    return _ingest_page({"batch_size": "1000", "parameters": "{}"}, {})


@blp.route("/ingest-runs", methods=["POST"])
def start_ingest_run() -> Any:
    """Queue an ingestion run of a source for a worker."""
    form = {k: request.form.get(k, "") for k in ("source", "parameters", "batch_size")}
    try:
        parameters = json.loads(form["parameters"] or "{}")
    except json.JSONDecodeError as exc:
        return _ingest_page(form, {"parameters": [f"not JSON: {exc.msg} (line {exc.lineno}, "
                                                  f"column {exc.colno})"]}, 400)
    raw = {"source": form["source"], "parameters": parameters}
    if form["batch_size"].strip():
        raw["batch_size"] = _integer(form["batch_size"])
    try:
        body = IngestRunBody().load(raw)
    except ValidationError as exc:
        return _ingest_page(form, field_errors(exc.messages), 422)
    ingest = services().ingest
    try:
        run_id = ingest.start_run(web_actor(), body["source"], body["parameters"], queued=True,
                                  batch_size=body["batch_size"])
    except (Conflict, Invalid) as exc:
        return _ingest_page(form, field_errors(exc.field_errors) if exc.field_errors
                           else {"source": [exc.detail]}, 409)
    flash(f"Ingest run {run_id} of {body['source']} is queued; a worker "
          "(manage.py worker) will run it.", "success")
    return redirect(url_for("web-admin.ingest_runs"), 303)


def _integer(text: str) -> Any:
    # A number the form cannot read is passed on, for the schema to name it.
    try:
        return int(text)
    except ValueError:
        return text


@blp.route("/users", methods=["GET"])
def users() -> Any:
    """Users and their roles; each role can be changed."""
    page = reads().users(ListQuery(limit=USERS_SHOWN, sort="id", desc=False,
                                   cursor=request.args.get("cursor") or None))
    return render_template("admin_users.html", page=page, roles=values(Role))


@blp.route("/users/<user_id>/role", methods=["POST"])
def change_role(user_id: str) -> Any:
    """Give a user another role (the role the page showed must still be theirs)."""
    role = request.form.get("role", "")
    updated = services().users.update(web_actor(), user_id, {"role": role},
                                      if_role=request.form.get("shown_role") or None)
    flash(f"{updated['name']} is now {updated['role']}.", "success")
    return redirect(url_for("web-admin.users"), 303)
