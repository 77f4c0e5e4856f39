"""What a run gives a reader to trust and cite: the methods, the cluster table, the pictures.

Runs are asked for as users ask (the API, the command line, or the services both call) on
the bundled NIMADS example, split into two groups for the two-group estimators, and on
synthetic z images whose clusters are known for the image-based ones. Their files are read
back as a reader would: pandas for the table, an image library for the pictures.
"""

from __future__ import annotations

import gzip
import io
from importlib import metadata

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis.meta import Mask
from analysis.meta.kernels import eickhoff_fwhm
from analysis.runner import execute
from tests.support.runs import (
    CLUSTER_FWE_P,
    PICTURE_SIZE,
    cluster_table,
    run_and_read,
    run_file,
    sample_sizes_used,
)


@pytest.fixture
def fwe_run(client, auth, snapshot) -> dict:
    """An ALE with Monte Carlo FWE asked for and run through the API."""
    response = client.post("/api/meta-analyses", headers=auth, json={
        "snapshot": snapshot["id"], "estimator": "ALE",
        "correction": {"method": "montecarlo", "n_iters": 30, "seed": 7}})
    assert response.status_code == 202, response.json
    return response.json


def test_an_ale_fwe_run_states_what_ran_and_its_table_names_its_map(
        client, services, fwe_run):
    assert execute(services, fwe_run["id"]) == "succeeded"
    run = client.get(f"/api/meta-analyses/{fwe_run['id']}").json
    results = run["results"]
    methods = run_file(client, run["id"], results["methods_file"]).decode()
    assert methods == results["methods"]

    sizes = sample_sizes_used()
    assert results["n_experiments"] == len(sizes)
    fwhms = [eickhoff_fwhm(n) for n in sizes]
    assert f"the FWHMs used ranged from {min(fwhms):.2f} to {max(fwhms):.2f} mm" in methods
    assert f"with a total of {sum(sizes):,} participants" in methods
    assert "voxel-wise maximum" in methods and "Turkeltaub et al., 2012" in methods
    assert any(c.startswith("Turkeltaub PE et al. (2012). Minimizing within-experiment")
               for c in results["citations"])
    assert "Monte Carlo procedure of 30 iterations (seed 7)" in methods
    assert "cluster-forming threshold of uncorrected p < 0.001" in methods
    assert "cluster-level FWE p-value (from its size) was below 0.05" in methods
    assert "the MNI152NLin6Asym brain mask (228,483 voxels of 2 x 2 x 2 mm)" in methods
    assert f"computed with neurostore {metadata.version('neurostore')} " in methods
    assert "numerically equivalent to those of NiMARE 0.22.1 (Salo et al., 2023)" in methods
    assert "No correction for multiple comparisons" not in methods
    references = methods.split("\n\nReferences\n")[1].splitlines()
    assert references == results["citations"]

    assert results["cluster_map"] == CLUSTER_FWE_P and results["cluster_threshold"] == 0.05
    assert results["cluster_peak_map"] == "z" and results["min_cluster_size"] == 1
    table = pd.read_csv(io.BytesIO(run_file(client, run["id"], results["clusters_file"])),
                        sep="\t")
    assert len(table) == len(results["clusters"]) > 0
    assert set(table["map"]) == {CLUSTER_FWE_P} and set(table["threshold"]) == {0.05}
    assert set(table["peak_map"]) == {"z"} and set(table["min_cluster_size"]) == {1}
    for column in ("size_mm3", "size_voxels", "peak_x", "peak_y", "peak_z"):
        assert table[column].dtype.kind == "i", column  # whole numbers, as written
    assert (table["size_mm3"] == 8 * table["size_voxels"]).all()
    assert (table["peak_value"] > 3.09).all()
    assert list(table["cluster_id"]) == list(range(1, len(table) + 1))
    assert "99999" not in run_file(client, run["id"], results["clusters_file"]).decode()


