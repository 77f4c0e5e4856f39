"""bench/scale.py, run as a user runs it, at a tiny size: its table has every column."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.data import DATA

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ("size", "studies", "points", "load_studies/s", "load_points/s", "study_p95",
           "search_p95", "radius_p95", "studyset_p95", "snapshot_s", "db_MiB")


def _scale(*extra):
    nq, ns = DATA / "neuroquery", DATA / "neurosynth"
    out = subprocess.run(
        [sys.executable, "bench/scale.py", "--sizes", "1.5", "--studies", "40",
         "--requests", "8", "--clients", "2",
         "--neuroquery", nq / "first300_coordinates.tsv.gz", nq / "first300_metadata.tsv.gz",
         "--neurosynth", ns / "nimare-subset_coordinates.tsv.gz",
         ns / "nimare-subset_metadata.tsv.gz", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


def test_scale_prints_a_row_per_size_with_every_column():
    out = _scale()
    lines = out.stdout.splitlines()
    base = int(re.match(r"1x = (\d+) real studies", lines[0]).group(1))
    assert base == 40
    header = lines[1].split()
    assert tuple(header) == COLUMNS
    row = dict(zip(header, lines[2].split(), strict=True))
    assert row["size"] == "1.5x"
    # Half of the studies are synthetic copies, loaded next to the real ones.
    assert int(row["studies"]) == 60
    for name in COLUMNS[2:]:
        assert float(row[name]) > 0, (name, row)
    assert all(name in lines[3] for name in COLUMNS)  # the legend says what each holds


def test_a_kept_store_is_measured_again_without_loading(tmp_path):
    first = _scale("--keep", str(tmp_path))
    assert "loaded 60 studies" in first.stderr
    again = _scale("--keep", str(tmp_path))
    assert "loaded" not in again.stderr, again.stderr[-2000:]
    built, measured = (dict(zip(COLUMNS, out.stdout.splitlines()[2].split(), strict=True))
                       for out in (first, again))
    # The same store: its rows, and the load rates measured when it was built.
    for name in ("studies", "points", "load_studies/s", "load_points/s"):
        assert built[name] == measured[name], name
    assert (tmp_path / "1.5x" / "load.json").is_file()
