"""The study x voxel activation matrix, built once and shared by every term's analysis.

With the MKDA kernel a study either activates a voxel (a focus lies within the kernel's
radius) or not, so the matrix is binary and only the active voxels of each study are kept.
On the NeuroQuery release that is 158 million (study, voxel) pairs: a scipy CSR matrix
(float32 values, int32 column indices) would take 1.26 GB. Here the voxels are split into
blocks of 65,536 so an index within its block fits in 16 bits, and no values are stored:
2 bytes a pair (316 MB).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from analysis.meta.inputs import CoordinateInputs
from analysis.meta.kernels import MKDAKernel
from analysis.meta.mask import Mask

#: Voxels per block: a voxel's offset within its block is stored as uint16.
BLOCK = 1 << 16

#: Called with (studies done, total) while the matrix is built.
Progress = Callable[[int, int], None]


def _experiments(inputs: CoordinateInputs, start: int, stop: int) -> CoordinateInputs:
    """Return the foci of experiments ``start:stop`` (foci are grouped by experiment)."""
    first, last = np.searchsorted(inputs.focus_experiment, [start, stop])
    return CoordinateInputs(
        inputs.experiment_ids[start:stop],
        inputs.xyz[first:last],
        inputs.focus_experiment[first:last] - start,
        inputs.sample_sizes[start:stop],
    )


@dataclass(frozen=True, eq=False)
class ActivationMatrix:
    """Which studies activate which voxels of a mask.

    Build with :meth:`build`. Study ``s``'s active voxels in block ``b`` are
    ``b * BLOCK + indices[bounds[s, b]:bounds[s, b + 1]]``.

    Attributes
    ----------
    study_ids : tuple of str
        Studies, in row order (the order of the inputs' experiments).
    n_voxels : int
        Number of in-mask voxels.
    indices : numpy.ndarray of uint16
        Every study's active voxels, as offsets within their block, study by study and
        block by block.
    bounds : numpy.ndarray of int64, shape (n_studies, n_blocks + 1)
        Where each study's voxels of each block start in ``indices``.
    totals : numpy.ndarray of int32, shape (n_voxels,)
        Number of studies activating each voxel.
    """

    study_ids: tuple[str, ...]
    n_voxels: int
    indices: np.ndarray
    bounds: np.ndarray
    totals: np.ndarray

    @classmethod
    def build(
        cls,
        inputs: CoordinateInputs,
        mask: Mask,
        kernel: MKDAKernel | None = None,
        *,
        batch_size: int = 512,
        progress: Progress | None = None,
    ) -> "ActivationMatrix":
        """Stamp every study's foci and keep which voxels each activates.

        Parameters
        ----------
        inputs : CoordinateInputs
            Foci of every study of the dataset (one experiment per study).
        mask : Mask
            Analysis mask.
        kernel : MKDAKernel, optional
            Default: spheres of 10 mm, as NiMARE's ``MKDAChi2``. Any value > 0 counts as
            active, so the kernel's value does not matter.
        batch_size : int, optional
            Studies stamped at a time; bounds the memory used while building.
        progress : callable, optional
            Called with (studies done, total) after each batch.

        Returns
        -------
        ActivationMatrix
        """
        kernel = kernel if kernel is not None else MKDAKernel()
        n_studies, n_voxels = inputs.n_experiments, mask.n_voxels
        block_starts = np.arange(0, n_voxels, BLOCK)
        bounds = np.empty((n_studies, block_starts.size + 1), dtype=np.int64)
        totals = np.zeros(n_voxels, dtype=np.int64)
        parts, stored = [], 0
        for start in range(0, n_studies, batch_size):
            stop = min(start + batch_size, n_studies)
            ma = kernel.ma_maps(_experiments(inputs, start, stop), mask)
            ma.eliminate_zeros()
            # Sorted rows put each study's voxels in block order, so a block is one slice.
            ma.sort_indices()
            for row in range(stop - start):
                voxels = ma.indices[ma.indptr[row] : ma.indptr[row + 1]]
                bounds[start + row, :-1] = stored + ma.indptr[row] + np.searchsorted(
                    voxels, block_starts
                )
                bounds[start + row, -1] = stored + ma.indptr[row + 1]
            totals += np.bincount(ma.indices, minlength=n_voxels)
            parts.append((ma.indices & (BLOCK - 1)).astype(np.uint16))
            stored += ma.nnz
            if progress is not None:
                progress(stop, n_studies)
        indices = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint16)
        return cls(inputs.experiment_ids, n_voxels, indices, bounds, totals.astype(np.int32))

    @property
    def n_studies(self) -> int:
        """Number of studies (rows)."""
        return len(self.study_ids)

    @cached_property
    def distinct_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the distinct values of :attr:`totals` and each voxel's index among them."""
        values, rank = np.unique(self.totals, return_inverse=True)
        return values, rank.astype(np.int64)

    @property
    def nbytes(self) -> int:
        """Memory held by the matrix's arrays, in bytes."""
        return self.indices.nbytes + self.bounds.nbytes + self.totals.nbytes

    def count(self, studies: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
        """Return how many of the given studies activate each voxel.

        The work is proportional to the number of active voxels of those studies (as a
        sparse product of a selection row with the matrix would be).

        Parameters
        ----------
        studies : numpy.ndarray of int
            Row positions of the studies, each at most once.
        batch_size : int, optional
            Studies counted at a time; bounds the temporary memory.

        Returns
        -------
        numpy.ndarray of int32, shape (n_voxels,)
        """
        counts = np.zeros(self.n_voxels, dtype=np.int32)
        studies = np.asarray(studies, dtype=np.int64)
        for block in range(self.bounds.shape[1] - 1):
            low = block * BLOCK
            width = min(BLOCK, self.n_voxels - low)
            starts, stops = self.bounds[studies, block], self.bounds[studies, block + 1]
            for first in range(0, studies.size, batch_size):
                pieces = [
                    self.indices[a:b]
                    for a, b in zip(starts[first : first + batch_size],
                                    stops[first : first + batch_size], strict=True)
                ]
                if pieces:
                    counts[low : low + width] += np.bincount(
                        np.concatenate(pieces), minlength=width
                    ).astype(np.int32)
        return counts
