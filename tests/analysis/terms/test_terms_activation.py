"""The activation matrix against the MKDA kernel's MA maps of the same studies."""

import numpy as np
import pytest

from analysis.meta import MKDAKernel
from analysis.terms import ActivationMatrix, TermsInputError, selection_maps, term_maps
from analysis.terms.activation import BLOCK
from analysis.terms.chi2maps import _groups


def test_counts_equal_the_ma_maps(activation, neurosynth_inputs, mask):
    ma = MKDAKernel().ma_maps(neurosynth_inputs, mask)
    active = (ma > 0).astype(np.int64)
    assert mask.n_voxels > 3 * BLOCK  # several blocks are exercised
    np.testing.assert_array_equal(activation.totals, np.asarray(active.sum(axis=0)).ravel())
    rng = np.random.default_rng(0)
    for size in (1, 5, 19):
        studies = np.sort(rng.choice(activation.n_studies, size, replace=False))
        expected = np.asarray(active[studies].sum(axis=0)).ravel()
        np.testing.assert_array_equal(activation.count(studies), expected)
        np.testing.assert_array_equal(activation.count(studies, batch_size=2), expected)


def test_batches_do_not_change_the_matrix(activation, neurosynth_inputs, mask):
    seen = []
    small = ActivationMatrix.build(neurosynth_inputs, mask, batch_size=3,
                                   progress=lambda *counts: seen.append(counts))
    assert seen[-1] == (20, 20) and len(seen) == 7
    np.testing.assert_array_equal(small.indices, activation.indices)
    np.testing.assert_array_equal(small.bounds, activation.bounds)
    assert small.study_ids == activation.study_ids == neurosynth_inputs.experiment_ids


def test_both_ways_of_grouping_agree():
    key = np.random.default_rng(1).integers(0, 50, 1000)
    by_count = _groups(key, 50)
    by_sort = _groups(key, 10**6)
    for member, inverse, sizes in (by_count, by_sort):
        np.testing.assert_array_equal(key[member][inverse], key)
        np.testing.assert_array_equal(sizes, np.bincount(key)[np.unique(key)])
    np.testing.assert_array_equal(by_count[1], by_sort[1])


def test_selections_need_both_groups(activation, weights):
    with pytest.raises(TermsInputError, match="selects 0 of 20"):
        selection_maps(activation, np.zeros(20, dtype=bool))
    with pytest.raises(TermsInputError, match="one per study"):
        selection_maps(activation, np.ones(3, dtype=bool))
    with pytest.raises(TermsInputError, match="does not match"):
        next(term_maps(activation, weights.indicator()[:, :5], weights.terms))
