"""An upload-ready NeuroVault bundle, written as a stream of zip bytes.

The archive holds ``maps/<name>.nii.gz`` (each map as stored: already gzipped, so kept
uncompressed in the zip), ``collection.json`` (the collection's fields), ``images.json``
(each image's fields and its file in the bundle), ``methods.txt`` and a ``README.md`` saying
how to upload it. It is written to a sink that is drained after every chunk, so a bundle of
any size passes through a few megabytes of memory.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from typing import Any

from neurostore.services.neurovault_metadata import Plan

#: Bytes read from a map at a time.
CHUNK = 1 << 20

README = """# NeuroVault upload bundle

{title}

- `collection.json`: the collection's fields, as NeuroVault's API takes them
  (`POST /api/collections/`).
- `images.json`: one entry per map: its file in this bundle and its fields
  (`POST /api/collections/{{id}}/images/`, multipart, the map as `file`). `map_type` and
  `analysis_level` are NeuroVault's codes (`Z` Z map, `T` T map, `P` p map, `X2` chi
  squared, `U` univariate beta, `Other`; `M` meta-analysis).
- `maps/`: the maps (NIfTI, gzipped).
- `methods.txt`: the methods text (also the collection's description).

To upload by hand, create a collection at https://neurovault.org/collections/new with the
fields of `collection.json`, then add each map with the fields of `images.json`.
neurostore can also upload it for you with your NeuroVault API token
({upload}).
"""

#: How neurostore uploads each kind of publication for the user (the README's last line).
RUN_UPLOAD = ("`POST /api/meta-analyses/<run>/neurovault`, or "
              "`manage.py analysis publish RUN --neurovault`")
TERM_UPLOAD = ("`POST /api/terms/<term>/neurovault`, or "
               "`manage.py terms publish TERM --neurovault`")


class _Sink:
    """A write-only stream whose bytes are taken out as they come (no seek, no tell, so
    :mod:`zipfile` writes data descriptors instead of seeking back)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: bytes wait in memory until :meth:`drain`."""

    def drain(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


def bundle_stream(plan: Plan, files: Any, title: str,
                  upload: str = RUN_UPLOAD) -> Iterator[bytes]:
    """Yield the bundle's zip bytes, chunk after chunk.

    Parameters
    ----------
    plan : Plan
        The collection and images (:func:`neurostore.services.neurovault_metadata.run_plan`).
    files : FileStore
        Where the maps' files are.
    title : str
        The README's first line (what was published).
    upload : str
        How neurostore uploads it (:data:`RUN_UPLOAD`, :data:`TERM_UPLOAD`).

    Yields
    ------
    bytes
        Never empty.
    """
    return (chunk for chunk in _chunks(plan, files, title, upload) if chunk)


def _chunks(plan: Plan, files: Any, title: str, upload: str) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        texts = {
            "README.md": README.format(title=title, upload=upload),
            "collection.json": json.dumps(plan.collection, indent=2, ensure_ascii=False) + "\n",
            "images.json": json.dumps(plan.images_json(), indent=2, ensure_ascii=False) + "\n",
            "methods.txt": plan.methods,
        }
        for name, text in texts.items():
            archive.writestr(name, text.encode())
            yield sink.drain()
        for image in plan.images:
            info = zipfile.ZipInfo(image.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with image.open(files) as source, archive.open(info, "w") as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    yield sink.drain()
            yield sink.drain()
    yield sink.drain()
