"""Shared fixtures: a real PostgreSQL with the schema built by ``alembic upgrade head``.

With ``DATABASE_URL`` set, a fresh database is created on that server for the run and
dropped afterwards; otherwise the embedded server (``pgserver``) is started in a
temporary folder. Each test starts from empty tables.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from neurostore import migrate
from neurostore.db import Base, make_engine, make_session_factory
from neurostore.embedded import embedded_database_url

# pgserver logs each pg_ctl call at INFO, also from its exit handler after pytest has
# closed the captured streams; only its warnings matter here.
logging.getLogger("pgserver").setLevel(logging.WARNING)


def _server_url() -> tuple[str, str | None]:
    configured = os.environ.get("DATABASE_URL")
    if not configured:
        # Not under pytest's basetemp: pytest keeps that folder private (0700), and as root
        # the embedded server runs as its own system user, which must reach its data folder.
        root = Path(tempfile.mkdtemp(prefix="neurostore-test-"))
        root.chmod(0o755)
        url = embedded_database_url(root, database="neurostore_test", keep_running=False)
        return url, None
    url = make_url(configured.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"neurostore_test_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False), name


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a migrated, empty test database."""
    url, created = _server_url()
    migrate.upgrade(url)
    yield url
    if created:
        admin = make_url(url).set(drivername="postgresql", database="postgres")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'DROP DATABASE "{created}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(database_url: str):
    """An engine on the test database."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine):
    """A session factory on empty tables (truncated after each test)."""
    yield make_session_factory(engine)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
