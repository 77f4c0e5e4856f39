"""Domain errors. They carry no HTTP codes: the API maps them in one place."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base class of every error a service raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    """The object does not exist, or the actor may not see it."""


class PermissionDenied(ServiceError):
    """The actor may see the object but not do this to it."""


class Unauthenticated(ServiceError):
    """The action needs a signed-in actor."""


class Conflict(ServiceError):
    """The write clashes with the store's state (a duplicate identifier, a deleted object)."""

    def __init__(self, detail: str, field_errors: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.field_errors = field_errors or {}


class RevisionConflict(ServiceError):
    """The write named a version that is no longer the current one."""

    def __init__(self, detail: str, current_version: int) -> None:
        super().__init__(detail)
        self.current_version = current_version


class Invalid(ServiceError):
    """The input is malformed.

    ``field_errors`` maps dotted field paths (``analyses.0.points.3.coordinates``) to
    lists of messages.
    """

    def __init__(self, field_errors: dict[Any, Any], detail: str | None = None) -> None:
        flat = flatten_errors(field_errors)
        super().__init__(detail or _summarise(flat))
        self.field_errors = flat


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow-style nested messages into ``{dotted.path: [messages]}``."""
    if not isinstance(errors, dict):
        msgs = errors if isinstance(errors, list) else [errors]
        if msgs and all(isinstance(m, str) for m in msgs):
            return {prefix or "_schema": [str(m) for m in msgs]}
        out: dict[str, list[str]] = {}
        for n, item in enumerate(msgs):
            out.update(flatten_errors(item, f"{prefix}.{n}" if prefix else str(n)))
        return out
    out = {}
    for key, value in errors.items():
        path = str(key) if not prefix else (prefix if key == "_schema" else f"{prefix}.{key}")
        out.update(flatten_errors(value, path))
    return out


def _summarise(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in errors.items())
