"""The maps a NIMADS file references, fetched into the file store when it is imported.

An image names its file by its ``url``, else its ``filename``:

* an ``http(s)://`` URL is downloaded (with the retries of :mod:`ingest.http`);
* a ``file://`` URL or an absolute path is read from this machine;
* anything else is a path relative to the *base*: a folder, or an http(s) URL (then the
  map is downloaded from under it, and a reference that would leave the base's host is
  refused). The base defaults to the NIMADS file's own folder (or URL).

Each map is checked (:func:`~ingest.neurovault.nifti.check_nifti`) and stored under the
sha256 of its bytes, which the image records; the rest of the image is kept as the file
gives it. A reference that names a zip is a NIDM-Results pack (:mod:`ingest.nimads.nidm`):
it becomes one image per statistic map it holds (T, Z, F, BETA, SE, VARCOPE), each with the
pack's space and metadata plus ``nidm_results`` (the pack and the member it came from).

Nothing is fetched twice: a location read once in an import is not read again, and a URL
once downloaded is remembered (in ``image-urls.json`` of the downloads folder) while its
file is in the store, as release URLs are: a URL is taken to name fixed content.

A study with an image that cannot be had (a missing file, a 404, not a NIfTI volume, a
broken pack) is left out whole, with the reason: no study is stored with part of its maps.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

from ingest.http import FetchError, PoliteSession, download
from ingest.neurovault.nifti import NiftiError
from ingest.nimads.nidm import PackError, contents, is_pack, unknown_reason
from ingest.records import Skipped, Study
from ingest.statmaps import download_map, map_suffix, scratch_folder, store_map
from neurostore.schemas.fields import GIVEN_ID, GIVEN_VALUE_TYPE
from neurostore.storage import FileStore

#: Prefix of the reason of a study left out because a map could not be downloaded (a
#: failure worth retrying, not a bad record).
NOT_DOWNLOADED = "image not downloaded"
NIDM_KEY = "nidm_results"

#: Called after each location is read: (locations done, locations in all, its name).
FetchProgress = Callable[[int, int, str], None]
Location = Path | str


class ImageError(ValueError):
    """An image reference that names no file this import can read."""


@dataclass(frozen=True)
class ImageBase:
    """What relative image references are resolved against.

    Attributes
    ----------
    location : str
        An absolute folder path, or an http(s) URL ending with ``/``.
    """

    location: str

    @classmethod
    def of(cls, text: str) -> ImageBase:
        """The base named by a folder path, a ``file://`` URL or an http(s) URL.

        Raises
        ------
        ImageError
            For another URL scheme, or a path that is not a folder.
        """
        scheme = urlsplit(text).scheme.lower()
        if scheme in ("http", "https"):
            return cls(text if text.endswith("/") else text + "/")
        if scheme == "file":
            text = url2pathname(urlsplit(text).path)
        elif scheme:
            raise ImageError(f"image base {text!r}: expected a folder or an http(s) URL")
        folder = Path(text).expanduser().resolve()
        if not folder.is_dir():
            raise ImageError(f"image folder {str(folder)!r} does not exist")
        return cls(str(folder))

    @classmethod
    def beside(cls, studyset: str) -> ImageBase:
        """The folder (or URL) of a NIMADS file given as a path or URL."""
        if urlsplit(studyset).scheme.lower() in ("http", "https"):
            return cls(urljoin(studyset, "."))
        return cls.of(str(Path(studyset).expanduser().resolve().parent))

    @property
    def is_url(self) -> bool:
        """Whether the base is an http(s) URL."""
        return urlsplit(self.location).scheme in ("http", "https")

    def resolve(self, reference: str) -> Location:
        """The local file or the URL an image reference names.

        Raises
        ------
        ImageError
            For an unsupported URL scheme, or a relative URL that leaves the base's host.
        """
        parts = urlsplit(reference)
        scheme = parts.scheme.lower()
        if scheme in ("http", "https"):
            return reference
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ImageError(f"file URL of another host ({parts.netloc})")
            return Path(url2pathname(parts.path))
        if scheme:
            raise ImageError(f"unsupported URL scheme {scheme!r} (http, https or file)")
        if self.is_url:
            url = urljoin(self.location, reference)
            base = urlsplit(self.location)
            if urlsplit(url)[:2] != base[:2]:
                raise ImageError(f"resolves to {url}, off the image base {self.location}")
            return url
        path = Path(reference).expanduser()
        return path if path.is_absolute() else Path(self.location) / path


class UrlIndex:
    """URL -> file-store name of what was downloaded from it, kept in a JSON file.

    Parameters
    ----------
    path : Path or None
        The JSON file; None keeps the index in memory only.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._names: dict[str, str] = {}
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text())
            except (OSError, ValueError):
                loaded = {}  # a damaged index only costs downloads
            if isinstance(loaded, dict):
                self._names = {str(k): str(v) for k, v in loaded.items()}

    def get(self, url: str, files: FileStore) -> str | None:
        """The store name of ``url``'s content, if it is still in ``files``."""
        name = self._names.get(url)
        try:
            return name if name and files.exists(name) else None
        except ValueError:  # not a store name: a hand-edited index
            return None

    def put(self, url: str, name: str) -> None:
        """Remember ``url``'s content and write the index (atomically)."""
        self._names[url] = name
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False,
                                         prefix=".index-", suffix=".json") as out:
            json.dump(self._names, out, sort_keys=True, indent=0)
        os.replace(out.name, self.path)


