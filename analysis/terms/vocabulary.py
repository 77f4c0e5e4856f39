"""A vocabulary of terms, looked up as written or case-insensitively."""

import difflib
from collections.abc import Sequence


class Vocabulary:
    """Term names and their positions.

    A name is found as written, else case-insensitively when only one term has that
    lower-case form (two terms differing only by case must be written exactly).

    Parameters
    ----------
    terms : sequence of str
        Distinct term names, in column order.

    Raises
    ------
    ValueError
        If a term is repeated.
    """

    def __init__(self, terms: Sequence[str]) -> None:
        self.terms = tuple(str(term) for term in terms)
        self._exact = {term: index for index, term in enumerate(self.terms)}
        if len(self._exact) != len(self.terms):
            repeated = sorted({t for t in self.terms if self.terms.count(t) > 1})
            raise ValueError(f"terms: repeated term(s) {', '.join(map(repr, repeated[:5]))}")
        folded: dict[str, list[int]] = {}
        for index, term in enumerate(self.terms):
            folded.setdefault(term.casefold(), []).append(index)
        self._folded = {key: found[0] for key, found in folded.items() if len(found) == 1}

    def __len__(self) -> int:
        return len(self.terms)

    def find(self, name: str) -> int | None:
        """Return the position of a term, or None if it is not in the vocabulary."""
        found = self._exact.get(name)
        return found if found is not None else self._folded.get(name.casefold())

    def close_matches(self, name: str, n: int = 3) -> list[str]:
        """Return up to ``n`` terms spelled like ``name``, closest first."""
        return difflib.get_close_matches(name, self.terms, n=n, cutoff=0.75)
