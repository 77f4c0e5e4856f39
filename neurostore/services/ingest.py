"""Ingestion runs and the idempotent, set-based sync of a source's studies into the store.

A run is a row in ``ingest_runs`` (the source of truth for its status and counts). Each
batch of parsed records is synced in one transaction: new records are created together,
records equal to the stored version are left alone, changed ones are rewritten as a
revision attributed to the run. A source's own study version is rewritten only while the
last change to it came from ingestion: once a curator edited it, the curator's edit wins
and the record is reported, not overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, literal, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, sessionmaker

from neurostore.jobs import JobQueue
from neurostore.models import (
    Analysis,
    Annotation,
    Image,
    IngestRun,
    Study,
    Studyset,
)
from neurostore.services import history, versioning
from neurostore.services.actors import Actor
from neurostore.services.errors import Conflict, NotFound, flatten_errors
from neurostore.services.history import Provenance
from neurostore.services.ingest_reports import COUNTS, BatchReport, run_summary
from neurostore.services.permissions import DEFAULT_POLICY
from neurostore.services.source_sync import (
    carry_ids,
    existing_studies,
    hash_records,
    last_changed_by_ingest,
    store_hashes,
)
from neurostore.services.studies import StudyService
from neurostore.services.trees.ids import assign_ids
from neurostore.services.trees.read import read_trees
from neurostore.services.trees.state import TreeWrite, state_of
from neurostore.services.trees.write import resolve_conditions, write_trees
from neurostore.services.uow import UnitOfWork
from neurostore.services.users import UserService
from neurostore.vocabulary import ACTIVE_STATUSES, RevisionAction, Role, RunStatus

SYSTEM_USER = "system|ingest"
#: The queue and task (declared in ``ingest.tasks``) of a source's runs.
INGEST_QUEUE = "ingest"
INGEST_TASK = "ingest.{source}"
MAX_ERRORS = 1000
#: A run creating or updating at least this many studies vacuums and analyzes after.
ANALYZE_AFTER = 1000
ANALYZED_TABLES = ("studies", "base_studies", "tables", "analyses", "analysis_conditions",
                   "points", "point_values", "images", "study_documents", "revisions")
ABANDONED = {"source_id": None, "line": None,
             "reason": "abandoned: the process running it stopped before it finished"}


class IngestService:
    """Runs and batches of ingestion."""

    def __init__(self, session_factory: sessionmaker, studies: StudyService,
                 users: UserService, queue: JobQueue | None = None) -> None:
        self._sf = session_factory
        self.studies = studies
        self.users = users
        self.queue = queue

    def system_actor(self) -> Actor:
        """The account ingestion writes as (created on first use)."""
        try:
            found = self.users.find(SYSTEM_USER)
        except NotFound:
            try:
                found = self.users.create(Actor.system(), name="ingestion", external_id=SYSTEM_USER,
                                          role=Role.ADMIN)
            except Conflict:
                found = self.users.find(SYSTEM_USER)
        return Actor(found["id"], found["role"])

    # runs ------------------------------------------------------------------------------
    @staticmethod
    def check_manager(actor: Actor, doing: str = "manage ingestion") -> None:
        """Raise unless ``actor`` may start and watch ingestion runs (administrators and
        the system): :class:`Unauthenticated` for an anonymous caller, else
        :class:`PermissionDenied`."""
        DEFAULT_POLICY.check_manage(actor, "ingest_run", doing)

    def start_run(self, actor: Actor, source: str, parameters: dict[str, Any], *,
                  queued: bool = False, batch_size: int | None = None) -> int:
        """Open a run; refuses a second active run of the same source.

        A ``queued`` run's job (the task :data:`INGEST_TASK` names, with ``batch_size``) is
        written in the transaction that creates the run; otherwise the caller runs it now.
        """
        if queued and self.queue is None:
            raise Conflict("no task queue: a run can only be started here")
        self.check_manager(actor, "start ingestion")
        now = dt.datetime.now(dt.UTC)
        with UnitOfWork(self._sf) as uow:
            s = uow.session
            # One run per source at a time: serialise starts of the same source.
            s.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"ingest:{source}"))))
            busy = s.execute(
                select(IngestRun.id).where(IngestRun.source == source,
                                           IngestRun.status.in_(ACTIVE_STATUSES))
            ).scalar()
            if busy:
                raise Conflict(f"ingest run {busy} of {source} is still active")
            run = IngestRun(source=source, parameters=parameters,
                            status=RunStatus.QUEUED if queued else RunStatus.RUNNING,
                            requested_by=actor.id, started_at=None if queued else now,
                            errors=[])
            s.add(run)
            s.flush()
            run_id = run.id
            if queued:
                self.queue.defer(s, INGEST_TASK.format(source=source), queue=INGEST_QUEUE,
                                 run_id=run_id,
                                 **({"batch_size": batch_size} if batch_size else {}))
            uow.commit()
        return run_id

    @contextmanager
    def hold(self, source: str, *, keep: int | None = None) -> Iterator[None]:
        """Be the one process loading ``source`` while the block runs.

        A session advisory lock on a dedicated connection marks the holder; PostgreSQL
        drops it when the process dies, however it dies. Once it is held, any other
        run of ``source`` still ``running`` was left by a dead process: it is marked
        failed, so the store never waits for it (``keep`` names the run being resumed).
        Raises :class:`Conflict` while another live process holds the source.
        """
        key = func.hashtext(f"ingest-holder:{source}")
        engine = self._sf.kw["bind"]
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not conn.execute(select(func.pg_try_advisory_lock(key))).scalar():
                raise Conflict(f"another process is ingesting {source}")
            try:
                with UnitOfWork(self._sf) as uow:
                    uow.session.execute(
                        update(IngestRun)
                        .where(IngestRun.source == source, IngestRun.status == RunStatus.RUNNING,
                               IngestRun.id != (keep or 0))
                        .values(status=RunStatus.FAILED, finished_at=dt.datetime.now(dt.UTC),
                                errors=IngestRun.errors.op("||")(literal([ABANDONED], JSONB)))
                    )
                    uow.commit()
                yield
            finally:
                conn.execute(select(func.pg_advisory_unlock(key)))

    def mark_running(self, run_id: int) -> None:
        """Move a queued run to running."""
        with UnitOfWork(self._sf) as uow:
            uow.session.execute(
                update(IngestRun).where(IngestRun.id == run_id)
                .values(status=RunStatus.RUNNING, started_at=dt.datetime.now(dt.UTC))
            )
            uow.commit()

    def record_batch(self, run_id: int, report: BatchReport) -> None:
        """Add a committed batch's counts and errors to the run."""
        with UnitOfWork(self._sf) as uow:
            run = uow.session.get(IngestRun, run_id, with_for_update=True)
            for name in COUNTS:
                setattr(run, name, getattr(run, name) + getattr(report, name))
            room = MAX_ERRORS - len(run.errors)
            if room > 0 and report.errors:
                run.errors = [*run.errors, *report.errors[:room]]
            uow.commit()

    def finish_run(self, run_id: int, status: str, error: str | None = None) -> dict[str, Any]:
        """Close a run as succeeded, failed or cancelled; return its summary."""
        with UnitOfWork(self._sf) as uow:
            run = uow.session.get(IngestRun, run_id, with_for_update=True)
            if run is None:
                raise NotFound(f"ingest run {run_id} not found")
            run.status = status
            run.finished_at = dt.datetime.now(dt.UTC)
            if error:
                run.errors = [*run.errors, {"source_id": None, "line": None, "reason": error}]
            uow.commit()
            summary = run_summary(run)
        if run.created + run.updated >= ANALYZE_AFTER:
            self._analyze()
        return summary

    def _analyze(self) -> None:
        """Vacuum the tables a large run filled and refresh the planner's statistics.

        Until autovacuum gets to them (a minute or more), plans use the estimates of the
        tables before the run (reading one study's tree then scans every peak value), and
        the new pages are not marked all-visible, so a radius search reads every candidate
        peak from the table instead of from its covering index alone.
        """
        # VACUUM cannot run inside a transaction block.
        with self._sf.kw["bind"].connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text(f"VACUUM (ANALYZE) {', '.join(ANALYZED_TABLES)}"))

    def get_run(self, actor: Actor, run_id: int) -> dict[str, Any]:
        """A run's summary (administrators)."""
        self.check_manager(actor)
        with UnitOfWork(self._sf) as uow:
            run = uow.session.get(IngestRun, run_id)
            if run is None:
                raise NotFound(f"ingest run {run_id} not found")
            return run_summary(run)

    def list_runs(self, actor: Actor, *, source: str | None = None,
                  limit: int = 50) -> list[dict[str, Any]]:
        """The latest runs, newest first (administrators)."""
        self.check_manager(actor)
        with UnitOfWork(self._sf) as uow:
            query = select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)
            if source:
                query = query.where(IngestRun.source == source)
            return [run_summary(r) for r in uow.session.execute(query).scalars()]

    # lookups for loaders ------------------------------------------------------------------
    def study_ids(self, source: str, source_ids: list[str], *,
                  uow: UnitOfWork | None = None) -> dict[str, str]:
        """The store ids of a source's current study versions, by ``source_id`` (as seen
        inside ``uow`` when given)."""
        with versioning.reading(self._sf, uow) as u:
            rows = existing_studies(u.session, source, source_ids)
        return {source_id: row.id for source_id, row in rows.items()}

    def stored_files(self, source: str, source_id: str) -> dict[str, tuple[str, Any]]:
        """Image URL -> (sha256, image metadata) of a source's stored study version."""
        with UnitOfWork(self._sf) as uow:
            rows = uow.session.execute(
                select(Image.url, Image.sha256, Image.metadata_)
                .join(Analysis, Analysis.id == Image.analysis_id)
                .join(Study, Study.id == Analysis.study_id)
                .where(Study.source == source, Study.source_id == source_id,
                       Study.deleted_at.is_(None), Image.sha256.is_not(None))
            )
            return {r.url: (r.sha256, r.metadata_) for r in rows}

    def find_marked(self, kind: str, marker: dict[str, Any], *, studyset: str | None = None,
                    uow: UnitOfWork | None = None) -> str | None:
        """The id of the live ``studyset`` or ``annotation`` (of ``studyset``, when given)
        whose metadata holds ``marker``."""
        model = {"studyset": Studyset, "annotation": Annotation}[kind]
        query = select(model.id).where(model.metadata_.contains(marker),
                                       model.deleted_at.is_(None))
        if studyset is not None:
            query = query.where(Annotation.studyset_id == studyset)
        with versioning.reading(self._sf, uow) as u:
            return u.session.execute(query.order_by(model.id).limit(1)).scalar()

    # batches ---------------------------------------------------------------------------
    def sync(self, actor: Actor, run_id: int | None, source: str, records: list[dict[str, Any]],
             *, dry_run: bool = False, uow: UnitOfWork | None = None) -> BatchReport:
        """Bring the store in line with a batch of parsed records of ``source``.

        A record whose hash equals the one stored at its last ingestion is unchanged and
        costs nothing more. Bad records are skipped and reported; the rest are written in
        one transaction (rolled back when ``dry_run``, which reports the diffs instead), or
        in ``uow``'s, which its owner commits or rolls back.
        """
        report = BatchReport()
        provenance = Provenance(message=f"ingest {source}", ingest_run_id=run_id)
        owned = uow is None
        with versioning.reading(self._sf, uow) as uow:
            s = uow.session
            hashed = hash_records(source, records, report)
            existing = existing_studies(s, source, list(hashed))
            todo = []
            for source_id, (record, digest) in hashed.items():
                row = existing.get(source_id)
                if row is not None and row.source_hash == digest:
                    report.unchanged += 1
                else:
                    todo.append(record)
            loaded = self._load(source, todo, report)
            currents = read_trees(s, [existing[d["source_id"]].id for d in loaded
                                      if d["source_id"] in existing])
            ingest_owned = last_changed_by_ingest(s, list(currents))
            new: list[dict[str, Any]] = []
            hashes: dict[str, str] = {}
            for data in loaded:
                row = existing.get(data["source_id"])
                if row is None:
                    new.append(data)
                    continue
                if self._sync_one(s, actor, row, currents[row.id], data, row.id in ingest_owned,
                                  provenance, report, dry_run):
                    hashes[row.id] = hashed[data["source_id"]][1]
            if new:
                made = self.studies._insert(s, actor, new, provenance, [None] * len(new),
                                            RevisionAction.CREATE)
                report.created += len(made)
                hashes.update({r.id: hashed[r.state["source_id"]][1] for r in made})
                if dry_run:
                    report.diffs.extend(
                        {"source_id": r.state["source_id"], "action": RevisionAction.CREATE.value,
                         "analyses": len(r.state["analyses"]),
                         "points": sum(len(a["points"]) for a in r.state["analyses"])}
                        for r in made
                    )
            store_hashes(s, hashes)
            if owned:
                if dry_run:
                    s.rollback()
                else:
                    uow.commit()
        return report

    def _load(self, source: str, records: list[dict[str, Any]],
              report: BatchReport) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = []
        for record in records:
            try:
                loaded.append(self.studies.schema.load(record))
            except ValidationError as exc:
                report.skipped += 1
                flat = flatten_errors(exc.normalized_messages())
                reason = "; ".join(f"{k}: {' '.join(v)}" for k, v in flat.items())
                report.errors.append({"source_id": record["source_id"], "line": None,
                                      "reason": reason})
        return loaded

    def _sync_one(self, s: Session, actor: Actor, row: Any, current: dict[str, Any],
                  data: dict[str, Any], ingest_owned: bool, provenance: Provenance,
                  report: BatchReport, dry_run: bool) -> bool:
        carry_ids(current, data)
        data["public"] = current["public"]
        assign_ids(s, row.id, data, reuse_free_ids=True)
        write = TreeWrite(row.id, data, current["base_study"], row.owner_id, current["parent"],
                          False)
        conditions = resolve_conditions(s, actor.id, [write])
        after = state_of(write, conditions)
        if after == current:
            report.unchanged += 1
            return True
        if not ingest_owned:
            report.skipped += 1
            report.errors.append({
                "source_id": row.source_id, "line": None,
                "reason": f"study {row.id} was edited by a curator since it was ingested: "
                          "the upstream change was not applied",
            })
            return False
        root = versioning.lock(s, Study, "study", row.id)
        version = versioning.bump(s, Study, root)
        write_trees(s, [write])
        history.record(s, actor, "study",
                       [(row.id, version, RevisionAction.UPDATE, after, current)], provenance)
        report.updated += 1
        if dry_run:
            report.diffs.append({"source_id": row.source_id, "action": RevisionAction.UPDATE.value,
                                 "study": row.id, "diff": history.diff_states(current, after)})
        return True
