"""Compiled loop that stamps kernel supports around foci into sparse MA maps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:
    from typing import TypeVar

    from numpy.typing import NDArray

    _Scalar = TypeVar("_Scalar", bound=np.generic)


@numba.njit(cache=True)
def _grow(array: NDArray[_Scalar], size: int) -> NDArray[_Scalar]:
    out = np.empty(max(size, 2 * array.size), dtype=array.dtype)
    out[: array.size] = array
    return out


@numba.njit(cache=True)
def stamp_experiments(
    ijk: NDArray[np.int64],
    foci_counts: NDArray[np.int64],
    support_index: NDArray[np.int64],
    offsets: NDArray[np.int32],
    values: NDArray[np.float32],
    starts: NDArray[np.int64],
    shape: NDArray[np.int64],
    flat_to_masked: NDArray[np.int32],
    combine: int,
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]:
    """Stamp each experiment's foci and return its MA map in CSR parts.

    Parameters
    ----------
    ijk : int64 array (n_foci, 3)
        Voxel index of each focus, experiments contiguous and in order.
    foci_counts : int64 array (n_experiments,)
        Number of foci per experiment.
    support_index : int64 array (n_experiments,)
        Which support each experiment uses.
    offsets, values : arrays (n_total, 3) int32 and (n_total,) float32
        All supports, concatenated; support ``s`` spans ``starts[s]:starts[s + 1]``.
    starts : int64 array
        Support boundaries.
    shape : int64 array (3,)
        Grid shape.
    flat_to_masked : int32 array
        Flat grid index to masked index (-1 outside the mask).
    combine : int
        0: maximum within an experiment; 1: sum.

    Returns
    -------
    indptr, indices, data : arrays of a CSR matrix
        A row's column indices are in the order its voxels were first stamped, not sorted:
        sorting cost more than all the stamping, and nothing downstream needs it (sums
        over experiments still add rows in row order, so they are unchanged).
    """
    n_exp = foci_counts.size
    n_vox = 0
    for m in flat_to_masked:
        if m >= 0:
            n_vox += 1
    scratch = np.zeros(n_vox, dtype=np.float32)
    touched = np.empty(n_vox, dtype=np.int32)
    indptr = np.zeros(n_exp + 1, dtype=np.int64)
    indices = np.empty(1024, dtype=np.int32)
    data = np.empty(1024, dtype=np.float32)
    stride_x = shape[1] * shape[2]
    stride_y = shape[2]
    focus = 0
    for e in range(n_exp):
        n_touched = 0
        s = support_index[e]
        for _ in range(foci_counts[e]):
            fi, fj, fk = ijk[focus, 0], ijk[focus, 1], ijk[focus, 2]
            focus += 1
            for k in range(starts[s], starts[s + 1]):
                x = fi + offsets[k, 0]
                y = fj + offsets[k, 1]
                z = fk + offsets[k, 2]
                if x < 0 or y < 0 or z < 0 or x >= shape[0] or y >= shape[1] or z >= shape[2]:
                    continue
                m = flat_to_masked[x * stride_x + y * stride_y + z]
                if m < 0:
                    continue
                v = values[k]
                if scratch[m] == 0:
                    touched[n_touched] = m
                    n_touched += 1
                if combine == 1:
                    scratch[m] += v
                elif v > scratch[m]:
                    scratch[m] = v
        start = indptr[e]
        if start + n_touched > indices.size:
            indices = _grow(indices, start + n_touched)
            data = _grow(data, start + n_touched)
        for i in range(n_touched):
            m = touched[i]
            indices[start + i] = m
            data[start + i] = scratch[m]
            scratch[m] = 0
        indptr[e + 1] = start + n_touched
    return indptr, indices[: indptr[n_exp]].copy(), data[: indptr[n_exp]].copy()
