"""``manage.py analysis``: run meta-analyses of snapshots and follow them."""

from __future__ import annotations

import json
import time

import click

from analysis.runner import execute
from analysis.runspec import ESTIMATORS
from cli.export import OPERATOR, acting_user
from cli.runtime import Runtime, fail, pass_runtime
from neurostore.services.errors import ServiceError

FINISHED = ("succeeded", "failed", "cancelled")


def _pairs(values: tuple[str, ...], option: str) -> dict:
    """``key=value`` options as a dict; values are read as JSON when they parse."""
    out = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint=option)
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _describe(rt: Runtime, run: dict) -> str:
    lines = [f"run {run['id']}: {run['estimator']} on snapshot {run['snapshot'][:12]}... "
             f"{run['status']} (attempt {run['attempts']})", f"  progress: {run['progress']}"]
    if run["error"]:
        lines.append(f"  error: {run['error']}")
    results = run["results"] or {}
    files = rt.services.snapshots.files
    for title, key in (("pictures", "pictures"), ("maps", "maps")):
        for name, file in sorted(results.get(key, {}).items()):
            lines.append(f"  {title[:-1]} {name}: {files.path(file)}")
    if results:
        lines.append(f"  clusters ({len(results['clusters'])}): "
                     f"{files.path(results['clusters_file'])}")
        lines.append(f"  methods: {files.path(results['methods_file'])}")
        excluded = results.get("excluded") or []
        lines.append(f"  experiments: {results['n_experiments']} used, {len(excluded)} left out")
        lines.extend(f"    left out {e['experiment']}: {e['reason']}" for e in excluded[:20])
        if len(excluded) > 20:
            lines.append(f"    ... and {len(excluded) - 20} more (see the run's results)")
    return "\n".join(lines)


@click.group()
def analysis() -> None:
    """Run meta-analyses of snapshots (on the workers, or here with --inline)."""


@analysis.command("run")
@click.argument("snapshot")
@click.option("--estimator", type=click.Choice(list(ESTIMATORS)), default="ALE",
              show_default=True)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Estimator parameter (repeat); see GET /api/meta-analyses/estimators.")
@click.option("--correction", default="none", show_default=True,
              help="none, fdr, bonferroni or montecarlo.")
@click.option("--correction-param", "correction_params", multiple=True, metavar="KEY=VALUE",
              help="Correction parameter (repeat), e.g. n_iters=1000 seed=0.")
@click.option("--as", "as_user", required=True, help="Id or external id of the user acting.")
@click.option("--inline", is_flag=True, help="Run it in this process instead of a worker.")
@click.option("--wait", is_flag=True, help="Wait until the run has finished.")
@pass_runtime
def run(rt: Runtime, snapshot: str, estimator: str, params: tuple[str, ...], correction: str,
        correction_params: tuple[str, ...], as_user: str, inline: bool, wait: bool) -> None:
    """Ask for a meta-analysis of SNAPSHOT and print the run (and its results when done)."""
    spec = {"snapshot": snapshot, "estimator": estimator,
            "parameters": _pairs(params, "--param"),
            "correction": {"method": correction,
                           **_pairs(correction_params, "--correction-param")}}
    runs = rt.services.analysis_runs
    try:
        created = runs.create(acting_user(rt, as_user), spec)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(f"queued run {created['id']}")
    if inline:
        try:
            execute(rt.services, created["id"])
        except Exception as exc:  # noqa: BLE001 - the run row already records the failure
            click.echo(f"run {created['id']} failed: {exc}", err=True)
            click.echo(_describe(rt, runs.get(OPERATOR, created["id"])))
            raise SystemExit(1) from exc
    while wait and not inline and runs.get(OPERATOR, created["id"])["status"] not in FINISHED:
        time.sleep(1.0)
    click.echo(_describe(rt, runs.get(OPERATOR, created["id"])))


@analysis.command("status")
@click.argument("run_id")
@pass_runtime
def status(rt: Runtime, run_id: str) -> None:
    """Print a run's status, progress and result files."""
    try:
        found = rt.services.analysis_runs.get(OPERATOR, run_id)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(_describe(rt, found))


@analysis.command("cancel")
@click.argument("run_id")
@click.option("--as", "as_user", required=True, help="Id or external id of the user acting.")
@pass_runtime
def cancel(rt: Runtime, run_id: str, as_user: str) -> None:
    """Cancel a queued or running run."""
    try:
        done = rt.services.analysis_runs.cancel(acting_user(rt, as_user), run_id)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(f"run {run_id}: {done['status']}")
