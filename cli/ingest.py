"""``manage.py ingest``: fill the store from NeuroQuery, Neurosynth, NeuroVault and files,
and its publications' texts from PubMed."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cli.runtime import Runtime, fail, pass_runtime
from ingest.http import FetchError
from ingest.load import DEFAULT_BATCH_SIZE, LoadSummary
from ingest.neuroquery import parse as neuroquery
from ingest.neurosynth import parse as neurosynth
from ingest.neurovault.client import DEFAULT_BASE_URL
from ingest.pubmed import client as pubmed
from ingest.records import ParseError
from ingest.runs import run_now
from ingest.sources import Environment, SourceError
from neurostore.services.actors import SYSTEM
from neurostore.services.errors import ServiceError
from neurostore.services.ingest_reports import COUNTS, BatchReport
from neurostore.vocabulary import RunStatus

SHOWN_ERRORS = 10
SHOWN_DIFFS = 20


class Location(click.ParamType):
    """An ``http(s)://`` URL, or the path of an existing file (made absolute)."""

    name = "path or URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if urlsplit(text).scheme in ("http", "https"):
            return text
        path = Path(text).expanduser()
        if not path.is_file():
            self.fail(f"file {text!r} does not exist", param, ctx)
        return str(path.resolve())


LOCATION = Location()
#: ``--images`` given without a value: the NIMADS file's own folder.
BESIDE_THE_FILE = ""


class ImageBaseType(click.ParamType):
    """A folder (made absolute) or an http(s) URL that relative image references name files
    under; ``""`` for the NIMADS file's own folder."""

    name = "folder or URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if text == BESIDE_THE_FILE:
            return text
        scheme = urlsplit(text).scheme.lower()
        if scheme in ("http", "https"):
            return text
        if scheme == "file":
            text = url2pathname(urlsplit(text).path)
        elif scheme:
            self.fail(f"{text!r}: expected a folder or an http(s) URL", param, ctx)
        path = Path(text).expanduser()
        if not path.is_dir():
            self.fail(f"folder {text!r} does not exist", param, ctx)
        return str(path.resolve())


@click.group()
def ingest() -> None:
    """Ingest a source as a run: progress, then a summary (re-runs change only what changed)."""


def run_options(command: Callable[..., None]) -> Callable[..., None]:
    """Options every source takes, and the run itself once the command built its parameters."""

    @click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE,
                  show_default=True,
                  help="Studies (pubmed: PMIDs per efetch request) written per transaction.")
    @click.option("--dry-run", is_flag=True, help="Write nothing; print what would change.")
    @click.option("--background", is_flag=True,
                  help="Queue the run for a worker (`manage.py worker`) and return.")
    @pass_runtime
    @wraps(command)
    def wrapper(rt: Runtime, batch_size: int, dry_run: bool, background: bool,
                **options: Any) -> None:
        source, parameters = command(**options)
        if background and dry_run:
            raise click.UsageError("--dry-run cannot run in the background")
        if background:
            _enqueue(rt, source, parameters, batch_size)
        else:
            _run(rt, source, parameters, batch_size, dry_run)

    return wrapper


@ingest.command("neuroquery")
@click.option("--coordinates", type=LOCATION, show_default=True,
              default=neuroquery.RELEASE_URL + neuroquery.COORDINATES_FILE,
              help="Coordinates TSV (path or URL; a URL is downloaded to the data folder).")
@click.option("--metadata", type=LOCATION, show_default=True,
              default=neuroquery.RELEASE_URL + neuroquery.METADATA_FILE, help="Metadata TSV.")
@run_options
def neuroquery_command(coordinates: str, metadata: str) -> tuple[str, dict[str, Any]]:
    """The NeuroQuery release: one study per PMID, one analysis per table."""
    return "neuroquery", {"coordinates": coordinates, "metadata": metadata}


@ingest.command("neurosynth")
@click.option("--coordinates", type=LOCATION, show_default=True,
              default=neurosynth.RELEASE_URL + neurosynth.COORDINATES_FILE,
              help="Coordinates TSV (path or URL; a URL is downloaded to the data folder).")
@click.option("--metadata", type=LOCATION, show_default=True,
              default=neurosynth.RELEASE_URL + neurosynth.METADATA_FILE, help="Metadata TSV.")
@run_options
def neurosynth_command(coordinates: str, metadata: str) -> tuple[str, dict[str, Any]]:
    """The Neurosynth v7 release (papers known by PMID or DOI share their publication)."""
    return "neurosynth", {"coordinates": coordinates, "metadata": metadata}


