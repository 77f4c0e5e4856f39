"""Fixtures of the page tests that need more than a browser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(database_url, tmp_path):
    """``manage.py worker`` on the analysis queue, sharing the test's file store."""
    env = {**os.environ, "DATABASE_URL": database_url, "NEUROSTORE_DATA_DIR": str(tmp_path)}
    log = tmp_path / "worker.log"
    process = subprocess.Popen([sys.executable, "manage.py", "worker", "--queues", "analysis"],
                               cwd=ROOT, env=env, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    yield log
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
