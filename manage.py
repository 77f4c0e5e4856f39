#!/usr/bin/env python3
"""neurostore's command line: the composition root that registers every command group."""

from __future__ import annotations

import click

from cli.analysis import analysis
from cli.db import db
from cli.demo import demo
from cli.export import export
from cli.ingest import ingest
from cli.listing import studies, studysets
from cli.runtime import Runtime
from cli.serve import serve
from cli.terms import decode, features, neuroquery, terms
from cli.users import tokens, users
from cli.worker import worker
from neurostore.config import Settings, SettingsError


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """neurostore: a versioned NIMADS store and meta-analysis platform.

    Uses DATABASE_URL when set, otherwise an embedded PostgreSQL in NEUROSTORE_DATA_DIR
    (default ./var).
    """
    try:
        ctx.obj = Runtime(Settings.from_env())
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc


for command in (db, users, tokens, ingest, serve, worker, demo, export, analysis, studysets,
                studies, features, terms, decode, neuroquery):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
