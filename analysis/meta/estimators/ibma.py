"""Image-based meta-analysis (IBMA) through PyMARE.

Images are masked once (a boolean index, no per-image resampling); voxels where any
experiment has a non-finite or zero value, or a variance NiMARE would not use, are left
out, and the remaining voxels are fitted by PyMARE estimators in vectorised calls over
blocks of voxels, on several threads.

The combination tests and the regressions return NiMARE 0.22.1's maps: ``z``, ``p``,
``logp`` and ``dof`` (degrees of freedom of the test), plus ``est`` and ``se`` for the
regressions and ``tau2`` (and ``sigma2``) where the model estimates them. Voxels left out
are 0 in every map but ``p`` (1) where NiMARE has NaN, and corrections count only the
voxels fitted, as NiMARE counts only its non-NaN ones.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import pymare

from ..errors import MetaAnalysisInputError
from ..inputs import ImageInputs
from ..stats import nlogp_to_logp
from .base import Estimator, FittedModel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from numpy.typing import ArrayLike, NDArray
    from pymare.estimators.combination import CombinationTest

    from ..corrections import Correction
    from ..mask import Mask
    from ..results import MetaResult

def _usable(*arrays: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Voxels where every experiment has a finite, non-zero value in every array."""
    keep = np.ones(arrays[0].shape[1], dtype=bool)
    for array in arrays:
        keep &= np.all(np.isfinite(array) & (array != 0), axis=0)
    return keep


#: Smallest usable variance, NiMARE's: smaller ones (and non-positive ones) would give
#: infinite or negative weights, so NiMARE blanks them.
_MIN_VARCOPE = 1.0 / np.sqrt(np.finfo(np.float32).max)


#: Voxels per PyMARE call: blocks whose arrays stay in cache (one call over the whole
#: brain measured about 2.5 times slower than 16k-voxel blocks on one thread).
_BLOCK_VOXELS = 16384


def blockwise(
    fit: Callable[..., Iterable[ArrayLike]], arrays: Sequence[NDArray[np.float64]]
) -> tuple[np.ndarray, ...]:
    """Apply ``fit`` to blocks of voxels (columns) on threads; join its outputs by voxel.

    Every model fitted here is intercept-only and voxel-wise, so a block's results do not
    depend on the other voxels: the joined outputs are those of one call on all voxels.
    NumPy releases the GIL in the heavy operations, so blocks run in parallel.

    Parameters
    ----------
    fit : callable
        ``fit(*blocks) -> tuple of arrays`` each with one value per voxel of the block.
    arrays : list of numpy.ndarray
        (n_experiments, n_voxels) arrays, cut into the same column blocks.

    Returns
    -------
    tuple of numpy.ndarray
    """
    n_voxels = arrays[0].shape[1]
    edges = list(range(0, n_voxels, _BLOCK_VOXELS)) + [n_voxels]
    spans = list(zip(edges[:-1], edges[1:], strict=True))

    def run(span: tuple[int, int]) -> list[np.ndarray]:
        return [np.ravel(out) for out in fit(*(a[:, span[0] : span[1]] for a in arrays))]

    with ThreadPoolExecutor(min(len(spans), os.cpu_count() or 1)) as pool:
        parts = list(pool.map(run, spans))
    return tuple(np.concatenate(outputs) for outputs in zip(*parts, strict=True))


def _expand(values: ArrayLike, keep: NDArray[np.bool_], fill: float) -> NDArray[np.float64]:
    out = np.full(keep.size, fill, dtype=np.float64)
    out[keep] = np.asarray(values, dtype=np.float64).ravel()
    return out


class IBMAEstimator(Estimator):
    """Base class: validates ImageInputs, fits usable voxels, returns maps.

    Parameters
    ----------
    corrections : sequence, optional
        Corrections applied after the fit (FDR, Bonferroni).
    mask : Mask, optional
        Analysis mask; must be the one the inputs were masked with.
    """

    inputs_needed = ()

    def fit(self, inputs: ImageInputs) -> MetaResult:
        """Fit the estimator to per-experiment images.

        Parameters
        ----------
        inputs : ImageInputs

        Returns
        -------
        MetaResult
        """
        if not isinstance(inputs, ImageInputs):
            raise MetaAnalysisInputError(
                f"inputs: {self.name} needs ImageInputs, got {type(inputs).__name__}"
            )
        if self.mask is not None and self.mask.fingerprint != inputs.mask.fingerprint:
            raise MetaAnalysisInputError("mask: the estimator's mask is not the inputs' mask")
        arrays = [inputs.require(name) for name in self.inputs_needed]
        if self._needs_sample_sizes and inputs.sample_sizes is None:
            raise MetaAnalysisInputError(f"sample_sizes: {self.name} needs sample sizes")
        keep = _usable(*arrays)
        if "varcope" in self.inputs_needed:
            keep &= np.all(inputs.varcope > _MIN_VARCOPE, axis=0)
        usable = arrays if keep.all() else [a[:, keep] for a in arrays]
        model = FittedModel(self._fit(inputs, usable, keep), inputs.mask, tested=keep)
        description = (
            f"An image-based meta-analysis of {arrays[0].shape[0]:,} experiments used "
            f"{self.method_text}, fitted with PyMARE {pymare.__version__} (Yarkoni et al., "
            f"2019) on the {int(keep.sum()):,} in-mask voxels where every experiment had data."
        )
        return self._result(model, description, self.citations + ("yarkoni2019",))

    _needs_sample_sizes = False
    method_text = ""

    def _maps(
        self,
        keep: NDArray[np.bool_],
        z: ArrayLike,
        p: ArrayLike,
        logp: ArrayLike,
        **more: ArrayLike,
    ) -> dict[str, NDArray[np.float32]]:
        """Return the full-length maps: z, p, logp, then ``more`` (est, se, tau2, dof, ...)."""
        maps = {
            "z": _expand(z, keep, 0.0).astype(np.float32),
            "p": _expand(p, keep, 1.0).astype(np.float32),
            "logp": nlogp_to_logp(_expand(logp, keep, 0.0)),
        }
        for name, values in more.items():
            maps[name] = _expand(values, keep, 0.0).astype(np.float32)
        return maps


