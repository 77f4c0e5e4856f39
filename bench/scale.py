"""Benchmark: how cost grows with the store, at 1x, 3x and 10x the real data.

The real data (1x) is the NeuroQuery release followed by the Neurosynth one (27,830
studies, 977,000 peaks), or their first ``--studies``. A size of k x holds the real
studies and k - 1 synthetic copies of each: the same analyses and tables, every peak
moved by up to 2 mm on each axis, a new source id, title, PMID and DOI (a copy keeps
its original's pairing: the NeuroQuery and Neurosynth copies of one paper share a
publication). Fractional sizes take the first part of the data.

Each size is built in a process of its own on its own fresh database (an embedded
PostgreSQL in a temporary folder, deleted afterwards; or a scratch database on
``DATABASE_URL``), loaded through the bulk ingest path (``services.ingest.sync`` in
batches, as ``manage.py ingest`` loads a release), then vacuumed and analysed as a large
ingest run leaves it. The API is served by gunicorn (3 gthread workers x 4 threads) and
``--clients`` concurrent clients measure the p95 of: one nested study (distinct random
studies), a full-text search, a 10 mm radius search, and a nested studyset of 1,000
random studies; then that studyset is frozen into a snapshot (timed once) and the
database's size is read. Load rates count only the time spent in ingest batches (making
the synthetic records is not timed).

With ``--keep DIR`` each size's store is built in ``DIR/<size>x`` and kept (its embedded
server stopped at exit); a later run with the same ``DIR`` measures the kept store again
without loading it, and prints the load rates measured when it was built. That is how
a change to the read side is measured on large stores in minutes.

    ./dev bench scale [--sizes 1,3,10] [--data ../shared/data] [--studies N] [--keep DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python bench/scale.py``, this file's folder comes first on sys.path, where
# bench/ingest.py would hide the ``ingest`` package: look in the repository root first.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import func, select, text  # noqa: E402

from bench.api import SEARCHES, Client, Reply, free_port, serve  # noqa: E402
from ingest.neuroquery import parse as neuroquery  # noqa: E402
from ingest.neurosynth import parse as neurosynth  # noqa: E402
from neurostore import migrate  # noqa: E402
from neurostore.db import make_engine, make_session_factory  # noqa: E402
from neurostore.embedded import embedded_database_url  # noqa: E402
from neurostore.models import Analysis, Point, Study  # noqa: E402
from neurostore.scratch_db import scratch_database  # noqa: E402
from neurostore.services.actors import SYSTEM, Actor  # noqa: E402
from neurostore.services.registry import Services, build_services  # noqa: E402
from neurostore.storage import LocalFileStore  # noqa: E402

RELEASES = {"neuroquery": neuroquery, "neurosynth": neurosynth}
JITTER_MM = 2.0
#: Synthetic PMIDs are copy * this + the original's: above every real PMID (8 digits).
PMID_STRIDE = 100_000_000
STUDYSET_SIZE = 1000
#: Columns of the printed table, with what each holds.
COLUMNS = {
    "size": "multiple of the real data",
    "studies": "studies stored",
    "points": "peaks stored",
    "load_studies/s": "studies per second in ingest batches",
    "load_points/s": "peaks per second in ingest batches",
    "study_p95": "GET one nested study, p95 ms",
    "search_p95": "GET full-text search (20 a page), p95 ms",
    "radius_p95": "GET 10 mm radius search (20 a page), p95 ms",
    "studyset_p95": "GET nested studyset of 1,000 studies, p95 ms",
    "snapshot_s": "freeze that studyset into a snapshot, s",
    "db_MiB": "database size, MiB",
}


# the data ----------------------------------------------------------------------------
def release_paths(args: argparse.Namespace) -> dict[str, tuple[Path, Path]]:
    """(coordinates, metadata) of each release: given ones, else those under ``--data``."""
    paths = {}
    for source, module in RELEASES.items():
        given = getattr(args, source)
        folder = args.data / source
        coordinates, metadata = (map(Path, given) if given else
                                 (folder / module.COORDINATES_FILE, folder / module.METADATA_FILE))
        for path in (coordinates, metadata):
            if not path.is_file():
                raise SystemExit(f"error: {path} is not a file (see --data and --{source})")
        paths[source] = (coordinates, metadata)
    return paths


def real_studies(paths: dict[str, tuple[Path, Path]], limit: int | None
                 ) -> Iterator[dict[str, Any]]:
    """The releases' parsed studies, NeuroQuery first, at most ``limit`` of them."""
    streams = (RELEASES[source].iter_studies(*files) for source, files in paths.items())
    return itertools.islice(itertools.chain.from_iterable(streams), limit)


