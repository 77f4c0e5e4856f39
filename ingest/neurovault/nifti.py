"""Check that a downloaded statistical map is a usable NIfTI volume.

A map is usable when nibabel can read its header and all of its data, it is 3-D
(or 4-D with a single volume), every dimension is at least 2 voxels, its affine is
finite and invertible, and it holds at least one finite non-zero voxel.

The space is guessed from the header: the sform (else qform) code says MNI (4) or
Talairach (3) when the writer set it; otherwise an affine equal to a standard
MNI152 grid's (FSL's or SPM's, at 1, 1.5, 2 or 3 mm, x either way) means MNI.
Anything else is left unknown (None): the header alone cannot tell.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError

from neurostore.vocabulary import PointSpace

_CODE_SPACES = {4: PointSpace.MNI.value, 3: PointSpace.TAL.value}
# |x|, y, z in mm of voxel (0, 0, 0) on the MNI152 grids of FSL / NiMARE and of SPM.
_MNI_GRID_CORNERS = ((90.0, -126.0, -72.0), (78.0, -112.0, -70.0))
_MNI_VOXEL_SIZES = (1.0, 1.5, 2.0, 3.0)


class NiftiError(ValueError):
    """A file is not a usable NIfTI volume; the message says which check failed."""


@dataclass(frozen=True)
class NiftiInfo:
    """What the checks found.

    Attributes
    ----------
    shape : tuple of int
        Spatial shape (3 values; a trailing single volume is dropped).
    zooms : tuple of float
        Voxel sizes in mm.
    affine : tuple of tuple of float
        The 4 x 4 voxel-to-world matrix.
    space : str or None
        ``"MNI"``, ``"TAL"`` or None when it cannot be told.
    nonzero_voxels : int
        Finite, non-zero voxels.
    """

    shape: tuple[int, int, int]
    zooms: tuple[float, float, float]
    affine: tuple[tuple[float, ...], ...]
    space: str | None
    nonzero_voxels: int


def check_nifti(path: str | os.PathLike[str]) -> NiftiInfo:
    """Read a NIfTI file whole and check it is a usable 3-D map.

    Parameters
    ----------
    path : str or path-like
        A ``.nii`` or ``.nii.gz`` file.

    Returns
    -------
    NiftiInfo
        Shape, voxel sizes, affine, guessed space and count of non-zero voxels.

    Raises
    ------
    NiftiError
        If the file cannot be read (corrupt, truncated, not NIfTI) or fails a check.
    """
    name = Path(path).name
    try:
        image = nib.load(os.fspath(path))
        if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
            raise NiftiError(f"{name}: not a NIfTI image ({type(image).__name__})")
        data = np.asanyarray(image.dataobj)
    except NiftiError:
        raise
    except (ImageFileError, OSError, EOFError, zlib.error, ValueError) as error:
        raise NiftiError(f"{name}: cannot be read as NIfTI: {error}") from error

    shape = data.shape
    if len(shape) == 4 and shape[3] == 1:
        data = data[..., 0]
        shape = data.shape
    if len(shape) != 3:
        raise NiftiError(f"{name}: expected a 3-D volume, got shape {shape}")
    if min(shape) < 2:
        raise NiftiError(f"{name}: degenerate shape {shape}")
    affine = image.affine
    if not np.all(np.isfinite(affine)):
        raise NiftiError(f"{name}: affine has non-finite values")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise NiftiError(f"{name}: affine is singular")
    nonzero = int(np.count_nonzero(np.isfinite(data) & (data != 0)))
    if nonzero == 0:
        raise NiftiError(f"{name}: no finite non-zero voxel")
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    return NiftiInfo(
        shape=(int(shape[0]), int(shape[1]), int(shape[2])),
        zooms=(zooms[0], zooms[1], zooms[2]),
        affine=tuple(tuple(float(v) for v in row) for row in affine),
        space=_guess_space(image, affine),
        nonzero_voxels=nonzero,
    )


def _guess_space(image: nib.Nifti1Image | nib.Nifti2Image, affine: np.ndarray) -> str | None:
    header = image.header
    for code in (int(header["sform_code"]), int(header["qform_code"])):
        if code in _CODE_SPACES:
            return _CODE_SPACES[code]
    for size in _MNI_VOXEL_SIZES:
        for x0, y0, z0 in _MNI_GRID_CORNERS:
            for x_step in (-size, size):  # x running right-to-left (FSL) or left-to-right
                expected = np.diag([x_step, size, size, 1.0])
                expected[:3, 3] = (x0 if x_step < 0 else -x0, y0, z0)
                if np.allclose(affine, expected, atol=1e-3):
                    return PointSpace.MNI.value
    return None
