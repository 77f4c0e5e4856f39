"""Reading input files that may be gzipped, recognised by their content, not their name."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from ingest.records import ParseError

#: The first two bytes of every gzip file.
GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a file, decompressed when it is gzipped (``.json.gz``, ``.txt.gz``,
    or a gzipped file under any name).

    Raises
    ------
    ParseError
        For a gzip file that is truncated or corrupt, naming the file.
    """
    raw = Path(path).read_bytes()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ParseError(f"{Path(path).name}: not a readable gzip file ({exc})") from exc
