"""Curation: edit a study version's fields, analyses and peaks, with a change message.

The save is the API's nested study update (:meth:`StudyService.modify`, as ``PATCH
/api/studies/<id>``), sent with the version the page was loaded from as If-Match. When
someone saved meanwhile, nothing is written: the page shows their change and a form with
the curator's own edits made again on top of the new version, to check and resubmit.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from neurostore.api.context import reads, services
from neurostore.services.errors import Invalid, RevisionConflict
from neurostore.services.history import Provenance
from neurostore.web.context import form_version, protect, require_signed_in, web_actor
from neurostore.web.study import check_may_edit
from neurostore.web.study_compare import compare
from neurostore.web.study_edits import Problems, apply, input_of, patch_of, read_changes
from neurostore.web.study_form import FIELDS, StudyForm, place_of

blp = Blueprint("web-study-edit", __name__)
blp.before_request(protect)


class FormProblems(Exception):
    """The form holds input that cannot be read; raised inside the write, so that nothing
    is written."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("the form has problems")
        self.problems = problems


def _render(state: dict[str, Any], form: StudyForm, status: int = 200,
            problems: Problems | None = None, **extra: Any) -> Any:
    # Fields the form did not send show their current values.
    form.fields = {**StudyForm.from_state(state, form.version).fields, **form.fields}
    return render_template("study_edit.html", study=state, form=form, fields=FIELDS,
                           problems=problems or Problems(), **extra), status


@blp.route("/studies/<id>/edit", methods=["GET"])
def edit(id: str) -> Any:
    """The curation form, on the current version."""
    if (signin := require_signed_in()) is not None:
        return signin
    record = services().studies.get(web_actor(), id)
    check_may_edit(web_actor(), record.state)
    return _render(record.state, StudyForm.from_state(record.state, record.version))


@blp.route("/studies/<id>/edit", methods=["POST"])
def save(id: str) -> Any:
    """Save the form as one revision, or explain why not (bad input, a stale version)."""
    if (signin := require_signed_in()) is not None:
        return signin
    actor = web_actor()
    form = StudyForm.from_request(request.form, form_version())
    inputs: dict[str, str] = {}

    def change(current: dict[str, Any]) -> dict[str, Any]:
        changes, problems = read_changes(form, current)
        if problems:
            raise FormProblems(problems)
        applied = apply(changes, current)
        inputs.update(applied.inputs)
        return patch_of(applied, current)

    try:
        record = services().studies.modify(
            actor, id, change, if_match=form.version,
            provenance=Provenance(message=form.message or None))
    except RevisionConflict:
        return _stale(id, form)
    except FormProblems as exc:
        return _render(services().studies.get(actor, id).state, form, 422, exc.problems)
    except Invalid as exc:
        problems = Problems()
        for path, messages in exc.field_errors.items():
            name = input_of(path, inputs)
            for message in messages:
                problems.add(name, place_of(name, form), message)
        return _render(services().studies.get(actor, id).state, form, 422, problems)
    if record.version == form.version:
        flash("Nothing was changed, so nothing was saved.", "success")
    else:
        flash(f"Saved as version {record.version}.", "success")
    base = record.state.get("base_study")
    if base:
        return redirect(url_for("web-study.publication", id=base, focus=id,
                                _anchor=f"version-{id}"), 303)
    return redirect(url_for("web-study.study", id=id), 303)


def _stale(id: str, form: StudyForm) -> Any:
    """412: the version changed since the form was loaded. Show what changed meanwhile
    and the curator's edits redone on the current version (nothing is written)."""
    studies, actor = services().studies, web_actor()
    theirs = studies.get(actor, id)
    loaded = studies.revision(actor, id, form.version)["state"]
    changes, problems = read_changes(form, loaded)
    redone = apply(changes, theirs.state)
    between = [r for r in studies.revisions(actor, id) if r["version"] > form.version]
    return _render(theirs.state, StudyForm.from_state(redone.state, theirs.version,
                                                      form.message),
                   412, problems, stale=True, meanwhile=compare(loaded, theirs.state),
                   mine=compare(theirs.state, redone.state), between=between,
                   loaded_version=form.version,
                   names=reads().user_names([r["user"] for r in between]))
