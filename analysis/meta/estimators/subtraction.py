"""ALE subtraction: the difference of two groups' ALE maps, against label permutations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._permute import ale_difference, ale_difference_null, log_totals, logs_by_voxel
from ..corrections import fwe_montecarlo_maps
from ..histograms import ale_bin_centers, ale_null_histogram
from ..kernels import ALEKernel
from ..stats import clip_p, nlogp_to_logp, nlogp_to_z, null_to_p, nullhist_to_p, p_to_z
from .ale import ale_values
from .pairwise import PairwiseCBMAEstimator, PairwiseFit, groups_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import NDArray
    from scipy import sparse

    from ..corrections import Correction, MonteCarloFWE
    from ..inputs import CoordinateInputs
    from ..mask import Mask

DIFF = "desc-group1MinusGroup2"
VOXEL_NULL = "values_level-voxel_corr-fwe_method-montecarlo"


def ale_group_maps(ma: sparse.csr_matrix, label: str) -> dict[str, NDArray[np.float32]]:
    """Return one group's ALE maps (stat, p, z, logp; approximate null), named for it."""
    stat = ale_values(ma)
    bins = ale_bin_centers(ma)
    p = nullhist_to_p(stat, ale_null_histogram(ma, bins), bins)
    return {
        f"stat_desc-{label}": stat,
        f"p_desc-{label}": p.astype(np.float32),
        f"z_desc-{label}": p_to_z(p).astype(np.float32),
        f"logp_desc-{label}": nlogp_to_logp(np.log(p)),
    }


