"""``manage.py export``: freeze studysets into snapshots and write their exports to files."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from cli.runtime import Runtime, fail, pass_runtime
from neurostore.services.actors import Actor
from neurostore.services.errors import ServiceError
from neurostore.snapshot.formats import FORMATS
from neurostore.vocabulary import Role

#: Reads on the command line act as the operator, who may read everything.
OPERATOR = Actor(id=None, role=Role.ADMIN)


def acting_user(rt: Runtime, ref: str) -> Actor:
    """The user a command acts as, by id or external id."""
    try:
        found = rt.services.users.find(ref)
    except ServiceError as exc:
        raise fail(exc) from exc
    return Actor(found["id"], found["role"])


@click.group()
def export() -> None:
    """Freeze studysets into snapshots and export them (NIMADS, NiMARE, Sleuth, TSV)."""


@export.command("snapshot")
@click.argument("studyset")
@click.option("--annotation", help="An annotation of the studyset to freeze with it.")
@click.option("--include", help="A boolean note key: keep only analyses marked true.")
@click.option("--as", "as_user", required=True, help="Id or external id of the user acting.")
@pass_runtime
def create_snapshot(rt: Runtime, studyset: str, annotation: str | None, include: str | None,
                    as_user: str) -> None:
    """Freeze STUDYSET into a snapshot and print its id (the sha256 of its NIMADS bytes)."""
    try:
        state, created = rt.services.snapshots.create(
            acting_user(rt, as_user), studyset, annotation_id=annotation, include=include)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(f"{'created' if created else 'existing'} snapshot {state['id']}: "
               f"{state['n_studies']} studies, {state['n_analyses']} analyses, "
               f"{state['n_points']} peaks, {state['n_bytes']} bytes")


@export.command("write")
@click.argument("snapshot")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="nimads",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
@pass_runtime
def write_export(rt: Runtime, snapshot: str, fmt: str, out: Path | None) -> None:
    """Write SNAPSHOT in a format (made once, then reused from the file store)."""
    snapshots = rt.services.snapshots
    try:
        made = snapshots.export(OPERATOR, snapshot, fmt)
    except ServiceError as exc:
        raise fail(exc) from exc
    with snapshots.files.open(made["file"]) as src:
        if out is None:
            shutil.copyfileobj(src, sys.stdout.buffer)
        else:
            try:
                with open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except OSError as exc:
                raise click.ClickException(f"cannot write {out}: {exc.strerror}") from exc
    skipped = made["summary"].get("n_skipped", 0)
    if out is not None:
        click.echo(f"wrote {made['n_bytes']} bytes to {out} ({skipped} items skipped)", err=True)


@export.command("list")
@click.option("--studyset", help="Only snapshots of this studyset.")
@pass_runtime
def list_snapshots(rt: Runtime, studyset: str | None) -> None:
    """List snapshots, newest first."""
    for row in rt.services.snapshots.list(OPERATOR, studyset=studyset):
        click.echo(f"{row['id']}  {row['created_at'][:19]}  studyset {row['studyset']} "
                   f"v{row['studyset_version']}  {row['n_studies']} studies, "
                   f"{row['n_analyses']} analyses")
