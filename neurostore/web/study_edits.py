"""A submitted study form read as a change to the state it was loaded from, and that
change applied to a current state: the same state when the save goes through, or a newer
one when someone saved meanwhile (the curator's own edits are then made again on top of
theirs, to check and resubmit).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any

from neurostore.web.study_form import (
    AXES,
    FIELDS,
    StudyForm,
    clean,
    number_text,
    value_kind,
)

#: A generous cap on a pasted table, so one paste cannot hold a worker for long.
MAX_PASTED_ROWS = 20_000
_SEPARATORS = re.compile(r"[\t,;]+|\s+")


class Problems(dict):
    """Input names mapped to messages, each with a readable place (``Analysis 2, peak 4,
    x``) for the summary at the top of the form."""

    def __init__(self) -> None:
        super().__init__()
        self.places: dict[str, str] = {}

    def add(self, name: str, place: str, message: str) -> None:
        """Record ``message`` about the input ``name``."""
        self.setdefault(name, []).append(message)
        self.places.setdefault(name, place)


def _number(text: str, name: str, place: str, problems: Problems) -> float | None:
    if not text:
        return None
    try:
        value = float(text.replace("\u2212", "-"))
    except ValueError:
        problems.add(name, place, f"{text!r} is not a number")
        return None
    if not math.isfinite(value):
        problems.add(name, place, f"{text!r} is not a finite number")
        return None
    return value


def parse_pasted(text: str, name: str, place: str, problems: Problems
                 ) -> list[tuple[list[float], float | None]]:
    """Peaks from a table copied out of a spreadsheet or a paper: one per line, ``x y z``
    and an optional value, separated by tabs, commas, semicolons or spaces. A first line
    of words (a header) is skipped; any other line that is not 3 or 4 numbers is named."""
    peaks = []
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_PASTED_ROWS:
        problems.add(name, place, f"{len(lines)} lines: paste at most {MAX_PASTED_ROWS}")
        return []
    for n, line in enumerate(lines, 1):
        cells = [c for c in _SEPARATORS.split(line.strip()) if c]
        numbers = []
        for cell in cells:
            try:
                numbers.append(float(cell.replace("\u2212", "-")))
            except ValueError:
                break
        if n == 1 and not numbers:
            continue  # a header row
        if len(numbers) != len(cells) or len(cells) not in (3, 4) \
                or not all(math.isfinite(v) for v in numbers):
            problems.add(name, place, f"line {n} ({line.strip()[:60]!r}): expected x y z "
                                      "and an optional value, as numbers")
            continue
        peaks.append((numbers[:3], numbers[3] if len(numbers) == 4 else None))
    return peaks


@dataclass
class PeakEdit:
    """What the form says of one peak: its coordinates and value."""

    coordinates: list[float | None]
    value: float | None
    #: The input it was typed in (where a service error about it is shown).
    input: str = ""


@dataclass
class AnalysisEdit:
    """What the form changes in one analysis (an existing one when ``id`` is set)."""

    id: str | None
    block: int
    fields: dict[str, str | None] = field(default_factory=dict)
    removed: bool = False
    edited: dict[str, PeakEdit] = field(default_factory=dict)
    removed_peaks: set[str] = field(default_factory=set)
    added: list[PeakEdit] = field(default_factory=list)


@dataclass
class Changes:
    """A submitted form read against the state it was loaded from."""

    fields: dict[str, Any]
    analyses: list[AnalysisEdit]

    def is_empty(self) -> bool:
        """Nothing was changed."""
        return not self.fields and not any(
            a.id is None or a.fields or a.removed or a.edited or a.removed_peaks or a.added
            for a in self.analyses)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def read_changes(form: StudyForm, base: dict[str, Any]) -> tuple[Changes, Problems]:
    """What ``form`` changes in ``base`` (the state it was loaded from), and what in it
    cannot be read (named by input)."""
    problems = Problems()
    labels = dict(FIELDS)
    changed: dict[str, Any] = {}
    for key, typed in form.fields.items():
        if typed == clean(_text(base.get(key))) or (key == "year" and typed == number_text(
                base.get("year"))):
            continue
        if key == "year" and typed:
            try:
                changed[key] = int(typed)
            except ValueError:
                problems.add(key, labels[key], f"{typed!r} is not a whole number")
            continue
        # A title may not be blank (the service says so); other blank fields are unset.
        changed[key] = typed if typed or key == "name" else None
    current = {a["id"]: a for a in base["analyses"]}
    edits = []
    for i, block in enumerate(form.analyses):
        if block.is_blank() or (block.remove and not block.id):
            continue
        where = f"Analysis {i + 1}" + (f" ({block.name})" if block.name else "")
        if block.id and block.id not in current:
            problems.add(f"analyses-{i}-name", where, "this analysis is no longer in the study")
            continue
        before = current.get(block.id, {"name": None, "description": None, "points": []})
        edit = AnalysisEdit(block.id or None, i, removed=block.remove)
        for key in ("name", "description"):
            if getattr(block, key) != clean(_text(before.get(key))):
                edit.fields[key] = getattr(block, key) or None
        points = {p["id"]: p for p in before["points"]}
        for j, row in enumerate(block.peaks):
            if row.is_blank():
                continue
            name = f"analyses-{i}-points-{j}"
            place = f"{where}, peak {j + 1}"
            if row.id and row.id not in points:
                problems.add(f"{name}-x", place, "this peak is no longer in the analysis")
                continue
            if row.remove:
                if row.id:
                    edit.removed_peaks.add(row.id)
                continue
            coords = [_number(getattr(row, axis), f"{name}-{axis}", f"{place}, {axis}",
                              problems) for axis in AXES]
            value = _number(row.value, f"{name}-value", f"{place}, value", problems)
            blank = [axis for axis, c in zip(AXES, coords, strict=True) if c is None]
            if blank and (len(blank) < 3 or not row.id):
                for axis in blank:
                    if not getattr(row, axis):
                        problems.add(f"{name}-{axis}", f"{place}, {axis}", "enter a number")
                continue
            peak = PeakEdit(coords, value, f"{name}-x")
            if not row.id:
                edit.added.append(peak)
            elif _peak_of(points[row.id]) != (coords, value):
                edit.edited[row.id] = peak
        if block.paste.strip():
            for coords, value in parse_pasted(block.paste, f"analyses-{i}-paste",
                                              f"{where}, pasted peaks", problems):
                edit.added.append(PeakEdit(coords, value, f"analyses-{i}-paste"))
        edits.append(edit)
    return Changes(changed, edits), problems


def _peak_of(point: dict[str, Any]) -> tuple[list[float | None], float | None]:
    values = point.get("values") or []
    coords = [None if c is None else float(c) for c in point.get("coordinates") or [None] * 3]
    value = values[0]["value"] if values else None
    return coords, None if value is None else float(value)


# -- applying a change ------------------------------------------------------------------


@dataclass
class Applied:
    """A change applied to a state: the new state, and where each analysis and peak of it
    came from on the page (to name the input a service error is about)."""

    state: dict[str, Any]
    inputs: dict[str, str]


def apply(changes: Changes, current: dict[str, Any]) -> Applied:
    """``current`` with ``changes`` made to it. Analyses and peaks someone else removed
    meanwhile stay removed; new peaks take the space and statistic of their analysis."""
    state = {**copy.deepcopy(current), **changes.fields}
    edits = {e.id: e for e in changes.analyses if e.id}
    inputs: dict[str, str] = {}
    analyses = []
    for a in state["analyses"]:
        edit = edits.get(a["id"])
        if edit is not None and edit.removed:
            continue
        if edit is not None:
            a = _edited(a, edit, inputs, len(analyses))
        analyses.append(a)
    for edit in changes.analyses:
        if edit.id is None and not edit.removed:
            blank = {"name": None, "description": None, "metadata": None, "conditions": [],
                     "weights": [], "points": [], "images": [], "table": None}
            analyses.append(_edited(blank, edit, inputs, len(analyses),
                                    space=_study_space(current)))
    state["analyses"] = analyses
    return Applied(state, inputs)


def _study_space(state: dict[str, Any]) -> str | None:
    return next((p["space"] for a in state["analyses"] for p in a["points"] if p.get("space")),
                None)


def _edited(analysis: dict[str, Any], edit: AnalysisEdit, inputs: dict[str, str], n: int,
            space: str | None = None) -> dict[str, Any]:
    inputs[f"analyses.{n}"] = f"analyses-{edit.block}-name"
    out = {**analysis, **edit.fields}
    kind = value_kind(analysis)
    space = next((p["space"] for p in analysis["points"] if p.get("space")), space)
    points = []
    for p in analysis["points"]:
        if p["id"] in edit.removed_peaks:
            continue
        if p["id"] in edit.edited:
            peak = edit.edited[p["id"]]
            inputs[f"analyses.{n}.points.{len(points)}"] = peak.input
            p = {**p, "coordinates": peak.coordinates,
                 "values": _with_value(p.get("values") or [], peak.value, kind)}
        points.append(p)
    for peak in edit.added:
        inputs[f"analyses.{n}.points.{len(points)}"] = peak.input
        points.append({"coordinates": peak.coordinates, "space": space,
                       "values": _with_value([], peak.value, kind)})
    out["points"] = points
    return out


def _with_value(values: list[dict[str, Any]], value: float | None, kind: str | None
                ) -> list[dict[str, Any]]:
    if values:
        return [{**values[0], "value": value}, *values[1:]]
    return [] if value is None else [{"kind": kind, "value": value}]


def patch_of(applied: Applied, current: dict[str, Any]) -> dict[str, Any]:
    """The study update the service takes: the fields that differ, and the whole list of
    analyses when any of them changed (each merged over the current one by id)."""
    patch = {key: applied.state.get(key) for key, _ in FIELDS
             if applied.state.get(key) != current.get(key)}
    if applied.state["analyses"] != current["analyses"]:
        patch["analyses"] = applied.state["analyses"]
    return patch


def input_of(path: str, inputs: dict[str, str]) -> str:
    """The input a service error's field path (``analyses.2.points.5.coordinates``) is
    about: the page's name for it, or the path itself."""
    if path in dict(FIELDS):
        return path
    parts = path.split(".")
    for size in (4, 2):
        key = ".".join(parts[:size])
        if len(parts) >= size and key in inputs:
            return inputs[key]
    return path
