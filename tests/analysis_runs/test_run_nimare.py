"""NiMARE loads our NiMARE export of a snapshot, and its ALE on it agrees with our run's."""

from __future__ import annotations

import gzip
import json

import nibabel as nib
import numpy as np
import pytest

from analysis.meta import Mask
from analysis.runner import execute

nimare_dataset = pytest.importorskip("nimare.dataset")
nimare_ale = pytest.importorskip("nimare.meta.cbma.ale")


def _map(services, name: str) -> np.ndarray:
    with services.snapshots.files.open(name) as fp:
        img = nib.Nifti1Image.from_bytes(gzip.decompress(fp.read()))
    return np.asarray(img.dataobj)


def test_nimare_loads_the_export_and_its_ale_agrees_with_ours(services, alice, snapshot,
                                                              tmp_path):
    export = services.snapshots.export(alice, snapshot["id"], "nimare")
    path = tmp_path / "dataset.json"
    with services.snapshots.files.open(export["file"]) as src:
        path.write_bytes(src.read())
    dataset = nimare_dataset.Dataset(str(path))
    n_experiments = snapshot["inputs"]["with_coordinates"]
    assert len(dataset.ids) == n_experiments
    assert json.loads(path.read_text())  # the file itself is plain JSON

    theirs = nimare_ale.ALE().fit(dataset)
    run = services.analysis_runs.create(alice, {"snapshot": snapshot["id"], "estimator": "ALE"})
    assert execute(services, run["id"]) == "succeeded"
    results = services.analysis_runs.get(alice, run["id"])["results"]
    assert results["n_experiments"] == n_experiments

    mask = Mask.default().data
    for ours_name, their_name in (("stat", "stat"), ("z", "z"), ("p", "p")):
        ours = _map(services, results["maps"][ours_name])[mask]
        reference = np.asarray(theirs.get_map(their_name).dataobj)[mask]
        scale = np.abs(reference).max()
        assert np.abs(ours - reference).max() <= 1e-6 * scale, ours_name
