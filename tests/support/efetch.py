"""Answer efetch POSTs from recorded PubMed responses, by the ids in the form; the
``eutils`` fixture serves them locally (a pytest plugin the root conftest loads)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.data import DATA
from tests.support.replay import Form, ReplayServer, Reply

PUBMED = DATA / "pubmed"
EFETCH = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi"
#: The PMIDs of the recorded articles, in the order of the recordings.
RECORDED = ["12091962", "9997", "11748933", "11700088", "27797938"]

_ARTICLE = re.compile(rb"<PubmedArticle>.*?</PubmedArticle>", re.DOTALL)
_PMID = re.compile(rb"<PMID[^>]*>(\d+)</PMID>")  # an article's own PMID comes first


class RecordedEfetch:
    """A POST handler serving the recorded articles of the ids asked for.

    Each article is sent byte for byte as recorded, in the order asked, under the
    first file's XML declaration and DOCTYPE; ids with no recording are left out, as
    PubMed leaves out ids it does not know.

    Parameters
    ----------
    *paths : Path
        Recorded efetch responses.
    """

    def __init__(self, *paths: Path) -> None:
        self.articles: dict[str, bytes] = {}
        for path in paths:
            for article in _ARTICLE.findall(path.read_bytes()):
                pmid = _PMID.search(article)
                assert pmid is not None, f"{path}: an article without a PMID"
                self.articles[pmid.group(1).decode()] = article
        first = paths[0].read_bytes()
        self._head = first[: first.index(b"<PubmedArticleSet>")]

    def __call__(self, form: Form) -> Reply:
        ids = form["id"][0].split(",")
        found = [self.articles[i] for i in ids if i in self.articles]
        body = b"\n".join([self._head + b"<PubmedArticleSet>", *found, b"</PubmedArticleSet>\n"])
        return Reply(200, {"Content-Type": "text/xml; charset=UTF-8"}, body)


def recorded_efetch() -> RecordedEfetch:
    """The handler answering from every recorded response."""
    return RecordedEfetch(*(PUBMED / f"efetch_pubmed{n}.xml" for n in (1, 2, 4)))


@pytest.fixture
def eutils() -> Iterator[ReplayServer]:
    """E-utilities efetch, answering from the recorded responses; its E-utilities base URL
    is ``eutils.https_url + "/entrez/eutils/"``."""
    server = ReplayServer(slow_seconds=2.5)
    server.start()
    server.on_post(EFETCH, recorded_efetch())
    yield server
    server.stop()
