"""Meta-analysis engine: coordinate- and image-based estimators, nulls and corrections.

A pure library (numpy, scipy, nibabel, pymare, numba); it imports nothing else from the
project.

The public names load on first use (PEP 562): PyMARE pulls in sympy and pandas and the
estimators compile numba kernels, several seconds in all, which every command line call
and web worker that merely validates a request would otherwise pay at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "BonferroniCorrection": "corrections",
    "FDRCorrection": "corrections",
    "MonteCarloFWE": "corrections",
    "MetaAnalysisInputError": "errors",
    "ALE": "estimators.ale",
    "MKDAChi2": "estimators.chi2",
    "DerSimonianLaird": "estimators.regression",
    "Fishers": "estimators.ibma",
    "Hedges": "estimators.regression",
    "PermutedOLS": "estimators.permuted",
    "SampleSizeBasedLikelihood": "estimators.regression",
    "Stouffers": "estimators.ibma",
    "VarianceBasedLikelihood": "estimators.regression",
    "WeightedLeastSquares": "estimators.regression",
    "KDA": "estimators.mkda",
    "MKDADensity": "estimators.mkda",
    "ALESubtraction": "estimators.subtraction",
    "CoordinateInputs": "inputs",
    "ImageInputs": "inputs",
    "ALEKernel": "kernels",
    "KDAKernel": "kernels",
    "MKDAKernel": "kernels",
    "Mask": "mask",
    "NullCache": "montecarlo",
    "ApproximateNull": "nulls",
    "MonteCarloNull": "nulls",
    "MetaResult": "results",
}

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


# Any: the value is whichever public class the name loads (PEP 562).
def __getattr__(name: str) -> Any:  # noqa: ANN401
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


if TYPE_CHECKING:
    from .corrections import BonferroniCorrection, FDRCorrection, MonteCarloFWE
    from .errors import MetaAnalysisInputError
    from .estimators.ale import ALE
    from .estimators.chi2 import MKDAChi2
    from .estimators.ibma import Fishers, Stouffers
    from .estimators.mkda import KDA, MKDADensity
    from .estimators.permuted import PermutedOLS
    from .estimators.regression import (
        DerSimonianLaird,
        Hedges,
        SampleSizeBasedLikelihood,
        VarianceBasedLikelihood,
        WeightedLeastSquares,
    )
    from .estimators.subtraction import ALESubtraction
    from .inputs import CoordinateInputs, ImageInputs
    from .kernels import ALEKernel, KDAKernel, MKDAKernel
    from .mask import Mask
    from .montecarlo import NullCache
    from .nulls import ApproximateNull, MonteCarloNull
    from .results import MetaResult
