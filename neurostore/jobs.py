"""The task queue: procrastinate on the application's own PostgreSQL.

Jobs carry ids only (an ingest run, an analysis run); the rows they point to hold status,
counts and results, so the database stays the source of truth. A job is written in the
transaction that creates its row (:meth:`JobQueue.defer`): the two are committed, or
rolled back, together, so no run is ever queued without its job nor a job left without
its run.

Task functions are declared on the :data:`tasks` blueprint by the modules that own the
work (``ingest.tasks``, ``analysis.tasks``); the composition root imports those modules,
then defers and runs jobs through :func:`connected`.
"""

from __future__ import annotations

from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.engine import make_url

QUEUES = ("ingest", "analysis", "export")

# Tasks are declared here; :func:`connected` binds them to an app on a real database.
tasks = procrastinate.Blueprint()


def conninfo(sqlalchemy_url: str) -> str:
    """The libpq connection string of a ``postgresql+psycopg://`` URL."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(
        hide_password=False
    )


def connected(sqlalchemy_url: str) -> procrastinate.App:
    """The task queue with every declared task, on the database at ``sqlalchemy_url``."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(sqlalchemy_url))
    )
    app.add_tasks_from(tasks, namespace="")
    return app


def live_workers(engine: Any, within: float) -> int:
    """Workers that sent a heartbeat in the last ``within`` seconds.

    A worker records a heartbeat every 10 s and removes its row when it stops; a killed
    one leaves a row that goes stale.
    """
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM procrastinate_workers"
                 " WHERE last_heartbeat > now() - make_interval(secs => :secs)"),
            {"secs": within}).scalar_one()


class JobQueue:
    """The one way work is enqueued: jobs written in the transaction of their row.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the database (the queue's own pool is opened only to cancel).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        # Tasks are deferred by name, so this app holds none: adding the blueprint's tasks
        # would bind them (periodic ones too) to an app that is never opened, in the
        # worker that also builds one of these.
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))

    def defer(self, session: Any, task: str, *, queue: str, lock: str | None = None,
              **arguments: Any) -> int:
        """Write a job of ``task`` on ``session``'s connection, inside its transaction.

        Returns
        -------
        int
            The job id.
        """
        connection = session.connection().connection.driver_connection
        return self.app.configure_task(name=task, queue=queue, lock=lock,
                                       connection=connection).defer(**arguments)

    def cancel(self, job_id: int) -> None:
        """Withdraw a job still waiting (a running one stops at its next report)."""
        with self.app.open():
            self.app.job_manager.cancel_job_by_id(job_id)
