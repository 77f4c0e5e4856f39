"""The content-addressed file store: one contract, run on both backends (a local folder, and
an S3 bucket on a real S3 API server on localhost)."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import pytest
import requests

from neurostore.config import Settings, SettingsError
from neurostore.storage import (
    CorruptFile,
    FileStore,
    LocalFileStore,
    S3FileStore,
    ScratchFileStore,
    open_file_store,
)
from neurostore.storage.s3 import CACHE_GRACE_SECONDS, MULTIPART_THRESHOLD


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> FileStore:
    """An empty store of each kind."""
    if request.param == "local":
        return LocalFileStore(tmp_path / "files")
    server = request.getfixturevalue("s3_server")
    return S3FileStore(server.new_bucket(), "some/prefix", cache=tmp_path / "cache",
                       client=server.client())


def stored_copies(store: FileStore) -> list[str]:
    """What the backend holds: files under the folder, or keys in the bucket."""
    if isinstance(store, S3FileStore):
        pages = store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]
    return [str(p) for p in store.root.rglob("*") if p.is_file()]


class Trickle(io.RawIOBase):
    """A forward-only source of ``size`` pseudo-random bytes, given in small pieces (no
    seek, no fileno): what a download or an upload stream looks like."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.left = size
        self.block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left, 50_000)
        data = self.block[:n]
        buffer[:n] = data
        self.hash.update(data)
        self.left -= n
        return n


def test_same_bytes_one_copy_named_by_sha256(store, tmp_path):
    src = tmp_path / "map.nii.gz"
    src.write_bytes(b"brain" * 1000)
    name = store.put_file(src, ".nii.gz")
    assert name == hashlib.sha256(b"brain" * 1000).hexdigest() + ".nii.gz"
    assert store.put_bytes(b"brain" * 1000, ".nii.gz") == name
    assert store.put_stream(io.BytesIO(b"brain" * 1000), ".nii.gz") == name
    with store.open(name) as fh:
        assert fh.read() == b"brain" * 1000
    copies = stored_copies(store)
    assert len(copies) == 1 and name in copies[0] and ".incoming" not in copies[0]
    assert store.exists(name)
    assert store.path(name).read_bytes() == b"brain" * 1000


def test_a_large_stream_is_stored_and_read_back_in_pieces(store):
    size = MULTIPART_THRESHOLD * 2 + 12345  # several parts of a multipart upload
    source = Trickle(size)
    name = store.put_stream(source, ".json")
    assert name == source.hash.hexdigest() + ".json"
    read = hashlib.sha256()
    total = 0
    with store.open(name) as fh:
        while chunk := fh.read(1 << 16):
            read.update(chunk)
            total += len(chunk)
    assert (total, read.hexdigest()) == (size, source.hash.hexdigest())
    assert os.path.getsize(store.path(name)) == size
    assert len(stored_copies(store)) == 1


def test_a_file_not_stored_is_missing(store):
    name = "0" * 64 + ".json"
    assert not store.exists(name)
    with pytest.raises(FileNotFoundError):
        store.open(name).read()


@pytest.mark.parametrize("bad", ["../etc/passwd", "abc", "0" * 63 + "/x", "0" * 64 + "/../x",
                                 "0" * 64 + "x", "A" * 64])
def test_names_that_are_not_ours_are_refused(store, bad):
    for use in (store.path, store.open, store.exists):
        with pytest.raises(ValueError, match="not a content-addressed file name"):
            use(bad)


def test_copy_to_writes_the_bytes_out(store, tmp_path):
    name = store.put_bytes(b"table\n1\t2\n", ".tsv")
    out = store.copy_to(name, tmp_path / "out" / "clusters.tsv")
    assert out.read_bytes() == b"table\n1\t2\n"


def test_a_scratch_store_writes_aside_and_reads_through(store, tmp_path):
    kept = store.put_bytes(b"kept", ".txt")
    scratch = ScratchFileStore(tmp_path / "scratch", store)
    aside = scratch.put_bytes(b"dry run", ".txt")
    assert scratch.exists(kept) and scratch.exists(aside)
    assert not store.exists(aside)
    with scratch.open(kept) as fh:
        assert fh.read() == b"kept"
    assert scratch.path(kept).read_bytes() == b"kept"
    assert scratch.path(aside).read_bytes() == b"dry run"


def test_downloads_are_streamed_unless_presigning_is_asked_for(store, s3_server, tmp_path):
    name = store.put_bytes(b"result", ".txt")
    assert store.download_url(name, filename="methods.txt", media_type="text/plain") is None
    if isinstance(store, S3FileStore):
        presigning = S3FileStore(store.bucket, "some/prefix", cache=tmp_path / "other",
                                 presign_seconds=60, client=s3_server.client())
        url = presigning.download_url(name, filename="methods.txt", media_type="text/plain")
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200 and answer.content == b"result"
        assert answer.headers["Content-Disposition"] == 'attachment; filename="methods.txt"'


# -- S3 only: what a shared bucket adds -----------------------------------------------------
def test_s3_keys_are_prefix_slash_name(s3_server, tmp_path):
    store = S3FileStore(s3_server.new_bucket(), "/deep/prefix/", cache=tmp_path / "cache",
                        client=s3_server.client())
    name = store.put_bytes(b"x", ".png")
    assert stored_copies(store) == [f"deep/prefix/{name}"]
    assert store.location(name) == f"s3://{store.bucket}/deep/prefix/{name}"