def test_pictures_are_slices_and_a_glass_brain_of_each_threshold(client, services, fwe_run):
    assert execute(services, fwe_run["id"]) == "succeeded"
    results = client.get(f"/api/meta-analyses/{fwe_run['id']}").json["results"]
    pictures = results["pictures"]
    expected = {"z_uncorrected", "z_corr-FWE_level-cluster", "z_corr-FWE_level-voxel"}
    assert set(pictures) == expected | {f"{key}_glass" for key in expected}
    for name, file in pictures.items():
        image = Image.open(io.BytesIO(run_file(client, fwe_run["id"], file)))
        assert image.format == "PNG" and image.size == PICTURE_SIZE, name
        image.verify()
    shown = results["picture_thresholds"]
    assert shown["z_uncorrected_glass"]["view"] == "glass brain"
    assert shown["z_uncorrected"]["view"] == "slices"
    assert shown["z_uncorrected"]["p_map"] == "p" and shown["z_uncorrected"]["alpha"] == 0.001
    # One-sided CBMA z: p < 0.001 starts at z = 3.09 on the colour bar.
    assert 3.09 <= shown["z_uncorrected"]["shown_from"] < 3.2
    assert shown["z_corr-FWE_level-voxel"]["shown_from"] > shown["z_uncorrected"]["shown_from"]
    assert "glass brain" in results["methods"] and "colour bar" in results["methods"]


def test_an_uncorrected_run_says_so_and_a_minimum_extent_drops_small_clusters(
        services, alice, snapshot):
    every = run_and_read(services, alice, snapshot, estimator="ALE")["results"]
    methods = every["methods"]
    assert "No correction for multiple comparisons was applied" in methods
    assert "These clusters are not corrected for multiple comparisons." in methods
    assert "Family-wise" not in methods and "minimum cluster extent" not in methods
    assert "orientation only" not in methods  # nothing corrected to orient against
    assert (every["cluster_map"], every["cluster_threshold"]) == ("p", 0.001)
    assert set(every["pictures"]) == {"z_uncorrected", "z_uncorrected_glass"}
    sizes = [row["size_voxels"] for row in every["clusters"]]
    assert min(sizes) < max(sizes)

    biggest = run_and_read(services, alice, snapshot, estimator="ALE",
                   report={"min_cluster_size": max(sizes)})
    assert biggest["spec"]["report"] == {"min_cluster_size": max(sizes)}
    results = biggest["results"]
    kept = [row for row in every["clusters"] if row["size_voxels"] >= max(sizes)]
    assert [(r["peak_x"], r["peak_y"], r["peak_z"], r["size_voxels"]) for r in kept] == [
        (r["peak_x"], r["peak_y"], r["peak_z"], r["size_voxels"]) for r in results["clusters"]]
    table = cluster_table(services, results)
    assert len(table) == len(kept) and set(table["min_cluster_size"]) == {max(sizes)}
    assert (table["size_voxels"] >= max(sizes)).all()
    assert (f"Only clusters of at least {max(sizes)} voxels ({8 * max(sizes)} mm3, the "
            "minimum cluster extent) are listed.") in results["methods"]
    assert results["cluster_tables"] == [{
        "map": "p", "threshold": 0.001, "peak_map": "z", "criterion": "uncorrected p < 0.001",
        "clusters": len(kept)}]
    # The maps are the same: the extent is a reporting choice.
    assert results["maps"] == every["maps"]


def test_an_fdr_table_is_of_the_fdr_map(services, alice, snapshot):
    results = run_and_read(services, alice, snapshot, estimator="MKDADensity",
                   correction={"method": "fdr", "fdr_method": "negcorr"})["results"]
    assert results["cluster_map"] == "p_corr-FDR_method-negcorr"
    assert results["cluster_criterion"] == "FDR q < 0.05 (Benjamini-Yekutieli)"
    methods = results["methods"]
    assert "Benjamini and Yekutieli, 2001" in methods
    assert "No correction for multiple comparisons" not in methods
    assert "The uncorrected picture is for orientation only" in methods
    assert set(results["pictures"]) == {"z_corr-FDR", "z_corr-FDR_glass", "z_uncorrected",
                                        "z_uncorrected_glass"}
    table = cluster_table(services, results)
    assert len(table) == len(results["clusters"])
    assert set(table["map"]) <= {"p_corr-FDR_method-negcorr"}
    assert f"lists the {len(table)} cluster" in methods


# Two-group runs: MKDA chi-square from the command line, ALE subtraction from the API.


BLOBS = {"positive": ((20, 40, 40), 2, 4.0), "negative": ((70, 40, 40), 1, -4.0)}


def _blob(centre: tuple[int, int, int], radius: int) -> np.ndarray:
    mask = Mask.default()
    grid = np.indices(mask.shape)
    distance = np.sqrt(sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)))
    blob = (distance <= radius) & mask.data
    assert blob.sum() == (distance <= radius).sum()  # inside the brain
    return blob


