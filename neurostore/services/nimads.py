"""Import of NIMADS studyset (+ annotation) documents as new store aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neurostore.services import versioning
from neurostore.services.actors import Actor
from neurostore.services.errors import Invalid
from neurostore.services.history import NO_PROVENANCE, Provenance
from neurostore.services.permissions import require_user
from neurostore.services.registry import Services
from neurostore.services.uow import UnitOfWork
from neurostore.services.versioning import Record

STUDYSET_FIELDS = ("name", "description", "publication", "authors", "year", "doi", "pmid",
                   "pmcid", "metadata")


@dataclass(frozen=True)
class ImportResult:
    """What an import created; ``analysis_ids`` maps the document's ids to the new ones."""

    studyset: Record
    studies: list[Record]
    annotation: Record | None
    analysis_ids: dict[str, str]


def import_studyset(
    services: Services,
    actor: Actor,
    studyset: dict[str, Any],
    annotation: dict[str, Any] | None = None,
    *,
    uow: UnitOfWork | None = None,
    provenance: Provenance = NO_PROVENANCE,
) -> ImportResult:
    """Create the studies, the studyset and its annotation of a NIMADS document.

    Everything is written in one transaction; ids in the document are replaced by new
    ones, and the annotation's notes follow their analyses.
    """
    require_user(actor, "import studysets")
    if not isinstance(studyset, dict) or not isinstance(studyset.get("studies"), list):
        raise Invalid({"studies": "a NIMADS studyset needs a list of studies"})
    if any(not isinstance(s, dict) for s in studyset["studies"]):
        raise Invalid({"studies": "every study must be an object (ids alone cannot be imported)"})
    with versioning.unit(services.session_factory, uow) as u:
        studies = services.studies.create_many(actor, studyset["studies"], uow=u,
                                               provenance=provenance)
        analysis_ids: dict[str, str] = {}
        for doc, record in zip(studyset["studies"], studies, strict=True):
            for old, new in zip(doc.get("analyses") or [], record.state["analyses"], strict=True):
                if isinstance(old, dict) and old.get("id"):
                    analysis_ids[str(old["id"])] = new["id"]
        body = {k: studyset.get(k) for k in STUDYSET_FIELDS if k in studyset}
        body["name"] = body.get("name") or None
        body["studies"] = [r.id for r in studies]
        created = services.studysets.create(actor, body, uow=u, provenance=provenance)
        note_record = None
        if annotation is not None:
            note_record = services.annotations.create(
                actor, _annotation_body(annotation, created.id, analysis_ids), uow=u,
                provenance=provenance,
            )
    return ImportResult(created, studies, note_record, analysis_ids)


def _annotation_body(doc: dict[str, Any], studyset_id: str, ids: dict[str, str]) -> dict:
    if not isinstance(doc, dict):
        raise Invalid({"annotation": "expected a NIMADS annotation object"})
    notes = []
    missing = []
    for item in doc.get("notes") or []:
        old = item.get("analysis") if isinstance(item, dict) else None
        if isinstance(old, dict):
            old = old.get("id")
        if old not in ids:
            missing.append(str(old))
            continue
        notes.append({"analysis": ids[old], "note": item.get("note") or {}})
    if missing:
        raise Invalid({"annotation.notes": f"notes for analyses not in the studyset: "
                                           f"{', '.join(missing[:10])}"})
    return {
        "studyset": studyset_id,
        "name": doc.get("name"),
        "description": doc.get("description"),
        "metadata": doc.get("metadata"),
        "note_keys": doc.get("note_keys") or {},
        "notes": notes,
    }
