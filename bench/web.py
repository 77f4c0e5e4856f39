"""Benchmark of the web pages in a real browser, on a store holding NeuroQuery and Neurosynth.

Fills an embedded store (``--data-dir``, reused when it already holds the data) by ingesting
both whole releases with ``manage.py ingest``, serves the app with gunicorn on 127.0.0.1 as
in production, and opens pages in Debian's headless Chromium (selenium with
/usr/bin/chromedriver). For each page kind it prints p50/p95 of the server's time (the
page's ``Server-Timing`` header, as the browser received it), of the time to the response's
first byte, and of DOMContentLoaded, over ``--pages`` page loads:

- search: full-text queries, a year range, a radius search around real peaks, sorted lists;
- study: the pages of random publications (``/base-studies/<id>``), with each version's
  analyses, peaks and studysets;
- study history: the revisions of random study versions (``/studies/<id>/history``);
- studyset: a public studyset of ``--studyset-size`` studies (``/studysets/<id>``), and the
  list of studysets (``/studysets``).
- meta-analysis: the result page of a KDA of ``--run-size`` of those studies (run inline
  before serving: maps in the slice viewer, pictures, cluster table, methods), and the list
  of runs (``/meta-analyses``).

Goals (issue 15): search, study and meta-analysis pages p95 <= 150 ms server time; a
studyset of 1,000 studies opens (DOMContentLoaded) in <= 1 s.

Usage::

    python bench/web.py [--data ../shared/data] [--data-dir DIR] [--pages 100]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/web.py``, bench/ comes first on sys.path: the repository must.
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import requests  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from analysis.runner import execute  # noqa: E402
from bench.api import SEARCHES, free_port, open_store, serve  # noqa: E402
from neurostore.models import BaseStudy, Point, Study  # noqa: E402
from neurostore.services.actors import SYSTEM  # noqa: E402
from neurostore.services.registry import Services  # noqa: E402

RELEASES = {
    "neuroquery": "neuroquery/data-neuroquery_version-1",
    "neurosynth": "neurosynth/data-neurosynth_version-7",
}
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
TIMING = """
const nav = performance.getEntriesByType('navigation')[0];
const app = (nav.serverTiming || []).find(t => t.name === 'app');
return [app ? app.duration : null, nav.responseStart - nav.requestStart,
        nav.domContentLoadedEventEnd - nav.startTime];
"""


def ingest(url: str, data: Path, data_dir: Path) -> None:
    """Ingest each whole release through the command line, as an operator does."""
    env = {**os.environ, "DATABASE_URL": url, "NEUROSTORE_DATA_DIR": str(data_dir)}
    for source, stem in RELEASES.items():
        command = [sys.executable, "manage.py", "ingest", source,
                   "--coordinates", str(data / f"{stem}_coordinates.tsv.gz"),
                   "--metadata", str(data / f"{stem}_metadata.tsv.gz")]
        print(f"ingesting {source} ...", file=sys.stderr)
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def browser() -> object:
    """Headless Debian Chromium (never a downloaded browser)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def search_paths(services: Services, n: int) -> Iterator[str]:
    """Search pages a visitor opens: queries, a year range, radius searches, sorts."""
    with services.session_factory() as s:
        peaks = s.execute(select(Point.x, Point.y, Point.z).where(Point.x.between(-70, 70))
                          .order_by(func.random()).limit(n)).all()
    for k in range(n):
        kind = k % 4
        if kind == 0:
            yield f"/search?{_query(search=SEARCHES[k % len(SEARCHES)])}"
        elif kind == 1:
            yield f"/search?{_query(search=SEARCHES[k % len(SEARCHES)], year_min=2010)}"
        elif kind == 2:
            x, y, z = peaks[k % len(peaks)]
            yield f"/search?{_query(x=round(x), y=round(y), z=round(z), radius=10)}"
        else:
            yield f"/search?{_query(sort=('year', 'name')[k % 2], desc='false')}"


def meta_analysis(services: Services, actor: object, studies: list[str]) -> str:
    """A finished KDA (uncorrected) of a public studyset of ``studies``, run here; its id."""
    studyset = services.studysets.create(actor, {"name": f"web bench run {len(studies)}",
                                                 "public": True, "studies": studies}).id
    snapshot = services.snapshots.create(actor, studyset)[0]
    run = services.analysis_runs.create(actor, {"snapshot": snapshot["id"], "estimator": "KDA"})
    print(f"running a KDA of {len(studies)} studies ...", file=sys.stderr)
    status = execute(services, run["id"])
    if status != "succeeded":
        raise SystemExit(f"the benchmark's meta-analysis {status}: "
                         f"{services.analysis_runs.get(actor, run['id'])['error']}")
    return run["id"]


