"""Term expressions: grammar, selections and errors, on the subset's real vocabulary."""

import functools
import re

import numpy as np
import pytest
from scipy import sparse

from analysis.terms import ExpressionError, TermsInputError, TermWeights
from analysis.terms.expressions import And, Not, Or, Term


@pytest.fixture(scope="module")
def column(weights):
    return lambda term: weights.term_selection(weights.vocabulary.find(term))


def _term(weights, name):
    return Term(name, weights.vocabulary.find(name))


def test_precedence_not_over_and_over_or(weights):
    node = weights.parse("activations or 12 AND not Able")
    term = functools.partial(_term, weights)
    assert node == Or((term("activations"), And((term("12"), Not(term("able"))))))


def test_parentheses_and_phrases(weights):
    term = functools.partial(_term, weights)
    assert weights.parse("(12 healthy OR 'acquisition') and NOT (10)") == And((
        Or((term("12 healthy"), term("acquisition"))),
        Not(term("10")),
    ))
    assert weights.parse('"12 healthy"') == weights.parse("12   healthy")


def test_selections_combine_the_terms(weights, column):
    np.testing.assert_array_equal(
        weights.select("activations AND NOT acquisition"),
        column("activations") & ~column("acquisition"),
    )
    np.testing.assert_array_equal(
        weights.select("(12 OR able) AND activations"),
        (column("12") | column("able")) & column("activations"),
    )
    assert weights.select("activations").sum() == 8


def test_indicator_rows_are_the_term_selections(weights, column):
    indicator = weights.indicator()
    assert indicator.shape == (len(weights.terms), len(weights.study_ids))
    for index, term in enumerate(weights.terms):
        np.testing.assert_array_equal(indicator[index].toarray().ravel(), column(term))
    # Asking again gives the same (the weights are not changed by it).
    assert (weights.indicator() != indicator).nnz == 0


def test_threshold_is_inclusive():
    weights = TermWeights.from_matrix(sparse.csr_matrix([[0.001], [0.0009], [0.5]]),
                                      ["a", "b", "c"], ["pain"])
    np.testing.assert_array_equal(weights.select("pain"), [True, False, True])
    np.testing.assert_array_equal(weights.select("pain", threshold=0.1), [False, False, True])
    with pytest.raises(TermsInputError, match="threshold"):
        weights.select("pain", threshold=0)


@pytest.mark.parametrize(("text", "message", "position"), [
    ("", "empty expression", 0),
    ("activatoins", "unknown term 'activatoins'; did you mean 'activations'", 0),
    ("12 AND acquisition activations", "unknown term 'acquisition activations'; join", 7),
    ("activations AND", "expected a term or '(', found the end", 15),
    ("(12 OR able", "missing ')' for the '(' at 0", 11),
    ("12 OR able)", "unmatched ')'", 10),
    ("NOT", "expected a term or '(', found the end", 3),
    ("12 'able", "unterminated quote", 3),
    ("12 'able'", "expected AND, OR or the end after a term, found 'able'", 3),
    ("AND 12", "expected a term or '(', found 'AND'", 0),
])
def test_errors_name_the_token_and_position(weights, text, message, position):
    with pytest.raises(ExpressionError, match=re.escape(message)) as raised:
        weights.parse(text)
    assert raised.value.position == position


def test_case_insensitive_terms_unless_ambiguous():
    weights = TermWeights.from_matrix(sparse.csr_matrix(np.ones((1, 3))), ["s"],
                                      ["Pain", "fMRI", "FMRI"])
    assert weights.parse("pain") == Term("Pain", 0)
    assert weights.parse("FMRI") == Term("FMRI", 2)
    with pytest.raises(ExpressionError, match="unknown term 'fmri'"):
        weights.parse("fmri")


def test_inconsistent_weights_are_refused():
    with pytest.raises(TermsInputError, match="does not match"):
        TermWeights.from_matrix(sparse.csr_matrix(np.ones((2, 2))), ["a"], ["x", "y"])
    with pytest.raises(TermsInputError, match="repeated term"):
        TermWeights.from_matrix(sparse.csr_matrix(np.ones((1, 2))), ["a"], ["x", "x"])
    with pytest.raises(TermsInputError, match="no term weights"):
        TermWeights.from_matrix(sparse.csr_matrix(np.ones((1, 1))), ["a"], ["x"]).reindex(["b"])
