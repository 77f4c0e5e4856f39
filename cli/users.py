"""``manage.py users`` and ``manage.py tokens``: accounts and API tokens."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import click

from cli.runtime import Runtime, fail, pass_runtime
from neurostore.services.actors import Actor
from neurostore.services.errors import ServiceError
from neurostore.vocabulary import Role, values


@click.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.option("--name", required=True, help="Display name.")
@click.option("--external-id", help="Identity from a sign-in provider (e.g. orcid|0000-...).")
@click.option("--email")
@click.option("--role", type=click.Choice(values(Role)), default=Role.USER.value, show_default=True)
@pass_runtime
def create_user(rt: Runtime, name: str, external_id: str | None, email: str | None,
                role: str) -> None:
    """Create a user and print its id."""
    try:
        user = rt.services.users.create(Actor.system(), name=name, external_id=external_id,
                                        email=email, role=role)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(f"created user {user['id']} ({user['name']}, {user['role']})")


@users.command("signin-link")
@click.argument("user")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True,
              callback=lambda _ctx, _param, url: _site_url(url),
              help="Address the web pages are served at (http or https).")
@click.option("--expires-in-days", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--next", "next_path", default="/", show_default=True,
              help="Page to open once signed in (a path on the site).")
@pass_runtime
def signin_link(rt: Runtime, user: str, base_url: str, expires_in_days: int,
                next_path: str) -> None:
    """Print a link that signs USER (id or external id) in to the web pages.

    The link carries a new token that expires (revoke it with ``tokens revoke``); give it
    to that user only.
    """
    try:
        click.echo(signin_url(rt, user, base_url, expires_in_days=expires_in_days,
                              next_path=next_path))
    except ServiceError as exc:
        raise fail(exc) from exc


def _site_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"{url!r} is not an http(s) address such as "
                                 "https://neurostore.example.org")
    return url


def signin_url(rt: Runtime, user: str, base_url: str, *, expires_in_days: int = 1,
               next_path: str = "/") -> str:
    """A sign-in link for ``user``: a new, expiring token named "sign-in link"."""
    found = rt.services.users.find(user)
    issued = rt.services.users.issue_token(Actor.system(), found["id"], name="sign-in link",
                                           expires_in_days=expires_in_days)
    query = urlencode({"token": issued.token, "next": next_path})
    return f"{base_url.rstrip('/')}/signin/link?{query}"


@click.group()
def tokens() -> None:
    """Manage API tokens (only their sha256 is stored)."""


@tokens.command("create")
@click.argument("user")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@click.option("--expires-in-days", type=click.IntRange(min=1), help="Default: never expires.")
@pass_runtime
def create_token(rt: Runtime, user: str, name: str, expires_in_days: int | None) -> None:
    """Create a token for USER (id or external id) and print it once."""
    try:
        found = rt.services.users.find(user)
        issued = rt.services.users.issue_token(Actor.system(), found["id"], name=name,
                                               expires_in_days=expires_in_days)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(issued.token)
    click.echo(f"token {issued.id} for {found['name']}: store it now, it is not shown again",
               err=True)


@tokens.command("revoke")
@click.argument("token_id")
@pass_runtime
def revoke_token(rt: Runtime, token_id: str) -> None:
    """Revoke the token TOKEN_ID."""
    try:
        rt.services.users.revoke_token(Actor.system(), token_id)
    except ServiceError as exc:
        raise fail(exc) from exc
    click.echo(f"revoked {token_id}")
