"""The search page: publications by full text, the API's filters and a coordinate radius."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from marshmallow import ValidationError

from neurostore.api.context import reads
from neurostore.api.errors import field_errors
from neurostore.api.studies import shown_as, split_list_args
from neurostore.schemas.api_queries import SPACES, StudyListArgs
from neurostore.services.reads.studies import StudyFilters
from neurostore.web.context import protect, web_actor

blp = Blueprint("web-search", __name__)
blp.before_request(protect)

#: The form's fields, in the API's names (the page's query string is the API's).
FIELDS = ("search", "year_min", "year_max", "source", "data_type", "x", "y", "z", "radius",
          "space", "sort", "desc", "limit", "cursor")
SORTS = (("created_at", "newest"), ("year", "year"), ("name", "title"),
         ("updated_at", "last edited"))
SOURCES = ("neuroquery", "neurosynth", "neurovault", "sleuth", "nimads")


def _form() -> dict[str, str]:
    """The submitted form: only its fields, blanks left out (a blank means "any")."""
    return {k: v.strip() for k in FIELDS if (v := request.args.get(k, "")).strip()}


@blp.route("/", methods=["GET"])
@blp.route("/search", methods=["GET"])
def search() -> Any:
    """Search publications; each result shows its sources and peak counts, and a signed-in
    user picks results to add to a studyset (the version of each with the most peaks)."""
    form = _form()
    errors: dict[str, list[str]] = {}
    page = None
    counts: dict[str, dict[str, Any]] = {}
    try:
        args = StudyListArgs().load(form)
    except ValidationError as exc:
        errors = field_errors(exc.messages)
    else:
        query, filters = split_list_args(args)
        shown_as(args, filters)
        page = reads().base_studies(web_actor(), StudyFilters(**filters), query)
        counts = reads().version_counts([v for row in page.rows for v in row["versions"]])
    cards = []
    for row in page.rows if page else []:
        versions = [counts[v] for v in row["versions"] if v in counts]
        richest = max((v for v in row["versions"] if v in counts),
                      key=lambda v: (counts[v]["n_points"], counts[v]["n_images"]), default=None)
        cards.append({**row, "richest": richest,
                      "sources": sorted({v["source"] or "curated" for v in versions}),
                      "n_points": max((v["n_points"] for v in versions), default=0),
                      "n_images": max((v["n_images"] for v in versions), default=0)})
    status = 400 if errors else 200
    # Where the signed-in user can add the studies picked among the results.
    targets = reads().owned_studysets(web_actor()) if page and page.rows else []
    return render_template("search.html", form=form, errors=errors, page=page, cards=cards,
                           targets=targets,
                           sorts=SORTS, sources=SOURCES, spaces=SPACES,
                           next_args={**form, "cursor": page.next} if page and page.next
                           else None), status