@ingest.command("neurovault")
@click.option("--collection", "collections", type=click.IntRange(min=1), multiple=True,
              help="Only this collection id (repeat for more); all collections by default.")
@click.option("--with-doi", is_flag=True, help="Only collections that name a DOI.")
@click.option("--group-level", is_flag=True, help="Only group-level maps.")
@click.option("--max-collections", type=click.IntRange(min=1), help="Stop after this many.")
@click.option("--max-images", type=click.IntRange(min=1), help="Maps per collection, at most.")
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True,
              help="The NeuroVault server.")
@run_options
def neurovault_command(collections: tuple[int, ...], with_doi: bool, group_level: bool,
                       max_collections: int | None, max_images: int | None,
                       base_url: str) -> tuple[str, dict[str, Any]]:
    """NeuroVault collections: a study per collection, maps downloaded and checked."""
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise click.BadParameter("expected an http(s):// URL", param_hint="--base-url")
    return "neurovault", {
        "base_url": base_url, "collection_ids": sorted(set(collections)) or None,
        "require_doi": with_doi, "group_level_only": group_level,
        "max_collections": max_collections, "max_images_per_collection": max_images,
    }


@ingest.command("sleuth")
@click.argument("paths", type=LOCATION, nargs=-1, required=True)
@click.option("--skip-bad", is_flag=True,
              help="Leave out each experiment with a bad line (listed) instead of refusing the"
                   " files.")
@run_options
def sleuth_command(paths: tuple[str, ...], skip_bad: bool) -> tuple[str, dict[str, Any]]:
    """Sleuth (GingerALE) text files, MNI or Talairach (plain or gzipped), imported whole:
    a file with a bad line is refused and nothing is written, unless --skip-bad."""
    return "sleuth", {"paths": list(paths), "skip_bad": skip_bad}


@ingest.command("nimads")
@click.argument("studyset", type=LOCATION)
@click.option("--annotation", type=LOCATION, help="The studyset's annotation JSON.")
@click.option("--into", metavar="STUDYSET",
              help="Update this studyset (made by an earlier import of the file): studies are"
                   " matched by their NIMADS ids. Default: a new studyset.")
@click.option("--skip-bad", is_flag=True,
              help="Leave out (and list) what cannot be read instead of refusing the file.")
@click.option("--images", type=ImageBaseType(), is_flag=False, flag_value=BESIDE_THE_FILE,
              default=None, metavar="[DIR|URL]",
              help="Fetch the maps the images reference into the file store, checked, so"
                   " image-based meta-analyses can run on them (NIDM-Results .nidm.zip packs"
                   " are unpacked into their T, Z, contrast and standard-error maps). An"
                   " image's url (else filename) is an http(s) URL, a file:// URL, or a path"
                   " relative to DIR or URL; alone, --images resolves them against the"
                   " file's own folder. Without it, images are kept as references only.")
@run_options
def nimads_command(studyset: str, annotation: str | None, into: str | None,
                   skip_bad: bool, images: str | None) -> tuple[str, dict[str, Any]]:
    """A NIMADS studyset JSON (and its annotation), imported whole or not at all: a new
    studyset with its studies and notes, or an update of the one named by --into. A file
    with a record that cannot be read is refused, unless --skip-bad. With --images, a map
    that cannot be had (a missing file, a 404, not a NIfTI volume) is such a record (with
    --skip-bad, its study is left out whole)."""
    return "nimads", {"studyset": studyset, "annotation": annotation, "into": into,
                      "skip_bad": skip_bad, "fetch_images": images is not None,
                      "images": images or None}


@ingest.command("pubmed")
@click.option("--pmid", "pmids", multiple=True, metavar="PMID",
              help="Only this PMID (repeat for more). Default: the base studies' PMIDs PubMed"
                   " has given no text yet.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many PMIDs.")
@click.option("--refresh", is_flag=True,
              help="Every base study's PMID, fetched again (changed texts are updated).")
@click.option("--base-url", default=pubmed.DEFAULT_BASE_URL, show_default=True,
              help="The E-utilities server.")
@click.option("--api-key", help="NCBI API key (10 requests a second instead of 3). Default:"
                                " NCBI_API_KEY, which, unlike this option, is not stored on"
                                " the run.")
