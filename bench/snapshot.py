"""Benchmark: freeze all of NeuroQuery into a snapshot and export it in every format.

Loads the NeuroQuery release (13,459 studies, ~470,000 peaks) into a scratch store through
``services.ingest.sync`` in batches, puts every study in one studyset, then, each step in a
fresh process, freezes it and writes each export into the file store. Prints seconds and
peak memory (the step's peak RSS, and how far it rose above the RSS before the step).
Goal: <= 10 s per step, memory bounded (streaming, not the whole snapshot in memory).

    ./dev bench snapshot [--neuroquery DIR] [--batch 2000] [--limit N]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python bench/snapshot.py``, this file's folder comes first on sys.path, where
# bench/ingest.py would hide the ``ingest`` package: look in the repository root first.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench.store_write import scratch_database  # noqa: E402
from ingest.neuroquery.parse import iter_studies  # noqa: E402
from neurostore import migrate  # noqa: E402
from neurostore.db import make_engine, make_session_factory  # noqa: E402
from neurostore.models import Study  # noqa: E402
from neurostore.services.actors import Actor  # noqa: E402
from neurostore.services.registry import build_services  # noqa: E402
from neurostore.snapshot.formats import FORMATS  # noqa: E402
from neurostore.storage import LocalFileStore  # noqa: E402

DEFAULT_NEUROQUERY = ROOT.parent / "shared" / "data" / "neuroquery"
COORDINATES = "data-neuroquery_version-1_coordinates.tsv.gz"
METADATA = "data-neuroquery_version-1_metadata.tsv.gz"


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Reset the peak RSS (VmHWM) to the current RSS (Linux; a no-op elsewhere)."""
    clear = Path("/proc/self/clear_refs")
    if clear.exists():
        clear.write_text("5")


def measure(url: str, files: str, step: str, target: str, user: str) -> None:
    """One timed step in this (fresh) process; prints a JSON line."""
    services = build_services(make_session_factory(make_engine(url)),
                              files=LocalFileStore(files))
    actor = Actor(user, "admin")
    _reset_peak()
    baseline = _status_mb("VmRSS")
    start = time.perf_counter()
    if step == "snapshot":
        state, _ = services.snapshots.create(actor, target)
        detail = {"id": state["id"], "n_bytes": state["n_bytes"], "n_skipped": 0,
                  "n_studies": state["n_studies"], "n_points": state["n_points"]}
    else:
        made = services.snapshots.export(actor, target, step)
        detail = {"n_bytes": made["n_bytes"], "n_skipped": made["summary"]["n_skipped"]}
    seconds = time.perf_counter() - start
    peak = _status_mb("VmHWM")
    print(json.dumps({"step": step, "seconds": seconds, "peak_rss_mb": peak,
                      "growth_mb": peak - baseline, **detail}))


def _run_step(url: str, files: Path, step: str, target: str, user: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", url, str(files), step, target, user],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def load(services, actor: Actor, folder: Path, batch: int, limit: int | None) -> list[str]:
    """Ingest NeuroQuery in batches; return the study ids in file order."""
    studies = iter_studies(folder / COORDINATES, folder / METADATA)
    records = itertools.islice(iter(studies), limit)
    run_id = services.ingest.start_run(actor, "neuroquery", {"bench": True})
    source_ids: list[str] = []
    while chunk := list(itertools.islice(records, batch)):
        services.ingest.sync(actor, run_id, "neuroquery", chunk)
        source_ids.extend(str(r["source_id"]) for r in chunk)
    services.ingest.finish_run(run_id, "succeeded")
    with services.session_factory() as session:
        rows = dict(session.query(Study.source_id, Study.id)
                    .filter(Study.source == "neuroquery").all())
    return [rows[s] for s in source_ids if s in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neuroquery", type=Path, default=DEFAULT_NEUROQUERY,
                        help="folder of the NeuroQuery release files")
    parser.add_argument("--batch", type=int, default=2000, help="studies per ingest batch")
    parser.add_argument("--limit", type=int, help="only the first N studies")
    parser.add_argument("--measure", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    url, drop = scratch_database()
    files = Path(tempfile.mkdtemp(prefix="neurostore-bench-files-"))
    try:
        migrate.upgrade(url)
        services = build_services(make_session_factory(make_engine(url)),
                                  files=LocalFileStore(files))
        user = services.users.create(None, name="bench", role="admin")
        actor = Actor(user["id"], user["role"])
        start = time.perf_counter()
        ids = load(services, actor, args.neuroquery, args.batch, args.limit)
        studyset = services.studysets.create(actor, {"name": "NeuroQuery", "studies": ids})
        print(f"loaded {len(ids)} studies in {time.perf_counter() - start:.1f} s")
        print(f"{'step':<12}{'seconds':>9}{'peak RSS MB':>13}{'growth MB':>11}{'MB out':>9}"
              f"{'skipped':>9}")
        snap = _run_step(url, files, "snapshot", studyset.id, actor.id)
        rows = [snap] + [_run_step(url, files, name, snap["id"], actor.id)
                         for name in FORMATS if name != "nimads"]
        for row in rows:
            print(f"{row['step']:<12}{row['seconds']:>9.2f}{row['peak_rss_mb']:>13.0f}"
                  f"{row['growth_mb']:>11.0f}{row['n_bytes'] / 1e6:>9.1f}{row['n_skipped']:>9}")
        print(f"snapshot {snap['id']}: {snap['n_studies']} studies, {snap['n_points']} peaks")
    finally:
        drop()


if __name__ == "__main__":
    main()
