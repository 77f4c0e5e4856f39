"""A study version's history: its revisions (who, when, why), a side-by-side diff of any
two, and reverting to one (a new revision holding that state; the history service's)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from neurostore.api.context import reads, services
from neurostore.api.errors import BadRequest
from neurostore.services.errors import RevisionConflict
from neurostore.services.history import Provenance
from neurostore.web.context import protect, require_signed_in, web_actor
from neurostore.web.study import may_edit
from neurostore.web.study_compare import PEAK_CELLS, compare

blp = Blueprint("web-study-history", __name__)
blp.before_request(protect)


def _number(source: Any, name: str) -> int:
    text = (source.get(name) or "").strip()
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise BadRequest(f"{name} must be a revision number",
                         {name: [f"{text!r} is not a revision number"]})
    return int(text)


@blp.route("/studies/<id>/history", methods=["GET"])
def history(id: str) -> Any:
    """The revisions, newest first, with links to their changes and revert buttons."""
    actor = web_actor()
    record = services().studies.get(actor, id)
    revisions = services().studies.revisions(actor, id)[::-1]
    return render_template("study_history.html", study=record.state, version=record.version,
                           revisions=revisions, may_revert=may_edit(actor, record.state),
                           names=reads().user_names([r["user"] for r in revisions]))


@blp.route("/studies/<id>/diff", methods=["GET"])
def diff(id: str) -> Any:
    """Two revisions side by side: fields and peaks, changed cells highlighted."""
    start, end = _number(request.args, "from"), _number(request.args, "to")
    actor = web_actor()
    studies = services().studies
    before, after = studies.revision(actor, id, start), studies.revision(actor, id, end)
    current = studies.get(actor, id)
    return render_template(
        "study_diff.html", study=current.state, version=current.version, before=before,
        after=after, comparison=compare(before["state"], after["state"]),
        cells=PEAK_CELLS, may_revert=may_edit(actor, current.state),
        names=reads().user_names([before["user"], after["user"]]))


@blp.route("/studies/<id>/revert", methods=["POST"])
def revert(id: str) -> Any:
    """Write an earlier revision's state as a new revision (If-Match: the page's version)."""
    if (signin := require_signed_in()) is not None:
        return signin
    target, version = _number(request.form, "revision"), _number(request.form, "version")
    message = (request.form.get("message") or "").strip() or f"revert to revision {target}"
    try:
        record = services().studies.revert(web_actor(), id, target, if_match=version,
                                           provenance=Provenance(message=message))
    except RevisionConflict as exc:
        raise RevisionConflict(
            f"study {id} changed since you opened this page (it is now at version "
            f"{exc.current_version}, you saw version {version}): nothing was reverted. "
            "Open its history again to see the new revisions, then revert if you still "
            "want to.", exc.current_version) from exc
    flash(f"Reverted to revision {target}: saved as version {record.version}.", "success")
    return redirect(url_for("web-study-history.history", id=id), 303)
