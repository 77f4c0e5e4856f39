"""Tasks of the ``analysis`` queue: meta-analysis runs, term builds, and the recovery of
stalled jobs; and of the ``export`` queue: NeuroVault publications.

A worker process (``manage.py worker``) builds its services from the environment
(``DATABASE_URL``, ``NEUROSTORE_DATA_DIR``), the same settings every other command uses, and
keeps them for the jobs it runs. Jobs carry a run id only; everything else is in the run's
row and its snapshot.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import procrastinate

from analysis import publish, termbuild
from analysis.meta import NullCache
from analysis.runner import execute
from neurostore import jobs
from neurostore.config import Settings
from neurostore.db import database_url, make_engine, make_session_factory
from neurostore.services.analysis_runs import RUN_QUEUE, RUN_TASK
from neurostore.services.neurovault import PUBLISH_QUEUE, PUBLISH_TASK
from neurostore.services.registry import Services, build_services
from neurostore.services.terms import BUILD_QUEUE, BUILD_TASK
from neurostore.storage import open_file_store

#: A job whose worker sent no heartbeat for this long is taken to be dead and retried.
STALLED_AFTER = 30.0


@cache
def _runtime(url: str, data_dir: Path, files_url: str | None,
             presign_seconds: int) -> tuple[Services, NullCache]:
    settings = Settings(data_dir=data_dir, files_url=files_url,
                        files_presign_seconds=presign_seconds)
    services = build_services(make_session_factory(make_engine(url)),
                              files=open_file_store(settings))
    return services, NullCache(data_dir / "nulls")


def worker_runtime() -> tuple[Services, NullCache]:
    """The services and Monte Carlo null cache of this worker process."""
    settings = Settings.from_env()
    return _runtime(database_url(settings), settings.data_dir, settings.files_url,
                    settings.files_presign_seconds)


@jobs.tasks.task(name=RUN_TASK, queue=RUN_QUEUE)
def run_meta_analysis(run_id: str) -> None:
    """Run one meta-analysis (a no-op for a run that is finished or cancelled)."""
    services, nulls = worker_runtime()
    execute(services, run_id, null_cache=nulls)


@jobs.tasks.task(name=BUILD_TASK, queue=BUILD_QUEUE)
def build_terms(build_id: str) -> None:
    """Build a feature set, term maps or a text model (a no-op for a finished build)."""
    services, _ = worker_runtime()
    termbuild.execute(services, build_id)


@jobs.tasks.task(name=PUBLISH_TASK, queue=PUBLISH_QUEUE)
def publish_neurovault(publication_id: str) -> None:
    """Upload a run's maps to NeuroVault (a no-op for a finished publication)."""
    services, _ = worker_runtime()
    publish.execute(services, publication_id, Settings.from_env().neurovault_publish_url)


async def retry_stalled(app: procrastinate.App, seconds_since_heartbeat: float) -> list[int]:
    """Put the jobs of workers silent for ``seconds_since_heartbeat`` back in their queue.

    Returns
    -------
    list of int
        Ids of the jobs retried.
    """
    manager = app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat))
    for job in stalled:
        await manager.retry_job(job)
    return [job.id for job in stalled]


@jobs.tasks.periodic(cron="* * * * * */15", periodic_id="retry-stalled")
@jobs.tasks.task(name="analysis.retry_stalled_jobs", queue=RUN_QUEUE, pass_context=True,
                 queueing_lock="analysis.retry_stalled_jobs")
async def retry_stalled_jobs(context: Any, timestamp: int) -> None:
    """Every 15 s: retry the jobs (of any queue) whose worker died."""
    await retry_stalled(context.app, STALLED_AFTER)
