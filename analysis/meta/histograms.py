"""Approximate (analytic) null histograms of CBMA summary statistics.

Under spatial uniformity each experiment's MA value at a voxel is a draw from the
histogram of its MA map over the mask; the null of the summary statistic is the
combination of these independent histograms, one experiment at a time, on a fixed grid
of bin centres (Eickhoff et al., 2012). The grids and the rounding of each intermediate
result to its nearest bin follow NiMARE 0.22.1 so that p-values agree to float precision.
"""

import numba
import numpy as np

ALE_INV_STEP = 100000


def ale_bin_centers(ma):
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
def _nearest_bin(value, inv_step, n_bins):
    scaled = value * inv_step
    floor = np.floor(scaled)
    index = int(floor) + int(scaled - floor >= 0.5)
    if index < 0:
        return 0
    if index >= n_bins:
        return n_bins - 1
    return index


@numba.njit(cache=True)
def _experiment_histogram(values, n_voxels, inv_step, n_bins):
    hist = np.zeros(n_bins)
    for value in values:
        hist[_nearest_bin(value, inv_step, n_bins)] += 1.0
    hist[0] += n_voxels - values.size
    return hist * (1.0 / n_voxels)


@numba.njit(cache=True, parallel=True)
def _combine_ale(ale, exp, centers, inv_step, n_chunks):
    """Null of 1 - (1 - a)(1 - e) for independent a ~ ale and e ~ exp, on the grid."""
    n_bins = centers.size
    ale_idx = np.flatnonzero(ale > 0)
    exp_idx = np.flatnonzero(exp > 0)
    partial = np.zeros((n_chunks, n_bins))
    for chunk in numba.prange(n_chunks):
        out = partial[chunk]
        for i in range(chunk, exp_idx.size, n_chunks):
            e = exp_idx[i]
            one_minus = 1.0 - centers[e]
            prob = exp[e]
            for a in ale_idx:
                score = 1.0 - one_minus * (1.0 - centers[a])
                out[_nearest_bin(score, inv_step, n_bins)] += prob * ale[a]
    return partial.sum(axis=0)


def ale_null_histogram(ma, centers):
    """Return the approximate-null histogram of ALE values over ``centers``.

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
    n_voxels = ma.shape[1]
    n_chunks = numba.get_num_threads()
    hist = None
    for row in range(ma.shape[0]):
        values = ma.data[ma.indptr[row] : ma.indptr[row + 1]]
        exp_hist = _experiment_histogram(values, n_voxels, inv_step, centers.size)
        if hist is None:
            hist = exp_hist
        else:
            hist = _combine_ale(hist, exp_hist, centers, inv_step, n_chunks)
    return hist


def mkda_null_histogram(ma):
    """Return the exact null of the count of active experiments (unit weights).

    Each experiment activates a voxel with probability equal to the fraction of the mask
    its (binary) MA map covers; the count is their Poisson-binomial sum.
    """
    coverage = np.asarray(ma.sum(axis=1)).ravel() / ma.shape[1]
    hist = np.ones(1)
    for prob in coverage:
        hist = np.convolve(hist, [1 - prob, prob])
    return hist


def kda_bin_centers(inputs, value):
    """Return KDA null bin centres: multiples of the sphere value up to its maximum."""
    max_stat = value * inputs.foci_per_experiment.sum()
    return np.arange(0, max_stat + value * 1.5, value)


def kda_null_histogram(ma, centers):
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
