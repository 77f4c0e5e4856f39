"""Content-addressed file store: files are named by the sha256 of their bytes.

Storing the same bytes twice keeps one copy, a name always means the same content, and a
write is atomic (temporary file, fsync, rename), so an interrupted write never leaves a
partial file under a real name. :class:`FileStore` is the interface; :class:`LocalFileStore`
keeps files in a folder, and an object-store class can replace it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


class FileStore(Protocol):
    """What the application needs from a file store."""

    def put_file(self, path: str | os.PathLike[str], suffix: str = "") -> str:
        """Store a copy of a file; return its name (sha256 plus ``suffix``)."""

    def put_bytes(self, data: bytes, suffix: str = "") -> str:
        """Store bytes; return their name."""

    def open(self, name: str) -> BinaryIO:
        """Open a stored file for reading."""

    def exists(self, name: str) -> bool:
        """Whether a file of that name is stored."""


class LocalFileStore:
    """A :class:`FileStore` in a local folder, fanned out by the first two hex digits."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path:
        """The path of a stored file (``ValueError`` for a name that is not ours)."""
        digest, _, _ = name.partition(".")
        if not _SHA256.match(digest) or "/" in name or "\\" in name or ".." in name:
            raise ValueError(f"not a content-addressed file name: {name!r}")
        return self.root / digest[:2] / name

    def put_file(self, path: str | os.PathLike[str], suffix: str = "") -> str:
        """Store a copy of ``path``; return its name."""
        with open(path, "rb") as src:
            return self._put(src, suffix)

    def put_bytes(self, data: bytes, suffix: str = "") -> str:
        """Store ``data``; return its name."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest + suffix)
        if not target.exists():
            self._write_atomically(target, lambda out: out.write(data))
        return target.name

    def open(self, name: str) -> BinaryIO:
        """Open a stored file for reading."""
        return open(self.path(name), "rb")

    def exists(self, name: str) -> bool:
        """Whether ``name`` is stored."""
        return self.path(name).exists()

    def _put(self, src: BinaryIO, suffix: str) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=self.root, delete=False, prefix=".incoming-") as tmp:
            try:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    digest.update(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            except BaseException:
                os.unlink(tmp.name)
                raise
        target = self.path(digest.hexdigest() + suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(tmp.name)
        else:
            os.replace(tmp.name, target)
        return target.name

    def _write_atomically(self, target: Path, write) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False,
                                         prefix=".incoming-") as tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, target)

    def copy_to(self, name: str, destination: str | os.PathLike[str]) -> Path:
        """Copy a stored file out to ``destination`` (a file path)."""
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path(name), destination)
        return destination


class ScratchFileStore(LocalFileStore):
    """A store that reads through to ``base`` but writes into a scratch folder of its own:
    what a dry run fetches is checked, then thrown away with the folder."""

    def __init__(self, root: str | os.PathLike[str], base: LocalFileStore) -> None:
        super().__init__(root)
        self.base = base

    def exists(self, name: str) -> bool:
        """Whether ``name`` is in the scratch folder or in the real store."""
        return super().exists(name) or self.base.exists(name)

    def open(self, name: str) -> BinaryIO:
        """Open ``name`` from the scratch folder, else from the real store."""
        return super().open(name) if super().exists(name) else self.base.open(name)
