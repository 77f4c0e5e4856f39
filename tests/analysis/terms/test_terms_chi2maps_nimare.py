"""Term chi-square maps against NiMARE 0.22.1's MKDAChi2 + FDRCorrector on the same selections.

For a term (or expression) the selected studies are group 1 and every other study of the
dataset group 2, as in NiMARE's term-based analyses. Every map must equal NiMARE's within
a relative 1e-6 at every in-mask voxel.
"""

import numpy as np
import pytest
from nimare.correct import FDRCorrector
from nimare.meta.cbma import MKDAChi2

from analysis.terms import MAP_NAMES, selection_maps, term_maps
from tests.analysis.meta.test_meta_cbma_nimare import max_relative_difference

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*Dataset is deprecated:FutureWarning", "ignore::RuntimeWarning"
)

#: Terms of the subset carried by 8, 3, 3 and 2 of its 20 studies, and expressions.
SELECTIONS = ["activations", "acquisition", "12", "activations AND NOT acquisition",
              "(12 OR able) AND NOT activations"]


def _nimare_maps(dataset, selected_ids):
    unselected = sorted(set(dataset.ids) - set(selected_ids))
    result = MKDAChi2().fit(dataset.slice(sorted(selected_ids)), dataset.slice(unselected))
    return FDRCorrector(method="indep", alpha=0.01).transform(result)


def _assert_equal(ours, theirs):
    for name in MAP_NAMES:
        expected = np.asarray(theirs.get_map(name, return_type="array"), dtype=np.float64)
        mine = ours[name]
        assert mine.dtype == np.float32, name
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(expected), err_msg=name)
        assert max_relative_difference(mine, expected) <= 1e-6, name


@pytest.mark.parametrize("expression", SELECTIONS)
def test_selection_maps_equal_nimare(activation, weights, dataset, expression):
    selected = weights.select(expression)
    ours = selection_maps(activation, selected)
    ids = [f"{study}-1" for study, chosen in zip(weights.study_ids, selected, strict=True)
           if chosen]
    if " " not in expression:
        # A single term selects what NiMARE's get_studies_by_label selects.
        assert sorted(dataset.get_studies_by_label(expression, 0.001)) == sorted(ids)
    _assert_equal(ours, _nimare_maps(dataset, ids))


def test_term_maps_are_the_selection_maps(activation, weights):
    indicator = weights.indicator()
    done = []
    results = list(term_maps(activation, indicator, weights.terms, min_studies=3,
                             progress=lambda *counts: done.append(counts)))
    assert [r.term for r in results] == ["12", "acquisition", "activations"]
    assert [r.n_studies for r in results] == [3, 3, 8]
    assert done == [(1, 3), (2, 3), (3, 3)]
    for result in results:
        expected = selection_maps(activation, weights.select(f'"{result.term}"'))
        assert list(result.maps) == list(MAP_NAMES)
        for name in MAP_NAMES:
            np.testing.assert_array_equal(result.maps[name], expected[name])
