"""Quote-aware reading of (optionally gzipped) tab-separated release files."""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TextIO

from ingest.compressed import GZIP_MAGIC
from ingest.records import ParseError


def open_text(path: str | os.PathLike[str]) -> TextIO:
    """Open a UTF-8 text file for the csv module, decompressing it if it is gzipped.

    Parameters
    ----------
    path : str or path-like
        The file; gzip is recognised by its magic bytes, not by its name.

    Returns
    -------
    TextIO
        A text stream opened with ``newline=""`` (as :mod:`csv` requires).
    """
    with open(path, "rb") as probe:
        is_gzip = probe.read(2) == GZIP_MAGIC
    if is_gzip:
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


class TsvFile:
    """A tab-separated file with a header row, read record by record.

    Use as a context manager; ``columns`` maps each header name to its position.

    Parameters
    ----------
    path : str or path-like
        The file (plain or gzipped).
    required : sequence of str
        Columns that must appear in the header, in any order.

    Raises
    ------
    ParseError
        On entering, if the header lacks a required column.
    """

    def __init__(self, path: str | os.PathLike[str], required: Sequence[str]) -> None:
        self.path = path
        self.required = tuple(required)
        self.columns: dict[str, int] = {}
        self._stream: TextIO | None = None

    def __enter__(self) -> TsvFile:
        self._stream = open_text(self.path)
        header = self._stream.readline().lstrip("\ufeff").rstrip("\r\n").split("\t")
        self.columns = {name.strip(): i for i, name in enumerate(header)}
        missing = [name for name in self.required if name not in self.columns]
        if missing:
            self._stream.close()
            raise ParseError(
                f"{os.fspath(self.path)}: header lacks column(s) {', '.join(missing)}", line=1
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            self._stream.close()

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(line, fields)`` for each record after the header.

        ``line`` is the 1-based line where the record starts; a quoted field may
        span several lines.

        Yields
        ------
        tuple of (int, list of str)
            The record's first line number and its fields.

        Raises
        ------
        ParseError
            If a record cannot be tokenised: the reader is strict, so a quote that
            never closes (which would swallow the rest of the file into one field)
            or text right after a closing quote is an error naming the line.
        """
        if self._stream is None:
            raise RuntimeError("TsvFile.rows() called outside its context")
        reader = csv.reader(self._stream, delimiter="\t", strict=True)
        previous_end = 1  # the header line
        try:
            for fields in reader:
                yield previous_end + 1, fields
                previous_end = reader.line_num + 1
        except csv.Error as error:
            raise ParseError(f"{os.fspath(self.path)}: {error}", line=previous_end + 1) from error
