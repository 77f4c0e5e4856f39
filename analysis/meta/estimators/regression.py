"""Image-based meta-regressions through PyMARE: weighted least squares, DerSimonian-Laird,
Hedges and the two likelihood estimators, on the voxels :mod:`.ibma` keeps (see there)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pymare

from ..inputs import ImageInputs
from .ibma import IBMAEstimator, blockwise

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from numpy.typing import NDArray
    from pymare.estimators.estimators import BaseEstimator

    from ..corrections import Correction
    from ..mask import Mask

#: How each likelihood method is named in the methods paragraph.
_LIKELIHOOD = {"ml": "maximum likelihood", "reml": "restricted maximum likelihood"}


class _Regression(IBMAEstimator):
    inputs_needed = ("beta", "varcope")

    #: Estimated variance components mapped between ``se`` and ``dof``, as NiMARE maps them.
    variance_maps = ()

    def _estimator(self) -> BaseEstimator:
        raise NotImplementedError

    def _dataset(
        self, inputs: ImageInputs, arrays: Sequence[NDArray[np.float64]]
    ) -> pymare.Dataset:
        beta, varcope = arrays
        return pymare.Dataset(y=beta, v=varcope)

    def _fit(
        self,
        inputs: ImageInputs,
        arrays: Sequence[NDArray[np.float64]],
        keep: NDArray[np.bool_],
    ) -> dict[str, NDArray[np.float32]]:
        n_experiments = arrays[0].shape[0]

        def fit(*blocks: NDArray[np.float64]) -> tuple[np.ndarray, ...]:
            estimator = self._estimator()
            estimator.fit_dataset(self._dataset(inputs, blocks))
            summary = estimator.summary()
            stats = summary.get_fe_stats()
            variances = [
                summary.tau2 if name == "tau2" else estimator.params_[name]
                for name in self.variance_maps
            ]
            # PyMARE's degrees of freedom where it refers z to a t distribution
            # (Knapp-Hartung: experiments minus one); NiMARE falls back on the same count
            # where PyMARE uses a normal reference.
            dof = summary.fe_dof
            if dof is None:
                dof = np.full(blocks[0].shape[1], n_experiments - 1.0)
            return (*(stats[k] for k in ("z", "p", "logp", "est", "se")), *variances, dof)

        z, p, logp, est, se, *variances, dof = blockwise(fit, arrays)
        named = dict(zip(self.variance_maps, variances, strict=True))
        return self._maps(keep, z, p, logp, est=est, se=se, **named, dof=dof)


class WeightedLeastSquares(_Regression):
    """Weighted least squares with a fixed between-study variance ``tau2`` (default 0)."""

    name = "WeightedLeastSquares"
    citations = ("hedges1985",)
    method_text = "weighted least squares (Hedges and Olkin, 1985)"

    def __init__(
        self, tau2: float = 0.0, *, corrections: Iterable[Correction] = (), mask: Mask | None = None
    ) -> None:
        super().__init__(corrections=corrections, mask=mask)
        self.tau2 = tau2
        self.method_text = (f"weighted least squares (Hedges and Olkin, 1985) with a fixed "
                            f"between-study variance tau^2 = {tau2:g}")

    def params(self) -> dict[str, str | float | None]:
        """Return the estimator's parameters."""
        return {"estimator": self.name, "tau2": self.tau2}

    def _estimator(self) -> pymare.estimators.WeightedLeastSquares:
        return pymare.estimators.WeightedLeastSquares(tau2=self.tau2)


class DerSimonianLaird(_Regression):
    """Random-effects meta-analysis with the DerSimonian-Laird tau^2 estimator."""

    name = "DerSimonianLaird"
    citations = ("dersimonian1986",)
    method_text = ("a random-effects model with the DerSimonian-Laird estimate of tau^2 "
                   "(DerSimonian and Laird, 1986)")
    variance_maps = ("tau2",)

    def _estimator(self) -> pymare.estimators.DerSimonianLaird:
        return pymare.estimators.DerSimonianLaird()


class Hedges(_Regression):
    """Random-effects meta-analysis with the Hedges tau^2 estimator."""

    name = "Hedges"
    citations = ("hedges1985",)
    method_text = ("a random-effects model with the Hedges estimate of tau^2 (Hedges and "
                   "Olkin, 1985)")
    variance_maps = ("tau2",)

    def _estimator(self) -> pymare.estimators.Hedges:
        return pymare.estimators.Hedges()


class _Likelihood(_Regression):
    """Likelihood-based random-effects models: fitted by ``method`` from the betas and
    :attr:`source`."""

    citations = ("hedges1985",)
    #: What the model is fitted from besides the betas, for the methods paragraph.
    source = ""

    def __init__(
        self,
        method: str = "ml",
        *,
        corrections: Iterable[Correction] = (),
        mask: Mask | None = None,
    ) -> None:
        super().__init__(corrections=corrections, mask=mask)
        self.method = method
        self.method_text = (f"a random-effects model fitted by {_LIKELIHOOD[method]} from the "
                            f"betas and {self.source} (Hedges and Olkin, 1985)")

    def params(self) -> dict[str, str | float | None]:
        """Return the estimator's parameters."""
        return {"estimator": self.name, "method": self.method}


class VarianceBasedLikelihood(_Likelihood):
    """Likelihood-based random-effects model from betas and their variances.

    Parameters
    ----------
    method : {"ml", "reml"}
        Maximum or restricted maximum likelihood.
    corrections, mask : see :class:`IBMAEstimator`
    """

    name = "VarianceBasedLikelihood"
    source = "their variances"
    variance_maps = ("tau2",)

    def _estimator(self) -> pymare.estimators.VarianceBasedLikelihoodEstimator:
        return pymare.estimators.VarianceBasedLikelihoodEstimator(method=self.method)


class SampleSizeBasedLikelihood(_Likelihood):
    """Likelihood-based random-effects model from betas and sample sizes (no variances).

    Parameters
    ----------
    method : {"ml", "reml"}
        Maximum or restricted maximum likelihood.
    corrections, mask : see :class:`IBMAEstimator`
    """

    name = "SampleSizeBasedLikelihood"
    source = "the sample sizes"
    inputs_needed = ("beta",)
    variance_maps = ("tau2", "sigma2")
    _needs_sample_sizes = True

    def _estimator(self) -> pymare.estimators.SampleSizeBasedLikelihoodEstimator:
        return pymare.estimators.SampleSizeBasedLikelihoodEstimator(method=self.method)

    def _dataset(
        self, inputs: ImageInputs, arrays: Sequence[NDArray[np.float64]]
    ) -> pymare.Dataset:
        (beta,) = arrays
        # Laid out as NiMARE lays it out (the transpose of one row per voxel): the numerical
        # optimisation lands a few digits differently on a C-ordered copy.
        n = np.tile(inputs.sample_sizes, (beta.shape[1], 1)).T
        return pymare.Dataset(y=beta, n=n)
