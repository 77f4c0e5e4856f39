"""Problem details (RFC 9457) for every error, mapped from domain errors in one place."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, has_request_context, json, request
from psycopg.errors import CheckViolation
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from neurostore.services.errors import (
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    RevisionConflict,
    ServiceError,
    Unauthenticated,
)

PROBLEM_TYPE = "application/problem+json"
#: Extension key of the function that renders an error as a page, for paths outside /api.
ERROR_PAGE = "neurostore.error_page"
LOG = logging.getLogger(__name__)

# status, type slug, title of each domain error.
_DOMAIN = (
    (RevisionConflict, 412, "revision-conflict", "The resource changed since that version"),
    (NotFound, 404, "not-found", "Not found"),
    (PermissionDenied, 403, "forbidden", "Forbidden"),
    (Unauthenticated, 401, "unauthenticated", "Authentication required"),
    (Conflict, 409, "conflict", "Conflict"),
    (Invalid, 422, "invalid", "Invalid input"),
)


class BadRequest(HTTPException):
    """A malformed request (unparsable JSON, a bad header); ``errors`` names the fields."""

    code = 400

    def __init__(self, detail: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or {}


def problem(
    status: int, title: str, detail: str | None = None, *, slug: str | None = None,
    errors: dict[str, Any] | None = None, headers: dict[str, str] | None = None, **extra: Any,
) -> Response:
    """A ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": f"urn:neurostore:problem:{slug}" if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    page = current_app.extensions.get(ERROR_PAGE) if has_request_context() else None
    if page is not None and not request.path.startswith("/api"):
        return current_app.make_response(page(status, title, body["detail"], errors or {}))
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    response.headers.update(headers or {})
    return response


def field_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten nested marshmallow messages to ``{"dotted.path": [messages]}``."""
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = prefix if key == "_schema" and prefix else (
                f"{prefix}.{key}" if prefix else str(key))
            out.update(field_errors(value, path))
        return out
    items = messages if isinstance(messages, list) else [messages]
    if all(isinstance(m, str) for m in items):
        return {prefix or "_schema": [str(m) for m in items]}
    out = {}
    for n, item in enumerate(items):
        out.update(field_errors(item, f"{prefix}.{n}" if prefix else str(n)))
    return out


def _classify(exc: ServiceError) -> tuple[int, str, str]:
    for cls, status, slug, title in _DOMAIN:
        if isinstance(exc, cls):
            return status, slug, title
    return 400, "bad-request", "Bad request"


def from_service_error(exc: ServiceError) -> Response:
    """Map a domain error to its problem response."""
    status, slug, title = _classify(exc)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    errors = None
    if isinstance(exc, RevisionConflict):
        extra["current_version"] = exc.current_version
        headers["ETag"] = f'"{exc.current_version}"'
    if isinstance(exc, Invalid | Conflict):
        errors = field_errors(exc.field_errors) if exc.field_errors else None
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="neurostore"'
    return problem(status, title, exc.detail, slug=slug, errors=errors, headers=headers,
                   **extra)


def from_http_exception(exc: HTTPException) -> Response:
    """Map a werkzeug/flask-smorest HTTP error (404 route, 405, 413, 415, 400, ...)."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = getattr(exc, "errors", None)
    if "messages" in data:
        # webargs nests messages under the location (query, headers): drop that level.
        messages = data["messages"]
        if isinstance(messages, dict) and len(messages) == 1:
            messages = next(iter(messages.values()))
        errors = field_errors(messages)
    detail = exc.description
    if errors and status in (400, 422):
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
    headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) \
        else {}
    return problem(status, exc.name, detail, errors=errors, headers=headers)


def from_data_error(exc: DataError) -> Response:
    """A value the database refused (out of range, bad encoding) that validation let through."""
    LOG.warning("database refused a value: %s", exc.orig)
    return problem(422, "Invalid input", "a value is out of the range the store accepts",
                   slug="invalid")


def from_integrity_error(exc: IntegrityError) -> Response:
    """A unique identifier taken by a concurrent write between the service's check and its
    insert (the check itself answers 409 naming the holder); a value a CHECK refuses that
    validation let through is invalid input."""
    LOG.warning("write refused by a constraint: %s", exc.orig)
    if isinstance(exc.orig, CheckViolation):
        rule = getattr(exc.orig.diag, "constraint_name", None) or "a rule of the store"
        return problem(422, "Invalid input", f"a value breaks {rule}", slug="invalid")
    return problem(409, "Conflict", "the write clashes with one made at the same time "
                   "(an identifier was just taken); read again and retry", slug="conflict")


def from_unexpected(exc: Exception) -> Response:
    """Anything else: logged with its traceback, answered without internals."""
    LOG.exception("unhandled error")
    return problem(500, "Internal Server Error", "an unexpected error occurred; it was logged")


def register(app: Flask, *, page: Any = None) -> None:
    """Install the handlers on ``app`` (after flask-smorest, so these win); ``page(status,
    title, detail, errors)`` renders the errors of paths outside ``/api`` for a browser."""
    if page is not None:
        app.extensions[ERROR_PAGE] = page
    app.register_error_handler(ServiceError, from_service_error)
    app.register_error_handler(HTTPException, from_http_exception)
    app.register_error_handler(DataError, from_data_error)
    app.register_error_handler(IntegrityError, from_integrity_error)
    app.register_error_handler(Exception, from_unexpected)
