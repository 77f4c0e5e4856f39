"""The file store in an S3-compatible object store (AWS S3, MinIO, Ceph, ...).

Every API process and worker pointed at the same bucket and prefix shares the files, so no
node keeps anything of its own but a cache. The endpoint and credentials are boto3's own
business: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
``AWS_DEFAULT_REGION`` (or any other way boto3 finds them).

Nothing is held whole in memory: a write hashes while spooling to a temporary file, then
uploads it (multipart past 8 MiB); a read streams the object's body. The sha256 that names a
file is checked on the way in (S3 verifies a single-part upload against it; each part of a
multipart upload carries its own SHA-256 checksum) and on the way out whenever a whole file
is read from its start (:class:`VerifiedStream`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from neurostore.storage.base import CHUNK, CorruptFile, FileStore, check_name, copy_hashing

#: Files up to this size go up in one request, which S3 checks against their sha256.
MULTIPART_THRESHOLD = 8 * 1024 * 1024
_TRANSFER = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD,
                           multipart_chunksize=MULTIPART_THRESHOLD)
# Signature v4: what AWS and MinIO take for presigned addresses (v2 is retired).
_CLIENT_CONFIG = Config(signature_version="s3v4",
                        retries={"mode": "standard", "max_attempts": 5})
_MISSING = {"404", "NoSuchKey", "NotFound"}
#: A cached copy used this recently is never pruned (a caller may be about to open it).
CACHE_GRACE_SECONDS = 600


class VerifiedStream(io.RawIOBase):
    """A forward-only reader of an object's body that checks its sha256 at the end.

    Parameters
    ----------
    body : file-like
        The body of a ``get_object`` answer.
    digest : str
        The sha256 (hex) the bytes must have.

    Raises
    ------
    CorruptFile
        From the read that reaches the end, when the bytes are not the named ones.
    """

    def __init__(self, body: Any, digest: str) -> None:
        self._body = body
        self._digest = digest
        self._hash: Any = hashlib.sha256()

    def readable(self) -> bool:
        """Always: this is a reader."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the body; check the hash once the body is exhausted."""
        data = self._body.read(len(buffer))
        if not data:
            if self._hash is not None and self._hash.hexdigest() != self._digest:
                raise CorruptFile(f"stored object {self._digest} has other bytes "
                                  f"(sha256 {self._hash.hexdigest()})")
            self._hash = None
            return 0
        if self._hash is not None:
            self._hash.update(data)
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        """Release the connection."""
        if not self.closed:
            self._body.close()
        super().close()