@pytest.fixture
def images_snapshot(services, alice) -> dict:
    """Three studies with one z map each: noise, plus the :data:`BLOBS`."""
    mask = Mask.default()
    files = services.snapshots.files
    studies = []
    for n in range(3):
        values = np.random.default_rng(n).normal(0.0, 0.1, mask.shape)
        for centre, radius, value in BLOBS.values():
            values[_blob(centre, radius)] += value
        image = mask.to_image(values[mask.data].astype(np.float32))
        sha = files.put_bytes(gzip.compress(image.to_bytes(), mtime=0), ".nii.gz")
        studies.append(services.studies.create(alice, {
            "name": f"imaging study {n}", "analyses": [{"name": "task", "images": [
                {"sha256": sha.split(".")[0], "value_type": "Z", "space": "MNI"}]}],
        }).id)
    studyset = services.studysets.create(alice, {"name": "images", "studies": studies})
    return services.snapshots.create(alice, studyset.id)[0]


def _map(services, results, name) -> np.ndarray:
    with services.snapshots.files.open(results["maps"][name]) as fp:
        return np.asarray(nib.Nifti1Image.from_bytes(gzip.decompress(fp.read())).dataobj)


def _mm(ijk: tuple[int, int, int]) -> np.ndarray:
    return (Mask.default().affine @ np.array([*ijk, 1.0]))[:3]


def test_an_image_based_run_tables_its_signed_clusters_and_shows_its_threshold(
        services, alice, images_snapshot):
    results = run_and_read(services, alice, images_snapshot, estimator="Stouffers",
                   correction={"method": "bonferroni"})["results"]
    assert results["cluster_map"] == "p_corr-FWE_method-bonferroni"
    table = cluster_table(services, results)
    assert list(table["map"]) == ["p_corr-FWE_method-bonferroni"] * 2
    for row, (name, (centre, radius, value)) in zip(table.itertuples(), BLOBS.items(),
                                                    strict=True):
        assert row.size_voxels == _blob(centre, radius).sum(), name
        assert row.size_mm3 == 8 * row.size_voxels
        assert np.sign(row.peak_value) == np.sign(value) and abs(row.peak_value) > 6
        assert row.peak_value == float(f"{row.peak_value:.4g}")  # four significant figures
        peak = np.array([row.peak_x, row.peak_y, row.peak_z])
        assert np.linalg.norm(peak - _mm(centre)) <= 2.0 * radius + 1e-9, name

    methods = results["methods"]
    assert "Bonferroni" in methods and "No correction" not in methods
    assert "Turkeltaub" not in methods and "participants" not in methods
    assert f"computed with neurostore {metadata.version('neurostore')} " in methods
    assert "numerically equivalent to those of NiMARE 0.22.1" in methods
    assert "lists the 2 clusters of voxels with Bonferroni FWE p < 0.05" in methods

    # The colour bar of each picture starts at the smallest |z| of the voxels it shows.
    brain = Mask.default().data
    z, p = _map(services, results, "z")[brain], _map(services, results, "p")[brain]
    corrected = _map(services, results, "p_corr-FWE_method-bonferroni")[brain]
    shown = results["picture_thresholds"]
    assert shown["z_uncorrected"]["shown_from"] == pytest.approx(
        float(np.abs(z[p < 0.001]).min()), rel=1e-6)
    assert shown["z_corr-FWE_method-bonferroni"]["shown_from"] == pytest.approx(
        float(np.abs(z[corrected < 0.05]).min()), rel=1e-6)
    # Two-sided p < 0.001 is |z| > 3.29: the noise alone never gets there.
    assert shown["z_uncorrected"]["shown_from"] > 3.29
    for name, file in results["pictures"].items():
        with services.snapshots.files.open(file) as fp:
            image = Image.open(io.BytesIO(fp.read())).convert("RGB")
        pixels = np.asarray(image).reshape(-1, 3).astype(int)
        red = ((pixels[:, 0] > 150) & (pixels[:, 2] < 80)).any()
        blue = ((pixels[:, 2] > 200) & (pixels[:, 0] < 40)).any()
        assert red and blue, name  # both signs drawn, hot and cold

    small = run_and_read(services, alice, images_snapshot, estimator="Stouffers",
                 correction={"method": "bonferroni"},
                 report={"min_cluster_size": int(table["size_voxels"].min()) + 1})["results"]
    kept = cluster_table(services, small)
    assert list(kept["size_voxels"]) == [int(table["size_voxels"].max())]
    assert (kept["peak_value"] > 0).all()
