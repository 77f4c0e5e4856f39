"""Sending a stored file: streamed through the API, or a redirect to the object store."""

from __future__ import annotations

import os
from typing import BinaryIO

from flask import Response, redirect, send_file

from neurostore.api.context import services


def send_stored(name: str, *, media_type: str, download_name: str, max_age: int) -> Response:
    """A download of the stored file ``name``.

    With an object store set to presign (``NEUROSTORE_FILES_PRESIGN_SECONDS``), a 302 to a
    time-limited address of the object, so the bytes bypass the API; otherwise the file is
    streamed in chunks, with the content hash as its ETag.

    Parameters
    ----------
    name : str
        The stored file's name (sha256 plus suffix).
    media_type : str
        Its Content-Type.
    download_name : str
        The file name offered to the client.
    max_age : int
        Seconds a client may cache a streamed file.
    """
    files = services().snapshots.files
    url = files.download_url(name, filename=download_name, media_type=media_type)
    if url is not None:
        response = redirect(url, 302)
        # The address expires: a cache must not keep the redirect.
        response.headers["Cache-Control"] = "no-store"
        return response
    stream = files.open(name)
    response = send_file(stream, mimetype=media_type, as_attachment=True,
                         download_name=download_name, etag=name.split(".")[0],
                         max_age=max_age)
    size = _size(stream)
    if size is not None and response.status_code == 200:
        response.content_length = size
    return response


def _size(stream: BinaryIO) -> int | None:
    size = getattr(stream, "size", None)
    if size is not None:
        return size
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, ValueError):
        return None