class S3FileStore(FileStore):
    """A :class:`FileStore` in a bucket, under a key prefix.

    Parameters
    ----------
    bucket : str
        The bucket (it must exist).
    prefix : str, optional
        Key prefix of the files (``"neurostore/files"``); the keys are ``<prefix>/<name>``.
    cache : path
        A local folder of this node: verified copies of files read through :meth:`path`,
        and temporary files. It may be emptied whenever no process is running.
    cache_bytes : int, optional
        The most the copies may hold: after each new copy, the least recently used ones
        are deleted, never one used in the last :data:`CACHE_GRACE_SECONDS` (a caller
        may be about to open it). ``None``: no bound.
    presign_seconds : int, optional
        When above 0, :meth:`download_url` gives presigned addresses valid that long, and
        the API redirects downloads there instead of streaming them.
    client : optional
        A boto3 S3 client; by default one per process, configured by boto3 from the
        environment.
    """

    def __init__(self, bucket: str, prefix: str = "", *, cache: str | os.PathLike[str],
                 presign_seconds: int = 0, client: Any = None,
                 cache_bytes: int | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.cache = Path(cache)
        self.scratch = self.cache / "tmp"
        self.presign_seconds = presign_seconds
        self.cache_bytes = cache_bytes
        self._given_client = client
        self._clients: dict[int, Any] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The S3 client of this process (a forked process makes its own)."""
        if self._given_client is not None:
            return self._given_client
        pid = os.getpid()
        with self._lock:
            if pid not in self._clients:
                self._clients = {pid: boto3.session.Session().client("s3",
                                                                     config=_CLIENT_CONFIG)}
            return self._clients[pid]

    def key(self, name: str) -> str:
        """The object key of a stored file (``ValueError`` for a name that is not ours)."""
        check_name(name)
        return self.prefix + name

    def location(self, name: str) -> str:
        """``s3://bucket/key`` of a stored file."""
        return f"s3://{self.bucket}/{self.key(name)}"

    # writing -----------------------------------------------------------------------------
    def put_stream(self, src: BinaryIO, suffix: str = "") -> str:
        """Spool ``src`` to a temporary file while hashing it, then upload it (unless an
        object of that name is there already); return its name."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.scratch, prefix=".incoming-") as tmp:
            digest = copy_hashing(src, tmp)
            tmp.flush()
            tmp.seek(0)
            return self._upload(tmp, digest, suffix)

    def put_file(self, path: str | os.PathLike[str], suffix: str = "") -> str:
        """Store a copy of the file at ``path`` (hashed, then uploaded from where it is)."""
        with open(path, "rb") as src:
            digest = copy_hashing(src, _Discard())
            src.seek(0)
            return self._upload(src, digest, suffix)

    def _upload(self, src: BinaryIO, digest: str, suffix: str) -> str:
        name = digest + suffix
        key = self.key(name)
        if self.exists(name):
            return name
        size = os.fstat(src.fileno()).st_size
        if size <= MULTIPART_THRESHOLD:
            # S3 refuses the upload unless the bytes it got have this sha256.
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=src, Metadata={"sha256": digest},
                ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode())
        else:
            self.client.upload_fileobj(
                src, self.bucket, key, Config=_TRANSFER,
                ExtraArgs={"ChecksumAlgorithm": "SHA256", "Metadata": {"sha256": digest}})
        return name

    # reading -----------------------------------------------------------------------------
    def exists(self, name: str) -> bool:
        """Whether ``name`` is stored (a cached copy answers without asking S3: a name
        always means the same bytes)."""
        if self._cached(name).exists():
            return True
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True

    def open(self, name: str) -> BinaryIO:
        """Stream a stored file (forward-only; :meth:`path` gives a seekable copy).

        Raises
        ------
        FileNotFoundError
            When no object has that name.
        """
        try:
            return open(self._cached(name), "rb")
        except FileNotFoundError:
            pass  # not cached, or just pruned
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(f"no stored file {name}") from exc
            raise
        size = answer.get("ContentLength")
        return _Body(VerifiedStream(answer["Body"], check_name(name)), size)

    def path(self, name: str) -> Path:
        """A verified copy of the file in this node's cache (downloaded on first use)."""
        cached = self._cached(name)
        try:
            os.utime(cached)  # used now: the last a pruning would take
            return cached
        except FileNotFoundError:
            pass
        cached.parent.mkdir(parents=True, exist_ok=True)
        with (self.open(name) as src,
              tempfile.NamedTemporaryFile(dir=cached.parent, delete=False,
                                          prefix=".incoming-") as tmp):
            try:
                copy_hashing(src, tmp)
            except BaseException:
                os.unlink(tmp.name)
                raise
        os.replace(tmp.name, cached)
        self._prune()
        return cached

    def _prune(self) -> None:
        """Delete the least recently used copies while the cache holds more than
        :attr:`cache_bytes` (never one used in the last :data:`CACHE_GRACE_SECONDS`)."""
        if self.cache_bytes is None:
            return
        copies = []
        for folder in self.cache.iterdir():
            if folder.is_dir() and folder != self.scratch:
                for entry in os.scandir(folder):
                    # Another process may prune the same copy while this one walks.
                    with contextlib.suppress(FileNotFoundError):
                        if entry.is_file() and not entry.name.startswith("."):
                            info = entry.stat()
                            copies.append((info.st_mtime, info.st_size, entry.path))
        held = sum(size for _, size, _ in copies)
        recent = time.time() - CACHE_GRACE_SECONDS
        for used, size, path in sorted(copies):
            if held <= self.cache_bytes or used > recent:
                break
            with contextlib.suppress(FileNotFoundError):  # another process pruned it
                os.unlink(path)
            held -= size

    def download_url(self, name: str, *, filename: str, media_type: str) -> str | None:
        """A presigned GET address of the file, when :attr:`presign_seconds` is set."""
        if self.presign_seconds <= 0:
            return None
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=self.presign_seconds,
            Params={"Bucket": self.bucket, "Key": self.key(name),
                    "ResponseContentType": media_type,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"'})

    def _cached(self, name: str) -> Path:
        return self.cache / check_name(name)[:2] / name


class _Body(io.BufferedReader):
    """A buffered :class:`VerifiedStream` that knows the object's length (``size``), so a
    download can announce it."""

    def __init__(self, raw: VerifiedStream, size: int | None) -> None:
        super().__init__(raw, CHUNK)
        self.size = size


class _Discard(io.RawIOBase):
    """Where bytes go when only their hash is wanted."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)
