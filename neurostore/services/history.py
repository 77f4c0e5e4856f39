"""Recording and reading revisions, for every kind of aggregate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from neurostore.models import Revision
from neurostore.services.actors import Actor
from neurostore.services.bulk import copy_rows
from neurostore.services.errors import NotFound


@dataclass(frozen=True)
class Provenance:
    """Why a write happened: the change message and the run or job behind it."""

    message: str | None = None
    ingest_run_id: int | None = None
    job_id: int | None = None


NO_PROVENANCE = Provenance()


def diff_states(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Return an RFC 6902 JSON patch that turns ``before`` into ``after``.

    Objects are compared key by key and lists of equal length item by item; a list whose
    length changed is replaced whole. That keeps diffs of large study trees linear in
    their size (a general list diff is quadratic) while staying a valid patch.
    """
    ops: list[dict[str, Any]] = []
    _diff(before or {}, after, "", ops)
    return ops


def _pointer(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _diff(a: Any, b: Any, path: str, ops: list[dict[str, Any]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            if key not in b:
                ops.append({"op": "remove", "path": f"{path}/{_pointer(key)}"})
        for key, value in b.items():
            if key not in a:
                ops.append({"op": "add", "path": f"{path}/{_pointer(key)}", "value": value})
            else:
                _diff(a[key], value, f"{path}/{_pointer(key)}", ops)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}/{n}", ops)
    elif a != b or type(a) is not type(b) and not _same_number(a, b):
        ops.append({"op": "replace", "path": path, "value": b})


def _same_number(a: Any, b: Any) -> bool:
    numeric = (int, float)
    return (isinstance(a, numeric) and isinstance(b, numeric)
            and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


_PENDING = "neurostore.pending_revisions"


def record(
    session: Session,
    actor: Actor,
    aggregate_type: str,
    entries: list[tuple[str, int, str, dict[str, Any], dict[str, Any] | None]],
    provenance: Provenance,
) -> None:
    """Queue revisions to be written with the transaction's commit.

    ``entries`` holds ``(aggregate_id, version, action, state_after, state_before)``. The
    rows of every aggregate changed in one transaction go out in a single ``COPY`` just
    before it commits (and are dropped if it rolls back).
    """
    pending = session.info.setdefault(_PENDING, [])
    pending.extend(
        {
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
            "version": version,
            "action": action,
            "actor_id": actor.id,
            "message": provenance.message,
            "state": after,
            "diff": diff_states(before, after) if before is not None else [],
            "ingest_run_id": provenance.ingest_run_id,
            "job_id": provenance.job_id,
        }
        for aggregate_id, version, action, after, before in entries
    )


_COMMIT_HOOKS: dict[str, list[Callable[[Session, list[str]], None]]] = {}


def before_commit(aggregate_type: str, hook: Callable[[Session, list[str]], None]) -> None:
    """Call ``hook(session, ids)`` with the ids of the aggregates of ``aggregate_type`` that
    a transaction changed, just before it commits (for data derived from them).

    Hooks are process-wide (every session runs them), so they are registered once, by
    the composition root (:func:`neurostore.services.registry.build_services`);
    registering the same hook again does nothing. Work to do once the transaction has
    committed goes to :meth:`neurostore.services.uow.UnitOfWork.on_commit` instead.
    """
    hooks = _COMMIT_HOOKS.setdefault(aggregate_type, [])
    if hook not in hooks:
        hooks.append(hook)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if rows:
        copy_rows(session, Revision.__table__, rows)
        for aggregate_type, hooks in _COMMIT_HOOKS.items():
            ids = sorted({r["aggregate_id"] for r in rows if r["aggregate_type"] == aggregate_type})
            for hook in hooks if ids else ():
                hook(session, ids)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def summary(rev: Revision) -> dict[str, Any]:
    """The listing form of a revision (no state)."""
    return {
        "version": rev.version,
        "action": rev.action,
        "user": rev.actor_id,
        "created_at": rev.created_at.isoformat(),
        "message": rev.message,
        "ingest_run": rev.ingest_run_id,
        "job": rev.job_id,
    }


def list_revisions(session: Session, aggregate_type: str, aggregate_id: str) -> list[Revision]:
    """All revisions of an aggregate, oldest first."""
    return list(
        session.execute(
            select(Revision)
            .where(Revision.aggregate_type == aggregate_type, Revision.aggregate_id == aggregate_id)
            .order_by(Revision.version)
        ).scalars()
    )


def get_revision(
    session: Session, aggregate_type: str, aggregate_id: str, version: int
) -> Revision:
    """One revision, or :class:`NotFound` naming what is missing."""
    if not 1 <= version < 2**31:
        # Versions are 32-bit counters from 1: a number outside them names no revision.
        raise NotFound(f"{aggregate_type} {aggregate_id} has no revision {version}")
    rev = session.execute(
        select(Revision).where(
            Revision.aggregate_type == aggregate_type,
            Revision.aggregate_id == aggregate_id,
            Revision.version == version,
        )
    ).scalar_one_or_none()
    if rev is None:
        raise NotFound(f"{aggregate_type} {aggregate_id} has no revision {version}")
    return rev
