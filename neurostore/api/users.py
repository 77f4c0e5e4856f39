"""``/api/users`` and ``/api/tokens``: accounts and bearer tokens."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.context import actor, reads, services
from neurostore.api.studies import split_list_args
from neurostore.schemas.api_queries import IdSortedListArgs, TokenBody, UserBody, UserPatchBody
from neurostore.schemas.api_responses import TokenOut, TokenPage, UserOut, UserPage
from neurostore.services.errors import Unauthenticated

users = Blueprint("users", __name__, url_prefix="/api/users", description="Users")
tokens = Blueprint("tokens", __name__, url_prefix="/api/tokens",
                   description="Your API tokens (stored hashed; the secret is shown once)")


def _me() -> str:
    me = actor()
    if me.id is None:
        raise Unauthenticated("sign in with 'Authorization: Bearer <token>'")
    return me.id


@users.route("", methods=["GET"])
@users.arguments(IdSortedListArgs, location="query", error_status_code=400)
@users.response(200, UserPage)
def list_users(args: dict[str, Any]) -> Response:
    """List users' public profiles."""
    query, _ = split_list_args(args)
    return http.page(lambda: reads().users(query))


@users.route("", methods=["POST"])
@users.doc(requestBody=http.body_doc(UserBody))
@users.response(201, UserOut)
def create_user() -> Response:
    """Create a user (administrators only); give them a token with POST /api/tokens."""
    body = http.load(UserBody(), http.json_body())
    return http.respond(services().users.create(actor(), **body), 201)


@users.route("/me", methods=["GET"])
@users.response(200, UserOut)
def get_me() -> Response:
    """The signed-in user."""
    return http.respond(services().users.get(actor(), _me()))


@users.route("/<id>", methods=["GET"])
@users.response(200, UserOut)
def get_user(id: str) -> Response:
    """A user's profile."""
    return http.respond(services().users.get(actor(), id))


@users.route("/<id>", methods=["PATCH"])
@users.doc(requestBody=http.body_doc(UserPatchBody))
@users.response(200, UserOut)
def update_user(id: str) -> Response:
    """Change your name or email; administrators may change anyone's, and roles."""
    body = http.load(UserPatchBody(), http.json_body())
    return http.respond(services().users.update(actor(), id, body))


@users.route("/<id>", methods=["DELETE"])
@users.response(204)
def deactivate_user(id: str) -> Response:
    """Deactivate a user (administrators only): every token is revoked at once. What they
    wrote stays; a new token (POST /api/tokens) lets them back in."""
    services().users.deactivate(actor(), id)
    return Response(status=204)


@tokens.route("", methods=["GET"])
@tokens.response(200, TokenPage)
def list_tokens() -> Response:
    """Your tokens (never their secrets)."""
    rows = services().users.list_tokens(actor(), _me())
    return http.respond({"metadata": {"total_count": len(rows), "next": None},
                         "results": rows})


@tokens.route("", methods=["POST"])
@tokens.doc(requestBody=http.body_doc(TokenBody))
@tokens.response(201, TokenOut)
def create_token() -> Response:
    """Create a token for yourself (administrators: for `user`); the secret is shown once."""
    body = http.load(TokenBody(), http.json_body(required=False, default={}))
    issued = services().users.issue_token(
        actor(), body.get("user") or _me(), name=body["name"],
        expires_in_days=body["expires_in_days"],
    )
    return http.respond({
        "id": issued.id, "name": issued.name, "token": issued.token, "user": issued.user_id,
        "prefix": issued.token[:10],
        "expires_at": issued.expires_at.isoformat() if issued.expires_at else None,
    }, 201)


@tokens.route("/<id>", methods=["DELETE"])
@tokens.response(204)
def revoke_token(id: str) -> Response:
    """Revoke one of your tokens; it stops working at once."""
    _me()
    services().users.revoke_token(actor(), id)
    return Response(status=204)
