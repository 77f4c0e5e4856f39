"""``manage.py worker``: run background jobs (ingestion, exports, meta-analyses)."""

from __future__ import annotations

import os

import click

import analysis.tasks  # noqa: F401  (declares the analysis queue's tasks)
import ingest.tasks  # noqa: F401 (declares the ingest tasks and schedules)
from cli.runtime import Runtime, pass_runtime
from neurostore import jobs
from neurostore.config import SettingsError, check_schedules, schedules_from_env


@click.command()
@click.option("--queues", default=",".join(jobs.QUEUES), show_default=True,
              help="Comma-separated queues to take jobs from.")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True,
              help="Jobs run at once by this worker (start more workers to scale out).")
@click.option("--once", is_flag=True, help="Run the jobs waiting now, then exit.")
@pass_runtime
def worker(rt: Runtime, queues: str, concurrency: int, once: bool) -> None:
    """Run a worker; any number of workers on any machines can share the database."""
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(names) - set(jobs.QUEUES))
    if unknown:
        raise click.BadParameter(f"unknown queues: {', '.join(unknown)}", param_hint="--queues")
    if ingest.tasks.QUEUE in names:
        # A schedule that cannot run must not let the worker look healthy.
        try:
            check_schedules(schedules_from_env(os.environ))
        except SettingsError as exc:
            raise click.UsageError(f"{exc}; fix or unset it (or run this worker without the"
                                   " ingest queue)") from exc
    rt.ensure_schema()
    app = jobs.connected(rt.url)
    with app.open():
        app.run_worker(queues=names, concurrency=concurrency, wait=not once,
                       install_signal_handlers=not once)
