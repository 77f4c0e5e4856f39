"""Carry out one meta-analysis run: claim it, fit, store every output, finish it once.

The run row is written only through the claim taken at the start (see
:mod:`neurostore.services.analysis_runs`): when the run is cancelled, or another worker
took it over after this one was presumed dead, the next progress report fails and the run
is abandoned without storing anything. Output files are content-addressed, so an attempt
that dies half-way leaves nothing that a later attempt would duplicate.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import logging
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib import metadata
from typing import Any

import numpy as np

from analysis.meta import Mask, MetaAnalysisInputError, NullCache
from analysis.meta.clusters import voxel_volume
from analysis.pictures import result_pictures
from analysis.report import cluster_rows, cluster_thresholds, clusters_tsv, report_text
from analysis.runinputs import coordinate_inputs, group_inputs, image_inputs, records
from analysis.runspec import ESTIMATORS, build, needs_sample_sizes, report_options
from neurostore.snapshot import SnapshotError
from neurostore.vocabulary import RunStatus

LOG = logging.getLogger(__name__)

#: How a Monte Carlo correction names its three nulls in ``null_distributions``.
NULL_NAMES = {"stat": "_level-voxel_corr-fwe_method-montecarlo",
              "size": "_desc-size_level-cluster_corr-fwe_method-montecarlo",
              "mass": "_desc-mass_level-cluster_corr-fwe_method-montecarlo"}


class RunAbandoned(Exception):
    """The run was cancelled or taken over: stop without storing anything."""


class Reporter:
    """Writes a run's progress through its claim; raises :class:`RunAbandoned` once lost."""

    def __init__(self, runs: Any, run_id: str, token: str) -> None:
        self.runs = runs
        self.run_id = run_id
        self.token = token

    def __call__(self, stage: str, **details: Any) -> None:
        """Record the current stage (and e.g. Monte Carlo iterations done)."""
        if not self.runs.report(self.run_id, self.token, {"stage": stage, **details}):
            raise RunAbandoned(self.run_id)


class ProgressCache:
    """A Monte Carlo null cache that reports the iterations done as nulls are found or made.

    Parameters
    ----------
    report : Reporter
    n_iters : int
        Iterations of the correction.
    inner : NullCache
        Where nulls are really kept.
    stored : callable, optional
        ``stored(key)``: the null an earlier run kept as its artifact, or None; asked when
        ``inner`` does not have it (another worker may have made it).
    """

    def __init__(self, report: Reporter, n_iters: int, inner: NullCache,
                 stored: Callable[[str], Any] | None = None) -> None:
        self.report = report
        self.n_iters = n_iters
        self.inner = inner
        self.stored = stored
        self.key: str | None = None
        self.source = "simulated"

    def get(self, key: str) -> Any:
        """Look the null up; report 0 (to be simulated) or all iterations (cached)."""
        self.key = key
        found = self.inner.get(key)
        if found is not None:
            self.source = "cache"
        elif self.stored is not None:
            found = self.stored(key)
            if found is not None:
                self.source = "earlier run"
                self.inner.put(key, found)
        done = self.n_iters if found is not None else 0
        self.report("monte carlo", iterations_done=done, iterations_total=self.n_iters,
                    cached=found is not None)
        return found

    def put(self, key: str, value: Any) -> None:
        """Keep a simulated null and report every iteration done."""
        self.inner.put(key, value)
        self.report("monte carlo", iterations_done=self.n_iters,
                    iterations_total=self.n_iters, cached=False)


def code_version() -> dict[str, Any]:
    """Version of this code: the package version and, in images, the build's commit."""
    try:
        version = metadata.version("neurostore")
    except metadata.PackageNotFoundError:
        version = None
    return {"neurostore": version, "build": os.environ.get("NEUROSTORE_CODE_VERSION"),
            "python": platform.python_version()}


def read_inputs(spec: dict[str, Any], snapshots: Any, snapshot_id: str) -> tuple:
    """The arguments of the ``fit`` of a validated ``spec`` on a stored snapshot."""
    return _inputs(spec, snapshots, snapshot_id, {})[0]


def _stored_null(services: Any, key: str) -> dict[str, np.ndarray] | None:
    name = services.analysis_runs.null_file(key)
    if name is None:
        return None
    # An earlier run's file may be unreadable here (another worker's local file store, a
    # damaged file): the null is then simulated again, never a reason to fail the run.
    try:
        # An npz is read by seeking: load a local copy, not the store's stream.
        with np.load(services.snapshots.files.path(name)) as stored:
            return null_from_artifact({n: stored[n] for n in stored.files})
    except (OSError, ValueError) as exc:
        LOG.warning("null distributions %s of an earlier run not read (%s); simulating",
                    name, exc)
        return None


