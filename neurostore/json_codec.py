"""Fast JSON for large documents (study trees, nested studysets), exact for the rest.

orjson parses and writes several times faster than the standard library, which matters
for trees of tens of thousands of peaks read from PostgreSQL and sent to clients. It
refuses integers beyond 64 bits, which JSON allows and users may store in metadata; those
documents fall back to the standard library, so nothing valid is ever refused.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


class RawJSON:
    """JSON text already built (by PostgreSQL), embedded as it is when a document is dumped."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def with_member(document: RawJSON | dict[str, Any], key: str, value: Any
                ) -> RawJSON | dict[str, Any]:
    """``document`` with one more member, without parsing it when it is JSON text."""
    if isinstance(document, RawJSON):
        return RawJSON(f"{document.text[:-1]},{orjson.dumps(key).decode()}:"
                       f"{dumps(value).decode()}}}")
    return {**document, key: value}


def _fragment(value: Any) -> Any:
    if isinstance(value, RawJSON):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _parsed(value: Any) -> Any:
    if isinstance(value, RawJSON):
        return json.loads(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def loads(data: str | bytes) -> Any:
    """Parse JSON text."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes; :class:`RawJSON` values are spliced in unparsed."""
    try:
        return orjson.dumps(value, default=_fragment)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                          default=_parsed).encode()
