"""The sources a run can ingest, and how a run's parameters open one.

A run's parameters are plain JSON (they are stored on the run, and a worker rebuilds
the source from them), so a file is named by a path or a URL. A URL is fetched once
into ``<data_dir>/downloads/<source>/``: release URLs pin a commit, so a file already
there is the same file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.http import PoliteSession, download
from ingest.load import SourceStream
from ingest.neuroquery import parse as neuroquery
from ingest.neurosynth import parse as neurosynth
from ingest.neurovault import load as neurovault
from ingest.neurovault.client import DEFAULT_BASE_URL, NeuroVaultClient
from ingest.neurovault.parse import Selection
from ingest.nimads import load as nimads
from ingest.nimads.images import FetchProgress, ImageBase, ImageError, ImageFetcher, UrlIndex
from ingest.pubmed import client as pubmed
from ingest.pubmed.load import PmidSelection
from ingest.records import ParseError, Skipped, Study, StudyStream
from ingest.sleuth import parse as sleuth
from neurostore.services.registry import Services
from neurostore.storage import FileStore

SOURCES = ("neuroquery", "neurosynth", "neurovault", "sleuth", "nimads", "pubmed")
PUBMED_PARAMETERS = frozenset({"base_url", "pmids", "limit", "refresh", "api_key", "email",
                               "tool"})


class SourceError(ValueError):
    """A run's parameters name no usable input (a missing file, an unknown source)."""


@dataclass(frozen=True)
class Environment:
    """Where a load keeps what it fetches.

    Attributes
    ----------
    services : Services
        The store (the NeuroVault loader asks it which maps it already holds).
    data_dir : Path
        Release downloads go to ``data_dir/downloads``.
    files : FileStore
        The content-addressed store for the maps NeuroVault and NIMADS files bring.
    http : PoliteSession or None
        The HTTP session to use; a default polite one when None.
    file_progress : callable or None
        Told of each map a NIMADS import reads (see
        :data:`~ingest.nimads.images.FetchProgress`).
    ncbi_api_key, ncbi_email : str or None
        PubMed's identity when a run's parameters give none (from the settings, so that a
        key is not stored on the runs).
    """

    services: Services
    data_dir: Path
    files: FileStore
    http: PoliteSession | None = None
    file_progress: FetchProgress | None = None
    ncbi_api_key: str | None = None
    ncbi_email: str | None = None

    def session(self) -> PoliteSession:
        """The HTTP session."""
        return self.http or PoliteSession()


def _release_file(location: str, name: str) -> str:
    """``name`` in a release location: a URL prefix or a folder."""
    if urlsplit(location).scheme in ("http", "https"):
        return location.rstrip("/") + "/" + name
    return str(Path(location).expanduser().resolve() / name)


def default_parameters(source: str, location: str | None = None) -> dict[str, Any]:
    """The parameters of a run of the release (what a schedule runs).

    Parameters
    ----------
    source : str
        One of :data:`SOURCES`.
    location : str, optional
        Where the release is read from instead of its public host: a mirror's URL or a
        folder holding the release's files under their public names (NeuroVault: the API's
        base URL; PubMed: the E-utilities base URL).

    Returns
    -------
    dict
        JSON parameters; file sources have none (their files must be given).
    """
    if source in ("neuroquery", "neurosynth"):
        module = neuroquery if source == "neuroquery" else neurosynth
        where = location or module.RELEASE_URL
        return {"coordinates": _release_file(where, module.COORDINATES_FILE),
                "metadata": _release_file(where, module.METADATA_FILE)}
    if source == "neurovault":
        return {"base_url": location or DEFAULT_BASE_URL, "collection_ids": None,
                "require_doi": False,
                "group_level_only": False, "max_collections": None,
                "max_images_per_collection": None}
    if source == "pubmed":
        return {"base_url": location or pubmed.DEFAULT_BASE_URL, "pmids": None, "limit": None,
                "refresh": False}
    if source in ("sleuth", "nimads"):
        return {}
    raise SourceError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")


def open_source(source: str, parameters: dict[str, Any], env: Environment) -> SourceStream:
    """Open a source's study stream from a run's parameters.

    Parameters
    ----------
    source : str
        One of :data:`SOURCES`.
    parameters : dict
        As stored on the run (see :func:`default_parameters` for their names).
    env : Environment
        Folders, file store and HTTP session.

    Returns
    -------
    SourceStream
        Studies parsed lazily where the parser allows it.

    Raises
    ------
    SourceError
        For an unknown source, missing parameters or a missing file.
    ParseError
        If a file is unusable as a whole (the Sleuth and NIMADS files are read here).
    """
    if source == "pubmed":
        raise SourceError("pubmed fills texts, not studies: open it with open_pubmed")
    p = {**default_parameters(source), **parameters}
    if source in ("neuroquery", "neurosynth"):
        module = neuroquery if source == "neuroquery" else neurosynth
        stream = module.iter_studies(_local(p, "coordinates", source, env),
                                     _local(p, "metadata", source, env))
        return SourceStream(stream, stream.skipped)
    if source == "neurovault":
        ids = p["collection_ids"]
        selection = Selection(collection_ids=frozenset(ids) if ids else None,
                              require_doi=bool(p["require_doi"]),
                              group_level_only=bool(p["group_level_only"]))
        client = NeuroVaultClient(p["base_url"], session=env.session())
        return neurovault.open_stream(
            client, env.files, partial(env.services.ingest.stored_files, "neurovault"),
            selection, max_collections=p["max_collections"],
            max_images_per_collection=p["max_images_per_collection"])
    if source == "sleuth":
        paths = [_local({"path": path}, "path", source, env) for path in p.get("paths") or []]
        if not paths:
            raise SourceError("sleuth: give at least one file in 'paths'")
        stream = StudyStream(partial(_sleuth_studies, paths))
        return SourceStream(stream, stream.skipped, atomic=True, strict=not p.get("skip_bad"))
    studyset = _local(p, "studyset", source, env)
    annotation = _local(p, "annotation", source, env) if p.get("annotation") else None
    images = _image_fetcher(p, env) if p.get("fetch_images") or p.get("images") else None
    try:
        return nimads.open_stream(studyset, annotation, into=p.get("into") or None,
                                  strict=not p.get("skip_bad"), images=images)
    except ValueError as error:  # not JSON, or not a studyset
        raise ParseError(f"{studyset.name}: {error}") from error


