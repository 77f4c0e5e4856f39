"""``manage.py ingest``: happy paths, dry run, background, and clear errors for bad input."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from manage import cli
from neurostore.models import Study
from tests.support.data import NIMADS_PARAMS, NQ_PARAMS, SLEUTH_PARAMS


@pytest.fixture
def invoke(database_url, session_factory, monkeypatch, tmp_path):
    """Run a command on the test database, with a scratch data folder."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("NEUROSTORE_DATA_DIR", str(tmp_path / "var"))

    def run(*args: str):
        return CliRunner().invoke(cli, ["ingest", *args], catch_exceptions=False)

    return run


def _studies(session_factory) -> int:
    with session_factory() as s:
        return s.execute(select(func.count()).select_from(Study)).scalar()


def test_neuroquery_prints_a_summary_and_a_rerun_changes_nothing(invoke, session_factory):
    args = ("neuroquery", "--coordinates", NQ_PARAMS["coordinates"],
            "--metadata", NQ_PARAMS["metadata"], "--batch-size", "10")
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert "neuroquery run 1: succeeded" in first.output
    assert "21" in first.output and "646" in first.output
    again = invoke(*args)
    assert again.exit_code == 0 and "run 2: succeeded" in again.output
    assert _studies(session_factory) == 21


def test_dry_run_prints_the_changes_and_writes_nothing(invoke, session_factory):
    result = invoke("sleuth", *SLEUTH_PARAMS["paths"], "--dry-run")
    assert result.exit_code == 0, result.output
    assert "+ test_sleuth_file.txt:" in result.output and "dry run: dry-run" in result.output
    assert _studies(session_factory) == 0


def test_nimads_with_annotation(invoke, session_factory):
    result = invoke("nimads", NIMADS_PARAMS["studyset"], "--annotation",
                    NIMADS_PARAMS["annotation"])
    assert result.exit_code == 0, result.output
    assert _studies(session_factory) > 0


def test_background_queues_the_run_with_its_job(invoke, session_factory):
    result = invoke("sleuth", SLEUTH_PARAMS["paths"][0], "--background")
    assert result.exit_code == 0, result.output
    assert "queued ingest run 1 of sleuth" in result.output
    with session_factory() as s:
        job = s.execute(text("SELECT task_name, queue_name, args FROM procrastinate_jobs"
                             " WHERE status = 'todo'")).one()
        status = s.execute(text("SELECT status FROM ingest_runs WHERE id = 1")).scalar()
    assert (job.task_name, job.queue_name, job.args["run_id"]) == ("ingest.sleuth", "ingest", 1)
    assert status == "queued"
    busy = invoke("sleuth", SLEUTH_PARAMS["paths"][0])
    assert busy.exit_code == 1 and "still active" in busy.output and "Traceback" not in busy.output


@pytest.mark.parametrize(("args", "message"), [
    (("neuroquery", "--coordinates", "/no/such.tsv"), "does not exist"),
    (("neurosynth", "--batch-size", "0"), "not in the range"),
    (("sleuth",), "Missing argument"),
    (("nimads", NIMADS_PARAMS["studyset"], "--annotation", "nope.json"), "does not exist"),
    (("neurovault", "--collection", "abc"), "not a valid integer"),
    (("neurovault", "--base-url", "ftp://x"), "http(s)"),
    (("sleuth", SLEUTH_PARAMS["paths"][0], "--dry-run", "--background"), "cannot run"),
    (("pubmed", "--pmid", "12x"), "invalid PubMed ids"),
    (("pubmed", "--pmid", "9997", "--refresh"), "always fetched"),
    (("pubmed", "--since", "2020"), "No such option"),
    (("pubmed", "--limit", "0"), "not in the range"),
    (("pubmeds",), "No such command"),
])
def test_bad_arguments_are_usage_errors(invoke, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_an_unusable_file_is_a_clear_error(invoke, tmp_path):
    bad = tmp_path / "studyset.json"
    bad.write_text("[1, 2]")
    result = invoke("nimads", str(bad))
    assert result.exit_code == 1
    assert "nimads:" in result.output and "JSON object" in result.output
