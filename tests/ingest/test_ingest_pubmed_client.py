"""PubMed client against a local replay of recorded efetch responses, with injected faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingest.http import FetchError, PoliteSession
from ingest.pubmed.client import (
    INTERVAL_WITH_KEY,
    INTERVAL_WITHOUT_KEY,
    RETRY_METHODS,
    PubMedClient,
    check_pmids,
)
from ingest.pubmed.parse import Article
from ingest.records import Skipped
from tests.support.efetch import EFETCH, RECORDED
from tests.support.replay import Fault, Reply

PMIDS = RECORDED


@pytest.fixture
def session() -> Iterator[PoliteSession]:
    """Fast retries, and no rate limit: the replay server is not NCBI."""
    with PoliteSession(
        retries=3,
        backoff_factor=0.01,
        timeout=(1.0, 1.0),
        min_interval=0.0,
        retry_methods=RETRY_METHODS,
    ) as polite:
        yield polite


def _client(eutils, session, **options) -> PubMedClient:
    return PubMedClient(f"{eutils.https_url}/entrez/eutils/", session=session, **options)


def _ids(form):
    return form["id"][0].split(",")


def test_fetch_sends_one_post_with_the_ids_and_identity(eutils, session):
    client = _client(eutils, session, email="me@example.org", api_key="k3y")
    records = list(client.fetch([int(p) for p in PMIDS]))
    assert [r.pmid for r in records] == PMIDS
    assert all(isinstance(r, Article) for r in records)
    assert records[4].title.startswith("Leucocyte telomere length, genetic variants")
    assert eutils.requests == [("https", "/entrez/eutils/efetch.fcgi")]
    assert eutils.forms == [
        {
            "db": ["pubmed"],
            "retmode": ["xml"],
            "id": [",".join(PMIDS)],
            "tool": ["neurostore"],
            "email": ["me@example.org"],
            "api_key": ["k3y"],
        }
    ]


def test_batches_of_two_over_five_ids_take_three_requests(eutils, session):
    done = []
    client = _client(eutils, session, batch_size=2)
    records = list(client.fetch(PMIDS, progress=lambda *counts: done.append(counts)))
    assert [r.pmid for r in records] == PMIDS
    assert eutils.count(EFETCH) == 3
    assert [_ids(form) for form in eutils.forms] == [PMIDS[:2], PMIDS[2:4], PMIDS[4:]]
    assert done == [(2, 5), (4, 5), (5, 5)]
    assert "email" not in eutils.forms[0] and "api_key" not in eutils.forms[0]


def test_ids_pubmed_does_not_return_are_reported(eutils, session):
    records = list(_client(eutils, session, batch_size=2).fetch(["9997", "1", "0042", "9997"]))
    assert records == [
        records[0],
        Skipped("1", None, "not returned by PubMed"),
        Skipped("42", None, "not returned by PubMed"),
    ]
    assert records[0].pmid == "9997"
    assert [_ids(form) for form in eutils.forms] == [["9997", "1"], ["42"]]


@pytest.mark.parametrize(
    "pmids", [["9997", "PMC5442267"], ["12 34"], [""], ["-5"], [0], [True], [1.5], ["١٢"]]
)
def test_invalid_pmids_are_refused_before_any_request(eutils, session, pmids):
    with pytest.raises(ValueError, match="invalid PubMed ids"):
        _client(eutils, session).fetch(pmids)
    assert eutils.requests == []


@pytest.mark.parametrize("fault", [Fault.DROP, Fault.ERROR_429, Fault.TRUNCATE, Fault.SLOW])
def test_a_transient_fault_is_retried_once(eutils, session, fault):
    eutils.inject(EFETCH, fault)
    records = list(_client(eutils, session).fetch(PMIDS))
    assert [r.pmid for r in records] == PMIDS
    assert eutils.count(EFETCH) == 2  # the faulty request and one retry
    assert [_ids(form) for form in eutils.forms] == [PMIDS, PMIDS]


def test_a_persistent_500_names_pubmed_and_the_batch(eutils, session):
    eutils.inject(EFETCH, *[Fault.ERROR_500] * 10)
    records = _client(eutils, session, batch_size=3).fetch(PMIDS)
    with pytest.raises(
        FetchError, match=r"PubMed efetch failed for batch 1 of 2 \(12091962..11748933, 3 ids\)"
    ) as caught:
        next(records)
    assert "500" in str(caught.value)
    assert eutils.count(EFETCH) == 4  # the first try and 3 retries


def test_an_error_document_names_the_batch(eutils, session):
    error = b"<eFetchResult><ERROR>Invalid id list</ERROR></eFetchResult>"
    eutils.on_post(EFETCH, lambda form: Reply(200, {}, error))
    with pytest.raises(FetchError, match="batch 1 of 1.*Invalid id list"):
        list(_client(eutils, session).fetch(["9997"]))


def test_default_session_keeps_ncbi_rate_and_retries_posts():
    anonymous = PubMedClient()
    assert anonymous.session.min_interval == INTERVAL_WITHOUT_KEY
    assert 1 / INTERVAL_WITHOUT_KEY < 3
    assert "POST" in anonymous.session.retry_methods
    assert anonymous.url == "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi"
    keyed = PubMedClient(api_key="k3y")
    assert keyed.session.min_interval == INTERVAL_WITH_KEY
    assert 1 / INTERVAL_WITH_KEY < 10


def test_a_session_that_would_not_retry_posts_is_refused():
    with pytest.raises(ValueError, match="retry_methods include POST"):
        PubMedClient(session=PoliteSession())
    with pytest.raises(ValueError, match="batch_size"):
        PubMedClient(batch_size=10_001)


def test_check_pmids_normalises_and_keeps_order():
    assert check_pmids([" 0123", 9997, "123", "27797938"]) == ["123", "9997", "27797938"]
