"""IBMA maps, and their FDR and Bonferroni maps, against NiMARE 0.22.1 on the pain images.

Tolerance: rtol 1e-6 with atol 1e-6 on every voxel NiMARE fits. NiMARE masks images to
float32 and PyMARE then mostly computes in float32, while the engine computes in float64
from the same values; the largest difference measured is 4.8e-7 (Fishers' z, one float32
step at |z| ~ 4), which a relative tolerance alone cannot cover where a value is near zero.
Fed NiMARE's float32 arrays instead, every regression, Fisher's and weighted Stouffer's map
equals NiMARE's exactly, so the differences are that rounding and nothing else.

NiMARE runs with ``aggressive_mask=True``, the engine's masking: a voxel is fitted only where
every experiment has data. NiMARE leaves the others NaN and the engine 0 (p = 1), so maps are
compared where NiMARE's are not NaN. Each experiment is its own study, so NiMARE finds no
dependent images to combine.
"""

import dataclasses

import nibabel as nib
import numpy as np
import pytest
from nimare.correct import FDRCorrector, FWECorrector
from nimare.dataset import Dataset
from nimare.meta import ibma as reference
from scipy import special

from analysis import meta
from analysis.meta import BonferroniCorrection, FDRCorrection, ImageInputs, Mask
from analysis.meta.estimators import ibma, regression
from analysis.meta.estimators.permuted import PermutedOLS
from tests.support.data import PAIN

SAMPLE_SIZES = (20, 25, 30)
KINDS = ("z", "beta", "varcope")

#: Our class and NiMARE's with the same keyword arguments, for every IBMA estimator whose
#: maps NiMARE shares, with both settings of each sidedness option NiMARE has.
CASES = {
    "Fishers": ("Fishers", {}),
    "Fishers-one-sided": ("Fishers", {"two_sided": False}),
    "Stouffers": ("Stouffers", {}),
    "Stouffers-one-sided": ("Stouffers", {"two_sided": False}),
    "Stouffers-weighted": ("Stouffers", {"use_sample_size": True}),
    "Stouffers-weighted-one-sided": ("Stouffers", {"use_sample_size": True, "two_sided": False}),
    "WeightedLeastSquares": ("WeightedLeastSquares", {}),
    "DerSimonianLaird": ("DerSimonianLaird", {}),
    "Hedges": ("Hedges", {}),
    "VarianceBasedLikelihood": ("VarianceBasedLikelihood", {}),
    "VarianceBasedLikelihood-reml": ("VarianceBasedLikelihood", {"method": "reml"}),
    "SampleSizeBasedLikelihood": ("SampleSizeBasedLikelihood", {}),
    "SampleSizeBasedLikelihood-reml": ("SampleSizeBasedLikelihood", {"method": "reml"}),
}


def _pair(case, corrections=()):
    """Our estimator and NiMARE's (masking as ours does) for one case."""
    name, kwargs = CASES[case]
    ours = getattr(meta, name)(**kwargs, corrections=corrections)
    return ours, getattr(reference, name)(**kwargs, aggressive_mask=True)


def _nimare_dataset(folder, mask_path):
    source = {
        f"pain_{i:02d}": {
            "contrasts": {
                "1": {
                    "images": {k: str(folder / f"pain_{i:02d}_{k}.nii.gz") for k in KINDS},
                    "metadata": {"sample_sizes": [n]},
                }
            }
        }
        for i, n in enumerate(SAMPLE_SIZES, 1)
    }
    return Dataset(source, mask=str(mask_path))


def _our_inputs(folder, mask):
    images = {k: sorted(folder.glob(f"pain_*_{k}.nii.gz")) for k in KINDS}
    return ImageInputs.from_images(mask, **images, sample_sizes=np.array(SAMPLE_SIZES, float))


@pytest.fixture(scope="module")
def pain():
    """Our inputs and NiMARE's dataset of the same images."""
    mask = Mask.from_file(PAIN / "mask.nii.gz")
    return _our_inputs(PAIN, mask), _nimare_dataset(PAIN, PAIN / "mask.nii.gz")


