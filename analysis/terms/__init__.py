"""Term-based meta-analysis and decoding (Neurosynth's methods, as NiMARE computes them).

A pure library on top of :mod:`analysis.meta`; it imports nothing else from the project.
The pieces:

- :class:`TermWeights`: studies x terms weights, each term's selection of studies
  (weight >= threshold) and boolean expressions of terms (``pain AND NOT itch``);
- :class:`ActivationMatrix`: which studies activate which voxels (MKDA kernel), built once;
- :func:`term_maps` / :func:`selection_maps`: MKDA chi-square maps of every term, or of one
  selection, equal to NiMARE's ``MKDAChi2`` with ``FDRCorrector("indep")``;
- :class:`TermMapMatrix`: continuous decoding (NiMARE's ``CorrelationDecoder``);
- :func:`neurosynth_decode`, :func:`brainmap_decode`: discrete decoding of the studies with
  foci in a region (:func:`studies_in_mask`, :func:`studies_near`);
- NeuroQuery (with the ``neuroquery`` package): :func:`vectorize_texts` counts a
  vocabulary's terms in texts with its tokenizer and :func:`tfidf_from_counts` weighs
  counts as its ``TextVectorizer`` does; :func:`fit_text_model` fits its text-to-brain
  model, a :class:`TextModel` that predicts a z map, related terms and studies of a query.

Besides :mod:`analysis.meta`, it imports only numpy, scipy, nibabel, nilearn,
scikit-learn and ``neuroquery``.
"""

from .activation import ActivationMatrix
from .chi2maps import MAP_NAMES, TermMaps, selection_maps, term_maps
from .continuous import DEFAULT_MAP, TermMapMatrix, masked_values
from .discrete import (
    DecodingTable,
    brainmap_decode,
    neurosynth_decode,
    studies_in_mask,
    studies_near,
)
from .errors import ExpressionError, TermsInputError
from .features import DEFAULT_THRESHOLD, TermWeights
from .textfeatures import TextFeatures, document_frequencies, tfidf_from_counts, vectorize_texts
from .textmodel import DEFAULT_ALPHAS, TextModel, density_maps, fit_text_model

__all__ = [
    "DEFAULT_ALPHAS",
    "DEFAULT_MAP",
    "DEFAULT_THRESHOLD",
    "MAP_NAMES",
    "ActivationMatrix",
    "DecodingTable",
    "ExpressionError",
    "TermMapMatrix",
    "TermMaps",
    "TermWeights",
    "TermsInputError",
    "TextFeatures",
    "TextModel",
    "brainmap_decode",
    "density_maps",
    "document_frequencies",
    "fit_text_model",
    "masked_values",
    "neurosynth_decode",
    "selection_maps",
    "studies_in_mask",
    "studies_near",
    "term_maps",
    "tfidf_from_counts",
    "vectorize_texts",
]
