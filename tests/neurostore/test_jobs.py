"""The task queue runs on the application's PostgreSQL (schema from migration 0004)."""

from __future__ import annotations

from neurostore import jobs

done: list[int] = []


@jobs.tasks.task(name="tests.record", queue="export")
def record(value: int) -> None:
    done.append(value)


def test_a_deferred_job_runs_on_a_worker(database_url):
    app = jobs.connected(database_url)
    with app.open():
        job_id = app.configure_task(name="tests.record").defer(value=41)
        assert job_id > 0
        app.run_worker(queues=["export"], wait=False, install_signal_handlers=False)
    assert done == [41]


def test_conninfo_drops_the_driver_name():
    assert jobs.conninfo("postgresql+psycopg://u:p@h:5/db") == "postgresql://u:p@h:5/db"
