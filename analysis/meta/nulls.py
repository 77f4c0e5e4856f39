"""Null models that turn a CBMA summary statistic into uncorrected p-values.

Both produce a histogram of the statistic under spatial uniformity on the estimator's bin
grid; :func:`~analysis.meta.stats.nullhist_to_p` then reads p-values from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from scipy import sparse

    from .estimators.base import CBMAEstimator
    from .montecarlo import MonteCarloDesign


class ApproximateNull:
    """Analytic null: each experiment's MA histogram, combined experiment by experiment."""

    name = "approximate"
    citations = ("eickhoff2012",)
    draws = None

    def histogram(
        self,
        estimator: CBMAEstimator,
        ma: sparse.csr_matrix,
        bins: np.ndarray,
        design: MonteCarloDesign,
    ) -> NDArray[np.float64]:
        """Return the null histogram over ``bins`` (``design`` is not needed)."""
        return estimator.approximate_histogram(ma, bins)

    def description(self) -> str:
        """Return a sentence describing the null."""
        return (
            "Summary statistics were converted to p-values with an approximate null "
            "distribution built by combining the experiments' modeled-activation histograms "
            "(Eickhoff et al., 2012)."
        )

    def params(self) -> dict[str, str]:
        """Return the null's parameters."""
        return {"null": self.name}


@dataclass(frozen=True)
class MonteCarloNull:
    """Monte Carlo null: the statistic of ``n_iters`` datasets with uniformly random foci.

    Parameters
    ----------
    n_iters : int
        Number of random datasets.
    seed : int
        Seed; the same seed gives the same null.
    """

    n_iters: int = 1000
    seed: int = 0
    name = "montecarlo"
    citations = ()
    draws = "the Monte Carlo null"

    def histogram(
        self,
        estimator: CBMAEstimator,
        ma: sparse.csr_matrix,
        bins: np.ndarray,
        design: MonteCarloDesign,
    ) -> NDArray[np.float64]:
        """Return the pooled voxel-wise histogram of the random datasets' statistics."""
        _, hist = design.run(self.n_iters, self.seed, float("inf"), bins=bins)
        return hist.astype(float)

    def description(self) -> str:
        """Return a sentence describing the null."""
        return (
            "Summary statistics were converted to p-values with a Monte Carlo null "
            f"distribution of {self.n_iters} iterations (seed {self.seed}): in each, every "
            "focus was replaced by one drawn uniformly from the mask, and the summary "
            "statistics of all in-mask voxels were pooled."
        )

    def params(self) -> dict[str, str | int]:
        """Return the null's parameters."""
        return {"null": self.name, "n_iters": self.n_iters, "seed": self.seed}
