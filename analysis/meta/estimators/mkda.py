"""Multilevel kernel density analysis (MKDA density) and kernel density analysis (KDA)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._simulate import MODE_KDA, MODE_MKDA
from ..histograms import kda_bin_centers, kda_null_histogram, mkda_null_histogram
from ..kernels import KDAKernel, MKDAKernel
from .base import CBMAEstimator, participants_text

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from scipy import sparse

    from ..inputs import CoordinateInputs


class MKDADensity(CBMAEstimator):
    """MKDA density: the number of experiments with a focus within r mm (Wager et al., 2007).

    Parameters
    ----------
    kernel : MKDAKernel, optional
        Default: 10 mm spheres of value 1.
    null : ApproximateNull or MonteCarloNull, optional
        Uncorrected null (the approximate null is exact here: a Poisson-binomial count).
    corrections : sequence, optional
        Corrections applied after the fit.
    mask : Mask, optional
        Analysis mask.
    """

    name = "MKDADensity"
    mode = MODE_MKDA
    citations = ("wager2007",)

    def _default_kernel(self) -> MKDAKernel:
        return MKDAKernel()

    def summary_stat(self, ma: sparse.csr_matrix) -> NDArray[np.float64]:
        """Return the (unit-weighted) sum of the experiments' indicator maps."""
        return np.asarray(ma.sum(axis=0), dtype=np.float64).ravel()

    def bin_centers(self, ma: sparse.csr_matrix, inputs: CoordinateInputs) -> NDArray[np.int64]:
        """Return the integer grid 0..n_experiments."""
        return np.arange(ma.shape[0] + 1)

    def approximate_histogram(
        self, ma: sparse.csr_matrix, bins: np.ndarray
    ) -> NDArray[np.float64]:
        """Return the exact Poisson-binomial null of the count."""
        return mkda_null_histogram(ma)

    def _description(self, inputs: CoordinateInputs) -> str:
        return (
            "A multilevel kernel density analysis (MKDA; Wager et al., 2007) was performed on "
            f"{inputs.n_foci:,} foci from {inputs.n_experiments:,} experiments"
            f"{participants_text(inputs)}. {self.kernel.description(inputs)} "
            f"{self.null.description()}"
        )


class KDA(CBMAEstimator):
    """Kernel density analysis: the sum of all spheres (Wager et al., 2004).

    Parameters
    ----------
    kernel : KDAKernel, optional
        Default: 10 mm spheres of value 1, summed.
    null : ApproximateNull or MonteCarloNull, optional
        Uncorrected null.
    corrections : sequence, optional
        Corrections applied after the fit.
    mask : Mask, optional
        Analysis mask.
    """

    name = "KDA"
    mode = MODE_KDA
    citations = ("wager2004",)

    def _default_kernel(self) -> KDAKernel:
        return KDAKernel()

    def summary_stat(self, ma: sparse.csr_matrix) -> NDArray[np.float32]:
        """Return the sum of MA values over experiments."""
        return np.asarray(ma.sum(axis=0)).ravel()

    def bin_centers(
        self, ma: sparse.csr_matrix, inputs: CoordinateInputs
    ) -> NDArray[np.float64]:
        """Return multiples of the sphere value up to the largest attainable sum."""
        return kda_bin_centers(inputs, self.kernel.value)

    def approximate_histogram(
        self, ma: sparse.csr_matrix, bins: np.ndarray
    ) -> NDArray[np.float64]:
        """Return the approximate null of the sum."""
        return kda_null_histogram(ma, bins)

    def _description(self, inputs: CoordinateInputs) -> str:
        return (
            "A kernel density analysis (KDA; Wager et al., 2004) was performed on "
            f"{inputs.n_foci:,} foci from {inputs.n_experiments:,} experiments"
            f"{participants_text(inputs)}. {self.kernel.description(inputs)} "
            f"{self.null.description()}"
        )
