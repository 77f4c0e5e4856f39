"""Monte Carlo FWE: reproducibility, the design cache, agreement with NiMARE, planted foci.

Agreement with NiMARE is statistical, since the two draw different random foci: at the
same n_iters (100), the null distributions of the maximum statistic and of the largest
cluster size are compared with a two-sample Kolmogorov-Smirnov test (must not reject at
alpha = 0.001), the 95th percentiles (the corrected thresholds) must differ by less than
three bootstrap standard errors of their difference, and the numbers of voxels significant at
FWE p < 0.05 must agree within 20% (+3 voxels).
Seeds are fixed, so the test is deterministic.
"""

from functools import partial

import nibabel as nib
import nimare.meta.cbma as reference
import numpy as np
import pytest
from nimare.correct import FWECorrector
from scipy import stats

from analysis.meta import (
    ALE,
    ALEKernel,
    CoordinateInputs,
    Mask,
    MKDADensity,
    MonteCarloFWE,
    NullCache,
)
from analysis.meta._simulate import MODE_KDA, MODE_MKDA
from analysis.meta.kernels import sphere_support
from analysis.meta.montecarlo import MonteCarloDesign
from tests.support.datasets import nimads_rows, to_nimare_dataset

N_ITERS = 100
VOXEL = "values_level-voxel_corr-fwe_method-montecarlo"
SIZE = "values_desc-size_level-cluster_corr-fwe_method-montecarlo"
Z_VOXEL = "z_level-voxel_corr-FWE_method-montecarlo"
Z_SIZE = "z_desc-size_level-cluster_corr-FWE_method-montecarlo"


def _percentile_difference(a, b, q=95, n_boot=500):
    """Difference of the q-th percentiles of two samples and its bootstrap standard error."""
    rng = np.random.default_rng(0)
    boot = [
        np.percentile(rng.choice(a, a.size), q) - np.percentile(rng.choice(b, b.size), q)
        for _ in range(n_boot)
    ]
    return np.percentile(a, q) - np.percentile(b, q), np.std(boot)


def test_same_seed_same_output_and_the_cache_serves_repeats(nimads_inputs, mask, tmp_path):
    first = MKDADensity(
        mask=mask, corrections=[MonteCarloFWE(n_iters=40, seed=3, cache=NullCache(tmp_path))]
    ).fit(nimads_inputs)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = MKDADensity(
        mask=mask, corrections=[MonteCarloFWE(n_iters=40, seed=3, cache=NullCache())]
    ).fit(nimads_inputs)
    from_disk = MKDADensity(
        mask=mask, corrections=[MonteCarloFWE(n_iters=40, seed=3, cache=NullCache(tmp_path))]
    ).fit(nimads_inputs)
    other = MKDADensity(
        mask=mask, corrections=[MonteCarloFWE(n_iters=40, seed=4, cache=NullCache())]
    ).fit(nimads_inputs)
    for name in first.maps:
        np.testing.assert_array_equal(first.maps[name], again.maps[name])
        np.testing.assert_array_equal(first.maps[name], from_disk.maps[name])
    assert not np.array_equal(first.null_distributions[SIZE], other.null_distributions[SIZE])


def test_null_ignores_where_the_foci_are(nimads_inputs, mask):
    moved = CoordinateInputs(
        nimads_inputs.experiment_ids,
        nimads_inputs.xyz[::-1].copy(),
        nimads_inputs.focus_experiment,
        nimads_inputs.sample_sizes,
    )
    design = ALE(mask=mask).design(nimads_inputs, mask)
    assert design.key(10, 0, 0.01) == ALE(mask=mask).design(moved, mask).key(10, 0, 0.01)


