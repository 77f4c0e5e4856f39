"""Who is signed in, and the checks every page blueprint runs (CSRF, sign-in)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from neurostore.api.context import SESSION_TOKEN, services, session_actor
from neurostore.api.errors import BadRequest
from neurostore.services.actors import ANONYMOUS, Actor

#: Session keys: the signed-in user's name, and the id of the token the session stands on
#: (checked on every request, so revoking it signs the browser out).
NAME, TOKEN = "name", SESSION_TOKEN

#: Links of the main navigation: (endpoint, label, who sees it: "all", "user", "admin").
#: Page modules add theirs as they are registered.
NAV: list[tuple[str, str, str]] = []


def web_actor() -> Actor:
    """The signed-in user, or anonymous (a revoked or expired token signs out)."""
    if "web_actor" not in g:
        g.web_actor = session_actor()
    return g.web_actor


def sign_in(token: str) -> Actor:
    """Start a session on ``token`` (raises Unauthenticated for a bad one)."""
    found, token_id = services().users.sign_in(token)
    profile = services().users.get(found, found.id)
    session.clear()
    session.update({NAME: profile["name"], TOKEN: token_id})
    session.permanent = True
    g.web_actor = found
    return found


def sign_out() -> None:
    """End the session (the token itself stays valid for the API)."""
    session.clear()
    g.web_actor = ANONYMOUS


def protect() -> Any:
    """``before_request`` of every page blueprint: forms must carry the session's CSRF
    token (a missing or wrong one is a 400 page naming it)."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        try:
            validate_csrf(request.form.get("csrf_token")
                          or request.headers.get("X-CSRFToken"))
        except ValidationError as exc:
            raise CSRFError("the form has expired or did not come from this site: "
                            "reload the page and send it again") from exc
    return None


def require_signed_in() -> Any:
    """Redirect an anonymous visitor to the sign-in page (and back afterwards); ``None``
    when someone is signed in."""
    if not web_actor().is_authenticated:
        return redirect(url_for("web-auth.signin", next=request.full_path.rstrip("?")))
    return None


def api_link(path: str, **params: Any) -> str:
    """The API URL returning the same data as a page (empty parameters left out)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)},
                      doseq=True)
    return f"{path}?{query}" if query else path


def _nav_links(who: Actor) -> list[tuple[str, str]]:
    shown = {"all": True, "user": who.is_authenticated, "admin": who.is_admin}
    return [(endpoint, label) for endpoint, label, audience in NAV
            if shown[audience] and endpoint in current_app.view_functions]


def template_globals() -> dict[str, Any]:
    """What every template sees: the actor, the user's name, the navigation, the CSRF
    token maker and :func:`api_link`."""
    who = web_actor()
    return {"actor": who, "user_name": session.get(NAME), "csrf_token": generate_csrf,
            "api_link": api_link, "nav_links": _nav_links(who)}


def form_version() -> int:
    """The version the page showed (its hidden ``version`` field), sent as If-Match."""
    raw = request.form.get("version", "")
    try:
        return int(raw)
    except ValueError:
        raise BadRequest("the form carries no valid version: reload the page and send it again",
                         {"version": [f"expected a whole number, got {raw!r}"]}) from None
