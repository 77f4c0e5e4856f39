"""A read-only client for the NeuroVault REST API.

Endpoints used (the ``.json`` suffix and ``?format=json`` are NeuroVault's own
spellings, kept as the public site answers them): ``/api/collections.json``,
``/api/collections/{id}/?format=json``, ``/api/collections/{id}/images/?format=json``
and ``/api/images/{id}/?format=json``. Lists come in pages of
``{count, next, previous, results}``; the client follows ``next`` as given (it may
be an ``http://`` link that redirects to ``https://``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from ingest.http import Download, FetchError, PoliteSession, download, fetch_json

DEFAULT_BASE_URL = "https://neurovault.org"
MAX_PAGE_SIZE = 1000


class NeuroVaultClient:
    """Iterate NeuroVault collections and images, and download image files.

    Parameters
    ----------
    base_url : str, optional
        Scheme and host of the API, without a trailing ``/api``.
    session : PoliteSession, optional
        HTTP session; a new one with default retries and rate limit if omitted.
    attempts : int, optional
        Whole requests tried when a body arrives cut or garbled.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        session: PoliteSession | None = None,
        attempts: int = 3,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or PoliteSession()
        self.attempts = attempts

    def iter_collections(
        self, *, page_size: int | None = None, max_items: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield collection records, page after page.

        Parameters
        ----------
        page_size : int, optional
            ``limit`` per page (at most 1000); the server's default (100) if omitted.
        max_items : int, optional
            Stop after this many records, without fetching further pages.

        Yields
        ------
        dict
            Collection records in the server's order (not by id).

        Raises
        ------
        FetchError
            If a page cannot be fetched.
        """
        query = {}
        if page_size is not None:
            query["limit"] = min(page_size, MAX_PAGE_SIZE)
        url = f"{self.base_url}/api/collections.json"
        if query:
            url = f"{url}?{urlencode(query)}"
        yield from self._pages(url, max_items)

    def collection(self, collection_id: int) -> dict[str, Any]:
        """Fetch one collection record.

        Parameters
        ----------
        collection_id : int
            NeuroVault collection id.

        Returns
        -------
        dict
            The collection record.
        """
        return self._get(f"{self.base_url}/api/collections/{int(collection_id)}/?format=json")

    def iter_collection_images(
        self, collection_id: int, *, max_items: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield the image records of one collection.

        Parameters
        ----------
        collection_id : int
            NeuroVault collection id.
        max_items : int, optional
            Stop after this many records.

        Yields
        ------
        dict
            Image records.
        """
        url = f"{self.base_url}/api/collections/{int(collection_id)}/images/?format=json"
        yield from self._pages(url, max_items)

    def image(self, image_id: int) -> dict[str, Any]:
        """Fetch one image record.

        Parameters
        ----------
        image_id : int
            NeuroVault image id.

        Returns
        -------
        dict
            The image record.
        """
        return self._get(f"{self.base_url}/api/images/{int(image_id)}/?format=json")

    def download_image(
        self, image: Mapping[str, Any] | str, folder: str | os.PathLike[str]
    ) -> Download:
        """Download an image's file into ``folder`` under its sha256.

        Parameters
        ----------
        image : mapping or str
            An image record (its ``file`` URL is used) or the file URL itself.
        folder : str or path-like
            Destination folder.

        Returns
        -------
        Download
            Path, sha256 and size of the saved file.

        Raises
        ------
        FetchError
            If the record has no file URL or the download keeps failing.
        """
        if isinstance(image, str):
            url = image
        else:
            url = image.get("file")
            if not url:
                raise FetchError(f"image {image.get('id')!r} has no file URL")
        return download(self.session, self.local(url), folder, attempts=self.attempts)

    def local(self, url: str) -> str:
        """``url`` on this client's server: NeuroVault's records name its public host in
        their file and page links, which a mirror (``base_url``) serves too."""
        public = urlsplit(DEFAULT_BASE_URL)
        parts = urlsplit(url)
        # NeuroVault's records link its files over http and https alike.
        if parts.netloc != public.netloc or parts.scheme not in ("http", "https"):
            return url
        mine = urlsplit(self.base_url)
        return urlunsplit((mine.scheme, mine.netloc, mine.path.rstrip("/") + parts.path,
                           parts.query, parts.fragment))

    def _get(self, url: str) -> Any:
        return fetch_json(self.session, url, attempts=self.attempts)

    def _pages(self, url: str | None, max_items: int | None) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        count = 0
        while url and (max_items is None or count < max_items):
            if url in seen:
                raise FetchError(f"page {url} links back to an earlier page")
            seen.add(url)
            page = self._get(self.local(url))
            if isinstance(page, list):  # unpaginated list
                results, url = page, None
            else:
                results, url = page.get("results", []), page.get("next")
            for record in results:
                if max_items is not None and count >= max_items:
                    return
                count += 1
                yield record
