"""Approximate (analytic) null histograms of CBMA summary statistics.

Under spatial uniformity each experiment's MA value at a voxel is a draw from the
histogram of its MA map over the mask; the null of the summary statistic is the
combination of these independent histograms, one experiment at a time, on a fixed grid
of bin centres (Eickhoff et al., 2012). The grids and the rounding of each intermediate
result to its nearest bin follow NiMARE 0.22.1 so that p-values agree to float precision.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from scipy import sparse

    from .inputs import CoordinateInputs

ALE_INV_STEP = 100000


def ale_bin_centers(ma: sparse.csr_matrix) -> NDArray[np.float64]:
    """Return ALE null bin centres (step 1e-5) up to the largest attainable ALE value.

    Parameters
    ----------
    ma : scipy.sparse.csr_matrix
        float32 MA maps (experiments x voxels).
    """
    row_max = np.zeros(ma.shape[0], dtype=np.float32)
    for row in range(ma.shape[0]):
        start, end = ma.indptr[row], ma.indptr[row + 1]
        if end > start:
            row_max[row] = ma.data[start:end].max()
    # float32 arithmetic on purpose: the grid's length must match the reference exactly.
    row_max = np.ceil(row_max * ALE_INV_STEP) / ALE_INV_STEP
    max_ale = 1.0 - np.prod(1.0 - row_max)
    step = 1 / ALE_INV_STEP
    return np.round(np.arange(0, max_ale + (1.5 * step), step), 5)


@numba.njit(cache=True)
def _nearest_bin(value: float, inv_step: float, n_bins: int) -> int:
    scaled = value * inv_step
    floor = np.floor(scaled)
    index = int(floor) + int(scaled - floor >= 0.5)
    if index < 0:
        return 0
    if index >= n_bins:
        return n_bins - 1
    return index


@numba.njit(cache=True)
def _experiment_histogram(
    values: NDArray[np.float32], n_voxels: int, inv_step: float, n_bins: int
) -> NDArray[np.float64]:
    hist = np.zeros(n_bins)
    for value in values:
        hist[_nearest_bin(value, inv_step, n_bins)] += 1.0
    hist[0] += n_voxels - values.size
    return hist * (1.0 / n_voxels)


@numba.njit(cache=True, nogil=True)
def _shifted_axpy(
    out: NDArray[np.float64],
    out_start: int,
    src: NDArray[np.float64],
    src_start: int,
    n: int,
    factor: float,
) -> None:
    """``out[out_start:][:n] += factor * src[src_start:][:n]`` (on slices, so it vectorises)."""
    dst = out[out_start : out_start + n]
    part = src[src_start : src_start + n]
    for t in range(n):
        dst[t] += factor * part[t]


@numba.njit(cache=True, nogil=True)
def _combine_ale(
    ale: NDArray[np.float64],
    exp_bins: NDArray[np.int64],
    exp_probs: NDArray[np.float64],
    centers: NDArray[np.float64],
    inv_step: float,
    scale: int,
    low: int,
    high: int,
) -> NDArray[np.float64]:
    """Null of 1 - (1 - a)(1 - e) for a ~ ale and e over ``exp_bins``, on the grid.

    Bin ``k`` is centred on ``k / scale`` (``scale`` an even integer), so an ALE bin ``i``
    and an experiment bin ``j`` combine into ``i + j - i j / scale``, rounded to the
    nearest bin. Its fractional part is a multiple of ``1 / scale``: far from a rounding
    boundary compared with float error (about 1e-11 bins), except at exact halves. So for a
    fixed ``j`` the target bin is ``i + j - r`` with ``r = round(i j / scale)`` constant
    over runs of ``i``, and each run is one contiguous, vectorised multiply-add -- about
    six times faster than scattering pair by pair. The one ``i`` of a run that can land on
    an exact half (``i j = scale / 2 (mod scale)``, always the run's last) is placed by
    the float formula, as the reference does, so the output is bit-identical to scattering
    every pair in the same order.

    Only ALE bins ``low <= i < high`` are combined: threads (it releases the GIL) each
    take a slice of the ALE histogram and keep their reads and writes within their own
    core's cache (splitting the experiment's bins instead measured 30% slower).
    """
    n_bins = centers.size
    half = scale // 2
    out = np.zeros(n_bins)
    for e in range(exp_bins.size):
        j = exp_bins[e]
        prob = exp_probs[e]
        one_minus = 1.0 - centers[j]
        i = low
        while i < high:
            r = (i * j + half - 1) // scale
            if j == 0:
                end = high
                on_half = False
            else:
                # The first i whose rounded i j / scale exceeds r starts the next run.
                following = ((r + 1) * scale - half + 1 + j - 1) // j
                end = min(high, following)
                on_half = following <= high and ((end - 1) * j) % scale == half
            shift = j - r
            stop = end - 1 if on_half else end
            # Targets past the last bin are clamped onto it (as the reference rounds them).
            top = max(i, min(stop, n_bins - 1 - shift))
            if top > i:
                _shifted_axpy(out, i + shift, ale, i, top - i, prob)
            for t in range(top, stop):
                out[n_bins - 1] += prob * ale[t]
            if on_half:
                score = 1.0 - one_minus * (1.0 - centers[end - 1])
                out[_nearest_bin(score, inv_step, n_bins)] += prob * ale[end - 1]
            i = end
    return out


def ale_null_histogram(ma: sparse.csr_matrix, centers: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the approximate-null histogram of ALE values over ``centers``.

    Experiments are combined one at a time, in order; each combination is split over
    threads by ranges of ALE bins (the partial histograms are summed, which changes only
    the rounding of the sums where the ranges' targets overlap).

    Parameters
    ----------
    ma : scipy.sparse.csr_matrix
        float32 MA maps (experiments x voxels), experiments in analysis order.
    centers : numpy.ndarray
        Bin centres from :func:`ale_bin_centers`.

    Returns
    -------
    numpy.ndarray
    """
    inv_step = 1 / (centers[1] - centers[0])
    if round(inv_step) != ALE_INV_STEP:
        raise ValueError("ale_null_histogram: centers must be the grid of ale_bin_centers")
    n_voxels = ma.shape[1]
    n_threads = numba.get_num_threads()
    hist = None
    with ThreadPoolExecutor(n_threads) as pool:
        for row in range(ma.shape[0]):
            values = ma.data[ma.indptr[row] : ma.indptr[row + 1]]
            exp_hist = _experiment_histogram(values, n_voxels, inv_step, centers.size)
            if hist is None:
                hist = exp_hist
                continue
            bins = np.flatnonzero(exp_hist > 0)
            probs = exp_hist[bins]
            occupied = np.flatnonzero(hist > 0)
            cuts = np.linspace(occupied[0], occupied[-1] + 1, n_threads + 1).astype(np.int64)
            futures = [
                pool.submit(
                    _combine_ale, hist, bins, probs, centers, inv_step, ALE_INV_STEP, low, high
                )
                for low, high in zip(cuts[:-1], cuts[1:], strict=True)
                if high > low
            ]
            hist = sum(future.result() for future in futures)
    return hist


