"""``manage.py analysis``: list the estimators, run meta-analyses of snapshots, follow them,
publish their maps to NeuroVault."""

from __future__ import annotations

import json
import time

import click

from analysis.runcatalogue import catalogue
from analysis.runner import execute
from analysis.runspec import ESTIMATORS
from analysis.tasks import STALLED_AFTER
from cli.export import OPERATOR, acting_user
from cli.publish import publish
from cli.runtime import Runtime, fail, pass_runtime
from neurostore.jobs import live_workers
from neurostore.services.errors import ServiceError
from neurostore.vocabulary import FINISHED_STATUSES, RunStatus

#: Seconds between two looks at a run being waited for.
POLL = 1.0


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


def _groups(column: str | None, values: tuple[str, str] | None,
            snapshot: str | None) -> dict | None:
    """The spec's ``groups`` from the --groups-* options (None when none is given)."""
    if values and not column:
        raise click.UsageError("--groups-values needs --groups-column")
    if column is not None and snapshot is not None:
        raise click.UsageError("give --groups-column or --groups-snapshot, not both")
    if snapshot is not None:
        return {"snapshot": snapshot}
    if column is None:
        return None
    if not values:
        return {"column": column}
    return {"column": column, "values": [_pairs((f"v={v}",), "--groups-values")["v"]
                                         for v in values]}


def _describe(rt: Runtime, run: dict) -> str:
    lines = [f"run {run['id']}: {run['estimator']} on snapshot {run['snapshot'][:12]}... "
             f"{run['status']} (attempt {run['attempts']})", f"  progress: {run['progress']}"]
    if run["error"]:
        lines.append(f"  error: {run['error']}")
    results = run["results"] or {}
    files = rt.services.snapshots.files
    for title, key in (("pictures", "pictures"), ("maps", "maps")):
        for name, file in sorted(results.get(key, {}).items()):
            lines.append(f"  {title[:-1]} {name}: {files.location(file)}")
    if results:
        where = "; ".join(f"{part['clusters']} where {part['criterion']} ({part['map']})"
                          for part in results.get("cluster_tables", []))
        if where:
            where = f": {where}, at least {results.get('min_cluster_size', 1)} voxels"
        lines.append(f"  clusters ({len(results['clusters'])}{where}): "
                     f"{files.location(results['clusters_file'])}")
        lines.append(f"  methods: {files.location(results['methods_file'])}")
        excluded = results.get("excluded") or []
        lines.append(f"  experiments: {results['n_experiments']} used, {len(excluded)} left out")
        lines.extend(f"    left out {e['experiment']}: {e['reason']}" for e in excluded[:20])
        if len(excluded) > 20:
            lines.append(f"    ... and {len(excluded) - 20} more (see the run's results)")
    return "\n".join(lines)


def _unclaimed(rt: Runtime, run_id: str, waited: float) -> str:
    """Why a run may still be queued after ``waited`` seconds, and what to do about it."""
    live = live_workers(rt.engine, STALLED_AFTER)
    if live:
        why = (f"{live} worker{'s are' if live > 1 else ' is'} running, but busy or not taking"
               " the analysis queue")
    else:
        why = f"no worker is running (none has sent a heartbeat in the last {STALLED_AFTER:g} s)"
    return (f"run {run_id}: no worker has claimed it after {waited:g} s; {why}.\n"
            "  Start one with `python manage.py worker --queues analysis`, on the same"
            " DATABASE_URL and NEUROSTORE_DATA_DIR (or use --inline to run it here).\n"
            "  Still waiting (Ctrl-C stops waiting; the run stays queued).")


def _wait(rt: Runtime, run_id: str, warn_after: float) -> None:
    """Poll a run until it has finished, saying once if no worker claims it in time."""
    runs = rt.services.analysis_runs
    started = time.monotonic()
    warned = False
    while (found := runs.get(OPERATOR, run_id))["status"] not in FINISHED_STATUSES:
        pause = POLL
        if not warned and found["status"] == RunStatus.QUEUED:
            waited = time.monotonic() - started
            if waited >= warn_after:
                click.echo(_unclaimed(rt, run_id, round(waited, 1)), err=True)
                warned = True
            else:
                # Wake up in time for the warning: a short --warn-after must be honoured.
                pause = min(POLL, warn_after - waited)
        time.sleep(pause)


def _value(value: object) -> str:
    """A value as it is written in ``--param KEY=VALUE`` (JSON, strings bare)."""
    return value if isinstance(value, str) else json.dumps(value)


def _number(value: float | int, kind: str) -> str:
    return str(value) if kind == "int" else f"{value:g}"


def _param_lines(params: list[dict], indent: str) -> list[str]:
    """Two lines per parameter: name, type, default and allowed values; its description."""
    lines = []
    for p in params:
        kind = p["type"] + (" or null" if p["nullable"] else "")
        allowed = ""
        if "choices" in p:
            allowed = f", one of {', '.join(p['choices'])}"
        elif "minimum" in p:
            allowed = (f", from {_number(p['minimum'], p['type'])}"
                       f" to {_number(p['maximum'], p['type'])}")
        lines.append(f"{indent}{p['name']}: {kind}, default {_value(p['default'])}{allowed}")
        lines.append(f"{indent}  {p['description']}")
    return lines


