"""Continuous decoding against NiMARE 0.22.1's CorrelationDecoder on the same term maps.

NiMARE's decoder runs MKDAChi2 for each term (selected studies against the others) and
correlates the input with each term's ``z_desc-association`` map. Its maps must equal
ours within a relative 1e-6, and its r within 1e-6.
"""

import mmap
import os

import nibabel as nib
import numpy as np
import pytest
from nimare.decode.continuous import CorrelationDecoder

from analysis.terms import (
    DEFAULT_MAP,
    TermMapMatrix,
    TermsInputError,
    masked_values,
    term_maps,
)
from tests.analysis.meta.test_meta_cbma_nimare import max_relative_difference

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*Dataset is deprecated:FutureWarning", "ignore::RuntimeWarning"
)

TERMS = ["12", "acquisition", "activations"]


@pytest.fixture(scope="module")
def ours(activation, weights):
    indicator = weights.indicator()
    return {r.term: r.maps for r in term_maps(activation, indicator, weights.terms,
                                              min_studies=3)}


@pytest.fixture(scope="module")
def image(ours, mask):
    """A float64 input map: a term's uniformity map plus seeded noise."""
    noise = np.random.default_rng(0).normal(0, 1, mask.n_voxels)
    values = ours["activations"]["z_desc-uniformity"].astype(np.float64) + noise
    return nib.Nifti1Image(mask.unmask(values), mask.affine)


def test_correlation_decoder_equals_nimare(dataset, ours, image, mask):
    decoder = CorrelationDecoder(features=TERMS, frequency_threshold=0.001)
    decoder.fit(dataset)
    assert decoder.target_image == DEFAULT_MAP
    for term in TERMS:
        expected = np.asarray(decoder.results_.maps[term], dtype=np.float64)
        assert max_relative_difference(ours[term][DEFAULT_MAP], expected) <= 1e-6, term
    expected_r = decoder.transform(image)["r"]

    matrix = TermMapMatrix.from_maps(TERMS, (ours[t][DEFAULT_MAP] for t in TERMS),
                                     mask.n_voxels)
    r = matrix.correlate(masked_values(image, mask))
    np.testing.assert_allclose(r, expected_r.loc[TERMS].to_numpy(dtype=np.float64), rtol=0,
                               atol=1e-6)
    ranked = matrix.decode(masked_values(image, mask))
    assert [term for term, _ in ranked] == list(expected_r.sort_values(ascending=False).index)


def test_saved_matrix_is_mapped_back(tmp_path, ours, image, mask):
    matrix = TermMapMatrix.from_maps(TERMS, (ours[t][DEFAULT_MAP] for t in TERMS),
                                     mask.n_voxels)
    matrix.save(tmp_path)
    loaded = TermMapMatrix.load(tmp_path)
    assert isinstance(loaded.standardised, np.memmap)
    assert loaded.terms == tuple(TERMS)
    values = masked_values(image, mask)
    np.testing.assert_array_equal(loaded.correlate(values), matrix.correlate(values))


def test_constant_map_has_no_correlation_and_ranks_last():
    matrix = TermMapMatrix.from_maps(["flat", "up", "down"],
                                     [np.ones(4), np.arange(4.0), -np.arange(4.0)], 4)
    values = np.array([0.0, 1.0, 2.0, 4.0])
    r = matrix.correlate(values)
    assert np.isnan(r[0])
    assert [term for term, _ in matrix.decode(values)] == ["up", "down", "flat"]


def test_maps_of_the_wrong_size_are_refused():
    with pytest.raises(TermsInputError, match="map 1 does not fit"):
        TermMapMatrix.from_maps(["a", "b"], [np.ones(4), np.ones(3)], 4)
    with pytest.raises(TermsInputError, match="got 1 maps for 2 terms"):
        TermMapMatrix.from_maps(["a", "b"], [np.ones(4)], 4)
    matrix = TermMapMatrix.from_maps(["a"], [np.arange(4.0)], 4)
    with pytest.raises(TermsInputError, match="expected 4 voxels"):
        matrix.correlate(np.ones(5))


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not hasattr(mmap, "MADV_DONTNEED") or not os.path.exists("/proc/self"),
                    reason="needs madvise(MADV_DONTNEED) and /proc (Linux)")
def test_a_mapped_matrix_does_not_stay_resident(tmp_path):
    """Decoding streams a mapped matrix: 400 MB of term maps leave the process's resident
    memory as they are read, and the correlations equal those of the matrix in memory."""
    rng = np.random.default_rng(0)
    n_terms, n_voxels = 500, 200_000
    out = np.lib.format.open_memmap(tmp_path / "standardised.npy", mode="w+",
                                    dtype=np.float32, shape=(n_terms, n_voxels))
    for start in range(0, n_terms, 50):
        out[start:start + 50] = rng.standard_normal((50, n_voxels), dtype=np.float32)
    out.flush()
    del out
    (tmp_path / "terms.txt").write_text("".join(f"t{i}\n" for i in range(n_terms)))
    values = rng.standard_normal(n_voxels)
    loaded = TermMapMatrix.load(tmp_path)
    before = _resident_mb()
    r = loaded.correlate(values)
    grown = _resident_mb() - before
    assert grown < 150, f"decoding left {grown:.0f} MB of a 400 MB matrix resident"
    in_memory = TermMapMatrix(loaded.terms, np.load(tmp_path / "standardised.npy"))
    np.testing.assert_allclose(r, in_memory.correlate(values), rtol=1e-6, atol=1e-7)
