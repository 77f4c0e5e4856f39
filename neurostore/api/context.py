"""Per-request access to the services and to the caller (``Authorization: Bearer``, or the
web pages' signed session for reads)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request, session

from neurostore.services.actors import ANONYMOUS, Actor
from neurostore.services.errors import Unauthenticated
from neurostore.services.reads.service import ReadService
from neurostore.services.registry import Services

EXTENSION = "neurostore"
#: The signed session's key for the id of the token its user signed in with.
SESSION_TOKEN = "token"
#: Methods the session may authenticate: reads change nothing, so they need no CSRF token.
SESSION_METHODS = ("GET", "HEAD")


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
    """The caller: the token's user, 401 for a malformed, unknown or revoked token.

    Without a token, a read (GET) from a browser signed in to the web pages is its user's,
    so the pages link straight to the API's downloads; anything else is anonymous.
    """
    if "actor" not in g:
        header = request.headers.get("Authorization")
        if header is None:
            g.actor = session_actor() if request.method in SESSION_METHODS else ANONYMOUS
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("send the token as 'Authorization: Bearer <token>'")
            g.actor = services().users.authenticate(token.strip())
    return g.actor


def session_actor() -> Actor:
    """The user signed in to this browser's session; anonymous when nobody is, or when the
    token they signed in with was revoked or has expired (the session is then ended)."""
    if SESSION_TOKEN not in session:
        return ANONYMOUS
    try:
        return services().users.session_actor(session[SESSION_TOKEN])
    except Unauthenticated:
        session.clear()
        return ANONYMOUS
