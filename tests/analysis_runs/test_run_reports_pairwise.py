"""Reports of two-group runs (MKDAChi2, ALESubtraction): both contrasts tabled, from the
API and the command line."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from PIL import Image

from analysis.meta.kernels import eickhoff_fwhm
from analysis.runner import execute
from manage import cli
from neurostore.services.nimads import import_studyset
from tests.support.examples import example, grouped_annotation
from tests.support.runs import (
    PICTURE_SIZE,
    cluster_table,
    run_and_read,
    run_file,
    sample_sizes_used,
)


@pytest.fixture
def split(services, alice) -> dict:
    """A snapshot of the example whose annotation has a boolean ``pain`` column."""
    imported = import_studyset(services, alice, example("nimads_studyset.json"),
                               grouped_annotation())
    return services.snapshots.create(alice, imported.studyset.id,
                                     annotation_id=imported.annotation.id)[0]


@pytest.fixture
def invoke(database_url, data_dir, monkeypatch):
    """Run a ``manage.py`` command on the test database and the fixtures' data folder."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("NEUROSTORE_DATA_DIR", str(data_dir))

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


CHI2_CONTRASTS = ("association", "uniformity")


def test_a_chi2_run_from_the_command_line_reports_association_and_uniformity(
        invoke, client, services, alice, split):
    ran = invoke("analysis", "run", split["id"], "--estimator", "MKDAChi2",
                 "--groups-column", "pain", "--correction", "montecarlo",
                 "--correction-param", "n_iters=20", "--correction-param", "seed=3",
                 "--report-param", "min_cluster_size=2", "--as", alice.id, "--inline")
    assert ran.exit_code == 0, ran.output
    assert "succeeded" in ran.output
    run = client.get(f"/api/meta-analyses/{ran.output.split()[2]}").json
    results = run["results"]
    kinds = ("corr-FWE_level-cluster", "corr-FWE_level-voxel", "uncorrected")
    expected = {f"z_desc-{c}_{k}" for c in CHI2_CONTRASTS for k in kinds}
    assert set(results["pictures"]) == expected | {f"{key}_glass" for key in expected}
    for name in results["pictures"]:
        assert f"picture {name}: " in ran.output

    maps = [f"p_desc-{c}Size_level-cluster_corr-FWE_method-montecarlo" for c in CHI2_CONTRASTS]
    parts = results["cluster_tables"]
    assert [p["map"] for p in parts] == maps
    assert [p["peak_map"] for p in parts] == [f"z_desc-{c}" for c in CHI2_CONTRASTS]
    assert {p["threshold"] for p in parts} == {0.05}
    assert results["cluster_map"] == maps[0] and results["min_cluster_size"] == 2
    table = cluster_table(services, results)
    assert list(table["cluster_id"]) == list(range(1, len(table) + 1))
    assert set(table["map"]) <= set(maps) and (table["size_voxels"] >= 2).all()
    assert [(table["map"] == p["map"]).sum() for p in parts] == [p["clusters"] for p in parts]
    for part in parts:
        assert f"{part['clusters']} where {part['criterion']} ({part['map']})" in ran.output
    for row in table.itertuples():
        assert row.peak_map == row.map.split("Size")[0].replace("p_", "z_")

    methods = results["methods"]
    assert "label-permutation procedure of 20 iterations (seed 3)" in methods
    assert "cluster-forming threshold of uncorrected p < 0.001" in methods
    assert all(f"(map {m})" in methods for m in maps)
    assert "Only clusters of at least 2 voxels (16 mm3, the minimum cluster extent)" in methods
    assert "A cluster was significant when its cluster-level FWE p-value" in methods
    assert "No correction for multiple comparisons" not in methods
    assert "Wager et al., 2007" in methods and "NiMARE 0.22.1 (Salo et al., 2023)" in methods
    for name, file in results["pictures"].items():
        image = Image.open(io.BytesIO(run_file(client, run["id"], file)))
        assert image.format == "PNG" and image.size == PICTURE_SIZE, name


