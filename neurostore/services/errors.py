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
    """The input is malformed; ``field_errors`` maps field paths to messages."""

    def __init__(self, field_errors: dict[str, Any], detail: str | None = None) -> None:
        super().__init__(detail or _summarise(field_errors))
        self.field_errors = field_errors


def _summarise(errors: dict[str, Any], prefix: str = "") -> str:
    parts = []
    for key, value in errors.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            parts.append(_summarise(value, path))
        else:
            msgs = value if isinstance(value, list) else [value]
            parts.append(f"{path}: {'; '.join(str(m) for m in msgs)}")
    return ", ".join(p for p in parts if p)
