"""A deployment of several nodes on one machine: two API processes (gunicorn) and three
``manage.py worker`` processes, each with its own empty data folder, sharing nothing but the
PostgreSQL URL and a bucket on the local S3 server.

An ingest of the bundled NIMADS sample runs on a worker; a snapshot of it is frozen through
one API process and 20 meta-analysis runs are asked for through both at once. A worker is
killed (SIGKILL) in the middle of a run: once its lease lapses (no heartbeat for 30 s) a
live worker takes the run over. Every run completes exactly once (one claim per run, the
killed one's two), and each result reads the same bytes from either API process.
"""

from __future__ import annotations

import hashlib
import signal

import pytest
import requests
from sqlalchemy import text

from tests.object_store.nodes import (
    free_port,
    local_files,
    manage,
    start_api,
    start_worker,
    stop,
    wait_until_up,
)
from tests.support.examples import EXAMPLES
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

RUNS = 20


def _scalar(session_factory, sql: str, **params):
    with session_factory() as s:
        return s.execute(text(sql), params).scalar()


def _small_run(snapshot: str, n: int) -> dict:
    # Distinct specs (estimator, radius), no correction: a few seconds each.
    return {"snapshot": snapshot, "estimator": ("KDA", "MKDADensity")[n % 2],
            "parameters": {"r": 6 + n}, "correction": {"method": "none"}}


def test_two_apis_and_three_workers_share_only_the_database_and_the_bucket(
        node_env, s3_server, s3_bucket, session_factory, admin, tmp_path):
    apis, workers = [], {}
    try:
        for name in ("api1", "api2"):
            port = free_port()
            log = tmp_path / f"{name}.log"
            apis.append((f"http://127.0.0.1:{port}", start_api(node_env(name), log, port), log))
        workers["a"] = start_worker(node_env("worker-a"), tmp_path / "worker-a.log",
                                    "ingest,analysis")
        for base, process, log in apis:
            wait_until_up(base, process, log)
        (one, _, _), (two, _, _) = apis
        auth = admin.headers

        # The bundled sample, ingested in the background by the only worker so far.
        manage(node_env("cli"), "ingest", "nimads", str(EXAMPLES / "nimads_studyset.json"),
               "--annotation", str(EXAMPLES / "nimads_annotation.json"), "--background")
        wait_for(lambda: _scalar(session_factory, "SELECT status FROM ingest_runs")
                  == "succeeded", 120, "the ingest run")
        studyset = _scalar(session_factory, "SELECT id FROM studysets")
        annotation = _scalar(session_factory, "SELECT id FROM annotations")
        frozen = requests.post(f"{one}/api/snapshots", headers=auth, timeout=60, json={
            "studyset": studyset, "annotation": annotation, "include": "include"})
        assert frozen.status_code == 201, frozen.text
        snapshot = frozen.json()["id"]
        assert s3_server.keys(s3_bucket) == [f"files/{snapshot}.json"]

        # The run to be cut short: taken by worker a (alone), killed in its Monte Carlo.
        victim = requests.post(f"{two}/api/meta-analyses", headers=auth, timeout=60, json={
            "snapshot": snapshot, "estimator": "KDA",
            "correction": {"method": "montecarlo", "n_iters": 300, "seed": 3}}).json()["id"]
        wait_for(lambda: _scalar(session_factory,
                                  "SELECT progress->>'stage' FROM analysis_runs WHERE id = :r",
                                  r=victim) == "monte carlo", 120, "worker a's Monte Carlo")
        workers["a"].send_signal(signal.SIGKILL)
        workers["a"].wait(10)
        assert _scalar(session_factory, "SELECT status FROM analysis_runs WHERE id = :r",
                       r=victim) == "running"

        for name in ("b", "c"):
            workers[name] = start_worker(node_env(f"worker-{name}"),
                                         tmp_path / f"worker-{name}.log")
        runs = [victim]
        for n in range(RUNS - 1):
            base = (one, two)[n % 2]
            answer = requests.post(f"{base}/api/meta-analyses", headers=auth, timeout=60,
                                   json=_small_run(snapshot, n))
            assert answer.status_code in (200, 201, 202), answer.text
            runs.append(answer.json()["id"])

        wait_for(lambda: _scalar(session_factory,
                                  "SELECT count(*) FROM analysis_runs WHERE status NOT IN"
                                  " ('queued', 'running')") == RUNS, 240, "every run to end")
        for name in ("b", "c"):
            assert workers[name].poll() is None, (tmp_path / f"worker-{name}.log").read_text()

        with session_factory() as s:
            rows = {r.id: r for r in s.execute(text(
                "SELECT r.id, r.status, r.attempts, r.error, j.status AS job_status,"
                " (SELECT count(*) FROM procrastinate_events e WHERE e.job_id = j.id"
                "  AND e.type = 'started') AS starts,"
                " (SELECT count(*) FROM procrastinate_jobs k WHERE k.args->>'run_id' = r.id)"
                "  AS jobs"
                " FROM analysis_runs r JOIN procrastinate_jobs j ON j.id = r.job_id"))}
        assert set(rows) == set(runs)
        for run_id, row in rows.items():
            assert row.status == "succeeded", (run_id, row.error)
            assert row.job_status == "succeeded" and row.jobs == 1
            claims = 2 if run_id == victim else 1
            assert (row.attempts, row.starts) == (claims, claims), run_id

        # Every result reads the same bytes from either API process (and is what its name
        # says); no node kept a file of its own.
        for run_id in runs:
            results = requests.get(f"{one}/api/meta-analyses/{run_id}", headers=auth,
                                   timeout=60).json()["results"]
            for name in (results["maps"]["z"], results["clusters_file"]):
                got = [requests.get(f"{base}/api/meta-analyses/{run_id}/files/{name}",
                                    headers=auth, timeout=60) for base in (one, two)]
                assert [g.status_code for g in got] == [200, 200]
                assert got[0].content == got[1].content
                assert hashlib.sha256(got[0].content).hexdigest() == name.split(".")[0]
        for folder in ("api1", "api2", "worker-a", "worker-b", "worker-c", "cli"):
            assert local_files(tmp_path / folder) == [], folder
    finally:
        stop(*workers.values(), *(process for _, process, _ in apis))
