"""Publishing results to NeuroVault: bundles to download, and upload jobs to run.

A publication row (:class:`~neurostore.models.NeuroVaultPublication`) per published run (and
per user and published term of a term-maps build) holds the state of its upload job and the
ids NeuroVault gave its collection and images, so a second publication of the same thing
updates them rather than making new ones. Runs and term maps share everything here but how
they are found, checked and described (:class:`Target`; term maps in
:mod:`neurovault_terms`). The uploading
itself (HTTP) is the job's, outside the store (``analysis.publish``); this service validates
requests, checks permissions, describes what is sent (:mod:`neurovault_metadata`) and keeps
the row, with the same claim discipline as analysis runs: a worker writes only while its
claim is the row's.

The user's NeuroVault token is the one secret here. It is written to the row by the request
and read *and cleared* by the claim, in one transaction, so it rests in the database only
while the job waits for a worker; it is never in the job's arguments (the task queue keeps
those), in the row's state as returned, or in an error message. The command line uploads in
its own process and never stores it at all.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from neurostore.db import new_id
from neurostore.jobs import JobQueue
from neurostore.models import NeuroVaultPublication
from neurostore.schemas.neurovault import PublishOptions, PublishRequest
from neurostore.services.actors import Actor
from neurostore.services.analysis_runs import AnalysisRunService
from neurostore.services.errors import Conflict, Invalid, NotFound
from neurostore.services.neurovault_bundle import RUN_UPLOAD, bundle_stream
from neurostore.services.neurovault_metadata import Plan, Target, run_plan, subjects
from neurostore.services.neurovault_terms import TermMapSource
from neurostore.services.permissions import DEFAULT_POLICY, Policy, Subject
from neurostore.services.snapshots import SnapshotService
from neurostore.services.trees.state import iso
from neurostore.services.uow import UnitOfWork
from neurostore.snapshot import Selection
from neurostore.snapshot.experiments import read_studies
from neurostore.vocabulary import ACTIVE_STATUSES, PublicationKind, RunStatus

#: The task a worker runs for a publication (declared in ``analysis.tasks``).
PUBLISH_TASK = "analysis.publish_neurovault"
PUBLISH_QUEUE = "export"
KIND = PublicationKind.META_ANALYSIS

#: What a worker says when it finds a job whose token a dead attempt already took.
TOKEN_GONE = ("the upload was interrupted (its worker stopped) and your token is not kept "
              "once an upload starts: publish again to finish it (maps already sent are "
              "updated, not duplicated)")


def publication_state(row: NeuroVaultPublication) -> dict[str, Any]:
    """A publication row as services return it (never its token)."""
    return {
        "id": row.id, "kind": row.kind, "source": row.source_id, "status": row.status,
        "progress": row.progress, "attempts": row.attempts, "error": row.error,
        "options": row.options, "server": row.server, "collection_id": row.collection_id,
        "collection_url": row.collection_url, "images": row.images,
        "created_at": iso(row.created_at), "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
    }


@dataclass(frozen=True)
class Claim:
    """An upload's hold on its publication: what to send, where it went before.

    ``token`` is the user's NeuroVault token (None when the caller holds it itself, as the
    command line does); ``claim`` the attempt's compare-and-set key; ``kind`` and ``source``
    what is published (a run id; a term map's ``<build>/<user>/<term>``).
    """

    publication_id: str
    claim: str
    kind: str
    source: str
    options: dict[str, Any]
    server: str | None
    collection_id: int | None
    images: dict[str, int] = field(default_factory=dict)
    token: str | None = field(default=None, repr=False)


class NeuroVaultService:
    """NeuroVault bundles and publications of meta-analysis runs and term maps.

    Parameters
    ----------
    session_factory : sessionmaker
    runs : AnalysisRunService
        The runs published (their visibility, state and files).
    snapshots : SnapshotService
        The runs' snapshots (names, sample sizes) and the file store of their maps.
    queue : JobQueue or None
        Where upload jobs are enqueued; None leaves them for :meth:`claim` callers.
    term_maps : TermMapSource or None
        The term maps published (None: none can be).
    """

    def __init__(self, session_factory: sessionmaker, runs: AnalysisRunService,
                 snapshots: SnapshotService, queue: JobQueue | None,
                 policy: Policy = DEFAULT_POLICY, *,
                 term_maps: TermMapSource | None = None) -> None:
        self._sf = session_factory
        self.runs = runs
        self.snapshots = snapshots
        self.queue = queue
        self.policy = policy
        self.term_maps = term_maps

    # what is sent ------------------------------------------------------------------------
    def _publishable(self, actor: Actor, run_id: str) -> dict[str, Any]:
        """The run, once the actor may publish it (owner or admin) and it has succeeded."""
        run = self.runs.get(actor, run_id)  # NotFound for a run the actor cannot see
        self.policy.check("publish", actor, Subject("meta-analysis", run_id, run["user"], True))
        if run["status"] != RunStatus.SUCCEEDED:
            raise Conflict(f"meta-analysis {run_id} is {run['status']}: only a finished "
                           "(succeeded) run has maps to publish")
        return run

    def _plan(self, run: Mapping[str, Any], options: Mapping[str, Any]) -> Plan:
        studyset, annotation = self.snapshots.frozen(run["snapshot"])
        name = studyset.get("name") if isinstance(studyset.get("name"), str) else None
        used = (run.get("provenance") or {}).get("experiments") or []
        records = list(read_studies(studyset, Selection(annotation), []))
        if run["spec"].get("groups", {}).get("snapshot"):
            other, other_notes = self.snapshots.frozen(run["spec"]["groups"]["snapshot"])
            records += read_studies(other, Selection(other_notes), [])
        methods = ""
        methods_file = (run.get("results") or {}).get("methods_file")
        if methods_file:
            with self.snapshots.files.open(methods_file) as stream:
                methods = stream.read().decode()
        return run_plan(run, name, subjects(records, used), methods, options)

    def _run_target(self, actor: Actor, run_id: str) -> Target:
        return _run_target(self._publishable(actor, run_id))

    def _term_target(self, actor: Actor, term: str, feature_set: str | None) -> Target:
        if self.term_maps is None:
            raise NotFound("no term maps can be published from this server")
        return self.term_maps.target(actor, term, feature_set)

    def _bundle(self, target: Target, plan: Plan) -> tuple[str, Iterator[bytes]]:
        return target.filename, bundle_stream(plan, self.snapshots.files, target.title,
                                              target.upload)

    def bundle(self, actor: Actor, run_id: str, options: Any, *,
               site: str | None = None) -> tuple[str, Iterator[bytes]]:
        """An upload-ready bundle of a run: its file name and its zip bytes, streamed.

        Raises
        ------
        NotFound, PermissionDenied, Conflict, Invalid
        """
        checked = _load(PublishOptions(), options)
        run = self._publishable(actor, run_id)
        return self._bundle(_run_target(run), self._plan(run, {**checked, "site": site}))

    def term_bundle(self, actor: Actor, term: str, options: Any, *,
                    feature_set: str | None = None,
                    site: str | None = None) -> tuple[str, Iterator[bytes]]:
        """An upload-ready bundle of a term's maps (of the newest term maps, or a feature
        set's): its file name and its zip bytes, streamed.

        Raises
        ------
        Unauthenticated
            For an anonymous caller (any signed-in user may publish term maps).
        NotFound
            An unknown term or feature set, or no term maps built.
        Invalid
            A malformed option.
        """
        checked = _load(PublishOptions(), options)
        target = self._term_target(actor, term, feature_set)
        return self._bundle(target, self._plan_of(target.kind, target.source_id,
                                                  {**checked, "site": site}))

    def _plan_of(self, kind: str, source: str, options: Mapping[str, Any]) -> Plan:
        if kind == PublicationKind.TERM_MAP:
            if self.term_maps is None:
                raise NotFound("no term maps can be published from this server")
            return self.term_maps.plan(source, options)
        return self._plan(self.runs.get(Actor.system(), source), options)

    def plan(self, claim: Claim) -> Plan:
        """What a claimed upload sends (for the job: no permission check)."""
        return self._plan_of(claim.kind, claim.source, claim.options)

    # requests ----------------------------------------------------------------------------
    def _open(self, session: Any, actor: Actor, target: Target, options: dict[str, Any],
              token: str | None, status: RunStatus) -> NeuroVaultPublication:
        """The target's publication row, reset for a new upload (made on the first)."""
        row = session.execute(
            select(NeuroVaultPublication)
            .where(NeuroVaultPublication.kind == target.kind,
                   NeuroVaultPublication.source_id == target.source_id)
            .with_for_update()
        ).scalar()
        if row is None:
            row = NeuroVaultPublication(id=new_id(), kind=target.kind,
                                        source_id=target.source_id, images={}, attempts=0)
            session.add(row)
        elif row.status in ACTIVE_STATUSES:
            raise Conflict(f"{target.label} is already being published to NeuroVault "
                           f"({row.progress.get('stage', row.status)}); wait for it to finish")
        now = dt.datetime.now(dt.UTC)
        row.owner_id = row.owner_id or actor.id
        row.options, row.token, row.error = options, token, None
        row.status, row.progress = status, {"stage": status.value}
        row.started_at = now if status == RunStatus.RUNNING else None
        row.finished_at = None
        session.flush()
        return row

    def _request(self, actor: Actor, target: Target, options: dict[str, Any],
                 token: str) -> dict[str, Any]:
        with UnitOfWork(self._sf) as uow:
            row = self._open(uow.session, actor, target, options, token, RunStatus.QUEUED)
            if self.queue is not None:
                row.job_id = self.queue.defer(uow.session, PUBLISH_TASK, queue=PUBLISH_QUEUE,
                                              lock=f"neurovault-{row.id}", publication_id=row.id)
            state = publication_state(row)
            uow.commit()
        return state

    def request(self, actor: Actor, run_id: str, data: Any, *,
                site: str | None = None) -> dict[str, Any]:
        """Queue an upload of a run's maps to NeuroVault with the user's token.

        Parameters
        ----------
        actor : Actor
            The run's owner or an administrator.
        run_id : str
        data : mapping
            ``token`` and the :class:`~neurostore.schemas.neurovault.PublishOptions`.
        site : str, optional
            This store's address, for the links back from the collection.

        Raises
        ------
        Invalid
            A missing or malformed token or option (the message never repeats the token).
        NotFound, PermissionDenied
            An unknown run; a run of someone else.
        Conflict
            A run not succeeded, or one already being published.
        """
        checked = _load(PublishRequest(), data)
        token = checked.pop("token")
        return self._request(actor, self._run_target(actor, run_id), {**checked, "site": site},
                             token)

    def term_request(self, actor: Actor, term: str, data: Any, *,
                     feature_set: str | None = None,
                     site: str | None = None) -> dict[str, Any]:
        """Queue an upload of a term's maps to NeuroVault with the user's token (the
        actor's own publication of that term of that build: publishing it again updates it).

        Raises
        ------
        Invalid, Unauthenticated, NotFound
            As :meth:`term_bundle`; a missing or malformed token.
        Conflict
            The actor's upload of it is already under way.
        """
        checked = _load(PublishRequest(), data)
        token = checked.pop("token")
        return self._request(actor, self._term_target(actor, term, feature_set),
                             {**checked, "site": site}, token)

    def _start(self, actor: Actor, target: Target, options: dict[str, Any]) -> Claim:
        with UnitOfWork(self._sf) as uow:
            row = self._open(uow.session, actor, target, options, None, RunStatus.RUNNING)
            row.claim, row.attempts = secrets.token_hex(16), row.attempts + 1
            claim = _claim_of(row, None)
            uow.commit()
        return claim

    def start(self, actor: Actor, run_id: str, options: Any, *,
              site: str | None = None) -> Claim:
        """Claim a run's publication for an upload in the caller's own process (the command
        line), which holds the token itself: nothing secret is stored."""
        checked = _load(PublishOptions(), options)
        return self._start(actor, self._run_target(actor, run_id), {**checked, "site": site})

    def term_start(self, actor: Actor, term: str, options: Any, *,
                   feature_set: str | None = None, site: str | None = None) -> Claim:
        """Claim the actor's publication of a term's maps for an upload in the caller's own
        process (as :meth:`start`)."""
        checked = _load(PublishOptions(), options)
        return self._start(actor, self._term_target(actor, term, feature_set),
                           {**checked, "site": site})

    def _state(self, kind: str, source_id: str, label: str) -> dict[str, Any]:
        with UnitOfWork(self._sf) as uow:
            row = uow.session.execute(
                select(NeuroVaultPublication)
                .where(NeuroVaultPublication.kind == kind,
                       NeuroVaultPublication.source_id == source_id)
            ).scalar()
            if row is None:
                raise NotFound(f"{label} has not been published to NeuroVault")
            return publication_state(row)

    def state(self, actor: Actor, run_id: str) -> dict[str, Any]:
        """The publication of a run: status, progress, collection, error."""
        run = self.runs.get(actor, run_id)
        self.policy.check("publish", actor, Subject("meta-analysis", run_id, run["user"], True))
        return self._state(KIND, run_id, f"meta-analysis {run_id}")

    def term_state(self, actor: Actor, term: str, *,
                   feature_set: str | None = None) -> dict[str, Any]:
        """The actor's publication of a term's maps (of the newest term maps, or a feature
        set's): status, progress, collection, error."""
        target = self._term_target(actor, term, feature_set)
        return self._state(target.kind, target.source_id, f"your {target.label}")

    # the worker's side -------------------------------------------------------------------
    def claim(self, publication_id: str) -> Claim | None:
        """Take a queued publication and its token (cleared from the row in the same
        transaction).

        Returns
        -------
        Claim or None
            None when the publication is finished. A claim without a token means an earlier
            attempt took it and died; the caller reports :data:`TOKEN_GONE` with :meth:`fail`.
        """
        with UnitOfWork(self._sf) as uow:
            row = uow.session.execute(
                select(NeuroVaultPublication)
                .where(NeuroVaultPublication.id == publication_id,
                       NeuroVaultPublication.status.in_(ACTIVE_STATUSES))
                .with_for_update()
            ).scalar()
            if row is None:
                return None
            token, row.token = row.token, None
            row.claim, row.attempts = secrets.token_hex(16), row.attempts + 1
            row.status, row.started_at = RunStatus.RUNNING, dt.datetime.now(dt.UTC)
            row.progress = {"stage": "starting"}
            claim = _claim_of(row, token)
            uow.commit()
        return claim

    def _owned(self, held: Claim, /, **values: Any) -> bool:
        with UnitOfWork(self._sf) as uow:
            done = uow.session.execute(
                update(NeuroVaultPublication)
                .where(NeuroVaultPublication.id == held.publication_id,
                       NeuroVaultPublication.claim == held.claim,
                       NeuroVaultPublication.status == RunStatus.RUNNING)
                .values(**values).returning(NeuroVaultPublication.id)
            ).first()
            uow.commit()
        return done is not None

    def report(self, claim: Claim, progress: dict[str, Any]) -> bool:
        """Record progress; False when the claim was lost."""
        return self._owned(claim, progress=progress)

    def remember_collection(self, claim: Claim, server: str, collection_id: int,
                            url: str) -> bool:
        """Record the collection the upload made or updated (before any image is sent, so an
        interrupted upload is resumed into it)."""
        return self._owned(claim, server=server, collection_id=collection_id,
                           collection_url=url)

    def remember_image(self, claim: Claim, name: str, image_id: int) -> bool:
        """Record the NeuroVault image of one map, as soon as it is sent."""
        with UnitOfWork(self._sf) as uow:
            row = uow.session.execute(
                select(NeuroVaultPublication)
                .where(NeuroVaultPublication.id == claim.publication_id,
                       NeuroVaultPublication.claim == claim.claim)
                .with_for_update()
            ).scalar()
            if row is None:
                return False
            row.images = {**row.images, name: image_id}
            uow.commit()
        return True

    def forget(self, claim: Claim) -> bool:
        """Drop the ids of an earlier collection (it is gone, or on another server)."""
        return self._owned(claim, collection_id=None, collection_url=None, images={})

    def finish(self, claim: Claim) -> bool:
        """Mark the upload done; False when the claim was lost."""
        return self._owned(claim, status=RunStatus.SUCCEEDED, progress={"stage": "done"},
                           finished_at=dt.datetime.now(dt.UTC), claim=None)

    def fail(self, claim: Claim, error: str) -> bool:
        """Record why the upload failed; False when the claim was lost."""
        return self._owned(claim, status=RunStatus.FAILED, error=error, token=None,
                           progress={"stage": "failed"}, finished_at=dt.datetime.now(dt.UTC),
                           claim=None)


def _run_target(run: Mapping[str, Any]) -> Target:
    run_id = run["id"]
    return Target(KIND, run_id, f"meta-analysis {run_id}", f"neurovault-{run_id}.zip",
                  f"{run['estimator']} meta-analysis run {run_id} of snapshot "
                  f"{run['snapshot']}", RUN_UPLOAD)


def _claim_of(row: NeuroVaultPublication, token: str | None) -> Claim:
    return Claim(publication_id=row.id, claim=row.claim or "", kind=row.kind,
                 source=row.source_id,
                 options=dict(row.options), server=row.server,
                 collection_id=row.collection_id, images=dict(row.images), token=token)


def _load(schema: Any, data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise Invalid({"_schema": "expected an object"})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Invalid(exc.messages) from exc
