"""Inputs, mask, space conversion and kernels: validation and clear errors."""

import nibabel as nib
import numpy as np
import pytest
from nimare.utils import tal2mni

from analysis.meta import (
    ALE,
    ALEKernel,
    CoordinateInputs,
    ImageInputs,
    MetaAnalysisInputError,
    MKDADensity,
    MKDAKernel,
)
from analysis.meta.kernels import eickhoff_fwhm, sphere_support
from analysis.meta.space import mni_to_tal, tal_to_mni


def test_default_mask_is_the_mni152_2mm_brain_mask(mask):
    assert mask.shape == (91, 109, 91)
    assert mask.n_voxels == 228483


def test_tal_to_mni_matches_nimare_and_inverts_mni_to_tal():
    xyz = np.array([[-40.0, 20.0, 30.0], [12.5, -60.0, -8.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(tal_to_mni(xyz), tal2mni(xyz), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mni_to_tal(tal_to_mni(xyz)), xyz, atol=1e-10)


def test_talairach_rows_are_converted_and_experiments_sorted():
    inputs = CoordinateInputs.from_table(
        ["b", "a", "b"], [10, 20, 30], [0, 0, 0], [0, 0, 0], ["TAL", "MNI", "TAL"], [12, 20, 12]
    )
    assert inputs.experiment_ids == ("a", "b")
    np.testing.assert_allclose(inputs.xyz[0], [20, 0, 0])
    np.testing.assert_allclose(inputs.xyz[1:], tal_to_mni([[10, 0, 0], [30, 0, 0]]))
    np.testing.assert_array_equal(inputs.sample_sizes, [20, 12])


def test_eickhoff_fwhm_shrinks_with_sample_size():
    assert eickhoff_fwhm(10) > eickhoff_fwhm(40) > 8.4


def test_sphere_has_the_nimare_voxel_count(mask):
    assert sphere_support(10, mask.zooms).offsets.shape[0] == 515


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CoordinateInputs.from_table([], [], [], []), "no coordinates"),
        (lambda: CoordinateInputs.from_experiments({}), "no experiments"),
        (
            lambda: CoordinateInputs.from_experiments({"e1": {"coordinates": []}}),
            "experiment 'e1' has no coordinates",
        ),
        (
            lambda: CoordinateInputs.from_table(["e1"], [np.nan], [0], [0]),
            "experiment 'e1' has a missing",
        ),
        (lambda: CoordinateInputs.from_table(["e1"], [0], [0], [0], "SPM"), "unknown coordinate"),
        (
            lambda: CoordinateInputs.from_table(
                ["e1", "e1"], [0, 1], [0, 1], [0, 1], sample_size=[5, 6]
            ),
            "experiment 'e1' has inconsistent sample sizes",
        ),
    ],
)
def test_bad_coordinates_are_named(build, message):
    with pytest.raises(MetaAnalysisInputError, match=message):
        build()


def test_ale_without_sample_size_names_the_experiments(mask):
    inputs = CoordinateInputs.from_table(["e1", "e2"], [0, 10], [0, 10], [0, 10], "MNI", [20, None])
    with pytest.raises(MetaAnalysisInputError, match="sample_size: 1 experiment.*'e2'"):
        ALE(mask=mask).fit(inputs)
    # A fixed kernel needs no per-experiment sample size.
    assert ALE(ALEKernel(fwhm=10), mask=mask).fit(inputs).get_map("stat").max() > 0


def test_estimator_refuses_other_inputs(mask):
    with pytest.raises(MetaAnalysisInputError, match="needs CoordinateInputs"):
        MKDADensity(mask=mask).fit({"e1": [0, 0, 0]})


def test_images_of_other_shape_or_affine_are_refused(mask):
    good = nib.Nifti1Image(np.zeros(mask.shape, dtype=np.float32), mask.affine)
    small = nib.Nifti1Image(np.zeros((10, 10, 10), dtype=np.float32), mask.affine)
    shifted = nib.Nifti1Image(np.zeros(mask.shape, dtype=np.float32), mask.affine + np.eye(4))
    with pytest.raises(MetaAnalysisInputError, match=r"z\[1\]: image shape"):
        ImageInputs.from_images(mask, z=[good, small])
    with pytest.raises(MetaAnalysisInputError, match=r"beta\[0\]: image affine"):
        ImageInputs.from_images(mask, beta=[shifted], varcope=[good])
    with pytest.raises(MetaAnalysisInputError, match="different numbers of experiments"):
        ImageInputs.from_images(mask, beta=[good, good], varcope=[good])
    with pytest.raises(MetaAnalysisInputError, match="no images"):
        ImageInputs.from_images(mask)


def test_focus_outside_the_mask_keeps_only_its_in_mask_part(mask):
    inside = CoordinateInputs.from_table(["e"], [30], [-20], [40])
    edge = CoordinateInputs.from_table(["e"], [0], [-20], [82])
    far = CoordinateInputs.from_table(["e"], [0], [300], [0])
    kernel = MKDAKernel()
    assert kernel.ma_maps(inside, mask).nnz == 515
    assert 0 < kernel.ma_maps(edge, mask).nnz < 515
    assert kernel.ma_maps(far, mask).nnz == 0


def test_images_can_be_given_as_paths(mask, tmp_path):
    rng = np.random.default_rng(0)
    imgs = [
        nib.Nifti1Image(rng.normal(size=mask.shape).astype(np.float32), mask.affine)
        for _ in range(3)
    ]
    paths = []
    for index, img in enumerate(imgs):
        paths.append(tmp_path / f"z{index}.nii{'.gz' if index % 2 else ''}")
        nib.save(img, paths[-1])
    from_paths = ImageInputs.from_images(mask, z=[str(p) for p in paths[:2]] + [paths[2]])
    from_images = ImageInputs.from_images(mask, z=imgs)
    np.testing.assert_array_equal(from_paths.z, from_images.z)
    small = tmp_path / "small.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), dtype=np.float32), mask.affine), small)
    with pytest.raises(MetaAnalysisInputError, match=r"z\[1\]: image shape"):
        ImageInputs.from_images(mask, z=[paths[0], small])
