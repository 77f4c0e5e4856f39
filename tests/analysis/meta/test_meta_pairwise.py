"""Two-group estimators (MKDA chi-square, ALE subtraction) against NiMARE 0.22.1.

Group 1 is the Neurosynth 20-study subset, group 2 the NIMADS example studyset.

Deterministic maps (chi-square, p, z, logp and probability maps; ALE difference and each
group's ALE maps) must equal NiMARE's within a relative 1e-6 on every in-mask voxel.

Permutation parts differ in their random draws, so they are checked two ways:
- exactly, against a plain numpy/scipy computation of the same permutations;
- statistically, against NiMARE at equal n_iters: the null distributions of the maximum
  statistic (and, for chi-square, of the largest cluster) are compared with a two-sample
  Kolmogorov-Smirnov test that must not reject at alpha = 0.001, and their 95th
  percentiles (the corrected thresholds) must differ by less than three bootstrap standard
  errors (at the 40 iterations NiMARE's slow chi-square permutations allow here, counts
  of significant voxels are dominated by that error, so they are not compared).
  ALE-subtraction p-values are compared where ties are rare (voxels covered by at least 6
  experiments): their mean absolute difference must stay under 0.05 (at 200 iterations the
  difference of two independent estimates of p = 0.5 has a standard deviation of about
  0.09) and the numbers of voxels with p < 0.05 must agree within 15% (these counts are of
  strongly correlated voxels: two seeds of either implementation differ by about 5%).
Seeds are fixed, so the tests are deterministic.
"""

import nimare.meta.cbma as reference
import numpy as np
import pytest
from nimare.correct import FDRCorrector, FWECorrector
from scipy import ndimage, stats

from analysis.meta import (
    ALEKernel,
    ALESubtraction,
    CoordinateInputs,
    FDRCorrection,
    MetaAnalysisInputError,
    MKDAChi2,
    MKDAKernel,
    MonteCarloFWE,
)
from analysis.meta.estimators.ale import ale_values
from analysis.meta.estimators.chi2 import Chi2Fit
from analysis.meta.estimators.subtraction import SubtractionFit
from analysis.meta.stats import one_way_chi2, two_way_chi2
from tests.support.datasets import neurosynth_rows, nimads_rows, to_nimare_dataset

from .test_meta_cbma_nimare import max_relative_difference
from .test_meta_fwe import _percentile_difference

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*Dataset is deprecated:FutureWarning",
    "ignore::RuntimeWarning",
    "ignore:ALESubtraction FWE correction is recomputing:UserWarning",
)

FWE_ITERS = 40
SUB_ITERS = 200


@pytest.fixture(scope="module")
def nimare_groups():
    return to_nimare_dataset(neurosynth_rows()), to_nimare_dataset(nimads_rows())


def _assert_maps_equal(ours, theirs, names):
    for name in names:
        expected = np.asarray(theirs.get_map(name, return_type="array"), dtype=np.float64)
        mine = ours.get_map(name).astype(np.float64)
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(expected), err_msg=name)
        finite = ~np.isnan(expected)
        assert max_relative_difference(mine[finite], expected[finite]) <= 1e-6, name


def _cluster_maxima(values, threshold, mask):
    volume = mask.unmask(values)
    labels, n = ndimage.label(volume > threshold, ndimage.generate_binary_structure(3, 1))
    if n == 0:
        return 0.0, 0.0
    sizes = np.bincount(labels.ravel())[1:]
    masses = ndimage.sum(volume - threshold, labels, np.arange(1, n + 1))
    return float(sizes.max()), float(np.max(masses))


def test_chi2_maps_equal_nimare(neurosynth_inputs, nimads_inputs, nimare_groups, mask):
    ours = MKDAChi2(mask=mask).fit(neurosynth_inputs, nimads_inputs)
    theirs = reference.MKDAChi2().fit(*nimare_groups)
    names = [
        f"{kind}_desc-{desc}"
        for kind in ("chi2", "p", "z", "logp")
        for desc in ("uniformity", "group2", "association")
    ]
    names += [f"prob_desc-{d}" for d in ("A", "AgF", "AgU", "FgA", "AgF_prior", "FgA_prior",
                                         "group1", "group2")]
    _assert_maps_equal(ours, theirs, names)
    # Every map NiMARE gives, under its name (group 1's tests as desc-group1 too).
    assert set(ours.maps) == set(theirs.maps)


