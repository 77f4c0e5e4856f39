"""Shared shape of the estimators: public ``fit`` around a private ``_fit``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..corrections import cluster_level_p, fwe_montecarlo_maps
from ..errors import MetaAnalysisInputError
from ..inputs import CoordinateInputs
from ..mask import Mask
from ..montecarlo import DEFAULT_CACHE, MonteCarloDesign
from ..nulls import ApproximateNull
from ..results import REFERENCE_IMPLEMENTATION, MetaResult, software_text
from ..stats import nlogp_to_logp, null_to_p, nullhist_to_p, p_to_z

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import NDArray
    from scipy import sparse

    from ..corrections import Correction, MonteCarloFWE
    from ..kernels import Kernel
    from ..nulls import MonteCarloNull


class FittedModel:
    """What corrections need from a fit: maps, mask and the means to simulate nulls.

    Attributes
    ----------
    maps : dict
        Uncorrected maps (masked arrays).
    mask : Mask
        Analysis mask.
    null_distributions : dict
        Null distributions used so far; corrections add theirs.
    tested : numpy.ndarray or None
        Boolean, the voxels where a test was made (None: all of them); the others are
        left out of the corrections' counts of tests.
    fdr_indep_level : str
        Inserted before ``_corr-FDR_method-indep`` in the names of Benjamini-Hochberg maps
        (NiMARE names MKDA chi-square's ``..._level-voxel_corr-FDR_method-indep``).
    """

    fdr_indep_level = ""

    def __init__(
        self, maps: dict[str, np.ndarray], mask: Mask, tested: NDArray[np.bool_] | None = None
    ) -> None:
        self.maps = maps
        self.mask = mask
        self.null_distributions = {}
        self.tested = tested

    def correct_fwe_montecarlo(
        self, correction: MonteCarloFWE
    ) -> tuple[dict[str, NDArray[np.float32]], str]:
        """Return Monte Carlo FWE maps; estimators that support it override this."""
        raise MetaAnalysisInputError(
            f"corrections: {type(self).__name__} does not support Monte Carlo FWE correction"
        )


class Estimator:
    """Base estimator: ``fit(inputs) -> MetaResult``.

    Parameters
    ----------
    corrections : sequence, optional
        Correction objects applied in order after the fit (e.g. ``FDRCorrection()``,
        ``MonteCarloFWE(n_iters=1000, seed=0)``).
    mask : Mask, optional
        Analysis mask; the MNI152 2 mm brain mask by default.
    """

    name = "estimator"
    citations = ()

    def __init__(self, *, corrections: Iterable[Correction] = (), mask: Mask | None = None) -> None:
        self.corrections = tuple(corrections)
        self.mask = mask

    def _mask(self) -> Mask:
        return self.mask if self.mask is not None else Mask.default()

    def params(self) -> dict[str, str | float | None]:
        """Return the estimator's parameters."""
        return {"estimator": self.name}

    def _result(
        self, model: FittedModel, description: str, citations: Iterable[str]
    ) -> MetaResult:
        """Apply the corrections to ``model`` and wrap everything in a MetaResult.

        The methods paragraph is ``description`` (what was fitted to what), the mask, each
        correction's sentences (or that nothing was corrected), the software that ran and
        how its maps compare with the reference implementation's.
        """
        maps = dict(model.maps)
        texts = [description, f"The analysis was restricted to {model.mask.description()}."]
        citations = list(citations)
        corrections = []
        for correction in self.corrections:
            new_maps, text = correction.apply(model)
            maps.update(new_maps)
            texts.append(text)
            corrections.append({"correction": type(correction).__name__, **_fields(correction)})
            citations += list(getattr(correction, "citations", ()))
        if not self.corrections:
            texts.append("No correction for multiple comparisons was applied: every p-value "
                         "and z-value of this analysis is uncorrected.")
        texts += [software_text(), self.equivalence()]
        params = {**self.params(), "corrections": corrections}
        return MetaResult(
            self.name,
            model.mask,
            maps,
            " ".join(texts),
            citations + ["salo2023"],
            params,
            model.null_distributions,
        )

    def _random_parts(self) -> list[str]:
        """What of this analysis draws random numbers (Monte Carlo or permutation nulls)."""
        return [c.draws for c in self.corrections if getattr(c, "draws", None)]

    def equivalence(self) -> str:
        """Return how this estimator's maps compare with the reference implementation's."""
        text = (
            f"Its maps are numerically equivalent to those of {REFERENCE_IMPLEMENTATION} (Salo "
            "et al., 2023), the reference implementation that this engine reproduces and is "
            "tested against (to within 1e-6); NiMARE itself was not run."
        )
        random = self._random_parts()
        if random:
            parts = random[0] if len(random) == 1 else ", ".join(random[:-1]) + " and " + random[-1]
            text += (
                f" The random draws of {parts} are this engine's own (seeded, so a run is "
                "repeatable): those results agree with NiMARE's statistically, not draw for "
                "draw."
            )
        return text


def _fields(obj: object) -> dict[str, int | float | str | bool | None]:
    """Return an object's public, plainly representable attributes."""
    return {
        key: value
        for key, value in vars(obj).items()
        if not key.startswith("_") and isinstance(value, int | float | str | bool | type(None))
    }


class CBMAFit(FittedModel):
    """A fitted one-group CBMA model (ALE, MKDA density, KDA)."""

    def __init__(
        self,
        maps: dict[str, np.ndarray],
        mask: Mask,
        design: MonteCarloDesign,
        bins: np.ndarray,
        null_hist: NDArray[np.float64],
    ) -> None:
        super().__init__(maps, mask)
        self.design = design
        self.bins = bins
        self.null_distributions["histweights_corr-none"] = null_hist
        self.null_distributions["histogram_bins"] = bins

    def threshold_for_p(self, p: float) -> float:
        """Return the statistic whose uncorrected upper tail first falls to ``p``."""
        weights = self.null_distributions["histweights_corr-none"].astype(np.float64)
        tail = np.cumsum(weights[::-1])[::-1]
        tail /= tail[0]
        below = np.flatnonzero(tail <= p)
        if below.size == 0:
            return float(self.bins[-1])
        return float(self.bins[max(0, below[0] - 1)])

    def correct_fwe_montecarlo(
        self, correction: MonteCarloFWE
    ) -> tuple[dict[str, NDArray[np.float32]], str]:
        """Return voxel- and cluster-level FWE maps from the design's Monte Carlo null."""
        threshold = self.threshold_for_p(correction.voxel_thresh)
        cache = DEFAULT_CACHE if correction.cache is None else correction.cache
        null = self.design.maxima(correction.n_iters, correction.seed, threshold, cache)
        stat = self.maps["stat"]
        volume = self.mask.unmask(stat.astype(np.float64))
        p_size, p_mass = cluster_level_p(volume, threshold, self.mask, null)
        self.null_distributions.update(
            {
                "values_level-voxel_corr-fwe_method-montecarlo": null.stat,
                "values_desc-size_level-cluster_corr-fwe_method-montecarlo": null.size,
                "values_desc-mass_level-cluster_corr-fwe_method-montecarlo": null.mass,
            }
        )
        maps = fwe_montecarlo_maps("", null_to_p(stat, null.stat), p_size, p_mass)
        return maps, correction.description(threshold)


class CBMAEstimator(Estimator):
    """One-group coordinate-based estimator.

    Parameters
    ----------
    kernel : Kernel, optional
        Kernel object; each estimator has its own default.
    null : ApproximateNull or MonteCarloNull, optional
        Null model for uncorrected p-values (approximate by default).
    corrections : sequence, optional
        Corrections applied after the fit.
    mask : Mask, optional
        Analysis mask.
    """

    mode = None

    def __init__(
        self,
        kernel: Kernel | None = None,
        null: ApproximateNull | MonteCarloNull | None = None,
        *,
        corrections: Iterable[Correction] = (),
        mask: Mask | None = None,
    ) -> None:
        super().__init__(corrections=corrections, mask=mask)
        self.kernel = kernel if kernel is not None else self._default_kernel()
        self.null = null if null is not None else ApproximateNull()

    def _default_kernel(self) -> Kernel:
        raise NotImplementedError

    def params(self) -> dict[str, str | float | None]:
        """Return estimator, kernel and null parameters."""
        return {"estimator": self.name, **self.kernel.params(), **self.null.params()}

    def fit(self, inputs: CoordinateInputs) -> MetaResult:
        """Fit the estimator to coordinates.

        Parameters
        ----------
        inputs : CoordinateInputs
            Foci grouped by experiment.

        Returns
        -------
        MetaResult
        """
        if not isinstance(inputs, CoordinateInputs):
            raise MetaAnalysisInputError(
                f"inputs: {self.name} needs CoordinateInputs, got {type(inputs).__name__}"
            )
        model = self._fit(inputs, self._mask())
        citations = (*self.citations, *self.kernel.citations, *self.null.citations)
        return self._result(model, self._description(inputs), citations)

    def _random_parts(self) -> list[str]:
        own = [self.null.draws] if self.null.draws else []
        return own + super()._random_parts()

    def _weights(self, inputs: CoordinateInputs) -> NDArray[np.float64]:
        return np.ones(inputs.n_experiments)

    def design(self, inputs: CoordinateInputs, mask: Mask) -> MonteCarloDesign:
        """Return the Monte Carlo design of these inputs (it ignores where foci are)."""
        supports, support_index = self.kernel.null_supports(inputs, mask)
        return MonteCarloDesign(
            self.mode,
            supports,
            support_index,
            inputs.foci_per_experiment,
            self._weights(inputs),
            mask,
        )

    def _fit(self, inputs: CoordinateInputs, mask: Mask) -> CBMAFit:
        ma = self.kernel.ma_maps(inputs, mask)
        stat = self.summary_stat(ma)
        bins = self.bin_centers(ma, inputs)
        design = self.design(inputs, mask)
        null_hist = self.null.histogram(self, ma, bins, design)
        model = CBMAFit({}, mask, design, bins, null_hist)
        p = nullhist_to_p(stat, null_hist, bins)
        model.maps.update(
            {
                "stat": stat,
                "p": p.astype(np.float32),
                "z": p_to_z(p).astype(np.float32),
                "logp": nlogp_to_logp(np.log(p)),
            }
        )
        return model

    def summary_stat(self, ma: sparse.csr_matrix) -> np.ndarray:
        """Return the summary statistic of MA maps, one value per voxel."""
        raise NotImplementedError

    def bin_centers(self, ma: sparse.csr_matrix, inputs: CoordinateInputs) -> np.ndarray:
        """Return the bin centres of the null histogram."""
        raise NotImplementedError

    def approximate_histogram(
        self, ma: sparse.csr_matrix, bins: np.ndarray
    ) -> NDArray[np.float64]:
        """Return the approximate null histogram over ``bins``."""
        raise NotImplementedError

    def _description(self, inputs: CoordinateInputs) -> str:
        raise NotImplementedError


def participants_text(inputs: CoordinateInputs) -> str:
    """Return ", with a total of N participants" (or of those reporting one), or ""."""
    sizes = np.asarray(inputs.sample_sizes, dtype=np.float64)
    known = np.isfinite(sizes)
    if not known.any():
        return ""
    total = float(sizes[known].sum())
    total_text = f"{total:,.0f}" if total.is_integer() else f"{total:,.1f}"
    if known.all():
        return f", with a total of {total_text} participants"
    return (f", with {total_text} participants in the {int(known.sum())} experiments that "
            "report a sample size")
