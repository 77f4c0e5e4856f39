"""Settings read from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from croniter import croniter

# Sources that can be ingested on a schedule: public releases and services (files need a
# person).
SCHEDULABLE_SOURCES = ("neuroquery", "neurosynth", "neurovault", "pubmed")


class SettingsError(ValueError):
    """An environment variable holds a value the settings cannot use."""


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise SettingsError(f"{name} must be a whole number >= 0, not {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 1 or 0 (true or false), not {raw!r}")


def schedules_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The cron expression of each source with ``NEUROSTORE_SCHEDULE_<SOURCE>`` set."""
    return {
        source: env[f"NEUROSTORE_SCHEDULE_{source.upper()}"].strip()
        for source in SCHEDULABLE_SOURCES
        if env.get(f"NEUROSTORE_SCHEDULE_{source.upper()}", "").strip()
    }


def check_schedules(schedules: Mapping[str, str]) -> None:
    """Raise :class:`SettingsError` naming the variable of the first unusable cron
    expression (five fields: minute hour day-of-month month day-of-week)."""
    for source, cron in schedules.items():
        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise SettingsError(
                f"NEUROSTORE_SCHEDULE_{source.upper()}={cron!r} is not a cron expression"
                " (five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * 0')")


def release_locations_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """Where each source's release is read from, when ``NEUROSTORE_<SOURCE>_URL`` moves it
    (a mirror's URL, or a folder holding the release's files)."""
    return {
        source: env[f"NEUROSTORE_{source.upper()}_URL"].strip()
        for source in SCHEDULABLE_SOURCES
        if env.get(f"NEUROSTORE_{source.upper()}_URL", "").strip()
    }


# S3's rule for bucket names: 3-63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class FilesLocation:
    """Where the file store keeps files: a local folder, or a bucket and key prefix."""

    scheme: str
    folder: Path | None = None
    bucket: str = ""
    prefix: str = ""


def parse_files_url(raw: str | None, default: Path) -> FilesLocation:
    """Read ``NEUROSTORE_FILES_URL``: ``s3://bucket/prefix``, ``file:///folder``, a folder,
    or nothing (``default``).

    Raises
    ------
    SettingsError
        For another scheme, a bucket name S3 would refuse, or a ``file://`` URL naming a
        host.
    """
    raw = (raw or "").strip()
    if not raw:
        return FilesLocation("file", default)
    if "://" not in raw:
        return FilesLocation("file", Path(raw).expanduser().resolve())
    url = urlsplit(raw)
    if url.scheme == "file":
        if url.netloc not in ("", "localhost") or not url.path:
            raise SettingsError(f"NEUROSTORE_FILES_URL={raw!r}: a file:// URL names a folder"
                                " of this machine (file:///srv/neurostore/files)")
        return FilesLocation("file", Path(unquote(url.path)).resolve())
    if url.scheme == "s3":
        if not _BUCKET.match(url.netloc) or url.query or url.fragment:
            raise SettingsError(f"NEUROSTORE_FILES_URL={raw!r}: expected s3://BUCKET/PREFIX"
                                " with a bucket name of 3-63 lower-case letters, digits,"
                                " dots and hyphens")
        return FilesLocation("s3", bucket=url.netloc, prefix=url.path.strip("/"))
    raise SettingsError(f"NEUROSTORE_FILES_URL={raw!r}: expected s3://bucket/prefix, a folder"
                        " or file:///folder")


