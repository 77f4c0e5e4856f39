"""``manage.py features``, ``terms``, ``decode`` and ``neuroquery``: build feature sets, term
maps and text-to-brain models (on the workers, or here with ``--inline``) and read them."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from analysis import termbuild
from cli.export import OPERATOR
from cli.publish import publish_term
from cli.runtime import Runtime, fail, pass_runtime
from neurostore.services.errors import ServiceError
from neurostore.vocabulary import FINISHED_STATUSES, RunStatus, TermBuildKind, TextKind, values

#: Seconds between two looks at a build being waited for.
POLL = 1.0


def _describe(build: dict[str, Any]) -> str:
    lines = [f"build {build['id']} ({build['kind']}): {build['status']}"]
    if build["feature_set"]:
        lines.append(f"  feature set: {build['feature_set']}")
    if build["error"]:
        lines.append(f"  error: {build['error']}")
    result = build["result"] or {}
    lines.extend(f"  {key}: {value}" for key, value in sorted(result.items())
                 if key not in ("files", "feature_set") and not isinstance(value, dict | list))
    return "\n".join(lines)


def _run(rt: Runtime, kind: str, parameters: dict[str, Any], inline: bool,
         wait: bool) -> dict[str, Any]:
    """Ask for a build, run it here or wait for a worker, print it; exit 1 if it failed."""
    terms = rt.services.terms
    try:
        build = terms.request(OPERATOR, kind, parameters)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(f"queued build {build['id']} ({kind})", err=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    if inline:
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("starting", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total)

            # A failure is recorded on the build, printed below.
            with contextlib.suppress(Exception):
                termbuild.execute(rt.services, build["id"], progress=progress)
    elif wait:
        while (build := terms.get_build(OPERATOR, build["id"]))["status"] not in (
                FINISHED_STATUSES):
            time.sleep(POLL)
    build = terms.get_build(OPERATOR, build["id"])
    click.echo(_describe(build))
    if build["status"] == RunStatus.FAILED:
        raise SystemExit(1)
    return build


def _put(rt: Runtime, path: Path) -> str:
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
    return rt.services.terms.files.put_file(path, suffix)


RUN_OPTIONS = (
    click.option("--inline", is_flag=True, help="Build here instead of on a worker."),
    click.option("--wait", is_flag=True, help="Wait until a worker has built it."),
)


def run_options(command: Any) -> Any:
    """The --inline and --wait options of every build command."""
    for option in reversed(RUN_OPTIONS):
        command = option(command)
    return command


FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def features() -> None:
    """Feature sets: studies x terms weights, from a release's matrix or the store's texts."""


@features.command("import")
@click.argument("name")
@click.option("--matrix", type=FILE, required=True,
              help="scipy sparse .npz, studies x terms (e.g. NeuroQuery's keyword counts).")
@click.option("--ids", type=FILE, required=True,
              help="TSV (gzipped or not) whose `id` column names each row by PMID.")
@click.option("--vocabulary", type=FILE, required=True, help="One term per line.")
@click.option("--weighting", type=click.Choice(["tfidf", "none"]), default="tfidf",
              show_default=True, help="tfidf: NeuroQuery's tf-idf of counts; none: as given.")
@run_options
@pass_runtime
def import_features(rt: Runtime, name: str, matrix: Path, ids: Path, vocabulary: Path,
                    weighting: str, inline: bool, wait: bool) -> None:
    """Build feature set NAME from a release's studies x terms matrix."""
    files = {"matrix": _put(rt, matrix), "ids": _put(rt, ids),
             "vocabulary": _put(rt, vocabulary)}
    _run(rt, TermBuildKind.FEATURES, {"name": name, "from": "matrix", "files": files,
                                      "weighting": weighting, "vocabulary": vocabulary.stem},
         inline, wait)


@features.command("build")
@click.argument("name")
@click.option("--vocabulary", type=FILE, required=True, help="One term per line.")
@click.option("--kinds", default="title,abstract,keywords", show_default=True,
              help=f"Texts to use, comma-separated, of: {', '.join(values(TextKind))}.")
