"""Fixtures of the loader tests: an empty task queue after each test, a scratch environment."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ingest.sources import Environment
from neurostore.storage import LocalFileStore


@pytest.fixture(autouse=True)
def empty_queue(engine):
    """Drop the jobs a test queued (the task queue's tables are not the models')."""
    yield
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers CASCADE"))


@pytest.fixture
def env(services, tmp_path, http_session):
    """A scratch data folder and file store, and the fast test HTTP session."""
    return Environment(services, tmp_path / "data", LocalFileStore(tmp_path / "data" / "files"),
                       http_session)
