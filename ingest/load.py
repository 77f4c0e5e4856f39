"""Stream a source's parsed studies into the store in batches, as one ingest run.

Each batch is one call of :meth:`IngestService.sync`, hence one transaction: a process
killed mid-run leaves whole batches behind, never part of a study, and the next run
finds the committed studies unchanged (their upstream hash matches) and carries on.
A file import (an atomic stream) is one transaction instead: all of it, or nothing.
Records the parser left out are counted with the batch they were found in: as
``failed`` when the source could not be fetched (worth retrying), as ``skipped`` when
the record itself is bad.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from ingest.records import ParseError, Skipped, Study
from neurostore.services.actors import SYSTEM, Actor
from neurostore.services.ingest_reports import BatchReport
from neurostore.services.registry import Services
from neurostore.services.uow import UnitOfWork
from neurostore.vocabulary import RunStatus

DEFAULT_BATCH_SIZE = 1000

# Called after each batch with the number of studies read so far and that batch's report.
Progress = Callable[[int, BatchReport], None]


@dataclass
class SourceStream:
    """What a source hands the loader.

    Attributes
    ----------
    studies : iterable of dict
        Study dicts in the store's input shape; iterated once.
    skipped : list of Skipped
        Filled while ``studies`` is iterated.
    is_failure : callable
        Tells a :class:`Skipped` that means "could not be fetched" from a bad record.
    start : callable or None
        ``start(services, actor, uow)``, run before the first study is read (the NIMADS
        loader creates or finds the studyset its studies go to there).
    finish : callable or None
        ``finish(services, actor, run_id, dry_run, uow) -> BatchReport``, run after the last
        batch (the NIMADS loader writes its studyset and annotation there).
    atomic : bool
        Load everything in one transaction (a file is imported whole or not at all);
        ``uow`` is that transaction. Otherwise each batch is its own and ``uow`` is None.
    strict : bool
        With ``atomic``: a record left out (a bad line, an invalid study) refuses the whole
        load, naming it, instead of being reported and skipped.
    """

    studies: Iterable[Study]
    skipped: list[Skipped]
    is_failure: Callable[[Skipped], bool] = lambda _: False
    start: Callable[[Services, Actor, UnitOfWork], None] | None = None
    finish: Callable[[Services, Actor, int | None, bool, UnitOfWork | None],
                     BatchReport] | None = None
    atomic: bool = False
    strict: bool = False


@dataclass
class LoadSummary(BatchReport):
    """What a load did (or, in a dry run, would do): its batches' reports added up
    (:meth:`~neurostore.services.ingest.BatchReport.add`), with the run and its totals."""

    source: str = field(kw_only=True)
    run_id: int | None = None
    status: str = RunStatus.RUNNING.value
    studies: int = 0
    peaks: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain data (for JSON output and the demo): the run, its totals,
        then the report's counts, errors, diffs and what it made."""
        data = asdict(self)
        first = ("source", "run_id", "status", "studies", "peaks", "seconds")
        return {**{name: data.pop(name) for name in first}, **data}


def load(
    services: Services,
    source: str,
    stream: SourceStream,
    *,
    run_id: int | None = None,
    actor: Actor = SYSTEM,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> LoadSummary:
    """Sync every study of ``stream`` into the store, ``batch_size`` at a time.

    Parameters
    ----------
    services : Services
        The store's services.
    source : str
        Source name (``Study.source``).
    stream : SourceStream
        The studies and the parser's skipped records.
    run_id : int, optional
        The ingest run the batches are attributed to; its counts grow batch by batch.
    actor : Actor, optional
        Who writes; the system actor (the default) writes as the ingestion account, so
        revisions name it.
    batch_size : int, optional
        Studies per transaction.
    dry_run : bool, optional
        Roll every batch back and collect the diffs instead.
    progress : callable, optional
        Called after each batch (see :data:`Progress`).

    Returns
    -------
    LoadSummary
        Counts, errors, diffs (dry run), studies and peaks read, and seconds taken.
    """
    started = time.perf_counter()
    if actor.is_system:
        actor = services.ingest.system_actor()
    summary = LoadSummary(source=source, run_id=run_id)
    if not stream.atomic:
        _load(services, source, stream, summary, actor, run_id, batch_size, dry_run, progress,
              None, record=True)
    else:
        with UnitOfWork(services.session_factory) as uow:
            whole = LoadSummary(source=source, run_id=run_id)
            _load(services, source, stream, whole, actor, run_id, batch_size, dry_run, progress,
                  uow, record=False)
            if stream.strict and (whole.skipped or whole.failed):
                raise ParseError(refusal(whole.errors))
            if dry_run:
                uow.session.rollback()
            else:
                uow.commit()
        # The run's counts are those of the one transaction, written once it committed.
        _record(services, run_id, whole, dry_run)
        summary.add(whole)
        summary.studies, summary.peaks = whole.studies, whole.peaks
    summary.seconds = time.perf_counter() - started
    return summary


def refusal(errors: list[dict[str, Any]]) -> str:
    """Why a strict file import is refused: its first problems, each naming its record (and
    file) and line."""
    shown = "; ".join(f"{e.get('source_id') or '-'}"
                      + (f" line {e['line']}" if e.get("line") else "") + f": {e['reason']}"
                      for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return (f"{shown}{more}. Nothing was written: fix the file, or import it with"
            " skip_bad (--skip-bad) to leave out what cannot be read")


def _load(services: Services, source: str, stream: SourceStream, summary: LoadSummary,
          actor: Actor, run_id: int | None, batch_size: int, dry_run: bool,
          progress: Progress | None, uow: UnitOfWork | None, *, record: bool) -> None:
    """The batches and the finishing step, recording each batch's counts on the run as it
    goes when ``record``."""
    if stream.start is not None:
        stream.start(services, actor, uow)
    seen = 0
    for batch in _batches(stream.studies, batch_size):
        summary.studies += len(batch)
        summary.peaks += sum(len(a.get("points") or []) for s in batch for a in s["analyses"])
        report = services.ingest.sync(actor, run_id, source, batch, dry_run=dry_run, uow=uow)
        seen = _add_skips(report, stream, seen)
        if record:
            _record(services, run_id, report, dry_run)
        summary.add(report)
        if progress is not None:
            progress(summary.studies, report)
    tail = BatchReport()
    _add_skips(tail, stream, seen)
    if stream.finish is not None:
        tail.add(stream.finish(services, actor, run_id, dry_run, uow))
    if record:
        _record(services, run_id, tail, dry_run)
    summary.add(tail)


def _batches(studies: Iterable[Study], size: int) -> Iterator[list[Study]]:
    iterator = iter(studies)
    while batch := list(islice(iterator, size)):
        yield batch


def _add_skips(report: BatchReport, stream: SourceStream, seen: int) -> int:
    for item in stream.skipped[seen:]:
        if stream.is_failure(item):
            report.failed += 1
        else:
            report.skipped += 1
        report.errors.append({"source_id": item.source_id, "line": item.line,
                              "reason": item.reason})
    return len(stream.skipped)


def _record(services: Services, run_id: int | None, report: BatchReport, dry_run: bool) -> None:
    if run_id is not None and not dry_run:
        services.ingest.record_batch(run_id, report)
