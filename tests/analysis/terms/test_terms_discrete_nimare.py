"""Discrete decoding against NiMARE 0.22.1's NeurosynthDecoder and BrainMapDecoder.

The studies with foci in a region are found as NiMARE finds them (by mask image, or by
distance to a point), then every term's statistics must equal NiMARE's within a relative
1e-6. Besides the subset's real tf-idf weights (most terms carried by one study), a seeded
random weights matrix over the same studies gives terms carried by 3 to 15 studies.
"""

import nibabel as nib
import numpy as np
import pytest
from nimare.decode.discrete import BrainMapDecoder, NeurosynthDecoder
from scipy import sparse

from analysis.terms import (
    TermsInputError,
    TermWeights,
    brainmap_decode,
    neurosynth_decode,
    studies_in_mask,
    studies_near,
)
from tests.analysis.meta.test_meta_cbma_nimare import max_relative_difference

from .fixtures import nimare_dataset

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*Dataset is deprecated:FutureWarning", "ignore::RuntimeWarning"
)


@pytest.fixture(scope="module")
def random_weights(weights):
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 0.1, (len(weights.study_ids), 30))
    values[rng.uniform(size=values.shape) < 0.55] = 0
    return TermWeights.from_matrix(sparse.csr_matrix(values), weights.study_ids,
                                   [f"term {i}" for i in range(30)])


@pytest.fixture(scope="module")
def roi(mask):
    """A 40 mm box in the left frontal lobe, on the mask's grid."""
    ijk = np.indices(mask.shape).reshape(3, -1).T
    xyz = nib.affines.apply_affine(mask.affine, ijk)
    inside = np.all((xyz >= [-50, 0, 0]) & (xyz <= [-10, 40, 40]), axis=1)
    return nib.Nifti1Image(inside.reshape(mask.shape).astype(np.uint8), mask.affine)


def _ids(weights, selected):
    return [f"{s}-1" for s, chosen in zip(weights.study_ids, selected, strict=True) if chosen]


def _assert_table_equal(ours, theirs):
    # NiMARE orders a Dataset's annotation columns by name.
    assert sorted(ours.terms) == sorted(theirs.index)
    theirs = theirs.loc[list(ours.terms)]
    for column in theirs.columns:
        expected = theirs[column].to_numpy(dtype=np.float64)
        mine = ours.columns[column]
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(expected), err_msg=column)
        finite = ~np.isnan(expected)
        assert max_relative_difference(mine[finite], expected[finite]) <= 1e-6, column


def test_studies_in_a_region_are_nimare_s(neurosynth_inputs, dataset, weights, roi):
    selected = studies_in_mask(neurosynth_inputs, roi)
    assert 0 < selected.sum() < selected.size
    assert sorted(dataset.get_studies_by_mask(roi)) == _ids(weights, selected)
    point = neurosynth_inputs.xyz[0]
    near = studies_near(neurosynth_inputs, point, 25)
    assert 0 < near.sum() < near.size
    assert sorted(dataset.get_studies_by_coordinate([point], r=25)) == _ids(weights, near)


@pytest.mark.parametrize("which", ["real", "random"])
@pytest.mark.parametrize("options", [{}, {"correction": "by", "prior": None, "min_studies": 0.2},
                                     {"correction": "bonferroni", "min_studies": 3},
                                     {"correction": None}])
def test_neurosynth_decoder_equals_nimare(neurosynth_inputs, weights, random_weights, roi, which,
                                         options):
    chosen = weights if which == "real" else random_weights
    dataset = nimare_dataset(chosen)
    selected = studies_in_mask(neurosynth_inputs, roi)
    decoder = NeurosynthDecoder(**options)
    decoder.fit(dataset)
    theirs = decoder.transform(_ids(chosen, selected))
    ours = neurosynth_decode(chosen.indicator(), chosen.terms, selected, **options)
    _assert_table_equal(ours, theirs)


@pytest.mark.parametrize("which", ["real", "random"])
@pytest.mark.parametrize("correction", ["bh", "by", "bonferroni", None])
def test_brainmap_decoder_equals_nimare(neurosynth_inputs, weights, random_weights, roi, which,
                                        correction):
    chosen = weights if which == "real" else random_weights
    dataset = nimare_dataset(chosen)
    selected = studies_near(neurosynth_inputs, neurosynth_inputs.xyz[0], 40)
    decoder = BrainMapDecoder(correction=correction)
    decoder.fit(dataset)
    theirs = decoder.transform(_ids(chosen, selected))
    ours = brainmap_decode(chosen.indicator(), chosen.terms, selected,
                           neurosynth_inputs.foci_per_experiment, correction=correction)
    _assert_table_equal(ours, theirs)


def test_ranked_puts_the_strongest_first(neurosynth_inputs, random_weights, roi):
    table = neurosynth_decode(random_weights.indicator(), random_weights.terms,
                              studies_in_mask(neurosynth_inputs, roi))
    ranked = table.ranked("zReverse")
    values = [value for _, value in ranked]
    assert values == sorted(values, reverse=True)
    assert {term for term, _ in ranked} == set(table.terms)


def test_bad_decoding_inputs_are_named(weights, neurosynth_inputs, roi):
    selected = studies_in_mask(neurosynth_inputs, roi)
    with pytest.raises(TermsInputError, match="correction"):
        neurosynth_decode(weights.indicator(), weights.terms, selected, correction="holm")
    with pytest.raises(TermsInputError, match="does not match"):
        neurosynth_decode(weights.indicator(), weights.terms, selected[:-1])
    with pytest.raises(TermsInputError, match="min_studies"):
        neurosynth_decode(weights.indicator(), weights.terms, selected, min_studies=100)
