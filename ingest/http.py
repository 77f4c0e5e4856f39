"""A polite, retrying HTTP session for public APIs, and fetch / download helpers.

Two layers of retry, because failures happen in two places:

* before a response arrives (connection refused or dropped, read timeout, a 429 or
  5xx status): urllib3's :class:`~urllib3.util.Retry` inside the session, with
  exponential backoff, honouring ``Retry-After``;
* while reading the body (a connection cut mid-body, a truncated gzip, invalid
  JSON): :func:`fetch_json`, :func:`post_form` and :func:`download` repeat the whole
  request, up to ``attempts`` times (a connection error that outlasts the session's
  retries is repeated the same way).

Every request waits its turn so that at most one starts per ``min_interval``
seconds (a polite rate limit shared by threads using the session), has a
``(connect, read)`` timeout, and follows redirects (``http://`` to ``https://``).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

T = TypeVar("T")

DEFAULT_TIMEOUT = (10.0, 60.0)
DEFAULT_MIN_INTERVAL = 0.25
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD"})
USER_AGENT = "neurostore-ingest (+https://github.com/neurostuff/neurostore)"

# Failures while reading a body, after the status line arrived.
BODY_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class FetchError(RuntimeError):
    """A request still failed after every retry, or answered with an error status."""


class PoliteSession(requests.Session):
    """A :class:`requests.Session` with retries, backoff, timeouts and a rate limit.

    Parameters
    ----------
    retries : int, optional
        Retries per request for connection errors, read errors and retryable statuses.
    backoff_factor : float, optional
        Sleep ``backoff_factor * 2 ** (retry - 1)`` seconds between retries.
    timeout : tuple of float, optional
        ``(connect, read)`` timeout in seconds, used when a call gives none.
    min_interval : float, optional
        Least time in seconds between the starts of two requests.
    max_redirects : int, optional
        Redirects followed before giving up.
    retry_methods : frozenset of str, optional
        Methods the session retries after a read error or a retryable status. Add
        ``"POST"`` only for APIs whose POSTs are read-only queries (NCBI E-utilities):
        a repeated POST must not change anything twice.
    """

    def __init__(
        self,
        *,
        retries: int = 5,
        backoff_factor: float = 0.5,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        max_redirects: int = 10,
        retry_methods: frozenset[str] = SAFE_METHODS,
    ) -> None:
        super().__init__()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            backoff_factor=backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=retry_methods,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.headers["User-Agent"] = USER_AGENT
        self.max_redirects = max_redirects
        self.timeout = timeout
        self.min_interval = min_interval
        self.backoff_factor = backoff_factor
        self.retry_methods = retry_methods
        self._turn_lock = threading.Lock()
        self._next_start = 0.0

    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> requests.Response:
        """Send a request after waiting for its turn; see :meth:`requests.Session.request`."""
        kwargs.setdefault("timeout", self.timeout)
        self._wait_turn()
        return super().request(method, url, **kwargs)

    def _wait_turn(self) -> None:
        with self._turn_lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.min_interval
        if start > now:
            time.sleep(start - now)


@dataclass(frozen=True)
class Download:
    """A file saved under its content's name.

    Attributes
    ----------
    path : Path
        ``<folder>/<sha256><suffix>``.
    sha256 : str
        Hex digest of the content.
    size : int
        Bytes.
    url : str
        The URL the content came from, after redirects.
    """

    path: Path
    sha256: str
    size: int
    url: str


def fetch_json(session: PoliteSession, url: str, *, attempts: int = 3) -> Any:
    """GET a URL and decode its JSON body, repeating the request if the body is cut.

    Parameters
    ----------
    session : PoliteSession
        The session (it retries failures before a response arrives).
    url : str
        Absolute URL.
    attempts : int, optional
        Whole requests tried when reading the body fails.

    Returns
    -------
    Any
        The decoded JSON document.

    Raises
    ------
    FetchError
        On an error status (after the session's retries) or when every attempt failed.
    """
    def request() -> Any:
        with session.get(url, headers={"Accept": "application/json"}) as response:
            _raise_for_status(response)
            return response.json()

    return _repeated(session, f"GET {url}", attempts, request,
                     (*BODY_ERRORS, requests.exceptions.JSONDecodeError))


def post_form(
    session: PoliteSession, url: str, data: Mapping[str, str], *, attempts: int = 3
) -> bytes:
    """POST form data and return the whole body, repeating the request if the body is cut.

    Parameters
    ----------
    session : PoliteSession
        The session; it retries failures before a response arrives only if its
        ``retry_methods`` include ``"POST"``.
    url : str
        Absolute URL.
    data : mapping of str to str
        Form fields, sent ``application/x-www-form-urlencoded``.
    attempts : int, optional
        Whole requests tried when reading the body fails.

    Returns
    -------
    bytes
        The response body.

    Raises
    ------
    FetchError
        On an error status (after the session's retries) or when every attempt failed.
    """
    def request() -> bytes:
        with session.post(url, data=dict(data)) as response:
            _raise_for_status(response)
            return response.content

    return _repeated(session, f"POST {url}", attempts, request, BODY_ERRORS)


def download(
    session: PoliteSession,
    url: str,
    folder: str | os.PathLike[str],
    *,
    attempts: int = 3,
    chunk_size: int = 1 << 20,
) -> Download:
    """Stream a URL into ``folder`` under the sha256 of its content.

    The body goes to a temporary file in ``folder`` and is renamed only once
    complete, so an interrupted download never leaves a file under a content name.
    The name keeps the URL's file suffix (``.nii.gz``, ``.nii``) so readers that
    look at extensions still work. Downloading the same content twice is harmless.

    Parameters
    ----------
    session : PoliteSession
        The session.
    url : str
        Absolute URL of the file.
    folder : str or path-like
        Destination folder; created if missing.
    attempts : int, optional
        Whole requests tried when reading the body fails.
    chunk_size : int, optional
        Bytes read at a time.

    Returns
    -------
    Download
        Where the file is, its sha256 and size.

    Raises
    ------
    FetchError
        On an error status, or when every attempt failed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def request() -> Download:
        part: Path | None = None
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".part-", delete=False) as handle:
                part = Path(handle.name)
                sha256, size, final_url = _stream_into(session, url, handle, chunk_size)
            path = folder / f"{sha256}{_suffix(final_url)}"
            os.replace(part, path)
            return Download(path=path, sha256=sha256, size=size, url=final_url)
        finally:
            if part is not None:
                part.unlink(missing_ok=True)

    return _repeated(session, f"GET {url}", attempts, request,
                     (*BODY_ERRORS, urllib3.exceptions.HTTPError))


def _stream_into(
    session: PoliteSession, url: str, handle: BinaryIO, chunk_size: int
) -> tuple[str, int, str]:
    digest = hashlib.sha256()
    size = 0
    with session.get(url, stream=True) as response:
        _raise_for_status(response)
        # Raw bytes as the server holds them: a .nii.gz sent with Content-Encoding: gzip
        # must stay gzipped, or its name and its sha256 would describe other bytes.
        for chunk in response.raw.stream(chunk_size, decode_content=False):
            digest.update(chunk)
            handle.write(chunk)
            size += len(chunk)
        return digest.hexdigest(), size, response.url


def _raise_for_status(response: requests.Response) -> None:
    if response.status_code >= 400:
        raise FetchError(
            f"{response.request.method} {response.url} answered"
            f" {response.status_code} {response.reason}"
        )


def _repeated(session: PoliteSession, what: str, attempts: int, request: Callable[[], T],
              errors: tuple[type[Exception], ...]) -> T:
    """``request()``, repeated (after a pause) while reading its body fails with ``errors``:
    the session's own retries end once a response has arrived, a cut body comes after."""
    last: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            _pause(session, attempt)
        try:
            return request()
        except errors as error:
            last = error
    raise FetchError(f"{what} failed after {attempts} attempts: {last}") from last


def _pause(session: PoliteSession, attempt: int) -> None:
    time.sleep(session.backoff_factor * 2 ** (attempt - 1))


def _suffix(url: str) -> str:
    name = posixpath.basename(urlsplit(url).path).lower()
    for suffix in (".nii.gz", ".nii", ".gz", ".json"):
        if name.endswith(suffix):
            return suffix
    return ""