def _query(**params: object) -> str:
    return urlencode(params)


def measure(driver: object, base: str, paths: list[str]) -> list[tuple[float, float, float]]:
    """Open each page; return (server ms, first byte ms, DOMContentLoaded ms) of each."""
    driver.get(base + paths[0])  # warm-up: the first page pays for the browser's start
    timings = []
    for path in paths:
        driver.get(base + path)
        timings.append(tuple(driver.execute_script(TIMING)))
    return timings


def report(name: str, timings: list[tuple[float, float, float]], goal: str) -> None:
    def pct(values: list[float], q: float) -> float:
        values = sorted(v for v in values if v is not None)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    columns = list(zip(*timings, strict=True))
    cells = " ".join(f"{pct(list(c), 0.5):8.0f} {pct(list(c), 0.95):8.0f}" for c in columns)
    print(f"{name:<26} {len(timings):>5} {cells}   {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder holding neuroquery/ and neurosynth/ releases")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="embedded PostgreSQL folder (reused if it already has the data)")
    parser.add_argument("--pages", type=int, default=100, help="page loads per kind")
    parser.add_argument("--studyset-size", type=int, default=1000)
    parser.add_argument("--run-size", type=int, default=200,
                        help="studies of the meta-analysis whose result page is measured")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"{binary} is missing: apt-get install chromium chromium-driver")
    data_dir, url, engine, services = open_store(args.data_dir, "neurostore_web_bench")
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM base_studies")).scalar_one()
    if have < 10_000:
        ingest(url, args.data, data_dir)
    with services.session_factory() as s:
        n_base = s.execute(select(func.count()).select_from(BaseStudy)).scalar_one()
        studies = list(s.execute(select(Study.id).order_by(func.random())
                                 .limit(args.studyset_size)).scalars())
        publications = list(s.execute(select(BaseStudy.id).order_by(func.random())
                                      .limit(args.pages)).scalars())
    owner = services.users.create(SYSTEM, name="web bench", role="user")
    actor = services.users.authenticate(services.users.issue_token(SYSTEM, owner["id"]).token)
    studyset = services.studysets.create(actor, {"name": f"web bench {len(studies)}",
                                                 "public": True, "studies": studies}).id
    run = meta_analysis(services, actor, studies[:args.run_size])
    port = free_port()
    server = serve(url, port, args.workers, args.threads, "gthread")
    base = f"http://127.0.0.1:{port}"
    driver = browser()
    try:
        print(f"{n_base:,} publications; gunicorn {args.workers} gthread workers x "
              f"{args.threads} threads; headless Chromium; data in {data_dir}")
        kinds = {
            "search": list(search_paths(services, args.pages)),
            "study": [f"/base-studies/{i}" for i in publications],
            "study history": [f"/studies/{i}/history" for i in studies[:args.pages]],
            f"studyset ({len(studies):,} studies)": [f"/studysets/{studyset}"] * min(
                args.pages, 20),
            "studyset list": ["/studysets"] * min(args.pages, 20),
            "meta-analysis result": [f"/meta-analyses/{run}"] * min(args.pages, 50),
            "meta-analysis list": ["/meta-analyses"] * min(args.pages, 50),
        }
        print(f"{'page':<26} {'n':>5} {'server p50':>8} {'p95':>8} {'TTFB p50':>8} "
              f"{'p95':>8} {'DCL p50':>8} {'p95':>8}   (ms)")
        goals = {name: "goal: server p95 <= 150" for name in
                 ("search", "study", "study history", "studyset list",
                  "meta-analysis result", "meta-analysis list")}
        for name, paths in kinds.items():
            status = requests.get(base + paths[0], timeout=60).status_code
            if status != 200:
                print(f"{name:<26} the page answered {status}: not measured")
                continue
            report(name, measure(driver, base, paths),
                   goals.get(name, "goal: server p95 <= 150, DOMContentLoaded <= 1000"))
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)
        engine.dispose()


if __name__ == "__main__":
    main()
