"""A worker killed mid-run (SIGKILL): another worker picks the job up and completes it once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from analysis.tasks import retry_stalled
from neurostore import jobs
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _worker(database_url: str, data_dir: Path, log: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "NEUROSTORE_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--queues", "analysis", *extra],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )


async def _retry(database_url: str) -> list[int]:
    app = jobs.connected(database_url)
    async with app.open_async():
        return await retry_stalled(app, 1.0)


def test_a_killed_worker_is_replaced_and_the_run_completes_once(
        services, alice, snapshot, database_url, data_dir, tmp_path):
    runs = services.analysis_runs
    run = runs.create(alice, {"snapshot": snapshot["id"], "estimator": "ALE",
                              "correction": {"method": "montecarlo", "n_iters": 300,
                                             "seed": 11}})
    first = _worker(database_url, data_dir, tmp_path / "first.log")
    try:
        wait_for(lambda: runs.get(alice, run["id"])["progress"].get("stage") == "monte carlo",
                  120, "the first worker to start the Monte Carlo correction")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    killed = runs.get(alice, run["id"])
    assert killed["status"] == "running" and killed["attempts"] == 1
    assert killed["results"] is None

    time.sleep(1.5)  # older than the 1 s heartbeat limit below
    retried = asyncio.run(_retry(database_url))
    assert len(retried) == 1

    second = _worker(database_url, data_dir, tmp_path / "second.log", "--once")
    assert second.wait(180) == 0, (tmp_path / "second.log").read_text()[-2000:]
    done = runs.get(alice, run["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 2
    assert done["provenance"]["parameters"]["corrections"][0]["seed"] == 11
    assert runs.claim(run["id"]) is None  # finished: nothing left to run