def _inputs(spec: dict[str, Any], snapshots: Any, snapshot_id: str,
            timings: dict[str, float]) -> tuple:
    """The estimator's ``fit`` arguments, each group's experiment ids, the foci, and the
    experiments left out; ``timings`` gets the seconds spent reading the snapshot's header
    (``read_snapshot``) and streaming its studies into inputs (``build_inputs``)."""
    clock = time.perf_counter()
    estimator = ESTIMATORS[spec["estimator"]]
    frozen = snapshots.frozen(snapshot_id)
    timings["read_snapshot"] = time.perf_counter() - clock
    built = _build_inputs(estimator, spec, snapshots, frozen)
    timings["build_inputs"] = time.perf_counter() - clock - timings["read_snapshot"]
    return built


def _build_inputs(estimator: Any, spec: dict[str, Any], snapshots: Any, frozen: tuple
                  ) -> tuple:
    studies = records(*frozen)
    unknown_space = spec["parameters"].get("unknown_space")
    if estimator.pairwise:
        pair, groups, excluded = group_inputs(
            spec["groups"], studies, lambda other: records(*snapshots.frozen(other)),
            unknown_space)
        return pair, groups, sum(i.n_foci for i in pair), excluded
    if estimator.kind == "coordinates":
        inputs, excluded = coordinate_inputs(studies, unknown_space)
        return (inputs,), [list(inputs.experiment_ids)], inputs.n_foci, excluded
    with_n = needs_sample_sizes(estimator.name, spec["parameters"])
    inputs, used, excluded = image_inputs(studies, estimator.images, snapshots.files,
                                          Mask.default(), with_n)
    return (inputs,), [used], None, excluded


def _nifti(image: Any) -> bytes:
    # Level 6 (gzip's own default): level 9 took six times as long on MKDA's maps, for
    # files 5% smaller.
    return gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)


