"""With ``NEUROSTORE_FILES_URL=s3://...`` every file goes to the bucket: maps an import
brings in (a NIDM-Results pack too), the snapshot, a worker's results, and the API serves
them (streamed, or as a redirect to a presigned address). Each command runs as a separate
process with its own empty data folder; only the database and the bucket are shared."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import requests

from neurostore.app import create_app
from neurostore.config import Settings
from tests.object_store.nodes import local_files, manage
from tests.support.statmaps import nidm_pack, on_mni_grid, pain
from tests.support.users import make_caller

pytestmark = pytest.mark.slow


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pain_import(tmp_path, replay) -> tuple[Path, str, set[str]]:
    """Three pain studies' z maps (two loose, one in a NIDM pack) served over HTTP, and the
    NIMADS file naming them; the file, the maps' base URL and the sha256 of each file the
    import must store (the pack too: it is read back from the store)."""
    data = tmp_path / "data"
    loose = [on_mni_grid(pain(n, "z"), data / f"pain_{n:02d}_z.nii.gz") for n in (1, 2)]
    packed = {k: on_mni_grid(pain(3, k), tmp_path / "packing" / f"{k}.nii.gz")
              for k in ("t", "z")}
    pack = nidm_pack(data / "pain_03.nidm.zip", packed)
    images = [[{"url": p.name, "value_type": "Z", "space": "MNI"}] for p in loose]
    images.append([{"url": pack.name, "space": "MNI"}])
    document = {"id": "pain_s3", "name": "pain through S3", "studies": [
        {"id": f"pain_{n}", "name": f"pain {n}", "analyses": [
            {"id": "1", "name": "pain vs rest", "images": listed, "points": []}]}
        for n, listed in enumerate(images, 1)]}
    path = tmp_path / "import" / "pain.json"
    path.parent.mkdir()
    path.write_text(json.dumps(document))
    for served in (*loose, pack):
        replay.add(f"https://neurovault.org/nimads/{served.name}", served.read_bytes())
    shas = {_sha(p.read_bytes()) for p in [*loose, *packed.values(), pack]}
    return path, f"{replay.https_url}/nimads/", shas


def test_import_snapshot_run_and_download_all_go_through_the_bucket(
        node_env, s3_server, s3_bucket, services, session_factory, tmp_path, monkeypatch,
        replay):
    document, maps_url, shas = _pain_import(tmp_path, replay)
    cli = node_env("cli")
    done = manage(cli, "ingest", "nimads", str(document), "--images", maps_url)
    studyset = re.search(r"^studyset (\w+)$", done, re.MULTILINE).group(1)
    keys = s3_server.keys(s3_bucket)
    assert {re.sub(r"^files/|\..*$", "", k) for k in keys} >= shas
    assert all(k.startswith("files/") for k in keys)

    user = make_caller(services, session_factory, "user", "researcher")
    out = manage(cli, "export", "snapshot", studyset, "--as", user.id)
    snapshot = re.search(r"snapshot (\w+)", out).group(1)
    queued = manage(cli, "analysis", "run", snapshot, "--estimator", "Stouffers",
                    "--correction", "fdr", "--as", user.id)
    run_id = re.search(r"queued run (\w+)", queued).group(1)

    # A worker on another (empty) data folder reads the snapshot and maps from the bucket.
    worker = node_env("worker")
    manage(worker, "worker", "--queues", "analysis", "--once")
    status = manage(worker, "analysis", "status", run_id)
    assert "succeeded" in status
    assert f"s3://{s3_bucket}/files/" in status  # where the results are, for people
    for folder in ("cli", "worker"):
        assert local_files(tmp_path / folder) == []

    # An API process on a third data folder serves them.
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(database_url=cli["DATABASE_URL"], data_dir=tmp_path / "api",
                        files_url=cli["NEUROSTORE_FILES_URL"])
    api = create_app(settings).test_client()
    run = api.get(f"/api/meta-analyses/{run_id}", headers=user.headers).json
    assert run["status"] == "succeeded" and run["results"]["n_experiments"] == 3
    bucket = s3_server.client()
    for name in (*run["results"]["maps"].values(), run["results"]["methods_file"]):
        got = api.get(f"/api/meta-analyses/{run_id}/files/{name}", headers=user.headers)
        assert got.status_code == 200
        assert _sha(got.data) == name.split(".")[0]
        assert int(got.headers["Content-Length"]) == len(got.data)
        stored = bucket.get_object(Bucket=s3_bucket, Key=f"files/{name}")["Body"].read()
        assert got.data == stored
    export = api.get(f"/api/snapshots/{snapshot}/export?format=nimads", headers=user.headers)
    assert export.status_code == 200 and _sha(export.data) == snapshot

    # Presigning: the API answers with a redirect; the bytes come from the bucket.
    presigning = create_app(Settings(**{**settings.__dict__, "files_presign_seconds": 60}))
    z = run["results"]["maps"]["z"]
    moved = presigning.test_client().get(f"/api/meta-analyses/{run_id}/files/{z}",
                                         headers=user.headers)
    assert moved.status_code == 302 and moved.headers["Cache-Control"] == "no-store"
    assert moved.headers["Location"].startswith(f"{s3_server.endpoint}/{s3_bucket}/files/{z}?")
    fetched = requests.get(moved.headers["Location"], timeout=30)
    assert fetched.status_code == 200 and _sha(fetched.content) == z.split(".")[0]
    assert local_files(tmp_path / "api") == []
