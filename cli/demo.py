"""``manage.py demo``: the whole journey on real bundled data, on the embedded database."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from importlib.resources import files

import click
from rich.console import Console
from rich.table import Table

from analysis.demo import DemoSummary, run_demo_meta_analysis
from cli.demo_api import running_api, show_requests
from cli.runtime import Runtime, pass_runtime
from cli.users import signin_url
from ingest.demo import ingest_bundled_sample
from neurostore import migrate
from neurostore.services.actors import Actor
from neurostore.services.errors import NotFound
from neurostore.services.history import Provenance
from neurostore.services.nimads import import_studyset
from neurostore.vocabulary import Role

DEMO_USER = "demo|local"


def _example(name: str) -> dict:
    return json.loads(files("neurostore.examples").joinpath(name).read_text())


def _demo_actor(rt: Runtime) -> Actor:
    try:
        found = rt.services.users.find(DEMO_USER)
    except NotFound:
        found = rt.services.users.create(Actor.system(), name="Demo Curator", external_id=DEMO_USER,
                                         role=Role.CURATOR)
    return Actor(found["id"], found["role"])


@click.command()
@click.option("--serve", "keep_serving", is_flag=True,
              help="Keep serving the API at the end (Ctrl-C to stop).")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="API port (default: a free one).")
@click.option("--n-iters", type=click.IntRange(min=10), default=1000, show_default=True,
              help="Monte Carlo iterations of the demo's FWE correction.")
@pass_runtime
def demo(rt: Runtime, keep_serving: bool, port: int, n_iters: int) -> None:
    """The whole journey on real bundled data.

    Starts the database, loads real NIMADS studies, curates one and shows its history, then
    serves the API and runs typical client calls against it.
    """
    # Piped output (CI logs, files) gets a width that fits the tables instead of 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 120)
    where = "DATABASE_URL" if rt.settings.database_url else f"embedded ({rt.settings.data_dir})"
    with console.status("starting PostgreSQL and migrating ..."):
        migrate.upgrade(rt.url)
    console.print(f"[bold]database[/] {where}: schema at head")
    actor = _demo_actor(rt)

    with console.status("importing the bundled NIMADS studyset and annotation ..."):
        result = import_studyset(
            rt.services, actor, _example("nimads_studyset.json"),
            _example("nimads_annotation.json"),
            provenance=Provenance(message="demo: import bundled NIMADS example"),
        )
    n_points = sum(len(a["points"]) for s in result.studies for a in s.state["analyses"])
    console.print(
        f"[bold]imported[/] studyset {result.studyset.id}: {len(result.studies)} studies, "
        f"{len(result.analysis_ids)} analyses, {n_points} peaks; annotation "
        f"{result.annotation.id if result.annotation else '-'}"
    )

    study = next(s for s in result.studies if s.state["analyses"])
    _curate(rt, actor, study.id)
    _print_history(console, rt, actor, study.id)

    with console.status("ingesting the bundled NeuroQuery, Neurosynth and Sleuth samples ..."):
        runs = ingest_bundled_sample(rt.services, rt.settings.data_dir)
    _print_ingest(console, runs)

    with running_api(rt, port=port) as base:
        show_requests(console, rt, actor, base, study.id)
        with console.status(f"snapshot, exports, and ALE + FWE ({n_iters} iterations) on a "
                            "worker ..."):
            summary = run_demo_meta_analysis(
                rt.services, rt.settings, result.studyset.id,
                result.annotation.id if result.annotation else None, actor,
                include="include", n_iters=n_iters,
            )
        _print_meta_analysis(console, summary)
        link = signin_url(rt, DEMO_USER, base, next_path=f"/meta-analyses/{summary.run_id}")
        console.print(f"[bold]web[/] {base}/  signed in as the demo curator: {link}",
                      soft_wrap=True)
        if not keep_serving:
            console.print("  (the demo stops serving now: `./dev demo --serve --port 8000` "
                          "keeps the pages and the API up)")
        if keep_serving:
            console.print(f"serving on {base}/api until Ctrl-C")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()


def _curate(rt: Runtime, actor: Actor, study_id: str) -> None:
    studies = rt.services.studies
    current = studies.get(actor, study_id)
    analyses = current.state["analyses"]
    fixed = dict(analyses[0], points=[dict(p) for p in analyses[0]["points"]])
    x, y, z = fixed["points"][0]["coordinates"]
    fixed["points"][0]["coordinates"] = [x, y, z + 2.0]
    step = studies.update(actor, study_id, {"analyses": [fixed, *analyses[1:]]},
                          if_match=current.version,
                          provenance=Provenance(message="fix a mistyped z coordinate"))
    step = studies.update(actor, study_id, {"metadata": {**(step.state["metadata"] or {}),
                                                         "sample_size": 12}},
                          if_match=step.version,
                          provenance=Provenance(message="add the sample size from the methods"))
    studies.revert(actor, study_id, 2, if_match=step.version,
                   provenance=Provenance(message="the sample size was wrong: undo"))


def _print_meta_analysis(console: Console, summary: DemoSummary) -> None:
    console.print(f"[bold]snapshot[/] {summary.snapshot_id}")
    for name, path in summary.exports.items():
        console.print(f"  export {name:8} {path}")
    console.print(f"[bold]meta-analysis[/] run {summary.run_id}: {summary.status} in "
                  f"{summary.seconds:.1f} s")
    for name, path in summary.maps.items():
        console.print(f"  map     {name:40} {path}", soft_wrap=True)
    for name, path in summary.pictures.items():
        console.print(f"  picture {name:40} {path}", soft_wrap=True)
    if summary.clusters:
        table = Table(title="clusters")
        for col in summary.clusters[0]:
            table.add_column(str(col))
        for row in summary.clusters[:10]:
            table.add_row(*(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()))
        console.print(table)
    if summary.methods:
        console.print(summary.methods, soft_wrap=True)


def _print_ingest(console: Console, runs: dict[str, dict]) -> None:
    table = Table(title="ingestion runs (a re-run changes nothing)")
    for col in ("source", "run", "status", "created", "updated", "unchanged", "skipped",
                "seconds"):
        table.add_column(col)
    for source, run in runs.items():
        table.add_row(source, str(run.get("run_id", run.get("id", ""))), str(run.get("status")),
                      *(str(run.get(k, 0)) for k in ("created", "updated", "unchanged",
                                                      "skipped")),
                      f"{run.get('seconds', 0):.1f}")
    console.print(table)


def _print_history(console: Console, rt: Runtime, actor: Actor, study_id: str) -> None:
    table = Table(title=f"history of study {study_id}")
    for col in ("version", "action", "when", "message", "changes"):
        table.add_column(col)
    for rev in rt.services.studies.revisions(actor, study_id):
        full = rt.services.studies.revision(actor, study_id, rev["version"])
        changes = ", ".join(sorted({op["path"] for op in full["diff"]})) or "-"
        table.add_row(str(rev["version"]), rev["action"], rev["created_at"][:19],
                      rev["message"] or "", changes[:60])
    console.print(table)