def _npz(arrays: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    np.savez_compressed(out, **arrays)
    return out.getvalue()


def null_from_artifact(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """The Monte Carlo null (``stat``, ``size``, ``mass``) in a run's null distributions.

    Returns None unless the arrays hold exactly one maximum-statistic, one cluster-size and
    one cluster-mass null (a two-group run's several nulls are not reused).
    """
    found = {}
    for part, suffix in NULL_NAMES.items():
        names = [n for n in arrays if n.endswith(suffix)]
        if len(names) != 1:
            return None
        found[part] = arrays[names[0]]
    return found


def store_outputs(result: Any, files: Any, report: dict[str, Any] | None = None,
                  timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Write every map, the pictures, the cluster table, the methods and the null
    distributions to the file store.

    Parameters
    ----------
    result : MetaResult
    files : FileStore
    report : dict, optional
        The spec's report options (:func:`analysis.runspec.report_options`).
    timings : dict, optional
        Filled with the seconds each part took (``maps``, ``pictures``, ``clusters``).

    Returns
    -------
    dict
        ``maps`` and ``pictures`` (name -> file), ``picture_thresholds`` (name -> the map,
        p map, alpha and smallest value shown), ``clusters`` (rows), ``cluster_tables``
        (the map, threshold, peak map and criterion of each contrast's part of the table,
        and its number of clusters), the first part's ``cluster_map``,
        ``cluster_threshold``, ``cluster_peak_map`` and ``cluster_criterion``,
        ``min_cluster_size``, ``clusters_file``, ``methods``, ``methods_file``,
        ``citations`` and, when the estimator or a correction made any,
        ``null_distributions_file`` (an ``.npz`` of NiMARE's ``null_distributions_``).
    """
    min_size = (report or {}).get("min_cluster_size", 1)
    timings = {} if timings is None else timings
    clock = time.perf_counter()
    names = sorted(result.maps)
    # zlib lets go of the GIL: the maps are compressed side by side.
    with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1) or 1) as pool:
        compressed = pool.map(lambda name: _nifti(result.get_image(name)), names)
        maps = {name: files.put_bytes(data, ".nii.gz")
                for name, data in zip(names, compressed, strict=True)}
    timings["maps"], clock = time.perf_counter() - clock, time.perf_counter()
    drawn = result_pictures(result)
    pictures = {p.name: files.put_bytes(p.png, ".png") for p in drawn}
    timings["pictures"], clock = time.perf_counter() - clock, time.perf_counter()
    tables = cluster_thresholds(result)
    rows = cluster_rows(result, tables, min_size)
    counts = [sum(row["map"] == t.p_map for row in rows) for t in tables]
    methods = result.methods(report_text(list(zip(tables, counts, strict=True)), min_size,
                                         voxel_volume(result.mask.affine),
                                         [p.threshold for p in drawn if not p.glass]))
    first = tables[0] if tables else None
    outputs = {
        "maps": maps, "pictures": pictures,
        "picture_thresholds": {p.name: p.summary() for p in drawn},
        "cluster_tables": [{"map": t.p_map, "threshold": t.alpha, "peak_map": t.value_map,
                            "criterion": t.label, "clusters": n}
                           for t, n in zip(tables, counts, strict=True)],
        "cluster_map": first.p_map if first else None,
        "cluster_threshold": first.alpha if first else None,
        "cluster_peak_map": first.value_map if first else None,
        "cluster_criterion": first.label if first else None,
        "min_cluster_size": min_size, "clusters": rows,
        "clusters_file": files.put_bytes(clusters_tsv(rows), ".tsv"),
        "methods": methods, "methods_file": files.put_bytes(methods.encode(), ".txt"),
        "citations": result.references(),
    }
    if result.null_distributions:
        outputs["null_distributions_file"] = files.put_bytes(
            _npz(result.null_distributions), ".npz")
    timings["clusters"] = time.perf_counter() - clock
    return outputs


def execute(services: Any, run_id: str, *, null_cache: NullCache | None = None) -> str | None:
    """Run ``run_id`` if it is still to be run; return its final status (None if not ours).

    Parameters
    ----------
    services : Services
        The store's services (snapshots, analysis_runs, and their file store).
    run_id : str
    null_cache : NullCache, optional
        Where Monte Carlo nulls are kept between runs (in memory by default).
    """
    clock = time.perf_counter()
    runs = services.analysis_runs
    claimed = runs.claim(run_id)
    if claimed is None:
        return None
    token, spec, snapshot_id = claimed
    report = Reporter(runs, run_id, token)
    started = dt.datetime.now(dt.UTC)
    timings: dict[str, float] = {}
    try:
        report("reading the snapshot")
        inputs, groups, n_foci, excluded = _inputs(spec, services.snapshots, snapshot_id,
                                                   timings)
        experiments = [e for group in groups for e in group]
        correction = spec["correction"]
        cache = null_cache if null_cache is not None else NullCache()
        if correction["method"] == "montecarlo":
            cache = ProgressCache(report, correction["n_iters"], cache,
                                  partial(_stored_null, services))
        report("fitting", experiments=len(experiments), excluded=len(excluded))
        fit_clock = time.perf_counter()
        result = build(spec, cache=cache).fit(*inputs)
        timings["fit"] = time.perf_counter() - fit_clock
        report("writing results")
        outputs = store_outputs(result, services.snapshots.files, report_options(spec),
                                timings)
        outputs.update(n_experiments=len(experiments), n_foci=n_foci, excluded=excluded)
        null = {}
        if isinstance(cache, ProgressCache) and cache.key is not None:
            outputs["null_key"] = cache.key
            null = {"null_source": cache.source}
        timings["total"] = time.perf_counter() - clock
        provenance = {
            "snapshot": snapshot_id, "estimator": result.estimator, "spec": spec,
            "parameters": result.params, "seed": _seeds(spec),
            "code_version": code_version(), "versions": result.versions,
            "experiments": experiments,
            **({"groups": dict(zip(("group1", "group2"), groups, strict=True))}
               if len(groups) == 2 else {}),
            "started_at": started.isoformat(),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "worker": f"{platform.node()}:{os.getpid()}",
            "timings": {name: round(seconds, 3) for name, seconds in timings.items()},
            **null,
        }
        return RunStatus.SUCCEEDED if runs.finish(run_id, token, outputs, provenance) else None
    except RunAbandoned:
        LOG.info("run %s was cancelled or taken over; stopping", run_id)
        return None
    except (MetaAnalysisInputError, SnapshotError) as exc:
        runs.fail(run_id, token, str(exc))
        return RunStatus.FAILED
    except Exception as exc:
        runs.fail(run_id, token, f"{type(exc).__name__}: {exc}")
        raise


def _seeds(spec: dict[str, Any]) -> dict[str, int]:
    seeds = {}
    if "seed" in spec["parameters"]:
        seeds["parameters"] = spec["parameters"]["seed"]
    if "seed" in spec["correction"]:
        seeds["correction"] = spec["correction"]["seed"]
    return seeds
