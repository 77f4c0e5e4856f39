"""Ingestion as jobs on the task queue: a task per source, schedules from the settings.

A job carries a run id only; the run row holds the source's parameters and, once the
job ran, its status and counts. A job is safe to run again: a finished run is left
alone, and re-loading a source only writes what changed. When a load raises, the job
is retried (procrastinate's retry strategy) with the run kept ``running``; the last
attempt marks it failed. A worker that dies mid-run leaves its job ``doing``; the
worker's stalled-job retry (``analysis.tasks.retry_stalled_jobs``, for every queue)
hands it back, and the retried job resumes the same run.

Schedules (``NEUROSTORE_SCHEDULE_<SOURCE>``, a cron expression) are registered when
the worker imports this module: at each tick a ``queued`` run of the public release
is opened together with its job, unless that source is busy.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

import procrastinate
from procrastinate import JobContext

from ingest.load import DEFAULT_BATCH_SIZE
from ingest.runs import execute
from ingest.sources import SOURCES, Environment, default_parameters
from neurostore import jobs
from neurostore.config import Settings, SettingsError, check_schedules, schedules_from_env
from neurostore.db import database_url, make_engine, make_session_factory
from neurostore.services.actors import SYSTEM
from neurostore.services.errors import Conflict
from neurostore.services.ingest import INGEST_QUEUE, INGEST_TASK
from neurostore.services.registry import build_services
from neurostore.storage import open_file_store
from neurostore.vocabulary import FINISHED_STATUSES

LOG = logging.getLogger(__name__)
QUEUE = INGEST_QUEUE
# Three attempts in all, 1 then 5 minutes apart: long enough for a host to come back.
RETRY = procrastinate.RetryStrategy(max_attempts=2, wait=60, linear_wait=240)


def task_name(source: str) -> str:
    """The task that ingests ``source``."""
    return INGEST_TASK.format(source=source)


@cache
def _environment() -> Environment:
    # One engine and service set per worker process, from the worker's own settings.
    settings = Settings.from_env()
    services = build_services(make_session_factory(make_engine(database_url(settings))),
                              files=open_file_store(settings))
    return Environment(services, settings.data_dir, services.snapshots.files,
                       ncbi_api_key=settings.ncbi_api_key, ncbi_email=settings.ncbi_email)


def run_job(env: Environment, run_id: int, *, attempts: int = 0,
            batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, Any] | None:
    """Load a queued (or resumed) run; what every ingest task does.

    Parameters
    ----------
    env : Environment
        Services, folders and file store.
    run_id : int
        The run.
    attempts : int, optional
        Earlier attempts of this job; the last allowed one closes the run as failed.
    batch_size : int, optional
        Studies per transaction.

    Returns
    -------
    dict or None
        The run's summary, or None when it had already finished.
    """
    ingest = env.services.ingest
    run = ingest.get_run(SYSTEM, run_id)
    if run["status"] in FINISHED_STATUSES:
        return None
    with ingest.hold(run["source"], keep=run_id):
        ingest.mark_running(run_id)
        execute(env.services, run_id, env, batch_size=batch_size,
                final_attempt=attempts >= RETRY.max_attempts)
    return ingest.get_run(SYSTEM, run_id)


def _task(context: JobContext, run_id: int, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
    run_job(_environment(), run_id, attempts=context.job.attempts, batch_size=batch_size)


# One task per source: procrastinate's ``lock`` keeps one job of a source running at once.
for _source in SOURCES:
    jobs.tasks.task(name=task_name(_source), queue=QUEUE, lock=f"ingest:{_source}",
                    retry=RETRY, pass_context=True)(_task)


@jobs.tasks.task(name="ingest.scheduled", queue=QUEUE, pass_context=True)
def scheduled(context: JobContext, timestamp: int, source: str) -> int | None:
    """Open a run of ``source``'s release (public, or the configured mirror) with its job;
    skip a busy source."""
    env = _environment()
    location = Settings.from_env().release_locations.get(source)
    try:
        return env.services.ingest.start_run(
            SYSTEM, source, default_parameters(source, location), queued=True)
    except Conflict as busy:
        LOG.info("scheduled ingest of %s skipped: %s", source, busy)
        return None


def schedule(settings: Settings, blueprint: procrastinate.Blueprint = jobs.tasks) -> list[str]:
    """Register a periodic :func:`scheduled` per source with a cron expression.

    Parameters
    ----------
    settings : Settings
        Holds ``ingest_schedules``.
    blueprint : procrastinate.Blueprint, optional
        Where the schedules go.

    Returns
    -------
    list of str
        The sources scheduled.
    """
    for source, cron in settings.ingest_schedules.items():
        blueprint.periodic(cron=cron, periodic_id=source, task_kwargs={"source": source})(
            scheduled)
    return sorted(settings.ingest_schedules)


def usable_schedules(environ: Mapping[str, str]) -> dict[str, str]:
    """The schedules of the environment whose cron expressions are valid (the worker of the
    ingest queue refuses to start on the others, naming them)."""
    out = {}
    for source, cron in schedules_from_env(environ).items():
        try:
            check_schedules({source: cron})
        except SettingsError:
            continue
        out[source] = cron
    return out


# Only the schedules: any other unusable variable is reported by the command or app
# that reads it, not as an import error, and a bad schedule never stops the other queues.
schedule(Settings(ingest_schedules=usable_schedules(os.environ)))
