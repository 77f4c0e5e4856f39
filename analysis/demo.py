"""The demo's last leg: freeze a studyset, export it, run an ALE with FWE on a worker."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import analysis.tasks  # noqa: F401  (declares the task the worker below runs)
from neurostore import jobs
from neurostore.config import Settings
from neurostore.db import database_url
from neurostore.services.actors import Actor
from neurostore.services.analysis_runs import RUN_QUEUE
from neurostore.services.registry import Services
from neurostore.snapshot.formats import FORMATS


@dataclass(frozen=True)
class DemoSummary:
    """Where everything the demo made is.

    Attributes
    ----------
    snapshot_id : str
        The sha256 of the snapshot's canonical NIMADS bytes.
    exports : dict of str to Path
        Export format -> file.
    run_id, status : str
        The meta-analysis run and how it ended.
    seconds : float
        Wall time from the request to the finished run.
    maps, pictures : dict of str to Path
        NIfTI maps and PNG pictures by name.
    clusters : list of dict
        The cluster table (peak MNI coordinates, size).
    methods : str
        The methods paragraph with its references.
    """

    snapshot_id: str
    exports: dict[str, Path]
    run_id: str
    status: str
    seconds: float
    maps: dict[str, Path] = field(default_factory=dict)
    pictures: dict[str, Path] = field(default_factory=dict)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    methods: str = ""


def run_demo_meta_analysis(services: Services, settings: Settings, studyset_id: str,
                           annotation_id: str | None, actor: Actor, *,
                           include: str | None = None, n_iters: int = 1000,
                           seed: int = 0) -> DemoSummary:
    """Snapshot a studyset, export it in every format, and run ALE + Monte Carlo FWE.

    The run is enqueued like any other and carried out by a procrastinate worker started
    here for the jobs waiting on the ``analysis`` queue; that worker builds its services from
    the environment, as ``manage.py worker`` does, so ``settings`` should be the
    environment's (``manage.py demo`` passes its own).

    Parameters
    ----------
    services : Services
    settings : Settings
        Where the database and the file store are.
    studyset_id, annotation_id : str
        What to freeze (the annotation may be None).
    actor : Actor
        Who asks.
    include : str, optional
        A boolean note key selecting the analyses.
    n_iters, seed : int
        Monte Carlo FWE iterations and seed.

    Returns
    -------
    DemoSummary
    """
    snapshots, runs = services.snapshots, services.analysis_runs
    snapshot, _ = snapshots.create(actor, studyset_id, annotation_id=annotation_id,
                                   include=include)
    files = snapshots.files
    exports = {name: files.path(snapshots.export(actor, snapshot["id"], name)["file"])
               for name in FORMATS}
    started = time.perf_counter()
    run = runs.create(actor, {"snapshot": snapshot["id"], "estimator": "ALE",
                              "correction": {"method": "montecarlo", "n_iters": n_iters,
                                             "seed": seed}})
    app = jobs.connected(database_url(settings))
    with app.open():
        app.run_worker(queues=[RUN_QUEUE], wait=False, install_signal_handlers=False)
    done = runs.get(actor, run["id"])
    seconds = time.perf_counter() - started
    results = done["results"] or {}
    return DemoSummary(
        snapshot_id=snapshot["id"], exports=exports, run_id=run["id"],
        status=done["status"], seconds=seconds,
        maps={k: files.path(v) for k, v in results.get("maps", {}).items()},
        pictures={k: files.path(v) for k, v in results.get("pictures", {}).items()},
        clusters=results.get("clusters", []), methods=results.get("methods", ""),
    )
