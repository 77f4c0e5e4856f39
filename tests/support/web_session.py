"""A signed-in HTTP session on the pages, as a browser without JavaScript has: its cookie,
and the CSRF token its forms carry (for tests that post forms or download files with
plain HTTP)."""

from __future__ import annotations

import re

import requests

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def signed_in(site: str, token: str | None) -> requests.Session:
    """A session signed in with ``token`` through the sign-in form (anonymous for None)."""
    session = requests.Session()
    if token is not None:
        page = session.get(f"{site}/signin")
        answer = session.post(f"{site}/signin", data={"token": token,
                                                      "csrf_token": csrf_of(page.text)})
        assert answer.status_code == 200 and "Signed in as" in answer.text
    return session


def post_form(session: requests.Session, site: str, page: str, action: str,
              data: dict[str, str]) -> requests.Response:
    """Send a form of ``page`` to ``action`` as a browser would (with the page's CSRF
    token), without following the redirect that answers it."""
    token = csrf_of(session.get(site + page).text)
    return session.post(site + action, data={**data, "csrf_token": token},
                        allow_redirects=False)