def mkda_null_histogram(ma: sparse.csr_matrix) -> NDArray[np.float64]:
    """Return the exact null of the count of active experiments (unit weights).

    Each experiment activates a voxel with probability equal to the fraction of the mask
    its (binary) MA map covers; the count is their Poisson-binomial sum.
    """
    coverage = np.asarray(ma.sum(axis=1)).ravel() / ma.shape[1]
    hist = np.ones(1)
    for prob in coverage:
        hist = np.convolve(hist, [1 - prob, prob])
    return hist


def kda_bin_centers(inputs: CoordinateInputs, value: float) -> NDArray[np.float64]:
    """Return KDA null bin centres: multiples of the sphere value up to its maximum."""
    max_stat = value * inputs.foci_per_experiment.sum()
    return np.arange(0, max_stat + value * 1.5, value)


def kda_null_histogram(ma: sparse.csr_matrix, centers: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the approximate null of the KDA sum of sphere counts over ``centers``."""
    step = centers[1] - centers[0]
    n_voxels = ma.shape[1]
    hist = None
    for row in range(ma.shape[0]):
        values = ma.data[ma.indptr[row] : ma.indptr[row + 1]]
        bins = np.rint(values / step).astype(np.int64)
        exp_hist = np.bincount(bins, minlength=1).astype(np.float64)
        exp_hist[0] += n_voxels - values.size
        exp_hist /= exp_hist.sum()
        hist = exp_hist if hist is None else np.convolve(hist, exp_hist)
    out = np.zeros(centers.size)
    out[: min(hist.size, centers.size)] = hist[: centers.size]
    return out
