"""Meta-analysis engine: coordinate- and image-based estimators, nulls and corrections.

A pure library (numpy, scipy, nibabel, pymare, numba); it imports nothing else from the
project.
"""

from .corrections import BonferroniCorrection, FDRCorrection, MonteCarloFWE
from .errors import MetaAnalysisInputError
from .estimators.ale import ALE
from .estimators.chi2 import MKDAChi2
from .estimators.ibma import (
    DerSimonianLaird,
    Fishers,
    Hedges,
    PermutedOLS,
    SampleSizeBasedLikelihood,
    Stouffers,
    VarianceBasedLikelihood,
    WeightedLeastSquares,
)
from .estimators.mkda import KDA, MKDADensity
from .estimators.subtraction import ALESubtraction
from .inputs import CoordinateInputs, ImageInputs
from .kernels import ALEKernel, KDAKernel, MKDAKernel
from .mask import Mask
from .montecarlo import NullCache
from .nulls import ApproximateNull, MonteCarloNull
from .results import MetaResult

__all__ = [
    "ALE",
    "ALEKernel",
    "ALESubtraction",
    "ApproximateNull",
    "BonferroniCorrection",
    "CoordinateInputs",
    "DerSimonianLaird",
    "FDRCorrection",
    "Fishers",
    "Hedges",
    "ImageInputs",
    "KDA",
    "KDAKernel",
    "MKDAChi2",
    "MKDADensity",
    "MKDAKernel",
    "Mask",
    "MetaAnalysisInputError",
    "MetaResult",
    "MonteCarloFWE",
    "MonteCarloNull",
    "NullCache",
    "PermutedOLS",
    "SampleSizeBasedLikelihood",
    "Stouffers",
    "VarianceBasedLikelihood",
    "WeightedLeastSquares",
]
