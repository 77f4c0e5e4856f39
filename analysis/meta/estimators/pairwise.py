"""Shared shape of the two-group CBMA estimators (ALE subtraction, MKDA chi-square)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np
from scipy import sparse

from ..errors import MetaAnalysisInputError
from ..inputs import CoordinateInputs
from .base import Estimator, FittedModel, participants_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import NDArray

    from ..corrections import Correction
    from ..kernels import Kernel
    from ..mask import Mask
    from ..results import MetaResult


def label_permutations(n_total: int, n_iters: int, seed: int) -> NDArray[np.int32]:
    """Return ``n_iters`` seeded permutations of ``range(n_total)`` as an int32 array.

    Row ``i`` relabels the pooled experiments of permutation ``i``: its first ``n_group1``
    entries form group 1. The same seed always gives the same permutations.
    """
    rng = np.random.default_rng(seed)
    base = np.tile(np.arange(n_total, dtype=np.int32), (n_iters, 1))
    return rng.permuted(base, axis=1)


def padded_geometry(
    mask: Mask,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], int]:
    """Return the flood-fill geometry of a mask on a grid padded by one voxel.

    Returns
    -------
    centers : int64 array
        Padded flat index of each in-mask voxel, in masked order.
    lookup : int64 array
        Masked index of each padded flat index (-1 outside the mask).
    neighbours : int64 array
        Flat offsets of the six face neighbours.
    grid_size : int
        Number of voxels of the padded grid.
    """
    shape = np.asarray(mask.shape, dtype=np.int64) + 2
    strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=np.int64)
    centers = (mask.ijk.astype(np.int64) + 1) @ strides
    grid_size = int(np.prod(shape))
    lookup = np.full(grid_size, -1, dtype=np.int64)
    lookup[centers] = np.arange(centers.size)
    neighbours = np.concatenate([strides, -strides])
    return centers, lookup, neighbours, grid_size


class PairwiseFit(FittedModel):
    """What every two-group fit holds: maps, the pooled MA maps and the group sizes.

    Attributes
    ----------
    maps : dict
        Uncorrected maps (masked arrays).
    mask : Mask
        Analysis mask.
    pooled : scipy.sparse.csr_matrix
        MA maps of group 1's experiments followed by group 2's.
    n_group1 : int
        Number of experiments in group 1.
    null_distributions : dict
        Null distributions used so far.
    """

    def __init__(
        self, maps: dict[str, np.ndarray], mask: Mask, pooled: sparse.csr_matrix, n_group1: int
    ) -> None:
        super().__init__(maps, mask)
        self.pooled = pooled
        self.n_group1 = n_group1

    def permutations(self, n_iters: int, seed: int) -> NDArray[np.int32]:
        """Return the label permutations of ``n_iters`` iterations drawn from ``seed``."""
        return label_permutations(self.pooled.shape[0], n_iters, seed)

    @property
    def n_chunks(self) -> int:
        """Number of parallel chunks the compiled loops use."""
        return numba.get_num_threads()


class PairwiseCBMAEstimator(Estimator):
    """Two-group coordinate-based estimator: ``fit(inputs1, inputs2) -> MetaResult``.

    Parameters
    ----------
    kernel : Kernel, optional
        Kernel object; each estimator has its own default.
    corrections : sequence, optional
        Corrections applied after the fit.
    mask : Mask, optional
        Analysis mask.
    """

    def __init__(
        self,
        kernel: Kernel | None = None,
        *,
        corrections: Iterable[Correction] = (),
        mask: Mask | None = None,
    ) -> None:
        super().__init__(corrections=corrections, mask=mask)
        self.kernel = kernel if kernel is not None else self._default_kernel()

    def _default_kernel(self) -> Kernel:
        raise NotImplementedError

    def params(self) -> dict[str, str | float | None]:
        """Return estimator and kernel parameters."""
        return {"estimator": self.name, **self.kernel.params()}

    def fit(self, inputs1: CoordinateInputs, inputs2: CoordinateInputs) -> MetaResult:
        """Fit the estimator to two groups of experiments.

        Parameters
        ----------
        inputs1, inputs2 : CoordinateInputs
            Foci of group 1 and of group 2; no experiment may be in both.

        Returns
        -------
        MetaResult

        Raises
        ------
        MetaAnalysisInputError
            If a group is missing, is not CoordinateInputs, has no experiment, or shares an
            experiment with the other group.
        """
        for field, inputs in (("inputs1", inputs1), ("inputs2", inputs2)):
            if not isinstance(inputs, CoordinateInputs):
                raise MetaAnalysisInputError(
                    f"{field}: {self.name} needs CoordinateInputs for both groups, "
                    f"got {type(inputs).__name__}"
                )
            if inputs.n_experiments == 0:
                raise MetaAnalysisInputError(f"{field}: the group has no experiments")
        shared = sorted(set(inputs1.experiment_ids) & set(inputs2.experiment_ids))
        if shared:
            raise MetaAnalysisInputError(
                f"inputs2: {len(shared)} experiment(s) are also in group 1 "
                f"({', '.join(map(repr, shared[:10]))})"
            )
        mask = self._mask()
        ma1 = self.kernel.ma_maps(inputs1, mask)
        ma2 = self.kernel.ma_maps(inputs2, mask)
        model = self._fit(ma1, ma2, mask)
        citations = (*self.citations, *self.kernel.citations)
        return self._result(model, self._description(inputs1, inputs2), citations)

    @staticmethod
    def pool(ma1: sparse.csr_matrix, ma2: sparse.csr_matrix) -> sparse.csr_matrix:
        """Stack two groups' MA maps (group 1's rows first) into one CSR matrix."""
        return sparse.vstack([ma1, ma2], format="csr")

    def _fit(self, ma1: sparse.csr_matrix, ma2: sparse.csr_matrix, mask: Mask) -> PairwiseFit:
        raise NotImplementedError

    def _description(self, inputs1: CoordinateInputs, inputs2: CoordinateInputs) -> str:
        raise NotImplementedError


def groups_text(inputs1: CoordinateInputs, inputs2: CoordinateInputs) -> str:
    """Return a sentence giving the size of each group."""
    return (
        f"Group 1 included {inputs1.n_foci:,} foci from {inputs1.n_experiments:,} experiments"
        f"{participants_text(inputs1)}; group 2 included {inputs2.n_foci:,} foci from "
        f"{inputs2.n_experiments:,} experiments{participants_text(inputs2)}."
    )