@pytest.mark.parametrize("method", ["indep", "negcorr"])
def test_chi2_fdr_maps_equal_nimare(neurosynth_inputs, nimads_inputs, nimare_groups, mask,
                                    method):
    ours = MKDAChi2(mask=mask, corrections=[FDRCorrection(method)]).fit(
        neurosynth_inputs, nimads_inputs)
    theirs = FDRCorrector(method=method).transform(reference.MKDAChi2().fit(*nimare_groups))
    corrected = sorted(name for name in theirs.maps if "_corr-" in name)
    # NiMARE names MKDA chi-square's Benjamini-Hochberg maps ..._level-voxel_corr-FDR_...
    assert ("p_desc-association_level-voxel_corr-FDR_method-indep" in corrected) == (
        method == "indep")
    assert sorted(name for name in ours.maps if "_corr-" in name) == corrected
    _assert_maps_equal(ours, theirs, corrected)


def test_chi2_permutation_null_is_exact(neurosynth_inputs, nimads_inputs, mask):
    ma1 = MKDAKernel().ma_maps(neurosynth_inputs, mask)
    ma2 = MKDAKernel().ma_maps(nimads_inputs, mask)
    estimator = MKDAChi2(mask=mask)
    model = estimator._fit(ma1, ma2, mask)
    assert isinstance(model, Chi2Fit)
    model.correct_fwe_montecarlo(MonteCarloFWE(n_iters=4, seed=9))
    pooled = model.pooled.toarray().astype(np.float64)
    threshold = stats.chi2.isf(0.001, 1)
    for it, perm in enumerate(model.permutations(4, 9)):
        counts1 = pooled[perm[: ma1.shape[0]]].sum(axis=0)
        counts2 = pooled[perm[ma1.shape[0] :]].sum(axis=0)
        n1, n2 = ma1.shape[0], ma2.shape[0]
        maps = {
            "pAgF": one_way_chi2(counts1, n1),
            "group2": one_way_chi2(counts2, n2),
            "pFgA": two_way_chi2(counts1, counts2, n1, n2),
        }
        for key, chi2 in maps.items():
            nulls = model.null_distributions
            stat = nulls[f"values_desc-{key}_level-voxel_corr-fwe_method-montecarlo"][it]
            size = nulls[f"values_desc-{key}size_level-cluster_corr-fwe_method-montecarlo"][it]
            mass = nulls[f"values_desc-{key}mass_level-cluster_corr-fwe_method-montecarlo"][it]
            assert stat == pytest.approx(chi2.max(), rel=1e-12)
            expected_size, expected_mass = _cluster_maxima(chi2, threshold, mask)
            assert size == expected_size
            assert mass == pytest.approx(expected_mass, rel=1e-9)


@pytest.mark.slow
def test_chi2_fwe_agrees_with_nimare(neurosynth_inputs, nimads_inputs, nimare_groups, mask):
    ours = MKDAChi2(mask=mask, corrections=[MonteCarloFWE(n_iters=FWE_ITERS, seed=1)]).fit(
        neurosynth_inputs, nimads_inputs
    )
    fitted = reference.MKDAChi2(random_state=1).fit(*nimare_groups)
    theirs = FWECorrector(method="montecarlo", n_iters=FWE_ITERS, n_cores=1).transform(fitted)
    assert {n for n in ours.maps if "_corr-" in n} == {n for n in theirs.maps if "_corr-" in n}
    nulls = theirs.estimator.null_distributions_
    for key in ("pAgF", "pFgA"):
        for level in (f"{key}_level-voxel", f"{key}size_level-cluster"):
            name = f"values_desc-{level}_corr-fwe_method-montecarlo"
            theirs_null = np.asarray(nulls[name], dtype=np.float64)
            ks = stats.ks_2samp(ours.null_distributions[name], theirs_null)
            assert ks.pvalue > 0.001, name
            difference, error = _percentile_difference(ours.null_distributions[name], theirs_null)
            assert abs(difference) < 3 * error, name


