"""Fixtures for the ingest tests: fixture data paths and the NeuroVault replay server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.http import PoliteSession
from ingest.neurovault.client import NeuroVaultClient
from tests.ingest.replay import ReplayServer

DATA = Path(__file__).parent / "data"


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