@pytest.mark.filterwarnings("ignore:.*Dataset is deprecated:FutureWarning")
def test_ale_montecarlo_fwe_agrees_with_nimare(nimads_inputs, mask):
    ours = ALE(mask=mask, corrections=[MonteCarloFWE(n_iters=N_ITERS, seed=11)]).fit(nimads_inputs)
    fitted = reference.ALE(random_state=11).fit(to_nimare_dataset(nimads_rows()))
    theirs = FWECorrector(method="montecarlo", n_iters=N_ITERS, n_cores=1).transform(fitted)
    nulls = theirs.estimator.null_distributions_
    for key in (VOXEL, SIZE):
        ks = stats.ks_2samp(ours.null_distributions[key], nulls[key])
        assert ks.pvalue > 0.001, key
        difference, standard_error = _percentile_difference(
            ours.null_distributions[key], nulls[key]
        )
        assert abs(difference) < 3 * standard_error, key
    for name in (Z_VOXEL, Z_SIZE):
        n_ours = int((ours.get_map(name) > 1.6448536).sum())
        n_theirs = int((theirs.get_map(name, return_type="array") > 1.6448536).sum())
        assert abs(n_ours - n_theirs) <= 0.2 * n_theirs + 3, name


def test_planted_foci_are_recovered_by_the_cluster_table(mask):
    rng = np.random.default_rng(5)
    planted = np.array([[-40.0, -20.0, 50.0], [42.0, 24.0, 8.0], [0.0, -60.0, 30.0]])
    experiments = {}
    for index in range(25):
        foci = planted + rng.normal(0, 3, size=planted.shape)
        noise = mask.ijk[rng.integers(0, mask.n_voxels, size=4)] * [-2, 2, 2] + [90, -126, -72]
        experiments[f"exp{index:02d}"] = {
            "coordinates": np.vstack([foci, noise]),
            "sample_size": 20,
        }
    inputs = CoordinateInputs.from_experiments(experiments)
    result = ALE(
        ALEKernel(),
        mask=mask,
        corrections=[MonteCarloFWE(n_iters=N_ITERS, seed=0)],
    ).fit(inputs)
    table = result.cluster_table(Z_SIZE, threshold=1.6448536, peak_map="stat")
    assert len(table) == 3
    for focus in planted:
        distances = [
            np.linalg.norm([c.peak_x - focus[0], c.peak_y - focus[1], c.peak_z - focus[2]])
            for c in table
        ]
        assert min(distances) <= 6.0
    assert all(c.size_mm3 == pytest.approx(8 * c.size_voxels) for c in table)
    peaks = result.cluster_table("z", threshold=3.09)
    assert peaks[0].peak_value == pytest.approx(result.get_map("z").max())


@pytest.mark.parametrize("mode", [MODE_MKDA, MODE_KDA], ids=["MKDA", "KDA"])
def test_run_ends_and_the_scratch_grid_give_the_same_null(mask, mode):
    """Integer weights take the run-ends path (meeting MKDA foci as the union of their
    runs); weights of 1.5 take the scratch-grid path. Same draws, so every iteration's
    maximum scales by 1.5 and its clusters (above a threshold scaled alike) are the same.
    Experiments of many foci in a small mask make foci meet often."""
    support = sphere_support(6.0, mask.zooms)
    small = Mask(nib.Nifti1Image((mask.data & (np.indices(mask.shape)[2] < 30)).astype(np.uint8),
                                 mask.affine))
    foci_counts = np.array([12, 30, 3, 18, 1, 25])
    design = partial(MonteCarloDesign, mode, [support], np.zeros(6, dtype=np.int64),
                     foci_counts, mask=small)
    ones, _ = design(np.ones(6)).run(20, seed=5, threshold=1.0)
    scaled, _ = design(np.full(6, 1.5)).run(20, seed=5, threshold=1.5)
    np.testing.assert_array_equal(scaled.stat, 1.5 * ones.stat)
    np.testing.assert_array_equal(scaled.size, ones.size)
    assert ones.size.min() > 0
    expected_max = 6 if mode == MODE_MKDA else foci_counts.sum()
    assert ones.stat.max() <= expected_max
