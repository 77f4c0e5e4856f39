"""Publishing a term's maps to NeuroVault: the bundle through the API, and the upload through
the API with a real ``manage.py worker`` process and through ``manage.py terms publish``."""

from __future__ import annotations

import io
import json
import zipfile
from urllib.parse import quote

import pytest

from tests.publish.conftest import TOKEN, manage
from tests.publish.expected import map_type
from tests.support.terms import build_subset, term_selection

TERM = "activations"


@pytest.fixture
def built(services, tmp_path) -> dict:
    """Term maps of the Neurosynth subset, built in the fixtures' file store."""
    return build_subset(services, tmp_path / "var")


def _term(client, term: str = TERM) -> dict:
    return client.get(f"/api/terms/{quote(term)}?top=1").get_json()


def test_a_term_bundle_holds_its_maps_with_neurovault_metadata(client, alice, built):
    term = _term(client)
    response = client.get(f"/api/terms/{TERM}/neurovault.zip?private=true",
                          headers=alice.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    assert built["id"] in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    collection = json.loads(archive.read("collection.json"))
    images = json.loads(archive.read("images.json"))

    page = f"http://localhost/api/terms/{TERM}?feature_set={built['feature_set']}"
    assert collection["full_dataset_url"] == page
    assert collection["private"] is True
    for said in (f"'{TERM}'", built["id"], built["feature_set"], page,
                 f"{len(term_selection(TERM))} studies", "association", "FDR"):
        assert said in collection["description"]
    assert TERM in collection["name"] and built["id"] in collection["name"]
    assert sorted(i["file"] for i in images) == sorted(f"maps/{n}.nii.gz" for n in term["maps"])
    for image in images:
        name = image["file"].removeprefix("maps/").removesuffix(".nii.gz")
        assert archive.read(image["file"]) == client.get(term["map_urls"][name]["nii.gz"]).data
        assert image["map_type"] == map_type(name)
        assert image["analysis_level"] == "M"
        assert image["modality"] == "fMRI-BOLD"
        assert TERM in image["description"] and built["id"] in image["description"]
    assert {"Z", "P"} == {i["map_type"] for i in images}
    assert "manage.py terms publish" in archive.read("README.md").decode()


def test_an_expression_has_a_bundle_too(client, alice, built):
    response = client.get("/api/terms/activations AND NOT acquisition/neurovault.zip",
                          headers=alice.headers)
    assert response.status_code == 200
    collection = json.loads(zipfile.ZipFile(io.BytesIO(response.data))
                            .read("collection.json"))
    assert "boolean expression of terms 'activations AND NOT acquisition'" in (
        collection["description"])


def test_an_unknown_term_is_a_404_and_anonymous_callers_must_sign_in(client, alice, built):
    for response in (client.get("/api/terms/activationz/neurovault.zip", headers=alice.headers),
                     client.post("/api/terms/activationz/neurovault", headers=alice.headers,
                                 json={"token": TOKEN})):
        assert response.status_code == 404
        assert "did you mean 'activations'" in response.get_json()["detail"]
    assert client.get(f"/api/terms/{TERM}/neurovault", headers=alice.headers).status_code == 404
    assert client.get(f"/api/terms/{TERM}/neurovault.zip").status_code == 401
    assert client.post(f"/api/terms/{TERM}/neurovault", json={"token": TOKEN}).status_code == 401
    unknown_set = client.get(f"/api/terms/{TERM}/neurovault.zip?feature_set=nothing",
                             headers=alice.headers)
    assert unknown_set.status_code == 404
    no_token = client.post(f"/api/terms/{TERM}/neurovault", headers=alice.headers, json={})
    assert no_token.status_code == 422 and "token" in no_token.get_data(as_text=True)


def test_a_term_is_uploaded_by_a_worker_process_and_republished_as_an_update(
        client, env, alice, built, neurovault):
    maps = sorted(_term(client)["maps"])
    url = f"/api/terms/{TERM}/neurovault?feature_set={built['feature_set']}"
    for attempt in (1, 2):
        asked = client.post(url, headers=alice.headers, json={"token": TOKEN})
        assert asked.status_code == 202, asked.get_data(as_text=True)
        assert asked.get_json()["kind"] == "term-map"
        worker = manage(env, "worker", "--queues", "export", "--once")
        assert worker.returncode == 0, worker.stderr[-3000:]
        assert TOKEN not in worker.stdout + worker.stderr
        state = client.get(url, headers=alice.headers).get_json()
        assert state["status"] == "succeeded", state["error"]
        assert state["attempts"] == attempt and sorted(state["images"]) == maps
        assert len(neurovault.collections) == 1  # the second time, an update
        assert len(neurovault.images) == len(maps)
        assert neurovault.count("PUT", "/api/images/") == len(maps) * (attempt - 1)
    collection = neurovault.collections[state["collection_id"]]
    assert TERM in collection["description"]
    for name, image_id in state["images"].items():
        sent = neurovault.images[image_id]
        assert (sent["map_type"], sent["analysis_level"]) == (map_type(name), "M")
        assert sent["collection_id"] == state["collection_id"]


def test_the_command_line_publishes_a_term(env, alice, built, neurovault, tmp_path):
    target = tmp_path / "term.zip"
    wrote = manage(env, "terms", "publish", TERM, "--bundle", str(target), "--as", alice.id,
                    "--site", "https://store.example.org")
    assert wrote.returncode == 0, wrote.stderr
    collection = json.loads(zipfile.ZipFile(target).read("collection.json"))
    assert collection["full_dataset_url"].startswith(
        f"https://store.example.org/api/terms/{TERM}?feature_set=")

    for _ in range(2):
        sent = manage({**env, "NEUROVAULT_TOKEN": TOKEN}, "terms", "publish", TERM,
                       "--neurovault", "--as", alice.id)
        assert sent.returncode == 0, sent.stderr
        assert f"published term '{TERM}': collection" in sent.stdout
    assert "updating the collection" in sent.stdout
    assert len(neurovault.collections) == 1
    assert neurovault.count("PUT", "/api/images/") == len(neurovault.images)

    unknown = manage({**env, "NEUROVAULT_TOKEN": TOKEN}, "terms", "publish", "activationz",
                      "--neurovault", "--as", alice.id)
    assert unknown.returncode == 1 and "did you mean 'activations'" in unknown.stderr
