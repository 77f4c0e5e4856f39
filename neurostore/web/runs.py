"""Meta-analysis runs as pages: the list, one run's progress (live), cancel, and its results.

A run's page polls its state (``/meta-analyses/<id>/state``, the session's view of
``GET /api/meta-analyses/<id>``) while it is queued or running and reloads once it ends;
a finished run shows its maps in the slice viewer, its pictures, the cluster table, the
methods paragraph and the downloads (:mod:`neurostore.web.run_files`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError

from neurostore.api.context import services
from neurostore.api.errors import field_errors
from neurostore.schemas.meta_analyses import RunListArgs
from neurostore.services.errors import NotFound
from neurostore.vocabulary import ACTIVE_STATUSES
from neurostore.web.context import NAV, protect, web_actor
from neurostore.web.run_files import map_volume

blp = Blueprint("web-runs", __name__)
blp.before_request(protect)
NAV.append(("web-runs.runs", "Meta-analyses", "all"))

#: The list's filters, in the API's names (the page's query string is the API's).
FILTERS = ("snapshot", "status", "limit")


def may_cancel(run: dict[str, Any]) -> bool:
    """Whether the signed-in user may cancel ``run`` (its owner or an administrator),
    and it can still be cancelled."""
    who = web_actor()
    return (run["status"] in ACTIVE_STATUSES and who.is_authenticated
            and (who.id == run["user"] or who.is_admin))


@blp.route("/meta-analyses", methods=["GET"])
def runs() -> Any:
    """Your runs and the public ones, newest first (the API's filters)."""
    form = {k: v.strip() for k in FILTERS if (v := request.args.get(k, "")).strip()}
    try:
        args = RunListArgs().load(form)
    except ValidationError as exc:
        return render_template("runs.html", form=form, errors=field_errors(exc.messages),
                               mine=[], others=[]), 400
    rows = services().analysis_runs.list(web_actor(), snapshot=args.get("snapshot"),
                                         status=args.get("status"), limit=args["limit"])
    me = web_actor().id
    return render_template("runs.html", form=form, errors={},
                           mine=[r for r in rows if me and r["user"] == me],
                           others=[r for r in rows if not me or r["user"] != me])


@blp.route("/meta-analyses/<run_id>", methods=["GET"])
def run(run_id: str) -> Any:
    """One run: its status and progress, then its results."""
    state = services().analysis_runs.get(web_actor(), run_id)
    try:
        snapshot = services().snapshots.get(web_actor(), state["snapshot"])
    except NotFound:  # an administrator may read a run whose snapshot another user froze
        snapshot = None
    results = state["results"] or {}
    maps = sorted(results.get("maps", {}), key=lambda n: (not n.startswith("z"), len(n), n))
    shown = request.args.get("map") or (maps[0] if maps else None)
    if maps and shown not in maps:
        raise NotFound(f"meta-analysis {run_id} has no map {shown!r}")
    viewer = map_volume(results["maps"][shown]).viewer() if shown else None
    return render_template("run.html", run=state, snapshot=snapshot, maps=maps, shown=shown,
                           viewer=viewer, results=results,
                           formats=services().snapshots.formats,
                           may_cancel=may_cancel(state),
                           active=state["status"] in ACTIVE_STATUSES)


@blp.route("/meta-analyses/<run_id>/state", methods=["GET"])
def run_state(run_id: str) -> Any:
    """The run's status and progress as JSON (what its page polls)."""
    state = services().analysis_runs.get(web_actor(), run_id)
    return jsonify({k: state[k] for k in ("id", "status", "progress", "error", "attempts",
                                          "started_at", "finished_at")})


@blp.route("/meta-analyses/<run_id>/cancel", methods=["POST"])
def cancel(run_id: str) -> Any:
    """Cancel a queued or running run (its owner or an administrator)."""
    if not web_actor().is_authenticated:
        return redirect(url_for("web-auth.signin", next=url_for("web-runs.run", run_id=run_id)))
    services().analysis_runs.cancel(web_actor(), run_id)
    return redirect(url_for("web-runs.run", run_id=run_id), 303)
