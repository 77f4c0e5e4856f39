"""A writing client for NeuroVault's API: collections and statistical map uploads.

Endpoints, as NeuroVault documents and serves them (Django REST framework views, token
authentication: ``Authorization: Token <key>``): ``POST /api/collections/`` (JSON) makes a
collection, ``GET``/``PUT /api/collections/{id}/`` reads and updates one,
``POST /api/collections/{id}/images/`` adds a map (multipart: ``file`` and the image's
fields) and ``PUT /api/images/{id}/`` replaces one. Errors come back as JSON:
``{"detail": ...}`` (401, 403, 404) or ``{field: [messages]}`` (400).

Retries are the :class:`~ingest.http.PoliteSession`'s (urllib3's ``Retry``: connection
errors, 429 and 5xx answers, with backoff), here for writes too. A ``PUT`` repeated is
harmless; a ``POST`` repeated after a 5xx could, if NeuroVault had saved the object before
failing, leave a second one: the publication records each id as soon as it is answered, so
a later publication updates what it knows of and never adds a third.
Every failure that remains is a :class:`PublishError` saying what was refused and why, in
words a user can act on; the token itself is never part of a message.
"""

from __future__ import annotations

from typing import Any

import requests

from ingest.http import PoliteSession
from ingest.neurovault.client import DEFAULT_BASE_URL

#: Methods retried after a connection error or a 429 / 5xx answer (see the module docstring).
WRITE_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "POST"})
#: Where a NeuroVault user finds their API token.
TOKEN_HELP = "https://neurovault.org/accounts/tokens/"


class PublishError(RuntimeError):
    """NeuroVault refused a request, or could not be reached; the message says which."""


class NeuroVaultUploader:
    """Create and update a collection and its images with one user's API token.

    Parameters
    ----------
    token : str
        The user's NeuroVault API token.
    base_url : str, optional
        Scheme and host of NeuroVault (a test server's in tests).
    session : PoliteSession, optional
        The HTTP session; by default one that retries writes (:data:`WRITE_METHODS`).
    """

    def __init__(self, token: str, base_url: str = DEFAULT_BASE_URL, *,
                 session: PoliteSession | None = None) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.session = session or PoliteSession(retry_methods=WRITE_METHODS, min_interval=0.1)

    def __repr__(self) -> str:
        return f"NeuroVaultUploader({self.base_url!r})"

    # collections -----------------------------------------------------------------------
    def collection(self, collection_id: int) -> dict[str, Any] | None:
        """A collection, or None when NeuroVault has no such collection (any more)."""
        return self._json("GET", f"/api/collections/{int(collection_id)}/",
                          f"collection {collection_id}", missing_ok=True)

    def create_collection(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Make a collection; its record (``id``, ``url``...)."""
        return self._json("POST", "/api/collections/", "the new collection", json=fields)

    def update_collection(self, collection_id: int,
                          fields: dict[str, Any]) -> dict[str, Any] | None:
        """Replace a collection's fields; None when it no longer exists."""
        return self._json("PUT", f"/api/collections/{int(collection_id)}/",
                          f"collection {collection_id}", json=fields, missing_ok=True)

    # images ----------------------------------------------------------------------------
    def add_image(self, collection_id: int, fields: dict[str, Any], data: bytes,
                  filename: str) -> dict[str, Any]:
        """Upload a map into a collection; the image's record (``id``...)."""
        return self._json("POST", f"/api/collections/{int(collection_id)}/images/",
                          f"map {fields.get('name')!r} ({len(data)} bytes)",
                          data=_form(fields), files={"file": (filename, data)})

    def replace_image(self, image_id: int, fields: dict[str, Any], data: bytes,
                      filename: str) -> dict[str, Any] | None:
        """Replace an image's file and fields; None when it no longer exists."""
        return self._json("PUT", f"/api/images/{int(image_id)}/",
                          f"map {fields.get('name')!r} ({len(data)} bytes)",
                          data=_form(fields), files={"file": (filename, data)},
                          missing_ok=True)

    def page(self, record: dict[str, Any]) -> str:
        """The web address of a collection record (its private link for a private one)."""
        url = record.get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
        return f"{self.base_url}/collections/{record['id']}/"

    # plumbing --------------------------------------------------------------------------
    def _json(self, method: str, path: str, what: str, *, missing_ok: bool = False,
              **kwargs: Any) -> Any:
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Token {self._token}", "Accept": "application/json"}
        try:
            with self.session.request(method, url, headers=headers, **kwargs) as response:
                if response.status_code == 404 and missing_ok:
                    return None
                if response.status_code >= 400:
                    raise PublishError(_refusal(response, what, self.base_url))
                return response.json()
        except requests.exceptions.JSONDecodeError as exc:
            raise PublishError(f"NeuroVault at {self.base_url} answered {method} {path} with"
                               " something that is not JSON") from exc
        except requests.exceptions.RequestException as exc:
            raise PublishError(f"could not reach NeuroVault at {self.base_url} to send {what}"
                               f" ({type(exc).__name__}); try again later") from exc


def _form(fields: dict[str, Any]) -> dict[str, str]:
    """Image fields as multipart form values (booleans as Django reads them)."""
    return {k: ("true" if v else "false") if isinstance(v, bool) else str(v)
            for k, v in fields.items() if v is not None}


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(body, dict):
        if "detail" in body and len(body) == 1:
            return str(body["detail"])
        return "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in body.items())
    return str(body)[:300]


def _refusal(response: requests.Response, what: str, base_url: str) -> str:
    """Why NeuroVault refused a request, and what to do about it."""
    status, detail = response.status_code, _detail(response)
    if status == 401:
        return (f"NeuroVault at {base_url} refused the API token (401: {detail}); check the "
                f"token (your tokens are at {TOKEN_HELP})")
    if status == 403:
        return (f"NeuroVault refused to change {what} (403: {detail}): it belongs to another "
                "NeuroVault user than the token's")
    if status == 413:
        return (f"NeuroVault refused {what}: too large for the server (413 Request Entity "
                "Too Large)")
    if status == 400:
        return f"NeuroVault refused {what} (400): {detail}"
    if status >= 500 or status == 429:
        return (f"NeuroVault failed on {what} ({status}) after retries; try again later"
                f"{': ' + detail if detail else ''}")
    return f"NeuroVault refused {what} ({status}: {detail})"
