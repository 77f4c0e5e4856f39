"""NeuroQuery's text features: term counts of texts, and their tf-idf weights.

What ``neuroquery.tokenization.TextVectorizer.transform`` does to a text: the package's
tokenizer finds the vocabulary's phrases (lower case, NLTK stop words dropped, longest
phrase first) and counts them; the raw counts (no log or sublinear tf) are multiplied by
``idf = 1 - ln(df)``, where ``df`` is the fraction of documents holding the term, and each
row is scaled to unit l2 norm. Unlike scikit-learn's ``TfidfTransformer`` there is no
smoothing. The vectorizer reads ``df`` from the vocabulary file's second column; the
release's vocabulary files are plain term lists, for which it takes ``df = 1`` (no
weighting). Here ``df`` is computed from the counts themselves, unless given.

The package's default ``add_unigrams=True`` (a phrase's count also counts for each of its
words) is not used: ``NeuroQueryModel.from_data_dir`` reloads a model with
``add_unigrams=False``, so a saved model can only weigh queries that way.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from neuroquery.tokenization import TextVectorizer
from scipy import sparse
from sklearn.preprocessing import normalize

from .errors import TermsInputError


class TextFeatures(NamedTuple):
    """Features of texts: tf-idf weights, the terms of their columns, and raw counts.

    Attributes
    ----------
    tfidf : scipy.sparse.csr_matrix of float64, shape (n_texts, n_terms)
        Rows of unit l2 norm (all zero for a text with no known term).
    terms : list of str
        The vectorizer's vocabulary: the file's terms standardised (lower case, stop words
        dropped), de-duplicated and sorted.
    counts : scipy.sparse.csr_matrix of int64, shape (n_texts, n_terms)
        How many times each text holds each term.
    """

    tfidf: sparse.csr_matrix
    terms: list[str]
    counts: sparse.csr_matrix


def document_frequencies(counts: sparse.spmatrix | np.ndarray) -> np.ndarray:
    """Return the fraction of rows (documents) holding each column (term).

    A term no document holds gets ``1 / n_documents``, as if one did: its idf must be
    finite, since a query may still contain it.

    Raises
    ------
    TermsInputError
        If ``counts`` has no row.
    """
    counts = sparse.csr_matrix(counts)
    if counts.shape[0] == 0:
        raise TermsInputError("counts: no document")
    held = np.bincount(counts.indices[counts.data > 0], minlength=counts.shape[1])
    return np.maximum(held, 1) / counts.shape[0]


def _check_counts(counts: sparse.spmatrix | np.ndarray) -> sparse.csr_matrix:
    if not (sparse.issparse(counts) or isinstance(counts, np.ndarray)) or counts.ndim != 2:
        raise TermsInputError("counts: expected a 2-d sparse matrix or array (studies x terms)")
    counts = sparse.csr_matrix(counts, dtype=np.float64)
    if not np.isfinite(counts.data).all() or (counts.data < 0).any():
        raise TermsInputError("counts: a count is negative, NaN or infinite")
    return counts


def tfidf_from_counts(
    counts: sparse.spmatrix | np.ndarray,
    *,
    frequencies: np.ndarray | None = None,
) -> sparse.csr_matrix:
    """Weigh term counts as ``TextVectorizer`` does: ``counts * (1 - ln(df))``, l2 rows.

    Parameters
    ----------
    counts : scipy sparse matrix or numpy.ndarray, shape (n_documents, n_terms)
        Non-negative term counts, such as the release's ``type-count`` features.
    frequencies : numpy.ndarray, optional
        Document frequency of each term, a fraction in (0, 1] (e.g. a corpus' for new
        texts); default: :func:`document_frequencies` of ``counts``.

    Returns
    -------
    scipy.sparse.csr_matrix of float64
        Rows of unit l2 norm; a row with no count stays zero.

    Raises
    ------
    TermsInputError
        If a count is negative or not finite, or ``frequencies`` does not fit.
    """
    counts = _check_counts(counts)
    if frequencies is None:
        frequencies = document_frequencies(counts)
    frequencies = np.asarray(frequencies, dtype=np.float64)
    if frequencies.shape != (counts.shape[1],):
        raise TermsInputError(
            f"frequencies: expected {counts.shape[1]} values, got shape {frequencies.shape}"
        )
    if not ((frequencies > 0) & (frequencies <= 1)).all():
        raise TermsInputError("frequencies: a document frequency is outside (0, 1]")
    weighted = counts @ sparse.diags(1.0 - np.log(frequencies), format="csr")
    return sparse.csr_matrix(normalize(weighted, norm="l2", copy=False))


def term_counter(vocabulary_file: str | os.PathLike) -> TextVectorizer:
    """Return the package's vectorizer of a vocabulary file, set to count terms.

    Parameters
    ----------
    vocabulary_file : str or path
        One term a line (NeuroQuery's and Neurosynth's ``*_vocabulary.txt``), or the
        package's ``vocabulary.csv`` (term, document frequency).

    Raises
    ------
    TermsInputError
        If the file cannot be read or holds no term.
    """
    try:
        with warnings.catch_warnings():
            # The package warns that an empty vocabulary mapping is the only one supported.
            warnings.simplefilter("ignore", UserWarning)
            counter = TextVectorizer.from_vocabulary_file(
                os.fspath(vocabulary_file),
                voc_mapping={},
                use_idf=False,
                norm=None,
                add_unigrams=False,
            )
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise TermsInputError(f"vocabulary_file: cannot read {vocabulary_file}: {error}") from None
    if not counter.get_vocabulary():
        raise TermsInputError(f"vocabulary_file: {vocabulary_file} holds no term")
    return counter.fit()


def vectorize_texts(
    texts: Sequence[str],
    vocabulary_file: str | os.PathLike,
    *,
    frequencies: np.ndarray | None = None,
) -> TextFeatures:
    """Count a vocabulary's terms in texts with NeuroQuery's tokenizer, and weigh them.

    Phrase extraction and standardisation are the package's (``TextVectorizer``). A plain
    term list carries no document frequencies (the package would weigh every term 1), so
    the idf comes from the given texts themselves, unless ``frequencies`` is given.

    Parameters
    ----------
    texts : sequence of str
        One document each (e.g. titles or abstracts).
    vocabulary_file : str or path
        See :func:`term_counter`.
    frequencies : numpy.ndarray, optional
        Document frequency of each term of the returned vocabulary (see
        :func:`tfidf_from_counts`); default: from ``texts``.

    Returns
    -------
    TextFeatures

    Raises
    ------
    TermsInputError
        If there is no text, a text is not a string, or the vocabulary is unreadable.
    """
    if isinstance(texts, str):
        raise TermsInputError("texts: expected a sequence of texts, got one string")
    texts = list(texts)
    if not texts:
        raise TermsInputError("texts: no text")
    if not all(isinstance(text, str) for text in texts):
        raise TermsInputError("texts: every text must be a string")
    counter = term_counter(vocabulary_file)
    counts = sparse.csr_matrix(counter.transform(texts), dtype=np.int64)
    return TextFeatures(
        tfidf_from_counts(counts, frequencies=frequencies), counter.get_vocabulary(), counts
    )
