"""Request bodies, versions (ETag / If-Match) and JSON responses."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from flask import Response, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from neurostore import json_codec
from neurostore.api.errors import BadRequest, field_errors
from neurostore.services.errors import Invalid

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')
# A lone UTF-16 surrogate ("\ud800") is valid JSON but no text PostgreSQL can store.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _parse_float(text: str) -> float:
    # JSON has no infinity, but 1e999 overflows to one, which no column or jsonb can hold.
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest("a number in the body is too large",
                         {"_body": [f"number {text[:20]} is out of range"]})
    return value


def _refuse_constant(name: str) -> None:
    raise BadRequest(f"{name} is not valid JSON", {"_body": [f"{name} is not a JSON number"]})


def _check_text(value: Any) -> None:
    # PostgreSQL text cannot hold NUL characters; refuse them before they reach a service.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise BadRequest("strings must not contain NUL (\\u0000) characters",
                                 {"_body": ["a string contains a NUL (\\u0000) character"]})
            if _SURROGATE.search(item):
                raise BadRequest("strings must not contain unpaired UTF-16 surrogates",
                                 {"_body": [f"a string holds a lone surrogate: {item[:40]!a}"]})
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_body(*, required: bool = True, default: Any = None) -> Any:
    """The request's JSON body; 415 for another content type, 400 for malformed JSON.

    Without a body: 400 when ``required``, else ``default`` (a JSON ``null`` body is
    ``None``, not the default).
    """
    raw = request.get_data(cache=True)
    if not raw:
        if required:
            raise BadRequest("a JSON body is required", {"_body": ["missing"]})
        return default
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=_parse_float,
                          parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}", {"_body": ["malformed JSON"]}) \
            from exc
    _check_text(data)
    return data


#: The status of a create: NeuroStore answers 200 with the new object (its generated
#: clients map no other code), with ``Location`` naming it.
CREATED = 200

NOT_MODIFIED = "Not modified: `If-None-Match` names the current version (the ETag)."


def if_match() -> int | None:
    """The version named by ``If-Match``; None when absent or ``*``.

    An unparsable value becomes ``-1``, which matches no version, so the write is refused
    with 412 and the current version, as for a stale one.
    """
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header)
    return int(match.group(1)) if match else -1


def etag_matches(version: int) -> bool:
    """True when a GET's ``If-None-Match`` names ``version`` (or is ``*``)."""
    header = request.headers.get("If-None-Match")
    if header is None or request.method not in ("GET", "HEAD"):
        return False
    if header.strip() == "*":
        return True
    matches = (_ETAG.match(part) for part in header.split(","))
    return any(m is not None and int(m.group(1)) == version for m in matches)


def not_modified(version: int) -> Response:
    """304: the client's copy of this version is current."""
    return Response(status=304, headers={"ETag": f'"{version}"'})


def respond(body: Any, status: int = 200, *, version: int | None = None,
            location: str | None = None, cacheable: bool = False) -> Response:
    """A JSON response, with ``ETag`` for a versioned resource.

    With ``cacheable`` (the body is determined by ``version``), a GET whose
    ``If-None-Match`` names that version gets an empty 304 instead.
    """
    if cacheable and version is not None and etag_matches(version):
        return not_modified(version)
    response = Response(json_codec.dumps(body), status=status, mimetype="application/json")
    if version is not None:
        response.headers["ETag"] = f'"{version}"'
    if location is not None:
        response.headers["Location"] = location
    return response


def page(fetch: Callable[[], Any]) -> Response:
    """The list envelope ``{"metadata": {"total_count", "total_count_exact", "next"},
    "results"}`` of ``fetch()``.

    A search string, cursor or filter combination the read side refuses is a bad query
    parameter (400), like those the query schema refuses.
    """
    try:
        result = fetch()
    except Invalid as exc:
        raise BadRequest(exc.detail, field_errors(exc.field_errors)) from exc
    return respond({"metadata": {"total_count": result.total_count,
                                 "total_count_exact": result.exact, "next": result.next},
                    "results": result.rows})


def load(schema: Schema, data: Any) -> Any:
    """Validate a small body with ``schema``; :class:`Invalid` names the bad fields."""
    if not isinstance(data, dict):
        raise Invalid({"_schema": ["expected a JSON object"]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Invalid(exc.normalized_messages()) from exc


def body_doc(schema: type[Schema] | Schema, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a JSON body validated by ``schema``."""
    doc: dict[str, Any] = {"required": True,
                           "content": {"application/json": {"schema": schema}}}
    if description:
        doc["description"] = description
    return doc
