"""Connected clusters of supra-threshold voxels and cluster tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from .space import voxel_to_mm

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

#: Face connectivity (6 neighbours), as NiMARE and nilearn use.
FACES = ndimage.generate_binary_structure(3, 1)


def label_clusters(
    volume: np.ndarray, threshold: float
) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """Label clusters of ``volume > threshold``; return (labels, sizes by label)."""
    labels, n_clusters = ndimage.label(volume > threshold, FACES)
    sizes = np.bincount(labels.ravel(), minlength=n_clusters + 1)
    sizes[0] = 0
    return labels, sizes


def cluster_measures(
    volume: NDArray[np.float64], threshold: float
) -> tuple[NDArray[np.int32], NDArray[np.int64], NDArray[np.float64]]:
    """Return labels, per-label sizes and per-label masses (sum of excess over threshold)."""
    labels, sizes = label_clusters(volume, threshold)
    excess = np.where(labels > 0, volume - threshold, 0.0)
    masses = np.bincount(labels.ravel(), weights=excess.ravel(), minlength=sizes.size)
    return labels, sizes, masses


@dataclass(frozen=True)
class Cluster:
    """One row of a cluster table."""

    cluster_id: int
    peak_x: float
    peak_y: float
    peak_z: float
    peak_value: float
    size_voxels: int
    size_mm3: float


def voxel_volume(affine: NDArray[np.float64]) -> float:
    """Volume of one voxel in mm3, rounded to 1e-6 (8.0, not 7.999999999999998, at 2 mm)."""
    return round(float(abs(np.linalg.det(affine[:3, :3]))), 6)


def _rows(
    labels: NDArray[np.int32],
    sizes: NDArray[np.int64],
    peaks: ArrayLike,
    affine: NDArray[np.float64],
    min_size: int,
    sign: float = 1.0,
) -> list[tuple[float, int, float, float, float]]:
    """(peak, size, x, y, z) of every labelled cluster of at least ``min_size`` voxels."""
    # One pass over the labelled voxels: sorted by cluster, then value (descending), then
    # position, the first voxel of each cluster is its peak (the first in C order on ties).
    where = np.flatnonzero(labels)
    if where.size == 0:
        return []
    label_of = labels.ravel()[where]
    values = sign * np.asarray(peaks).ravel()[where]
    order = np.lexsort((where, -values, label_of))
    first = order[np.r_[True, np.diff(label_of[order]) != 0]]
    kept = sizes[label_of[first]] >= max(min_size, 1)
    first = first[kept]
    ijk = np.column_stack(np.unravel_index(where[first], labels.shape))
    xyz = np.round(voxel_to_mm(ijk, affine), 6)
    return [(sign * float(values[f]), int(sizes[label_of[f]]), float(x), float(y), float(z))
            for f, (x, y, z) in zip(first, xyz, strict=True)]


def _numbered(
    rows: Sequence[tuple[float, int, float, float, float]], affine: NDArray[np.float64]
) -> list[Cluster]:
    volume = voxel_volume(affine)
    return [
        Cluster(i + 1, x, y, z, value, size, round(size * volume, 6))
        for i, (value, size, x, y, z) in enumerate(rows)
    ]


def cluster_table(
    volume: NDArray[np.float64],
    affine: NDArray[np.float64],
    threshold: float,
    min_size: int = 1,
    peaks: NDArray[np.float64] | None = None,
) -> list[Cluster]:
    """Return the clusters of ``volume > threshold``, largest peak first.

    Parameters
    ----------
    volume : numpy.ndarray
        3D statistic map.
    affine : numpy.ndarray
        Voxel-to-MNI affine.
    threshold : float
        Voxels strictly above it form clusters (face connectivity).
    min_size : int, optional
        Smallest cluster kept, in voxels.
    peaks : numpy.ndarray, optional
        3D map whose maximum within a cluster is its peak (default ``volume``).

    Returns
    -------
    list of Cluster
    """
    labels, sizes = label_clusters(volume, threshold)
    rows = _rows(labels, sizes, volume if peaks is None else peaks, affine, min_size)
    rows.sort(key=lambda row: -row[0])
    return _numbered(rows, affine)


def signed_cluster_table(
    values: NDArray[np.float64],
    shown: NDArray[np.bool_],
    affine: NDArray[np.float64],
    min_size: int = 1,
) -> list[Cluster]:
    """Return the clusters of the ``shown`` voxels, positive and negative values apart.

    Positive clusters come first (highest peak first), then negative ones (lowest peak
    first); a cluster's peak is its value of largest magnitude, with its sign.

    Parameters
    ----------
    values : numpy.ndarray
        3D map of the peaks (e.g. z).
    shown : numpy.ndarray
        3D boolean: the voxels that passed a threshold (e.g. a corrected p < 0.05).
    affine : numpy.ndarray
        Voxel-to-MNI affine.
    min_size : int, optional
        Smallest cluster kept, in voxels.

    Returns
    -------
    list of Cluster
    """
    rows = []
    for sign in (1.0, -1.0):
        part = shown & (sign * values > 0)
        labels, sizes = label_clusters(part, 0.5)
        found = _rows(labels, sizes, values, affine, min_size, sign)
        rows += sorted(found, key=lambda row: -sign * row[0])
    return _numbered(rows, affine)
