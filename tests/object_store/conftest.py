"""Fixtures of the object-store tests: commands as separate processes, each node with its own
empty data folder, sharing only the test database and a bucket on the local S3 server."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest


@pytest.fixture
def node_env(database_url, session_factory, s3_env, tmp_path
             ) -> Callable[[str], dict[str, str]]:
    """The environment of a node named ``name``: the test database (emptied after the
    test), the test bucket, and an empty data folder of its own (``tmp_path/name``)."""

    def env(name: str) -> dict[str, str]:
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        return {**os.environ, **s3_env, "DATABASE_URL": database_url,
                "NEUROSTORE_DATA_DIR": str(folder), "PYTHONUNBUFFERED": "1",
                "COLUMNS": "200"}

    return env