@dataclass(frozen=True)
class _PackMap:
    code: str
    member: str
    sha256: str
    space: str | None


@dataclass(frozen=True)
class _Pack:
    maps: tuple[_PackMap, ...]
    unknown: tuple[str, ...]


class ImageFetcher:
    """Fetch, check and store the maps of parsed NIMADS studies (see the module docstring).

    Parameters
    ----------
    base : ImageBase
        What relative references are resolved against.
    files : FileStore
        The file store.
    session : PoliteSession
        The HTTP session for downloads.
    index : UrlIndex, optional
        URLs already downloaded (in memory only by default).
    progress : callable, optional
        Called after each location is read (see :data:`FetchProgress`).
    """

    def __init__(self, base: ImageBase, files: FileStore, session: PoliteSession, *,
                 index: UrlIndex | None = None, progress: FetchProgress | None = None) -> None:
        self.base = base
        self.files = files
        self.session = session
        self.index = index or UrlIndex(None)
        self.progress = progress
        self.total = 0
        self._done: dict[str, str | _Pack | Exception] = {}

    def plan(self, studies: Iterable[Study]) -> int:
        """Count the distinct locations the studies reference (the progress total)."""
        seen = set()
        for study in studies:
            for analysis in study["analyses"]:
                for image in analysis["images"]:
                    reference = _reference(image)
                    try:
                        seen.add(str(self.base.resolve(reference)) if reference else None)
                    except ImageError:
                        seen.add(reference)
        seen.discard(None)
        self.total = len(seen)
        return self.total

    def attach(self, study: Study, skipped: list[Skipped]) -> Study | None:
        """The study with each image's map stored (``sha256`` set) and each pack unpacked;
        None (with the reason in ``skipped``) when one of its maps cannot be had."""
        source_id = study["source_id"]
        analyses = []
        for analysis in study["analyses"]:
            label = (analysis.get("metadata") or {}).get(GIVEN_ID) or analysis.get("name")
            images: list[dict[str, Any]] = []
            for image in analysis["images"]:
                reference = _reference(image)
                if reference is None:
                    images.append(image)  # an image without a file: kept as it is
                    continue
                where = f"analysis {label!r}: image {reference!r}"
                try:
                    images.extend(self._stored(image, reference, source_id, where, skipped))
                except FetchError as error:
                    skipped.append(Skipped(source_id, None,
                                           f"{NOT_DOWNLOADED}: {where}: {error}"))
                    return None
                except (ImageError, NiftiError, PackError) as error:
                    skipped.append(Skipped(source_id, None, f"{where}: {error}"))
                    return None
            analyses.append({**analysis, "images": images})
        return {**study, "analyses": analyses}

    def _stored(self, image: dict[str, Any], reference: str, source_id: str, where: str,
                skipped: list[Skipped]) -> list[dict[str, Any]]:
        location = self.base.resolve(reference)
        done = self._fetch(location, is_pack(reference) or is_pack(str(location)))
        if isinstance(done, str):
            return [{**image, "sha256": done}]
        for member in done.unknown:
            skipped.append(Skipped(source_id, None, f"{where}: {unknown_reason(member)}"))
        metadata = {k: v for k, v in (image.get("metadata") or {}).items()
                    if k != GIVEN_VALUE_TYPE}
        return [{**image, "filename": posixpath.basename(m.member), "value_type": m.code,
                 "space": image.get("space") or m.space, "sha256": m.sha256,
                 "metadata": {**metadata, NIDM_KEY: {"pack": reference, "file": m.member}}}
                for m in done.maps]

    def _fetch(self, location: Location, pack: bool) -> str | _Pack:
        key = str(location)
        if key not in self._done:
            try:
                self._done[key] = self._read_pack(location) if pack else self._read_map(location)
            except (FetchError, ImageError, NiftiError, PackError) as error:
                self._done[key] = error
            if self.progress is not None:
                self.progress(len(self._done), max(self.total, len(self._done)),
                              _shown_name(location))
        done = self._done[key]
        if isinstance(done, Exception):
            raise done
        return done

    def _read_map(self, location: Location) -> str:
        if isinstance(location, Path):
            return store_map(_existing(location), self.files, own_name=location.name).sha256
        known = self.index.get(location, self.files)
        if known is not None:
            return known.split(".", 1)[0]
        stored = download_map(self.session, location, self.files)
        self.index.put(location, stored.name)
        return stored.sha256

    def _read_pack(self, location: Location) -> _Pack:
        with ExitStack() as stack:
            if isinstance(location, Path):
                handle: IO[bytes] = stack.enter_context(open(_existing(location), "rb"))
            else:
                # A zip is read by seeking: open a local copy, not the store's stream.
                handle = stack.enter_context(
                    open(self.files.path(self._pack_in_store(location)), "rb"))
            try:
                archive = stack.enter_context(zipfile.ZipFile(handle))
                return self._unpack(archive, _shown_name(location))
            except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                raise PackError(f"not a readable zip file: {error}") from error

    def _pack_in_store(self, url: str) -> str:
        known = self.index.get(url, self.files)
        if known is not None:
            return known
        with scratch_folder(self.files) as scratch:
            saved = download(self.session, url, scratch)
            name = self.files.put_file(saved.path, ".zip")
        self.index.put(url, name)
        return name

    def _unpack(self, archive: zipfile.ZipFile, pack_name: str) -> _Pack:
        found = contents(archive.namelist())
        maps = []
        for code, member in found.maps.items():
            with scratch_folder(self.files) as scratch:
                target = Path(scratch) / f"member{map_suffix(member)}"
                with archive.open(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                stored = store_map(target, self.files,
                                   own_name=f"{pack_name}:{posixpath.basename(member)}")
            maps.append(_PackMap(code, member, stored.sha256, stored.info.space))
        return _Pack(tuple(maps), tuple(found.unknown))


def _reference(image: dict[str, Any]) -> str | None:
    for key in ("url", "filename"):
        value = image.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ImageError(f"file {str(path)!r} does not exist")
    return path


def _shown_name(location: Location) -> str:
    if isinstance(location, Path):
        return location.name
    return posixpath.basename(urlsplit(location).path) or location
