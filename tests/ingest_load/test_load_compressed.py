"""Gzipped input files, recognised by their content, through ``manage.py ingest``."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from neurostore.models import Study
from tests.support.data import NIMADS_PARAMS, SLEUTH_PARAMS

ROOT = Path(__file__).resolve().parents[2]


def _ingest(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url,
           "NEUROSTORE_DATA_DIR": str(tmp_path / "var")}
    return subprocess.run([sys.executable, "manage.py", "ingest", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _gzip(source: str, target: Path) -> str:
    target.write_bytes(gzip.compress(Path(source).read_bytes()))
    return str(target)


def _count(session_factory, source: str) -> int:
    with session_factory() as s:
        return s.execute(select(func.count()).where(Study.source == source)).scalar_one()


def test_gzipped_nimads_and_sleuth_files_are_read(database_url, session_factory, tmp_path):
    studyset = _gzip(NIMADS_PARAMS["studyset"], tmp_path / "studyset.json.gz")
    # A gzipped file whose name does not say so is read by its content.
    annotation = _gzip(NIMADS_PARAMS["annotation"], tmp_path / "annotation.json")
    done = _ingest(database_url, tmp_path, "nimads", studyset, "--annotation", annotation)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _count(session_factory, "nimads") > 0
    sleuth = _gzip(SLEUTH_PARAMS["paths"][0], tmp_path / "experiments.txt.gz")
    done = _ingest(database_url, tmp_path, "sleuth", sleuth)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _count(session_factory, "sleuth") > 0


def test_a_truncated_gzip_file_is_an_error_naming_it(database_url, session_factory, tmp_path):
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(gzip.compress(Path(NIMADS_PARAMS["studyset"]).read_bytes())[:200])
    done = _ingest(database_url, tmp_path, "nimads", str(broken))
    assert done.returncode != 0
    assert "broken.json.gz" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert _count(session_factory, "nimads") == 0
