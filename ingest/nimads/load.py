"""A NIMADS studyset (+ annotation) file into the store: its studies, a studyset, notes.

A file import is one transaction (the stream is atomic): a bad record, an unusable
studyset name or a note that cannot be placed writes nothing.

Identity is the target studyset, never the file's own ids (every studyset NiMARE converts
from a Dataset has the id ``nimads_from_dataset``, so unrelated files share it). Without
``into`` an import makes a new studyset with new studies. With ``into`` (a studyset made by
an earlier import) the file's studies are matched to that studyset's studies by their
NIMADS ids: a re-import of the same file changes nothing, a study the file gained is added,
and a changed one is updated; what curators added to the studyset stays. A study's
``source_id`` is ``<studyset id>:<NIMADS study id>``, so the same NIMADS id in two
studysets names two studies.

With an :class:`~ingest.nimads.images.ImageFetcher`, the maps the images reference are
fetched into the file store as the studies are read (a study whose maps cannot all be had is
left out, with the reason); without one, images are stored as the file describes them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ingest.load import SourceStream
from ingest.nimads.images import NOT_DOWNLOADED, ImageFetcher
from ingest.nimads.parse import SOURCE, AnalysisRef, NimadsResult, parse
from ingest.records import Study
from neurostore.services.actors import Actor
from neurostore.services.errors import Invalid, NotFound
from neurostore.services.history import Provenance
from neurostore.services.ingest_reports import BatchReport
from neurostore.services.registry import Services
from neurostore.services.uow import UnitOfWork

MARKER_KEY = "ingested_from"
STUDYSET_FIELDS = ("name", "description", "publication", "doi", "pmid")


@dataclass
class _Target:
    """The studyset the import writes to, known once the transaction has started."""

    into: str | None
    studyset: str | None = None
    created: bool = False
    members: list[str] = field(default_factory=list)

    def source_id(self, nimads_id: str) -> str:
        return f"{self.studyset}:{nimads_id}"


def open_stream(studyset: str | os.PathLike[str],
                annotation: str | os.PathLike[str] | None = None, *,
                into: str | None = None, strict: bool = True,
                images: ImageFetcher | None = None) -> SourceStream:
    """Parse the files; the stream makes (or finds) the studyset, then writes the studies,
    the members and the annotation, all in one transaction.

    Parameters
    ----------
    studyset : path
        The NIMADS studyset JSON (gzipped or not).
    annotation : path, optional
        Its annotation JSON.
    into : str, optional
        The id of a studyset an earlier import of this file made: update it instead of
        making a new one.
    strict : bool, optional
        Refuse the file when a record cannot be read (default); otherwise leave it out.
    images : ImageFetcher, optional
        Fetch the maps the images reference into the file store (not by default).

    Returns
    -------
    SourceStream
        An atomic stream: its studies, the parser's skipped records, and the studyset steps.
    """
    result = parse(studyset, annotation)
    marker = {MARKER_KEY: {"source": SOURCE, "studyset": result.studyset.get("id")
                           or os.path.basename(os.fspath(studyset))}}
    target = _Target(into)
    name = os.path.basename(os.fspath(studyset))

    if images is not None:
        images.plan(result.studies)

    def studies() -> Iterator[Study]:
        for study in result.studies:
            if images is not None:
                study = images.attach(study, result.skipped)
                if study is None:
                    continue
            yield {**study, "source_id": target.source_id(study["source_id"])}

    return SourceStream(
        studies(), result.skipped, atomic=True, strict=strict,
        is_failure=lambda item: item.reason.startswith(NOT_DOWNLOADED),
        start=lambda services, actor, uow: _start(services, actor, uow, result, marker, target,
                                                  name),
        finish=lambda services, actor, run_id, dry_run, uow: _finish(
            services, actor, run_id, dry_run, uow, result, marker, target))


def _start(services: Services, actor: Actor, uow: UnitOfWork, result: NimadsResult,
           marker: dict[str, Any], target: _Target, file_name: str) -> None:
    if target.into is not None:
        try:
            current = services.studysets.get(actor, target.into, uow=uow)
        except NotFound as exc:
            raise Invalid({"into": f"studyset {target.into} not found"}) from exc
        target.studyset, target.members = target.into, list(current.state["studies"])
        return
    fields = {k: result.studyset.get(k) for k in STUDYSET_FIELDS}
    try:
        created = services.studysets.create(actor, {**fields, "metadata": marker},
                                            uow=uow, provenance=_provenance(None))
    except Invalid as exc:
        where = f"{file_name}: studyset {result.studyset.get('id')!r}"
        raise Invalid({f"studyset.{path}": msgs for path, msgs in exc.field_errors.items()},
                      detail=f"{where}: {exc.detail}") from exc
    target.studyset, target.created = created.id, True


def _provenance(run_id: int | None) -> Provenance:
    return Provenance(message=f"ingest {SOURCE}", ingest_run_id=run_id)


def _finish(services: Services, actor: Actor, run_id: int | None, dry_run: bool,
            uow: UnitOfWork, result: NimadsResult, marker: dict[str, Any],
            target: _Target) -> BatchReport:
    report = BatchReport()
    found = services.ingest.study_ids(
        SOURCE, [target.source_id(s["source_id"]) for s in result.studies], uow=uow)
    members = [found[target.source_id(s["source_id"])] for s in result.studies
               if target.source_id(s["source_id"]) in found]
    provenance = _provenance(run_id)
    added = [m for m in members if m not in target.members]
    if added:
        # Keep what curators added; append the studies the file gained.
        services.studysets.modify(
            actor, target.studyset,
            lambda current: {"studies": current["studies"] + [
                m for m in added if m not in current["studies"]]},
            uow=uow, provenance=provenance)
    if target.created:
        report.created += 1
    elif added:
        report.updated += 1
    else:
        report.unchanged += 1
    report.made["studyset"] = target.studyset
    if dry_run:
        report.diffs.append({"source_id": marker[MARKER_KEY]["studyset"], "action": "studyset",
                             "studies": len(members)})
    if result.annotation is not None:
        notes = _notes(services, actor, uow, result, found, target, report)
        report.made["annotation"] = _write_annotation(
            services, actor, uow, result, marker, target.studyset, notes, report, provenance)
    return report


def _notes(services: Services, actor: Actor, uow: UnitOfWork, result: NimadsResult,
           found: dict[str, str], target: _Target,
           report: BatchReport) -> dict[str, dict[str, Any]]:
    analyses: dict[str, list[str]] = {}
    notes: dict[str, dict[str, Any]] = {}
    for ref, note in result.annotation.notes.items():
        study_id = found.get(target.source_id(ref.study_source_id))
        if study_id is not None and study_id not in analyses:
            state = services.studies.get(actor, study_id, uow=uow).state
            analyses[study_id] = [a["id"] for a in state["analyses"]]
        ids = analyses.get(study_id, [])
        if ref.analysis_index < len(ids):
            notes[ids[ref.analysis_index]] = note
        else:
            report.skipped += 1
            report.errors.append(_unplaced(ref))
    return notes


def _unplaced(ref: AnalysisRef) -> dict[str, Any]:
    return {"source_id": ref.study_source_id, "line": None,
            "reason": f"note of analysis {ref.analysis_index} not placed: that study or "
                      "analysis is not stored"}


def _write_annotation(services: Services, actor: Actor, uow: UnitOfWork, result: NimadsResult,
                      marker: dict[str, Any], studyset_id: str,
                      notes: dict[str, dict[str, Any]], report: BatchReport,
                      provenance: Provenance) -> str:
    doc = result.annotation
    existing = services.ingest.find_marked("annotation", marker, studyset=studyset_id, uow=uow)
    body_notes = [{"analysis": a, "note": n} for a, n in notes.items()]
    if existing is None:
        created = services.annotations.create(
            actor, {"studyset": studyset_id, "name": doc.name, "description": doc.description,
                    "metadata": {**doc.metadata, **marker}, "note_keys": doc.note_keys,
                    "notes": body_notes}, uow=uow, provenance=provenance)
        report.created += 1
        return created.id
    current = services.annotations.get(actor, existing, uow=uow)
    stored = {n["analysis"]: n["note"] for n in current.state["notes"]}
    if all(_same(stored.get(a), n) for a, n in notes.items()):
        report.unchanged += 1
        return existing
    merged = [{"analysis": a, "note": notes.get(a, n)} for a, n in stored.items()]
    services.annotations.update(actor, existing, {"notes": merged}, if_match=current.version,
                                uow=uow, provenance=provenance)
    report.updated += 1
    return existing


def _same(stored: dict[str, Any] | None, note: dict[str, Any]) -> bool:
    return json.dumps(stored, sort_keys=True) == json.dumps(note, sort_keys=True)
