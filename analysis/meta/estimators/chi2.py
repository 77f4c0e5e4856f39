"""MKDA chi-square: uniformity of each group and association between activation and group."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from .._permute import chi2_null
from ..corrections import cluster_level_p, fwe_montecarlo_maps
from ..kernels import MKDAKernel
from ..montecarlo import NullMaxima
from ..stats import (
    chi2_to_nlogp,
    clip_p,
    nlogp_to_logp,
    null_to_p,
    one_way_chi2,
    two_way_chi2,
)
from .pairwise import PairwiseCBMAEstimator, PairwiseFit, groups_text, padded_geometry

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from numpy.typing import NDArray
    from scipy import sparse

    from ..corrections import Correction, MonteCarloFWE
    from ..inputs import CoordinateInputs
    from ..mask import Mask

#: Statistic of each chi-square map and the NiMARE name of its null distributions.
TESTS = (("uniformity", "pAgF"), ("group2", "group2"), ("association", "pFgA"))


def chi2_test_maps(
    desc: str, chi2: NDArray[np.float64], sign: NDArray[np.float64]
) -> dict[str, NDArray[np.float32]]:
    """Return the chi2, p, z and logp maps of one chi-square test."""
    nlogp = chi2_to_nlogp(chi2)
    return {
        f"chi2_desc-{desc}": chi2.astype(np.float32),
        f"p_desc-{desc}": clip_p(np.exp(nlogp)),
        f"z_desc-{desc}": (np.sqrt(chi2) * sign).astype(np.float32),
        f"logp_desc-{desc}": nlogp_to_logp(nlogp),
    }


def _with_group1(maps: Mapping[str, NDArray[np.float32]]) -> dict[str, NDArray[np.float32]]:
    """Add NiMARE's ``desc-group1`` copies of the ``desc-uniformity`` maps (the same test)."""
    return {**maps, **{name.replace("desc-uniformity", "desc-group1"): value
                       for name, value in maps.items() if "desc-uniformity" in name}}


class Chi2Fit(PairwiseFit):
    """A fitted MKDA chi-square: FWE correction relabels the pooled experiments."""

    fdr_indep_level = "_level-voxel"

    def __init__(
        self,
        maps: dict[str, np.ndarray],
        mask: Mask,
        pooled: sparse.csr_matrix,
        n_group1: int,
        total: NDArray[np.float64],
    ) -> None:
        super().__init__(maps, mask, pooled, n_group1)
        self.total = total

    def correct_fwe_montecarlo(
        self, correction: MonteCarloFWE
    ) -> tuple[dict[str, NDArray[np.float32]], str]:
        """Return voxel- and cluster-level FWE maps of the three chi-square maps.

        Every iteration relabels the pooled experiments into groups of the original sizes
        and records, for each chi-square map, its maximum and its largest cluster size and
        mass above the chi-square of ``correction.voxel_thresh`` (one degree of freedom).
        This null depends on the observed experiments, not only on the design, so
        ``correction.cache`` is not used.
        """
        threshold = float(stats.chi2.isf(correction.voxel_thresh, 1))
        centers, lookup, neighbours, grid_size = padded_geometry(self.mask)
        null = chi2_null(
            self.permutations(correction.n_iters, correction.seed),
            self.n_group1,
            self.pooled.indptr,
            self.pooled.indices,
            self.pooled.data.astype(np.float64),
            self.total,
            threshold,
            centers,
            lookup,
            grid_size,
            neighbours,
            self.n_chunks,
        )
        maps = {}
        for k, (desc, key) in enumerate(TESTS):
            maxima = NullMaxima(null[:, k, 0], null[:, k, 1], null[:, k, 2])
            chi2 = self.maps[f"chi2_desc-{desc}"].astype(np.float64)
            volume = self.mask.unmask(chi2)
            p_size, p_mass = cluster_level_p(volume, threshold, self.mask, maxima)
            p_voxel = null_to_p(chi2, maxima.stat)
            sign = np.sign(self.maps[f"z_desc-{desc}"])
            maps.update(fwe_montecarlo_maps(desc, p_voxel, p_size, p_mass, sign=sign))
            suffix = "corr-fwe_method-montecarlo"
            self.null_distributions.update(
                {
                    f"values_desc-{key}_level-voxel_{suffix}": maxima.stat,
                    f"values_desc-{key}size_level-cluster_{suffix}": maxima.size,
                    f"values_desc-{key}mass_level-cluster_{suffix}": maxima.mass,
                }
            )
        text = (
            "Family-wise error (FWE) was controlled with a label-permutation procedure of "
            f"{correction.n_iters} iterations (seed {correction.seed}): each relabelled the "
            "pooled experiments at random into groups of the original sizes and recorded, for "
            "each chi-square map, the largest chi-square and the largest cluster size and "
            "mass, clusters being formed with face connectivity (6 neighbours) from the "
            f"voxels above a cluster-forming threshold of uncorrected p < "
            f"{correction.voxel_thresh:g} (a chi-square above {threshold:.4g}, one degree of "
            "freedom)."
        )
        return _with_group1(maps), text