def _catalogue_text(listed: dict) -> str:
    """The estimators and corrections of :func:`analysis.runcatalogue.catalogue`, for people."""
    lines = ["Estimators (--estimator NAME --param KEY=VALUE; values are read as JSON: null,"
             " true, 8.5):"]
    for e in listed["estimators"]:
        images = f" ({', '.join(e['images'])} maps)" if e["images"] else ""
        lines += ["", f"{e['name']}: {e['description']}", f"  inputs: {e['inputs']}{images}"]
        if e["parameters"]:
            lines += ["  parameters:", *_param_lines(e["parameters"], "    ")]
        else:
            lines.append("  parameters: none")
        if e["groups"]:
            lines.append("  groups: two (--groups-column COLUMN [--groups-values A B], or "
                         "--groups-snapshot SNAPSHOT2)")
        lines.append(f"  corrections: {', '.join(e['corrections'])}")
    lines += ["", "Corrections (--correction METHOD --correction-param KEY=VALUE):"]
    for method, params in listed["corrections"].items():
        if params:
            lines += [f"  {method}:", *_param_lines(params, "    ")]
        else:
            lines.append(f"  {method}: no parameters")
    lines += ["", "Report, any estimator (--report-param KEY=VALUE; changes no map):",
              *_param_lines(listed["report"], "  ")]
    return "\n".join(lines)


@click.group()
def analysis() -> None:
    """Run meta-analyses of snapshots (on the workers, or here with --inline); list the
    estimators they can use."""


@analysis.command("run")
@click.argument("snapshot")
@click.option("--estimator", type=click.Choice(list(ESTIMATORS)), default="ALE",
              show_default=True)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Estimator parameter (repeat); see `manage.py analysis estimators`.")
@click.option("--correction", default="none", show_default=True,
              help="none, fdr, bonferroni or montecarlo.")
@click.option("--correction-param", "correction_params", multiple=True, metavar="KEY=VALUE",
              help="Correction parameter (repeat), e.g. n_iters=1000 seed=0.")
@click.option("--report-param", "report_params", multiple=True, metavar="KEY=VALUE",
              help="How results are reported (repeat), e.g. min_cluster_size=10 (voxels).")
@click.option("--groups-column", metavar="COLUMN",
              help="Two-group estimators: split SNAPSHOT by this annotation column.")
@click.option("--groups-values", nargs=2, metavar="VALUE1 VALUE2",
              help="With --groups-column: the values of group 1 and group 2, read as JSON "
                   "(default for a boolean column: true false).")
@click.option("--groups-snapshot", metavar="SNAPSHOT2",
              help="Two-group estimators: group 2 is this snapshot, group 1 SNAPSHOT.")
@click.option("--as", "as_user", required=True, help="Id or external id of the user acting.")
@click.option("--inline", is_flag=True, help="Run it in this process instead of a worker.")
@click.option("--wait", is_flag=True, help="Wait until the run has finished.")
@click.option("--warn-after", type=click.FloatRange(min=0), default=5.0, show_default=True,
              metavar="SECONDS",
              help="With --wait: say on stderr when no worker has taken the run by then.")
@pass_runtime
def run(rt: Runtime, snapshot: str, estimator: str, params: tuple[str, ...], correction: str,
        correction_params: tuple[str, ...], report_params: tuple[str, ...],
        groups_column: str | None, groups_values: tuple[str, str] | None,
        groups_snapshot: str | None, as_user: str, inline: bool, wait: bool,
        warn_after: float) -> None:
    """Ask for a meta-analysis of SNAPSHOT and print the run (and its results when done).

    MKDAChi2 and ALESubtraction compare two groups: SNAPSHOT split by an annotation column
    (--groups-column, --groups-values), or SNAPSHOT against a second one (--groups-snapshot).
    """
    spec = {"snapshot": snapshot, "estimator": estimator,
            "parameters": _pairs(params, "--param"),
            "correction": {"method": correction,
                           **_pairs(correction_params, "--correction-param")},
            "report": _pairs(report_params, "--report-param")}
    groups = _groups(groups_column, groups_values, groups_snapshot)
    if groups is not None:
        spec["groups"] = groups
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
    if wait and not inline:
        _wait(rt, created["id"], warn_after)
    click.echo(_describe(rt, runs.get(OPERATOR, created["id"])))


@analysis.command("estimators")
@click.option("--json", "as_json", is_flag=True,
              help="Print GET /api/meta-analyses/estimators's JSON instead.")
def estimators(as_json: bool) -> None:
    """List the estimators: inputs, parameters (type, default, range) and corrections."""
    listed = catalogue()
    click.echo(json.dumps(listed, indent=2) if as_json else _catalogue_text(listed))


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


analysis.add_command(publish)
