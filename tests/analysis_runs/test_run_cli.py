"""``manage.py export`` and ``manage.py analysis`` on the test database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from manage import cli


@pytest.fixture
def invoke(database_url, data_dir, monkeypatch):
    """Run a command on the test database and the fixtures' data folder."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("NEUROSTORE_DATA_DIR", str(data_dir))

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


def test_freeze_export_run_and_follow_from_the_command_line(invoke, alice, imported, tmp_path):
    frozen = invoke("export", "snapshot", imported.studyset.id, "--annotation",
                    imported.annotation.id, "--include", "include", "--as", alice.id)
    assert frozen.exit_code == 0 and frozen.output.startswith("created snapshot ")
    snapshot = frozen.output.split()[2].rstrip(":")
    assert invoke("export", "snapshot", imported.studyset.id, "--annotation",
                  imported.annotation.id, "--include", "include", "--as", alice.id
                  ).output.startswith(f"existing snapshot {snapshot}")
    out = tmp_path / "peaks.tsv"
    written = invoke("export", "write", snapshot, "--format", "tsv", "--out", str(out))
    assert written.exit_code == 0 and out.read_text().startswith("study_id")
    assert snapshot in invoke("export", "list").output

    ran = invoke("analysis", "run", snapshot, "--estimator", "MKDADensity", "--param", "r=8",
                 "--correction", "fdr", "--as", alice.id, "--inline")
    assert ran.exit_code == 0, ran.output
    assert "succeeded" in ran.output and "picture z_uncorrected" in ran.output
    run_id = ran.output.split()[2]
    assert "succeeded" in invoke("analysis", "status", run_id).output

    queued = invoke("analysis", "run", snapshot, "--estimator", "KDA", "--as", alice.id)
    other = queued.output.split()[2]
    assert "cancelled" in invoke("analysis", "cancel", other, "--as", alice.id).output


def test_bad_requests_are_clear_errors(invoke, alice, imported):
    bad = invoke("analysis", "run", "0" * 64, "--as", alice.id)
    assert bad.exit_code != 0 and "snapshot" in bad.output
    param = invoke("analysis", "run", "x", "--param", "nonsense", "--as", alice.id)
    assert param.exit_code != 0 and "key=value" in param.output
    nobody = invoke("export", "snapshot", imported.studyset.id, "--as", "nobody")
    assert nobody.exit_code != 0 and "nobody" in nobody.output
