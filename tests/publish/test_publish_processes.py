"""Publishing as people do it: through the API with a real ``manage.py worker`` process, and
with ``manage.py analysis publish`` as a separate process."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import text

from tests.publish.conftest import TOKEN, manage


def test_an_api_publication_is_uploaded_by_a_worker_process(
        client, engine, env, alice, finished, neurovault):
    asked = client.post(f"/api/meta-analyses/{finished['id']}/neurovault",
                        headers=alice.headers, json={"token": TOKEN, "private": True})
    assert asked.status_code == 202
    with engine.connect() as conn:
        args = conn.execute(text("SELECT args FROM procrastinate_jobs WHERE queue_name ="
                                 " 'export'")).scalars().all()
    assert args == [{"publication_id": asked.get_json()["id"]}]  # never the token

    worker = manage(env, "worker", "--queues", "export", "--once")
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert TOKEN not in worker.stdout + worker.stderr

    state = client.get(f"/api/meta-analyses/{finished['id']}/neurovault",
                       headers=alice.headers).get_json()
    assert state["status"] == "succeeded", state["error"]
    assert state["progress"] == {"stage": "done"}
    collection = neurovault.collections[state["collection_id"]]
    assert collection["private"] is True
    assert state["collection_url"] == collection["url"]
    assert sorted(state["images"]) == sorted(finished["results"]["maps"])
    assert {neurovault.images[i]["collection_id"] for i in state["images"].values()} == {
        state["collection_id"]}


def test_a_bad_token_fails_the_worker_job_with_a_clear_error(
        client, env, alice, finished, neurovault):
    client.post(f"/api/meta-analyses/{finished['id']}/neurovault", headers=alice.headers,
                json={"token": "someone-elses-token"})
    worker = manage(env, "worker", "--queues", "export", "--once")
    assert worker.returncode == 0, worker.stderr[-3000:]
    state = client.get(f"/api/meta-analyses/{finished['id']}/neurovault",
                       headers=alice.headers).get_json()
    assert state["status"] == "failed"
    assert "refused the API token (401: Invalid token.)" in state["error"]
    assert not neurovault.collections


def test_the_command_line_writes_a_bundle(env, alice, finished, tmp_path):
    target = tmp_path / "out" / "bundle.zip"
    target.parent.mkdir()
    done = manage(env, "analysis", "publish", finished["id"], "--bundle", str(target),
                   "--as", alice.id, "--site", "https://store.example.org")
    assert done.returncode == 0, done.stderr
    assert f"wrote {target}" in done.stdout
    archive = zipfile.ZipFile(io.BytesIO(target.read_bytes()))
    collection = json.loads(archive.read("collection.json"))
    assert collection["full_dataset_url"] == (
        f"https://store.example.org/api/snapshots/{finished['snapshot']}")
    assert len(json.loads(archive.read("images.json"))) == len(finished["results"]["maps"])
    assert [p.name for p in target.parent.iterdir()] == ["bundle.zip"]


def test_the_command_line_uploads_with_progress_and_updates_on_a_second_run(
        env, alice, finished, neurovault):
    maps = sorted(finished["results"]["maps"])
    first = manage({**env, "NEUROVAULT_TOKEN": TOKEN}, "analysis", "publish", finished["id"],
                    "--neurovault", "--as", alice.id)
    assert first.returncode == 0, first.stderr
    assert "creating the collection" in first.stdout
    for n, name in enumerate(maps, start=1):
        assert f"uploading maps {n}/{len(maps)}: {name}" in first.stdout
    [collection] = neurovault.collections.values()
    assert (f"published run {finished['id']}: collection {collection['id']} at "
            f"{collection['url']} ({len(maps)} maps)") in first.stdout
    assert TOKEN not in first.stdout + first.stderr

    second = manage(env, "analysis", "publish", finished["id"], "--neurovault",
                     "--token", TOKEN, "--as", alice.id)
    assert second.returncode == 0, second.stderr
    assert "updating the collection" in second.stdout
    assert len(neurovault.collections) == 1
    assert len(neurovault.images) == len(maps)
    assert neurovault.count("PUT", "/api/images/") == len(maps)


def test_the_command_line_says_why_an_upload_failed(env, alice, bob, finished, neurovault,
                                                    snapshot):
    no_token = manage(env, "analysis", "publish", finished["id"], "--neurovault",
                       "--as", alice.id)
    assert no_token.returncode == 2
    assert "NEUROVAULT_TOKEN" in no_token.stderr

    refused = manage({**env, "NEUROVAULT_TOKEN": "wrong-token-0000"}, "analysis", "publish",
                      finished["id"], "--neurovault", "--as", alice.id)
    assert refused.returncode == 1
    assert "refused the API token (401" in refused.stderr
    assert "wrong-token-0000" not in refused.stderr + refused.stdout

    neurovault.max_upload = 20_000
    too_big = manage({**env, "NEUROVAULT_TOKEN": TOKEN}, "analysis", "publish",
                      finished["id"], "--neurovault", "--as", alice.id)
    assert too_big.returncode == 1
    assert "too large for the server (413" in too_big.stderr

    not_hers = manage({**env, "NEUROVAULT_TOKEN": TOKEN}, "analysis", "publish",
                       finished["id"], "--neurovault", "--as", bob.id)
    assert not_hers.returncode == 1
    assert "PermissionDenied" in not_hers.stderr
