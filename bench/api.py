"""Benchmark of the HTTP API under a production server.

Loads at least ``--studies`` real studies (all of NeuroQuery, topped up with Neurosynth)
through ``services.studies.create_many``, serves the API with gunicorn on 127.0.0.1, and
prints p50/p95/p99 latencies (ms) seen by ``--clients`` concurrent clients for: one nested
study, a list page deep in the result set, a full-text search, a radius search, a nested
studyset of 1,000 studies, and a PATCH with If-Match. Each client holds one keep-alive
connection and sends one unmeasured request before each kind; the nested studies are
distinct random ones (one request each with the default --requests), so none is served
from a process's memory: each comes from its stored document.

Usage::

    python bench/api.py [--data ../shared/data] [--studies 14000] [--data-dir DIR]

A database already holding enough studies (same ``--data-dir``) is reused, so later runs
only measure.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import http.client
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import requests
from sqlalchemy import func, select, text

from neurostore import migrate
from neurostore.db import make_engine, make_session_factory
from neurostore.embedded import embedded_database_url
from neurostore.models import Analysis, Point, Study
from neurostore.services.actors import SYSTEM
from neurostore.services.errors import Invalid
from neurostore.services.registry import Services, build_services

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1000
SEARCHES = ("pain", "working memory", '"working memory"', "(visual OR auditory) cortex",
            "memory NOT working", "amygdala fear", "reward OR punishment", "language",
            "face NOT (house OR object)", "default mode network")


def _rows(path: Path) -> Iterator[dict[str, str]]:
    # Quote-aware: one NeuroQuery table name holds a newline inside quotes.
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f, delimiter="\t")


def _point(row: dict[str, str], space: str) -> dict[str, Any] | None:
    xyz = [float(row[k]) for k in ("x", "y", "z")]
    return {"coordinates": xyz, "space": space} if all(map(math.isfinite, xyz)) else None


def _studies(meta: dict[str, dict[str, Any]], coords: Path, source: str, table_key: str,
             table_name: str) -> Iterator[dict[str, Any]]:
    tables: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    names: dict[tuple[str, str], str] = {}
    for row in _rows(coords):
        if row["id"] not in meta:
            continue
        point = _point(row, meta[row["id"]].get("_point_space", "MNI"))
        if point is not None:
            tables[row["id"]][row[table_key]].append(point)
            names[(row["id"], row[table_key])] = (row[table_name] or "").strip() or None
    for pmid, fields in meta.items():
        analyses = [
            {"name": names[(pmid, t)] or f"table {t}", "points": points,
             "table": {"t_id": t, "name": names[(pmid, t)]}}
            for t, points in tables.get(pmid, {}).items()
        ]
        yield {**{k: v for k, v in fields.items() if not k.startswith("_")},
               "source": source, "source_id": pmid, "pmid": pmid, "analyses": analyses}


def neuroquery(folder: Path) -> Iterator[dict[str, Any]]:
    """NeuroQuery studies: titles and MNI peaks grouped by table."""
    meta = {r["id"]: {"name": r["title"].strip() or None}
            for r in _rows(folder / "data-neuroquery_version-1_metadata.tsv.gz")}
    yield from _studies(meta, folder / "data-neuroquery_version-1_coordinates.tsv.gz",
                        "neuroquery", "table_id", "table_name")


def neurosynth(folder: Path) -> Iterator[dict[str, Any]]:
    """Neurosynth studies: full metadata, peaks in each study's own space."""
    meta = {}
    for r in _rows(folder / "data-neurosynth_version-7_metadata.tsv.gz"):
        meta[r["id"]] = {"name": r["title"].strip() or None, "authors": r["authors"] or None,
                         "publication": r["journal"] or None, "doi": r["doi"] or None,
                         "year": int(r["year"]) if r["year"].isdigit() else None,
                         "_point_space": r["space"] if r["space"] in ("MNI", "TAL") else
                         "UNKNOWN"}
    yield from _studies(meta, folder / "data-neurosynth_version-7_coordinates.tsv.gz",
                        "neurosynth", "table_id", "table_num")


