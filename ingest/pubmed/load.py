"""Fill the texts of base studies (title, abstract, keywords) from PubMed, by PMID.

The PMIDs come from the store: by default those of the base studies PubMed has given no
title yet (every article PubMed returns has one, so a title marks a PMID as fetched and
a re-run asks only for what is still missing); all of them with ``refresh``; or the ones
an operator names. Each efetch batch is written in one transaction
(:meth:`~neurostore.services.texts.TextService.put`) before the next is requested, so a
run that fails part way keeps its earlier batches and the next run resumes after them.

The run counts texts (up to three per article) as created, updated or unchanged, and
PMIDs as skipped: one PubMed does not return, an article the parser leaves out, or an
article without an abstract (its title and keywords are stored all the same, and a
refresh asks again). A batch that still fails after the client's retries fails the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ingest.load import LoadSummary, Progress
from ingest.pubmed.client import PubMedClient
from ingest.pubmed.parse import SOURCE, Article
from ingest.records import Skipped
from neurostore.services.actors import SYSTEM, Actor
from neurostore.services.ingest_reports import BatchReport
from neurostore.services.registry import Services

NO_BASE_STUDY = "no base study has this PMID"
NO_ABSTRACT = "no abstract in PubMed (its title and keywords were stored)"
KEYWORD_SEPARATOR = "; "


@dataclass(frozen=True)
class PmidSelection:
    """Which PMIDs a run fetches.

    Attributes
    ----------
    pmids : tuple of str or None
        Only these (checked digit strings); None for the store's.
    refresh : bool
        Every PMID of the store, not only those never fetched.
    limit : int or None
        At most this many.
    """

    pmids: tuple[str, ...] | None = None
    refresh: bool = False
    limit: int | None = None

    def resolve(self, services: Services) -> tuple[list[str], list[Skipped]]:
        """The PMIDs to fetch, and the named ones no base study has (not fetched)."""
        texts = services.texts
        if self.pmids is None:
            pmids = (texts.pmids(limit=self.limit) if self.refresh
                     else texts.pmids_without(SOURCE, "title", limit=self.limit))
            return pmids, []
        named = list(self.pmids[: self.limit])
        known = texts.base_studies_by_pmid(named)
        return ([p for p in named if p in known],
                [Skipped(p, None, NO_BASE_STUDY) for p in named if p not in known])


def keywords(article: Article) -> str | None:
    """The article's keywords, then its MeSH descriptors, each once, as one text."""
    seen: dict[str, str] = {}
    for word in (*article.keywords, *(heading.descriptor for heading in article.mesh)):
        seen.setdefault(word.casefold(), word)
    return KEYWORD_SEPARATOR.join(seen.values()) or None


def text_rows(article: Article, base_study: str) -> list[dict[str, str]]:
    """The texts of one article, in :meth:`TextService.put`'s shape."""
    kinds = {"title": article.title, "abstract": article.abstract,
             "keywords": keywords(article)}
    return [{"base_study": base_study, "source": SOURCE, "kind": kind, "text": text}
            for kind, text in kinds.items() if text]


def load_texts(
    services: Services,
    client: PubMedClient,
    selection: PmidSelection,
    *,
    run_id: int | None = None,
    actor: Actor = SYSTEM,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> LoadSummary:
    """Fetch the selected PMIDs and store their texts, one transaction per batch.

    Parameters
    ----------
    services : Services
        The store.
    client : PubMedClient
        Fetches the articles; its ``batch_size`` is the transaction size too.
    selection : PmidSelection
        Which PMIDs.
    run_id : int, optional
        The ingest run whose counts grow batch by batch.
    actor : Actor, optional
        Who writes; the system actor writes as the ingestion account.
    dry_run : bool, optional
        Fetch, and roll each batch back: the counts say what a run would write.
    progress : callable, optional
        Called after each batch with the PMIDs done and that batch's report.

    Returns
    -------
    LoadSummary
        Counts (texts written, PMIDs skipped) and errors; ``studies`` counts PMIDs.

    Raises
    ------
    FetchError
        When a batch still fails after the client's retries; the batches before it are
        stored and recorded on the run.
    """
    started = time.perf_counter()
    if actor.is_system:
        actor = services.ingest.system_actor()
    summary = LoadSummary(source=SOURCE, run_id=run_id)
    pmids, unknown = selection.resolve(services)
    if unknown:
        summary.studies += len(unknown)
        _finish_batch(services, summary, run_id, _skips(BatchReport(), unknown), progress)
    pending: list[Article | Skipped] = []

    # The client calls this once a batch's records were all read, before it requests the
    # next batch: the batch is written first, so a failure later keeps it.
    def batch_done(done: int, total: int) -> None:
        records = list(pending)
        pending.clear()
        summary.studies += len(records)
        report = _write(services, actor, records, dry_run)
        _finish_batch(services, summary, run_id, report, progress)

    for record in client.fetch(pmids, progress=batch_done):
        pending.append(record)
    summary.seconds = time.perf_counter() - started
    return summary


def _write(services: Services, actor: Actor, records: list[Article | Skipped],
           dry_run: bool) -> BatchReport:
    articles = [r for r in records if isinstance(r, Article)]
    # Looked up just before writing: the batch goes to the base studies live now.
    studies = services.texts.base_studies_by_pmid([a.pmid for a in articles])
    rows, skipped = [], [r for r in records if isinstance(r, Skipped)]
    for article in articles:
        if article.pmid not in studies:  # deleted or merged since the run began
            skipped.append(Skipped(article.pmid, None, NO_BASE_STUDY))
            continue
        rows.extend(text_rows(article, studies[article.pmid]))
        if article.abstract is None:
            skipped.append(Skipped(article.pmid, None, NO_ABSTRACT))
    counts = services.texts.put(actor, rows, dry_run=dry_run)
    report = BatchReport(**counts)
    return _skips(report, skipped)


def _skips(report: BatchReport, skipped: list[Skipped]) -> BatchReport:
    report.skipped += len(skipped)
    report.errors.extend({"source_id": s.source_id, "line": s.line, "reason": s.reason}
                         for s in skipped)
    return report


def _finish_batch(services: Services, summary: LoadSummary, run_id: int | None,
                  report: BatchReport, progress: Progress | None) -> None:
    if run_id is not None:
        services.ingest.record_batch(run_id, report)
    summary.add(report)
    if progress is not None:
        progress(summary.studies, report)
