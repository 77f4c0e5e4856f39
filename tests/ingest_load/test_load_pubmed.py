"""``manage.py ingest pubmed`` against recorded efetch answers: texts of the store's base
studies by PMID, re-runs that fetch nothing, a fault that keeps the batches before it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest.http import FetchError, PoliteSession
from ingest.pubmed.client import RETRY_METHODS
from ingest.runs import run_now
from ingest.sources import Environment, SourceError
from neurostore.models import IngestRun, StudyText
from neurostore.services.actors import SYSTEM
from neurostore.storage import LocalFileStore
from tests.support.efetch import EFETCH, RECORDED, recorded_efetch
from tests.support.replay import Fault, Reply

ROOT = Path(__file__).resolve().parents[2]
ABSENT = "1"  # a PMID PubMed does not return


@pytest.fixture
def studies(services, admin) -> dict[str, str]:
    """Base studies of the recorded PMIDs and of one PubMed does not return, by PMID; and
    one without a PMID."""
    services.base_studies.create(admin.actor, {"name": "no PMID"})
    return {pmid: services.base_studies.create(admin.actor, {"name": f"paper {pmid}",
                                                             "pmid": pmid}).id
            for pmid in [*RECORDED, ABSENT]}


@pytest.fixture
def base_url(eutils) -> str:
    return f"{eutils.https_url}/entrez/eutils/"


def _ingest(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url,
           "NEUROSTORE_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    env.pop("NCBI_API_KEY", None)
    return subprocess.run([sys.executable, "manage.py", "ingest", "pubmed", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def _texts(services, base_study: str) -> dict[str, str]:
    return {t["kind"]: t["text"] for t in services.texts.of(SYSTEM, base_study)
            if t["source"] == "pubmed"}


def _runs(services) -> list[dict]:
    return sorted(services.ingest.list_runs(SYSTEM, source="pubmed"), key=lambda r: r["id"])


def _asked(eutils) -> list[list[str]]:
    return [form["id"][0].split(",") for form in eutils.forms]


@pytest.mark.slow
def test_texts_are_stored_batch_by_batch_and_a_rerun_fetches_nothing(
        database_url, services, studies, eutils, base_url, tmp_path):
    done = _ingest(database_url, tmp_path, "--base-url", base_url, "--batch-size", "2",
                   "--email", "ops@example.org")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "pubmed run 1: succeeded" in output
    assert f"{ABSENT}: not returned by PubMed" in output
    assert "12091962: no abstract in PubMed" in output
    assert _asked(eutils) == [[ABSENT, "11700088"], ["11748933", "12091962"],
                              ["27797938", "9997"]]
    assert {form["email"][0] for form in eutils.forms} == {"ops@example.org"}

    telomeres = _texts(services, studies["27797938"])
    assert telomeres["title"].startswith("Leucocyte telomere length, genetic variants")
    assert telomeres["abstract"].startswith("OBJECTIVE: Telomere shortening")
    # the author's keyword first, then the MeSH descriptors
    assert telomeres["keywords"].startswith("PANCREATIC CANCER; ")
    assert "Telomere Shortening" in telomeres["keywords"].split("; ")
    assert set(_texts(services, studies["12091962"])) == {"title", "keywords"}
    assert set(_texts(services, studies["11700088"])) == {"title", "abstract"}  # no keywords
    assert _texts(services, studies[ABSENT]) == {}

    (run,) = _runs(services)
    assert (run["status"], run["created"], run["updated"], run["unchanged"], run["skipped"],
            run["failed"]) == ("succeeded", 13, 0, 0, 2, 0)
    assert {e["source_id"] for e in run["errors"]} == {ABSENT, "12091962"}
    assert "api_key" not in run["parameters"]

    again = _ingest(database_url, tmp_path, "--base-url", base_url)
    assert again.returncode == 0, again.stdout + again.stderr
    second = _runs(services)[1]
    assert (second["status"], second["created"], second["updated"], second["skipped"]) == (
        "succeeded", 0, 0, 1)  # only the PMID PubMed never returned is asked again
    assert _asked(eutils)[3:] == [[ABSENT]]


@pytest.mark.slow
def test_a_fault_mid_run_fails_it_and_the_next_run_resumes(
        database_url, services, studies, eutils, base_url, tmp_path):
    served = recorded_efetch()
    error = b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
    eutils.on_post(EFETCH, lambda form: (served(form) if len(eutils.forms) == 1
                                         else Reply(200, {}, error)))
    failed = _ingest(database_url, tmp_path, "--base-url", base_url, "--batch-size", "3")
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1 and "Traceback" not in output
    assert "PubMed efetch failed for batch 2 of 2" in output and "Unable to obtain" in output
    (run,) = _runs(services)
    assert run["status"] == "failed" and run["created"] == 5
    assert "FetchError: PubMed efetch failed for batch 2 of 2" in run["errors"][-1]["reason"]
    assert _texts(services, studies["11748933"])  # the first batch was kept
    assert _texts(services, studies["9997"]) == {}

    eutils.on_post(EFETCH, served)
    resumed = _ingest(database_url, tmp_path, "--base-url", base_url, "--batch-size", "3")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # what the first batch stored is not asked for again
    assert _asked(eutils)[2:] == [[ABSENT, "12091962", "27797938"], ["9997"]]
    assert _texts(services, studies["9997"])["abstract"].startswith("Electron paramagnetic")


def test_a_bad_pmid_is_refused_before_a_run(database_url, services, studies, eutils,
                                           base_url, tmp_path):
    # More bad arguments (an unknown option, --limit 0) in test_load_cli.py.
    refused = _ingest(database_url, tmp_path, "--base-url", base_url,
                      "--pmid", "9997", "--pmid", "PMC5442267")
    output = refused.stdout + refused.stderr
    assert refused.returncode == 2 and "Traceback" not in output
    assert "invalid PubMed ids (PMIDs are digits): ['PMC5442267']" in output
    assert _runs(services) == [] and eutils.forms == []


@pytest.fixture
def fast_env(services, tmp_path):
    """Fast retries that include POSTs, and no rate limit: the replay server is not NCBI."""
    with PoliteSession(retries=3, backoff_factor=0.01, timeout=(1.0, 1.0), min_interval=0.0,
                       retry_methods=RETRY_METHODS) as session:
        yield Environment(services, tmp_path / "data", LocalFileStore(tmp_path / "files"),
                          session)


def test_named_pmids_limit_and_refresh(services, studies, eutils, base_url, fast_env):
    named = run_now(services, "pubmed", {"base_url": base_url,
                                         "pmids": ["09997", "27797938", "424242"]}, fast_env)
    assert (named.status, named.created, named.skipped) == ("succeeded", 6, 1)
    assert named.errors[0] == {"source_id": "424242", "line": None,
                               "reason": "no base study has this PMID"}
    assert _asked(eutils) == [["9997", "27797938"]]  # the unknown one is not asked for

    limited = run_now(services, "pubmed", {"base_url": base_url, "limit": 2}, fast_env)
    assert limited.studies == 2 and _asked(eutils)[1] == [ABSENT, "11700088"]

    refreshed = run_now(services, "pubmed", {"base_url": base_url, "refresh": True}, fast_env)
    assert _asked(eutils)[2] == sorted(studies)
    assert (refreshed.created, refreshed.updated, refreshed.unchanged) == (5, 0, 8)


def test_a_persistent_server_error_fails_the_run_after_retries(services, studies, eutils,
                                                               base_url, fast_env):
    eutils.inject(EFETCH, *[Fault.ERROR_500] * 4)
    with pytest.raises(FetchError, match="batch 1 of 1"):
        run_now(services, "pubmed", {"base_url": base_url}, fast_env)
    assert eutils.count(EFETCH) == 4  # the first try and 3 retries
    (run,) = _runs(services)
    assert run["status"] == "failed" and "500" in run["errors"][-1]["reason"]
    with services.session_factory() as s:
        assert s.execute(select(func.count()).select_from(StudyText)).scalar() == 0


def test_a_dry_run_writes_nothing_and_opens_no_run(services, studies, eutils, base_url,
                                                   fast_env):
    dry = run_now(services, "pubmed", {"base_url": base_url}, fast_env, dry_run=True)
    assert (dry.status, dry.created, dry.skipped) == ("dry-run", 13, 2)
    with services.session_factory() as s:
        assert s.execute(select(func.count()).select_from(StudyText)).scalar() == 0
        assert s.execute(select(func.count()).select_from(IngestRun)).scalar() == 0


@pytest.mark.parametrize(("parameters", "message"), [
    ({"pmid": ["9997"]}, "unknown parameters pmid"),
    ({"pmids": ["x1"]}, "invalid PubMed ids"),
    ({"limit": "10"}, "limit must be"),
    ({"refresh": "yes"}, "refresh must be"),
])
def test_bad_stored_parameters_fail_the_run_naming_them(services, fast_env, parameters,
                                                        message):
    with pytest.raises(SourceError, match=message):
        run_now(services, "pubmed", parameters, fast_env)
    (run,) = _runs(services)
    assert run["status"] == "failed" and message in run["errors"][-1]["reason"]
