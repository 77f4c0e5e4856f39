"""Real statistical maps for import tests: the pain maps shipped with the repository, as
they are (10 x 10 x 10 voxels) or on the 2 mm MNI grid of the analysis mask, loose or
packed as NIDM-Results packs."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np

from analysis.meta import Mask
from tests.support.data import PAIN

#: 3 pain studies of NeuroVault collection 1425 (NiMARE's test data, downsampled):
#: Member names of a NIDM-Results pack (as SPM's exporter writes them), by pain map kind.
NIDM_NAMES = {"t": "TStatistic_T001.nii.gz", "z": "ZStatistic_T001.nii.gz",
              "beta": "Contrast_T001.nii.gz", "se": "ContrastStandardError_T001.nii.gz"}
#: Where the 10-voxel cube goes on the MNI grid: inside the brain mask.
CORNER = (40, 50, 35)


def pain(study: int, kind: str) -> Path:
    """A pain map as shipped."""
    return PAIN / f"pain_{study:02d}_{kind}.nii.gz"


def on_mni_grid(source: Path, target: Path) -> Path:
    """The values of a pain map placed inside the brain on the analysis mask's grid (the
    shipped maps cover a corner of the grid outside the brain)."""
    mask = Mask.default()
    small = np.asanyarray(nib.load(source).dataobj).astype(np.float32)
    data = np.zeros(mask.shape, dtype=np.float32)
    x, y, z = CORNER
    data[x:x + 10, y:y + 10, z:z + 10] = small[..., 0] if small.ndim == 4 else small
    image = nib.Nifti1Image(data, mask.affine)
    image.header.set_sform(mask.affine, code=4)
    target.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, target)
    return target


def nidm_pack(target: Path, maps: dict[str, Path], *, extra: dict[str, bytes] | None = None
              ) -> Path:
    """A NIDM-Results pack: ``maps`` (pain kind -> file) under their NIDM names, a graph, a
    mask and a design matrix (as exporters write them), and ``extra`` members."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("nidm.ttl", "@prefix nidm: <http://purl.org/nidash/nidm#> .\n")
        archive.writestr("DesignMatrix.csv", "1,0\n1,1\n")
        archive.write(PAIN / "mask.nii.gz", "Mask.nii.gz")
        for kind, path in maps.items():
            archive.write(path, NIDM_NAMES[kind])
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target
