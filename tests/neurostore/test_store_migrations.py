"""The schema comes from Alembic only: models and migrations agree, and they round-trip."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from neurostore import migrate
from neurostore.db import Base, make_engine


def test_models_and_migrations_agree(database_url):
    migrate.check(database_url)


@pytest.fixture
def scratch_url(database_url):
    """A fresh, empty database on the same server."""
    url = make_url(database_url)
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trips(scratch_url):
    migrate.upgrade(scratch_url)
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert expected <= _tables(scratch_url)
    migrate.downgrade(scratch_url, "base")
    assert not (expected & _tables(scratch_url))
    migrate.upgrade(scratch_url)
    assert expected <= _tables(scratch_url)
    migrate.check(scratch_url)
