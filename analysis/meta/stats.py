"""Conversions between statistics, p-values, z-values and -log10(p)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

_FLOAT32_TINY = np.nextafter(np.float32(0), np.float32(1))


def round_half_away(values: ArrayLike) -> NDArray[np.int64]:
    """Round to the nearest integer, halves away from zero; return int64."""
    values = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(values)
    rounded = np.round(magnitude)
    halves = np.abs(magnitude - rounded) == 0.5
    rounded[halves] = np.ceil(magnitude[halves])
    return (np.sign(values) * rounded).astype(np.int64)


def p_to_z(p: ArrayLike) -> NDArray[np.float64]:
    """Convert one-sided p-values to non-negative z-values (computed in log space)."""
    p = np.clip(np.asarray(p, dtype=np.float64), np.finfo(np.float64).tiny, 1.0)
    return np.maximum(-special.ndtri_exp(np.log(p)), 0.0)


def nlogp_to_z(nlogp: ArrayLike, two_sided: bool = False) -> NDArray[np.float64]:
    """Convert natural-log p-values to unsigned z-values."""
    nlogp = np.asarray(nlogp, dtype=np.float64)
    if two_sided:
        return -special.ndtri_exp(nlogp - np.log(2.0)) + 0.0
    return np.maximum(-special.ndtri_exp(nlogp), 0.0)


def nlogp_to_logp(nlogp: ArrayLike) -> NDArray[np.float32]:
    """Convert natural-log p-values to float32 -log10(p), clipped to [0, float32 max]."""
    logp = np.asarray(nlogp, dtype=np.float64) / -np.log(10.0) + 0.0
    return np.clip(logp.astype(np.float32), 0, np.finfo(np.float32).max)


def clip_p(p: ArrayLike) -> NDArray[np.float32]:
    """Return p-values as float32, clipped to [smallest positive float32, 1]."""
    return np.clip(np.asarray(p, dtype=np.float32), _FLOAT32_TINY, np.float32(1))


def nullhist_to_p(
    stat: ArrayLike, weights: NDArray[np.float64], bin_centers: np.ndarray
) -> NDArray[np.float64]:
    """Upper-tail p-values of statistics against a null histogram on uniform bin centres.

    A statistic is read from the bin nearest it (halves rounded away from zero); the tail
    probability is normalised by its value at the first bin, and p-values are floored at
    the smallest non-zero tail probability. Statistics <= 0 get p = 1.

    Parameters
    ----------
    stat : numpy.ndarray
        Statistics, one per voxel.
    weights : numpy.ndarray
        Unnormalised null histogram, one weight per bin.
    bin_centers : numpy.ndarray
        Uniformly spaced bin centres starting at 0.

    Returns
    -------
    numpy.ndarray of float64
    """
    stat = np.asarray(stat)
    inv_step = 1 / (bin_centers[1] - bin_centers[0])
    tail = weights / np.sum(weights)
    tail = np.cumsum(tail[::-1])[::-1]
    tail /= np.max(tail)
    smallest = np.min(tail[tail != 0])
    p = np.ones(stat.shape)
    positive = np.flatnonzero(stat > 0)
    bins = round_half_away(stat[positive] * inv_step)
    bins[bins >= bin_centers.size] = bin_centers.size - 1
    p[positive] = tail[bins]
    return np.maximum(smallest, np.minimum(p, 1.0))


def null_to_p(
    values: ArrayLike, null: ArrayLike, minimum_p: float | None = None
) -> NDArray[np.float64]:
    """Upper-tail permutation p-values: the fraction of null values >= each value.

    Parameters
    ----------
    values : numpy.ndarray
        Observed values.
    null : numpy.ndarray
        Null sample (e.g. the maximum statistic of each Monte Carlo iteration).
    minimum_p : float, optional
        Floor of the p-values; default ``1 / len(null)``. p is also capped at
        ``1 - 1 / len(null)``.

    Returns
    -------
    numpy.ndarray of float64
    """
    null = np.sort(np.asarray(null, dtype=np.float64))
    values = np.asarray(values)
    floor = 1.0 / null.size if minimum_p is None else minimum_p
    p = 1 - np.searchsorted(null, values, side="left") / null.size
    return np.maximum(floor, np.minimum(p, 1.0 - 1.0 / null.size))


def chi2_to_nlogp(chi2: ArrayLike) -> NDArray[np.float64]:
    """Natural-log upper-tail p-values of chi-square statistics with one degree of freedom.

    A chi-square on one degree of freedom is a squared standard normal, so its tail at x is
    the two-sided normal tail at sqrt(x), computed in log space so it never underflows.
    """
    chi2 = np.asarray(chi2, dtype=np.float64)
    return np.minimum(np.log(2.0) + special.log_ndtr(-np.sqrt(chi2)), 0.0)


def one_way_chi2(counts: ArrayLike, n: int) -> NDArray[np.float64]:
    """One-way chi-square of per-voxel counts against their mean (uniformity of activation).

    Parameters
    ----------
    counts : numpy.ndarray
        Number of active experiments at each voxel.
    n : int
        Number of experiments (the largest possible count).

    Returns
    -------
    numpy.ndarray
        Chi-square values; 0 where the expected count is 0 or ``n`` (every count equals it).
    """
    counts = np.asarray(counts, dtype=np.float64)
    expected = np.mean(counts)
    denominator = expected * (n - expected)
    if denominator == 0:
        return np.zeros_like(counts)
    return (counts - expected) ** 2 * n / denominator


def two_way_chi2(
    counts1: ArrayLike, counts2: ArrayLike, n1: int, n2: int
) -> NDArray[np.float64]:
    """Two-way (2 x 2) chi-square of activation against group membership, per voxel.

    Voxels where every or no experiment is active (an empty row of the table) get 2.0, the
    value Neurosynth and NiMARE give them.
    """
    a = np.asarray(counts1, dtype=np.float64)
    b = np.asarray(counts2, dtype=np.float64)
    total = n1 + n2
    active = a + b
    numerator = total * (a * n2 - b * n1) ** 2
    denominator = active * (total - active) * n1 * n2
    out = np.full(a.shape, 2.0)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out
