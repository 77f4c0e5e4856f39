"""The two groups a pairwise estimator compares (MKDA chi-square, ALE subtraction).

A run names its groups in one of two ways, as Neurosynth Compose does::

    {"column": "pain"}                                 # a boolean annotation column
    {"column": "task", "values": ["n-back", "stroop"]}  # any column, two of its values
    {"snapshot": "<id>"}                               # a second snapshot

With a column, the run's snapshot is split by its annotation: group 1 holds the analyses
whose note has the first value (``true`` by default), group 2 those with the second
(``false``); analyses with another value, a null or no note are in neither. With a
snapshot, group 1 is the run's snapshot and group 2 the other one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from neurostore.snapshot.experiments import Experiment
from neurostore.snapshot.selection import BOOLEAN_TYPES

#: Values a column split compares with (a note value of another type matches none).
SCALARS = (str, int, float, bool)


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; a note that says 1 is not one that says true.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _declared(annotation: Mapping, column: str) -> Any:
    value = (annotation.get("note_keys") or {}).get(column)
    return value.get("type") if isinstance(value, Mapping) else value


def _note_values(annotation: Mapping, column: str) -> list[Any]:
    notes = annotation.get("notes") or []
    return [entry["note"].get(column) for entry in notes
            if isinstance(entry, Mapping) and isinstance(entry.get("note"), Mapping)]


@dataclass(frozen=True)
class ColumnSplit:
    """Group 1: notes with ``values[0]`` in ``column``; group 2: notes with ``values[1]``."""

    column: str
    values: tuple[Any, Any]

    def group_of(self, experiment: Experiment) -> int | None:
        """1 or 2, or None when the experiment's note has neither value."""
        value = experiment.note.get(self.column)
        for group, wanted in enumerate(self.values, start=1):
            if _same(value, wanted):
                return group
        return None

    def describe(self) -> str:
        """The groups in words, for the methods paragraph."""
        a, b = (repr(v) for v in self.values)
        return (f"Group 1 held the analyses annotated {self.column} = {a}, group 2 those "
                f"annotated {self.column} = {b}.")


def _column_split(given: Mapping, annotation: Mapping | None,
                  errors: dict[str, str]) -> dict[str, Any]:
    column = given.get("column")
    if not isinstance(column, str) or not column:
        errors["groups.column"] = "must name a column of the snapshot's annotation"
        return {}
    if annotation is None:
        errors["groups.column"] = ("the snapshot has no annotation to split; freeze it with "
                                   "one, or give groups.snapshot")
        return {}
    if column not in (annotation.get("note_keys") or {}):
        known = ", ".join(sorted(annotation.get("note_keys") or {})) or "none"
        errors["groups.column"] = f"{column!r} is not a column of the annotation ({known})"
        return {}
    values = given.get("values")
    if values is None:
        if _declared(annotation, column) not in BOOLEAN_TYPES:
            errors["groups.values"] = (f"{column!r} is not a boolean column: give the two "
                                       "values that make group 1 and group 2")
            return {}
        values = [True, False]
    if not isinstance(values, list) or len(values) != 2 \
            or not all(isinstance(v, SCALARS) for v in values):
        errors["groups.values"] = "must be two values (strings, numbers or booleans)"
        return {}
    if _same(*values):
        errors["groups.values"] = "the two groups need different values"
        return {}
    present = _note_values(annotation, column)
    for index, value in enumerate(values):
        if not any(_same(value, found) for found in present):
            errors[f"groups.values.{index}"] = (f"no analysis of the snapshot is annotated "
                                                f"{column} = {value!r}")
    return {"column": column, "values": list(values)}


def check(given: Any, *, annotation: Mapping | None, snapshot_id: str,
          lookup: Callable[[str], Mapping | None] | None,
          errors: dict[str, str]) -> tuple[dict[str, Any], Mapping | None]:
    """Check a run's ``groups`` and return them normalised, with group 2's snapshot inputs.

    Parameters
    ----------
    given : Any
        The request's ``groups``.
    annotation : dict or None
        The annotation frozen with the run's snapshot.
    snapshot_id : str
        The run's snapshot (group 1).
    lookup : callable or None
        ``lookup(snapshot_id) -> inputs`` of a snapshot the requester may read, else None;
        None skips the check of a second snapshot.
    errors : dict
        Where each bad field's message is put (``groups``, ``groups.<field>``).

    Returns
    -------
    groups : dict
        ``{"column", "values"}`` or ``{"snapshot"}``.
    inputs2 : dict or None
        What group 2's snapshot holds (None for a column split).
    """
    if not isinstance(given, Mapping) or ("column" in given) == ("snapshot" in given):
        errors["groups"] = ("give either column (and values) to split the snapshot by its "
                            "annotation, or snapshot for a second snapshot")
        return {}, None
    unknown = sorted(set(given) - {"column", "values", "snapshot"})
    if unknown or ("snapshot" in given and "values" in given):
        errors["groups"] = (f"unknown field(s) {', '.join(unknown or ['values'])}: groups take "
                            "column and values, or snapshot")
        return {}, None
    if "column" in given:
        return _column_split(given, annotation, errors), None
    second = given["snapshot"]
    if not isinstance(second, str) or not second:
        errors["groups.snapshot"] = "must be the id of a snapshot"
        return {}, None
    if second == snapshot_id:
        errors["groups.snapshot"] = "group 2 must be another snapshot than group 1's"
        return {}, None
    inputs2 = lookup(second) if lookup is not None else {}
    if inputs2 is None:
        errors["groups.snapshot"] = f"snapshot {second} not found"
        return {}, None
    return {"snapshot": second}, inputs2


def json_schema() -> dict[str, Any]:
    """The ``groups`` a request may give, as JSON Schema."""
    scalar = {"type": ["string", "number", "boolean"]}
    return {"oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["column"],
         "properties": {"column": {"type": "string", "minLength": 1},
                        "values": {"type": "array", "items": scalar, "minItems": 2,
                                   "maxItems": 2}},
         "description": "split the snapshot by an annotation column (default values: true "
                        "for group 1, false for group 2)"},
        {"type": "object", "additionalProperties": False, "required": ["snapshot"],
         "properties": {"snapshot": {"type": "string", "minLength": 1, "maxLength": 64}},
         "description": "group 2 is another snapshot"},
    ]}
