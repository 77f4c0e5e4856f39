"""NIfTI checks on real statistical maps and on broken files."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from ingest.neurovault.nifti import NiftiError, check_nifti
from tests.support.data import PAIN

STATMAPS = PAIN
MNI_2MM = np.array(
    [[-2.0, 0, 0, 90], [0, 2.0, 0, -126], [0, 0, 2.0, -72], [0, 0, 0, 1]], dtype=float
)


def _save(tmp_path, data, affine, name="map.nii.gz", code=0):
    image = nib.Nifti1Image(np.asarray(data, dtype=np.float32), affine)
    image.header.set_sform(affine, code=code)
    image.header.set_qform(affine, code=code)
    path = tmp_path / name
    nib.save(image, path)
    return path


@pytest.mark.parametrize("name", ["pain_01_t.nii.gz", "pain_01_z.nii.gz", "pain_01_beta.nii.gz"])
def test_real_maps_pass(name):
    info = check_nifti(STATMAPS / name)
    assert info.shape == (10, 10, 10)
    assert info.zooms == (2.0, 2.0, 2.0)
    assert info.space == "MNI"  # sform code 2, but the affine of the MNI 2 mm grid
    assert 0 < info.nonzero_voxels <= 1000


def test_single_volume_4d_is_accepted_as_3d():
    info = check_nifti(STATMAPS / "mask.nii.gz")  # shape (10, 10, 10, 1)
    assert info.shape == (10, 10, 10)


def test_space_from_header_codes(tmp_path):
    data = np.ones((4, 4, 4))
    odd = np.diag([3.0, 3.0, 3.0, 1.0])
    assert check_nifti(_save(tmp_path, data, odd, code=4)).space == "MNI"
    assert check_nifti(_save(tmp_path, data, odd, code=3)).space == "TAL"
    assert check_nifti(_save(tmp_path, data, odd, code=0)).space is None
    spm = np.diag([-2.0, 2.0, 2.0, 1.0])
    spm[:3, 3] = (78, -112, -70)
    assert check_nifti(_save(tmp_path, data, spm, code=1)).space == "MNI"


def test_several_volumes_are_refused(tmp_path):
    path = _save(tmp_path, np.ones((4, 4, 4, 2)), MNI_2MM)
    with pytest.raises(NiftiError, match=r"3-D volume, got shape \(4, 4, 4, 2\)"):
        check_nifti(path)


def test_degenerate_shape_is_refused(tmp_path):
    with pytest.raises(NiftiError, match="degenerate shape"):
        check_nifti(_save(tmp_path, np.ones((4, 4, 1)), MNI_2MM))


def test_empty_map_is_refused(tmp_path):
    data = np.zeros((4, 4, 4))
    data[0, 0, 0] = np.nan
    with pytest.raises(NiftiError, match="no finite non-zero voxel"):
        check_nifti(_save(tmp_path, data, MNI_2MM))


def _with_srow(tmp_path, row, values):
    path = _save(tmp_path, np.ones((4, 4, 4)), MNI_2MM, code=4)
    image = nib.load(path)
    header = image.header.copy()
    header[row] = values
    header["qform_code"] = 0
    broken = tmp_path / f"{row}.nii"
    nib.Nifti1Image(np.asanyarray(image.dataobj), None, header).to_filename(broken)
    return broken


def test_singular_affine_is_refused(tmp_path):
    with pytest.raises(NiftiError, match="singular"):
        check_nifti(_with_srow(tmp_path, "srow_y", [0, 0, 0, -126]))


def test_non_finite_affine_is_refused(tmp_path):
    with pytest.raises(NiftiError, match="non-finite"):
        check_nifti(_with_srow(tmp_path, "srow_x", [np.nan, 0, 0, 90]))


def test_truncated_gzip_is_a_clear_error(tmp_path):
    content = (STATMAPS / "pain_01_t.nii.gz").read_bytes()
    path = tmp_path / "cut.nii.gz"
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(NiftiError, match=r"cut\.nii\.gz: cannot be read as NIfTI"):
        check_nifti(path)


def test_truncated_data_is_a_clear_error(tmp_path):
    raw = gzip.decompress((STATMAPS / "pain_01_t.nii.gz").read_bytes())
    path = tmp_path / "short.nii"
    path.write_bytes(raw[: len(raw) - 100])
    with pytest.raises(NiftiError, match="cannot be read"):
        check_nifti(path)


def test_not_a_nifti_file(tmp_path):
    path = tmp_path / "page.nii.gz"
    path.write_bytes(gzip.compress(b"<html>Service unavailable</html>"))
    with pytest.raises(NiftiError, match="cannot be read"):
        check_nifti(path)
