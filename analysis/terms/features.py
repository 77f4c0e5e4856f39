"""Term weights of studies (tf-idf values or counts) and the studies each term selects."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse

from .errors import TermsInputError
from .expressions import Node, parse
from .vocabulary import Vocabulary

#: Neurosynth's (and NiMARE's) default: a study is about a term when its weight reaches this.
DEFAULT_THRESHOLD = 0.001


def _check_threshold(threshold: float) -> float:
    # Studies absent from a sparse column have weight 0; a threshold <= 0 would select them
    # all, which a sparse selection cannot express and no analysis wants.
    if not (np.isfinite(threshold) and threshold > 0):
        raise TermsInputError(f"threshold: must be a positive number, got {threshold!r}")
    return float(threshold)


@dataclass(frozen=True, eq=False)
class TermWeights:
    """A studies x terms matrix of weights, with the study ids and the term names.

    Build with :meth:`from_matrix`, which validates the parts.

    Attributes
    ----------
    weights : scipy.sparse.csr_matrix
        Float64 weights, one row per study and one column per term.
    study_ids : tuple of str
        Id of each row.
    vocabulary : Vocabulary
        Name of each column.
    """

    weights: sparse.csr_matrix
    study_ids: tuple[str, ...]
    vocabulary: Vocabulary

    @classmethod
    def from_matrix(
        cls, weights: sparse.spmatrix | np.ndarray, study_ids: Sequence[str], terms: Sequence[str]
    ) -> "TermWeights":
        """Validate and wrap a weights matrix.

        Parameters
        ----------
        weights : scipy sparse matrix or numpy.ndarray
            One row per study, one column per term.
        study_ids : sequence of str
            Distinct study ids, one per row.
        terms : sequence of str
            Distinct term names, one per column.

        Returns
        -------
        TermWeights

        Raises
        ------
        TermsInputError
            If the sizes disagree, an id or a term repeats, or a weight is not finite.
        """
        matrix = sparse.csr_matrix(weights, dtype=np.float64)
        ids = tuple(str(i) for i in study_ids)
        if matrix.shape != (len(ids), len(terms)):
            raise TermsInputError(
                f"weights: shape {matrix.shape} does not match {len(ids)} study ids and "
                f"{len(terms)} terms"
            )
        if len(set(ids)) != len(ids):
            raise TermsInputError("study_ids: a study id is repeated")
        if not np.isfinite(matrix.data).all():
            raise TermsInputError("weights: a weight is NaN or infinite")
        try:
            vocabulary = Vocabulary(terms)
        except ValueError as error:
            raise TermsInputError(str(error)) from None
        return cls(matrix, ids, vocabulary)

    @property
    def terms(self) -> tuple[str, ...]:
        """Term names, in column order."""
        return self.vocabulary.terms

    @cached_property
    def _by_term(self) -> sparse.csc_matrix:
        return self.weights.tocsc()

    def reindex(self, study_ids: Sequence[str]) -> "TermWeights":
        """Return the weights with rows in the order of ``study_ids`` (e.g. an analysis').

        Raises
        ------
        TermsInputError
            If a study has no row of weights.
        """
        row = {study: index for index, study in enumerate(self.study_ids)}
        missing = [study for study in study_ids if study not in row]
        if missing:
            raise TermsInputError(
                f"study_ids: {len(missing)} study(ies) have no term weights "
                f"({', '.join(map(repr, missing[:5]))})"
            )
        rows = np.fromiter((row[study] for study in study_ids), dtype=np.int64)
        return TermWeights(self.weights[rows], tuple(study_ids), self.vocabulary)

    def indicator(self, threshold: float = DEFAULT_THRESHOLD) -> sparse.csr_matrix:
        """Return every term's selection: a boolean terms x studies CSR matrix.

        Entry (t, s) is true when study ``s`` weighs term ``t`` at least ``threshold``
        (NiMARE's ``get_studies_by_label``).
        """
        threshold = _check_threshold(threshold)
        columns = self._by_term
        selected = sparse.csc_matrix(
            (columns.data >= threshold, columns.indices.copy(), columns.indptr.copy()),
            shape=columns.shape,
        )
        selected.eliminate_zeros()
        return sparse.csr_matrix(selected.T)

    def term_selection(self, index: int, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        """Return the studies (a boolean vector over rows) term ``index`` selects."""
        threshold = _check_threshold(threshold)
        column = self._by_term
        start, stop = column.indptr[index], column.indptr[index + 1]
        selected = np.zeros(len(self.study_ids), dtype=bool)
        selected[column.indices[start:stop][column.data[start:stop] >= threshold]] = True
        return selected

    def parse(self, expression: str) -> Node:
        """Parse a term expression (see :mod:`analysis.terms.expressions`) on these terms."""
        return parse(expression, self.vocabulary)

    def select(self, expression: str, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        """Return the studies a term expression selects, as a boolean vector over rows.

        Raises
        ------
        ExpressionError
            If the expression does not parse or names an unknown term.
        """
        threshold = _check_threshold(threshold)
        return self.parse(expression).select(lambda index: self.term_selection(index, threshold))
