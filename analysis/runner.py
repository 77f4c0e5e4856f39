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
import logging
import os
import platform
from importlib import metadata
from typing import Any

from analysis.meta import Mask, MetaAnalysisInputError, NullCache
from analysis.meta.clusters import voxel_volume
from analysis.pictures import result_pictures
from analysis.report import cluster_rows, cluster_threshold, clusters_tsv, report_text
from analysis.runinputs import coordinate_inputs, image_inputs, records
from analysis.runspec import ESTIMATORS, build, needs_sample_sizes, report_options
from analysis.snapshot import SnapshotError

LOG = logging.getLogger(__name__)


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
    """

    def __init__(self, report: Reporter, n_iters: int, inner: NullCache) -> None:
        self.report = report
        self.n_iters = n_iters
        self.inner = inner

    def get(self, key: str) -> Any:
        """Look the null up; report 0 (to be simulated) or all iterations (cached)."""
        found = self.inner.get(key)
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


def _inputs(spec: dict[str, Any], studyset: Any, annotation: Any, files: Any) -> tuple:
    estimator = ESTIMATORS[spec["estimator"]]
    studies = records(studyset, annotation)
    if estimator.kind == "coordinates":
        inputs, excluded = coordinate_inputs(studies, spec["parameters"]["unknown_space"])
        return inputs, list(inputs.experiment_ids), inputs.n_foci, excluded
    with_n = needs_sample_sizes(estimator.name, spec["parameters"])
    inputs, used, excluded = image_inputs(studies, estimator.images, files, Mask.default(),
                                          with_n)
    return inputs, used, None, excluded


def _nifti(image: Any) -> bytes:
    return gzip.compress(image.to_bytes(), mtime=0)


def store_outputs(result: Any, files: Any, report: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """Write every map, the pictures, the cluster table and the methods to the file store.

    Parameters
    ----------
    result : MetaResult
    files : FileStore
    report : dict, optional
        The spec's report options (:func:`analysis.runspec.report_options`).

    Returns
    -------
    dict
        ``maps`` and ``pictures`` (name -> file), ``picture_thresholds`` (name -> the map,
        p map, alpha and smallest value shown), ``clusters`` (rows) with the map and
        threshold they come from (``cluster_map``, ``cluster_threshold``,
        ``cluster_peak_map``, ``cluster_criterion``, ``min_cluster_size``),
        ``clusters_file``, ``methods``, ``methods_file`` and ``citations``.
    """
    min_size = (report or {}).get("min_cluster_size", 1)
    maps = {name: files.put_bytes(_nifti(result.get_image(name)), ".nii.gz")
            for name in sorted(result.maps)}
    drawn = result_pictures(result)
    pictures = {p.name: files.put_bytes(p.png, ".png") for p in drawn}
    table = cluster_threshold(result)
    rows = cluster_rows(result, table, min_size) if table is not None else []
    methods = result.methods(report_text(table, len(rows), min_size,
                                         voxel_volume(result.mask.affine),
                                         [p.threshold for p in drawn if not p.glass]))
    return {
        "maps": maps, "pictures": pictures,
        "picture_thresholds": {p.name: p.summary() for p in drawn},
        "cluster_map": table.p_map if table else None,
        "cluster_threshold": table.alpha if table else None,
        "cluster_peak_map": table.value_map if table else None,
        "cluster_criterion": table.label if table else None,
        "min_cluster_size": min_size, "clusters": rows,
        "clusters_file": files.put_bytes(clusters_tsv(rows), ".tsv"),
        "methods": methods, "methods_file": files.put_bytes(methods.encode(), ".txt"),
        "citations": result.references(),
    }


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
    runs = services.analysis_runs
    claimed = runs.claim(run_id)
    if claimed is None:
        return None
    token, spec, snapshot_id = claimed
    report = Reporter(runs, run_id, token)
    started = dt.datetime.now(dt.UTC)
    try:
        report("reading the snapshot")
        studyset, annotation = services.snapshots.frozen(snapshot_id)
        inputs, experiments, n_foci, excluded = _inputs(spec, studyset, annotation,
                                                        services.snapshots.files)
        correction = spec["correction"]
        cache = null_cache if null_cache is not None else NullCache()
        if correction["method"] == "montecarlo":
            cache = ProgressCache(report, correction["n_iters"], cache)
        report("fitting", experiments=len(experiments), excluded=len(excluded))
        result = build(spec, cache=cache).fit(inputs)
        report("writing results")
        outputs = store_outputs(result, services.snapshots.files, report_options(spec))
        outputs.update(n_experiments=len(experiments), n_foci=n_foci, excluded=excluded)
        provenance = {
            "snapshot": snapshot_id, "estimator": result.estimator, "spec": spec,
            "parameters": result.params, "seed": _seeds(spec),
            "code_version": code_version(), "versions": result.versions,
            "experiments": experiments, "started_at": started.isoformat(),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "worker": f"{platform.node()}:{os.getpid()}",
        }
        return "succeeded" if runs.finish(run_id, token, outputs, provenance) else None
    except RunAbandoned:
        LOG.info("run %s was cancelled or taken over; stopping", run_id)
        return None
    except (MetaAnalysisInputError, SnapshotError) as exc:
        runs.fail(run_id, token, str(exc))
        return "failed"
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