def _create(services: Services, actor: Any, batch: list[dict[str, Any]]) -> int:
    try:
        return len(services.studies.create_many(actor, batch))
    except Invalid:
        # Keep going on bad records: validate one by one and load the rest.
        good = []
        for item in batch:
            try:
                services.studies.load(item)
                good.append(item)
            except Invalid:
                pass
        return len(services.studies.create_many(actor, good)) if good else 0


def load(services: Services, data: Path, wanted: int) -> None:
    """Create at least ``wanted`` studies, in batches, as a bench user."""
    user = services.users.create(SYSTEM, name="bench", role="admin")
    actor = services.users.authenticate(services.users.issue_token(SYSTEM, user["id"]).token)
    start, done, batch = time.perf_counter(), 0, []
    sources = (neuroquery(data / "neuroquery"), neurosynth(data / "neurosynth"))
    for source in sources:
        for payload in source:
            batch.append(payload)
            if len(batch) == BATCH:
                done += _create(services, actor, batch)
                batch = []
                print(f"\r  loaded {done} studies", end="", file=sys.stderr)
            if done + len(batch) >= wanted:
                break
        if done + len(batch) >= wanted:
            break
    done += _create(services, actor, batch) if batch else 0
    elapsed = time.perf_counter() - start
    print(f"\nloaded {done} studies in {elapsed:.0f} s ({done / elapsed:.0f} studies/s)")