@dataclass(frozen=True)
class Settings:
    """Runtime settings.

    Attributes
    ----------
    database_url : str or None
        ``postgresql+psycopg://...`` of an existing server; ``None`` starts the embedded one.
    data_dir : Path
        Folder for the embedded database, the file store and exports.
    max_content_length : int
        Largest request body the API accepts, in bytes.
    ingest_schedules : dict of str to str
        Cron expression of each scheduled ingest source, from
        ``NEUROSTORE_SCHEDULE_<SOURCE>`` (e.g. ``"0 3 * * 0"``); empty or unset disables it.
    release_locations : dict of str to str
        Where a source's release is read from instead of its public host, from
        ``NEUROSTORE_<SOURCE>_URL``: a mirror's URL or a folder holding the release's files
        (NeuroVault: the API's base URL; PubMed: the E-utilities base URL).
    read_cache_mb : int
        Memory each API process may keep recently sent study documents in
        (``NEUROSTORE_READ_CACHE_MB``, default 64; 0 turns the cache off).
    cors_origins : tuple of str
        Origins whose browser pages may call the API (``NEUROSTORE_CORS_ORIGINS``, comma
        separated; default ``*``, any: tokens travel in a header, never in cookies; empty
        turns cross-origin access off).
    ncbi_api_key : str or None
        NCBI E-utilities API key of the PubMed source (``NCBI_API_KEY``): 10 requests a
        second instead of 3. Kept out of the runs' stored parameters.
    ncbi_email : str or None
        Contact address NCBI may write to about the PubMed source's traffic
        (``NCBI_EMAIL``).
    secret_key : str or None
        Key that signs the web pages' session cookies (``NEUROSTORE_SECRET_KEY``); when
        unset, one is made on first use and kept in ``data_dir/secret_key``, so every
        process on that folder shares it.
    secure_cookies : bool
        Send session cookies over HTTPS only (``NEUROSTORE_SECURE_COOKIES=1``; set it
        wherever the site is served over HTTPS).
    files_url : str or None
        Where the file store is (``NEUROSTORE_FILES_URL``): ``s3://bucket/prefix`` for an
        S3-compatible object store (endpoint and credentials from boto3's ``AWS_*``
        variables), a folder or ``file:///folder``; unset: ``data_dir/files``.
    files_presign_seconds : int
        With an object store, downloads answer with a redirect to a presigned address valid
        this long (``NEUROSTORE_FILES_PRESIGN_SECONDS``); 0 (the default) streams them
        through the API.
    files_cache_mb : int
        With an object store, the most the node's cache of file copies may hold
        (``NEUROSTORE_FILES_CACHE_MB``, default 10240); the least recently used copies
        go first, never one used in the last ten minutes.
    neurovault_publish_url : str
        The NeuroVault results are published to (``NEUROSTORE_NEUROVAULT_PUBLISH_URL``,
        default ``https://neurovault.org``; read by the workers and the command line).
    """

    database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path("var").resolve())
    max_content_length: int = 32 * 1024 * 1024
    ingest_schedules: dict[str, str] = field(default_factory=dict)
    release_locations: dict[str, str] = field(default_factory=dict)
    read_cache_mb: int = 64
    cors_origins: tuple[str, ...] = ("*",)
    ncbi_api_key: str | None = None
    ncbi_email: str | None = None
    secret_key: str | None = None
    secure_cookies: bool = False
    files_url: str | None = None
    files_presign_seconds: int = 0
    files_cache_mb: int = 10240
    neurovault_publish_url: str = "https://neurovault.org"

    @property
    def files_dir(self) -> Path:
        """Folder of the local content-addressed file store (``data_dir/files`` unless
        ``files_url`` names another folder)."""
        return self.files_location.folder or self.data_dir / "files"

    @property
    def files_location(self) -> FilesLocation:
        """Where the file store is (see ``files_url``)."""
        return parse_files_url(self.files_url, self.data_dir / "files")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment's variables (see the attributes).

        Raises
        ------
        SettingsError
            When a variable holds an unusable value; the message names it.
        """
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("NEUROSTORE_DATA_DIR", "var")).expanduser().resolve()
        files_url = env.get("NEUROSTORE_FILES_URL", "").strip() or None
        parse_files_url(files_url, data_dir / "files")
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=data_dir,
            max_content_length=_count(env, "NEUROSTORE_MAX_CONTENT_LENGTH", 32 * 1024 * 1024),
            read_cache_mb=_count(env, "NEUROSTORE_READ_CACHE_MB", 64),
            cors_origins=tuple(o.strip() for o in env.get("NEUROSTORE_CORS_ORIGINS", "*")
                               .split(",") if o.strip()),
            ingest_schedules=schedules_from_env(env),
            release_locations=release_locations_from_env(env),
            ncbi_api_key=env.get("NCBI_API_KEY", "").strip() or None,
            ncbi_email=env.get("NCBI_EMAIL", "").strip() or None,
            secret_key=env.get("NEUROSTORE_SECRET_KEY", "").strip() or None,
            secure_cookies=_flag(env, "NEUROSTORE_SECURE_COOKIES"),
            files_url=files_url,
            files_presign_seconds=_count(env, "NEUROSTORE_FILES_PRESIGN_SECONDS", 0),
            files_cache_mb=_count(env, "NEUROSTORE_FILES_CACHE_MB", 10240),
            neurovault_publish_url=env.get("NEUROSTORE_NEUROVAULT_PUBLISH_URL", "").strip()
            or "https://neurovault.org",
        )
