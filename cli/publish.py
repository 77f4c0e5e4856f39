"""``manage.py analysis publish``: a finished run's maps out to NeuroVault, as a bundle
written here or uploaded from this process with the user's NeuroVault API token."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from analysis.publish import publish_here
from cli.export import acting_user
from cli.runtime import Runtime, fail, pass_runtime
from ingest.neurovault.upload import PublishError
from neurostore.services.errors import ServiceError


def _write_bundle(rt: Runtime, actor: Any, run_id: str, options: dict[str, Any],
                  path: Path, site: str | None) -> None:
    name, chunks = rt.services.neurovault.bundle(actor, run_id, options, site=site)
    draft = path.with_name(f".{path.name}.part-{os.getpid()}")
    size = 0
    try:
        with draft.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
        draft.replace(path)
    finally:
        draft.unlink(missing_ok=True)
    click.echo(f"wrote {path} ({size / 1e6:.1f} MB; {name} as the API serves it)")


def _say(progress: dict[str, Any]) -> None:
    stage = progress["stage"]
    if "image" in progress:
        click.echo(f"  {stage} {progress['done'] + 1}/{progress['total']}: {progress['image']}")
    elif stage != "finishing":
        click.echo(f"  {stage}")


@click.command("publish")
@click.argument("run_id")
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an upload-ready bundle (a zip) to this file.")
@click.option("--neurovault", is_flag=True,
              help="Upload the maps to NeuroVault (NEUROSTORE_NEUROVAULT_PUBLISH_URL, default "
                   "https://neurovault.org) with your API token.")
@click.option("--token", envvar="NEUROVAULT_TOKEN", show_envvar=True,
              help="Your NeuroVault API token (better from the environment than typed here).")
@click.option("--name", help="The collection's name (unique on NeuroVault); default: one "
                             "naming the run.")
@click.option("--private", is_flag=True, help="Make the collection private.")
@click.option("--cogatlas", "cognitive_paradigm_cogatlas", metavar="TASK_ID",
              help="The task as a Cognitive Atlas id (e.g. trm_4f24126c22011).")
@click.option("--site", metavar="URL",
              help="This store's public address, for the links back to the run and snapshot.")
@click.option("--as", "as_user", required=True, help="Id or external id of the user acting.")
@pass_runtime
def publish(rt: Runtime, run_id: str, bundle_path: Path | None, neurovault: bool,
            token: str | None, name: str | None, private: bool,
            cognitive_paradigm_cogatlas: str | None, site: str | None, as_user: str) -> None:
    """Publish the maps of a finished meta-analysis RUN_ID as a NeuroVault collection.

    Publishing the same run again updates its collection and images instead of making new
    ones. The token is used by this process only and never stored.
    """
    if bundle_path is None and not neurovault:
        raise click.UsageError("say what to do: --bundle PATH, --neurovault, or both")
    if neurovault and not token:
        raise click.UsageError("--neurovault needs your NeuroVault API token: set "
                               "NEUROVAULT_TOKEN or give --token")
    options: dict[str, Any] = {"private": private}
    if name is not None:
        options["name"] = name
    if cognitive_paradigm_cogatlas is not None:
        options["cognitive_paradigm_cogatlas"] = cognitive_paradigm_cogatlas
    actor = acting_user(rt, as_user)
    try:
        if bundle_path is not None:
            _write_bundle(rt, actor, run_id, options, bundle_path, site)
        if neurovault:
            where = rt.settings.neurovault_publish_url
            click.echo(f"publishing run {run_id} to NeuroVault at {where}")
            sent = publish_here(rt.services, actor, run_id, token or "", options, where,
                                site=site, on_progress=_say)
            click.echo(f"published run {run_id}: collection {sent['id']} at {sent['url']} "
                       f"({len(sent['images'])} maps)")
    except ServiceError as exc:
        raise fail(exc) from exc
    except PublishError as exc:
        raise click.ClickException(f"publishing run {run_id} failed: {exc}") from exc
