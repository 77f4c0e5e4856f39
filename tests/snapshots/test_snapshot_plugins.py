"""The store on its own, with no plugins installed: snapshots freeze and export as NIMADS;
the other formats and the meta-analyses, which the analysis package plugs in, are refused
with errors that say so, and the OpenAPI document offers no estimator."""

from __future__ import annotations

from neurostore.app import create_app
from neurostore.config import Settings
from neurostore.plugins import Plugins, installed
from neurostore.services.actors import SYSTEM
from neurostore.services.nimads import import_studyset
from neurostore.services.registry import build_services
from tests.support.examples import example


def test_the_installed_plugins_are_the_analysis_package():
    plugins = installed()
    assert set(plugins.writers) == {"nimare", "sleuth-mni", "sleuth-tal", "tsv", "release"}
    assert plugins.runs is not None and "ALE" in {
        e["name"] for e in plugins.runs.catalogue()["estimators"]}


def test_without_plugins_only_nimads_and_no_runs(session_factory, files, alice):
    services = build_services(session_factory, files=files, plugins=Plugins())
    made = import_studyset(services, alice, example("nimads_studyset.json"),
                           example("nimads_annotation.json"))
    client = create_app(Settings(), services=services).test_client()
    auth = {"Authorization": f"Bearer {services.users.issue_token(SYSTEM, alice.id).token}"}
    snapshot = client.post("/api/snapshots", json={"studyset": made.studyset.id},
                           headers=auth).json
    assert snapshot["n_studies"] > 0
    nimads = client.get(f"/api/snapshots/{snapshot['id']}/export?format=nimads", headers=auth)
    assert nimads.status_code == 200 and nimads.data.startswith(b"{")
    tsv = client.get(f"/api/snapshots/{snapshot['id']}/export?format=tsv", headers=auth)
    assert tsv.status_code == 422 and "known: nimads" in tsv.json["detail"] + str(tsv.json)
    run = client.post("/api/meta-analyses", json={"snapshot": snapshot["id"],
                                                  "estimator": "ALE"}, headers=auth)
    assert run.status_code == 422 and "no estimators" in str(run.json)
    assert client.get("/api/meta-analyses/estimators").json["estimators"] == []
    document = client.get("/api/openapi.json").json
    assert document["components"]["schemas"]["MetaAnalysisRequest"] == {"oneOf": []}
