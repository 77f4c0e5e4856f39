"""Ingest the small real sample shipped in ``ingest/data`` (what ``manage.py demo`` shows).

Three runs, each recorded like any other: 21 NeuroQuery papers, 24 Neurosynth papers
(one of them, PMID 9405692, in both releases: its two study versions share one
publication) and a Sleuth file. Running it again changes nothing.
"""

from __future__ import annotations

import os
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from ingest.runs import run_now
from ingest.sources import Environment
from neurostore.services.registry import Services
from neurostore.storage import LocalFileStore

SAMPLE = {
    "neuroquery": {"coordinates": "neuroquery/sample-21studies_coordinates.tsv.gz",
                   "metadata": "neuroquery/sample-21studies_metadata.tsv.gz"},
    "neurosynth": {"coordinates": "neurosynth/sample-24studies_coordinates.tsv.gz",
                   "metadata": "neurosynth/sample-24studies_metadata.tsv.gz"},
    "sleuth": {"paths": ["sleuth/test_sleuth_file.txt"]},
}
SHARED_PMID = "9405692"


def ingest_bundled_sample(services: Services, data_dir: str | os.PathLike[str]
                          ) -> dict[str, dict[str, Any]]:
    """Ingest the bundled sample, one run per source.

    Parameters
    ----------
    services : Services
        The store.
    data_dir : path
        The data folder (its ``files`` subfolder is the file store).

    Returns
    -------
    dict
        Per source: run id, status, created/updated/unchanged/skipped/failed, studies,
        peaks and seconds.
    """
    env = Environment(services, Path(data_dir), LocalFileStore(Path(data_dir) / "files"))
    summaries = {}
    with as_file(files("ingest") / "data") as root:
        for source, names in SAMPLE.items():
            parameters = {key: [str(root / n) for n in value] if isinstance(value, list)
                          else str(root / value) for key, value in names.items()}
            summary = run_now(services, source, parameters, env).as_dict()
            summaries[source] = {k: v for k, v in summary.items() if k not in ("errors", "diffs")}
    return summaries
