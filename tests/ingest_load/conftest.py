"""Fixtures of the loader tests: services on the test database, a scratch environment."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ingest.sources import Environment
from neurostore.services.registry import build_services
from neurostore.storage import LocalFileStore
from tests.ingest.conftest import DATA, http_session, nv_client, replay  # noqa: F401 (fixtures)
from tests.support.examples import EXAMPLES

NQ = DATA / "neuroquery"
NS = DATA / "neurosynth"
NQ_PARAMS = {"coordinates": str(NQ / "sample-21studies_coordinates.tsv.gz"),
             "metadata": str(NQ / "sample-21studies_metadata.tsv.gz")}
NS_PARAMS = {"coordinates": str(NS / "sample-24studies_coordinates.tsv.gz"),
             "metadata": str(NS / "sample-24studies_metadata.tsv.gz")}
SLEUTH_PARAMS = {"paths": [str(DATA / "sleuth" / "test_sleuth_file.txt"),
                           str(DATA / "sleuth" / "test_sleuth_file2.txt")]}
NIMADS_PARAMS = {"studyset": str(EXAMPLES / "nimads_studyset.json"),
                 "annotation": str(EXAMPLES / "nimads_annotation.json")}


@pytest.fixture(autouse=True)
def empty_queue(engine):
    """Drop the jobs a test queued (the task queue's tables are not the models')."""
    yield
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers CASCADE"))


@pytest.fixture
def services(session_factory):
    """The services on an empty test database."""
    return build_services(session_factory)


@pytest.fixture
def env(services, tmp_path, http_session):  # noqa: F811 (the imported fixture)
    """A scratch data folder and file store, and the fast test HTTP session."""
    return Environment(services, tmp_path / "data", LocalFileStore(tmp_path / "data" / "files"),
                       http_session)
