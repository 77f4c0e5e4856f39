"""The study curation form: a study state as form fields, and a submitted form as a change.

The page edits a study's own fields, its analyses (add, remove, rename) and their peaks
(add, remove, fix a coordinate or a value, paste a table of coordinates). What a submitted
form changes is read by :mod:`neurostore.web.study_edits`.

Input names: ``name``, ``authors``..., ``analyses-I-name``, ``analyses-I-points-J-x`` and
``analyses-I-paste``; I and J are positions on the page, ids ride in hidden inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

#: The study's own fields the page edits, with their labels.
FIELDS = (("name", "Title"), ("authors", "Authors"), ("year", "Year"),
          ("publication", "Journal"), ("doi", "DOI"), ("pmid", "PMID"), ("pmcid", "PMCID"),
          ("description", "Description"))
AXES = ("x", "y", "z")
_ROW = re.compile(r"^analyses-(\d{1,6})-points-(\d{1,7})-(id|x|y|z|value|remove)$")
_BLOCK = re.compile(r"^analyses-(\d{1,6})-(id|name|description|remove|paste)$")


def number_text(value: Any) -> str:
    """A number as the form shows it: exact (it reads back as the same float), and whole
    numbers without ``.0``."""
    if value is None:
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


@dataclass
class PeakRow:
    """One row of an analysis's peak table, as typed."""

    id: str = ""
    x: str = ""
    y: str = ""
    z: str = ""
    value: str = ""
    remove: bool = False

    def is_blank(self) -> bool:
        """A new row left empty (ignored, as a spreadsheet's empty rows are)."""
        return not self.id and not any((self.x, self.y, self.z, self.value))


@dataclass
class AnalysisBlock:
    """One analysis on the page: its name and description, peaks and pasted table."""

    id: str = ""
    name: str = ""
    description: str = ""
    remove: bool = False
    peaks: list[PeakRow] = field(default_factory=list)
    paste: str = ""

    def is_blank(self) -> bool:
        """The empty "add an analysis" block, left empty."""
        return (not self.id and not self.name and not self.description and not self.paste
                and all(p.is_blank() for p in self.peaks))


@dataclass
class StudyForm:
    """The whole form: the version it was loaded from, the fields, analyses and message."""

    version: int
    fields: dict[str, str]
    analyses: list[AnalysisBlock]
    message: str = ""
    value_kinds: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: dict[str, Any], version: int, message: str = "") -> StudyForm:
        """The form showing ``state`` (peaks without an id show as new rows)."""
        fields = {key: "" if state.get(key) is None else
                  (str(state[key]) if key != "year" else number_text(state[key]))
                  for key, _ in FIELDS}
        analyses = []
        for a in state["analyses"]:
            peaks = []
            for p in a["points"]:
                coords = p.get("coordinates") or [None, None, None]
                values = p.get("values") or []
                peaks.append(PeakRow(p.get("id", ""), *(number_text(c) for c in coords),
                                     number_text(values[0]["value"]) if values else ""))
            analyses.append(AnalysisBlock(a.get("id", ""), a.get("name") or "",
                                          a.get("description") or "", peaks=peaks))
        return cls(version, fields, analyses, message,
                   {a.get("id", ""): value_kind(a) or "" for a in state["analyses"]})

    @classmethod
    def from_request(cls, form: MultiDict, version: int) -> StudyForm:
        """The form as submitted (rows ordered as they were on the page)."""
        blocks: dict[int, AnalysisBlock] = {}
        rows: dict[tuple[int, int], PeakRow] = {}
        for key in form:
            if match := _BLOCK.match(key):
                block = blocks.setdefault(int(match[1]), AnalysisBlock())
                _set(block, match[2], form.get(key, ""))
            elif match := _ROW.match(key):
                blocks.setdefault(int(match[1]), AnalysisBlock())
                row = rows.setdefault((int(match[1]), int(match[2])), PeakRow())
                _set(row, match[3], form.get(key, ""))
        for (i, _), row in sorted(rows.items()):
            blocks[i].peaks.append(row)
        # A field the form does not send is left as it is (not blanked).
        fields = {key: clean(form[key]) for key, _ in FIELDS if key in form}
        return cls(version, fields, [blocks[i] for i in sorted(blocks)],
                   form.get("message", "").strip())


def _set(target: PeakRow | AnalysisBlock, name: str, value: str) -> None:
    if name == "remove":
        target.remove = value not in ("", "0", "false")
    elif name == "paste":
        target.paste = value  # type: ignore[union-attr]
    else:
        setattr(target, name, clean(value))


def clean(text: str) -> str:
    """Typed text as compared and stored: browsers send a textarea's line ends as CRLF."""
    return text.replace("\r\n", "\n").strip()


def value_kind(analysis: dict[str, Any]) -> str | None:
    """The statistic the analysis's peaks carry (what a new peak's value is)."""
    for p in analysis.get("points", []):
        for v in p.get("values") or []:
            if v.get("kind"):
                return v["kind"]
    return None


def place_of(name: str, form: StudyForm) -> str:
    """A readable place for an input name (``Analysis 2 (contrast), peak 4, x``)."""
    if name in dict(FIELDS):
        return dict(FIELDS)[name]
    match = re.match(r"^analyses-(\d+)-(?:points-(\d+)-(\w+)|(paste)|\w+)$", name)
    if match is None:
        return name
    i = int(match[1])
    block = form.analyses[i] if i < len(form.analyses) else AnalysisBlock()
    place = f"Analysis {i + 1}" + (f" ({block.name})" if block.name else "")
    if match[2] is not None:
        return f"{place}, peak {int(match[2]) + 1}, {match[3]}"
    return f"{place}, pasted peaks" if match[4] else place
