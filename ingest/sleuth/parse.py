"""Parse Sleuth / GingerALE coordinate text files into study dicts.

The format::

    // Reference=MNI                      (or Talairach; may change between experiments)
    // Smith et al., 2005: Faces > Houses   (one or more header lines)
    // Subjects=12
    -16 -58 -22                            (x y z, tabs or spaces)
    ...
    (blank line between experiments)

Each experiment becomes an analysis (named after the text following the first
``:`` of its headers; several header lines are joined with ``"; "``) with its sample
size in metadata; experiments sharing the text before the ``:`` share one study
(``source="sleuth"``, ``source_id`` = that text, authors and year read from
``"Author, Year"`` when it has that shape). Lines may end in LF, CRLF or CR.
Problems name their line: a file without a usable ``Reference`` raises
:class:`~ingest.records.ParseError`; a bad coordinate or ``Subjects`` line is reported,
and its experiment is left out whole (never stored missing a peak), as is an experiment
without a ``Subjects`` line or without coordinates.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from ingest.compressed import read_bytes
from ingest.records import ParseError, ParseResult, Skipped, Study
from neurostore.vocabulary import POINT_SPACE_ALIASES, PointSpace

SOURCE = "sleuth"

_REFERENCE = re.compile(r"^//\s*Reference\s*=\s*(?P<space>.*?)\s*$", re.IGNORECASE)
_SUBJECTS = re.compile(r"^//\s*Subjects\s*=\s*(?P<n>.*?)\s*$", re.IGNORECASE)
_AUTHOR_YEAR = re.compile(r"^(?P<authors>.+?),\s*(?P<year>\d{4})[a-z]?$")
_SPACES = {name: space.value for name, space in POINT_SPACE_ALIASES.items()
           if space is not PointSpace.UNKNOWN}


@dataclass
class _Experiment:
    space: str
    headers: list[tuple[int, str]] = field(default_factory=list)
    subjects: int | None = None
    points: list[list[float]] = field(default_factory=list)
    #: Line numbers of its lines that could not be read: the experiment is left out whole.
    bad_lines: list[int] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.headers[0][0]

    @property
    def study_name(self) -> str:
        return self.headers[0][1].split(":", 1)[0].strip()

    @property
    def name(self) -> str:
        names = [text.split(":", 1)[1].strip() if ":" in text else text for _, text in self.headers]
        return "; ".join(dict.fromkeys(n for n in names if n)) or self.study_name


def parse(path: str | os.PathLike[str]) -> ParseResult:
    """Parse a Sleuth text file.

    Parameters
    ----------
    path : str or path-like
        The file; UTF-8 (with or without BOM), else read as Windows-1252.

    Returns
    -------
    ParseResult
        Studies in order of first appearance, and the skipped records.

    Raises
    ------
    ParseError
        If the file names no coordinate space, or an unknown one.
    """
    raw = read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return parse_text(text)


def parse_text(text: str) -> ParseResult:
    """Parse the content of a Sleuth text file (see :func:`parse`).

    Parameters
    ----------
    text : str
        The file's text, with any line endings.

    Returns
    -------
    ParseResult
        Studies and skipped records.

    Raises
    ------
    ParseError
        If the text names no coordinate space, or an unknown one.
    """
    result = ParseResult()
    experiments: list[_Experiment] = []
    space: str | None = None
    current: _Experiment | None = None

    def close() -> None:
        nonlocal current
        if current is not None and _complete(current, result.skipped):
            experiments.append(current)
        current = None

    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line:
            close()
            continue
        reference = _REFERENCE.match(line)
        subjects = _SUBJECTS.match(line)
        if reference:
            close()
            space = _space(reference["space"], number)
        elif line.startswith("//") and not subjects:
            if current is None or current.subjects is not None or current.points:
                close()
                if space is None:
                    raise ParseError("experiment header before any '// Reference=' line", number)
                current = _Experiment(space=space)
            current.headers.append((number, line[2:].strip()))
        elif subjects:
            if current is None:
                result.skipped.append(Skipped(None, number, "Subjects line without a header"))
            else:
                current.subjects = _subjects(subjects["n"], current, number, result.skipped)
                if current.subjects is None:
                    current.bad_lines.append(number)
        elif current is None:
            result.skipped.append(Skipped(None, number, f"coordinates without a header: {line!r}"))
        else:
            xyz = _coordinates(line)
            if xyz is None:
                reason = f"expected three numbers 'x y z', got {line!r}"
                result.skipped.append(Skipped(current.study_name, number, reason))
                current.bad_lines.append(number)
            else:
                current.points.append(xyz)
    close()
    if space is None:
        raise ParseError("no '// Reference=MNI' or '// Reference=Talairach' line", 1)
    result.studies.extend(_studies(experiments))
    return result


def _space(label: str, line: int) -> str:
    space = _SPACES.get(label.strip().upper())
    if space is None:
        raise ParseError(f"unknown reference space {label!r} (expected MNI or Talairach)", line)
    return space


def _subjects(value: str, experiment: _Experiment, line: int, skipped: list[Skipped]) -> int | None:
    if value.isdigit():
        return int(value)
    skipped.append(Skipped(experiment.study_name, line, f"Subjects={value!r} is not a count"))
    return None


def _coordinates(line: str) -> list[float] | None:
    parts = line.replace(",", " ").split()
    if len(parts) != 3:
        return None
    try:
        return [float(part) for part in parts]
    except ValueError:
        return None


def _complete(experiment: _Experiment, skipped: list[Skipped]) -> bool:
    if experiment.bad_lines:
        lines = ", ".join(str(n) for n in experiment.bad_lines)
        reason = (f"experiment {experiment.name!r} left out whole: bad line(s) {lines}"
                  " (none of its peaks is kept)")
    elif experiment.subjects is None:
        reason = f"experiment {experiment.name!r} has no usable '// Subjects=N' line"
    elif not experiment.points:
        reason = f"experiment {experiment.name!r} has no coordinates"
    else:
        return True
    skipped.append(Skipped(experiment.study_name, experiment.line, reason))
    return False


def _studies(experiments: list[_Experiment]) -> list[Study]:
    studies: dict[str, Study] = {}
    for experiment in experiments:
        study = studies.get(experiment.study_name)
        if study is None:
            study = studies[experiment.study_name] = _study(experiment.study_name)
        study["analyses"].append(_analysis(experiment))
    return list(studies.values())


def _study(name: str) -> Study:
    match = _AUTHOR_YEAR.match(name)
    return {
        "name": name,
        "description": None,
        "publication": None,
        "authors": match["authors"].strip() if match else None,
        "year": int(match["year"]) if match else None,
        "doi": None,
        "pmid": None,
        "pmcid": None,
        "metadata": {},
        "source": SOURCE,
        "source_id": name,
        "source_updated_at": None,
        "analyses": [],
    }


def _analysis(experiment: _Experiment) -> dict[str, Any]:
    metadata: dict[str, Any] = {"sample_size": experiment.subjects}
    if len(experiment.headers) > 1:
        metadata["sleuth_headers"] = [text for _, text in experiment.headers]
    return {
        "name": experiment.name,
        "description": None,
        "metadata": metadata,
        "table": None,
        "conditions": [],
        "weights": [],
        "points": [
            {
                "coordinates": xyz,
                "space": experiment.space,
                "kind": None,
                "label_id": None,
                "values": [],
            }
            for xyz in experiment.points
        ],
        "images": [],
    }
