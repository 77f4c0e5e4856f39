"""Regular expressions that both document a field (as its OpenAPI ``pattern``) and check it.

Each pattern is written in the subset shared by Python's ``re`` and ECMAScript (what
OpenAPI uses): no flags, no Python-only syntax; letters that may come in any case are
spelled as classes (``[Mm][Nn][Ii]``), since a case-insensitive flag cannot be written in a
pattern and Python's would also match a few non-ASCII letters (``ı``, ``ſ``, the Kelvin
sign) that the documented pattern does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Text PostgreSQL can store: no NUL. (Nor a lone UTF-16 surrogate, which every body is
#: checked for, but a pattern cannot name one: most regex engines, unlike ECMAScript's,
#: have no such characters and refuse the whole pattern.)
STORABLE_TEXT = "^[^\\u0000]*$"
#: Storable text with something other than white space.
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
_SPECIAL = set(".^$*+?()[]{}|\\/")


def caseless(text: str) -> str:
    """``text`` as a pattern matching it in any letter case (no anchors)."""
    out = []
    for char in text:
        if char.isascii() and char.isalpha():
            out.append(f"[{char.upper()}{char.lower()}]")
        elif char in _SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def any_word(words: Iterable[str]) -> str:
    """A pattern matching one of ``words`` in any case, with white space around it."""
    alternatives = "|".join(caseless(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))
    return f"^\\s*(?:{alternatives})\\s*$"


def matches(pattern: str, text: str) -> bool:
    """True when ``text`` matches ``pattern`` (searched, as JSON Schema does)."""
    return re.search(pattern, text) is not None
