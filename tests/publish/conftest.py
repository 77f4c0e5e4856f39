"""Fixtures of the NeuroVault publication tests: a finished run of real NIMADS data, and a
local NeuroVault that answers as the real one does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.http import PoliteSession
from ingest.neurovault.upload import WRITE_METHODS
from tests.support.examples import import_example
from tests.support.neurovault_server import NeuroVaultServer
from tests.support.runs import run_and_read

#: The API token the local NeuroVault knows (as alice's).
TOKEN = "good-token-1234"


@pytest.fixture
def snapshot(services, alice) -> dict:
    """A snapshot of the bundled NIMADS example, with its sample sizes."""
    imported = import_example(services, alice)
    return services.snapshots.create(alice, imported.studyset.id,
                                     annotation_id=imported.annotation.id, include="include")[0]


@pytest.fixture
def finished(services, alice, snapshot) -> dict:
    """alice's finished KDA run of the snapshot."""
    return run_and_read(services, alice, snapshot, estimator="KDA")


@pytest.fixture
def neurovault() -> Iterator[NeuroVaultServer]:
    """A local NeuroVault on a free port."""
    server = NeuroVaultServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def nv_session() -> Iterator[PoliteSession]:
    """An upload session with the default retries but short backoffs."""
    with PoliteSession(retry_methods=WRITE_METHODS, backoff_factor=0.01,
                       min_interval=0.0) as session:
        yield session


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(database_url, tmp_path, neurovault) -> dict[str, str]:
    """A command's environment: the test database, the fixtures' data folder (their file
    store is ``tmp_path/files``) and the local NeuroVault."""
    environ = {k: v for k, v in os.environ.items() if k != "NEUROVAULT_TOKEN"}
    return {**environ, "DATABASE_URL": database_url, "NEUROSTORE_DATA_DIR": str(tmp_path),
            "NEUROSTORE_NEUROVAULT_PUBLISH_URL": neurovault.url, "PYTHONUNBUFFERED": "1"}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``manage.py`` with ``args``, as a separate process in ``env``."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