def test_s3_bytes_changed_behind_the_store_are_caught_on_read(s3_server, tmp_path):
    store = S3FileStore(s3_server.new_bucket(), "", cache=tmp_path / "cache",
                        client=s3_server.client())
    name = store.put_bytes(b"the real map", ".nii.gz")
    store.client.put_object(Bucket=store.bucket, Key=name, Body=b"something else")
    with pytest.raises(CorruptFile, match=name[:64]), store.open(name) as fh:
        fh.read()
    with pytest.raises(CorruptFile):
        store.path(name)
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_s3_another_node_sees_what_one_stored(s3_server, tmp_path):
    bucket = s3_server.new_bucket()
    one = S3FileStore(bucket, "files", cache=tmp_path / "one", client=s3_server.client())
    two = S3FileStore(bucket, "files", cache=tmp_path / "two", client=s3_server.client())
    name = one.put_bytes(b"shared", ".txt")
    assert two.exists(name)
    assert two.path(name).read_bytes() == b"shared"
    assert two.path(name).is_relative_to(tmp_path / "two")


def test_s3_cache_drops_the_least_recently_used_copies_beyond_its_bound(s3_server, tmp_path):
    store = S3FileStore(s3_server.new_bucket(), "", cache=tmp_path / "cache",
                        client=s3_server.client(), cache_bytes=2500)
    names = [store.put_bytes(bytes([n]) * 1000, ".bin") for n in range(4)]
    long_ago = time.time() - 2 * CACHE_GRACE_SECONDS
    for age, name in enumerate(names[:3]):
        os.utime(store.path(name), (long_ago + age, long_ago + age))
    # Using the oldest copy again makes it the most recently used.
    os.utime(store.path(names[0]), (long_ago + 10, long_ago + 10))
    store.path(names[3])  # 4,000 bytes now: the two least recently used copies go
    cached = {p.name for p in (tmp_path / "cache").rglob("*.bin")}
    assert cached == {names[0], names[3]}
    # A dropped copy is read from the bucket again, and cached again.
    assert store.open(names[1]).read() == bytes([1]) * 1000
    assert store.path(names[1]).read_bytes() == bytes([1]) * 1000


def test_s3_cache_keeps_copies_used_recently_even_beyond_its_bound(s3_server, tmp_path):
    store = S3FileStore(s3_server.new_bucket(), "", cache=tmp_path / "cache",
                        client=s3_server.client(), cache_bytes=100)
    names = [store.put_bytes(bytes([n]) * 1000, ".bin") for n in range(3)]
    paths = [store.path(name) for name in names]
    # Each may be about to be opened by whoever asked for it.
    assert all(path.is_file() for path in paths)


def test_the_cache_bound_is_a_setting(tmp_path, s3_server, monkeypatch):
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    data = {"NEUROSTORE_DATA_DIR": str(tmp_path),
            "NEUROSTORE_FILES_URL": f"s3://{s3_server.new_bucket()}/x"}
    assert open_file_store(Settings.from_env(data)).cache_bytes == 10240 * 2**20
    store = open_file_store(Settings.from_env({**data, "NEUROSTORE_FILES_CACHE_MB": "64"}))
    assert store.cache_bytes == 64 * 2**20
    with pytest.raises(SettingsError, match="NEUROSTORE_FILES_CACHE_MB"):
        Settings.from_env({**data, "NEUROSTORE_FILES_CACHE_MB": "lots"})


# -- choosing the store: NEUROSTORE_FILES_URL ----------------------------------------------
def test_the_setting_picks_the_store(tmp_path, s3_server, monkeypatch):
    data = {"NEUROSTORE_DATA_DIR": str(tmp_path)}
    assert isinstance(open_file_store(Settings.from_env(data)), LocalFileStore)
    assert open_file_store(Settings.from_env(data)).root == tmp_path / "files"
    folder = open_file_store(Settings.from_env(
        {**data, "NEUROSTORE_FILES_URL": f"file://{tmp_path}/elsewhere"}))
    assert isinstance(folder, LocalFileStore) and folder.root == tmp_path / "elsewhere"

    # The endpoint and credentials are boto3's own variables.
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    bucket = s3_server.new_bucket()
    store = open_file_store(Settings.from_env(
        {**data, "NEUROSTORE_FILES_URL": f"s3://{bucket}/neurostore",
         "NEUROSTORE_FILES_PRESIGN_SECONDS": "30"}))
    assert isinstance(store, S3FileStore)
    name = store.put_bytes(b"through the environment", ".txt")
    assert s3_server.keys(bucket) == [f"neurostore/{name}"]
    assert store.cache == tmp_path / "files-cache"
    assert "X-Amz-Expires=30" in store.download_url(name, filename="a.txt",
                                                    media_type="text/plain")


@pytest.mark.parametrize("url", ["gs://bucket/x", "s3://", "s3://Bad_Bucket/x",
                                 "s3://bucket/x?versionId=1", "file://host/folder",
                                 "http://minio:9000/bucket"])
def test_an_unusable_files_url_is_refused_naming_the_variable(url, tmp_path):
    with pytest.raises(SettingsError, match="NEUROSTORE_FILES_URL"):
        Settings.from_env({"NEUROSTORE_DATA_DIR": str(tmp_path),
                           "NEUROSTORE_FILES_URL": url})


def test_files_dir_is_the_local_folder(tmp_path):
    assert Settings(data_dir=tmp_path).files_dir == tmp_path / "files"
    assert (Settings(data_dir=tmp_path, files_url=str(tmp_path / "f")).files_dir
            == Path(tmp_path / "f"))
