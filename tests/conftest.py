"""Shared fixtures: a real PostgreSQL with the schema built by ``alembic upgrade head``.

With ``DATABASE_URL`` set, a fresh database is created on that server for the run and
dropped afterwards; otherwise the embedded server (``pgserver``) is started in a
temporary folder. Each test starts from empty tables.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from neurostore import migrate
from neurostore.app import create_app
from neurostore.config import Settings
from neurostore.db import Base, make_engine, make_session_factory
from neurostore.scratch_db import scratch_database

# The task queue's tables (migration 0004): jobs left by one test must not reach the next.
QUEUE_TABLES = ("procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers",
                "procrastinate_workers")

# pgserver logs each pg_ctl call at INFO, also from its exit handler after pytest has
# closed the captured streams; only its warnings matter here.
logging.getLogger("pgserver").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a migrated, empty test database."""
    url, drop = scratch_database("test")
    migrate.upgrade(url)
    yield url
    drop()


@pytest.fixture(scope="session")
def engine(database_url: str):
    """An engine on the test database."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine):
    """A session factory on empty tables (truncated after each test, task queue included)."""
    yield make_session_factory(engine)
    names = ", ".join([*(f'"{t.name}"' for t in Base.metadata.sorted_tables), *QUEUE_TABLES])
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def served(services):
    """The API on the test's ``services``, served over HTTP on a free loopback port (for
    clients that make real requests: neurostore-sdk, NiMARE); its base URL."""
    app = create_app(Settings(), services=services)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