@click.option("--email", help="Contact address NCBI may write to. Default: NCBI_EMAIL.")
@click.option("--tool", help="Software name sent to NCBI.  [default: neurostore]")
@run_options
def pubmed_command(pmids: tuple[str, ...], limit: int | None, refresh: bool, base_url: str,
                   api_key: str | None, email: str | None,
                   tool: str | None) -> tuple[str, dict[str, Any]]:
    """Titles, abstracts and keywords (MeSH terms included) of the base studies, fetched from
    PubMed by PMID (NCBI E-utilities efetch), one transaction per request. A re-run fetches
    only the PMIDs still missing; PMIDs PubMed does not return, and articles without an
    abstract, are listed as skipped."""
    try:
        checked = pubmed.check_pmids(pmids)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--pmid") from error
    if checked and refresh:
        raise click.UsageError("--refresh is for the store's PMIDs: a --pmid is always fetched")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise click.BadParameter("expected an http(s):// URL", param_hint="--base-url")
    identity = {"api_key": api_key, "email": email, "tool": tool}
    return "pubmed", {"base_url": base_url, "pmids": checked or None, "limit": limit,
                      "refresh": refresh, **{k: v for k, v in identity.items() if v}}


def _enqueue(rt: Runtime, source: str, parameters: dict[str, Any], batch_size: int) -> None:
    try:
        run_id = rt.services.ingest.start_run(SYSTEM, source, parameters, queued=True,
                                              batch_size=batch_size)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(f"queued ingest run {run_id} of {source}; `manage.py worker` runs it")


def _run(rt: Runtime, source: str, parameters: dict[str, Any], batch_size: int,
         dry_run: bool) -> None:
    console = Console()
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[counts]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"{source}{' (dry run)' if dry_run else ''}", total=None,
                            changes=0, counts="0 studies, 0 changed")
        maps: list[TaskID] = []

        def progress(done: int, report: BatchReport) -> None:
            changed = bar.tasks[0].fields["changes"] + report.created + report.updated
            bar.update(task, completed=done, changes=changed,
                       counts=f"{done} studies, {changed} changed")

        def file_progress(done: int, total: int, name: str) -> None:
            if not maps:
                maps.append(bar.add_task("maps", total=total, changes=0, counts=""))
            bar.update(maps[0], completed=done, total=total, counts=f"{done}/{total}: {name}")
            if not console.is_terminal:  # no live bar in a log: a line per map instead
                console.print(f"map {done}/{total}: {name}", highlight=False)

        env = Environment(rt.services, rt.settings.data_dir,
                          rt.services.snapshots.files, file_progress=file_progress,
                          ncbi_api_key=rt.settings.ncbi_api_key,
                          ncbi_email=rt.settings.ncbi_email)

        try:
            summary = run_now(rt.services, source, parameters, env, batch_size=batch_size,
                              dry_run=dry_run, progress=progress)
        except ServiceError as exc:
            raise fail(exc) from exc
        except (SourceError, ParseError, FetchError, OSError) as exc:
            raise click.ClickException(f"{source}: {exc}") from exc
    if dry_run:
        _print_diffs(console, summary)
    _print_summary(console, summary)
    if summary.status == RunStatus.FAILED:
        raise click.exceptions.Exit(1)


def _print_summary(console: Console, summary: LoadSummary) -> None:
    run = f"run {summary.run_id}" if summary.run_id else "dry run"
    table = Table(title=f"{summary.source} {run}: {summary.status}")
    names = COUNTS
    for name in (*names, "studies", "peaks", "seconds"):
        table.add_column(name, justify="right")
    table.add_row(*(str(getattr(summary, n)) for n in (*names, "studies", "peaks")),
                  f"{summary.seconds:.1f}")
    console.print(table)
    for error in summary.errors[:SHOWN_ERRORS]:
        where = f" line {error['line']}" if error.get("line") else ""
        console.print(f"  [yellow]{error.get('source_id') or '-'}{where}[/]: {error['reason']}",
                      highlight=False)
    if len(summary.errors) > SHOWN_ERRORS:
        console.print(f"  ... and {len(summary.errors) - SHOWN_ERRORS} more")
    for kind, made in sorted(summary.made.items()):
        console.print(f"{kind} {made}", highlight=False)


def _print_diffs(console: Console, summary: LoadSummary) -> None:
    for diff in summary.diffs[:SHOWN_DIFFS]:
        if diff["action"] == "update":
            paths = ", ".join(sorted({op["path"] for op in diff["diff"]}))[:100]
            console.print(f"[blue]~ {diff['source_id']}[/] (study {diff['study']}): {paths}",
                          highlight=False)
        elif diff["action"] == "create":
            console.print(f"[green]+ {diff['source_id']}[/]: {diff['analyses']} analyses, "
                          f"{diff['points']} peaks", highlight=False)
        else:
            console.print(f"[green]+ {diff['action']} {diff['source_id']}[/]", highlight=False)
    if len(summary.diffs) > SHOWN_DIFFS:
        console.print(f"... and {len(summary.diffs) - SHOWN_DIFFS} more changes")
