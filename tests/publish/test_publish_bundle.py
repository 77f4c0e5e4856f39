"""``GET /api/meta-analyses/{id}/neurovault.zip``: an upload-ready bundle of a finished run."""

from __future__ import annotations

import io
import json
import zipfile

from tests.publish.expected import map_type, subjects_in_example
from tests.support.runs import run_file


def _bundle(client, run_id: str, headers: dict, query: str = ""):
    return client.get(f"/api/meta-analyses/{run_id}/neurovault.zip{query}", headers=headers)


def test_the_bundle_holds_every_map_with_neurovault_metadata(client, alice, finished, snapshot):
    response = _bundle(client, finished["id"], alice.headers,
                       "?cognitive_paradigm_cogatlas=trm_4f24126c22011")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    assert f"neurovault-{finished['id']}.zip" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    collection = json.loads(archive.read("collection.json"))
    images = json.loads(archive.read("images.json"))
    methods = archive.read("methods.txt").decode()

    assert methods == finished["results"]["methods"]
    assert collection["description"].startswith(methods.strip())
    assert finished["id"] in collection["name"]
    assert collection["private"] is False
    snapshot_url = f"http://localhost/api/snapshots/{snapshot['id']}"
    assert collection["full_dataset_url"] == snapshot_url
    assert f"http://localhost/api/meta-analyses/{finished['id']}" in collection["description"]

    maps = finished["results"]["maps"]
    assert sorted(i["file"] for i in images) == sorted(f"maps/{n}.nii.gz" for n in maps)
    for image in images:
        name = image["file"].removeprefix("maps/").removesuffix(".nii.gz")
        assert archive.read(image["file"]) == run_file(client, finished["id"], maps[name])
        assert image["map_type"] == map_type(name)
        assert image["analysis_level"] == "M"
        assert image["modality"] == "fMRI-BOLD"
        assert image["number_of_subjects"] == subjects_in_example()
        assert image["cognitive_paradigm_cogatlas"] == "trm_4f24126c22011"
    assert {"Z", "P"} <= {i["map_type"] for i in images}
    assert "neurovault.org" in archive.read("README.md").decode()


def test_a_private_bundle_with_its_own_name(client, alice, finished):
    response = _bundle(client, finished["id"], alice.headers, "?name=Pain%20KDA&private=true")
    assert response.status_code == 200
    collection = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("collection.json"))
    assert collection["name"] == "Pain KDA"
    assert collection["private"] is True


def test_only_the_owner_or_an_admin_gets_a_bundle(client, alice, bob, admin, finished):
    assert _bundle(client, finished["id"], admin.headers).status_code == 200
    refused = _bundle(client, finished["id"], bob.headers)
    assert refused.status_code == 403  # the run is public: bob may read it, not publish it
    assert client.get(f"/api/meta-analyses/{finished['id']}/neurovault.zip").status_code == 401
    assert _bundle(client, "no-such-run", alice.headers).status_code == 404


def test_an_unfinished_run_has_no_bundle(client, services, alice, snapshot):
    queued = services.analysis_runs.create(alice, {"snapshot": snapshot["id"],
                                                   "estimator": "KDA"})
    response = _bundle(client, queued["id"], alice.headers)
    assert response.status_code == 409
    assert "queued" in response.get_json()["detail"]
    assert "only a finished" in response.get_json()["detail"]


def test_a_bad_option_is_named(client, alice, finished):
    response = _bundle(client, finished["id"], alice.headers,
                       "?cognitive_paradigm_cogatlas=pain")
    assert response.status_code == 400
    assert "cognitive_paradigm_cogatlas" in json.dumps(response.get_json())
