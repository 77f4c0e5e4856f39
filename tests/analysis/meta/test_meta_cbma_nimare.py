"""ALE, MKDA density and KDA maps, and FDR/Bonferroni maps, against NiMARE 0.22.1.

Tolerance: max relative difference <= 1e-6 on every in-mask voxel (where both values are
zero the difference is zero).
"""

import nimare.meta.cbma as reference
import numpy as np
import pytest
from nimare.correct import FDRCorrector, FWECorrector

from analysis.meta import (
    ALE,
    KDA,
    BonferroniCorrection,
    FDRCorrection,
    MKDADensity,
)
from tests.support.datasets import neurosynth_rows, nimads_rows, to_nimare_dataset

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*Dataset is deprecated:FutureWarning",
)

DATASETS = {"neurosynth": neurosynth_rows, "nimads": nimads_rows}


def max_relative_difference(ours, theirs):
    """Largest |a - b| / |b| over voxels (0 where both are 0)."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64).ravel()
    diff = np.abs(ours - theirs)
    scale = np.abs(theirs)
    rel = np.where(diff == 0, 0.0, diff / np.where(scale == 0, np.inf, scale))
    rel[(diff > 0) & (scale == 0)] = np.inf
    return float(rel.max())


@pytest.fixture(scope="module")
def nimare_datasets():
    return {name: to_nimare_dataset(load()) for name, load in DATASETS.items()}


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("name", ["ALE", "MKDADensity", "KDA"])
def test_maps_equal_nimare(name, dataset, request, nimare_datasets, mask):
    ours = {"ALE": ALE, "MKDADensity": MKDADensity, "KDA": KDA}[name]
    inputs = request.getfixturevalue(f"{dataset}_inputs")
    result = ours(mask=mask).fit(inputs)
    theirs = getattr(reference, name)().fit(nimare_datasets[dataset])
    for map_name in ("stat", "p", "z", "logp"):
        expected = theirs.get_map(map_name, return_type="array")
        assert max_relative_difference(result.get_map(map_name), expected) <= 1e-6, map_name


@pytest.mark.parametrize(
    ("correction", "corrector_args"),
    [
        (FDRCorrection("indep"), ("FDR", {"method": "indep"})),
        (FDRCorrection("negcorr"), ("FDR", {"method": "negcorr"})),
        (BonferroniCorrection(), ("FWE", {"method": "bonferroni"})),
    ],
)
def test_fdr_and_bonferroni_equal_nimare(correction, corrector_args, nimads_inputs, mask):
    kind, kwargs = corrector_args
    result = ALE(corrections=[correction], mask=mask).fit(nimads_inputs)
    reference_result = reference.ALE().fit(to_nimare_dataset(nimads_rows()))
    corrector = FDRCorrector(**kwargs) if kind == "FDR" else FWECorrector(**kwargs)
    corrected = corrector.transform(reference_result)
    suffix = f"_corr-{kind}_method-{kwargs['method']}"
    for map_name in ("p", "z", "logp"):
        expected = corrected.get_map(map_name + suffix, return_type="array")
        assert max_relative_difference(result.get_map(map_name + suffix), expected) <= 1e-6