def test_subtraction_maps_equal_nimare(neurosynth_inputs, nimads_inputs, nimare_groups, mask):
    ours = ALESubtraction(mask=mask, n_iters=SUB_ITERS, seed=2).fit(
        neurosynth_inputs, nimads_inputs
    )
    theirs = reference.ALESubtraction(n_iters=SUB_ITERS, random_state=2).fit(*nimare_groups)
    names = ["stat_desc-group1MinusGroup2"] + [
        f"{kind}_desc-{group}"
        for kind in ("stat", "p", "z", "logp")
        for group in ("group1", "group2")
    ]
    _assert_maps_equal(ours, theirs, names)

    name = "values_level-voxel_corr-fwe_method-montecarlo"
    ks = stats.ks_2samp(ours.null_distributions[name], theirs.estimator.null_distributions_[name])
    assert ks.pvalue > 0.001
    kernel = ALEKernel()
    covering = np.diff(kernel.ma_maps(neurosynth_inputs, mask).tocsc().indptr) + np.diff(
        kernel.ma_maps(nimads_inputs, mask).tocsc().indptr
    )
    rare_ties = covering >= 6
    p_ours = ours.get_map("p_desc-group1MinusGroup2")[rare_ties]
    p_theirs = theirs.get_map("p_desc-group1MinusGroup2", return_type="array")[rare_ties]
    assert np.mean(np.abs(p_ours - p_theirs)) < 0.05
    n_ours, n_theirs = int((p_ours < 0.05).sum()), int((p_theirs < 0.05).sum())
    assert abs(n_ours - n_theirs) <= 0.15 * n_theirs
    z = ours.get_map("z_desc-group1MinusGroup2")
    diff = ours.get_map("stat_desc-group1MinusGroup2")
    assert np.all(np.sign(z[np.abs(z) > 2]) == np.sign(diff[np.abs(z) > 2]))


def test_subtraction_permutations_are_exact_and_ties_count(mask):
    # One experiment per group, far apart: every voxel is covered by one experiment.
    inputs1 = CoordinateInputs.from_table(["a", "b"], [-40, 40], [0, 0], [20, 20], "MNI", 20)
    inputs2 = CoordinateInputs.from_table(["c"], [0], [-60], [20], "MNI", 20)
    result = ALESubtraction(mask=mask, n_iters=30, seed=5).fit(inputs1, inputs2)
    kernel = ALEKernel()
    ma = [kernel.ma_maps(inputs, mask) for inputs in (inputs1, inputs2)]
    model = SubtractionFit(result.maps, mask, ALESubtraction.pool(*ma), 2)
    upper, lower, max_abs = model.permute(30, 5)
    pooled = model.pooled
    observed = ale_values(pooled[:2]) - ale_values(pooled[2:])
    expected_upper = np.zeros(mask.n_voxels, dtype=np.int64)
    for it, perm in enumerate(model.permutations(30, 5)):
        diff = ale_values(pooled[np.sort(perm[:2])]) - ale_values(pooled[np.sort(perm[2:])])
        assert max_abs[it] == pytest.approx(np.abs(diff).max(), rel=1e-6)
        expected_upper += diff >= observed
    np.testing.assert_array_equal(upper, expected_upper)
    # A voxel covered by a single experiment is tied with the observed value whenever that
    # experiment keeps its group, so it is never significant.
    assert result.get_map("p_desc-group1MinusGroup2").min() >= 0.2
    assert np.all(upper + lower >= 30)


def test_subtraction_fwe_reuses_the_fit_permutations(neurosynth_inputs, nimads_inputs, mask):
    fwe = MonteCarloFWE(n_iters=SUB_ITERS, seed=2)
    result = ALESubtraction(mask=mask, n_iters=SUB_ITERS, seed=2, corrections=[fwe]).fit(
        neurosynth_inputs, nimads_inputs
    )
    again = ALESubtraction(mask=mask, n_iters=SUB_ITERS, seed=2).fit(
        neurosynth_inputs, nimads_inputs
    )
    for name in again.maps:
        np.testing.assert_array_equal(result.maps[name], again.maps[name])
    p = result.get_map("p_desc-group1MinusGroup2_level-voxel_corr-FWE_method-montecarlo")
    null = result.null_distributions["values_level-voxel_corr-fwe_method-montecarlo"]
    diff = np.abs(result.get_map("stat_desc-group1MinusGroup2"))
    assert p[np.argmax(diff)] == pytest.approx(max(1 / SUB_ITERS, np.mean(null >= diff.max())))


@pytest.mark.parametrize("estimator", [MKDAChi2, ALESubtraction])
def test_pairwise_input_errors_name_the_group(estimator, neurosynth_inputs, mask):
    empty = CoordinateInputs((), np.empty((0, 3)), np.empty(0, dtype=np.int32), np.empty(0))
    with pytest.raises(MetaAnalysisInputError, match="inputs2: the group has no experiments"):
        estimator(mask=mask).fit(neurosynth_inputs, empty)
    with pytest.raises(MetaAnalysisInputError, match="inputs2: .* needs CoordinateInputs"):
        estimator(mask=mask).fit(neurosynth_inputs, None)
    with pytest.raises(MetaAnalysisInputError, match="inputs1: .* needs CoordinateInputs"):
        estimator(mask=mask).fit([], neurosynth_inputs)
    with pytest.raises(MetaAnalysisInputError, match="inputs2: 20 experiment.*also in group 1"):
        estimator(mask=mask).fit(neurosynth_inputs, neurosynth_inputs)
