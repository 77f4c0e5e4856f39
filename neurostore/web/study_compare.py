"""Two states of a study side by side, as a person reads a change: which fields changed,
which analyses were added, removed or renamed, and which peaks moved (cell by cell).

Analyses and peaks are matched by id, so a peak fixed in place shows as one changed row
rather than a removed and an added one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neurostore.web.study_form import FIELDS, number_text

#: What a peak row shows, in order.
PEAK_CELLS = ("x", "y", "z", "value")


@dataclass
class FieldRow:
    """One field of the study in both states."""

    key: str
    label: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        """Whether the two states differ here."""
        return self.before != self.after


@dataclass
class PeakRow:
    """One peak in both states (``None`` where it is absent: added or removed)."""

    id: str
    before: tuple[str, ...] | None
    after: tuple[str, ...] | None

    @property
    def status(self) -> str:
        """``added``, ``removed``, ``changed`` or ``same``."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed" if self.before != self.after else "same"

    def changed_cells(self) -> set[int]:
        """Positions of the cells that differ (all of them for an added or removed peak)."""
        if self.before is None or self.after is None:
            return set(range(len(PEAK_CELLS)))
        return {n for n, (a, b) in enumerate(zip(self.before, self.after, strict=True))
                if a != b}


@dataclass
class AnalysisRows:
    """One analysis in both states: names and the peaks that changed."""

    id: str
    before: str | None
    after: str | None
    status: str
    peaks: list[PeakRow] = field(default_factory=list)
    unchanged_peaks: int = 0


@dataclass
class Comparison:
    """Everything that differs between two states of a study."""

    fields: list[FieldRow]
    analyses: list[AnalysisRows]

    @property
    def changed_fields(self) -> list[FieldRow]:
        """The fields that differ."""
        return [f for f in self.fields if f.changed]

    @property
    def changed_analyses(self) -> list[AnalysisRows]:
        """The analyses added, removed, renamed or with changed peaks."""
        return [a for a in self.analyses if a.status != "same"]

    def is_empty(self) -> bool:
        """The states are the same (as far as the page shows them)."""
        return not self.changed_fields and not self.changed_analyses


def _cells(point: dict[str, Any]) -> tuple[str, ...]:
    coords = point.get("coordinates") or [None, None, None]
    values = point.get("values") or []
    return (*(number_text(c) for c in coords),
            number_text(values[0]["value"]) if values else "")


def _analysis_name(analysis: dict[str, Any] | None) -> str | None:
    if analysis is None:
        return None
    return analysis.get("name") or "(unnamed analysis)"


def _peaks(before: dict[str, Any] | None, after: dict[str, Any] | None
           ) -> tuple[list[PeakRow], int]:
    old = {p["id"]: _cells(p) for p in (before or {}).get("points", [])}
    new = {p["id"]: _cells(p) for p in (after or {}).get("points", [])}
    rows = [PeakRow(i, old.get(i), new.get(i)) for i in [*old, *(i for i in new if i not in old)]]
    changed = [r for r in rows if r.status != "same"]
    return changed, len(rows) - len(changed)


def compare(before: dict[str, Any] | None, after: dict[str, Any] | None) -> Comparison:
    """The differences from ``before`` to ``after`` (either may be ``None``: nothing)."""
    before, after = before or {}, after or {}
    fields = [FieldRow(key, label, _text(before.get(key)), _text(after.get(key)))
              for key, label in FIELDS]
    old = {a["id"]: a for a in before.get("analyses", [])}
    new = {a["id"]: a for a in after.get("analyses", [])}
    analyses = []
    for id_ in [*old, *(i for i in new if i not in old)]:
        a, b = old.get(id_), new.get(id_)
        peaks, same = _peaks(a, b)
        if a is None:
            status = "added"
        elif b is None:
            status = "removed"
        elif peaks or _analysis_name(a) != _analysis_name(b) or \
                a.get("description") != b.get("description"):
            status = "changed"
        else:
            status = "same"
        analyses.append(AnalysisRows(id_, _analysis_name(a), _analysis_name(b), status,
                                     peaks, same))
    return Comparison(fields, analyses)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return number_text(value) if isinstance(value, int | float) and \
        not isinstance(value, bool) else str(value)
