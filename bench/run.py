"""Benchmark: from the API request to a finished meta-analysis, end to end.

Loads NeuroQuery studies into a scratch store, annotates every analysis with a sample size
drawn from a fixed seeded distribution (NeuroQuery has none), snapshots them through the
API and starts a real worker process (``manage.py worker``). Two parts:

1. 100 studies: ``POST /api/meta-analyses`` (ALE, FWE Monte Carlo, 1,000 iterations) until
   ``GET`` reports it succeeded, and once more with the same design (the worker's cached
   null). Goal: <= 30 s.
2. 900 experiments: ALE, MKDA density + FWE Monte Carlo and KDA run by the worker; each
   line prints the worker's time from claiming the run to storing its results, where it
   went (the run's ``provenance.timings``: read snapshot, build inputs, fit, maps,
   pictures, clusters and methods), and the engine's own fit of the same inputs in
   this process. Goal: claimed -> stored <= fit + 20% + 1 s.

    ./dev bench run [--neuroquery DIR] [--studies 100] [--iters 1000] [--experiments 900]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python bench/run.py``, bench/ comes first on sys.path, where bench/ingest.py
# would hide the ``ingest`` package: look in the repository root first.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from analysis.meta import NullCache  # noqa: E402
from analysis.runner import read_inputs  # noqa: E402
from analysis.runspec import build  # noqa: E402
from bench.snapshot import COORDINATES, DEFAULT_NEUROQUERY, METADATA  # noqa: E402
from bench.store_write import scratch_database  # noqa: E402
from ingest.neuroquery.parse import iter_studies  # noqa: E402
from neurostore import migrate  # noqa: E402
from neurostore.app import create_app  # noqa: E402
from neurostore.config import Settings  # noqa: E402
from neurostore.db import make_engine, make_session_factory  # noqa: E402
from neurostore.services.actors import SYSTEM, Actor  # noqa: E402
from neurostore.services.registry import build_services  # noqa: E402
from neurostore.storage import LocalFileStore  # noqa: E402


def _studyset(services, actor: Actor, folder: Path, n: int, skip: int = 0,
              experiments: int | None = None) -> tuple[str, str]:
    """A studyset of ``n`` NeuroQuery studies after the first ``skip`` (or, given
    ``experiments``, of as many studies as hold that many analyses) and its annotation."""
    found = itertools.islice(iter(iter_studies(folder / COORDINATES, folder / METADATA)),
                             skip, None)
    if experiments is None:
        studies = list(itertools.islice(found, n))
    else:
        studies, total = [], 0
        for study in found:
            if total + len(study["analyses"]) > experiments:
                continue
            studies.append(study)
            total += len(study["analyses"])
            if total == experiments:
                break
    made = services.studies.create_many(actor, studies)
    studyset = services.studysets.create(actor, {"name": f"NeuroQuery {n}",
                                                 "studies": [r.id for r in made]})
    rng = np.random.default_rng(0)
    notes = [{"analysis": a["id"], "note": {"sample_size": int(rng.integers(10, 41))}}
             for r in made for a in r.state["analyses"]]
    annotation = services.annotations.create(actor, {
        "studyset": studyset.id, "note_keys": {"sample_size": "number"}, "notes": notes})
    return studyset.id, annotation.id


def _request_to_result(client, headers: dict, spec: dict, timeout: float) -> tuple[float, dict]:
    start = time.perf_counter()
    response = client.post("/api/meta-analyses", json=spec, headers=headers)
    assert response.status_code == 202, response.json
    url = f"/api/meta-analyses/{response.json['id']}"
    while time.perf_counter() - start < timeout:
        run = client.get(url, headers=headers).json
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return time.perf_counter() - start, run
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not finish in {timeout} s")


#: The 900-experiment cases: (label, estimator, correction).
LARGE_CASES = [
    ("ALE", "ALE", {"method": "none"}),
    ("MKDA + FWE", "MKDADensity", {"method": "montecarlo", "n_iters": 1000, "seed": 0}),
    ("KDA", "KDA", {"method": "none"}),
]
STAGES = ("read_snapshot", "build_inputs", "fit", "maps", "pictures", "clusters")


def _large(services, actor, client, headers, folder: Path, n: int, skip: int) -> None:
    """Print claimed -> stored, its stages and the library fit for each large case (on
    ``n`` experiments of the studies after the first ``skip``, which the store holds)."""
    studyset, annotation = _studyset(services, actor, folder, 0, skip, experiments=n)
    snapshot = client.post("/api/snapshots", json={"studyset": studyset,
                                                   "annotation": annotation},
                           headers=headers).json
    print(f"\n{snapshot['n_analyses']} experiments, {snapshot['n_points']} foci "
          "(times in s; goal: claimed -> stored <= fit + 20% + 1 s)")
    print(f"{'case':<12}{'stored':>8}{'goal':>7}{'library fit':>13}  "
          + "".join(f"{name:>14}" for name in STAGES))
    for label, estimator, correction in LARGE_CASES:
        spec = {"snapshot": snapshot["id"], "estimator": estimator, "correction": correction}
        _, run = _request_to_result(client, headers, spec, 900)
        assert run["status"] == "succeeded", run
        timings = run["provenance"]["timings"]
        checked = run["provenance"]["spec"]
        inputs = read_inputs(checked, services.snapshots, snapshot["id"])
        start = time.perf_counter()
        build(checked, cache=NullCache()).fit(*inputs)
        fit = time.perf_counter() - start
        goal = 1.2 * fit + 1.0
        print(f"{label:<12}{timings['total']:>8.2f}{goal:>7.2f}{fit:>13.2f}  "
              + "".join(f"{timings.get(name, 0.0):>14.2f}" for name in STAGES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neuroquery", type=Path, default=DEFAULT_NEUROQUERY)
    parser.add_argument("--studies", type=int, default=100)
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--experiments", type=int, default=900,
                        help="experiments of the large cases (0 leaves them out)")
    args = parser.parse_args()
    url, drop = scratch_database()
    data_dir = Path(tempfile.mkdtemp(prefix="neurostore-bench-run-"))
    worker = None
    try:
        migrate.upgrade(url)
        services = build_services(make_session_factory(make_engine(url)),
                                  files=LocalFileStore(data_dir / "files"))
        user = services.users.create(SYSTEM, name="bench", role="user")
        actor = Actor(user["id"], user["role"])
        headers = {"Authorization": f"Bearer {services.users.issue_token(SYSTEM, actor.id).token}"}
        studyset, annotation = _studyset(services, actor, args.neuroquery, args.studies)
        client = create_app(Settings(), services=services).test_client()
        env = {**os.environ, "DATABASE_URL": url, "NEUROSTORE_DATA_DIR": str(data_dir)}
        # BENCH_WORKER_LOG names a file for the worker's log (default: discarded).
        worker_log = open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "w")  # noqa: SIM115
        worker = subprocess.Popen([sys.executable, "manage.py", "worker", "--queues",
                                   "analysis"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=worker_log)
        start = time.perf_counter()
        snapshot = client.post("/api/snapshots", json={"studyset": studyset,
                                                       "annotation": annotation},
                               headers=headers).json
        snapshot_s = time.perf_counter() - start
        spec = {"snapshot": snapshot["id"], "estimator": "ALE",
                "correction": {"method": "montecarlo", "n_iters": args.iters, "seed": 0}}
        time.sleep(3.0)  # let the worker finish starting: the figure is the run, not the boot
        first_s, run = _request_to_result(client, headers, spec, 600)
        again_s, again = _request_to_result(client, headers, spec, 600)
        results = run["results"]
        print(f"snapshot via API: {snapshot['n_studies']} studies, {snapshot['n_analyses']} "
              f"analyses, {snapshot['n_points']} peaks in {snapshot_s:.2f} s")
        print(f"ALE + FWE Monte Carlo {args.iters} iterations: {run['status']}, "
              f"{results['n_experiments']} experiments, {results['n_foci']} foci, "
              f"{len(results['maps'])} maps, {len(results['pictures'])} pictures, "
              f"{len(results['clusters'])} clusters")
        print(f"request -> finished: {first_s:.1f} s (goal <= 30 s)")
        print(f"same design again (cached null): {again_s:.1f} s, {again['status']}")
        if args.experiments:
            _large(services, actor, client, headers, args.neuroquery, args.experiments,
                   args.studies)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        drop()


if __name__ == "__main__":
    main()
