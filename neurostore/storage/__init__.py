"""Content-addressed file store: files are named by the sha256 of their bytes.

:class:`FileStore` is the interface; :class:`LocalFileStore` keeps files in a folder (the
embedded default), :class:`S3FileStore` in an S3-compatible bucket shared by every node.
:func:`open_file_store` picks one from the settings (``NEUROSTORE_FILES_URL``).
"""

from __future__ import annotations

from neurostore.config import Settings
from neurostore.storage.base import CorruptFile, FileStore, check_name
from neurostore.storage.local import LocalFileStore, ScratchFileStore
from neurostore.storage.s3 import S3FileStore

__all__ = ["CorruptFile", "FileStore", "LocalFileStore", "S3FileStore", "ScratchFileStore",
           "check_name", "open_file_store"]


def open_file_store(settings: Settings) -> FileStore:
    """The file store the settings name.

    Parameters
    ----------
    settings : Settings
        ``files_url`` ``s3://bucket/prefix`` gives an :class:`S3FileStore` (its cache in
        ``data_dir/files-cache``); a folder, a ``file://`` URL or nothing gives a
        :class:`LocalFileStore` (by default ``data_dir/files``).

    Returns
    -------
    FileStore
    """
    where = settings.files_location
    if where.scheme == "s3":
        return S3FileStore(where.bucket, where.prefix, cache=settings.data_dir / "files-cache",
                           presign_seconds=settings.files_presign_seconds,
                           cache_bytes=settings.files_cache_mb * 2**20)
    return LocalFileStore(where.folder)
