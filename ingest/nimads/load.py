"""A NIMADS studyset (+ annotation) file into the store: its studies, a studyset, notes.

The studies are synced like any source's (``source="nimads"``, ``source_id`` = the
study's NIMADS id). After the last batch the studyset is written with those study
versions, and the annotation with each note moved to the stored analysis its
:class:`~ingest.nimads.parse.AnalysisRef` points at. Both carry a marker in their
metadata (``ingested_from``: the document's id) by which a re-run finds them again:
a re-run of the same file changes nothing, and a file that gained studies adds them
to the studyset.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import partial
from pathlib import Path
from typing import Any

from ingest.load import SourceStream
from ingest.nimads.parse import SOURCE, AnalysisRef, NimadsResult, parse
from neurostore.services import versioning
from neurostore.services.actors import Actor
from neurostore.services.history import Provenance
from neurostore.services.ingest import BatchReport
from neurostore.services.registry import Services

MARKER_KEY = "ingested_from"


def open_stream(studyset: str | os.PathLike[str],
                annotation: str | os.PathLike[str] | None = None) -> SourceStream:
    """Parse the files; the stream's ``finish`` writes the studyset and annotation.

    Parameters
    ----------
    studyset : path
        The NIMADS studyset JSON.
    annotation : path, optional
        Its annotation JSON.

    Returns
    -------
    SourceStream
        The studies, the parser's skipped records, and the studyset step.
    """
    result = parse(studyset, annotation)
    marker = {MARKER_KEY: {"source": SOURCE,
                           "studyset": result.studyset.get("id") or _digest(studyset)}}
    return SourceStream(result.studies, result.skipped, finish=partial(_finish, result, marker))


def _digest(path: str | os.PathLike[str]) -> str:
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _finish(result: NimadsResult, marker: dict[str, Any], services: Services, actor: Actor,
            run_id: int | None, dry_run: bool) -> BatchReport:
    report = BatchReport()
    found = services.ingest.study_ids(SOURCE, [s["source_id"] for s in result.studies])
    members = [found[s["source_id"]] for s in result.studies if s["source_id"] in found]
    if dry_run:
        report.diffs.append({"source_id": marker[MARKER_KEY]["studyset"], "action": "studyset",
                             "studies": len(members)})
        return report
    provenance = Provenance(message=f"ingest {SOURCE}", ingest_run_id=run_id)
    with versioning.unit(services.session_factory, None) as uow:
        studyset_id = _write_studyset(services, actor, result, marker, members, report, uow,
                                      provenance)
        if result.annotation is not None:
            notes = _notes(services, actor, result, found, report)
            _write_annotation(services, actor, result, marker, studyset_id, notes, report, uow,
                              provenance)
    return report


def _write_studyset(services: Services, actor: Actor, result: NimadsResult,
                    marker: dict[str, Any], members: list[str], report: BatchReport,
                    uow: Any, provenance: Provenance) -> str:
    fields = {k: result.studyset.get(k) for k in ("name", "description", "publication",
                                                  "doi", "pmid")}
    existing = services.ingest.find_marked("studyset", marker)
    if existing is None:
        created = services.studysets.create(
            actor, {**fields, "metadata": marker, "studies": members}, uow=uow,
            provenance=provenance)
        report.created += 1
        return created.id
    current = services.studysets.get(actor, existing)
    if set(members) <= set(current.state["studies"]):
        report.unchanged += 1
    else:
        # Keep what curators added; append the studies the file gained.
        added = [m for m in members if m not in current.state["studies"]]
        services.studysets.update(actor, existing, {"studies": current.state["studies"] + added},
                                  if_match=current.version, uow=uow, provenance=provenance)
        report.updated += 1
    return existing


def _notes(services: Services, actor: Actor, result: NimadsResult, found: dict[str, str],
           report: BatchReport) -> dict[str, dict[str, Any]]:
    analyses: dict[str, list[str]] = {}
    notes: dict[str, dict[str, Any]] = {}
    for ref, note in result.annotation.notes.items():
        study_id = found.get(ref.study_source_id)
        if study_id is not None and study_id not in analyses:
            state = services.studies.get(actor, study_id).state
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


def _write_annotation(services: Services, actor: Actor, result: NimadsResult,
                      marker: dict[str, Any], studyset_id: str,
                      notes: dict[str, dict[str, Any]], report: BatchReport, uow: Any,
                      provenance: Provenance) -> None:
    doc = result.annotation
    existing = services.ingest.find_marked("annotation", marker)
    body_notes = [{"analysis": a, "note": n} for a, n in notes.items()]
    if existing is None:
        services.annotations.create(
            actor, {"studyset": studyset_id, "name": doc.name, "description": doc.description,
                    "metadata": {**doc.metadata, **marker}, "note_keys": doc.note_keys,
                    "notes": body_notes}, uow=uow, provenance=provenance)
        report.created += 1
        return
    current = services.annotations.get(actor, existing)
    stored = {n["analysis"]: n["note"] for n in current.state["notes"]}
    if all(_same(stored.get(a), n) for a, n in notes.items()):
        report.unchanged += 1
        return
    merged = [{"analysis": a, "note": notes.get(a, n)} for a, n in stored.items()]
    services.annotations.update(actor, existing, {"notes": merged}, if_match=current.version,
                                uow=uow, provenance=provenance)
    report.updated += 1


def _same(stored: dict[str, Any] | None, note: dict[str, Any]) -> bool:
    return json.dumps(stored, sort_keys=True) == json.dumps(note, sort_keys=True)
