"""Permutation-based image meta-analysis: PermutedOLS (least squares with sign flips)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pymare

from ..results import REFERENCE_IMPLEMENTATION
from ..stats import nlogp_to_z
from .ibma import IBMAEstimator

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from numpy.typing import NDArray

    from ..corrections import Correction
    from ..inputs import ImageInputs
    from ..mask import Mask


class PermutedOLS(IBMAEstimator):
    """Intercept-only least squares on betas, with sign-flipping permutation p-values.

    The model is PyMARE's weighted least squares with unit weights (the ordinary
    least-squares mean); PyMARE's permutation test flips the experiments' signs (exactly,
    over all 2^k patterns, when 2^k <= ``n_perm``) and two-sided p-values are returned with
    the signed z-values they correspond to. PyMARE draws from NumPy's global generator, so
    it is seeded with ``seed`` for the call and its state restored afterwards.

    Parameters
    ----------
    n_perm : int, optional
        Number of sign flips.
    seed : int, optional
        Seed of the sign flips.
    corrections, mask : see :class:`IBMAEstimator`
    """

    name = "PermutedOLS"
    citations = ("nichols2002",)
    inputs_needed = ("beta",)

    def __init__(
        self,
        n_perm: int = 1000,
        seed: int = 0,
        *,
        corrections: Iterable[Correction] = (),
        mask: Mask | None = None,
    ) -> None:
        super().__init__(corrections=corrections, mask=mask)
        self.n_perm = n_perm
        self.seed = seed
        self.method_text = (
            "the ordinary least-squares mean of the betas, with two-sided p-values from "
            "sign-flipping permutations (Nichols and Holmes, 2002): "
            f"{n_perm:,} random sign flips of the experiments (seed {seed}), or every sign "
            "pattern once where there are no more patterns than that,"
        )

    def equivalence(self) -> str:
        """Return that NiMARE's estimator of this name fits another model."""
        return (
            f"{REFERENCE_IMPLEMENTATION} (Salo et al., 2023), the reference implementation "
            "of this engine's other estimators, fits a different model under this name (a "
            "parametric test with a sign-flip family-wise null), so these maps are not "
            "comparable with its output beyond the degrees of freedom; the sign flips are "
            "drawn from NumPy's generator seeded as stated."
        )

    def params(self) -> dict[str, str | float | None]:
        """Return the estimator's parameters."""
        return {"estimator": self.name, "n_perm": self.n_perm, "seed": self.seed}

    def _fit(
        self,
        inputs: ImageInputs,
        arrays: Sequence[NDArray[np.float64]],
        keep: NDArray[np.bool_],
    ) -> dict[str, NDArray[np.float32]]:
        (beta,) = arrays
        estimator = pymare.estimators.WeightedLeastSquares()
        estimator.fit_dataset(pymare.Dataset(y=beta, v=np.ones_like(beta)))
        summary = estimator.summary()
        state = np.random.get_state()
        np.random.seed(self.seed)
        try:
            permuted = summary.permutation_test(n_perm=self.n_perm)
        finally:
            np.random.set_state(state)
        stats = summary.get_fe_stats()
        p = np.asarray(permuted.perm_p["fe_p"], dtype=np.float64).ravel()
        z = np.sign(np.ravel(stats["est"])) * nlogp_to_z(np.log(p), two_sided=True)
        dof = np.full(p.size, beta.shape[0] - 1.0)
        return self._maps(keep, z, p, np.log(p), est=stats["est"], se=stats["se"], dof=dof)
