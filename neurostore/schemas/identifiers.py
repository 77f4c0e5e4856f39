"""Normalisation of publication identifiers (pure functions).

DOIs are stored as given (their case kept) without a resolver prefix, and compared without
regard to case, as DOIs are; PMIDs as digits, PMCIDs as ``PMC`` and digits. Each function
returns ``None`` for an empty value and raises ``ValueError`` naming the problem for a
malformed one.
"""

from __future__ import annotations

import re

_DOI_PREFIXES = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_DOI = re.compile(r"^10\.\d{4,9}(?:\.\d+)*/\S+$")
_PMID = re.compile(r"^(?:pmid:\s*)?0*([1-9]\d{0,9})$", re.IGNORECASE)
_PMCID = re.compile(r"^(?:pmc)?0*([1-9]\d{0,9})$", re.IGNORECASE)
_EMPTY = {"", "n/a", "na", "none", "null"}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _EMPTY)


def normalize_doi(value: str | None) -> str | None:
    """Return the DOI without ``https://doi.org/`` or ``doi:`` prefixes, its case kept."""
    if _blank(value):
        return None
    doi = _DOI_PREFIXES.sub("", str(value).strip()).strip()
    if not _DOI.match(doi):
        raise ValueError(f"not a DOI: {value!r} (expected 10.<registrant>/<suffix>)")
    return doi


def normalize_pmid(value: str | int | None) -> str | None:
    """Return the PubMed id as a string of digits."""
    if _blank(value):
        return None
    match = _PMID.match(str(value).strip())
    if not match:
        raise ValueError(f"not a PMID: {value!r} (expected digits)")
    return match.group(1)


def normalize_pmcid(value: str | int | None) -> str | None:
    """Return the PubMed Central id as ``PMC`` followed by digits."""
    if _blank(value):
        return None
    match = _PMCID.match(str(value).strip())
    if not match:
        raise ValueError(f"not a PMCID: {value!r} (expected PMC followed by digits)")
    return f"PMC{match.group(1)}"
