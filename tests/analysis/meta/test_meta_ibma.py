"""IBMA estimators against PyMARE called directly on the same masked arrays."""


import nibabel as nib
import numpy as np
import pymare
import pytest

from analysis.meta import ImageInputs, Mask, MetaAnalysisInputError
from analysis.meta.estimators import ibma, regression
from analysis.meta.estimators.permuted import PermutedOLS
from tests.support.data import PAIN

SAMPLE_SIZES = np.array([20.0, 25.0, 30.0])


@pytest.fixture(scope="module")
def pain():
    mask = Mask.from_file(PAIN / "mask.nii.gz")

    def load(kind):
        return [nib.load(path) for path in sorted(PAIN.glob(f"pain_*_{kind}.nii.gz"))]

    inputs = ImageInputs.from_images(
        mask, z=load("z"), beta=load("beta"), varcope=load("varcope"), sample_sizes=SAMPLE_SIZES
    )
    keep = np.all(np.isfinite(inputs.beta) & (inputs.beta != 0), axis=0)
    keep &= np.all(np.isfinite(inputs.varcope) & (inputs.varcope != 0), axis=0)
    keep &= np.all(np.isfinite(inputs.z) & (inputs.z != 0), axis=0)
    return inputs, keep


def _assert_equal_on(keep, result, expected):
    for name, values in expected.items():
        ours = result.get_map(name)[keep].astype(np.float64)
        np.testing.assert_allclose(
            ours, np.ravel(values).astype(np.float32), rtol=1e-6, err_msg=name
        )


def _regression(estimator, dataset):
    estimator.fit_dataset(dataset)
    stats = estimator.summary().get_fe_stats()
    return {"z": stats["z"], "p": stats["p"], "est": stats["est"], "se": stats["se"]}


@pytest.mark.parametrize(("two_sided", "mode"), [(True, "concordant"), (False, "directed")])
@pytest.mark.parametrize(
    ("ours", "reference", "weighted"),
    [
        (ibma.Fishers, pymare.estimators.FisherCombinationTest, False),
        (ibma.Stouffers, pymare.estimators.StoufferCombinationTest, False),
        (
            lambda two_sided: ibma.Stouffers(use_sample_size=True, two_sided=two_sided),
            pymare.estimators.StoufferCombinationTest,
            True,
        ),
    ],
    ids=["Fishers", "Stouffers", "Stouffers-weighted"],
)
def test_combination_tests_equal_pymare(pain, ours, reference, weighted, two_sided, mode):
    inputs, keep = pain
    z = inputs.z[:, keep]
    weights = np.sqrt(SAMPLE_SIZES)[:, None] if weighted else None
    ours, reference = ours(two_sided=two_sided), reference(mode=mode)
    summary = (reference.fit(z=z, w=weights) if weighted else reference.fit(z=z)).summary()
    # The z inputs decide which voxels are usable for combination tests.
    keep_z = np.all(np.isfinite(inputs.z) & (inputs.z != 0), axis=0)
    assert np.array_equal(keep, keep & keep_z)
    result = ours.fit(inputs)
    np.testing.assert_allclose(
        result.get_map("z")[keep_z][keep[keep_z]], np.ravel(summary.z).astype(np.float32), rtol=1e-6
    )
    np.testing.assert_allclose(
        result.get_map("p")[keep_z][keep[keep_z]], np.ravel(summary.p).astype(np.float32), rtol=1e-6
    )


@pytest.mark.parametrize(
    ("ours", "reference"),
    [
        (regression.WeightedLeastSquares(), pymare.estimators.WeightedLeastSquares()),
        (regression.DerSimonianLaird(), pymare.estimators.DerSimonianLaird()),
        (regression.Hedges(), pymare.estimators.Hedges()),
        (regression.VarianceBasedLikelihood(),
         pymare.estimators.VarianceBasedLikelihoodEstimator()),
    ],
)
def test_regressions_equal_pymare(pain, ours, reference):
    inputs, keep = pain
    expected = _regression(
        reference, pymare.Dataset(y=inputs.beta[:, keep], v=inputs.varcope[:, keep])
    )
    _assert_equal_on(keep, ours.fit(inputs), expected)


def test_sample_size_likelihood_equals_pymare(pain):
    inputs, _ = pain
    keep = np.all(np.isfinite(inputs.beta) & (inputs.beta != 0), axis=0)
    beta = inputs.beta[:, keep]
    n = np.repeat(SAMPLE_SIZES[:, None], beta.shape[1], axis=1)
    expected = _regression(
        pymare.estimators.SampleSizeBasedLikelihoodEstimator(), pymare.Dataset(y=beta, n=n)
    )
    _assert_equal_on(keep, regression.SampleSizeBasedLikelihood().fit(inputs), expected)


def test_permuted_ols_equals_pymare_and_is_exact_for_three_experiments(pain):
    inputs, _ = pain
    keep = np.all(np.isfinite(inputs.beta) & (inputs.beta != 0), axis=0)
    beta = inputs.beta[:, keep]
    estimator = pymare.estimators.WeightedLeastSquares()
    estimator.fit_dataset(pymare.Dataset(y=beta, v=np.ones_like(beta)))
    permuted = estimator.summary().permutation_test(n_perm=1000)
    result = PermutedOLS().fit(inputs)
    assert permuted.exact
    np.testing.assert_allclose(
        result.get_map("p")[keep], np.ravel(permuted.perm_p["fe_p"]).astype(np.float32)
    )


def test_missing_inputs_are_named(pain):
    inputs, _ = pain
    no_sizes = ImageInputs(inputs.mask, z=inputs.z, beta=inputs.beta, varcope=inputs.varcope)
    with pytest.raises(MetaAnalysisInputError, match="sample_sizes"):
        regression.SampleSizeBasedLikelihood().fit(no_sizes)
    with pytest.raises(MetaAnalysisInputError, match="t: this estimator needs t"):
        no_sizes.require("t")
    with pytest.raises(MetaAnalysisInputError, match="needs ImageInputs"):
        ibma.Fishers().fit(inputs.z)