def test_an_uncorrected_chi2_run_says_so_and_tables_both_contrasts(
        services, alice, split):
    every = run_and_read(services, alice, split, estimator="MKDAChi2",
                 groups={"column": "pain"})["results"]
    maps = [f"p_desc-{c}" for c in CHI2_CONTRASTS]
    assert [p["map"] for p in every["cluster_tables"]] == maps
    assert {p["threshold"] for p in every["cluster_tables"]} == {0.001}
    methods = every["methods"]
    assert "No correction for multiple comparisons was applied" in methods
    assert "These clusters are not corrected for multiple comparisons." in methods
    assert "orientation only" not in methods
    table = cluster_table(services, every)
    assert len(table) > 0 and set(table["map"]) <= set(maps)
    assert list(table["cluster_id"]) == list(range(1, len(table) + 1))
    assert (table["peak_map"] == table["map"].str.replace("p_", "z_", n=1)).all()
    assert (table["peak_value"].abs() >= 3.29).all()  # p < 0.001, one degree of freedom
    for part in every["cluster_tables"]:
        assert f"the {part['clusters']} cluster" in methods

    shown = every["picture_thresholds"]
    for contrast in CHI2_CONTRASTS:
        summary = shown[f"z_desc-{contrast}_uncorrected"]
        assert summary["p_map"] == f"p_desc-{contrast}" and summary["alpha"] == 0.001
        rows = table[table["map"] == f"p_desc-{contrast}"]
        if len(rows):
            # Peaks are rounded to four significant figures.
            assert summary["shown_from"] <= rows["peak_value"].abs().min() * (1 + 1e-3)
            assert summary["shown_from"] >= 3.29
        else:
            assert summary["shown_from"] is None

    extent = int(table["size_voxels"].median()) + 1
    fewer = run_and_read(services, alice, split, estimator="MKDAChi2", groups={"column": "pain"},
                 report={"min_cluster_size": extent})["results"]
    kept = cluster_table(services, fewer)
    expected = table[table["size_voxels"] >= extent]
    assert 0 < len(kept) < len(table)
    assert list(kept["size_voxels"]) == list(expected["size_voxels"])
    assert list(kept["peak_value"]) == list(expected["peak_value"])
    assert [p["clusters"] for p in fewer["cluster_tables"]] == [
        int((expected["map"] == m).sum()) for m in maps]
    assert fewer["maps"] == every["maps"]


def test_an_ale_subtraction_from_the_api_tables_its_difference(client, auth, services, split):
    response = client.post("/api/meta-analyses", headers=auth, json={
        "snapshot": split["id"], "estimator": "ALESubtraction",
        "parameters": {"n_iters": 50, "seed": 4}, "groups": {"column": "pain"},
        "correction": {"method": "montecarlo", "n_iters": 20, "seed": 5}})
    assert response.status_code == 202, response.json
    assert execute(services, response.json["id"]) == "succeeded"
    results = client.get(f"/api/meta-analyses/{response.json['id']}").json["results"]
    diff = "z_desc-group1MinusGroup2"
    expected = {f"{diff}_corr-FWE_level-voxel", f"{diff}_uncorrected"}
    assert set(results["pictures"]) == expected | {f"{key}_glass" for key in expected}
    assert results["cluster_tables"] == [{
        "map": "p_desc-group1MinusGroup2_level-voxel_corr-FWE_method-montecarlo",
        "threshold": 0.05, "peak_map": diff, "criterion": "voxel-level FWE p < 0.05",
        "clusters": len(results["clusters"])}]
    methods = results["methods"]
    assert "50 random relabellings (seed 4)" in methods
    assert "label-permutation procedure of 20 iterations (seed 5)" in methods
    assert "The uncorrected picture is for orientation only" in methods
    assert "Turkeltaub et al., 2012" in methods
    group1, group2 = sample_sizes_used(pain=True), sample_sizes_used(pain=False)
    assert (f"from {len(group1)} experiments, with a total of {sum(group1):,} participants; "
            f"group 2 included") in methods
    assert f"from {len(group2)} experiments, with a total of {sum(group2):,} participants" \
        in methods
    fwhms = [eickhoff_fwhm(n) for n in group1 + group2]
    assert f"the FWHMs used ranged from {min(fwhms):.2f} to {max(fwhms):.2f} mm" in methods


# Image-based runs on synthetic z maps: one large positive and one small negative blob.