class _CombinationTest(IBMAEstimator):
    """A combination of z maps, two-sided by default as in NiMARE 0.22.1.

    Two-sided is PyMARE's "concordant" mode: the combination is run once on the z-values
    and once on their negatives, the smaller of the two one-sided p-values is doubled
    (capped at 1), and z is the normal quantile of half that p, signed by the direction
    that won, so ``|z|`` is the one-sided statistic of that direction. One-sided is
    PyMARE's "directed" mode: the alternative is a positive effect, p is the upper tail and
    z its normal quantile (negative where the evidence points the other way).

    Parameters
    ----------
    two_sided : bool, optional
        Test for an effect in either direction (default) or only a positive one.
    corrections, mask : see :class:`IBMAEstimator`
    """

    inputs_needed = ("z",)
    test_text = ""

    def __init__(
        self,
        two_sided: bool = True,
        *,
        corrections: Iterable[Correction] = (),
        mask: Mask | None = None,
    ) -> None:
        super().__init__(corrections=corrections, mask=mask)
        self.two_sided = two_sided

    def params(self) -> dict[str, str | float | None]:
        """Return the estimator's parameters."""
        return {"estimator": self.name, "two_sided": self.two_sided}

    @property
    def method_text(self) -> str:
        """The test, as the methods paragraph names it."""
        side = ("two-sided (an effect in either direction)" if self.two_sided
                else "one-sided (a positive effect)")
        return f"{self.test_text}, {side}"

    def _mode(self) -> str:
        return "concordant" if self.two_sided else "directed"

    def _pymare(self, inputs: ImageInputs, z: NDArray[np.float64]) -> CombinationTest:
        raise NotImplementedError

    def _fit(
        self,
        inputs: ImageInputs,
        arrays: Sequence[NDArray[np.float64]],
        keep: NDArray[np.bool_],
    ) -> dict[str, NDArray[np.float32]]:
        def fit(z: NDArray[np.float64]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            summary = self._pymare(inputs, z).summary()
            return summary.z, summary.p, summary.logp

        z, p, logp = blockwise(fit, arrays)
        # No group of dependent images is ever formed here, so NiMARE's degrees of freedom
        # (independent groups minus one) are the experiments minus one.
        dof = np.full(z.size, arrays[0].shape[0] - 1.0)
        return self._maps(keep, z, p, logp, dof=dof)


class Fishers(_CombinationTest):
    """Fisher's combination of z maps.

    Parameters
    ----------
    two_sided : bool, optional
        Test for an effect in either direction (default, as NiMARE) or only a positive one;
        see :class:`_CombinationTest`.
    corrections, mask : see :class:`IBMAEstimator`
    """

    name = "Fishers"
    citations = ("fisher1925",)
    test_text = "Fisher's combined probability test (Fisher, 1925)"

    def _pymare(self, inputs: ImageInputs, z: NDArray[np.float64]) -> CombinationTest:
        return pymare.estimators.FisherCombinationTest(mode=self._mode()).fit(z=z)


class Stouffers(_CombinationTest):
    """Stouffer's combination of z maps, optionally weighted by the square root of n.

    Parameters
    ----------
    use_sample_size : bool, optional
        Weight each experiment by sqrt(sample size).
    two_sided : bool, optional
        Test for an effect in either direction (default, as NiMARE) or only a positive one;
        see :class:`_CombinationTest`.
    corrections, mask : see :class:`IBMAEstimator`
    """

    name = "Stouffers"
    citations = ("stouffer1949",)

    def __init__(
        self,
        use_sample_size: bool = False,
        two_sided: bool = True,
        *,
        corrections: Iterable[Correction] = (),
        mask: Mask | None = None,
    ) -> None:
        super().__init__(two_sided, corrections=corrections, mask=mask)
        self.use_sample_size = use_sample_size
        self._needs_sample_sizes = use_sample_size
        self.test_text = "Stouffer's method (Stouffer et al., 1949)" + (
            " weighted by the square root of sample size" if use_sample_size else ""
        )

    def params(self) -> dict[str, str | float | None]:
        """Return the estimator's parameters."""
        return {**super().params(), "use_sample_size": self.use_sample_size}

    def _pymare(self, inputs: ImageInputs, z: NDArray[np.float64]) -> CombinationTest:
        estimator = pymare.estimators.StoufferCombinationTest(mode=self._mode())
        if self.use_sample_size:
            return estimator.fit(z=z, w=np.sqrt(inputs.sample_sizes)[:, None])
        return estimator.fit(z=z)
