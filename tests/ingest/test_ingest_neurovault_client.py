"""NeuroVault client against the local replay of recorded responses, with injected faults."""

from __future__ import annotations

import hashlib
import json

import pytest

from ingest.http import FetchError
from ingest.neurovault.client import NeuroVaultClient
from ingest.neurovault.nifti import NiftiError, check_nifti
from tests.support.data import DATA, PAIN
from tests.support.replay import Fault

API = DATA / "neurovault" / "api"
STATMAPS = PAIN
PAGE1 = "https://neurovault.org/api/collections.json"
PAGE2_HTTP = "http://neurovault.org/api/collections.json?limit=100&offset=100"
PAGE2 = "https://neurovault.org/api/collections.json?limit=100&offset=100"
IMAGES_555 = "https://neurovault.org/api/collections/555/images/?format=json"
MAP_FILE = "https://neurovault.org/media/images/1425/pain_01_t.nii.gz"


def _recorded(name):
    return json.loads((API / name).read_text())


def _serve_single_image(
    replay, file_url="http://neurovault.org/media/images/1425/pain_01_t.nii.gz"
):
    record = dict(_recorded("collections_1197_images.json")["results"][0], id=99, file=file_url)
    replay.add("https://neurovault.org/api/images/99/?format=json", json.dumps(record).encode())
    return record


def test_pages_follow_next_through_the_http_redirect(replay, nv_client):
    records = list(nv_client.iter_collections(max_items=200))
    expected = [r["id"] for r in _recorded("collections_page1.json")["results"]]
    expected += [r["id"] for r in _recorded("collections_limit100_offset100.json")["results"]]
    assert [r["id"] for r in records] == expected
    assert replay.requests == [
        ("https", "/api/collections.json"),
        ("http", "/api/collections.json?limit=100&offset=100"),
        ("https", "/api/collections.json?limit=100&offset=100"),
    ]


def test_max_items_stops_without_fetching_more_pages(replay, nv_client):
    assert len(list(nv_client.iter_collections(max_items=30))) == 30
    assert replay.count(PAGE2) == 0


def test_page_size_is_sent_as_limit(replay, nv_client):
    with pytest.raises(FetchError, match="404"):
        next(nv_client.iter_collections(page_size=5000))
    assert replay.requests == [("https", "/api/collections.json?limit=1000")]


def test_collection_images(nv_client):
    images = list(nv_client.iter_collection_images(555))
    assert len(images) == 20
    assert {i["collection_id"] for i in images} == {555}


def test_single_image_and_collection(replay, nv_client):
    _serve_single_image(replay)
    collection = _recorded("collections_limit100_offset100.json")["results"][-1]
    uri = f"https://neurovault.org/api/collections/{collection['id']}/?format=json"
    replay.add(uri, json.dumps(collection).encode())
    assert nv_client.image(99)["id"] == 99
    assert nv_client.collection(collection["id"])["DOI"] == collection["DOI"]


def test_unknown_collection_is_a_clear_error(nv_client):
    with pytest.raises(FetchError, match="404"):
        list(nv_client.iter_collection_images(424242))


@pytest.mark.parametrize("fault", [Fault.DROP, Fault.ERROR_500, Fault.SLOW, Fault.TRUNCATE])
def test_a_transient_fault_is_retried(replay, nv_client, fault):
    replay.inject(IMAGES_555, fault)
    assert len(list(nv_client.iter_collection_images(555))) == 20
    assert replay.count(IMAGES_555) == 2  # the faulty request and one retry


def test_faults_on_a_redirected_page_are_retried(replay, nv_client):
    replay.inject(PAGE2_HTTP, Fault.DROP)
    replay.inject(PAGE2, Fault.ERROR_500, Fault.TRUNCATE)
    assert len(list(nv_client.iter_collections(max_items=200))) == 200


def test_persistent_500_fails_after_the_retries(replay, nv_client):
    replay.inject(IMAGES_555, *[Fault.ERROR_500] * 10)
    with pytest.raises(FetchError, match="500"):
        list(nv_client.iter_collection_images(555))
    assert replay.count(IMAGES_555) == 4  # the first try and 3 retries


