"""The analysis mask: which voxels of which grid a meta-analysis is computed on."""

from __future__ import annotations

import hashlib
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

from .errors import MetaAnalysisInputError

if TYPE_CHECKING:
    import os
    from typing import Self

    from numpy.typing import ArrayLike, NDArray

DEFAULT_MASK_NAME = "tpl-MNI152NLin6Asym_res-02_desc-brain_mask.nii.gz"


class Mask:
    """A 3D boolean analysis mask on an image grid.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3D image (or 4D with one volume); every non-zero voxel is in the mask.
    name : str, optional
        What the mask is, for the methods paragraph (e.g. the template it comes from).

    Raises
    ------
    MetaAnalysisInputError
        If the image is not 3D or has no voxel in it.
    """

    def __init__(self, img: nib.Nifti1Image, name: str | None = None) -> None:
        self.name = name
        if len(img.shape) == 4 and img.shape[3] == 1:
            img = nib.Nifti1Image(np.asanyarray(img.dataobj)[..., 0], img.affine, img.header)
        if len(img.shape) != 3:
            raise MetaAnalysisInputError(f"mask: expected a 3D image, got shape {img.shape}")
        self.img = img
        self.data = np.asanyarray(img.dataobj) != 0
        if not self.data.any():
            raise MetaAnalysisInputError("mask: the mask image has no non-zero voxel")
        self.affine = np.asarray(img.affine, dtype=np.float64)
        self.shape = tuple(int(n) for n in img.shape)
        self.zooms = tuple(float(z) for z in img.header.get_zooms()[:3])

    @classmethod
    def default(cls) -> Self:
        """Return the MNI152NLin6Asym 2 mm brain mask shipped with the package."""
        path = resources.files("analysis.meta") / "data" / DEFAULT_MASK_NAME
        with resources.as_file(path) as file:
            img = nib.load(file)
            img = nib.Nifti1Image(np.asanyarray(img.dataobj), img.affine, img.header)
        return cls(img, name="the MNI152NLin6Asym brain mask")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Self:
        """Load a mask from a NIfTI file."""
        return cls(nib.load(path))

    def description(self) -> str:
        """Return what the mask is, its voxel size and its number of voxels, for the methods."""
        zooms = " x ".join(f"{z:g}" for z in self.zooms)
        what = self.name or f"a mask on a {' x '.join(map(str, self.shape))} grid"
        return f"{what} ({self.n_voxels:,} voxels of {zooms} mm)"

    @cached_property
    def n_voxels(self) -> int:
        """Number of in-mask voxels."""
        return int(self.data.sum())

    @cached_property
    def flat_to_masked(self) -> NDArray[np.int32]:
        """Map of flattened (C-order) grid index to masked index, -1 outside the mask."""
        lookup = np.full(self.data.size, -1, dtype=np.int32)
        lookup[self.data.reshape(-1)] = np.arange(self.n_voxels, dtype=np.int32)
        return lookup

    @cached_property
    def ijk(self) -> NDArray[np.int32]:
        """Voxel indices of the in-mask voxels, in masked order, shape (n_voxels, 3)."""
        return np.argwhere(self.data).astype(np.int32)

    @cached_property
    def fingerprint(self) -> str:
        """A sha256 of the grid, affine and voxel set, to key cached nulls on."""
        digest = hashlib.sha256()
        digest.update(np.asarray(self.shape, dtype=np.int64).tobytes())
        digest.update(np.round(self.affine, 6).tobytes())
        digest.update(np.packbits(self.data).tobytes())
        return digest.hexdigest()

    def unmask(self, values: ArrayLike, fill: float = 0) -> np.ndarray:
        """Put masked values back on the 3D grid.

        Parameters
        ----------
        values : numpy.ndarray of shape (n_voxels,)
            One value per in-mask voxel.
        fill : scalar, optional
            Value outside the mask.

        Returns
        -------
        numpy.ndarray
            A 3D array of the grid's shape.
        """
        volume = np.full(self.shape, fill, dtype=np.asarray(values).dtype)
        volume[self.data] = values
        return volume

    def to_image(self, values: ArrayLike) -> nib.Nifti1Image:
        """Return masked values as a NIfTI image on the mask's grid."""
        return nib.Nifti1Image(self.unmask(values), self.affine)

    def check_image(self, img: nib.Nifti1Image, name: str) -> None:
        """Raise unless ``img`` is on this mask's grid (shape and affine).

        Parameters
        ----------
        img : nibabel.Nifti1Image
            Image to check.
        name : str
            Name of the image in the error message.
        """
        if tuple(img.shape[:3]) != self.shape:
            raise MetaAnalysisInputError(
                f"{name}: image shape {tuple(img.shape)} does not match the mask shape {self.shape}"
            )
        if not np.allclose(img.affine, self.affine, atol=1e-4):
            raise MetaAnalysisInputError(f"{name}: image affine does not match the mask affine")
