"""NeuroVault into the store: harvest collections, download and check every map.

Each image of a harvested collection is downloaded into the content-addressed file
store (its sha256 goes into the image's ``sha256``) and checked with
:func:`~ingest.neurovault.nifti.check_nifti`. A map that is not a usable volume is
reported and its analysis left out; the rest of the collection is kept. A map that
cannot be downloaded leaves the whole collection out (reported as a failure), so a
passing network fault never removes analyses from a stored study: the next run
fetches the collection again.

A map already stored for the same URL, with the same NeuroVault ``modify_date``,
is not downloaded again: a re-run costs the API listing, not the files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ingest.http import FetchError
from ingest.load import SourceStream
from ingest.neurovault import harvest
from ingest.neurovault.client import NeuroVaultClient
from ingest.neurovault.nifti import NiftiError
from ingest.neurovault.parse import Selection
from ingest.records import Skipped, Study
from ingest.statmaps import map_suffix, scratch_folder, store_map
from neurostore.storage import FileStore
from neurostore.vocabulary import PointSpace

# Skip reasons that mean "not fetched": the record may well be fine next time.
FETCH_FAILURES = ("images not fetched", "collection not fetched", "map not downloaded")
# NeuroVault's name for "some MNI template"; other names the store knows pass through.
_SPACE_NAMES = {"genericmni": PointSpace.MNI.value}
_STORE_SPACE_PREFIXES = (PointSpace.MNI.value, PointSpace.TAL.value)

# url -> (sha256, image metadata) of the stored version of a collection
StoredFiles = Callable[[str], dict[str, tuple[str, Any]]]


def open_stream(
    client: NeuroVaultClient,
    files: FileStore,
    stored_files: StoredFiles,
    selection: Selection | None = None,
    *,
    max_collections: int | None = None,
    max_images_per_collection: int | None = None,
) -> SourceStream:
    """The selected collections as studies whose images are downloaded and checked.

    Parameters
    ----------
    client : NeuroVaultClient
        API client (its session holds the retries and the rate limit).
    files : FileStore
        Where the maps go, named by sha256.
    stored_files : callable
        ``stored_files(collection_id)`` -> ``{url: (sha256, image metadata)}`` of
        what the store already holds for that collection.
    selection : Selection, optional
        Which collections and images; everything by default.
    max_collections, max_images_per_collection : int, optional
        Limits passed to :func:`ingest.neurovault.harvest.iter_studies`.

    Returns
    -------
    SourceStream
        Studies with ``sha256`` set on every image; skipped records include the maps
        that failed their check and the collections that could not be fetched.
    """
    stream = harvest.iter_studies(client, selection, max_collections=max_collections,
                                  max_images_per_collection=max_images_per_collection)

    def studies() -> Iterator[Study]:
        for study in stream:
            kept = _with_files(study, client, files, stored_files, stream.skipped)
            if kept is not None:
                yield kept

    return SourceStream(studies(), stream.skipped, is_failure=is_fetch_failure)


def is_fetch_failure(item: Skipped) -> bool:
    """Whether a skipped record is a fetch failure (worth retrying) rather than bad data."""
    return item.reason.startswith(FETCH_FAILURES)


def store_space(label: str | None, header_space: str | None) -> str | None:
    """The store's space of a map: the NIfTI header's, else NeuroVault's template name."""
    if header_space:
        return header_space
    if not label:
        return None
    label = _SPACE_NAMES.get(label.lower(), label)
    return label if label.upper().startswith(_STORE_SPACE_PREFIXES) and " " not in label else None


def _with_files(study: Study, client: NeuroVaultClient, files: FileStore,
                stored_files: StoredFiles, skipped: list[Skipped]) -> Study | None:
    known = stored_files(study["source_id"])
    analyses = []
    for analysis in study["analyses"]:
        try:
            for image in analysis["images"]:
                _attach_file(image, client, files, known)
        except FetchError as error:
            skipped.append(Skipped(study["source_id"], None, f"map not downloaded: {error}"))
            return None
        except NiftiError as error:
            image_id = analysis["metadata"].get("neurovault_image_id")
            names = ", ".join(i.get("filename") or i.get("url") or "?"
                              for i in analysis["images"])
            skipped.append(Skipped(study["source_id"], None,
                                   f"image {image_id} ({names}): {error}"))
            continue
        analyses.append(analysis)
    if not analyses:
        return None
    return {**study, "analyses": analyses}


def _attach_file(image: dict[str, Any], client: NeuroVaultClient, files: FileStore,
                 known: dict[str, tuple[str, Any]]) -> None:
    label = image["space"]
    image["metadata"]["target_template_image"] = label
    stamp = image["metadata"].get("modify_date")
    sha256, metadata = known.get(image["url"], (None, None))
    suffix = map_suffix(image.get("filename"))
    metadata = metadata or {}
    if sha256 and metadata.get("modify_date") == stamp and files.exists(sha256 + suffix):
        image["sha256"] = sha256
        image["metadata"]["header_space"] = metadata.get("header_space")
        image["space"] = store_space(label, metadata.get("header_space"))
        return
    own = image.get("filename") or image["url"].rsplit("/", 1)[-1]
    with scratch_folder(files) as scratch:
        saved = client.download_image(image["url"], scratch)
        stored = store_map(saved.path, files, own_name=own, suffix=suffix)
    image["sha256"] = stored.sha256
    image["metadata"]["header_space"] = stored.info.space
    image["space"] = store_space(label, stored.info.space)
