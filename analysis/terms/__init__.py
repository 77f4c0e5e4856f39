"""Term-based meta-analysis and decoding (Neurosynth's methods, as NiMARE computes them).

A pure library on top of :mod:`analysis.meta` (numpy, scipy, nibabel); it imports nothing
else from the project. The pieces:

- :class:`TermWeights`: studies x terms weights, each term's selection of studies
  (weight >= threshold) and boolean expressions of terms (``pain AND NOT itch``);
- :class:`ActivationMatrix`: which studies activate which voxels (MKDA kernel), built once;
- :func:`term_maps` / :func:`selection_maps`: MKDA chi-square maps of every term, or of one
  selection, equal to NiMARE's ``MKDAChi2`` with ``FDRCorrector("indep")``;
- :class:`TermMapMatrix`: continuous decoding (NiMARE's ``CorrelationDecoder``);
- :func:`neurosynth_decode`, :func:`brainmap_decode`: discrete decoding of the studies with
  foci in a region (:func:`studies_in_mask`, :func:`studies_near`).
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

__all__ = [
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
    "brainmap_decode",
    "masked_values",
    "neurosynth_decode",
    "selection_maps",
    "studies_in_mask",
    "studies_near",
    "term_maps",
]
