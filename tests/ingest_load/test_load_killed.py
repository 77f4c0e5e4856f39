"""A loader killed by SIGKILL mid-run leaves whole studies only; the next run completes."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from ingest.neuroquery.parse import parse
from ingest.runs import run_now
from neurostore.models import Analysis, IngestRun, Point, Study
from neurostore.services.actors import SYSTEM
from tests.support.data import NQ_PARAMS

ROOT = Path(__file__).resolve().parents[2]
COPIES = 20


def _bigger_release(folder: Path) -> dict[str, str]:
    """The 21-study sample repeated under new PMIDs: enough batches to stop in the middle."""
    with gzip.open(NQ_PARAMS["coordinates"], "rt", newline="") as f:
        header, *rows = f.read().rstrip("\n").split("\n")
    with gzip.open(NQ_PARAMS["metadata"], "rt", newline="") as f:
        meta_header, *meta = f.read().rstrip("\n").split("\n")
    coordinates, metadata = folder / "coordinates.tsv", folder / "metadata.tsv"
    coordinates.write_text("\n".join([header] + [f"{n}{row}" for n in range(1, COPIES + 1)
                                                 for row in rows]) + "\n")
    metadata.write_text("\n".join([meta_header] + [f"{n}{row}" for n in range(1, COPIES + 1)
                                                   for row in meta]) + "\n")
    return {"coordinates": str(coordinates), "metadata": str(metadata)}


def _created(session_factory) -> int:
    with session_factory() as s:
        return s.execute(select(func.count()).select_from(Study)).scalar()


def test_sigkill_mid_run_leaves_no_partial_study_and_the_rerun_completes(
        database_url, session_factory, services, env, tmp_path):
    params = _bigger_release(tmp_path)
    expected = {s["source_id"]: sum(len(a["points"]) for a in s["analyses"])
                for s in parse(params["coordinates"], params["metadata"]).studies}
    command = [sys.executable, "manage.py", "ingest", "neuroquery", "--batch-size", "3",
               "--coordinates", params["coordinates"], "--metadata", params["metadata"]]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             env={**os.environ, "DATABASE_URL": database_url,
                                  "NEUROSTORE_DATA_DIR": str(tmp_path / "var")})
    deadline = time.monotonic() + 60
    while _created(session_factory) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done = _created(session_factory)
    assert 30 <= done < len(expected), "the loader was not stopped mid-run"

    with session_factory() as s:
        stored = dict(s.execute(
            select(Study.source_id, func.count(Point.id))
            .join(Analysis, Analysis.study_id == Study.id, isouter=True)
            .join(Point, Point.analysis_id == Analysis.id, isouter=True)
            .group_by(Study.source_id)).all())
        (dead,) = s.execute(select(IngestRun)).scalars().all()
    assert dead.status == "running"
    assert all(stored[k] == expected[k] for k in stored), "a study was stored in part"

    summary = run_now(services, "neuroquery", params, env)
    assert summary.status == "succeeded"
    assert (summary.created, summary.unchanged) == (len(expected) - done, done)
    assert _created(session_factory) == len(expected)
    abandoned = services.ingest.get_run(SYSTEM, dead.id)
    assert abandoned["status"] == "failed" and "abandoned" in abandoned["errors"][-1]["reason"]
