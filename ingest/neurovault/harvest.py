"""Walk NeuroVault with the client and turn what passes the selection into study dicts.

The network part of a NeuroVault ingest without the database: it lists collections
(or fetches the selected ones directly), fetches each one's images and hands both
to :func:`ingest.neurovault.parse.parse_collection`. A collection whose images
cannot be fetched is reported and the walk goes on; a listing page that cannot be
fetched raises, since nothing after it can be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from itertools import islice
from typing import Any

from ingest.http import FetchError
from ingest.neurovault.client import NeuroVaultClient
from ingest.neurovault.parse import (
    Selection,
    collection_left_out,
    collection_selected,
    parse_collection,
)
from ingest.records import Skipped, Study, StudyStream


def iter_studies(
    client: NeuroVaultClient,
    selection: Selection | None = None,
    *,
    max_collections: int | None = None,
    max_images_per_collection: int | None = None,
    page_size: int | None = None,
) -> StudyStream:
    """Stream one study dict per selected NeuroVault collection.

    With ``selection.collection_ids`` set, those collections are fetched one by one
    (in increasing id order) instead of paging through every collection.

    Parameters
    ----------
    client : NeuroVaultClient
        The API client (its base URL decides which server is walked).
    selection : Selection, optional
        Which collections and images to keep; everything by default.
    max_collections : int, optional
        Stop after this many collections pass the collection-level selection.
    max_images_per_collection : int, optional
        Fetch at most this many image records per collection.
    page_size : int, optional
        ``limit`` of the collection listing pages.

    Returns
    -------
    StudyStream
        Study dicts; ``skipped`` collects collections that could not be fetched and
        malformed image records.

    Raises
    ------
    FetchError
        While iterating, if a listing page cannot be fetched.
    """
    selection = selection or Selection()
    return StudyStream(
        partial(
            _generate,
            client,
            selection,
            max_collections,
            max_images_per_collection,
            page_size,
        )
    )


def _generate(
    client: NeuroVaultClient,
    selection: Selection,
    max_collections: int | None,
    max_images: int | None,
    page_size: int | None,
    skipped: list[Skipped],
) -> Iterator[Study]:
    collections = _collections(client, selection, page_size, skipped)
    for collection in islice(_selected(collections, selection, skipped), max_collections):
        if not isinstance(collection.get("id"), int):
            skipped.append(Skipped(None, None, f"collection record without an id: {collection!r}"))
            continue
        try:
            images = list(client.iter_collection_images(collection["id"], max_items=max_images))
        except FetchError as error:
            skipped.append(Skipped(str(collection["id"]), None, f"images not fetched: {error}"))
            continue
        result = parse_collection(collection, images, selection)
        skipped.extend(result.skipped)
        yield from result.studies


def _selected(collections: Iterator[dict[str, Any]], selection: Selection,
              skipped: list[Skipped]) -> Iterator[dict[str, Any]]:
    """The collections the selection keeps; each one it leaves out is reported."""
    for collection in collections:
        if collection_selected(collection, selection):
            yield collection
        else:
            skipped.append(Skipped(str(collection.get("id")), None, "collection left out: "
                                   + collection_left_out(collection, selection)))


def _collections(
    client: NeuroVaultClient, selection: Selection, page_size: int | None, skipped: list[Skipped]
) -> Iterator[dict[str, Any]]:
    if selection.collection_ids is None:
        yield from client.iter_collections(page_size=page_size)
        return
    for collection_id in sorted(selection.collection_ids):
        try:
            yield client.collection(collection_id)
        except FetchError as error:
            skipped.append(Skipped(str(collection_id), None, f"collection not fetched: {error}"))
