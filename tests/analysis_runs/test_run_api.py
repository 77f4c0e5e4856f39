"""``/api/meta-analyses``: every bad spec is a 422 naming the field; good ones run to results."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from analysis.runner import execute
from tests.support.factories import study_payload


def _post(client, auth, body):
    return client.post("/api/meta-analyses", json=body, headers=auth)


BAD_SPECS = [
    ({"estimator": "NOPE"}, "estimator"),
    ({"estimator": "ALE", "parameters": {"fwhm": -1}}, "parameters.fwhm"),
    ({"estimator": "ALE", "parameters": {"fwhm": 1000}}, "parameters.fwhm"),
    ({"estimator": "ALE", "parameters": {"bogus": 1}}, "parameters.bogus"),
    ({"estimator": "ALE", "parameters": ["fwhm"]}, "parameters"),
    ({"estimator": "MKDADensity", "parameters": {"r": "ten"}}, "parameters.r"),
    ({"estimator": "ALE", "parameters": {"null": "exact"}}, "parameters.null"),
    ({"estimator": "ALE", "correction": {"method": "montecarlo", "n_iters": 0}},
     "correction.n_iters"),
    ({"estimator": "ALE", "correction": {"method": "montecarlo", "voxel_thresh": 0.5}},
     "correction.voxel_thresh"),
    ({"estimator": "ALE", "correction": {"method": "magic"}}, "correction.method"),
    ({"estimator": "ALE", "correction": "fdr"}, "correction"),
    ({"estimator": "Fishers", "correction": {"method": "montecarlo"}}, "correction.method"),
    ({"estimator": "Fishers"}, "snapshot"),
    ({"estimator": "DerSimonianLaird"}, "snapshot"),
]


@pytest.mark.parametrize(("spec", "field"), BAD_SPECS)
def test_a_bad_spec_is_422_naming_the_field(client, auth, snapshot, spec, field):
    response = _post(client, auth, {"snapshot": snapshot["id"], **spec})
    assert response.status_code == 422, response.json
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in response.json["errors"], response.json
    assert client.get("/api/meta-analyses").json["results"] == []


def test_a_missing_or_unknown_snapshot_is_422(client, auth):
    for body in ({"estimator": "ALE"}, {"snapshot": "0" * 64, "estimator": "ALE"},
                 {"snapshot": 5, "estimator": "ALE"}):
        response = _post(client, auth, body)
        assert response.status_code == 422 and "snapshot" in response.json["errors"]
    assert client.post("/api/meta-analyses", json=[1], headers=auth).status_code == 422


def test_ale_on_a_snapshot_without_sample_sizes_is_422_unless_the_kernel_is_fixed(
        client, auth, services, alice):
    payload = study_payload(2, 5, metadata=None)
    for analysis in payload["analyses"]:
        analysis["metadata"] = None
    study = services.studies.create(alice, payload)
    studyset = services.studysets.create(alice, {"name": "no n", "studies": [study.id]})
    bare, _ = services.snapshots.create(alice, studyset.id)
    assert bare["inputs"]["with_sample_size"] == 0
    response = _post(client, auth, {"snapshot": bare["id"], "estimator": "ALE"})
    assert response.status_code == 422
    assert "sample size" in response.json["errors"]["snapshot"][0]
    fixed = _post(client, auth, {"snapshot": bare["id"], "estimator": "ALE",
                                 "parameters": {"fwhm": 10}})
    assert fixed.status_code == 202


def test_an_accepted_run_is_queued_run_and_its_files_download(client, auth, services,
                                                              snapshot):
    response = _post(client, auth, {
        "snapshot": snapshot["id"], "estimator": "ALE",
        "correction": {"method": "montecarlo", "n_iters": 30, "seed": 1}})
    assert response.status_code == 202, response.json
    run = response.json
    assert response.headers["Location"].endswith(f"/api/meta-analyses/{run['id']}")
    assert run["status"] == "queued" and run["spec"]["correction"]["voxel_thresh"] == 0.001
    # The job was written with the run, in its transaction.
    with services.session_factory() as session:
        job = session.execute(text(
            "SELECT j.task_name, j.args FROM procrastinate_jobs j"
            " JOIN analysis_runs r ON r.job_id = j.id WHERE r.id = :id"), {"id": run["id"]}
        ).one()
    assert job.task_name == "analysis.run_meta_analysis" and job.args == {"run_id": run["id"]}
    assert execute(services, run["id"]) == "succeeded"
    done = client.get(f"/api/meta-analyses/{run['id']}").json
    assert done["status"] == "succeeded"
    picture = done["results"]["pictures"]["z_uncorrected"]
    png = client.get(f"/api/meta-analyses/{run['id']}/files/{picture}")
    assert png.status_code == 200 and png.mimetype == "image/png"
    nifti = client.get(f"/api/meta-analyses/{run['id']}/files/{done['results']['maps']['z']}")
    assert nifti.mimetype == "application/gzip" and nifti.data[:2] == b"\x1f\x8b"
    other = "0" * 64 + ".png"
    assert client.get(f"/api/meta-analyses/{run['id']}/files/{other}").status_code == 404
    assert client.post(f"/api/meta-analyses/{run['id']}/cancel", headers=auth
                       ).status_code == 409


def test_cancel_and_list(client, auth, snapshot):
    run = _post(client, auth, {"snapshot": snapshot["id"], "estimator": "KDA"}).json
    assert client.post(f"/api/meta-analyses/{run['id']}/cancel").status_code == 401
    cancelled = client.post(f"/api/meta-analyses/{run['id']}/cancel", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    listed = client.get("/api/meta-analyses?status=cancelled").json["results"]
    assert [r["id"] for r in listed] == [run["id"]]
    assert client.get("/api/meta-analyses?status=queued").json["results"] == []
    assert client.get("/api/meta-analyses/nope").status_code == 404


def test_estimators_are_listed_with_their_parameters(client):
    body = client.get("/api/meta-analyses/estimators").json
    ale = next(e for e in body["estimators"] if e["name"] == "ALE")
    assert {p["name"] for p in ale["parameters"]} >= {"fwhm", "sample_size", "null"}
    assert "montecarlo" in ale["corrections"]
    assert {p["name"] for p in body["corrections"]["montecarlo"]} == {
        "n_iters", "voxel_thresh", "seed"}
