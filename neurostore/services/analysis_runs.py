"""The meta-analysis run service: validate and enqueue runs, report, cancel, finish.

The row is the source of truth of a run. Requests are validated against the estimator
table (:mod:`analysis.runspec`) and against what the snapshot holds, and enqueued after the
transaction that created the row commits. A worker *claims* a run with a fresh token;
progress, results and failure are written only while the token is still the row's and the
run is still running (compare-and-set), so a cancelled run, or one taken over from a dead
worker, never gets a second result set.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from neurostore.db import new_id
from neurostore.jobs import JobQueue
from neurostore.models import AnalysisRun, Snapshot
from neurostore.plugins import RunSpecs, SpecInvalid
from neurostore.services.actors import Actor
from neurostore.services.errors import Conflict, Invalid, NotFound
from neurostore.services.permissions import DEFAULT_POLICY, Policy, Subject, require_user
from neurostore.services.snapshots import readable as snapshot_readable
from neurostore.services.trees.state import iso
from neurostore.services.uow import UnitOfWork
from neurostore.vocabulary import ACTIVE_STATUSES, RunStatus

#: The task a worker runs for a run (declared in ``analysis.tasks``).
RUN_TASK = "analysis.run_meta_analysis"
RUN_QUEUE = "analysis"


def run_state(row: AnalysisRun) -> dict[str, Any]:
    """A run row as services return it."""
    return {
        "id": row.id, "snapshot": row.snapshot_id, "user": row.owner_id,
        "estimator": row.estimator, "spec": row.spec, "status": row.status,
        "progress": row.progress, "attempts": row.attempts, "error": row.error,
        "results": row.results, "provenance": row.provenance,
        "created_at": iso(row.created_at), "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
    }


class AnalysisRunService:
    """Meta-analysis runs of snapshots.

    Parameters
    ----------
    session_factory : sessionmaker
    queue : JobQueue or None
        Where runs are enqueued; None leaves them queued for :meth:`claim` callers (tests,
        inline runs).
    """

    def __init__(self, session_factory: sessionmaker, queue: JobQueue | None,
                 policy: Policy = DEFAULT_POLICY, *, specs: RunSpecs | None = None) -> None:
        self._sf = session_factory
        self.queue = queue
        self.policy = policy
        self.specs = specs

    # the estimators --------------------------------------------------------------------
    def catalogue(self) -> dict[str, Any]:
        """The estimators and corrections a run may ask for (none without run specs)."""
        if self.specs is None:
            return {"estimators": [], "corrections": {}}
        return self.specs.catalogue()

    def spec_schemas(self) -> list[dict[str, Any]]:
        """One JSON Schema per estimator's spec (for the API's OpenAPI document)."""
        return [] if self.specs is None else self.specs.schemas()

    # requests --------------------------------------------------------------------------
    def check(self, data: Any) -> None:
        """Refuse a spec for what is wrong with it whatever snapshot it would run on (its
        estimator, parameters, correction and report options), before a snapshot is frozen
        for it; what depends on the snapshot (its inputs, the groups) :meth:`create` checks.

        Raises
        ------
        Invalid
            Naming each bad field, as :meth:`create` does.
        """
        if self.specs is None:
            raise Invalid({"estimator": "no estimators are installed on this server"})
        try:
            self.specs.validate(data, None)
        except SpecInvalid as exc:
            errors = {k: v for k, v in exc.field_errors.items()
                      if k.partition(".")[0] not in ("groups", "snapshot")}
            if errors:
                raise Invalid(errors) from exc

    def create(self, actor: Actor, data: Any) -> dict[str, Any]:
        """Validate a spec and enqueue its run.

        Raises
        ------
        Invalid
            Naming the bad field: ``snapshot``, ``estimator``, ``parameters.<name>``,
            ``correction.<name>``.
        """
        require_user(actor, "run meta-analyses")
        if not isinstance(data, dict):
            raise Invalid({"_schema": "expected an object"})
        snapshot_id = data.get("snapshot")
        if not isinstance(snapshot_id, str) or not snapshot_id:
            raise Invalid({"snapshot": "the id of a snapshot is required"})
        with UnitOfWork(self._sf) as uow:
            snapshot = uow.session.execute(
                select(Snapshot).where(Snapshot.id == snapshot_id, snapshot_readable(actor))
            ).scalar()
            if snapshot is None:
                raise Invalid({"snapshot": f"snapshot {snapshot_id} not found"})
            def readable_inputs(other: str) -> dict[str, Any] | None:
                return uow.session.execute(
                    select(Snapshot.inputs).where(Snapshot.id == other, snapshot_readable(actor))
                ).scalar()

            if self.specs is None:
                raise Invalid({"estimator": "no estimators are installed on this server"})
            annotations = snapshot.header.get("annotations") or [None]
            try:
                spec = self.specs.validate(data, snapshot.inputs, annotation=annotations[0],
                                snapshot_id=snapshot_id, lookup=readable_inputs)
            except SpecInvalid as exc:
                raise Invalid(exc.field_errors) from exc
            row = AnalysisRun(id=new_id(), snapshot_id=snapshot_id,
                              comparison_snapshot_id=spec.get("groups", {}).get("snapshot"),
                              owner_id=actor.id, estimator=spec["estimator"], spec=spec,
                              status=RunStatus.QUEUED, progress={"stage": "queued"}, attempts=0)
            uow.session.add(row)
            uow.session.flush()
            run_id = row.id
            if self.queue is not None:
                row.job_id = self.queue.defer(uow.session, RUN_TASK, queue=RUN_QUEUE,
                                              lock=f"analysis-run-{run_id}", run_id=run_id)
            uow.commit()
        return self.get(actor, run_id)

    def _visible(self, session: Session, actor: Actor, run_id: str,
                 action: str = "read") -> AnalysisRun:
        row = session.get(AnalysisRun, run_id)
        if row is None:
            raise NotFound(f"meta-analysis {run_id} not found")
        public = session.execute(
            select(_public()).select_from(AnalysisRun)
            .join(Snapshot, Snapshot.id == AnalysisRun.snapshot_id)
            .where(AnalysisRun.id == run_id)
        ).scalar_one()
        self.policy.check(action, actor, Subject("meta-analysis", row.id, row.owner_id, public))
        return row

    def get(self, actor: Actor, run_id: str) -> dict[str, Any]:
        """One run: status, progress and, once finished, results and provenance."""
        with UnitOfWork(self._sf) as uow:
            return run_state(self._visible(uow.session, actor, run_id))

    def list(self, actor: Actor, *, snapshot: str | None = None, status: str | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
        """Runs the actor may read, newest first."""
        with UnitOfWork(self._sf) as uow:
            query = (select(AnalysisRun).join(Snapshot, Snapshot.id == AnalysisRun.snapshot_id)
                     .order_by(AnalysisRun.created_at.desc(), AnalysisRun.id))
            query = query.where(self.policy.readable(actor, _public(), AnalysisRun.owner_id))
            if snapshot is not None:
                query = query.where(AnalysisRun.snapshot_id == snapshot)
            if status is not None:
                query = query.where(AnalysisRun.status == status)
            return [run_state(r) for r in uow.session.execute(query.limit(limit)).scalars()]

    def null_file(self, key: str) -> str | None:
        """The null distributions file of a succeeded run whose Monte Carlo null had the
        design key ``key`` (for background jobs: the null depends on the design only, not
        on where the foci are, so any run's is as good)."""
        with UnitOfWork(self._sf) as uow:
            return uow.session.execute(
                select(AnalysisRun.results["null_distributions_file"].as_string())
                .where(AnalysisRun.status == RunStatus.SUCCEEDED,
                       AnalysisRun.results["null_key"].as_string() == key)
                .limit(1)
            ).scalar()

    def result_file(self, actor: Actor, run_id: str, name: str) -> str:
        """Check that ``name`` is a file of the run's results and return it."""
        with UnitOfWork(self._sf) as uow:
            row = self._visible(uow.session, actor, run_id)
        if name not in result_files(row.results):
            raise NotFound(f"meta-analysis {run_id} has no file {name}")
        return name

    def result_map(self, actor: Actor, run_id: str, name: str | None,
                   files: Any) -> tuple[bytes, str]:
        """The bytes of one map of a succeeded run (by default its z map) and its name."""
        with UnitOfWork(self._sf) as uow:
            row = self._visible(uow.session, actor, run_id)
        maps = (row.results or {}).get("maps", {})
        if row.status != RunStatus.SUCCEEDED or not maps:
            raise Invalid({"meta_analysis": f"meta-analysis {run_id} has no maps "
                                            f"(it is {row.status})"})
        if name is None:
            zs = sorted((n for n in maps if n == "z" or n.startswith("z_")), key=len)
            name = zs[0] if zs else sorted(maps)[0]
        if name not in maps:
            raise Invalid({"map": f"meta-analysis {run_id} has no map {name!r}; it has "
                                  f"{', '.join(sorted(maps))}"})
        with files.open(maps[name]) as stream:
            return stream.read(), name

    def cancel(self, actor: Actor, run_id: str) -> dict[str, Any]:
        """Cancel a queued or running run (a running one stops at its next report)."""
        with UnitOfWork(self._sf) as uow:
            row = self._visible(uow.session, actor, run_id, "delete")
            job_id = row.job_id
            done = uow.session.execute(
                update(AnalysisRun)
                .where(AnalysisRun.id == run_id, AnalysisRun.status.in_(ACTIVE_STATUSES))
                .values(status=RunStatus.CANCELLED, finished_at=dt.datetime.now(dt.UTC), claim=None,
                        progress={**row.progress, "stage": "cancelled"})
                .returning(AnalysisRun.id)
            ).first()
            if done is None:
                raise Conflict(f"meta-analysis {run_id} is {row.status}; only queued or "
                               "running ones can be cancelled")
            if self.queue is not None and job_id is not None:
                queue = self.queue
                uow.on_commit(lambda: queue.cancel(job_id))
            uow.commit()
        return self.get(actor, run_id)

    # the worker's side (no actor: a job holds a run id) -----------------------------------
    def claim(self, run_id: str) -> tuple[str, dict[str, Any], str] | None:
        """Take a queued run, or one whose previous attempt died.

        Returns
        -------
        (token, spec, snapshot_id), or None when the run is finished or cancelled.
        """
        token = secrets.token_hex(16)
        with UnitOfWork(self._sf) as uow:
            row = uow.session.execute(
                update(AnalysisRun)
                .where(AnalysisRun.id == run_id, AnalysisRun.status.in_(ACTIVE_STATUSES))
                .values(status=RunStatus.RUNNING, claim=token, attempts=AnalysisRun.attempts + 1,
                        started_at=dt.datetime.now(dt.UTC), progress={"stage": "starting"})
                .returning(AnalysisRun.spec, AnalysisRun.snapshot_id)
            ).first()
            uow.commit()
        return None if row is None else (token, row.spec, row.snapshot_id)

    def _owned(self, run_id: str, token: str, **values: Any) -> bool:
        with UnitOfWork(self._sf) as uow:
            row = uow.session.execute(
                update(AnalysisRun)
                .where(AnalysisRun.id == run_id, AnalysisRun.claim == token,
                       AnalysisRun.status == RunStatus.RUNNING)
                .values(**values).returning(AnalysisRun.id)
            ).first()
            uow.commit()
        return row is not None

    def report(self, run_id: str, token: str, progress: dict[str, Any]) -> bool:
        """Record progress; False when the run was cancelled or taken over."""
        return self._owned(run_id, token, progress=progress)

    def finish(self, run_id: str, token: str, results: dict[str, Any],
               provenance: dict[str, Any]) -> bool:
        """Store the results once; False (nothing stored) when the claim was lost."""
        return self._owned(run_id, token, status=RunStatus.SUCCEEDED, results=results,
                           provenance=provenance, progress={"stage": "done"},
                           finished_at=dt.datetime.now(dt.UTC))

    def fail(self, run_id: str, token: str, error: str) -> bool:
        """Record a failure; False when the claim was lost."""
        return self._owned(run_id, token, status=RunStatus.FAILED, error=error,
                           progress={"stage": "failed"}, finished_at=dt.datetime.now(dt.UTC))


def _public() -> ColumnElement:
    """Whether every snapshot a run reads is public (then anyone may read the run); on a
    select of runs joined to their (group 1) snapshot."""
    other = aliased(Snapshot)
    return and_(Snapshot.public, or_(
        AnalysisRun.comparison_snapshot_id.is_(None),
        exists(select(other.id).where(other.id == AnalysisRun.comparison_snapshot_id,
                                      other.public))))


def result_files(results: dict[str, Any] | None) -> set[str]:
    """Every file name a run's results refer to."""
    if not results:
        return set()
    names = set(results.get("maps", {}).values()) | set(results.get("pictures", {}).values())
    names.update(v for k, v in results.items() if k.endswith("_file"))
    return names

