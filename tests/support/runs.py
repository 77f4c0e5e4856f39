"""Helpers of the run report tests: run a spec and read what it wrote."""

from __future__ import annotations

import pandas as pd

from analysis.runner import execute
from tests.support.examples import example, grouped_annotation, with_sample_sizes

CLUSTER_FWE_P = "p_desc-size_level-cluster_corr-FWE_method-montecarlo"
PICTURE_SIZE = (800, 288)


def sample_sizes_used(pain: bool | None = None) -> list[int]:
    """The sample size of every analysis with peaks a run uses, as the user's files say:
    those included (one group), or those of a ``pain`` group (two groups)."""
    annotation = (with_sample_sizes(example("nimads_annotation.json")) if pain is None
                  else grouped_annotation())
    notes = {n["analysis"]: n["note"] for n in annotation["notes"]}
    sizes = []
    for study in example("nimads_studyset.json")["studies"]:
        for analysis in study["analyses"]:
            note = notes.get(analysis["id"])
            peaks = [p for p in analysis["points"]
                     if p.get("coordinates") and None not in p["coordinates"]]
            used = note and (note.get("include") if pain is None else note["pain"] is pain)
            if used and peaks:
                sizes.append(note["sample_size"])
    return sizes


def run_file(client, run_id: str, name: str) -> bytes:
    """A run's file, downloaded through the API."""
    response = client.get(f"/api/meta-analyses/{run_id}/files/{name}")
    assert response.status_code == 200, name
    return response.data


def run_and_read(services, alice, snapshot, **spec) -> dict:
    """Run ``spec`` on ``snapshot`` now (no worker) and return the finished run."""
    run = services.analysis_runs.create(alice, {"snapshot": snapshot["id"], **spec})
    assert execute(services, run["id"]) == "succeeded"
    return services.analysis_runs.get(alice, run["id"])


def cluster_table(services, results) -> pd.DataFrame:
    """The cluster table a run stored."""
    with services.snapshots.files.open(results["clusters_file"]) as fp:
        return pd.read_csv(fp, sep="\t")
