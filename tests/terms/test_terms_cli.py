"""``manage.py features``, ``terms`` and ``decode`` as an operator runs them: separate
processes on the test database, the builds run by a real ``manage.py worker``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from analysis.meta import Mask
from tests.support.terms import (
    COORDINATES,
    MATRIX,
    METADATA,
    VOCABULARY,
    reference_maps,
    term_selection,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def env(database_url, session_factory, tmp_path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url,
            "NEUROSTORE_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}


def _manage(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_an_operator_builds_term_maps_on_a_worker_then_reads_and_decodes(env, tmp_path):
    early = _manage(env, "terms", "build", "--inline", ok=False)
    assert early.returncode == 1 and "no feature set is stored" in early.stderr
    _manage(env, "ingest", "neurosynth", "--coordinates", str(COORDINATES),
            "--metadata", str(METADATA))
    log = tmp_path / "worker.log"
    worker = subprocess.Popen([sys.executable, "manage.py", "worker", "--queues", "analysis"],
                              cwd=ROOT, env=env, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT)
    try:
        imported = _manage(env, "features", "import", "ns-subset", "--matrix", str(MATRIX),
                           "--ids", str(METADATA), "--vocabulary", str(VOCABULARY),
                           "--weighting", "none", "--wait")
        assert "succeeded" in imported.stdout and "matched: 20" in imported.stdout
        built = _manage(env, "terms", "build", "--min-studies", "3", "--wait")
        assert "succeeded" in built.stdout and "n_terms_built: 3" in built.stdout
    finally:
        worker.terminate()
        worker.wait(30)
    listed = _manage(env, "features", "list").stdout
    assert "ns-subset  20 studies x 100 terms (none" in listed
    terms = _manage(env, "terms", "list", "--search", "activ").stdout
    assert f"* {len(term_selection('activations')):6d}  activations" in terms

    shown = _manage(env, "terms", "show", "activations", "--out", str(tmp_path / "maps"))
    assert f"term 'activations': {len(term_selection('activations'))} studies" in shown.stdout
    written = tmp_path / "maps" / "z_desc-association.nii.gz"
    values = np.asanyarray(nib.load(written).dataobj)[Mask.default().data]
    expected = reference_maps(term_selection("activations"))["z_desc-association"]
    np.testing.assert_allclose(values, expected, atol=1e-6)

    decoded = _manage(env, "decode", str(written), "--top", "2").stdout.splitlines()
    assert decoded[0].split() == ["1.000", "activations"] and len(decoded) == 2
    region = _manage(env, "decode", "--coordinates", "38,-48,49", "--radius", "10").stdout
    assert "studies in the region (neurosynth)" in region

    unknown = _manage(env, "terms", "show", "activationz", ok=False)
    assert unknown.returncode == 1 and "did you mean 'activations'" in unknown.stderr
    not_a_map = tmp_path / "notes.txt"
    not_a_map.write_text("hello")
    refused = _manage(env, "decode", str(not_a_map), ok=False)
    assert refused.returncode == 1 and "NIfTI" in refused.stderr
    both = _manage(env, "decode", ok=False)
    assert both.returncode == 2 and "--coordinates" in both.stderr


def test_a_matrix_that_does_not_fit_its_vocabulary_fails_the_build_clearly(env, tmp_path):
    _manage(env, "ingest", "neurosynth", "--coordinates", str(COORDINATES),
            "--metadata", str(METADATA))
    short = tmp_path / "short.txt"
    short.write_text("pain\nmemory\n")
    failed = _manage(env, "features", "import", "bad", "--matrix", str(MATRIX), "--ids",
                     str(METADATA), "--vocabulary", str(short), "--inline", ok=False)
    assert failed.returncode == 1
    assert "failed" in failed.stdout and "does not match 20 ids x 2 terms" in failed.stdout
    assert "bad" not in _manage(env, "features", "list").stdout
