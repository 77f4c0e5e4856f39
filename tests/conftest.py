"""The fixtures every test package shares.

- a real PostgreSQL with the schema built by ``alembic upgrade head``: with ``DATABASE_URL``
  set, a fresh database is created on that server for the run and dropped afterwards;
  otherwise the embedded server (``pgserver``) is started in a temporary folder. Each test
  starts from empty tables;
- ``services`` on that database with a file store in the test's temporary folder, the API
  app on them (``app``, ``client``, or ``served`` over real HTTP);
- users (``alice``, ``bob``, ``curator``, ``admin``): each an actor for the services and a
  token for the API (:class:`tests.support.users.Caller`);
- the recorded NeuroVault API replayed locally (``replay``, ``http_session``, ``nv_client``),
  and recorded PubMed efetch answers (``eutils``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.serving import make_server

from ingest.http import PoliteSession
from ingest.neurovault.client import NeuroVaultClient
from neurostore import migrate
from neurostore.app import create_app
from neurostore.config import Settings
from neurostore.db import Base, make_engine, make_session_factory
from neurostore.scratch_db import scratch_database
from neurostore.services.registry import Services, build_services
from neurostore.storage import LocalFileStore
from tests.support.data import DATA
from tests.support.replay import ReplayServer
from tests.support.users import Caller, make_caller

#: Fixtures shared beyond one package, kept in tests/support rather than imported from
#: conftest modules.
pytest_plugins = ["tests.support.studysets", "tests.support.efetch", "tests.support.browser",
                  "tests.support.s3"]

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
def files(tmp_path: Path) -> LocalFileStore:
    """An empty file store in the test's temporary folder."""
    return LocalFileStore(tmp_path / "files")


@pytest.fixture
def services(session_factory, files: LocalFileStore) -> Services:
    """The services on the empty test database and file store."""
    return build_services(session_factory, files=files)


@pytest.fixture
def app(services: Services) -> Flask:
    """The API app with a small request size limit (so 413 is cheap to test)."""
    return create_app(Settings(max_content_length=2 * 1024 * 1024, secret_key="tests"),
                      services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the API."""
    return app.test_client()


@pytest.fixture
def alice(services: Services, session_factory) -> Caller:
    """A user."""
    return make_caller(services, session_factory, "user", "alice")


@pytest.fixture
def bob(services: Services, session_factory) -> Caller:
    """Another user."""
    return make_caller(services, session_factory, "user", "bob")


@pytest.fixture
def curator(services: Services, session_factory) -> Caller:
    """A curator."""
    return make_caller(services, session_factory, "curator", "carol")


@pytest.fixture
def admin(services: Services, session_factory) -> Caller:
    """An administrator."""
    return make_caller(services, session_factory, "admin", "root")


@pytest.fixture
def auth(alice: Caller) -> dict[str, str]:
    """alice's Authorization header."""
    return alice.headers


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """The recorded NeuroVault API, served locally."""
    server = ReplayServer(slow_seconds=2.5)
    server.start()
    server.load_index(DATA / "neurovault" / "api" / "index.json")
    yield server
    server.stop()


@pytest.fixture
def http_session() -> Iterator[PoliteSession]:
    """A session with short timeouts and backoff, so that fault tests run fast.

    The read timeout is well above what a loaded machine takes to answer and well below
    the replay server's ``SLOW`` delay. At 0.3 s a full suite run once counted a third
    request for a single dropped connection: the retry had no fault to meet, so only the
    client's own timeout can have failed it."""
    with PoliteSession(
        retries=3, backoff_factor=0.01, timeout=(1.0, 1.0), min_interval=0.0
    ) as polite:
        yield polite


@pytest.fixture
def nv_client(replay: ReplayServer, http_session: PoliteSession) -> NeuroVaultClient:
    """A NeuroVault client pointed at the replay server."""
    return NeuroVaultClient(replay.https_url, session=http_session, attempts=3)


@pytest.fixture
def served(services):
    """The API on the test's ``services``, served over HTTP on a free loopback port (for
    clients that make real requests: neurostore-sdk, NiMARE); its base URL."""
    app = create_app(Settings(secret_key="tests"), services=services)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
