"""The publication page: a paper's metadata and each source's version of its data side by
side (NeuroQuery, Neurosynth, NeuroVault and curated copies), with their analyses, peaks,
maps and the studysets holding them. ``/studies/<id>`` opens it on one version.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from neurostore import json_codec
from neurostore.api.context import reads, services
from neurostore.services.actors import Actor
from neurostore.services.errors import PermissionDenied
from neurostore.services.history import Provenance
from neurostore.services.permissions import Subject
from neurostore.web.context import protect, require_signed_in, web_actor
from neurostore.web.study_images import shown_images

blp = Blueprint("web-study", __name__)
blp.before_request(protect)

#: The rows of the side-by-side table: (key in a version, label).
COMPARED = (("name", "Title"), ("authors", "Authors"), ("year", "Year"),
            ("publication", "Journal"), ("doi", "DOI"), ("pmid", "PMID"), ("pmcid", "PMCID"))
#: Sources whose versions are the store's own (a user's study or a copy of one).
CURATED = (None, "neurostore")


def source_label(version: dict[str, Any]) -> str:
    """What a version is: its source, or "curated" for one a user made or copied."""
    return "curated" if version.get("source") in CURATED else version["source"]


def study_subject(version: dict[str, Any]) -> Subject:
    """What the permission policy needs to know of a study version (a state or document)."""
    return Subject("study", version["id"], version.get("user"), bool(version.get("public")))


def may_edit(actor: Actor, version: dict[str, Any]) -> bool:
    """Whether ``actor`` may edit the version, by the API's own policy."""
    return services().studies.policy.allows("update", actor, study_subject(version))


def check_may_edit(actor: Actor, version: dict[str, Any]) -> None:
    """Raise :class:`PermissionDenied` saying who may edit, unless ``actor`` may."""
    if not may_edit(actor, version):
        raise PermissionDenied(
            f"you may not edit study {version['id']}: only its owner, a curator (when it is "
            "public) or an administrator may. You can make your own copy of it from its "
            "publication page and edit that.")


def _version_view(doc: dict[str, Any], studysets: list[dict[str, Any]],
                  owners: dict[str, str], actor: Actor) -> dict[str, Any]:
    analyses = doc["analyses"]
    return {
        "doc": doc,
        "label": source_label(doc),
        "owner": owners.get(doc.get("user") or "", ""),
        "n_analyses": len(analyses),
        "n_points": sum(len(a["points"]) for a in analyses),
        "n_images": sum(len(a["images"]) for a in analyses),
        "studysets": studysets,
        "may_edit": may_edit(actor, doc),
        "images": {a["id"]: shown_images(doc["id"], a["images"]) for a in analyses},
    }


@blp.route("/base-studies/<id>", methods=["GET"])
def publication(id: str) -> Any:
    """A publication with each of its visible versions side by side."""
    actor = web_actor()
    base = reads().base_study(actor, id)
    ids = base["versions"]
    docs = [json_codec.loads(body.text) for body in reads().nested_studies(actor, ids)]
    studysets = reads().studysets_of(actor, [d["id"] for d in docs]) if docs else {}
    owners = reads().user_names([d.get("user") for d in docs])
    versions = [_version_view(d, studysets.get(d["id"], []), owners, actor) for d in docs]
    differs = {key for key, _ in COMPARED
               if len({str(v["doc"].get(key) or "") for v in versions}) > 1}
    return render_template("study.html", base=base, versions=versions, compared=COMPARED,
                           differs=differs, focus=request.args.get("focus", ""))


@blp.route("/studies/<id>", methods=["GET"])
def study(id: str) -> Any:
    """One version: its publication's page, opened on it."""
    tree = reads().study_tree(web_actor(), id)
    base = json_codec.loads(tree.document)["base_study"] if tree.document else None
    if base is None:
        return render_template("study.html", base=None, versions=[_version_view(
            json_codec.loads(tree.document), [], {}, web_actor())], compared=COMPARED,
            differs=set(), focus=id)
    return redirect(url_for("web-study.publication", id=base, focus=id,
                            _anchor=f"version-{id}"), 303)


@blp.route("/studies/<id>/copy", methods=["POST"])
def copy(id: str) -> Any:
    """Make the signed-in user's own copy of a version (to edit it), and open its editor."""
    if (signin := require_signed_in()) is not None:
        return signin
    record = services().studies.clone(web_actor(), id, provenance=Provenance(
        message=f"copy of study {id}"))
    return redirect(url_for("web-study-edit.edit", id=record.id), 303)
