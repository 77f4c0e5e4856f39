"""Ingest jobs on the task queue: a worker runs them, retries them, and schedules them."""

from __future__ import annotations

from types import SimpleNamespace

import procrastinate
import pytest
from sqlalchemy import text

from ingest import tasks
from ingest.sources import SourceError
from neurostore import jobs
from neurostore.config import Settings
from neurostore.services.actors import SYSTEM
from tests.support.data import NQ_PARAMS


@pytest.fixture
def worker_env(database_url, session_factory, monkeypatch, tmp_path):
    """The environment a worker process builds from its settings, on the test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("NEUROSTORE_DATA_DIR", str(tmp_path / "var"))
    tasks._environment.cache_clear()
    yield tasks._environment()
    tasks._environment().services.session_factory.kw["bind"].dispose()
    tasks._environment.cache_clear()


def _queue(worker_env, source, params, app):
    return worker_env.services.ingest.start_run(SYSTEM, source, params, queued=True)


def _job(session_factory):
    with session_factory() as s:
        # the worker also defers its periodic tasks: look at the run's job only
        return s.execute(text("SELECT status, attempts FROM procrastinate_jobs"
                              " WHERE args ? 'run_id'")).one()


def test_a_worker_runs_a_queued_run(worker_env, database_url, session_factory):
    app = jobs.connected(database_url)
    run_id = _queue(worker_env, "neuroquery", NQ_PARAMS, app)
    with app.open():
        app.run_worker(queues=["ingest"], wait=False, install_signal_handlers=False)
    run = worker_env.services.ingest.get_run(SYSTEM, run_id)
    assert (run["status"], run["created"]) == ("succeeded", 21)
    assert _job(session_factory).status == "succeeded"
    # the job is idempotent: running it again does nothing to a finished run
    assert tasks.run_job(worker_env, run_id) is None


def test_a_failing_job_is_retried_with_its_run_kept_running(worker_env, database_url,
                                                            session_factory):
    app = jobs.connected(database_url)
    run_id = _queue(worker_env, "neuroquery", {**NQ_PARAMS, "metadata": "/gone.tsv"}, app)
    with app.open():
        app.run_worker(queues=["ingest"], wait=False, install_signal_handlers=False)
    job = _job(session_factory)
    assert (job.status, job.attempts) == ("todo", 1)  # scheduled again, later
    run = worker_env.services.ingest.get_run(SYSTEM, run_id)
    assert run["status"] == "running"
    assert "to be retried" in run["errors"][-1]["reason"]

    with pytest.raises(SourceError):  # the last attempt closes the run
        tasks.run_job(worker_env, run_id, attempts=tasks.RETRY.max_attempts)
    run = worker_env.services.ingest.get_run(SYSTEM, run_id)
    assert run["status"] == "failed" and "does not exist" in run["errors"][-1]["reason"]


def test_a_run_left_running_by_a_dead_worker_is_resumed(worker_env):
    ingest = worker_env.services.ingest
    run_id = ingest.start_run(SYSTEM, "neuroquery", NQ_PARAMS)  # "running", no live holder
    summary = tasks.run_job(worker_env, run_id, attempts=1)
    assert (summary["status"], summary["created"]) == ("succeeded", 21)


def test_schedules_come_from_the_settings():
    settings = Settings.from_env({"NEUROSTORE_SCHEDULE_NEUROQUERY": "0 3 * * 0",
                                  "NEUROSTORE_SCHEDULE_NEUROVAULT": " ",
                                  "NEUROSTORE_SCHEDULE_SLEUTH": "* * * * *"})
    assert settings.ingest_schedules == {"neuroquery": "0 3 * * 0"}
    blueprint = procrastinate.Blueprint()
    assert tasks.schedule(settings, blueprint) == ["neuroquery"]
    (periodic,) = blueprint.periodic_registry.periodic_tasks.values()
    assert (periodic.task.name, periodic.cron) == ("ingest.scheduled", "0 3 * * 0")
    assert periodic.configure_kwargs["task_kwargs"] == {"source": "neuroquery"}


def test_a_scheduled_tick_queues_the_release_unless_the_source_is_busy(worker_env,
                                                                      database_url,
                                                                      session_factory):
    context = SimpleNamespace(app=jobs.connected(database_url))
    run_id = tasks.scheduled.func(context, timestamp=0, source="neurosynth")
    run = worker_env.services.ingest.get_run(SYSTEM, run_id)
    assert run["status"] == "queued"
    assert run["parameters"]["coordinates"].startswith("https://github.com/neurosynth/")
    assert _job(session_factory).status == "todo"
    assert tasks.scheduled.func(context, timestamp=60, source="neurosynth") is None


@pytest.fixture
def ncbi_email(monkeypatch):
    """The contact address a worker's settings give PubMed (set before ``worker_env``)."""
    monkeypatch.setenv("NCBI_EMAIL", "ops@example.org")


def test_a_worker_fills_pubmed_texts_with_the_settings_identity(
        ncbi_email, worker_env, database_url, admin, eutils):
    for pmid in ("9997", "27797938"):
        worker_env.services.base_studies.create(admin.actor, {"name": pmid, "pmid": pmid})
    app = jobs.connected(database_url)
    run_id = _queue(worker_env, "pubmed", {"base_url": f"{eutils.https_url}/entrez/eutils/"},
                    app)
    with app.open():
        app.run_worker(queues=["ingest"], wait=False, install_signal_handlers=False)
    run = worker_env.services.ingest.get_run(SYSTEM, run_id)
    assert (run["status"], run["created"], run["skipped"]) == ("succeeded", 6, 0)
    assert eutils.forms[0]["email"] == ["ops@example.org"]
    assert "email" not in run["parameters"]


def test_a_scheduled_pubmed_tick_fetches_what_is_missing_from_ncbi(worker_env, database_url):
    context = SimpleNamespace(app=jobs.connected(database_url))
    run_id = tasks.scheduled.func(context, timestamp=0, source="pubmed")
    run = worker_env.services.ingest.get_run(SYSTEM, run_id)
    assert run["parameters"] == {"base_url": "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/",
                                 "pmids": None, "limit": None, "refresh": False}
