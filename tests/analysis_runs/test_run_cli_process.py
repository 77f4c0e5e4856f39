"""``manage.py analysis`` as people run it: a separate process on the test database.

``analysis estimators`` lists what a run can ask for; ``analysis run --wait`` says soon,
on stderr, when no worker has taken the run, and goes on waiting until one does.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
NO_WORKER = "no worker has claimed it"


@pytest.fixture
def env(database_url, data_dir) -> dict[str, str]:
    """The environment of a command on the test database and the fixtures' data folder."""
    return {**os.environ, "DATABASE_URL": database_url, "NEUROSTORE_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1"}


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


class Lines:
    """The lines a process writes, each stream read on its own thread as they come."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.seen: queue.Queue[tuple[str, float, str]] = queue.Queue()
        self.text = {"stdout": "", "stderr": ""}
        for name in self.text:
            threading.Thread(target=self._read, args=(name,), daemon=True).start()

    def _read(self, name: str) -> None:
        for line in getattr(self.process, name):
            self.seen.put((name, time.monotonic(), line))

    def until(self, stream: str, fragment: str, timeout: float) -> tuple[float, str]:
        """When the first line of ``stream`` holding ``fragment`` came, and the line."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                name, at, line = self.seen.get(timeout=left)
            except queue.Empty:
                break
            self.text[name] += line
            if name == stream and fragment in line:
                return at, line
        raise AssertionError(f"no {fragment!r} on {stream} in {timeout} s; so far: {self.text}")


def _wait_for_run(env: dict[str, str], snapshot: dict, user: str,
                  warn_after: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "analysis", "run", snapshot["id"], "--estimator", "KDA",
         "--as", user, "--wait", "--warn-after", str(warn_after)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_estimators_lists_each_estimator_its_parameters_and_the_corrections(env):
    listed = _manage(env, "analysis", "estimators")
    assert listed.returncode == 0, listed.stderr
    for name in ("ALE", "MKDADensity", "KDA", "Fishers", "Stouffers", "WeightedLeastSquares",
                 "DerSimonianLaird", "Hedges", "VarianceBasedLikelihood",
                 "SampleSizeBasedLikelihood", "PermutedOLS"):
        assert f"\n{name}: " in listed.stdout
    assert "    r: float, default 10.0, from 1 to 50\n      sphere radius in mm\n" in listed.stdout
    assert "fwhm: float or null, default null, from 1 to 40" in listed.stdout
    assert "inputs: images (beta, varcope maps)" in listed.stdout
    assert "corrections: none, fdr, bonferroni, montecarlo" in listed.stdout
    assert "fdr_method: str, default indep, one of indep, negcorr" in listed.stdout


def test_estimators_json_is_what_the_api_lists(env, client):
    listed = _manage(env, "analysis", "estimators", "--json")
    assert listed.returncode == 0, listed.stderr
    api = client.get("/api/meta-analyses/estimators")
    assert api.status_code == 200
    assert json.loads(listed.stdout) == api.get_json()


def test_waiting_with_no_worker_says_how_to_start_one_then_waits_for_it(
        env, services, alice, snapshot, tmp_path):
    waiting = _wait_for_run(env, snapshot, alice.id, warn_after=1.0)
    worker = None
    try:
        lines = Lines(waiting)
        queued_at, queued = lines.until("stdout", "queued run", 120)
        run_id = queued.split()[2]
        said_at, said = lines.until("stderr", NO_WORKER, 30)
        assert 0.9 <= said_at - queued_at <= 6.0
        assert run_id in said
        _, how = lines.until("stderr", "manage.py worker", 1)
        assert "--queues analysis" in how
        assert "no worker is running" in said
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting, not given up
        assert services.analysis_runs.get(alice, run_id)["status"] == "queued"

        log = tmp_path / "worker.log"
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--queues", "analysis", "--once"],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        lines.until("stdout", "succeeded", 180)
        assert waiting.wait(30) == 0
        assert worker.wait(60) == 0, log.read_text()[-2000:]
        assert lines.text["stderr"].count(NO_WORKER) == 1
    finally:
        for process in (waiting, worker):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)


def test_a_live_worker_that_does_not_claim_the_run_is_told_apart(
        env, engine, alice, snapshot):
    with engine.begin() as conn:  # a worker's heartbeat, as procrastinate records it
        conn.execute(text("INSERT INTO procrastinate_workers DEFAULT VALUES"))
    waiting = _wait_for_run(env, snapshot, alice.id, warn_after=0.5)
    try:
        _, said = Lines(waiting).until("stderr", NO_WORKER, 120)
        assert "1 worker is running, but busy or not taking the analysis queue" in said
    finally:
        waiting.kill()
        waiting.wait(10)