def open_store(data_dir: Path | None, database: str) -> tuple[Path, str, Any, Services]:
    """The embedded store ``database`` under ``data_dir`` (a new temporary folder when
    None), migrated: its folder, URL, engine and services."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix=f"{database}-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o755)  # the embedded server may run as its own user
    url = embedded_database_url(data_dir, database=database)
    migrate.upgrade(url)
    engine = make_engine(url)
    return data_dir, url, engine, build_services(make_session_factory(engine))


# measuring ------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port nobody listens on (so we never measure someone else's server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str, port: int, workers: int, threads: int, worker_class: str
          ) -> subprocess.Popen:
    """Start gunicorn on 127.0.0.1 and wait until it answers (stopping it on failure)."""
    env = {**os.environ, "DATABASE_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads",
         str(threads), "--worker-class", worker_class, "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "--limit-request-line", "0", "neurostore.app:create_app()"],
        cwd=ROOT, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=10).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    proc.wait(timeout=30)
    raise SystemExit("gunicorn did not start")


class Client:
    """One keep-alive HTTP/1.1 connection, as a client program holds one.

    ``http.client`` costs the client a fraction of what ``requests`` does per call, and
    the clients share the server's two cores: a heavy client would be measured as server
    latency.
    """

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json: Any = None, headers: dict[str, str] | None = None) -> Reply:
        """Send one request and read the whole response."""
        body = None if json is None else orjson.dumps(json)
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = f"{path}?{urlencode(params)}" if params else path
        self._conn.request(method, url, body=body, headers=headers)
        response = self._conn.getresponse()
        return Reply(response.status, response.getheader("ETag"), response.read())

    def get(self, path: str, **kwargs: Any) -> Reply:
        """GET ``path``."""
        return self.request("GET", path, **kwargs)


@dataclass(frozen=True)
class Reply:
    """What a client keeps of a response."""

    status: int
    etag: str | None
    body: bytes

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300


def measure(name: str, base: str, clients: int, total: int,
            request: Callable[[Client, int], Reply]) -> None:
    """Run ``total`` requests from ``clients`` threads; print latency percentiles.

    Each client first sends one unmeasured request (the first use of a connection, and
    of a study's stored document, is not the steady state being measured).
    """
    def run(client: int) -> tuple[list[float], int]:
        session, times, errors = Client(base), [], 0
        request(session, client)
        for n in range(client, total, clients):
            start = time.perf_counter()
            response = request(session, n)
            times.append((time.perf_counter() - start) * 1000)
            errors += not response.ok
        return times, errors

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(run, range(clients)))
    wall = time.perf_counter() - start
    times = sorted(t for ts, _ in results for t in ts)
    q = statistics.quantiles(times, n=100, method="inclusive")
    errors = sum(e for _, e in results)
    print(f"{name:<34} {len(times):>5} {q[49]:>8.1f} {q[94]:>8.1f} {q[98]:>8.1f}"
          f" {len(times) / wall:>8.1f} {errors:>6}")


def scenarios(base: str, services: Services, clients: int, n: int) -> None:
    """Prepare ids, cursors and a 1,000-study studyset, then measure each request kind."""
    with services.session_factory() as s:
        ids = list(s.execute(
            select(Study.id).where(Study.id.in_(select(Analysis.study_id)))
            .order_by(func.random()).limit(1200)).scalars())
        peaks = s.execute(select(Point.x, Point.y, Point.z).where(Point.x.between(-70, 70))
                          .order_by(func.random()).limit(500)).all()
    admin = services.users.create(SYSTEM, name="bench client", role="admin")
    token = services.users.issue_token(SYSTEM, admin["id"]).token
    auth = {"Authorization": f"Bearer {token}"}
    actor = services.users.authenticate(token)
    studyset = services.studysets.create(actor, {"name": "bench 1000",
                                                 "studies": ids[:1000]}).id
    cursors, cursor = [], None
    while True:
        page = requests.get(f"{base}/api/studies?limit=100" +
                            (f"&cursor={cursor}" if cursor else ""), timeout=30).json()
        cursor = page["metadata"]["next"]
        if cursor is None:
            break
        cursors.append(cursor)
    deep = cursors[len(cursors) // 2:]
    print(f"{page['metadata']['total_count']} studies listed in {len(cursors) + 1} pages;"
          f" deep pages: {len(deep)}")
    # One study per client, so If-Match never races another client.
    mine = [services.studies.clone(actor, i).id for i in ids[1000:1000 + clients]]

    etags = {study: requests.get(f"{base}/api/studies/{study}", timeout=30).headers["ETag"]
             for study in mine}

    def patch(client: Client, k: int) -> Reply:
        # Client k % clients only edits its own study and keeps the ETag each PATCH returns.
        study = mine[k % clients]
        response = client.request("PATCH", f"/api/studies/{study}", json={"name": f"edit {k}"},
                                  headers={**auth, "If-Match": etags[study]})
        etags[study] = response.etag or etags[study]
        return response

    print(f"{'request':<34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8}"
          f" {'errors':>6}")
    measure("GET one nested study", base, clients, n, lambda c, k: c.get(
        f"/api/studies/{ids[k % 1000]}", params={"nested": "true"}))
    measure("GET list page deep (cursor)", base, clients, n, lambda c, k: c.get(
        "/api/studies", params={"limit": 20, "cursor": deep[k % len(deep)]}))
    measure("GET full-text search", base, clients, n, lambda c, k: c.get(
        "/api/studies", params={"search": SEARCHES[k % len(SEARCHES)], "limit": 20}))
    measure("GET radius search (10 mm)", base, clients, n, lambda c, k: c.get(
        "/api/studies", params={**dict(zip("xyz", peaks[k % len(peaks)], strict=True)),
                                "radius": 10, "limit": 20}))
    measure("GET nested studyset (1,000 studies)", base, clients, max(n // 10, 4 * clients),
            lambda c, k: c.get(f"/api/studysets/{studyset}", params={"nested": "true"}))
    measure("PATCH study with If-Match", base, clients, n, patch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder holding neuroquery/ and neurosynth/")
    parser.add_argument("--studies", type=int, default=14_000)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="embedded PostgreSQL folder (reused if it already has the data)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400, help="per request kind")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker")
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args()
    data_dir, url, engine, services = open_store(args.data_dir, "neurostore_bench")
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM studies")).scalar_one()
    if have < args.studies:
        load(services, args.data, args.studies - have)
        # As a large ingest run does (services.ingest): statistics, and the visibility
        # map that lets a radius search read only its covering index.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM (ANALYZE)"))
    port = args.port or free_port()
    server = serve(url, port, args.workers, args.threads, args.worker_class)
    try:
        print(f"gunicorn: {args.workers} {args.worker_class} workers x {args.threads} threads;"
              f" {args.clients} concurrent clients; data in {data_dir}")
        scenarios(f"http://127.0.0.1:{port}", services, args.clients, args.requests)
    finally:
        server.terminate()
        server.wait(timeout=30)
        engine.dispose()


if __name__ == "__main__":
    main()
