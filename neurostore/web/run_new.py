"""A studyset's meta-analysis form: freeze it into a snapshot, choose an estimator, run.

The estimator, its parameters and corrections come from the run catalogue
(:mod:`neurostore.web.run_form`). Sending the form checks the spec, freezes the studyset
(with the annotation and inclusion column chosen) through the snapshot service, and asks
for the run through the run service, as ``POST /api/studysets/<id>/snapshots`` and
``POST /api/meta-analyses`` do; any refusal re-renders the form naming the field.

What is frozen is decided by the snapshot service alone: when studysets learn to screen
studies out, that service leaves them out of every snapshot (API, command line and this
page alike) and this page needs no change.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from neurostore.api.context import reads, services
from neurostore.services.errors import Invalid
from neurostore.services.reads.pagination import ListQuery
from neurostore.snapshot.selection import BOOLEAN_TYPES
from neurostore.web.context import protect, require_signed_in, web_actor
from neurostore.web.run_form import RunForm

blp = Blueprint("web-run-new", __name__)
blp.before_request(protect)

#: Annotations of a studyset offered as the analyses to freeze.
ANNOTATIONS_SHOWN = 50
#: Fields of what is frozen (the snapshot service's, and the run service's verdict on what
#: the snapshot holds): the form's "selection" control chooses them.
SELECTION_FIELDS = ("annotation", "include", "studyset", "snapshot")


def _column_type(declared: Any) -> Any:
    return declared.get("type") if isinstance(declared, dict) else declared


def selections(annotations: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The choices of what to freeze: every analysis, or an annotation's analyses (all of
    them, or those whose boolean column is true); ``(value, label)`` pairs, the value
    being ``annotation-id`` or ``annotation-id:column``."""
    out = [("", "every analysis (no annotation)")]
    for annotation in annotations:
        name = annotation.get("name") or annotation["id"]
        for column, declared in sorted((annotation.get("note_keys") or {}).items()):
            if _column_type(declared) in BOOLEAN_TYPES:
                out.append((f"{annotation['id']}:{column}",
                            f"{name}: analyses whose “{column}” is checked"))
        out.append((annotation["id"], f"{name}: every analysis, with its notes"))
    return out


def _columns(annotations: list[dict[str, Any]]) -> list[str]:
    return sorted({c for a in annotations for c in (a.get("note_keys") or {})})


def _page(studyset_id: str, form: dict[str, str], errors: dict[str, list[str]],
          status: int = 200) -> Any:
    who = web_actor()
    studyset = services().studysets.get(who, studyset_id)
    annotations = reads().annotations(who, ListQuery(limit=ANNOTATIONS_SHOWN),
                                      studyset=studyset_id).rows
    choices = selections(annotations)
    if "selection" not in form:
        # Compose's habit: freeze the analyses an annotation marks included.
        form = {**form, "selection": choices[1][0] if len(choices) > 1 else ""}
    run_form = RunForm.build(services().analysis_runs.catalogue(), form.get("estimator"))
    return render_template("run_new.html", studyset=studyset, run_form=run_form, form=form,
                           errors=errors, selections=choices, columns=_columns(annotations)
                           ), status


@blp.route("/studysets/<studyset_id>/meta-analysis", methods=["GET"])
def new_run(studyset_id: str) -> Any:
    """The form (``?estimator=`` shows another estimator's parameters)."""
    if (away := require_signed_in()) is not None:
        return away
    return _page(studyset_id, request.args.to_dict(), {})


@blp.route("/studysets/<studyset_id>/meta-analysis", methods=["POST"])
def submit_run(studyset_id: str) -> Any:
    """Freeze the studyset and ask for the run; the run's page follows its progress."""
    if (away := require_signed_in()) is not None:
        return away
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    who = web_actor()
    catalogue = services().analysis_runs.catalogue()
    run_form = RunForm.build(catalogue, form.get("estimator"))
    try:
        if run_form is None or run_form.estimator["name"] != form.get("estimator"):
            raise Invalid({"estimator": f"choose one of the estimators offered, not "
                                        f"{form.get('estimator')!r}"})
        spec = run_form.spec(form)
        services().analysis_runs.check(spec)
        annotation, _, include = form.get("selection", "").partition(":")
        snapshot, _ = services().snapshots.create(who, studyset_id,
                                                  annotation_id=annotation or None,
                                                  include=include or None)
        run = services().analysis_runs.create(who, {"snapshot": snapshot["id"], **spec})
    except Invalid as exc:
        errors = {("selection" if k in SELECTION_FIELDS else k): v
                  for k, v in exc.field_errors.items()}
        return _page(studyset_id, form, errors, 422)
    return redirect(url_for("web-runs.run", run_id=run["id"]), 303)
