"""Sign-in and sign-out.

A user signs in with one of their API tokens (``manage.py tokens create`` or the API's
``/api/users/{id}/tokens``), or with a sign-in link (``manage.py users signin-link``: a
short-lived token in a URL). There are no passwords to store or leak: the site keeps one
kind of credential, which administrators already issue, expire and revoke, and the session
cookie holds only the token's id, checked on every request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for

from neurostore.services.errors import Unauthenticated
from neurostore.web.context import protect, sign_in, sign_out

blp = Blueprint("web-auth", __name__)
blp.before_request(protect)


def _next() -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    target = request.values.get("next") or url_for("web-search.search")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web-search.search")
    return target


@blp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    """The sign-in form (GET), and signing in with a token (POST)."""
    error = None
    if request.method == "POST":
        token = (request.form.get("token") or "").strip()
        if not token:
            error = "Enter your API token."
        else:
            try:
                sign_in(token)
                return redirect(_next(), 303)
            except Unauthenticated:
                error = "That token is unknown, revoked or expired."
    return render_template("signin.html", error=error, next=_next()), 400 if error else 200


@blp.route("/signin/link", methods=["GET"])
def signin_link() -> Any:
    """Sign in with the token a sign-in link carries, then drop it from the address bar."""
    try:
        sign_in(request.args.get("token", ""))
    except Unauthenticated:
        return render_template("signin.html", next=_next(),
                               error="That sign-in link is unknown, revoked or expired."), 400
    return redirect(_next(), 303)


@blp.route("/signout", methods=["POST"])
def signout() -> Any:
    """Sign out (the token stays valid for API use)."""
    sign_out()
    return redirect(url_for("web-search.search"), 303)
