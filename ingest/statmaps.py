"""Statistical maps into the content-addressed file store: read, checked, stored once.

The NeuroVault and NIMADS loaders both come here. A map is checked whole with
:func:`~ingest.neurovault.nifti.check_nifti` before it is stored, so the store never holds
a file that failed; a download goes to a scratch folder inside the store's root first (an
interrupted one leaves nothing under a real name). The store names a file by the sha256 of
its bytes: the same map stored twice is kept once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ingest.http import PoliteSession, download
from ingest.neurovault.nifti import NiftiError, NiftiInfo, check_nifti
from neurostore.storage import FileStore

#: File name endings of a NIfTI map, longest first.
MAP_SUFFIXES = (".nii.gz", ".nii")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class StoredMap:
    """A checked map in the file store.

    Attributes
    ----------
    name : str
        Its name in the store (sha256 and suffix).
    sha256 : str
        The sha256 of its bytes (what an image row records).
    info : NiftiInfo
        What the checks found (shape, affine, the space the header tells).
    """

    name: str
    sha256: str
    info: NiftiInfo


def map_suffix(name: str | None) -> str:
    """``.nii.gz`` or ``.nii`` when ``name`` ends so (any case), else ``""``."""
    lowered = (name or "").lower()
    return next((s for s in MAP_SUFFIXES if lowered.endswith(s)), "")


def store_map(path: str | os.PathLike[str], files: FileStore, *, own_name: str,
              suffix: str | None = None) -> StoredMap:
    """Check a local map and copy it into the file store.

    Parameters
    ----------
    path : path
        The file (left where it is).
    files : FileStore
        The store.
    own_name : str
        What error messages call the map (its file name or URL, not a scratch name).
    suffix : str, optional
        The suffix it is stored under; by default the one its name ends with or, for a name
        without one, the one its bytes call for (gzipped or not).

    Returns
    -------
    StoredMap
        Its store name, sha256 and header facts.

    Raises
    ------
    NiftiError
        If it is not a usable NIfTI volume; the message names ``own_name``.
    """
    path = Path(path)
    own = map_suffix(path.name)
    if suffix is None:
        suffix = own or _sniffed_suffix(path)
    with tempfile.TemporaryDirectory(prefix="neurostore-map-") as scratch:
        readable = path
        if not own:
            # nibabel tells a format by its name: give the bytes one it can read.
            readable = Path(scratch) / f"map{_sniffed_suffix(path)}"
            shutil.copyfile(path, readable)
        try:
            info = check_nifti(readable)
        except NiftiError as error:
            message = str(error)
            for shown in (str(readable), readable.name, str(path), path.name):
                message = message.replace(shown, own_name)
            raise NiftiError(message) from error
    name = files.put_file(path, suffix)
    return StoredMap(name=name, sha256=name.split(".", 1)[0], info=info)


def download_map(session: PoliteSession, url: str, files: FileStore, *,
                 own_name: str | None = None, attempts: int = 3) -> StoredMap:
    """Download a map (with the session's retries), check it and store it.

    Parameters
    ----------
    session : PoliteSession
        The HTTP session.
    url : str
        Absolute http(s) URL of the map.
    files : FileStore
        The store.
    own_name : str, optional
        What error messages call the map; the URL by default.
    attempts : int, optional
        Whole requests tried when a body arrives cut.

    Returns
    -------
    StoredMap

    Raises
    ------
    FetchError
        On an error status, or when every attempt failed.
    NiftiError
        If the file is not a usable NIfTI volume.
    """
    with scratch_folder(files) as scratch:
        saved = download(session, url, scratch, attempts=attempts)
        return store_map(saved.path, files, own_name=own_name or url,
                         suffix=map_suffix(url.split("?", 1)[0]) or None)


def scratch_folder(files: FileStore) -> tempfile.TemporaryDirectory:
    """A temporary folder in the store's scratch folder (same file system as the store's
    own temporary files: renames are cheap)."""
    files.scratch.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=files.scratch, prefix=".download-")


def _sniffed_suffix(path: Path) -> str:
    with open(path, "rb") as handle:
        return ".nii.gz" if handle.read(2) == _GZIP_MAGIC else ".nii"