def open_pubmed(parameters: dict[str, Any], env: Environment,
                batch_size: int) -> tuple[pubmed.PubMedClient, PmidSelection]:
    """The client and PMID selection of a PubMed run.

    Parameters
    ----------
    parameters : dict
        As stored on the run: ``base_url``, ``pmids`` (only these), ``limit``, ``refresh``
        (every PMID, not only those never fetched), and ``api_key``, ``email``, ``tool``
        (NCBI's identity; the environment's key and address by default).
    env : Environment
        The HTTP session (it must retry POSTs; by default one at NCBI's polite rate) and
        the identity from the settings.
    batch_size : int
        PMIDs per request and per transaction (at most efetch's 10,000).

    Returns
    -------
    tuple of (PubMedClient, PmidSelection)

    Raises
    ------
    SourceError
        For an unknown parameter or a bad value, naming it.
    """
    unknown = sorted(set(parameters) - PUBMED_PARAMETERS)
    if unknown:
        raise SourceError(f"pubmed: unknown parameters {', '.join(unknown)}; expected"
                          f" {', '.join(sorted(PUBMED_PARAMETERS))}")
    p = {**default_parameters("pubmed"), **parameters}
    try:
        pmids = None if p["pmids"] is None else tuple(pubmed.check_pmids(p["pmids"]))
    except (TypeError, ValueError) as error:
        raise SourceError(f"pubmed: pmids: {error}") from error
    limit, refresh = p["limit"], p["refresh"]
    if limit is not None and (type(limit) is not int or limit < 1):
        raise SourceError(f"pubmed: limit must be a whole number >= 1, not {limit!r}")
    if not isinstance(refresh, bool):
        raise SourceError(f"pubmed: refresh must be true or false, not {refresh!r}")
    if urlsplit(str(p["base_url"])).scheme not in ("http", "https"):
        raise SourceError(f"pubmed: base_url must be an http(s) URL, not {p['base_url']!r}")
    client = pubmed.PubMedClient(
        p["base_url"], session=env.http, api_key=p.get("api_key") or env.ncbi_api_key,
        email=p.get("email") or env.ncbi_email, tool=p.get("tool") or "neurostore",
        batch_size=min(batch_size, pubmed.MAX_BATCH_SIZE))
    return client, PmidSelection(pmids, refresh=refresh, limit=limit)


def _image_fetcher(parameters: dict[str, Any], env: Environment) -> ImageFetcher:
    """What fetches a NIMADS file's maps: relative references resolved against ``images``
    (a folder or an http(s) URL), by default the folder (or URL) of the file itself."""
    try:
        base = (ImageBase.of(str(parameters["images"])) if parameters.get("images")
                else ImageBase.beside(str(parameters["studyset"])))
    except ImageError as error:
        raise SourceError(f"nimads: {error}") from error
    index = UrlIndex(env.data_dir / "downloads" / "nimads" / "image-urls.json")
    return ImageFetcher(base, env.files, env.session(), index=index,
                        progress=env.file_progress)


def _sleuth_studies(paths: list[Path], skipped: list[Skipped]) -> Iterator[Study]:
    # Sleuth studies have no ids, only "Author, Year" labels: the file name keeps two
    # files' "Smith, 2005" apart.
    for path in paths:
        try:
            result = sleuth.parse(path)
        except ParseError as exc:
            raise ParseError(f"{path.name}: {exc}") from exc
        for item in result.skipped:
            source_id = f"{path.name}:{item.source_id}" if item.source_id else path.name
            skipped.append(Skipped(source_id, item.line, item.reason))
        for study in result.studies:
            yield {**study, "source_id": f"{path.name}:{study['source_id']}"}


def _local(parameters: dict[str, Any], key: str, source: str, env: Environment) -> Path:
    location = parameters.get(key)
    if not location:
        raise SourceError(f"{source}: parameter {key!r} (a path or URL) is required")
    if urlsplit(str(location)).scheme in ("http", "https"):
        return fetch_release_file(str(location), env.data_dir / "downloads" / source,
                                  env.session())
    path = Path(os.path.expanduser(str(location)))
    if not path.is_file():
        raise SourceError(f"{source}: {key} file {str(path)!r} does not exist")
    return path


def fetch_release_file(url: str, folder: Path, session: PoliteSession) -> Path:
    """Download ``url`` into ``folder`` under its own file name, unless it is there.

    Parameters
    ----------
    url : str
        A release file URL (pinned to a commit, so its content never changes).
    folder : Path
        Destination folder.
    session : PoliteSession
        HTTP session.

    Returns
    -------
    Path
        The local file.
    """
    target = folder / (Path(urlsplit(url).path).name or "download")
    if not target.is_file():
        saved = download(session, url, folder)
        os.replace(saved.path, target)
    return target
