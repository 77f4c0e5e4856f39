"""Annotation notes by analysis, and the inclusion filter built on one of their keys."""

from collections.abc import Mapping
from typing import Any

from neurostore.snapshot.errors import MalformedSnapshot, SnapshotError

#: NIMADS note key types a filter can use.
BOOLEAN_TYPES = frozenset({"boolean", "bool"})


def _declared_type(value: Any) -> Any:
    """Return the type name of a ``note_keys`` entry (``"boolean"`` or ``{"type": ...}``)."""
    return value.get("type") if isinstance(value, Mapping) else value


def reference_id(value: Any) -> str | None:
    """Return the id of a NIMADS relation given as an id or as a nested object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


class Selection:
    """The notes of one annotation, indexed by analysis, and which analyses to export.

    A note is found by its study and analysis ids, or by its analysis id alone when the note
    names no study (analysis ids need then be unique in the studyset).

    Parameters
    ----------
    annotation : dict or None
        A NIMADS annotation: ``note_keys`` (key -> type) and ``notes`` (one per analysis,
        ``{"analysis": id, "note": {...}}``).
    include : str or None
        A boolean note key. When given, only analyses whose note has ``True`` there are
        exported; a missing note or a null value excludes the analysis.

    Raises
    ------
    MalformedSnapshot
        If the annotation does not have the NIMADS shape.
    SnapshotError
        If ``include`` is given without an annotation, names a key the annotation does not
        declare, or a key that is not boolean (declared so, or holding another value).
    """

    def __init__(self, annotation: Mapping | None = None, include: str | None = None) -> None:
        self.annotation = annotation
        self.include = include
        self._notes: dict[tuple[str | None, str], Mapping] = {}
        note_keys: dict[str, Any] = {}
        if annotation is not None:
            note_keys = self._read(annotation)
        self.note_keys: tuple[str, ...] = tuple(sorted(note_keys))
        if include is not None:
            self._check_include(include, note_keys)

    def note(self, study_id: str | None, analysis_id: str | None) -> Mapping:
        """Return the note of an analysis (empty when it has none)."""
        if analysis_id is None:
            return {}
        found = self._notes.get((study_id, analysis_id))
        return found if found is not None else self._notes.get((None, analysis_id), {})

    def includes(self, study_id: str | None, analysis_id: str | None) -> bool:
        """Say whether the analysis goes into the export."""
        if self.include is None:
            return True
        return self.note(study_id, analysis_id).get(self.include) is True

    def _read(self, annotation: Mapping) -> dict[str, Any]:
        if not isinstance(annotation, Mapping):
            raise MalformedSnapshot("annotation", f"expected an object, got {type(annotation)}")
        note_keys = annotation.get("note_keys") or {}
        if not isinstance(note_keys, Mapping):
            raise MalformedSnapshot("annotation.note_keys", "expected an object of key -> type")
        notes = annotation.get("notes") or []
        if not isinstance(notes, list):
            raise MalformedSnapshot("annotation.notes", "expected a list")
        for i, entry in enumerate(notes):
            where = f"annotation.notes[{i}]"
            if not isinstance(entry, Mapping):
                raise MalformedSnapshot(where, "expected an object")
            analysis_id = reference_id(entry.get("analysis"))
            if analysis_id is None:
                raise MalformedSnapshot(where, "no analysis id")
            note = entry.get("note") or {}
            if not isinstance(note, Mapping):
                raise MalformedSnapshot(f"{where}.note", "expected an object")
            key = (reference_id(entry.get("study")), analysis_id)
            if key in self._notes:
                raise MalformedSnapshot(where, f"a second note for analysis {analysis_id!r}")
            self._notes[key] = note
        return dict(note_keys)

    def _check_include(self, include: str, note_keys: Mapping[str, Any]) -> None:
        if self.annotation is None:
            raise SnapshotError(f"include={include!r} needs an annotation")
        if include not in note_keys:
            known = ", ".join(repr(k) for k in sorted(note_keys)) or "none"
            raise SnapshotError(f"include={include!r} is not a note key of the annotation "
                                f"(note keys: {known})")
        declared = _declared_type(note_keys[include])
        if declared not in BOOLEAN_TYPES:
            raise SnapshotError(f"include={include!r} is a {declared!r} note key, not boolean")
        for (_, analysis_id), note in self._notes.items():
            value = note.get(include)
            if value is not None and not isinstance(value, bool):
                raise SnapshotError(f"include={include!r}: analysis {analysis_id!r} has "
                                    f"{value!r}, not true, false or null")
