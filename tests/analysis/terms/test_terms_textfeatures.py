"""NeuroQuery's text features against the package's TextVectorizer, on the release's data."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from neuroquery.tokenization import TextVectorizer
from scipy import sparse

from analysis.terms import (
    TermsInputError,
    document_frequencies,
    tfidf_from_counts,
    vectorize_texts,
)
from tests.support.data import DATA

from .fixtures import NQ_VOCABULARY, neuroquery_subset

#: A word of no vocabulary and no stop word: it ends any phrase, and counts for nothing.
SEPARATOR = " qqxq "


@pytest.fixture(scope="module")
def subset():
    return neuroquery_subset()


def texts_of(counts: sparse.csr_matrix, terms: list[str]) -> list[str]:
    """Texts holding each row's terms as many times as it counts them."""
    return [
        SEPARATOR.join(
            terms[j] for j, n in zip(row.indices, row.data, strict=True) for _ in range(int(n))
        )
        for row in counts
    ]


def test_tfidf_from_counts_is_text_vectorizer_weighting(subset, tmp_path):
    # The package reads document frequencies from a vocabulary.csv (term, frequency).
    frequencies = document_frequencies(subset.counts)
    vocabulary = tmp_path / "vocabulary.csv"
    with vocabulary.open("w", newline="") as handle:
        csv.writer(handle).writerows(zip(subset.terms, frequencies, strict=True))
    vectorizer = TextVectorizer.from_vocabulary_file(
        str(vocabulary), voc_mapping={}, add_unigrams=False
    )
    expected = vectorizer.transform(texts_of(subset.counts, subset.terms))

    tfidf = tfidf_from_counts(subset.counts)

    assert tfidf.dtype == np.float64 and sparse.isspmatrix_csr(tfidf)
    assert expected.nnz == tfidf.nnz == subset.counts.nnz
    assert abs(tfidf - expected).max() < 1e-12
    norms = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
    assert np.allclose(norms[np.diff(subset.counts.indptr) > 0], 1.0)
    assert not norms[np.diff(subset.counts.indptr) == 0].any()


def test_given_frequencies_weigh_new_documents():
    counts = sparse.csr_matrix(np.array([[2, 0, 1], [0, 0, 3]]))
    frequencies = np.array([0.5, 0.1, 0.01])

    tfidf = tfidf_from_counts(counts, frequencies=frequencies).toarray()

    weighted = np.array([[2, 0, 1], [0, 0, 3]]) * (1 - np.log(frequencies))
    assert np.allclose(tfidf, weighted / np.linalg.norm(weighted, axis=1, keepdims=True))


def test_document_frequencies_give_unseen_terms_one_document():
    counts = sparse.csr_matrix(np.array([[1, 0, 0], [4, 0, 2], [0, 0, 0], [1, 0, 0]]))

    assert np.allclose(document_frequencies(counts), [3 / 4, 1 / 4, 1 / 4])


def test_vectorize_texts_counts_and_weighs_as_the_package(subset):
    features = vectorize_texts(subset.titles, NQ_VOCABULARY)

    assert features.terms == subset.terms
    counter = TextVectorizer.from_vocabulary(
        subset.terms, voc_mapping={}, use_idf=False, norm=None, add_unigrams=False
    )
    assert (features.counts != counter.transform(subset.titles)).nnz == 0
    # The idf comes from the titles themselves.
    vectorizer = TextVectorizer.from_vocabulary(
        subset.terms,
        frequencies=document_frequencies(features.counts),
        voc_mapping={},
        add_unigrams=False,
    )
    assert abs(features.tfidf - vectorizer.transform(subset.titles)).max() < 1e-12
    assert features.counts.sum() > len(subset.titles)


def test_vectorize_texts_finds_phrases_after_dropping_stop_words():
    # Stop words go before phrases are found (so "working of memory" is "working memory"),
    # a phrase's words do not count on their own, and punctuation does not end a phrase.
    features = vectorize_texts(
        ["Working memory, and the working of memory. Amygdala", "qqxq zzyz"],
        NQ_VOCABULARY,
    )

    row = features.counts[0]
    found = {features.terms[j]: int(n) for j, n in zip(row.indices, row.data, strict=True)}
    assert found == {"working memory": 2, "amygdala": 1}
    assert features.counts[1].nnz == 0 and features.tfidf[1].nnz == 0


def test_neurosynth_vocabulary_is_standardised():
    # Neurosynth's 3,228 terms, the last without a newline; five are (or reduce to) NLTK
    # stop words or another term, so the vectorizer's vocabulary has 3,223.
    vocabulary = DATA / "neurosynth" / "vocab-terms_vocabulary.txt"
    lines = vocabulary.read_text().splitlines()

    features = vectorize_texts(["Pain did not differ; reward anticipation"], vocabulary)

    assert len(lines) == 3228 and len(features.terms) == 3223
    assert lines[-1] in features.terms
    assert not {"did", "does", "just", "did differ"} & set(features.terms)
    assert features.terms == sorted(features.terms)
    found = {features.terms[j] for j in features.counts[0].indices}
    assert found == {"pain", "differ", "reward anticipation"}


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "holds no term"), ("the\nand of\n", "holds no term"), (b"\xff\xfe\x00", "cannot read")],
)
def test_bad_vocabulary_files(tmp_path, content, message):
    path = tmp_path / "vocabulary.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)

    with pytest.raises(TermsInputError, match=message):
        vectorize_texts(["pain"], path)


def test_missing_vocabulary_file(tmp_path):
    with pytest.raises(TermsInputError, match="cannot read"):
        vectorize_texts(["pain"], tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("texts", "message"),
    [("pain", "one string"), ([], "no text"), (["pain", None], "must be a string")],
)
def test_bad_texts(texts, message):
    with pytest.raises(TermsInputError, match=message):
        vectorize_texts(texts, NQ_VOCABULARY)


@pytest.mark.parametrize(
    ("counts", "frequencies", "message"),
    [
        (np.array([1.0, 2.0]), None, "2-d"),
        ([[1, 2]], None, "2-d"),
        (np.array([[1.0, -1.0]]), None, "negative"),
        (np.array([[1.0, np.nan]]), None, "NaN"),
        (np.array([[1.0, 2.0]]), np.array([0.5]), "expected 2 values"),
        (np.array([[1.0, 2.0]]), np.array([0.5, 0.0]), "outside"),
        (np.array([[1.0, 2.0]]), np.array([0.5, 1.5]), "outside"),
        (np.zeros((0, 2)), None, "no document"),
    ],
)
def test_bad_counts(counts, frequencies, message):
    with pytest.raises(TermsInputError, match=message):
        tfidf_from_counts(counts, frequencies=frequencies)
