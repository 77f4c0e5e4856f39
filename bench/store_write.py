"""Benchmark: nested study saves through the services.

Creates N study aggregates shaped like real ones (3 analyses x 20 peaks, a statistic per
peak), one service call each, then edits each once (a PATCH that changes one peak), and
prints saves/s, p50/p95 ms per save and the size of the revisions table. Runs on a fresh
embedded PostgreSQL in a temporary folder, or on ``DATABASE_URL`` (a scratch database is
created there and dropped).

    ./dev bench store_write [--studies 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import text

from neurostore import migrate
from neurostore.db import make_engine, make_session_factory
from neurostore.scratch_db import scratch_database
from neurostore.services.actors import SYSTEM, Actor
from neurostore.services.registry import build_services


def payload(n: int) -> dict:
    """A realistic study: 3 analyses of 20 peaks, each with a Z value and a condition."""
    analyses = []
    for a in range(3):
        points = [
            {"coordinates": [float((n + a * 7 + p * 3) % 120 - 60),
                             float((n * 5 + p * 11) % 150 - 90), float((n + a + p) % 110 - 40)],
             "space": "MNI", "kind": "peak", "values": [{"kind": "Z", "value": 3.1 + p / 10}]}
            for p in range(20)
        ]
        analyses.append({"name": f"contrast {a}", "description": "task > baseline",
                         "conditions": [{"name": "task"}], "weights": [1.0],
                         "points": points, "metadata": {"sample_sizes": [20 + a]}})
    return {"name": f"Benchmark study {n}", "authors": "Doe J, Roe R", "year": 2015,
            "publication": "NeuroImage", "pmid": str(10_000_000 + n),
            "metadata": {"sample_size": 23}, "analyses": analyses}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=2000, help="aggregates to create")
    args = parser.parse_args()
    if args.studies < 1:
        parser.error("--studies must be at least 1")

    url, drop = scratch_database("bench")
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        services = build_services(make_session_factory(engine))
        user = services.users.create(SYSTEM, name="bench", role="user")
        actor = Actor(user["id"], user["role"])
        bodies = [payload(n) for n in range(args.studies)]
        services.studies.create(actor, payload(-1))  # warm-up: connections, caches

        create_ms, ids = [], []
        start = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            ids.append(services.studies.create(actor, body).id)
            create_ms.append((time.perf_counter() - t0) * 1000)
        create_s = time.perf_counter() - start
        # The edits run on a store whose statistics are current, as autovacuum makes them
        # within a minute of a load: planned on the empty tables' estimates, reading a tree
        # scans whole tables and slows down as they grow (edit p95 144 ms at 2,000 studies).
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))

        edit_ms = []
        start = time.perf_counter()
        for study_id in ids:
            t0 = time.perf_counter()
            current = services.studies.get(actor, study_id)
            first = dict(current.state["analyses"][0])
            first["points"] = [dict(p) for p in first["points"]]
            x, y, z = first["points"][0]["coordinates"]
            first["points"][0]["coordinates"] = [x, y, z + 2.0]
            services.studies.update(actor, study_id,
                                    {"analyses": [first, *current.state["analyses"][1:]]},
                                    if_match=current.version)
            edit_ms.append((time.perf_counter() - t0) * 1000)
        edit_s = time.perf_counter() - start

        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM revisions")).scalar()
            size = conn.execute(
                text("SELECT pg_total_relation_size('revisions')")
            ).scalar()
        engine.dispose()
    finally:
        drop()

    print(f"store_write: {args.studies} nested saves (3 analyses x 20 peaks each)")
    print(f"{'':8}{'saves/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for label, ms, secs in (("create", create_ms, create_s), ("edit", edit_ms, edit_s)):
        print(f"{label:8}{len(ms) / secs:10.0f}{statistics.median(ms):10.1f}"
              f"{percentile(ms, 95):10.1f}{max(ms):10.1f}")
    print("(edit = read the study, change one peak, PATCH with If-Match)")
    print(f"revisions table: {rows} rows, {size / 1024 / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
