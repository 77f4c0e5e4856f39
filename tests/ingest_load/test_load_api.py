"""``/api/ingest-runs``: admins queue runs (with their jobs) and watch them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ingest import tasks
from ingest.sources import SOURCES, default_parameters
from neurostore.schemas import ingest_runs
from tests.support.data import NQ_PARAMS, SLEUTH_PARAMS


def _jobs(session_factory):
    with session_factory() as s:
        return s.execute(text("SELECT task_name, queue_name, args FROM procrastinate_jobs"
                              " ORDER BY id")).all()


def test_admin_queues_a_run_and_its_job(client, admin, session_factory):
    body = {"source": "neuroquery", "parameters": NQ_PARAMS, "batch_size": 50}
    response = client.post("/api/ingest-runs", json=body, headers=admin.headers)
    assert response.status_code == 202, response.json
    run = response.json
    assert (run["status"], run["source"], run["parameters"]) == ("queued", "neuroquery",
                                                                 NQ_PARAMS)
    assert response.headers["Location"].endswith(f"/api/ingest-runs/{run['id']}")
    (job,) = _jobs(session_factory)
    assert (job.task_name, job.queue_name) == ("ingest.neuroquery", "ingest")
    assert job.args == {"run_id": run["id"], "batch_size": 50}

    listed = client.get("/api/ingest-runs?source=neuroquery", headers=admin.headers).json
    assert [r["id"] for r in listed["results"]] == [run["id"]]
    one = client.get(f"/api/ingest-runs/{run['id']}", headers=admin.headers)
    assert one.status_code == 200 and one.json["status"] == "queued"


def test_a_second_run_of_a_busy_source_is_409(client, admin, session_factory):
    body = {"source": "sleuth", "parameters": SLEUTH_PARAMS}
    assert client.post("/api/ingest-runs", json=body, headers=admin.headers).status_code == 202
    busy = client.post("/api/ingest-runs", json=body, headers=admin.headers)
    assert busy.status_code == 409 and "still active" in busy.json["detail"]
    assert len(_jobs(session_factory)) == 1  # the refused run enqueued nothing
    other = client.post("/api/ingest-runs", json={"source": "neurovault"},
                        headers=admin.headers)
    assert other.status_code == 202
    assert other.json["parameters"] == {}


def test_only_admins(client, alice):
    body = {"source": "neuroquery"}
    assert client.post("/api/ingest-runs", json=body).status_code == 401
    assert client.post("/api/ingest-runs", json=body, headers=alice.headers).status_code == 403
    # Who may start a run is answered before what was sent is judged.
    bad = {"source": "neuroquery", "batch_size": 316.5}
    assert client.post("/api/ingest-runs", json=bad).status_code == 401
    assert client.post("/api/ingest-runs", json=bad, headers=alice.headers).status_code == 403
    assert client.get("/api/ingest-runs", headers=alice.headers).status_code == 403
    assert client.get("/api/ingest-runs/1").status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({}, "source"),
    ({"source": "pubmeds"}, "source"),
    ({"source": "pubmed", "parameters": {"pmids": ["9997", "x"]}}, "parameters.pmids.1"),
    ({"source": "pubmed", "parameters": {"pmids": [""]}}, "parameters.pmids"),
    ({"source": "pubmed", "parameters": {"since": 2020}}, "parameters.since"),
    ({"source": "pubmed", "parameters": {"limit": 0}}, "parameters.limit"),
    ({"source": "sleuth"}, "parameters.paths"),
    ({"source": "sleuth", "parameters": {"paths": []}}, "parameters.paths"),
    ({"source": "neurovault", "parameters": {"collection_ids": ["x"]}},
     "parameters.collection_ids.0"),
    ({"source": "neurovault", "parameters": {"max_collections": 0}}, "parameters.max_collections"),
    ({"source": "neurovault", "parameters": {"base_url": "ftp://x"}}, "parameters.base_url"),
    ({"source": "neuroquery", "parameters": {"coords": "x"}}, "parameters.coords"),
    ({"source": "nimads", "parameters": {"studyset": "s.json"}, "batch_size": 0}, "batch_size"),
    ({"source": "nimads", "parameters": {"studyset": "s.json", "images": ""}},
     "parameters.images"),
    ({"source": "nimads", "parameters": {"studyset": "s.json", "fetch_images": "maybe"}},
     "parameters.fetch_images"),
])
def test_bad_bodies_are_422_naming_the_field(client, admin, body, field):
    response = client.post("/api/ingest-runs", json=body, headers=admin.headers)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_unknown_run_is_404(client, admin):
    assert client.get("/api/ingest-runs/999", headers=admin.headers).status_code == 404


def test_the_api_names_the_tasks_and_parameters_the_loaders_know():
    for source in SOURCES:
        assert f"ingest.{source}" == tasks.task_name(source)
        fields = set(ingest_runs.PARAMETERS[source]().fields)
        assert set(default_parameters(source)) <= fields