def _assert_maps_equal(ours, theirs):
    """Every NiMARE map, on the voxels NiMARE fits; the engine's fill on the others."""
    assert set(ours.maps) == set(theirs.maps)
    for name, expected in theirs.maps.items():
        expected = np.asarray(expected, dtype=np.float64)
        fitted = ~np.isnan(expected)
        values = ours.get_map(name).astype(np.float64)
        np.testing.assert_allclose(
            values[fitted], expected[fitted], rtol=1e-6, atol=1e-6, err_msg=name
        )
        assert np.all(values[~fitted] == (1.0 if name.startswith("p") else 0.0)), name


@pytest.mark.parametrize("case", sorted(CASES))
def test_maps_equal_nimare(case, pain):
    inputs, dataset = pain
    ours, theirs = _pair(case)
    _assert_maps_equal(ours.fit(inputs), theirs.fit(dataset))


@pytest.mark.parametrize("estimator", [ibma.Fishers, ibma.Stouffers])
def test_two_sided_is_the_default_and_doubles_the_better_one_sided_test(estimator, pain):
    inputs, _ = pain
    assert estimator().params()["two_sided"] is True
    two = estimator().fit(inputs)
    up = estimator(two_sided=False).fit(inputs).get_map("p").astype(np.float64)
    flipped = dataclasses.replace(inputs, z=-inputs.z)
    down = estimator(two_sided=False).fit(flipped).get_map("p").astype(np.float64)
    p = np.minimum(2 * np.minimum(up, down), 1.0)
    np.testing.assert_allclose(two.get_map("p"), p, rtol=1e-6)
    z = np.where(down < up, -1.0, 1.0) * -special.ndtri(p / 2)
    np.testing.assert_allclose(two.get_map("z"), z, rtol=1e-5, atol=1e-6)


def test_permuted_ols_dof_equals_nimare(pain):
    # NiMARE's PermutedOLS is a parametric t-test with a sign-flip FWE null; only its
    # degrees of freedom are the same quantity as the engine's.
    inputs, dataset = pain
    theirs = reference.PermutedOLS(aggressive_mask=True).fit(dataset)
    expected = theirs.get_map("dof", return_type="array")
    fitted = ~np.isnan(expected)
    ours = PermutedOLS().fit(inputs).get_map("dof")
    np.testing.assert_array_equal(ours[fitted], expected[fitted])


@pytest.mark.parametrize(
    ("correction", "corrector"),
    [
        (FDRCorrection("indep"), FDRCorrector(method="indep")),
        (FDRCorrection("negcorr"), FDRCorrector(method="negcorr")),
        (BonferroniCorrection(), FWECorrector(method="bonferroni")),
    ],
    ids=["fdr-indep", "fdr-negcorr", "bonferroni"],
)
@pytest.mark.parametrize("case", ["Stouffers", "Stouffers-one-sided", "DerSimonianLaird"])
def test_corrected_maps_are_named_and_valued_as_nimare(case, correction, corrector, pain):
    inputs, dataset = pain
    ours, theirs = _pair(case, corrections=[correction])
    _assert_maps_equal(ours.fit(inputs), corrector.transform(theirs.fit(dataset)))


def test_non_positive_and_tiny_variances_are_left_out_as_nimare_leaves_them(tmp_path, pain):
    inputs, _ = pain
    for path in PAIN.glob("*.nii.gz"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    mask = Mask.from_file(tmp_path / "mask.nii.gz")
    fitted = np.flatnonzero(np.all(np.isfinite(inputs.varcope) & (inputs.varcope > 0), axis=0))
    # A negative variance in one experiment and a tiny one in another, at fitted voxels.
    for experiment, voxel, value in ((1, fitted[0], -0.5), (2, fitted[1], 1e-25)):
        path = tmp_path / f"pain_{experiment:02d}_varcope.nii.gz"
        image = nib.load(path)
        data = np.asarray(image.dataobj).copy()
        data[tuple(mask.ijk[voxel])] = value
        nib.save(nib.Nifti1Image(data, image.affine, image.header), path)
    ours = regression.DerSimonianLaird().fit(_our_inputs(tmp_path, mask))
    theirs = reference.DerSimonianLaird(aggressive_mask=True).fit(
        _nimare_dataset(tmp_path, tmp_path / "mask.nii.gz")
    )
    left_out = np.isnan(theirs.get_map("p", return_type="array"))
    assert left_out[fitted[:2]].all()
    np.testing.assert_array_equal(ours.get_map("p")[left_out], 1.0)
    assert np.all(ours.get_map("p")[~left_out] < 1.0)
