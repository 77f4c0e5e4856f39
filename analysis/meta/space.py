"""Stereotaxic space conversions and voxel/world coordinate mapping.

Talairach coordinates are brought to MNI space with the inverse of Lancaster et al.'s
(2007) ``icbm_other`` -> Talairach transform (``icbm2tal``), the transform BrainMap and
GingerALE use for coordinates normalised with templates other than SPM's or FSL's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

#: Lancaster et al. (2007) icbm2tal affine for "other" normalisation software (MNI -> TAL).
ICBM_OTHER_TO_TAL = np.array(
    [
        [0.9357, 0.0029, -0.0072, -1.0423],
        [-0.0065, 0.9396, -0.0726, -1.3940],
        [0.0103, 0.0752, 0.8967, 3.6475],
        [0.0, 0.0, 0.0, 1.0],
    ]
)


def _apply_homogeneous(affine: NDArray[np.float64], xyz: ArrayLike) -> NDArray[np.float64]:
    """Apply a 4x4 affine through homogeneous coordinates (one matrix product)."""
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    homogeneous = np.concatenate((xyz.T, np.ones((1, xyz.shape[0]))))
    return np.dot(affine, homogeneous)[:3].T


def tal_to_mni(xyz: ArrayLike) -> NDArray[np.float64]:
    """Convert Talairach coordinates to MNI with the inverted Lancaster icbm2tal transform.

    Parameters
    ----------
    xyz : array_like of shape (n, 3)
        Talairach coordinates in mm.

    Returns
    -------
    numpy.ndarray of shape (n, 3)
        MNI coordinates in mm.
    """
    return _apply_homogeneous(np.linalg.inv(ICBM_OTHER_TO_TAL), xyz)


def mni_to_tal(xyz: ArrayLike) -> NDArray[np.float64]:
    """Convert MNI coordinates to Talairach with the Lancaster icbm2tal transform.

    Parameters
    ----------
    xyz : array_like of shape (n, 3)
        MNI coordinates in mm.

    Returns
    -------
    numpy.ndarray of shape (n, 3)
        Talairach coordinates in mm.
    """
    return _apply_homogeneous(ICBM_OTHER_TO_TAL, xyz)


def mm_to_voxel(xyz: ArrayLike, affine: NDArray[np.float64]) -> NDArray[np.int64]:
    """Map world coordinates to the nearest voxel indices of an image grid.

    Parameters
    ----------
    xyz : array_like of shape (n, 3)
        Coordinates in mm.
    affine : numpy.ndarray of shape (4, 4)
        Voxel-to-world affine of the grid.

    Returns
    -------
    numpy.ndarray of shape (n, 3), int64
        Voxel indices, rounded half to even (as :func:`numpy.round`); they may fall
        outside the image.
    """
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    return np.round(nib.affines.apply_affine(np.linalg.inv(affine), xyz)).astype(np.int64)


def voxel_to_mm(ijk: ArrayLike, affine: NDArray[np.float64]) -> NDArray[np.float64]:
    """Map voxel indices to world coordinates.

    Parameters
    ----------
    ijk : array_like of shape (n, 3)
        Voxel indices.
    affine : numpy.ndarray of shape (4, 4)
        Voxel-to-world affine of the grid.

    Returns
    -------
    numpy.ndarray of shape (n, 3)
        Coordinates in mm.
    """
    return nib.affines.apply_affine(affine, np.asarray(ijk, dtype=np.float64).reshape(-1, 3))
