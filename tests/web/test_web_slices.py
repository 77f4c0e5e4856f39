"""Map pictures for the pages (neurostore.web.slices): real statistical maps from the
pain sample (NeuroVault collection 1425, see tests/data/pain/README)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from neurostore.web.slices import VolumeCache, load_volume, slice_png, thumbnail_png

PAIN = Path(__file__).resolve().parents[1] / "data" / "pain"


@pytest.fixture(scope="module")
def zmap():
    return load_volume((PAIN / "pain_01_z.nii.gz").read_bytes())


def _image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def test_each_axis_is_one_pixel_per_voxel_with_empty_voxels_transparent():
    grid = np.indices((91, 109, 91)).astype(np.float32)
    ball = ((grid - np.array([45, 63, 36])[:, None, None, None]) ** 2).sum(axis=0) < 20 ** 2
    blob = load_volume(nib.Nifti1Image(np.where(ball, 3.0, 0.0).astype(np.float32),
                                       np.diag([-2.0, 2.0, 2.0, 1.0])).to_bytes())
    sizes = {"x": (109, 91), "y": (91, 91), "z": (91, 109)}
    for n, (axis, size) in enumerate(sizes.items()):
        picture = _image(slice_png(blob, axis, blob.peak[n]))
        assert picture.size == size
        alpha = np.asarray(picture)[..., 3]
        assert 0 < (alpha == 255).sum() < alpha.size  # the map shown, outside transparent
    assert blob.viewer()["signed"] is False and blob.viewer()["step"] == [-2.0, 2.0, 2.0]


def test_the_default_slice_passes_through_the_peak(zmap):
    peak = zmap.peak
    assert np.nanmax(np.abs(zmap.data)) == abs(zmap.data[peak])
    assert slice_png(zmap, "z") == slice_png(zmap, "z", peak[2])
    info = zmap.viewer()
    assert info["shape"] == list(zmap.data.shape) and info["peak"] == list(peak)
    assert info["signed"] is True  # a z map has negative values


def test_a_bad_axis_or_index_is_named(zmap):
    with pytest.raises(ValueError, match="axis must be one of"):
        slice_png(zmap, "w", 1)
    with pytest.raises(ValueError, match=r"index must be between 0 and \d+ for axis z"):
        slice_png(zmap, "z", zmap.data.shape[2])


def test_files_that_are_not_3d_maps_are_refused():
    with pytest.raises(ValueError, match="not a NIfTI image"):
        load_volume(b"certainly not a brain map")
    four_d = nib.Nifti1Image(np.ones((4, 4, 4, 2), dtype=np.float32), np.eye(4))
    with pytest.raises(ValueError, match="a 3-D map is needed"):
        load_volume(gzip.compress(four_d.to_bytes()))
    one_volume = nib.Nifti1Image(np.arange(64, dtype=np.float32).reshape(4, 4, 4, 1), np.eye(4))
    assert load_volume(one_volume.to_bytes()).data.shape == (4, 4, 4)


def test_thumbnails_and_the_cache(zmap):
    nx, ny, nz = zmap.data.shape
    assert _image(thumbnail_png(zmap)).size == (ny + 2 * nx + 6, max(nz, ny))
    reads = []
    cache = VolumeCache(size=1)

    def read(name):
        def _read():
            reads.append(name)
            return (PAIN / name).read_bytes()
        return _read

    first = cache.get("pain_01_z.nii.gz", read("pain_01_z.nii.gz"))
    assert cache.get("pain_01_z.nii.gz", read("pain_01_z.nii.gz")) is first
    cache.get("pain_02_z.nii.gz", read("pain_02_z.nii.gz"))
    cache.get("pain_01_z.nii.gz", read("pain_01_z.nii.gz"))
    assert reads == ["pain_01_z.nii.gz", "pain_02_z.nii.gz", "pain_01_z.nii.gz"]
