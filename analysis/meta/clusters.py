"""Connected clusters of supra-threshold voxels and cluster tables."""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .space import voxel_to_mm

#: Face connectivity (6 neighbours), as NiMARE and nilearn use.
FACES = ndimage.generate_binary_structure(3, 1)


def label_clusters(volume, threshold):
    """Label clusters of ``volume > threshold``; return (labels, sizes by label)."""
    labels, n_clusters = ndimage.label(volume > threshold, FACES)
    sizes = np.bincount(labels.ravel(), minlength=n_clusters + 1)
    sizes[0] = 0
    return labels, sizes


def cluster_measures(volume, threshold):
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


def cluster_table(volume, affine, threshold, min_size=1, peaks=None):
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
    peaks = volume if peaks is None else peaks
    voxel_mm3 = float(abs(np.linalg.det(affine[:3, :3])))
    rows = []
    for label in np.flatnonzero(sizes >= max(min_size, 1)):
        ijk = np.argwhere(labels == label)
        values = peaks[tuple(ijk.T)]
        peak = ijk[np.argmax(values)]
        x, y, z = voxel_to_mm(peak[None, :], affine)[0]
        rows.append((float(values.max()), int(sizes[label]), float(x), float(y), float(z)))
    rows.sort(key=lambda row: -row[0])
    return [
        Cluster(i + 1, x, y, z, value, size, size * voxel_mm3)
        for i, (value, size, x, y, z) in enumerate(rows)
    ]