def synthetic(record: dict[str, Any], copy: int, rng: random.Random) -> dict[str, Any]:
    """Copy number ``copy`` of a parsed study: new ids and title, peaks jittered."""
    key = record["pmid"] or record["source_id"]
    pmid = copy * PMID_STRIDE + int(record["pmid"]) if (record["pmid"] or "").isdigit() else None
    analyses = [
        {**analysis, "points": [
            {**point, "coordinates": [round(c + rng.uniform(-JITTER_MM, JITTER_MM), 2)
                                      for c in point["coordinates"]]}
            for point in analysis["points"]]}
        for analysis in record["analyses"]
    ]
    return {**record, "source_id": f"{record['source_id']}-copy{copy}",
            "name": f"{record['name'] or 'Untitled'} (synthetic copy {copy})",
            "pmid": str(pmid) if pmid else None, "pmcid": None,
            "doi": f"10.5555/neurostore-scale.{copy}.{key}", "analyses": analyses}


def records(paths: dict[str, tuple[Path, Path]], base: int, size: float
            ) -> Iterator[dict[str, Any]]:
    """``size`` times the ``base`` real studies: the real ones, then synthetic copies."""
    wanted = round(size * base)
    rng = random.Random(0)
    made = 0
    for copy in itertools.count():
        for record in real_studies(paths, base):
            if made == wanted:
                return
            yield record if copy == 0 else synthetic(record, copy, rng)
            made += 1


def count_studies(paths: dict[str, tuple[Path, Path]], limit: int | None) -> int:
    """How many studies the releases hold (at most ``limit``)."""
    return sum(1 for _ in real_studies(paths, limit))


# one size ----------------------------------------------------------------------------
def load(services: Services, actor: Actor, stream: Iterator[dict[str, Any]],
         batch_size: int) -> float:
    """Ingest ``stream`` in batches of one source each; the seconds spent in them."""
    runs = {source: services.ingest.start_run(actor, source, {"bench": "scale"})
            for source in RELEASES}
    spent = 0.0

    def flush(source: str, batch: list[dict[str, Any]]) -> None:
        nonlocal spent
        start = time.perf_counter()
        report = services.ingest.sync(actor, runs[source], source, batch)
        spent += time.perf_counter() - start
        if report.skipped:
            print(f"  {report.skipped} records skipped: {report.errors[:1]}", file=sys.stderr)

    done = 0
    for source, group in itertools.groupby(stream, key=lambda r: r["source"]):
        while batch := list(itertools.islice(group, batch_size)):
            flush(source, batch)
            done += len(batch)
            print(f"\r  loaded {done} studies", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    for run_id in runs.values():
        services.ingest.finish_run(run_id, "succeeded")
    return spent


def p95(times: list[float]) -> float:
    """The 95th percentile of ``times`` (inclusive method; one value is its own)."""
    if len(times) < 2:
        return times[0]
    return statistics.quantiles(times, n=100, method="inclusive")[94]


def timed(base: str, clients: int, total: int, request: Callable[[Client, int], Reply]
          ) -> float:
    """p95 ms of ``total`` requests sent by ``clients`` threads (each warms up once)."""
    def run(client: int) -> list[float]:
        session, times = Client(base), []
        request(session, client)
        for n in range(client, total, clients):
            start = time.perf_counter()
            reply = request(session, n)
            times.append((time.perf_counter() - start) * 1000)
            if not reply.ok:
                raise SystemExit(f"error: a measured request answered {reply.status}: "
                                 f"{reply.body[:300]!r}")
        return times

    with ThreadPoolExecutor(clients) as pool:
        return p95([t for times in pool.map(run, range(clients)) for t in times])


def reads(base: str, services: Services, actor: Actor, clients: int, n: int
          ) -> dict[str, float]:
    """p95 of each read, and the snapshot time of a 1,000-study studyset."""
    with services.session_factory() as s:
        ids = list(s.execute(
            select(Study.id).where(Study.id.in_(select(Analysis.study_id)))
            .order_by(func.random()).limit(max(n, STUDYSET_SIZE))).scalars())
        peaks = s.execute(select(Point.x, Point.y, Point.z).where(Point.x.between(-70, 70))
                          .order_by(func.random()).limit(500)).all()
    studyset = services.studysets.create(actor, {"name": "scale bench",
                                                 "studies": ids[:STUDYSET_SIZE]}).id
    out = {
        "study_p95": timed(base, clients, n, lambda c, k: c.get(
            f"/api/studies/{ids[k % len(ids)]}", params={"nested": "true"})),
        "search_p95": timed(base, clients, n, lambda c, k: c.get(
            "/api/studies", params={"search": SEARCHES[k % len(SEARCHES)], "limit": 20})),
        "radius_p95": timed(base, clients, n, lambda c, k: c.get(
            "/api/studies", params={**dict(zip("xyz", peaks[k % len(peaks)], strict=True)),
                                    "radius": 10, "limit": 20})),
        "studyset_p95": timed(base, clients, max(n // 10, 2 * clients), lambda c, k: c.get(
            f"/api/studysets/{studyset}", params={"nested": "true"})),
    }
    start = time.perf_counter()
    services.snapshots.create(actor, studyset)
    out["snapshot_s"] = time.perf_counter() - start
    return out


def _build(args: argparse.Namespace, url: str, folder: Path) -> tuple[Services, Actor, float]:
    """Load one size into the empty database at ``url``; the services, actor and seconds."""
    migrate.upgrade(url)
    engine = make_engine(url)
    services = build_services(make_session_factory(engine),
                              files=LocalFileStore(folder / "files"))
    user = services.users.create(SYSTEM, name="bench", role="admin")
    actor = Actor(user["id"], user["role"])
    seconds = load(services, actor, records(release_paths(args), args.base, args.one_size),
                   args.batch_size)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE)"))
    return services, actor, seconds


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return (conn.execute(text("SELECT count(*) FROM studies")).scalar_one(),
                    conn.execute(text("SELECT count(*) FROM points")).scalar_one())
    finally:
        engine.dispose()


