"""``manage.py ingest sleuth`` refuses a file with a bad line (nothing written) unless asked
to leave out the experiments that have one, which it then lists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from neurostore.models import Analysis, Point
from tests.support.data import SLEUTH_PARAMS

ROOT = Path(__file__).resolve().parents[2]
BAD = """// Reference=MNI
// Smith, 2005: faces
// Subjects=12
10 20 30
10 20 dog
-4 8 12

// Jones, 2010: houses
// Subjects=9
1 2 3
4 5
"""
GOOD_TOO = """// Reference=MNI
// Brown, 2012: words
// Subjects=20
7 8 9
"""


def _ingest(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url,
           "NEUROSTORE_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "manage.py", "ingest", "sleuth", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def _stored(session_factory) -> tuple[int, int]:
    with session_factory() as s:
        return (s.execute(select(func.count()).select_from(Analysis)).scalar_one(),
                s.execute(select(func.count()).select_from(Point)).scalar_one())


def test_a_bad_line_refuses_the_files_and_names_file_and_line(
        database_url, session_factory, tmp_path):
    bad, good = tmp_path / "bad.txt", tmp_path / "good.txt"
    bad.write_text(BAD)
    good.write_text(GOOD_TOO)
    refused = _ingest(database_url, tmp_path, str(good), str(bad))
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "Traceback" not in output
    assert "bad.txt:Smith, 2005 line 5" in output and "'10 20 dog'" in output
    assert "--skip-bad" in output
    assert _stored(session_factory) == (0, 0)


def test_skip_bad_leaves_out_whole_experiments_and_lists_them(
        database_url, session_factory, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text(BAD)
    done = _ingest(database_url, tmp_path, str(bad), SLEUTH_PARAMS["paths"][0], "--skip-bad")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "'faces' left out whole: bad line(s) 5" in done.stdout
    assert "'houses' left out whole: bad line(s) 11" in done.stdout
    with session_factory() as s:
        names = set(s.execute(select(Analysis.name)).scalars())
    assert not names & {"faces", "houses"} and names
