"""The snapshot service: freeze a studyset and its annotation, list, export and delete them.

A snapshot is the canonical NIMADS JSON of a studyset (with the annotation embedded and the
inclusion filter applied), read in one repeatable-read transaction and streamed study by
study into the file store. Its id is the sha256 of those bytes, so freezing the same
content again gives the same snapshot, and nothing done to the studyset later reaches it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from neurostore.models import AnalysisRun, Snapshot, SnapshotExport, SnapshotReader, Study
from neurostore.plugins import InputsTally
from neurostore.schemas.fields import GIVEN_VALUE_TYPE
from neurostore.services import screening
from neurostore.services.actors import Actor
from neurostore.services.annotations import AnnotationService
from neurostore.services.errors import Conflict, Invalid, NotFound
from neurostore.services.permissions import DEFAULT_POLICY, Policy, Subject, require_user
from neurostore.services.studysets import FIELDS as STUDYSET_FIELDS
from neurostore.services.studysets import StudysetService
from neurostore.services.trees.read import read_trees
from neurostore.services.trees.state import iso
from neurostore.services.uow import UnitOfWork
from neurostore.snapshot import Selection, SnapshotError, canonical_document, write_nimads
from neurostore.snapshot.formats import FORMATS, ExportFormat, Writer, summary_json
from neurostore.snapshot.frozen import StudyStream, stored_studies, studyset_of
from neurostore.storage import FileStore

#: Studies read from the database per statement while freezing.
BATCH = 500
#: Store bookkeeping of a study state that is not NIMADS content.
STORE_ONLY = ("user", "parent", "public")


def readable(actor: Actor, policy: Policy = DEFAULT_POLICY) -> ColumnElement:
    """Snapshots ``actor`` may read: public ones, and those the actor froze (whoever froze
    the same content first); every one for an administrator."""
    by_policy = policy.readable(actor, Snapshot.public, Snapshot.owner_id)
    if actor.id is None:
        return by_policy
    granted = exists(select(SnapshotReader.snapshot_id).where(
        SnapshotReader.snapshot_id == Snapshot.id, SnapshotReader.user_id == actor.id))
    return or_(by_policy, granted)


def snapshot_state(row: Snapshot) -> dict[str, Any]:
    """A snapshot row as services return it."""
    return {
        "id": row.id, "file": row.file, "studyset": row.studyset_id,
        "studyset_version": row.studyset_version, "annotation": row.annotation_id,
        "annotation_version": row.annotation_version, "include": row.include,
        "user": row.owner_id, "public": row.public, "n_studies": row.n_studies,
        "n_analyses": row.n_analyses, "n_points": row.n_points, "n_excluded": row.n_excluded,
        "n_bytes": row.n_bytes, "inputs": row.inputs, "created_at": iso(row.created_at),
    }


class SnapshotService:
    """Create, read, list, export and delete snapshots.

    Parameters
    ----------
    session_factory : sessionmaker
    studysets, annotations : StudysetService, AnnotationService
        Their permission checks and state readers are reused.
    files : FileStore
        Where snapshots and their exports are kept.
    """

    def __init__(self, session_factory: sessionmaker, studysets: StudysetService,
                 annotations: AnnotationService, files: FileStore,
                 policy: Policy = DEFAULT_POLICY, *, writers: Mapping[str, Writer] | None = None,
                 tally: Callable[[], InputsTally] | None = None) -> None:
        self._sf = session_factory
        self.studysets = studysets
        self.annotations = annotations
        self.files = files
        self.policy = policy
        self.writers = {"nimads": write_nimads, **(writers or {})}
        self.tally = tally

    @property
    def formats(self) -> dict[str, ExportFormat]:
        """The export formats this service can write (NIMADS, and those plugged in)."""
        return {name: f for name, f in FORMATS.items() if name in self.writers}

    # freezing ------------------------------------------------------------------------
    def create(self, actor: Actor, studyset_id: str, *, annotation_id: str | None = None,
               include: str | None = None) -> tuple[dict[str, Any], bool]:
        """Freeze a studyset (and an annotation of it) into a snapshot.

        Returns
        -------
        state : dict
        created : bool
            False when the same content had been frozen before (its snapshot is returned).

        Raises
        ------
        Invalid
            For an annotation of another studyset or an unusable ``include`` key.
        NotFound
            For a studyset or annotation the actor may not read.
        """
        require_user(actor, "create snapshots")
        with UnitOfWork(self._sf) as uow:
            session = uow.session
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            studyset, ss_version, ss_public = self._studyset(session, actor, studyset_id)
            ss_public = ss_public and _all_public(session, studyset["studies"])
            annotation, an_version, an_public = self._annotation(
                session, actor, studyset_id, annotation_id)
            try:
                selection = Selection(annotation, include)
            except SnapshotError as exc:
                raise Invalid({"include": str(exc)}) from exc
            tally = self.tally() if self.tally is not None else None
            ids = studyset.pop("studies")
            stream = StudyStream(lambda: _study_documents(session, ids, selection, tally),
                                 len(ids))
            document = {**studyset, "studies": stream}
            with tempfile.TemporaryDirectory(prefix="neurostore-snapshot-") as tmp:
                path = Path(tmp) / "snapshot.json"
                with open(path, "wb") as out:
                    summary = write_nimads(document, out, annotation, include=include)
                name = self.files.put_file(path, ".json")
            header = canonical_document({**studyset, "studies": []}, annotation,
                                        include=include)
            del header["studies"]
            values = dict(
                id=summary.sha256, file=name, studyset_id=studyset_id,
                studyset_version=ss_version, annotation_id=annotation_id,
                annotation_version=an_version, include=include, owner_id=actor.id,
                public=ss_public and an_public, n_studies=summary.n_studies,
                n_analyses=summary.n_analyses, n_points=summary.n_points,
                n_excluded=summary.n_excluded, n_bytes=summary.n_bytes, header=header,
                inputs=tally.as_json() if tally is not None else {},
            )
            created = session.execute(
                pg_insert(Snapshot).values(values).on_conflict_do_nothing()
                .returning(Snapshot.id)
            ).first() is not None
            if not created and values["public"]:
                # The same content frozen from public sources is public, whoever froze it
                # privately before.
                session.execute(update(Snapshot).where(Snapshot.id == summary.sha256)
                                .values(public=True))
            session.execute(pg_insert(SnapshotReader).values(
                snapshot_id=summary.sha256, user_id=actor.id).on_conflict_do_nothing())
            row = session.get(Snapshot, summary.sha256)
            uow.commit()
            return snapshot_state(row), created

    def _studyset(self, session: Session, actor: Actor,
                  studyset_id: str) -> tuple[dict[str, Any], int, bool]:
        root = self.studysets.root(session, studyset_id)
        self.studysets.authorize(session, actor, root, "read")
        if root.deleted:
            raise NotFound(f"studyset {studyset_id} not found")
        # Only what the actor may read is frozen: never another user's private study.
        state = self.studysets.redact(
            session, actor, [self.studysets._read(session, [studyset_id])[studyset_id]])[0]
        document = {k: state[k] for k in STUDYSET_FIELDS if k != "public"}
        # Studies screened out (metadata["screening"]) are not frozen: a meta-analysis of
        # the snapshot uses the included ones, whichever client froze it.
        document.update(id=studyset_id, studies=screening.included_ids(state))
        return document, root.version, root.public

    def _annotation(self, session: Session, actor: Actor, studyset_id: str,
                    annotation_id: str | None) -> tuple[dict[str, Any] | None, int | None, bool]:
        if annotation_id is None:
            return None, None, True
        try:
            root = self.annotations.root(session, annotation_id)
            self.annotations.authorize(session, actor, root, "read")
        except NotFound as exc:
            raise Invalid({"annotation": f"annotation {annotation_id} not found"}) from exc
        state = self.annotations.redact(
            session, actor, [self.annotations._read(session, [annotation_id])[annotation_id]])[0]
        if root.deleted or state["studyset"] != studyset_id:
            raise Invalid({"annotation": f"annotation {annotation_id} is not an annotation "
                                         f"of studyset {studyset_id}"})
        document = {k: state[k] for k in ("name", "description", "metadata", "note_keys")}
        document.update(id=annotation_id, notes=state["notes"])
        return document, root.version, root.public

    # reading -------------------------------------------------------------------------
    def _row(self, session: Session, actor: Actor, snapshot_id: str, action: str) -> Snapshot:
        row = session.execute(select(Snapshot).where(
            Snapshot.id == snapshot_id, readable(actor, self.policy))).scalar()
        if row is None:
            raise NotFound(f"snapshot {snapshot_id} not found")
        if action != "read":
            # Readers who froze the same content may read it; it stays its first owner's.
            subject = Subject("snapshot", row.id, row.owner_id, True)
            self.policy.check(action, actor, subject)
        return row

    def get(self, actor: Actor, snapshot_id: str) -> dict[str, Any]:
        """One snapshot, with the exports made of it so far."""
        with UnitOfWork(self._sf) as uow:
            state = snapshot_state(self._row(uow.session, actor, snapshot_id, "read"))
            exports = uow.session.execute(
                select(SnapshotExport).where(SnapshotExport.snapshot_id == snapshot_id)
                .order_by(SnapshotExport.format)
            ).scalars()
            state["exports"] = [{"format": e.format, "file": e.file, "n_bytes": e.n_bytes}
                                for e in exports]
            return state

    def list(self, actor: Actor, *, studyset: str | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
        """Snapshots the actor may read, newest first."""
        with UnitOfWork(self._sf) as uow:
            query = (select(Snapshot).where(readable(actor, self.policy))
                     .order_by(Snapshot.created_at.desc(), Snapshot.id))
            if studyset is not None:
                query = query.where(Snapshot.studyset_id == studyset)
            return [snapshot_state(r) for r in uow.session.execute(query.limit(limit)).scalars()]

    def count(self, actor: Actor) -> int:
        """How many snapshots the actor may read."""
        with UnitOfWork(self._sf) as uow:
            return uow.session.execute(
                select(func.count()).select_from(Snapshot).where(readable(actor, self.policy))
            ).scalar_one()

    def delete(self, actor: Actor, snapshot_id: str) -> None:
        """Delete a snapshot no meta-analysis run uses (its files stay in the store)."""
        with UnitOfWork(self._sf) as uow:
            session = uow.session
            self._row(session, actor, snapshot_id, "delete")
            used = session.execute(
                select(func.count()).where(or_(AnalysisRun.snapshot_id == snapshot_id,
                                               AnalysisRun.comparison_snapshot_id == snapshot_id))
            ).scalar_one()
            if used:
                raise Conflict(f"snapshot {snapshot_id} is used by {used} meta-analysis "
                               "run(s) and cannot be deleted")
            session.execute(delete(Snapshot).where(Snapshot.id == snapshot_id))
            uow.commit()

    def frozen(self, snapshot_id: str) -> tuple[dict[str, Any], Any]:
        """The stored studyset (its studies streamed from the file) and annotation.

        For background jobs: no permission check.
        """
        with UnitOfWork(self._sf) as uow:
            row = uow.session.get(Snapshot, snapshot_id)
            if row is None:
                raise NotFound(f"snapshot {snapshot_id} not found")
            header, name, count = row.header, row.file, row.n_studies
        return studyset_of(header, stored_studies(lambda: self.files.open(name), count))

    # exports -------------------------------------------------------------------------
    def export(self, actor: Actor, snapshot_id: str, format: str) -> dict[str, Any]:
        """Write (once) and return an export: ``file``, ``n_bytes``, ``summary``.

        The NIMADS export is the snapshot file itself; other formats are streamed from it
        into the file store on first request and reused afterwards.
        """
        if format not in self.formats:
            raise Invalid({"format": f"unknown format {format!r} (known: "
                                     f"{', '.join(self.formats)})"})
        with UnitOfWork(self._sf) as uow:
            row = self._row(uow.session, actor, snapshot_id, "read")
            if format == "nimads":
                return {"format": format, "file": row.file, "n_bytes": row.n_bytes,
                        "summary": {"n_studies": row.n_studies, "n_analyses": row.n_analyses,
                                    "n_points": row.n_points, "sha256": row.id}}
            done = uow.session.get(SnapshotExport, (snapshot_id, format))
        if done is not None:
            return {"format": format, "file": done.file, "n_bytes": done.n_bytes,
                    "summary": done.summary}
        studyset, annotation = self.frozen(snapshot_id)
        spec = FORMATS[format]
        with tempfile.TemporaryDirectory(prefix="neurostore-export-") as tmp:
            path = Path(tmp) / ("export" + spec.suffix)
            with open(path, "wb") as out:
                summary = self.writers[format](studyset, out, annotation)
            name = self.files.put_file(path, spec.suffix)
        data = summary_json(summary)
        with UnitOfWork(self._sf) as uow:
            uow.session.execute(
                pg_insert(SnapshotExport).values(
                    snapshot_id=snapshot_id, format=format, file=name, n_bytes=summary.n_bytes,
                    summary=data,
                ).on_conflict_do_nothing()
            )
            uow.commit()
        return {"format": format, "file": name, "n_bytes": summary.n_bytes, "summary": data}


def _all_public(session: Session, study_ids: list[str]) -> bool:
    """Whether every one of the studies is public (a snapshot of a private one is not)."""
    return not session.execute(
        select(Study.id).where(Study.id.in_(study_ids), Study.public.is_not(true())).limit(1)
    ).first()


def _as_given(study: dict[str, Any]) -> dict[str, Any]:
    """The study as its file gave it: an image imported with its own spelling of
    ``value_type`` (kept in its metadata) has that spelling back."""
    if not any(GIVEN_VALUE_TYPE in (i.get("metadata") or {})
               for a in study["analyses"] for i in a["images"]):
        return study
    analyses = []
    for analysis in study["analyses"]:
        images = []
        for image in analysis["images"]:
            metadata = dict(image.get("metadata") or {})
            given = metadata.pop(GIVEN_VALUE_TYPE, None)
            images.append(image if given is None else
                          {**image, "value_type": given, "metadata": metadata})
        analyses.append({**analysis, "images": images})
    return {**study, "analyses": analyses}


def _study_documents(session: Session, ids: list[str], selection: Selection,
                     tally: InputsTally | None) -> Iterator[dict[str, Any]]:
    """Study documents read from the database in batches, counted as they pass.

    The next batch is read (by one helper thread, the only user of the session meanwhile)
    while the current one is being written, so the database and the writer overlap.
    """
    batches = [ids[start:start + BATCH] for start in range(0, len(ids), BATCH)]
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(read_trees, session, batches[0]) if batches else None
        for n, batch in enumerate(batches):
            states = pending.result()
            if n + 1 < len(batches):
                pending = reader.submit(read_trees, session, batches[n + 1])
            for study_id in batch:
                document = _as_given({k: v for k, v in states[study_id].items()
                                      if k not in STORE_ONLY})
                if tally is not None:
                    tally.add(document, selection)
                yield document
