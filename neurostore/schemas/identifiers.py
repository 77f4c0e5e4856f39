"""Normalisation of publication identifiers (pure functions).

DOIs are stored as given (their case kept) without a resolver prefix, and compared without
regard to case, as DOIs are; PMIDs as digits, PMCIDs as ``PMC`` and digits. Each function
returns ``None`` for an empty value and raises ``ValueError`` naming the problem for a
malformed one.
"""

from __future__ import annotations

import re

from neurostore.schemas.patterns import caseless

_EMPTY = ("", "n/a", "na", "none", "null")
_NOTHING = "|".join(caseless(word) for word in _EMPTY)
_PREFIX = "(?:[Hh][Tt][Tt][Pp][Ss]?://(?:[Dd][Xx]\\.)?[Dd][Oo][Ii]\\.[Oo][Rr][Gg]/|[Dd][Oo][Ii]:)"

#: What each identifier field accepts (an empty value or ``n/a`` stands for none), as
#: documented in the OpenAPI document and checked on every write and filter.
_DOI = "10\\.[0-9]{4,9}(?:\\.[0-9]+)*/[^\\s\\u0000]+"
DOI_PATTERN = f"^\\s*(?:{_NOTHING}|(?:{_PREFIX}\\s*)?{_DOI})\\s*$"
PMID_PATTERN = f"^\\s*(?:{_NOTHING}|(?:[Pp][Mm][Ii][Dd]:\\s*)?0*[1-9][0-9]{{0,9}})\\s*$"
PMCID_PATTERN = f"^\\s*(?:{_NOTHING}|(?:[Pp][Mm][Cc])?0*[1-9][0-9]{{0,9}})\\s*$"

_DOI_PREFIX = re.compile(f"^{_PREFIX}")
_DIGITS = re.compile("[1-9][0-9]*")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _EMPTY)


def _check(pattern: str, value: object, problem: str) -> str:
    text = str(value)
    if re.search(pattern, text) is None:
        raise ValueError(f"{problem}: {value!r}")
    return text.strip()


def normalize_doi(value: str | None) -> str | None:
    """Return the DOI without ``https://doi.org/`` or ``doi:`` prefixes, its case kept."""
    if _blank(value):
        return None
    text = _check(DOI_PATTERN, value, "not a DOI (expected 10.<registrant>/<suffix>)")
    return _DOI_PREFIX.sub("", text).strip()


def normalize_pmid(value: str | int | None) -> str | None:
    """Return the PubMed id as a string of digits."""
    if _blank(value):
        return None
    text = _check(PMID_PATTERN, value, "not a PMID (expected digits)")
    return _DIGITS.search(text).group()


def normalize_pmcid(value: str | int | None) -> str | None:
    """Return the PubMed Central id as ``PMC`` followed by digits."""
    if _blank(value):
        return None
    text = _check(PMCID_PATTERN, value, "not a PMCID (expected PMC followed by digits)")
    return f"PMC{_DIGITS.search(text).group()}"
