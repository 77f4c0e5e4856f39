"""What every parser returns: study dicts plus reports of the records it skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Study = dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    """A source record the parser left out, and why.

    Attributes
    ----------
    source_id : str or None
        Identifier of the study (or collection, image, analysis) the record belongs to.
    line : int or None
        1-based line of the record in its file, when the source is a text file. For
        a release of two files it is a line of the coordinates file, unless the
        reason starts with ``"metadata file:"``.
    reason : str
        Human-readable reason, meant for an ingest run's error list.
    """

    source_id: str | None
    line: int | None
    reason: str


@dataclass
class ParseResult:
    """Studies parsed from a source, and the records skipped on the way."""

    studies: list[Study] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class ParseError(ValueError):
    """A whole source is unusable (wrong header, unknown space, ...).

    Parameters
    ----------
    message : str
        What is wrong.
    line : int or None
        1-based line where the problem was found, if known; it prefixes the message.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class StudyStream:
    """Studies parsed lazily, one at a time, from a large source.

    ``skipped`` fills while the stream is iterated, so read it after the loop.
    A stream can be iterated once.

    Parameters
    ----------
    generate : callable
        Called once with the list to append :class:`Skipped` reports to; returns an
        iterator of study dicts.
    """

    def __init__(self, generate: Callable[[list[Skipped]], Iterator[Study]]) -> None:
        self.skipped: list[Skipped] = []
        self._studies = generate(self.skipped)

    def __iter__(self) -> Iterator[Study]:
        return self._studies

    def collect(self) -> ParseResult:
        """Parse everything that is left and return it as one :class:`ParseResult`.

        Returns
        -------
        ParseResult
            The remaining studies, and every skipped record reported so far.
        """
        studies = list(self._studies)
        return ParseResult(studies=studies, skipped=list(self.skipped))