class MKDAChi2(PairwiseCBMAEstimator):
    """MKDA chi-square analysis (Wager et al., 2007), as in Neurosynth.

    With the MKDA kernel each experiment either activates a voxel or not. Three tests are
    run at every voxel: a one-way chi-square of group 1's activation counts against their
    mean over the mask (``desc-uniformity``, also called consistency), the same for group 2
    (``desc-group2``), and a two-way chi-square of activation against group membership
    (``desc-association``, also called specificity); group 1's maps are also given as
    ``desc-group1``, as NiMARE names them. z-values are the signed square roots
    of the chi-squares (sign: above or below the mean count; for association, group 1's
    activation rate above or below group 2's). Probability maps (``prob_desc-A``, ``-AgF``,
    ``-AgU``, ``-FgA``, ``-group1`` (= ``-AgF``), ``-group2`` (= ``-AgU``) and, with a
    prior, ``-AgF_prior`` and ``-FgA_prior``) are returned too; ``prob_desc-FgA`` is NaN
    where no experiment is active.

    Parameters
    ----------
    kernel : MKDAKernel, optional
        Default: 10 mm spheres of value 1.
    prior : float or None, optional
        Uniform prior probability of group 1 for the posterior maps; None skips them.
    corrections : sequence, optional
        Corrections applied after the fit (FDR, Bonferroni, ``MonteCarloFWE``).
    mask : Mask, optional
        Analysis mask.
    """

    name = "MKDAChi2"
    citations = ("wager2007",)

    def __init__(
        self,
        kernel: MKDAKernel | None = None,
        prior: float | None = 0.5,
        *,
        corrections: Iterable[Correction] = (),
        mask: Mask | None = None,
    ) -> None:
        super().__init__(kernel, corrections=corrections, mask=mask)
        self.prior = prior

    def _default_kernel(self) -> MKDAKernel:
        return MKDAKernel()

    def params(self) -> dict[str, str | float | None]:
        """Return estimator, kernel and prior parameters."""
        return {**super().params(), "prior": self.prior}

    def _fit(self, ma1: sparse.csr_matrix, ma2: sparse.csr_matrix, mask: Mask) -> Chi2Fit:
        n1, n2 = ma1.shape[0], ma2.shape[0]
        counts1 = np.asarray(ma1.sum(axis=0), dtype=np.float64).ravel()
        counts2 = np.asarray(ma2.sum(axis=0), dtype=np.float64).ravel()
        p_a = (counts1 + counts2) / (n1 + n2)
        p_a_given_f = counts1 / n1
        p_a_given_u = counts2 / n2
        with np.errstate(divide="ignore", invalid="ignore"):
            p_f_given_a = p_a_given_f * (n1 / (n1 + n2)) / p_a
        maps = {
            "prob_desc-A": p_a,
            "prob_desc-AgF": p_a_given_f,
            "prob_desc-AgU": p_a_given_u,
            "prob_desc-FgA": p_f_given_a,
            "prob_desc-group1": p_a_given_f,
            "prob_desc-group2": p_a_given_u,
        }
        if self.prior:
            prior_a_given_f = self.prior * p_a_given_f + (1 - self.prior) * p_a_given_u
            with np.errstate(divide="ignore", invalid="ignore"):
                maps["prob_desc-FgA_prior"] = p_a_given_f * self.prior / prior_a_given_f
            maps["prob_desc-AgF_prior"] = prior_a_given_f
        maps = {name: value.astype(np.float32) for name, value in maps.items()}
        maps.update(
            chi2_test_maps(
                "uniformity", one_way_chi2(counts1, n1), np.sign(counts1 - np.mean(counts1))
            )
        )
        maps.update(
            chi2_test_maps(
                "group2", one_way_chi2(counts2, n2), np.sign(counts2 - np.mean(counts2))
            )
        )
        maps.update(
            chi2_test_maps(
                "association",
                two_way_chi2(counts1, counts2, n1, n2),
                np.sign(p_a_given_f - p_a_given_u),
            )
        )
        return Chi2Fit(_with_group1(maps), mask, self.pool(ma1, ma2), n1, counts1 + counts2)

    def _description(self, inputs1: CoordinateInputs, inputs2: CoordinateInputs) -> str:
        return (
            "A multilevel kernel density chi-square analysis (MKDA; Wager et al., 2007) was "
            f"performed as in Neurosynth. {groups_text(inputs1, inputs2)} "
            f"{self.kernel.description(inputs1, inputs2)} At every voxel, one-way chi-square "
            "tests assessed the uniformity of each group's activation over the mask, and a two-way "
            "chi-square test assessed the association between activation and group; "
            "p-values come from the chi-square distribution with one degree of freedom."
        )
