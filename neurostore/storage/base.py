"""What every file store offers, and the naming rule they share.

Files are named by the sha256 of their bytes plus a suffix (``<64 hex>.nii.gz``): storing the
same bytes twice keeps one copy, and a name always means the same content, so any node may
cache what it read. Subclasses store (:meth:`FileStore.put_stream`), read
(:meth:`FileStore.open`, :meth:`FileStore.path`) and tell what is there
(:meth:`FileStore.exists`); the rest is built on those.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Bytes read or written at a time when streaming.
CHUNK = 1 << 20


class CorruptFile(OSError):
    """Stored bytes whose sha256 is not the one their name says."""


def check_name(name: str) -> str:
    """The sha256 part of a stored file's name.

    Parameters
    ----------
    name : str
        ``<64 lower-case hex digits><suffix>``, the suffix empty or starting with a dot.

    Returns
    -------
    str
        The 64 hex digits.

    Raises
    ------
    ValueError
        For a name that is not a content-addressed one (paths, ``..``, other digests).
    """
    digest, suffix = name[:64], name[64:]
    if (not _SHA256.fullmatch(digest) or suffix[:1] not in ("", ".")
            or any(bad in suffix for bad in ("/", "\\", "..", "\x00"))):
        raise ValueError(f"not a content-addressed file name: {name!r}")
    return digest


class FileStore(ABC):
    """A content-addressed file store.

    Attributes
    ----------
    scratch : Path
        A local folder for temporary files (downloads before they are stored); on the same
        file system as the store's own temporary files, so moving between them is a rename.
    """

    scratch: Path

    @abstractmethod
    def put_stream(self, src: BinaryIO, suffix: str = "") -> str:
        """Store what ``src`` holds, read in chunks; return its name (sha256 plus
        ``suffix``). Storing bytes already there changes nothing."""

    @abstractmethod
    def open(self, name: str) -> BinaryIO:
        """Open a stored file for reading (``FileNotFoundError`` when it is not stored)."""

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether a file of that name is stored."""

    @abstractmethod
    def path(self, name: str) -> Path:
        """A local path holding the stored file's bytes, for code that needs a file name
        (memory-mapped matrices, NIfTI readers). Treat it as read-only."""

    def location(self, name: str) -> str:
        """Where the file is kept, for people to read (a path or an object's URL)."""
        return str(self.path(name))

    def download_url(self, name: str, *, filename: str, media_type: str) -> str | None:
        """A time-limited address a client can download the file from directly, or
        ``None`` when downloads are to be streamed by the application."""
        return None

    def put_file(self, path: str | os.PathLike[str], suffix: str = "") -> str:
        """Store a copy of the file at ``path``; return its name."""
        with open(path, "rb") as src:
            return self.put_stream(src, suffix)

    def put_bytes(self, data: bytes, suffix: str = "") -> str:
        """Store ``data``; return its name."""
        return self.put_stream(io.BytesIO(data), suffix)

    def copy_to(self, name: str, destination: str | os.PathLike[str]) -> Path:
        """Copy a stored file out to ``destination`` (a file path)."""
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with self.open(name) as src, open(destination, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
        return destination


def copy_hashing(src: BinaryIO, out: BinaryIO) -> str:
    """Copy ``src`` to ``out`` in chunks; return the sha256 (hex) of what was copied."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: src.read(CHUNK), b""):
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()