def measure_size(args: argparse.Namespace) -> dict[str, Any]:
    """Build (or reuse, with ``--keep``) one size and measure it (in a process of its own)."""
    release_paths(args)
    kept = args.keep / f"{args.one_size:g}x" if args.keep else None
    if kept:
        url, drop = embedded_database_url(kept, "scale", at_exit="stop"), None
        folder = kept
    else:
        url, drop = scratch_database("scale")
        folder = Path(tempfile.mkdtemp(prefix="neurostore-scale-"))
    os.environ["NEUROSTORE_DATA_DIR"] = str(folder)  # the served API's file store
    figures = kept / "load.json" if kept else None
    try:
        if figures and figures.is_file():
            built = json.loads(figures.read_text())
            migrate.upgrade(url)  # a store kept by an older checkout
            services = build_services(make_session_factory(make_engine(url)),
                                      files=LocalFileStore(folder / "files"))
            actor = Actor(built["user"], "admin")
        else:
            services, actor, seconds = _build(args, url, folder)
            studies, points = _counts(url)
            built = {"user": actor.id, "studies": studies, "points": points,
                     "load_studies/s": studies / seconds, "load_points/s": points / seconds}
            if figures:
                figures.write_text(json.dumps(built))
        port = free_port()
        server = serve(url, port, workers=3, threads=4, worker_class="gthread")
        try:
            timings = reads(f"http://127.0.0.1:{port}", services, actor, args.clients,
                            args.requests)
        finally:
            server.terminate()
            server.wait(timeout=30)
        with services.session_factory() as s:
            size = s.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        return {"size": args.one_size, **{k: v for k, v in built.items() if k != "user"},
                **timings, "db_MiB": size / 2**20}
    finally:
        if drop is not None:
            drop()
        if not kept:
            shutil.rmtree(folder, ignore_errors=True)


# the table ---------------------------------------------------------------------------
def row(values: dict[str, Any]) -> str:
    """One line of the table, in :data:`COLUMNS` order."""
    cells = []
    for name in COLUMNS:
        value = values[name]
        if name == "size":
            cells.append(f"{value:g}x")
        elif isinstance(value, int) or name.startswith("load") or name == "db_MiB":
            cells.append(f"{value:.0f}")
        elif name == "snapshot_s":
            cells.append(f"{value:.2f}")
        else:
            cells.append(f"{value:.1f}")
    return "  ".join(f"{cell:>{max(len(name), 7)}}" for name, cell in zip(COLUMNS, cells,
                                                                            strict=True))


def sizes(text_: str) -> list[float]:
    """``--sizes``: positive multiples, comma separated."""
    try:
        values = [float(part) for part in text_.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers like 1,3,10, not {text_!r}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=sizes, default=[1.0, 3.0, 10.0],
                        help="multiples of the real data, comma separated (default 1,3,10)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder holding neuroquery/ and neurosynth/ release files")
    for source in RELEASES:
        parser.add_argument(f"--{source}", nargs=2, metavar=("COORDINATES", "METADATA"),
                            help=f"the {source} release files (default: under --data)")
    parser.add_argument("--studies", type=int, default=None,
                        help="1x is the first N real studies (default: all)")
    parser.add_argument("--batch-size", type=int, default=1000, help="studies per batch")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=200, help="per request kind")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build each size's store in KEEP/<size>x and keep it; a kept "
                             "store is measured again without loading")
    parser.add_argument("--one-size", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--base", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in ("studies", "batch_size", "clients", "requests"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.one_size is not None:
        print(json.dumps(measure_size(args)))
        return
    base = count_studies(release_paths(args), args.studies)
    print(f"1x = {base} real studies; {args.clients} clients, {args.requests} requests per"
          " read kind")
    print("  ".join(f"{name:>{max(len(name), 7)}}" for name in COLUMNS), flush=True)
    for size in args.sizes:
        child = [sys.executable, __file__, *sys.argv[1:], "--one-size", str(size),
                 "--base", str(base)]
        out = subprocess.run(child, check=True, stdout=subprocess.PIPE, text=True)
        print(row(json.loads(out.stdout.strip().splitlines()[-1])), flush=True)
    print("; ".join(f"{name}: {meaning}" for name, meaning in COLUMNS.items()))


if __name__ == "__main__":
    main()
