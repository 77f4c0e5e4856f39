"""The file store in a local folder: the embedded default, and a dry run's scratch store.

A write is atomic (temporary file, fsync, rename), so an interrupted write never leaves a
partial file under a real name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from neurostore.storage.base import FileStore, check_name, copy_hashing


class LocalFileStore(FileStore):
    """A :class:`FileStore` in a local folder, fanned out by the first two hex digits.

    Parameters
    ----------
    root : path
        The folder (made on the first write).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.scratch = self.root

    def path(self, name: str) -> Path:
        """The path of a stored file (``ValueError`` for a name that is not ours)."""
        return self._file(name)

    def _file(self, name: str) -> Path:
        return self.root / check_name(name)[:2] / name

    def put_stream(self, src: BinaryIO, suffix: str = "") -> str:
        """Store what ``src`` holds; return its name."""
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, delete=False, prefix=".incoming-") as tmp:
            try:
                digest = copy_hashing(src, tmp)
                tmp.flush()
                os.fsync(tmp.fileno())
            except BaseException:
                os.unlink(tmp.name)
                raise
        target = self._file(digest + suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(tmp.name)
        else:
            os.replace(tmp.name, target)
        return target.name

    def open(self, name: str) -> BinaryIO:
        """Open a stored file for reading."""
        return open(self._file(name), "rb")

    def exists(self, name: str) -> bool:
        """Whether ``name`` is stored."""
        return self._file(name).exists()


class ScratchFileStore(LocalFileStore):
    """A store that reads through to ``base`` but writes into a scratch folder of its own:
    what a dry run fetches is checked, then thrown away with the folder."""

    def __init__(self, root: str | os.PathLike[str], base: FileStore) -> None:
        super().__init__(root)
        self.base = base

    def exists(self, name: str) -> bool:
        """Whether ``name`` is in the scratch folder or in the real store."""
        return super().exists(name) or self.base.exists(name)

    def open(self, name: str) -> BinaryIO:
        """Open ``name`` from the scratch folder, else from the real store."""
        return super().open(name) if super().exists(name) else self.base.open(name)

    def path(self, name: str) -> Path:
        """The scratch copy's path when there is one, else the real store's."""
        own = self._file(name)
        return own if own.exists() else self.base.path(name)