class SubtractionFit(PairwiseFit):
    """A fitted ALE subtraction: its permutation null can be re-drawn for FWE correction."""

    def __init__(
        self, maps: dict[str, np.ndarray], mask: Mask, pooled: sparse.csr_matrix, n_group1: int
    ) -> None:
        super().__init__(maps, mask, pooled, n_group1)
        self.diff = maps[f"stat_{DIFF}"]
        self.by_voxel = logs_by_voxel(pooled)
        self.total = log_totals(self.by_voxel[0], self.by_voxel[2])
        # The observed difference as the permutation loop computes it, so that ties are
        # exact (a float32 map compared with float64 sums would break them at random).
        self.observed = ale_difference(n_group1, pooled.shape[0], *self.by_voxel, self.total)
        self._drawn = {}

    def permute(
        self, n_iters: int, seed: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Return (upper counts, lower counts, max |difference|) of a permutation null.

        Results are kept, so a correction with the fit's ``n_iters`` and ``seed`` reuses
        the fit's permutations.
        """
        key = (int(n_iters), int(seed))
        if key not in self._drawn:
            self._drawn[key] = ale_difference_null(
                self.permutations(n_iters, seed),
                self.n_group1,
                *self.by_voxel,
                self.total,
                self.observed,
            )
        return self._drawn[key]

    def correct_fwe_montecarlo(
        self, correction: MonteCarloFWE
    ) -> tuple[dict[str, NDArray[np.float32]], str]:
        """Return voxel-level FWE maps from the permutation null of the largest |difference|.

        Cluster-level inference is not offered for the subtraction (as in NiMARE's default).
        The null depends on the observed experiments, so ``correction.cache`` is not used.
        """
        _, _, max_abs = self.permute(correction.n_iters, correction.seed)
        self.null_distributions[VOXEL_NULL] = max_abs
        sign = np.sign(self.maps[f"z_{DIFF}"])
        p = null_to_p(np.abs(self.diff), max_abs)
        maps = fwe_montecarlo_maps("group1MinusGroup2", p, None, None, sign=sign)
        text = (
            "Family-wise error (FWE) of the difference was controlled at the voxel level with "
            f"a label-permutation procedure of {correction.n_iters} iterations (seed "
            f"{correction.seed}): each absolute difference was compared with the largest "
            "absolute difference of every iteration's random relabelling."
        )
        return maps, text


class ALESubtraction(PairwiseCBMAEstimator):
    """ALE subtraction (Laird et al., 2005; Eickhoff et al., 2012), two-sided everywhere.

    The statistic is ALE(group 1) - ALE(group 2) at every in-mask voxel. Its null comes
    from ``n_iters`` random relabellings of the pooled experiments into groups of the
    original sizes: p is twice the smaller tail fraction (bounded to [1/n_iters,
    1 - 1/n_iters]) and z is two-sided, signed by the direction of the difference. Each
    group's own ALE maps (approximate null) are returned too, as ``*_desc-group1`` and
    ``*_desc-group2``.

    A relabelling that leaves the experiments covering a voxel in their observed groups
    reproduces the observed difference exactly, and counts as at least as extreme in both
    tails (a tie). NiMARE 0.22.1 compares float64 permutation differences with its float32
    observed map, which breaks such ties by rounding: about half of the voxels covered by a
    single experiment get its smallest p-value there. The p-values here agree with NiMARE's
    where ties are rare (voxels covered by several experiments), and not at those voxels.

    Parameters
    ----------
    kernel : ALEKernel, optional
        Default: FWHM from each experiment's sample size.
    n_iters : int, optional
        Number of relabellings.
    seed : int, optional
        Seed of the relabellings; the same seed gives the same output.
    corrections : sequence, optional
        Corrections applied after the fit (``MonteCarloFWE`` gives voxel-level FWE maps).
    mask : Mask, optional
        Analysis mask.
    """

    name = "ALESubtraction"
    citations = ("laird2005", "eickhoff2012")

    def __init__(
        self,
        kernel: ALEKernel | None = None,
        n_iters: int = 5000,
        seed: int = 0,
        *,
        corrections: Iterable[Correction] = (),
        mask: Mask | None = None,
    ) -> None:
        super().__init__(kernel, corrections=corrections, mask=mask)
        self.n_iters = int(n_iters)
        self.seed = seed

    def _default_kernel(self) -> ALEKernel:
        return ALEKernel()

    def params(self) -> dict[str, str | float | None]:
        """Return estimator, kernel and permutation parameters."""
        return {**super().params(), "n_iters": self.n_iters, "seed": self.seed}

    def _fit(self, ma1: sparse.csr_matrix, ma2: sparse.csr_matrix, mask: Mask) -> SubtractionFit:
        maps = {**ale_group_maps(ma1, "group1"), **ale_group_maps(ma2, "group2")}
        maps[f"stat_{DIFF}"] = maps["stat_desc-group1"] - maps["stat_desc-group2"]
        model = SubtractionFit(maps, mask, self.pool(ma1, ma2), ma1.shape[0])
        upper, lower, max_abs = model.permute(self.n_iters, self.seed)
        model.null_distributions[VOXEL_NULL] = max_abs
        floor = 1.0 / self.n_iters
        p = 2.0 * np.minimum(upper, lower) / self.n_iters
        p = clip_p(np.clip(p, floor, 1.0 - floor))
        nlogp = np.log(p.astype(np.float64))
        sign = np.sign(lower - upper)
        maps.update(
            {
                f"p_{DIFF}": p,
                f"z_{DIFF}": (nlogp_to_z(nlogp, two_sided=True) * sign).astype(np.float32),
                f"logp_{DIFF}": nlogp_to_logp(nlogp),
            }
        )
        return model

    def _random_parts(self) -> list[str]:
        return ["the permutation p-values of the difference", *super()._random_parts()]

    def equivalence(self) -> str:
        """Return how the maps compare with NiMARE's, and where its p-values differ (ties)."""
        return super().equivalence() + (
            " A relabelling that reproduces the observed difference counts here as a tie in "
            "both tails; NiMARE 0.22.1 breaks such ties by float32 rounding, so p-values "
            "differ from its own at voxels covered by a single experiment."
        )

    def _description(self, inputs1: CoordinateInputs, inputs2: CoordinateInputs) -> str:
        return (
            "An activation likelihood estimation (ALE) subtraction analysis (Laird et al., "
            "2005; Eickhoff et al., 2012) compared two groups of experiments. "
            f"{groups_text(inputs1, inputs2)} {self.kernel.description(inputs1, inputs2)} "
            "ALE maps of the two groups were subtracted at every in-mask voxel, and the "
            "differences were compared, two-sided, with those of "
            f"{self.n_iters} random relabellings (seed {self.seed}) of the pooled experiments "
            "into groups of the original sizes (the null is not assumed symmetric)."
        )
