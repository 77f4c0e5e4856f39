"""Upload a published result to NeuroVault: the job a worker runs, and the command line's
upload in its own process.

Both go through :func:`upload`: make (or update) the collection, record its id, then send
each map, recording each image id as NeuroVault answers. A publication that was sent before
updates its collection and images (``PUT``) instead of making new ones; an image or a
collection deleted on NeuroVault since is made again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ingest.http import PoliteSession
from ingest.neurovault.upload import NeuroVaultUploader, PublishError
from neurostore.services.neurovault import TOKEN_GONE, Claim
from neurostore.vocabulary import RunStatus

LOG = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]


class PublicationAbandoned(RuntimeError):
    """The publication's claim was lost (another attempt took it over)."""


def upload(services: Any, claim: Claim, uploader: NeuroVaultUploader, *,
           on_progress: Progress | None = None) -> dict[str, Any]:
    """Send a claimed publication to NeuroVault and mark it done.

    Parameters
    ----------
    services : Services
    claim : Claim
        From :meth:`NeuroVaultService.claim` or :meth:`NeuroVaultService.start`.
    uploader : NeuroVaultUploader
        The client, with the user's token.
    on_progress : callable, optional
        Called with each progress record (the command line prints them).

    Returns
    -------
    dict
        The collection's ``id`` and ``url``, and ``images`` (map name -> image id).

    Raises
    ------
    PublishError
        NeuroVault refused something; the caller records it with ``fail``.
    PublicationAbandoned
        The claim was lost.
    """
    publications = services.neurovault

    def report(stage: str, **extra: Any) -> None:
        progress = {"stage": stage, **extra}
        if not publications.report(claim, progress):
            raise PublicationAbandoned(claim.publication_id)
        if on_progress is not None:
            on_progress(progress)

    plan = publications.plan(claim)
    images = dict(claim.images)
    collection = None
    if claim.collection_id is not None and claim.server == uploader.base_url:
        report("updating the collection", collection=claim.collection_id)
        collection = uploader.update_collection(claim.collection_id, plan.collection)
    if collection is None:
        if claim.collection_id is not None:
            publications.forget(claim)
            images = {}
        report("creating the collection")
        collection = uploader.create_collection(plan.collection)
    url = uploader.page(collection)
    if not publications.remember_collection(claim, uploader.base_url, collection["id"], url):
        raise PublicationAbandoned(claim.publication_id)
    total = len(plan.images)
    for done, image in enumerate(plan.images):
        report("uploading maps", done=done, total=total, image=image.name)
        with image.open(services.snapshots.files) as stream:
            data = stream.read()
        filename = image.filename.rsplit("/", 1)[-1]
        sent = None
        if image.name in images:
            sent = uploader.replace_image(images[image.name], image.fields, data, filename)
        if sent is None:
            sent = uploader.add_image(collection["id"], image.fields, data, filename)
        images[image.name] = sent["id"]
        if not publications.remember_image(claim, image.name, sent["id"]):
            raise PublicationAbandoned(claim.publication_id)
    report("finishing", done=total, total=total)
    if not publications.finish(claim):
        raise PublicationAbandoned(claim.publication_id)
    return {"id": collection["id"], "url": url, "images": images}


def execute(services: Any, publication_id: str, base_url: str, *,
            session: PoliteSession | None = None) -> str | None:
    """Run a queued publication (the worker's job); its final status, None if not ours.

    Parameters
    ----------
    services : Services
    publication_id : str
    base_url : str
        The NeuroVault to publish to.
    session : PoliteSession, optional
        The HTTP session (tests pass one with short backoffs).
    """
    publications = services.neurovault
    claim = publications.claim(publication_id)
    if claim is None:
        return None
    if claim.token is None:
        publications.fail(claim, TOKEN_GONE)
        return RunStatus.FAILED
    uploader = NeuroVaultUploader(claim.token, base_url, session=session)
    try:
        upload(services, claim, uploader)
    except PublicationAbandoned:
        LOG.info("publication %s was taken over; stopping", publication_id)
        return None
    except PublishError as exc:
        publications.fail(claim, str(exc))
        return RunStatus.FAILED
    except Exception as exc:
        publications.fail(claim, f"{type(exc).__name__}: {exc}")
        raise
    return RunStatus.SUCCEEDED


def publish_here(services: Any, claim: Claim, token: str, base_url: str, *,
                 on_progress: Progress | None = None) -> dict[str, Any]:
    """Upload a publication claimed by this process (the command line, with
    :meth:`NeuroVaultService.start` or :meth:`NeuroVaultService.term_start`) with a token
    it holds: nothing secret is stored.

    Raises
    ------
    PublishError
        NeuroVault refused something (also recorded on the publication).
    """
    publications = services.neurovault
    try:
        return upload(services, claim, NeuroVaultUploader(token, base_url),
                      on_progress=on_progress)
    except PublishError as exc:
        publications.fail(claim, str(exc))
        raise
    except BaseException as exc:
        publications.fail(claim, f"{type(exc).__name__}: {exc}")
        raise
