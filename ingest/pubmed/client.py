"""Fetch PubMed records by PMID from NCBI E-utilities ``efetch``.

Ids go in batches as form data of a POST to ``efetch.fcgi`` (``db=pubmed``,
``retmode=xml``): NCBI asks for POST when a request carries many ids, and its
answer is parsed by :mod:`ingest.pubmed.parse`. ``efetch`` only reads, so the
session may repeat a POST that failed (a dropped connection, 429, 5xx). NCBI allows
at most 3 requests a second without an API key and 10 with one
(https://www.ncbi.nlm.nih.gov/books/NBK25497/), and asks callers to name their
``tool`` and a contact ``email``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator

from ingest.http import SAFE_METHODS, FetchError, PoliteSession, post_form
from ingest.pubmed.parse import Article, iter_articles
from ingest.records import ParseError, Skipped
from ingest.safe_xml import UnsafeXMLError

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
MAX_BATCH_SIZE = 10_000  # efetch's own limit on ids per request
# Slightly slower than NCBI's limits, so that timer jitter never fits a fourth (an
# eleventh) request into one second.
INTERVAL_WITHOUT_KEY = 0.35
INTERVAL_WITH_KEY = 0.11
RETRY_METHODS = SAFE_METHODS | {"POST"}
NOT_RETURNED = "not returned by PubMed"

Progress = Callable[[int, int], None]


def polite_interval(api_key: str | None) -> float:
    """Least seconds between two requests that NCBI's rate limit allows.

    Parameters
    ----------
    api_key : str or None
        The NCBI API key, if any.

    Returns
    -------
    float
        Seconds, for :class:`~ingest.http.PoliteSession`'s ``min_interval``.
    """
    return INTERVAL_WITH_KEY if api_key else INTERVAL_WITHOUT_KEY


def check_pmids(pmids: Iterable[str | int]) -> list[str]:
    """Normalise PMIDs to digit strings, in order and without repeats.

    Parameters
    ----------
    pmids : iterable of str or int
        PubMed ids (``"12091962"``, ``12091962``, ``" 0123 "``).

    Returns
    -------
    list of str
        The ids without leading zeros or white space, first occurrence kept.

    Raises
    ------
    ValueError
        If any id is not a positive whole number, naming the first few.
    """
    kept: dict[str, None] = {}
    bad = []
    for pmid in pmids:
        valid_type = isinstance(pmid, str | int) and not isinstance(pmid, bool)
        text = str(pmid).strip() if valid_type else ""
        if text.isascii() and text.isdigit() and int(text) > 0:
            kept.setdefault(str(int(text)), None)
        else:
            bad.append(pmid)
    if bad:
        raise ValueError(f"{len(bad)} invalid PubMed ids (PMIDs are digits): {bad[:5]!r}")
    return list(kept)


class PubMedClient:
    """Fetch PubMed article records by PMID, in batches, politely.

    Parameters
    ----------
    base_url : str, optional
        E-utilities base URL; ``efetch.fcgi`` is appended.
    session : PoliteSession, optional
        HTTP session; by default one spaced by :func:`polite_interval` that retries
        POSTs. A session given must list ``"POST"`` in its ``retry_methods``; its
        ``min_interval`` is the caller's to choose.
    api_key : str, optional
        NCBI API key (raises the allowed rate).
    email : str, optional
        Contact address NCBI may use about the traffic.
    tool : str, optional
        Name of the calling software, as NCBI asks.
    batch_size : int, optional
        PMIDs per request, 1 to 10,000.
    attempts : int, optional
        Whole requests tried when a body arrives cut.

    Raises
    ------
    ValueError
        For a batch size out of range, or a session that does not retry POSTs.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        session: PoliteSession | None = None,
        api_key: str | None = None,
        email: str | None = None,
        tool: str = "neurostore",
        batch_size: int = 200,
        attempts: int = 3,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH_SIZE}, not {batch_size}")
        if session is None:
            session = PoliteSession(
                min_interval=polite_interval(api_key), retry_methods=RETRY_METHODS
            )
        if "POST" not in session.retry_methods:
            raise ValueError("PubMedClient needs a session whose retry_methods include POST")
        self.url = base_url.rstrip("/") + "/efetch.fcgi"
        self.session = session
        self.batch_size = batch_size
        self.attempts = attempts
        self._identity = {"tool": tool}
        if email:
            self._identity["email"] = email
        if api_key:
            self._identity["api_key"] = api_key

    def fetch(
        self, pmids: Iterable[str | int], *, progress: Progress | None = None
    ) -> Iterator[Article | Skipped]:
        """Yield the record of every PMID, batch after batch.

        Parameters
        ----------
        pmids : iterable of str or int
            PubMed ids; all are checked before the first request.
        progress : callable, optional
            Called with ``(ids done, ids in all)`` after each batch.

        Returns
        -------
        iterator of Article or Skipped
            Records in the order PubMed returns them; a :class:`Skipped` for an
            article the parser left out, and ``Skipped(pmid, None, "not returned by
            PubMed")`` after each batch for every id it asked for and did not get.
            Requests are sent as the iterator is consumed.

        Raises
        ------
        ValueError
            At once, if an id is not a PMID.
        FetchError
            While iterating, naming PubMed and the batch, if a batch still fails
            after the retries or its answer is not a PubMed document.
        """
        wanted = check_pmids(pmids)
        batches = [
            wanted[start : start + self.batch_size]
            for start in range(0, len(wanted), self.batch_size)
        ]
        return self._fetch(batches, len(wanted), progress)

    def _fetch(
        self, batches: list[list[str]], total: int, progress: Progress | None
    ) -> Iterator[Article | Skipped]:
        done = 0
        for number, batch in enumerate(batches, start=1):
            where = f"batch {number} of {len(batches)} ({batch[0]}..{batch[-1]}, {len(batch)} ids)"
            returned = set()
            for record in self._batch(batch, where):
                returned.add(record.pmid if isinstance(record, Article) else record.source_id)
                yield record
            for pmid in batch:
                if pmid not in returned:
                    yield Skipped(pmid, None, NOT_RETURNED)
            done += len(batch)
            if progress is not None:
                progress(done, total)

    def _batch(self, batch: list[str], where: str) -> Iterator[Article | Skipped]:
        form = {"db": "pubmed", "retmode": "xml", "id": ",".join(batch), **self._identity}
        try:
            body = post_form(self.session, self.url, form, attempts=self.attempts)
            yield from iter_articles(io.BytesIO(body))
        except (FetchError, ParseError, UnsafeXMLError) as error:
            raise FetchError(f"PubMed efetch failed for {where}: {error}") from error
