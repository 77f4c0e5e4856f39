"""Scheduled ingestion as an operator meets it: a real ``manage.py worker`` process with a
one-minute schedule reading a mirror folder, and bad schedules refused at start."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ingest.neurosynth import parse as neurosynth
from neurostore.services.actors import SYSTEM
from tests.support.data import NS_PARAMS

ROOT = Path(__file__).resolve().parents[2]


def _env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROSTORE_SCHEDULE_")}
    return {**env, "DATABASE_URL": database_url, "NEUROSTORE_DATA_DIR": str(tmp_path / "var"),
            **extra}


def _mirror(tmp_path: Path) -> Path:
    """A folder holding a Neurosynth release under its public file names."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(NS_PARAMS["coordinates"], mirror / neurosynth.COORDINATES_FILE)
    shutil.copy(NS_PARAMS["metadata"], mirror / neurosynth.METADATA_FILE)
    return mirror


def test_a_worker_runs_a_one_minute_schedule_from_a_mirror(
        services, database_url, tmp_path):
    env = _env(database_url, tmp_path, NEUROSTORE_SCHEDULE_NEUROSYNTH="* * * * *",
               NEUROSTORE_NEUROSYNTH_URL=str(_mirror(tmp_path)))
    log = tmp_path / "worker.log"
    worker = subprocess.Popen([sys.executable, "manage.py", "worker", "--queues", "ingest"],
                              cwd=ROOT, env=env, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        runs: list = []
        while time.monotonic() < deadline:
            runs = services.ingest.list_runs(SYSTEM, source="neurosynth")
            # On a slow machine the next minute's run may start before the first ends:
            # wait until every run started so far has ended.
            if runs and all(r["status"] in ("succeeded", "failed") for r in runs):
                break
            assert worker.poll() is None, log.read_text()
            time.sleep(1)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
    output = log.read_text()
    assert runs, f"no scheduled run within 3 minutes\n{output}"
    assert all(r["status"] == "succeeded" for r in runs), (runs, output)
    for done in runs:
        assert done["parameters"]["coordinates"].startswith(str(tmp_path / "mirror"))
    # The first run loads the mirror's 24 studies; a later one finds them all there.
    assert sum(r["created"] for r in runs) == 24, runs
    assert "TypeError" not in output and "Traceback" not in output, output


def test_a_bad_schedule_stops_the_ingest_worker_at_start_naming_the_variable(
        database_url, tmp_path):
    env = _env(database_url, tmp_path, NEUROSTORE_SCHEDULE_NEUROSYNTH="every sunday")
    refused = subprocess.run([sys.executable, "manage.py", "worker", "--once"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "NEUROSTORE_SCHEDULE_NEUROSYNTH" in refused.stderr
    assert "'every sunday'" in refused.stderr
    # Workers of the other queues do not depend on the ingest schedules.
    others = subprocess.run(
        [sys.executable, "manage.py", "worker", "--queues", "analysis,export", "--once"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert others.returncode == 0, others.stderr
