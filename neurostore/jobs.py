"""The task queue: procrastinate on the application's own PostgreSQL.

Jobs carry ids only (an ingest run, an analysis run); the rows they point to hold status,
counts and results, so the database stays the source of truth. Work is enqueued after the
transaction that created its row commits (``UnitOfWork.on_commit``).

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
