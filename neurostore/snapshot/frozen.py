"""Read a stored snapshot back one study at a time.

A snapshot is stored as its canonical NIMADS JSON (compact, sorted keys; see
:mod:`neurostore.snapshot.nimads`). Exports and meta-analyses read it again without holding
it: :func:`iter_studies` parses the ``studies`` list one study at a time, and
:class:`StudyStream` lets the writers of :mod:`analysis.snapshot` iterate studies as the
list they expect.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, BinaryIO

from neurostore.snapshot.errors import MalformedSnapshot

#: Bytes read from the file at a time.
CHUNK = 1 << 20

_DECODER = json.JSONDecoder()


class _Scanner:
    """A JSON text read in chunks, with a cursor that values are decoded from."""

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._pos = 0
        self._eof = False

    def _more(self) -> None:
        if self._eof:
            raise MalformedSnapshot("snapshot file", "ends in the middle of the document")
        chunk = self._fp.read(CHUNK)
        self._eof = not chunk
        self._text = self._text[self._pos:] + self._utf8.decode(chunk, final=self._eof)
        self._pos = 0

    def peek(self) -> str:
        """The next character."""
        while self._pos >= len(self._text):
            self._more()
        return self._text[self._pos]

    def take(self, expected: str) -> None:
        """Consume ``expected`` or raise."""
        found = self.peek()
        if found != expected:
            raise MalformedSnapshot("snapshot file", f"expected {expected!r}, found {found!r}")
        self._pos += 1

    def value(self) -> Any:
        """Decode the JSON value at the cursor (reading more text until it is whole)."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, self._pos)
            except json.JSONDecodeError:
                self._more()
                continue
            if end == len(self._text) and not self._eof:
                # A number at the end of the text may continue in the next chunk.
                self._more()
                continue
            self._pos = end
            return value


def iter_studies(fp: BinaryIO) -> Iterator[Any]:
    """Yield the studies of a canonical NIMADS document, in order.

    Parameters
    ----------
    fp : binary file object
        The stored snapshot, opened at its start.

    Raises
    ------
    MalformedSnapshot
        If the text is not a JSON object with a ``studies`` list.
    """
    scanner = _Scanner(fp)
    scanner.take("{")
    while scanner.peek() != "}":
        key = scanner.value()
        scanner.take(":")
        if key != "studies":
            scanner.value()
        else:
            scanner.take("[")
            while scanner.peek() != "]":
                yield scanner.value()
                if scanner.peek() == ",":
                    scanner.take(",")
            return
        if scanner.peek() == ",":
            scanner.take(",")
    raise MalformedSnapshot("snapshot file", "has no studies list")


class StudyStream(list):
    """Studies produced while they are iterated, for writers that expect a list.

    The exporters of :mod:`analysis.snapshot` take a studyset whose ``studies`` is a list
    and only iterate it; this list holds nothing itself, so a writer needs memory for one
    study (or one batch) at a time. Each iteration calls ``source`` again.

    Parameters
    ----------
    source : callable
        Returns a new iterable of the studies, in order.
    count : int
        Number of studies (what ``len`` answers).
    """

    def __init__(self, source: Callable[[], Iterable[Any]], count: int) -> None:
        super().__init__()
        self._source = source
        self._count = count

    def __iter__(self) -> Iterator[Any]:
        return iter(self._source())

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0


def stored_studies(opener: Callable[[], AbstractContextManager[BinaryIO]],
                   count: int) -> StudyStream:
    """The studies of a stored snapshot, parsed from its file while they are iterated.

    Parameters
    ----------
    opener : callable
        Opens the stored file for binary reading (a context manager).
    count : int
        Number of studies in the snapshot.
    """

    def read() -> Iterator[Any]:
        with opener() as fp:
            yield from iter_studies(fp)

    return StudyStream(read, count)


def studyset_of(header: dict[str, Any], studies: list) -> tuple[dict[str, Any], Any]:
    """Split a stored snapshot into the studyset and annotation the exporters take.

    Parameters
    ----------
    header : dict
        The document's top-level fields without ``studies`` (the annotation embedded as
        ``annotations``).
    studies : list
        The studies (a :class:`StudyStream` for a stored snapshot).

    Returns
    -------
    studyset : dict
    annotation : dict or None
    """
    annotations = header.get("annotations") or [None]
    studyset = {k: v for k, v in header.items() if k != "annotations"}
    studyset["studies"] = studies
    return studyset, annotations[0]
