"""The content-addressed file store."""

from __future__ import annotations

import hashlib

import pytest

from neurostore.storage import LocalFileStore


def test_same_bytes_one_copy_named_by_sha256(tmp_path):
    store = LocalFileStore(tmp_path / "files")
    src = tmp_path / "map.nii.gz"
    src.write_bytes(b"brain" * 1000)
    name = store.put_file(src, ".nii.gz")
    assert name == hashlib.sha256(b"brain" * 1000).hexdigest() + ".nii.gz"
    assert store.put_bytes(b"brain" * 1000, ".nii.gz") == name
    with store.open(name) as fh:
        assert fh.read() == b"brain" * 1000
    files = [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
    assert len(files) == 1 and not files[0].name.startswith(".incoming")


@pytest.mark.parametrize("bad", ["../etc/passwd", "abc", "0" * 63 + "/x"])
def test_names_that_are_not_ours_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        LocalFileStore(tmp_path).path(bad)
