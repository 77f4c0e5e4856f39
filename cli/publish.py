"""``manage.py analysis publish`` and ``manage.py terms publish``: a finished run's maps, or
a term's maps, out to NeuroVault, as a bundle written here or uploaded from this process with
the user's NeuroVault API token."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from analysis.publish import publish_here
from cli.export import acting_user
from cli.runtime import Runtime, fail, pass_runtime
from ingest.neurovault.upload import PublishError
from neurostore.services.errors import ServiceError
from neurostore.services.neurovault import Claim


def _write_bundle(bundle: tuple[str, Iterator[bytes]], path: Path) -> None:
    name, chunks = bundle
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


def publish_options(command: Any) -> Any:
    """The options both publish commands take (what to do, the token, the collection's)."""
    for option in reversed([
        click.option("--bundle", "bundle_path",
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Write an upload-ready bundle (a zip) to this file."),
        click.option("--neurovault", is_flag=True,
                     help="Upload the maps to NeuroVault (NEUROSTORE_NEUROVAULT_PUBLISH_URL, "
                          "default https://neurovault.org) with your API token."),
        click.option("--token", envvar="NEUROVAULT_TOKEN", show_envvar=True,
                     help="Your NeuroVault API token (better from the environment than typed "
                          "here)."),
        click.option("--name", help="The collection's name (unique on NeuroVault); default: "
                                    "one naming what is published."),
        click.option("--private", is_flag=True, help="Make the collection private."),
        click.option("--cogatlas", "cognitive_paradigm_cogatlas", metavar="TASK_ID",
                     help="The task as a Cognitive Atlas id (e.g. trm_4f24126c22011)."),
        click.option("--site", metavar="URL",
                     help="This store's public address, for the links back to it."),
        click.option("--as", "as_user", required=True,
                     help="Id or external id of the user acting."),
    ]):
        command = option(command)
    return command


def _publish(rt: Runtime, what: str, args: dict[str, Any],
             bundle: Callable[[Any, dict[str, Any], str | None], tuple[str, Iterator[bytes]]],
             start: Callable[[Any, dict[str, Any], str | None], Claim]) -> None:
    """Write the bundle and/or upload, as the options say (``what`` names it in messages)."""
    bundle_path, neurovault, token = args["bundle_path"], args["neurovault"], args["token"]
    if bundle_path is None and not neurovault:
        raise click.UsageError("say what to do: --bundle PATH, --neurovault, or both")
    if neurovault and not token:
        raise click.UsageError("--neurovault needs your NeuroVault API token: set "
                               "NEUROVAULT_TOKEN or give --token")
    options: dict[str, Any] = {"private": args["private"]}
    for key in ("name", "cognitive_paradigm_cogatlas"):
        if args[key] is not None:
            options[key] = args[key]
    actor = acting_user(rt, args["as_user"])
    site = args["site"]
    try:
        if bundle_path is not None:
            _write_bundle(bundle(actor, options, site), bundle_path)
        if neurovault:
            where = rt.settings.neurovault_publish_url
            click.echo(f"publishing {what} to NeuroVault at {where}")
            sent = publish_here(rt.services, start(actor, options, site), token or "", where,
                                on_progress=_say)
            click.echo(f"published {what}: collection {sent['id']} at {sent['url']} "
                       f"({len(sent['images'])} maps)")
    except ServiceError as exc:
        raise fail(exc) from exc
    except PublishError as exc:
        raise click.ClickException(f"publishing {what} failed: {exc}") from exc


@click.command("publish")
@click.argument("run_id")
@publish_options
@pass_runtime
def publish(rt: Runtime, run_id: str, **args: Any) -> None:
    """Publish the maps of a finished meta-analysis RUN_ID as a NeuroVault collection.

    Publishing the same run again updates its collection and images instead of making new
    ones. The token is used by this process only and never stored.
    """
    publications = rt.services.neurovault
    _publish(rt, f"run {run_id}", args,
             lambda actor, options, site: publications.bundle(actor, run_id, options,
                                                              site=site),
             lambda actor, options, site: publications.start(actor, run_id, options,
                                                             site=site))


@click.command("publish")
@click.argument("term")
@click.option("--feature-set", help="Id, id prefix or name (default: the newest term maps).")
@publish_options
@pass_runtime
def publish_term(rt: Runtime, term: str, feature_set: str | None, **args: Any) -> None:
    """Publish the maps of TERM (or a boolean expression of terms) as a NeuroVault
    collection.

    Publishing the same term of the same build again updates your collection and images
    instead of making new ones. The token is used by this process only and never stored.
    """
    publications = rt.services.neurovault
    _publish(rt, f"term {term!r}", args,
             lambda actor, options, site: publications.term_bundle(
                 actor, term, options, feature_set=feature_set, site=site),
             lambda actor, options, site: publications.term_start(
                 actor, term, options, feature_set=feature_set, site=site))