@run_options
@pass_runtime
def build_features(rt: Runtime, name: str, vocabulary: Path, kinds: str, inline: bool,
                   wait: bool) -> None:
    """Build feature set NAME (tf-idf) from the texts in the store, with NeuroQuery's
    tokenizer on a vocabulary."""
    _run(rt, TermBuildKind.FEATURES, {
        "name": name, "from": "texts", "files": {"vocabulary": _put(rt, vocabulary)},
        "kinds": [k.strip() for k in kinds.split(",") if k.strip()],
        "vocabulary": vocabulary.stem}, inline, wait)


@features.command("list")
@pass_runtime
def list_features(rt: Runtime) -> None:
    """List the feature sets, newest first."""
    for row in rt.services.terms.feature_sets():
        click.echo(f"{row['id'][:12]}  {row['name']}  {row['n_studies']} studies x "
                   f"{row['n_terms']} terms ({row['weighting']}, {row['nnz']} weights)")


@click.group()
def terms() -> None:
    """Term-based meta-analyses: build every term's maps, list terms, show one, publish
    one's maps to NeuroVault."""


terms.add_command(publish_term)


FEATURE_SET = click.option("--feature-set", help="Id, id prefix or name (default: newest).")


@terms.command("build")
@FEATURE_SET
@click.option("--min-studies", type=click.IntRange(min=1), default=50, show_default=True,
              help="Build the maps of terms selecting at least this many studies.")
@click.option("--threshold", type=click.FloatRange(min=0, min_open=True), default=0.001,
              show_default=True, help="Weight from which a term selects a study.")
@click.option("--source", help="Prefer this source's coordinates (e.g. neurosynth).")
@run_options
@pass_runtime
def build_terms(rt: Runtime, feature_set: str | None, min_studies: int, threshold: float,
                source: str | None, inline: bool, wait: bool) -> None:
    """Compute the MKDA chi-square maps of every term of a feature set."""
    params = {"feature_set": feature_set, "min_studies": min_studies,
              "threshold": threshold, "source": source}
    _run(rt, TermBuildKind.TERM_MAPS, {k: v for k, v in params.items() if v is not None},
         inline, wait)


