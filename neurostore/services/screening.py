"""Screening a studyset's studies, as Neurosynth Compose does: each study is included or
excluded with a reason, and the studyset reports PRISMA-style counts.

Decisions live in the studyset's own metadata, under ``metadata["screening"]``::

    {"decisions": {"<study id>": {"status": "excluded", "reason": "duplicate"},
                   "<study id>": {"status": "included", "reason": null}}}

so they are versioned with the studyset (every change is a revision, sent with If-Match)
and need no table of their own. A study without a decision has not been screened yet; it
counts as included (a studyset nobody screens keeps all its studies), and the counts say
how many are still waiting. Decisions of studies no longer in the studyset are kept (a
study put back keeps its decision) but never counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from neurostore.services.errors import Invalid

KEY = "screening"
INCLUDED, EXCLUDED = "included", "excluded"
#: The exclusion reasons offered first (any other text is accepted too).
DUPLICATE = "duplicate"
STANDARD_REASONS = (
    DUPLICATE,
    "not a neuroimaging study",
    "no usable coordinates or maps",
    "wrong population",
    "wrong task or contrast",
    "review or meta-analysis, not a primary study",
)
MAX_REASON = 200


@dataclass(frozen=True)
class Decision:
    """One study's screening decision."""

    status: str
    reason: str | None = None


@dataclass
class PrismaCounts:
    """PRISMA-style counts of a studyset's screening.

    ``identified`` studies are the members; ``duplicates`` those excluded as duplicates;
    ``screened`` the rest; ``excluded`` counts the other exclusions by reason; ``included``
    is what a meta-analysis uses (``pending`` of them not screened yet).
    """

    identified: int = 0
    duplicates: int = 0
    screened: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    included: int = 0
    pending: int = 0

    @property
    def excluded_total(self) -> int:
        """All exclusions after removing duplicates."""
        return sum(self.excluded.values())


def decisions_of(state: dict[str, Any]) -> dict[str, Decision]:
    """The decisions stored in a studyset state; malformed entries (metadata is free for
    API clients to write) are read as no decision."""
    metadata = state.get("metadata") or {}
    stored = metadata.get(KEY) if isinstance(metadata, dict) else None
    decisions = stored.get("decisions") if isinstance(stored, dict) else None
    out: dict[str, Decision] = {}
    for study_id, item in (decisions or {}).items() if isinstance(decisions, dict) else ():
        if not isinstance(item, dict):
            continue
        status, reason = item.get("status"), item.get("reason")
        if status == INCLUDED:
            out[study_id] = Decision(INCLUDED)
        elif status == EXCLUDED and isinstance(reason, str) and reason.strip():
            out[study_id] = Decision(EXCLUDED, reason.strip())
    return out


def included_ids(state: dict[str, Any]) -> list[str]:
    """The members of a studyset state that are not excluded, in the studyset's order."""
    decisions = decisions_of(state)
    return [i for i in state["studies"]
            if (d := decisions.get(i)) is None or d.status != EXCLUDED]


def counts(state: dict[str, Any]) -> PrismaCounts:
    """The PRISMA-style counts of a studyset state."""
    decisions = decisions_of(state)
    members = state["studies"]
    out = PrismaCounts(identified=len(members))
    reasons: Counter[str] = Counter()
    for study_id in members:
        decision = decisions.get(study_id)
        if decision is None:
            out.pending += 1
            out.included += 1
        elif decision.status == INCLUDED:
            out.included += 1
        elif decision.reason == DUPLICATE:
            out.duplicates += 1
        else:
            reasons[decision.reason or ""] += 1
    out.screened = out.identified - out.duplicates
    out.excluded = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def decide(status: str, reason: str | None) -> Decision:
    """Check one decision: a known status, and a reason (required) to exclude.

    Raises
    ------
    Invalid
        Naming ``status`` or ``reason``.
    """
    if status not in (INCLUDED, EXCLUDED):
        raise Invalid({"status": f"must be {INCLUDED} or {EXCLUDED}, not {status!r}"})
    reason = (reason or "").strip() or None
    if status == INCLUDED:
        return Decision(INCLUDED)
    if reason is None:
        raise Invalid({"reason": "give a reason to exclude a study"})
    if len(reason) > MAX_REASON or any(ord(c) < 32 for c in reason):
        raise Invalid({"reason": f"a reason is one line of at most {MAX_REASON} characters"})
    return Decision(EXCLUDED, reason)


def with_decisions(state: dict[str, Any], study_ids: list[str], decision: Decision | None
                   ) -> dict[str, Any]:
    """The metadata of ``state`` with ``decision`` for each of ``study_ids`` (``None``
    clears theirs: not screened again).

    Raises
    ------
    Invalid
        When a study is not a member of the studyset, or none is given.
    """
    if not study_ids:
        raise Invalid({"studies": "select at least one study"})
    members = set(state["studies"])
    strangers = [i for i in study_ids if i not in members]
    if strangers:
        raise Invalid({"studies": f"not in this studyset: {', '.join(strangers[:5])}"})
    metadata = dict(state.get("metadata") or {})
    kept = {i: {"status": d.status, "reason": d.reason}
            for i, d in decisions_of(state).items()}
    for study_id in study_ids:
        if decision is None:
            kept.pop(study_id, None)
        else:
            kept[study_id] = {"status": decision.status, "reason": decision.reason}
    stored = metadata.get(KEY) if isinstance(metadata.get(KEY), dict) else {}
    metadata[KEY] = {**stored, "decisions": kept}
    return metadata
