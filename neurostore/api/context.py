"""Per-request access to the services and to the caller (``Authorization: Bearer``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request

from neurostore.services.actors import ANONYMOUS, Actor
from neurostore.services.errors import Unauthenticated
from neurostore.services.reads.service import ReadService
from neurostore.services.registry import Services

EXTENSION = "neurostore"


@dataclass(frozen=True)
class Backend:
    """What the app was built with: the write services and the read side."""

    services: Services
    reads: ReadService


def backend() -> Backend:
    """The app's services."""
    return current_app.extensions[EXTENSION]


def services() -> Services:
    """The write services."""
    return backend().services


def reads() -> ReadService:
    """The read side."""
    return backend().reads


def actor() -> Actor:
    """The caller: anonymous without a token; 401 for a malformed, unknown or revoked one."""
    if "actor" not in g:
        header = request.headers.get("Authorization")
        if header is None:
            g.actor = ANONYMOUS
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("send the token as 'Authorization: Bearer <token>'")
            g.actor = services().users.authenticate(token.strip())
    return g.actor
