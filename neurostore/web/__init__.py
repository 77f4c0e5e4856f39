"""The web application: server-rendered pages on the same services as the API.

Pages read through the read side and write through the services, exactly as the API does
(there is no second write path); they add sign-in sessions (signed cookies bound to an API
token), CSRF protection on every form, and HTML error pages.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFProtect

from neurostore.config import Settings
from neurostore.web import (
    admin,
    annotation_grid,
    auth,
    run_files,
    run_new,
    runs,
    search,
    study,
    study_edit,
    study_history,
    study_images,
    studysets,
)
from neurostore.web.context import template_globals

BLUEPRINTS = (auth.blp, search.blp, study.blp, study_edit.blp, study_history.blp,
              study_images.blp, studysets.blp, annotation_grid.blp, runs.blp, run_new.blp,
              run_files.blp, admin.blp)
#: Prefix of the API's paths; everything else is a page (errors render as HTML).
API_PREFIX = "/api"


def _secret_key(settings: Settings) -> str:
    """The configured key, or one kept in the data folder (made once, readable by its owner
    only) so that every process serving that folder signs sessions alike."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:  # a complete file or none: two processes starting at once keep the first
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def error_page(status: int, title: str, detail: str, errors: dict[str, Any]) -> Any:
    """An error as a page (what :mod:`neurostore.api.errors` answers outside the API)."""
    return render_template("error.html", status=status, title=title, detail=detail,
                           errors=errors), status


def _start_clock() -> None:
    g.page_started = time.perf_counter()


def _server_timing(response: Response) -> Response:
    """Say how long a page took on the server (``Server-Timing: app;dur=MS``): a browser's
    developer tools and ``bench/web.py`` read it."""
    if "page_started" in g and not request.path.startswith(API_PREFIX):
        spent = 1e3 * (time.perf_counter() - g.page_started)
        response.headers["Server-Timing"] = f"app;dur={spent:.1f}"
    return response


def register(app: Flask, settings: Settings) -> None:
    """Add the pages, sessions and CSRF protection to the API's application."""
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # The API authenticates with bearer tokens, never cookies: only pages need CSRF
        # tokens, and each page blueprint checks them (see context.protect).
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
    )
    CSRFProtect(app)
    app.context_processor(template_globals)
    app.before_request(_start_clock)
    app.after_request(_server_timing)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
