"""Uploads to a local NeuroVault: the request through the API, the job run here
(:func:`analysis.publish.execute`), and what NeuroVault ends up holding."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import text

from analysis.publish import execute
from tests.publish.conftest import TOKEN
from tests.publish.expected import map_type, subjects_in_example
from tests.support.runs import run_file


def _publish(client, run_id: str, headers: dict, **body):
    return client.post(f"/api/meta-analyses/{run_id}/neurovault", headers=headers,
                       json={"token": TOKEN, **body})


def _state(client, run_id: str, headers: dict) -> dict:
    response = client.get(f"/api/meta-analyses/{run_id}/neurovault", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _stored_token(engine, publication_id: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT token FROM neurovault_publications WHERE id = :id"),
                            {"id": publication_id}).scalar_one()


def _run_job(services, neurovault, nv_session, publication_id: str) -> str | None:
    return execute(services, publication_id, neurovault.url, session=nv_session)


def test_a_run_is_published_as_a_collection_of_its_maps(
        client, services, engine, alice, finished, neurovault, nv_session):
    asked = _publish(client, finished["id"], alice.headers,
                     cognitive_paradigm_cogatlas="trm_4f24126c22011")
    assert asked.status_code == 202, asked.get_data(as_text=True)
    state = asked.get_json()
    assert state["status"] == "queued"
    assert TOKEN not in asked.get_data(as_text=True)
    assert asked.headers["Location"].endswith(f"/api/meta-analyses/{finished['id']}/neurovault")
    assert _stored_token(engine, state["id"]) == TOKEN  # only until a worker claims it

    assert _run_job(services, neurovault, nv_session, state["id"]) == "succeeded"
    assert _stored_token(engine, state["id"]) is None

    done = _state(client, finished["id"], alice.headers)
    assert done["status"] == "succeeded", done["error"]
    [collection] = neurovault.collections.values()
    assert done["collection_id"] == collection["id"]
    assert done["collection_url"] == f"{neurovault.url}/collections/{collection['id']}/"
    assert collection["owner"] == "alice"
    assert finished["id"] in collection["name"]
    assert collection["description"].startswith(finished["results"]["methods"].strip())
    assert collection["full_dataset_url"].endswith(f"/api/snapshots/{finished['snapshot']}")

    maps = finished["results"]["maps"]
    assert sorted(done["images"]) == sorted(maps)
    for name, image_id in done["images"].items():
        image = neurovault.images[image_id]
        assert image["collection_id"] == collection["id"]
        assert image["map_type"] == map_type(name)
        assert image["analysis_level"] == "M"
        assert image["modality"] == "fMRI-BOLD"
        assert image["number_of_subjects"] == subjects_in_example()
        assert image["cognitive_paradigm_cogatlas"] == "trm_4f24126c22011"
        sent = neurovault.files[image_id]
        assert sent == run_file(client, finished["id"], maps[name])
        assert gzip.decompress(sent)[344:348] == b"n+1\x00"  # a NIfTI-1 header


def test_publishing_again_updates_the_same_collection_and_images(
        client, services, alice, finished, neurovault, nv_session):
    first = _publish(client, finished["id"], alice.headers).get_json()
    _run_job(services, neurovault, nv_session, first["id"])
    before = _state(client, finished["id"], alice.headers)

    again = _publish(client, finished["id"], alice.headers, name="Pain KDA (revised)")
    assert again.status_code == 202
    assert again.get_json()["id"] == first["id"]
    assert _run_job(services, neurovault, nv_session, first["id"]) == "succeeded"
    after = _state(client, finished["id"], alice.headers)

    assert after["collection_id"] == before["collection_id"]
    assert after["images"] == before["images"]
    assert len(neurovault.collections) == 1
    assert len(neurovault.images) == len(finished["results"]["maps"])
    assert neurovault.collections[after["collection_id"]]["name"] == "Pain KDA (revised)"
    assert neurovault.count("POST", "/api/collections/") == 1 + len(before["images"])
    assert neurovault.count("PUT", "/api/images/") == len(before["images"])
    assert after["attempts"] == 2


def test_a_collection_deleted_on_neurovault_is_made_again(
        client, services, alice, finished, neurovault, nv_session):
    first = _publish(client, finished["id"], alice.headers).get_json()
    _run_job(services, neurovault, nv_session, first["id"])
    gone = _state(client, finished["id"], alice.headers)["collection_id"]
    del neurovault.collections[gone]
    for image_id in [i for i, image in neurovault.images.items()
                     if image["collection_id"] == gone]:
        del neurovault.images[image_id]

    _publish(client, finished["id"], alice.headers)
    assert _run_job(services, neurovault, nv_session, first["id"]) == "succeeded"
    state = _state(client, finished["id"], alice.headers)
    assert state["collection_id"] != gone
    assert set(state["collection_id"] == neurovault.images[i]["collection_id"]
               for i in state["images"].values()) == {True}


def test_a_transient_server_error_is_retried(
        client, services, alice, finished, neurovault, nv_session):
    asked = _publish(client, finished["id"], alice.headers).get_json()
    neurovault.fail_next("POST", "/api/collections/", status=500)
    neurovault.fail_next("PUT", "/api/collections/", status=503)
    assert _run_job(services, neurovault, nv_session, asked["id"]) == "succeeded"
    assert ("POST", "/api/collections/", 500) in neurovault.log
    assert len(neurovault.collections) == 1
    assert len(neurovault.images) == len(finished["results"]["maps"])


@pytest.mark.parametrize("fault", ["bad token", "too large", "server down", "name taken"])
def test_a_refusal_is_recorded_clearly_on_the_publication(
        client, services, alice, finished, neurovault, nv_session, fault):
    token = TOKEN
    if fault == "bad token":
        token = "not-a-known-token"
    elif fault == "too large":
        neurovault.max_upload = 20_000
    elif fault == "server down":
        neurovault.fail_next("POST", "/api/collections/", status=500, times=10)
    else:
        neurovault.collections[1] = {"id": 1, "owner": "bob", "name": "Taken",
                                     "url": "", "description": "", "private": False}
    asked = client.post(f"/api/meta-analyses/{finished['id']}/neurovault",
                        headers=alice.headers,
                        json={"token": token, **({"name": "Taken"} if fault == "name taken"
                                                 else {})}).get_json()
    assert _run_job(services, neurovault, nv_session, asked["id"]) == "failed"
    state = _state(client, finished["id"], alice.headers)
    assert state["status"] == "failed"
    error = state["error"]
    expected = {"bad token": ["401", "refused the API token", "Invalid token"],
                "too large": ["413", "too large", "map"],
                "server down": ["500", "after retries"],
                "name taken": ["400", "name", "already exists"]}[fault]
    for words in expected:
        assert words in error
    assert token not in error
    assert token not in json.dumps(state)


def test_publishing_twice_at_once_is_a_conflict(client, alice, finished):
    assert _publish(client, finished["id"], alice.headers).status_code == 202
    busy = _publish(client, finished["id"], alice.headers)
    assert busy.status_code == 409
    assert "already being published" in busy.get_json()["detail"]


def test_who_may_publish_and_what(client, services, alice, bob, admin, snapshot, finished):
    assert _publish(client, finished["id"], bob.headers).status_code == 403
    assert client.post(f"/api/meta-analyses/{finished['id']}/neurovault",
                       json={"token": TOKEN}).status_code == 401
    assert _publish(client, "no-such-run", alice.headers).status_code == 404
    queued = services.analysis_runs.create(alice, {"snapshot": snapshot["id"],
                                                   "estimator": "KDA"})
    unfinished = _publish(client, queued["id"], alice.headers)
    assert unfinished.status_code == 409
    assert "only a finished (succeeded) run" in unfinished.get_json()["detail"]
    assert client.get(f"/api/meta-analyses/{finished['id']}/neurovault",
                      headers=alice.headers).status_code == 404  # nothing published yet
    assert _publish(client, finished["id"], admin.headers).status_code == 202


def test_a_malformed_request_names_the_field_without_repeating_the_token(
        client, alice, finished):
    secret = "has spaces and / slashes"
    response = client.post(f"/api/meta-analyses/{finished['id']}/neurovault",
                           headers=alice.headers, json={"token": secret, "private": "maybe"})
    assert response.status_code == 422
    body = response.get_json()
    assert {"token", "private"} <= set(body["errors"])
    assert secret not in response.get_data(as_text=True)
    missing = client.post(f"/api/meta-analyses/{finished['id']}/neurovault",
                          headers=alice.headers, json={})
    assert missing.status_code == 422
    assert "token" in missing.get_json()["errors"]


def test_a_job_retried_after_its_worker_died_asks_to_publish_again(
        client, services, engine, alice, finished, neurovault, nv_session):
    asked = _publish(client, finished["id"], alice.headers).get_json()
    died = services.neurovault.claim(asked["id"])  # a worker takes the job, then dies
    assert died.token == TOKEN
    assert _stored_token(engine, asked["id"]) is None

    assert _run_job(services, neurovault, nv_session, asked["id"]) == "failed"  # the retry
    state = _state(client, finished["id"], alice.headers)
    assert "publish again" in state["error"]
    assert not services.neurovault.report(died, {"stage": "late"})  # its claim is gone

    _publish(client, finished["id"], alice.headers)
    assert _run_job(services, neurovault, nv_session, asked["id"]) == "succeeded"