def test_persistently_truncated_body_fails_after_the_attempts(replay, nv_client):
    replay.inject(IMAGES_555, *[Fault.TRUNCATE] * 10)
    with pytest.raises(FetchError, match="3 attempts"):
        list(nv_client.iter_collection_images(555))
    assert replay.count(IMAGES_555) == 3


def test_download_is_content_addressed_and_checks(replay, nv_client, tmp_path):
    content = (STATMAPS / "pain_01_t.nii.gz").read_bytes()
    replay.add(MAP_FILE, content)
    _serve_single_image(replay)
    record = nv_client.image(99)
    saved = nv_client.download_image(record, tmp_path)
    assert saved.sha256 == hashlib.sha256(content).hexdigest()
    assert saved.path == tmp_path / f"{saved.sha256}.nii.gz"
    assert saved.size == len(content)
    assert saved.path.read_bytes() == content
    assert check_nifti(saved.path).space == "MNI"
    # http:// file URL -> 301 -> https
    assert replay.requests[-2:] == [
        ("http", "/media/images/1425/pain_01_t.nii.gz"),
        ("https", "/media/images/1425/pain_01_t.nii.gz"),
    ]
    again = nv_client.download_image(record["file"], tmp_path)
    assert again == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved.path.name]


@pytest.mark.parametrize("fault", [Fault.DROP, Fault.TRUNCATE, Fault.SLOW, Fault.ERROR_500])
def test_download_survives_a_fault_and_leaves_no_partial_file(replay, nv_client, tmp_path, fault):
    content = (STATMAPS / "pain_01_z.nii.gz").read_bytes()
    replay.add(MAP_FILE, content)
    replay.inject(MAP_FILE, fault)
    saved = nv_client.download_image(
        MAP_FILE.replace("https://neurovault.org", replay.https_url), tmp_path
    )
    assert saved.path.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == [saved.path.name]


def test_download_that_keeps_failing_leaves_nothing(replay, nv_client, tmp_path):
    replay.add(MAP_FILE, (STATMAPS / "pain_01_z.nii.gz").read_bytes())
    replay.inject(MAP_FILE, *[Fault.TRUNCATE] * 5)
    with pytest.raises(FetchError, match="3 attempts"):
        nv_client.download_image(
            MAP_FILE.replace("https://neurovault.org", replay.https_url), tmp_path
        )
    assert list(tmp_path.iterdir()) == []


def test_corrupt_nifti_downloads_but_fails_the_check(replay, nv_client, tmp_path):
    content = (STATMAPS / "pain_01_t.nii.gz").read_bytes()
    replay.add(MAP_FILE, content[: len(content) // 2])  # served whole, but a cut gzip
    saved = nv_client.download_image(
        MAP_FILE.replace("https://neurovault.org", replay.https_url), tmp_path
    )
    with pytest.raises(NiftiError, match="cannot be read"):
        check_nifti(saved.path)


def test_image_record_without_file_url(nv_client, tmp_path):
    with pytest.raises(FetchError, match="no file URL"):
        nv_client.download_image({"id": 5, "file": None}, tmp_path)


def test_download_keeps_bytes_sent_with_content_encoding_gzip(replay, nv_client, tmp_path):
    content = (STATMAPS / "pain_01_beta.nii.gz").read_bytes()
    replay.add(MAP_FILE, content, headers={"Content-Encoding": "gzip"})
    saved = nv_client.download_image(
        MAP_FILE.replace("https://neurovault.org", replay.https_url), tmp_path
    )
    assert saved.path.read_bytes() == content
    assert saved.sha256 == hashlib.sha256(content).hexdigest()
    assert check_nifti(saved.path).shape == (10, 10, 10)


def test_a_mirror_base_url_also_serves_the_map_files_and_pages():
    mirror = NeuroVaultClient("http://127.0.0.1:8123/neurovault/")
    public = "https://neurovault.org/media/images/1197/WAY_VT_MNI.nii.gz?x=1"
    assert mirror.local(public) == \
        "http://127.0.0.1:8123/neurovault/media/images/1197/WAY_VT_MNI.nii.gz?x=1"
    assert mirror.local(public.replace("https:", "http:")) == mirror.local(public)
    elsewhere = "https://example.org/maps/a.nii.gz"
    assert mirror.local(elsewhere) == elsewhere
    assert NeuroVaultClient().local(public) == public
