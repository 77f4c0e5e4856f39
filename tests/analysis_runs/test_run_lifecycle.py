"""A run is claimed, reports progress, stores every output once, and can be cancelled."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from analysis.meta import NullCache
from analysis.runner import execute

ALE_FWE = {"estimator": "ALE",
           "correction": {"method": "montecarlo", "n_iters": 40, "seed": 3}}


def _read(services, name: str) -> bytes:
    with services.snapshots.files.open(name) as fp:
        return fp.read()


def test_an_ale_run_stores_maps_pictures_clusters_methods_and_provenance(
        services, alice, snapshot, data_dir):
    run = services.analysis_runs.create(alice, {"snapshot": snapshot["id"], **ALE_FWE})
    assert run["status"] == "queued"
    assert execute(services, run["id"], null_cache=NullCache(data_dir / "nulls")) == "succeeded"
    done = services.analysis_runs.get(alice, run["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 1
    results = done["results"]
    assert {"z", "stat", "p", "z_desc-size_level-cluster_corr-FWE_method-montecarlo",
            "z_level-voxel_corr-FWE_method-montecarlo"} <= set(results["maps"])
    image = nib.Nifti1Image.from_bytes(gzip.decompress(_read(services, results["maps"]["z"])))
    assert image.shape == (91, 109, 91) and np.isfinite(image.get_fdata()).all()
    assert set(results["pictures"]) >= {"z_uncorrected", "z_corr-FWE_level-cluster"}
    assert all(_read(services, f).startswith(b"\x89PNG") for f in results["pictures"].values())
    assert results["cluster_map"].startswith("p_desc-size_level-cluster")
    header = _read(services, results["clusters_file"]).decode().splitlines()[0]
    assert header.startswith("cluster_id\tpeak_x")
    assert "activation likelihood estimation" in results["methods"]
    assert "Turkeltaub" in _read(services, results["methods_file"]).decode()
    assert results["n_experiments"] == snapshot["inputs"]["with_coordinates"]
    provenance = done["provenance"]
    assert provenance["snapshot"] == snapshot["id"] and provenance["estimator"] == "ALE"
    assert provenance["seed"] == {"parameters": 0, "correction": 3}
    assert provenance["parameters"]["corrections"][0]["n_iters"] == 40
    assert provenance["code_version"]["neurostore"] and provenance["versions"]["numpy"]
    assert len(provenance["experiments"]) == results["n_experiments"]
    assert services.analysis_runs.result_file(alice, run["id"], results["maps"]["z"])


def test_progress_reports_the_monte_carlo_iterations(services, alice, snapshot):
    run = services.analysis_runs.create(alice, {"snapshot": snapshot["id"], **ALE_FWE})
    seen = []
    report = services.analysis_runs.report

    def spy(run_id, token, progress):
        seen.append(progress)
        return report(run_id, token, progress)

    services.analysis_runs.report = spy
    assert execute(services, run["id"]) == "succeeded"
    carlo = [p for p in seen if p["stage"] == "monte carlo"]
    assert [p["iterations_done"] for p in carlo] == [0, 40]
    assert all(p["iterations_total"] == 40 for p in carlo)


def test_a_cancelled_run_is_not_run(services, alice, snapshot):
    run = services.analysis_runs.create(alice, {"snapshot": snapshot["id"], **ALE_FWE})
    assert services.analysis_runs.cancel(alice, run["id"])["status"] == "cancelled"
    assert execute(services, run["id"]) is None
    after = services.analysis_runs.get(alice, run["id"])
    assert after["status"] == "cancelled" and after["results"] is None


def test_cancelling_a_running_run_stops_it_at_its_next_report(services, alice, snapshot):
    run = services.analysis_runs.create(alice, {"snapshot": snapshot["id"], **ALE_FWE})
    report = services.analysis_runs.report

    def cancel_while_fitting(run_id, token, progress):
        if progress["stage"] == "fitting":
            services.analysis_runs.cancel(alice, run_id)
        return report(run_id, token, progress)

    services.analysis_runs.report = cancel_while_fitting
    assert execute(services, run["id"]) is None
    after = services.analysis_runs.get(alice, run["id"])
    assert after["status"] == "cancelled" and after["results"] is None


def test_a_run_taken_over_stores_one_result_set(services, alice, snapshot):
    runs = services.analysis_runs
    run = runs.create(alice, {"snapshot": snapshot["id"], "estimator": "MKDADensity"})
    first, spec, _ = runs.claim(run["id"])
    second, _, _ = runs.claim(run["id"])
    assert first != second
    assert not runs.report(run["id"], first, {"stage": "fitting"})
    assert runs.finish(run["id"], second, {"maps": {}}, {"by": "second"})
    assert not runs.finish(run["id"], first, {"maps": {}}, {"by": "first"})
    assert not runs.fail(run["id"], first, "too late")
    done = runs.get(alice, run["id"])
    assert done["status"] == "succeeded" and done["provenance"] == {"by": "second"}
    assert done["attempts"] == 2 and runs.claim(run["id"]) is None


def test_an_input_problem_fails_the_run_with_the_engine_message(services, alice, snapshot):
    run = services.analysis_runs.create(alice, {"snapshot": snapshot["id"], "estimator": "ALE"})
    services.analysis_runs.claim(run["id"])  # a dead attempt; the next one takes over
    spec = services.analysis_runs.get(alice, run["id"])["spec"]
    spec["parameters"]["unknown_space"] = "nowhere"
    runs = services.analysis_runs
    claim = runs.claim

    def with_bad_space(run_id):
        token, _, snapshot_id = claim(run_id)
        return token, spec, snapshot_id

    runs.claim = with_bad_space
    assert execute(services, run["id"]) == "failed"
    failed = runs.get(alice, run["id"])
    assert failed["status"] == "failed" and "space" in failed["error"]


@pytest.mark.parametrize("estimator", ["MKDADensity", "KDA"])
def test_other_coordinate_estimators_run(services, alice, snapshot, estimator):
    run = services.analysis_runs.create(
        alice, {"snapshot": snapshot["id"], "estimator": estimator,
                "correction": {"method": "fdr"}})
    assert execute(services, run["id"]) == "succeeded"
    results = services.analysis_runs.get(alice, run["id"])["results"]
    assert "z_corr-FDR_method-indep" in results["maps"] and "z_corr-FDR" in results["pictures"]
