"""An ingest run from start to finish: hold the source, open the run, load, close it.

A source loads studies (:func:`ingest.load.load`), or, for PubMed, the texts of the
store's base studies (:func:`ingest.pubmed.load.load_texts`); both report the same counts.

The run row is the source of truth: it is ``running`` while a process loads it, its
counts grow batch by batch, and it ends ``succeeded``, or ``failed`` with its errors
(an exception, or records that could not be fetched; the next run retries those). A
process that dies leaves the run ``running`` without a holder; the next process to
hold the source marks it failed (see :meth:`IngestService.hold`).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from typing import Any

from ingest.load import DEFAULT_BATCH_SIZE, LoadSummary, Progress, load
from ingest.pubmed.load import load_texts
from ingest.sources import Environment, open_pubmed, open_source
from neurostore.services.actors import SYSTEM, Actor
from neurostore.services.ingest_reports import BatchReport
from neurostore.services.registry import Services
from neurostore.storage import ScratchFileStore
from neurostore.vocabulary import RunStatus


def run_now(
    services: Services,
    source: str,
    parameters: dict[str, Any],
    env: Environment,
    *,
    actor: Actor = SYSTEM,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> LoadSummary:
    """Run an ingest of ``source`` in this process.

    Parameters
    ----------
    services : Services
        The store.
    source : str
        Source name.
    parameters : dict
        The run's parameters (stored on the run).
    env : Environment
        Folders, file store, HTTP session.
    actor : Actor, optional
        Who asks (must be an administrator); the system actor by default (a command
        line, a worker).
    batch_size : int, optional
        Studies (PubMed: PMIDs per efetch request) per transaction.
    dry_run : bool, optional
        Write nothing and open no run; the summary holds the diffs.
    progress : callable, optional
        Called after each batch.

    Returns
    -------
    LoadSummary
        What the run did.

    Raises
    ------
    Conflict
        If another run of ``source`` is active.
    """
    if dry_run:
        # A dry run writes nothing, files included: what it downloads goes to a scratch
        # store removed at the end.
        with tempfile.TemporaryDirectory(prefix="neurostore-dry-run-") as scratch:
            scratch_env = replace(env, files=ScratchFileStore(scratch, env.files))
            summary = _load(services, source, parameters, scratch_env, None,
                            batch_size=batch_size, dry_run=True, progress=progress)
        summary.status = "dry-run"
        return summary
    with services.ingest.hold(source):
        run_id = services.ingest.start_run(actor, source, parameters)
        return execute(services, run_id, env, batch_size=batch_size, progress=progress)


def execute(
    services: Services,
    run_id: int,
    env: Environment,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    final_attempt: bool = True,
) -> LoadSummary:
    """Load an open run (the caller holds its source) and close it.

    Parameters
    ----------
    services : Services
        The store.
    run_id : int
        A ``running`` run.
    env : Environment
        Folders, file store, HTTP session.
    batch_size : int, optional
        Studies (PubMed: PMIDs per efetch request) per transaction.
    progress : callable, optional
        Called after each batch.
    final_attempt : bool, optional
        When False, an exception leaves the run ``running`` with the error noted, for
        the task queue to retry it; when True it closes the run as failed.

    Returns
    -------
    LoadSummary
        What the run did, with its final status.

    Raises
    ------
    Exception
        Whatever stopped the load, after the run recorded it.
    """
    ingest = services.ingest
    run = ingest.get_run(SYSTEM, run_id)
    try:
        summary = _load(services, run["source"], run["parameters"], env, run_id,
                        batch_size=batch_size, progress=progress)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        if final_attempt:
            ingest.finish_run(run_id, RunStatus.FAILED, error=reason)
        else:
            note = {"source_id": None, "line": None,
                    "reason": f"attempt failed, to be retried: {reason}"}
            ingest.record_batch(run_id, BatchReport(errors=[note]))
        raise
    summary.status = (RunStatus.FAILED if summary.failed else RunStatus.SUCCEEDED).value
    error = (f"{summary.failed} records could not be fetched; the next run retries them"
             if summary.failed else None)
    ingest.finish_run(run_id, summary.status, error=error)
    return summary


def _load(services: Services, source: str, parameters: dict[str, Any], env: Environment,
          run_id: int | None, *, batch_size: int, dry_run: bool = False,
          progress: Progress | None = None) -> LoadSummary:
    """Open ``source`` from a run's parameters and load it (studies, or PubMed's texts)."""
    if source == "pubmed":
        client, selection = open_pubmed(parameters, env, batch_size)
        return load_texts(services, client, selection, run_id=run_id, dry_run=dry_run,
                          progress=progress)
    stream = open_source(source, parameters, env)
    return load(services, source, stream, run_id=run_id, batch_size=batch_size,
                dry_run=dry_run, progress=progress)
