"""What every exporter shares: a hashing byte sink, its summary, numbers and JSON as text."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from neurostore.snapshot.errors import MalformedSnapshot

#: Bytes gathered before one write to the underlying file object.
FLUSH_BYTES = 1 << 20


@dataclass(frozen=True)
class Skip:
    """Something left out of an export, and why.

    Attributes
    ----------
    study_id, analysis_id : str or None
        The study and analysis concerned, when known.
    point_index : int or None
        Position of the point in its analysis, when a single point was left out.
    reason : str
        Why it was left out.
    """

    study_id: str | None
    analysis_id: str | None
    point_index: int | None
    reason: str


@dataclass(frozen=True)
class ExportSummary:
    """What an exporter wrote.

    Attributes
    ----------
    format : str
        ``"nimads"``, ``"nimare"``, ``"sleuth"`` or ``"tsv"``.
    sha256 : str
        Hex digest of the bytes written.
    n_bytes : int
        Number of bytes written.
    n_studies, n_analyses, n_points : int
        Studies, analyses (experiments, contrasts) and points written.
    n_excluded : int
        Analyses left out by the inclusion filter.
    skipped : tuple of Skip
        Studies, analyses, points or images left out because the format cannot hold them.
    """

    format: str
    sha256: str
    n_bytes: int
    n_studies: int
    n_analyses: int
    n_points: int
    n_excluded: int
    skipped: tuple[Skip, ...]


class HashingSink:
    """Buffer bytes to a binary file object while counting them and hashing them.

    Parameters
    ----------
    out : binary file object
        Where the bytes go. It is flushed of our buffer by :meth:`finish`, never closed.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self._chunks: list[bytes] = []
        self._pending = 0
        self.n_bytes = 0

    def write(self, data: bytes) -> None:
        """Queue ``data`` for writing."""
        self._chunks.append(data)
        self._pending += len(data)
        if self._pending >= FLUSH_BYTES:
            self._flush()

    def write_text(self, text: str) -> None:
        """Queue ``text`` encoded as UTF-8."""
        self.write(text.encode("utf-8"))

    def finish(self) -> str:
        """Write what is still buffered and return the sha256 hex digest of everything."""
        self._flush()
        return self._hash.hexdigest()

    def _flush(self) -> None:
        if not self._chunks:
            return
        block = b"".join(self._chunks)
        self._chunks.clear()
        self._pending = 0
        self._hash.update(block)
        self._out.write(block)
        self.n_bytes += len(block)


def format_number(value: float) -> str:
    """Write a coordinate or a count as text, without loss and without exponent.

    Parameters
    ----------
    value : float
        A finite number.

    Returns
    -------
    str
        ``"72.0"``, ``"-36.5"``, ``"13"`` (whole numbers of int type stay whole).
    """
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" not in text:
        return text
    return np.format_float_positional(value, unique=True, trim="0")


def dumps_json(value: Any, where: str) -> str:
    """Write ``value`` as compact JSON with sorted keys (the canonical form).

    Parameters
    ----------
    value : object
        JSON data: dicts, lists, strings, finite numbers, booleans and None.
    where : str
        Names the value in the error.

    Raises
    ------
    MalformedSnapshot
        If the value holds something JSON cannot (NaN, infinity, other types, unsortable keys).
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MalformedSnapshot(where, f"cannot be written as JSON ({exc})") from exc