@terms.command("list")
@FEATURE_SET
@click.option("--search", help="Terms containing this text.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@pass_runtime
def list_terms(rt: Runtime, feature_set: str | None, search: str | None, limit: int) -> None:
    """List terms with their number of studies (* when their maps are built)."""
    try:
        found = rt.services.terms.terms(feature_set=feature_set, search=search, limit=limit)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(f"{found['count']} terms (build {found['build']})")
    for row in found["results"]:
        click.echo(f"{'*' if row['maps'] else ' '} {row['n_studies']:6d}  {row['term']}")


@terms.command("show")
@click.argument("term")
@FEATURE_SET
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write every map of the term (NIfTI) into this folder.")
@pass_runtime
def show_term(rt: Runtime, term: str, feature_set: str | None, out: Path | None) -> None:
    """Show a term or boolean expression: studies, related terms; --out writes its maps."""
    service = rt.services.terms
    try:
        found = service.term(term, feature_set=feature_set, top=10)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for name in found["maps"]:
                (out / f"{name}.nii.gz").write_bytes(
                    service.term_map(term, name, feature_set=feature_set))
    except ServiceError as exc:
        raise fail(exc) from exc
    kind = "expression" if found["expression"] else "term"
    click.echo(f"{kind} {found['term']!r}: {found['n_studies']} studies")
    click.echo("top studies:")
    for s in found["top_studies"]:
        click.echo(f"  {s['id']}  {s['weight']:.4f}  {s['name'] or ''}")
    click.echo("related terms: " + ", ".join(
        f"{r['term']} ({r['r']:.2f})" for r in found["related_terms"]))
    if out is not None:
        click.echo(f"maps written to {out}")


@click.command()
@click.argument("file", type=FILE, required=False)
@click.option("--coordinates", multiple=True, metavar="X,Y,Z",
              help="Decode the studies with foci near these MNI points (repeat).")
@click.option("--radius", type=float, default=6.0, show_default=True, help="mm.")
@click.option("--roi", is_flag=True, help="FILE is a region (non-zero voxels), not a map.")
@click.option("--method", type=click.Choice(["neurosynth", "brainmap"]), default="neurosynth",
              show_default=True, help="Decoder of a region.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True)
@FEATURE_SET
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead.")
@pass_runtime
def decode(rt: Runtime, file: Path | None, coordinates: tuple[str, ...], radius: float,
           roi: bool, method: str, top: int, feature_set: str | None, as_json: bool) -> None:
    """Rank terms for a map FILE (by correlation with every term map), or for a region
    (FILE with --roi, or --coordinates) by the Neurosynth or BrainMap decoder."""
    if (file is None) == (not coordinates):
        raise click.UsageError("give a FILE or --coordinates, not both")
    wanted: dict[str, Any] = {"top": top, "method": method}
    if file is not None:
        wanted["roi" if roi else "image"] = file.read_bytes()
    else:
        try:
            wanted["coordinates"] = [[float(v) for v in c.split(",")] for c in coordinates]
        except ValueError as exc:
            raise click.BadParameter("expected X,Y,Z in mm", param_hint="--coordinates") \
                from exc
        wanted["radius"] = radius
    try:
        decoded = rt.services.terms.decode(wanted, feature_set=feature_set)
    except ServiceError as exc:
        raise fail(exc) from exc
    if as_json:
        click.echo(json.dumps(decoded, indent=2))
        return
    if decoded["method"] == "correlation":
        for row in decoded["terms"]:
            click.echo(f"{row['r'] if row['r'] is not None else float('nan'):7.3f}  {row['term']}")
        return
    click.echo(f"{decoded['n_studies_selected']} studies in the region ({decoded['method']})")
    for row in decoded["terms"]:
        click.echo(f"{row['probReverse'] or 0:7.3f}  {row['term']}")


@click.group()
def neuroquery() -> None:
    """NeuroQuery text-to-brain maps: fit the model on a feature set, ask it a text."""


@neuroquery.command("fit")
@FEATURE_SET
@click.option("--voxel-size", type=click.FloatRange(2, 10), default=4.0, show_default=True,
              help="mm (NeuroQuery's published model uses 4).")
@click.option("--fwhm", type=click.FloatRange(1, 30), default=9.0, show_default=True,
              help="Smoothing of the foci, mm.")
@click.option("--source", help="Prefer this source's coordinates (e.g. neuroquery).")
@run_options
@pass_runtime
def fit(rt: Runtime, feature_set: str | None, voxel_size: float, fwhm: float,
        source: str | None, inline: bool, wait: bool) -> None:
    """Fit NeuroQuery's model (the neuroquery package's) on a feature set and the store's
    coordinates."""
    params = {"feature_set": feature_set, "voxel_size": voxel_size, "fwhm": fwhm,
              "source": source}
    _run(rt, TermBuildKind.TEXT_MODEL, {k: v for k, v in params.items() if v is not None},
         inline, wait)


@neuroquery.command("query")
@click.argument("text")
@FEATURE_SET
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the predicted z map here (NIfTI, .nii.gz).")
@click.option("--top", type=click.IntRange(min=1, max=100), default=10, show_default=True)
@pass_runtime
def query(rt: Runtime, text: str, feature_set: str | None, out: Path | None,
          top: int) -> None:
    """Print the terms NeuroQuery reads in TEXT, similar terms and studies; --out writes
    the predicted map."""
    try:
        answer = rt.services.terms.text_query(text, feature_set=feature_set, top=top)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo("terms: " + ", ".join(f"{t['term']} ({t['weight']:.2f})"
                                     for t in answer["terms"]))
    click.echo("similar terms: " + ", ".join(t["term"] for t in answer["similar_terms"]))
    click.echo("similar studies:")
    for s in answer["similar_studies"]:
        click.echo(f"  {s['id']}  {s['similarity']:.3f}  {s['name'] or ''}")
    if out is not None:
        out.write_bytes(answer["map"])
        click.echo(f"map written to {out}")
