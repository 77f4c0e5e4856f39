"""Stream XML with ElementTree's ``iterparse``, refusing documents that declare entities.

defusedxml is not a dependency, so the guard is done here: ElementTree (expat) never
loads an external DTD or external entity, which leaves entities declared in the
document's own DTD (its internal subset, ``<!DOCTYPE x [ ... ]>``) as the way to
make a small document expand into a huge one. The prolog, everything before the root
element, is read first and the document refused if its DOCTYPE has an internal
subset or if it is not UTF-8 (or ASCII): the check reads bytes, so it must read them
as the parser will.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element, iterparse

CHUNK = 64 * 1024
MAX_PROLOG = 1024 * 1024
_BOM = b"\xef\xbb\xbf"
# What may come before the root element: white space, the XML declaration, processing
# instructions, comments, and a DOCTYPE without an internal subset (no "[").
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*>", re.DOTALL)
_ROOT_START = re.compile(rb"<[A-Za-z_:]")
_ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ACCEPTED_ENCODINGS = {b"utf-8", b"utf8", b"us-ascii", b"ascii"}


class UnsafeXMLError(ValueError):
    """The document's prolog could declare entities, or its encoding cannot be checked."""


def safe_iterparse(
    stream: BinaryIO, events: tuple[str, ...] = ("end",)
) -> Iterator[tuple[str, Element]]:
    """Check a document's prolog, then stream it through :func:`xml.etree.ElementTree.iterparse`.

    Parameters
    ----------
    stream : binary file object
        The document, read from its current position.
    events : tuple of str, optional
        Events to report, as for ``iterparse``.

    Returns
    -------
    iterator of (str, Element)
        ``iterparse``'s events; it raises :class:`xml.etree.ElementTree.ParseError`
        where the document stops being well-formed.

    Raises
    ------
    UnsafeXMLError
        If the prolog has a DTD internal subset, a non-UTF-8 encoding, or anything
        else this check does not recognise.
    """
    prolog = _read_prolog(stream)
    return iterparse(_Prefixed(prolog, stream), events=events)


def _read_prolog(stream: BinaryIO) -> bytes:
    head = stream.read(CHUNK)
    start = len(_BOM) if head.startswith(_BOM) else 0
    position = start
    while True:
        if _ROOT_START.match(head, position):
            _check_encoding(head[start:position])
            return head
        item = _PROLOG_ITEM.match(head, position)
        # An item that reaches the end of what was read may continue in the next chunk.
        if item is not None and item.end() < len(head):
            position = item.end()
            continue
        more = stream.read(CHUNK) if len(head) < MAX_PROLOG else b""
        if not more:
            if item is None and position < len(head):
                raise UnsafeXMLError(
                    f"refused XML: unsupported content before the root element at byte"
                    f" {position} (a DTD internal subset, a non-UTF-8 encoding, ...)"
                )
            return head  # ends before any element: the parser reports it
        head += more


def _check_encoding(prolog: bytes) -> None:
    declared = _ENCODING.match(prolog)
    if declared and declared.group(1).lower() not in _ACCEPTED_ENCODINGS:
        raise UnsafeXMLError(f"refused XML: encoding {declared.group(1).decode()!r}, not UTF-8")


class _Prefixed:
    """A binary reader that returns ``head`` first, then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._stream.read(size)
