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
    server = ReplayServer(slow_seconds=1.0)
    server.start()
    server.load_index(DATA / "neurovault" / "api" / "index.json")
    yield server
    server.stop()


@pytest.fixture
def http_session() -> Iterator[PoliteSession]:
    """A session with short timeouts and backoff, so that fault tests run fast."""
    with PoliteSession(
        retries=3, backoff_factor=0.01, timeout=(1.0, 0.3), min_interval=0.0
    ) as polite:
        yield polite


@pytest.fixture
def nv_client(replay: ReplayServer, http_session: PoliteSession) -> NeuroVaultClient:
    """A NeuroVault client pointed at the replay server."""
    return NeuroVaultClient(replay.https_url, session=http_session, attempts=3)
