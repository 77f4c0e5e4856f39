"""``manage.py studysets list`` and ``manage.py studies list``: find ids without the API."""

from __future__ import annotations

import click

from cli.export import OPERATOR
from cli.runtime import Runtime, pass_runtime
from neurostore.services.reads.pagination import MAX_LIMIT, ListQuery
from neurostore.services.reads.service import ReadService
from neurostore.services.reads.studies import StudyFilters

LIMIT = click.IntRange(1, MAX_LIMIT)


def _reads(rt: Runtime) -> ReadService:
    return ReadService(rt.services.session_factory, rt.services.studies)


@click.group()
def studysets() -> None:
    """Studysets in the store."""


@studysets.command("list")
@click.option("--limit", type=LIMIT, default=50, show_default=True)
@pass_runtime
def list_studysets(rt: Runtime, limit: int) -> None:
    """List studysets, newest first: id, created, studies, owner, name."""
    page = _reads(rt).studysets(OPERATOR, ListQuery(limit=limit))
    for row in page.rows:
        click.echo(f"{row['id']}  {row['created_at'][:19]}  {len(row['studies']):>6} studies"
                   f"  {'public ' if row['public'] else 'private'}  {row['name'] or '-'}")
    click.echo(f"{page.total_count} studysets", err=True)


@click.group()
def studies() -> None:
    """Studies in the store."""


@studies.command("list")
@click.option("--source", help="Only studies of this source (neurosynth, nimads, ...).")
@click.option("--search", help="Only studies matching this text (title, abstract, authors).")
@click.option("--limit", type=LIMIT, default=50, show_default=True)
@pass_runtime
def list_studies(rt: Runtime, source: str | None, search: str | None, limit: int) -> None:
    """List studies, newest first: id, source and source id, year, name."""
    page = _reads(rt).studies(OPERATOR, StudyFilters(source=source, search=search),
                              ListQuery(limit=limit))
    for row in page.rows:
        origin = f"{row['source'] or '-'}:{row['source_id'] or '-'}"
        click.echo(f"{row['id']}  {origin:<40}  {row['year'] or '----'}  {row['name'] or '-'}")
    click.echo(f"{page.total_count} studies", err=True)
