"""The methods paragraph says what ran, and cites exactly what it mentions.

Every estimator is fitted with every correction it takes on a small synthetic mask (fast);
each paragraph must name the mask, the software and its version, the reference
implementation, the seeds and iterations of anything drawn at random, and say "uncorrected"
when nothing was corrected. Every "Author et al., YEAR" it mentions must be in its
references, and every reference must be mentioned.
"""

from __future__ import annotations

import re

import nibabel as nib
import numpy as np
import pytest

from analysis import meta
from analysis.meta.kernels import eickhoff_fwhm
from analysis.meta.results import REFERENCES, software_text, versions

#: "Turkeltaub et al., 2012", "Benjamini and Hochberg, 1995", "Fisher, 1925".
MENTION = re.compile(r"([A-Z][A-Za-z]+)(?: et al\.| and [A-Z][A-Za-z]+)?, (\d{4})")


def _mask():
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -20.0
    return meta.Mask(nib.Nifti1Image(np.ones((20, 20, 20), np.uint8), affine))


MASK = _mask()


def _coordinates(n, first, seed):
    rng = np.random.default_rng(seed)
    ids = np.repeat([f"e{first + i}" for i in range(n)], 3)
    xyz = rng.uniform(-14.0, 14.0, (ids.size, 3))
    sizes = np.repeat(rng.integers(8, 40, n), 3)
    return meta.CoordinateInputs.from_table(ids, *xyz.T, "MNI", sizes)


GROUP1 = _coordinates(6, 0, 1)
GROUP2 = _coordinates(5, 10, 2)


def _images():
    rng = np.random.default_rng(3)
    z = [rng.normal(0.5, 1.0, MASK.shape) for _ in range(4)]
    return meta.ImageInputs.from_images(MASK, z=z, beta=z,
                                        varcope=[np.abs(a) + 0.5 for a in z],
                                        sample_sizes=[10, 20, 30, 40])


IMAGES = _images()

CORRECTIONS = {
    "none": lambda: [],
    "fdr": lambda: [meta.FDRCorrection("indep")],
    "fdr-by": lambda: [meta.FDRCorrection("negcorr")],
    "bonferroni": lambda: [meta.BonferroniCorrection()],
    "montecarlo": lambda: [meta.MonteCarloFWE(n_iters=12, voxel_thresh=0.01, seed=77)],
}

CBMA = {
    "ALE": lambda c: meta.ALE(corrections=c, mask=MASK),
    "ALE-montecarlo-null": lambda c: meta.ALE(null=meta.MonteCarloNull(n_iters=11, seed=5),
                                              corrections=c, mask=MASK),
    "ALE-fixed-fwhm": lambda c: meta.ALE(meta.ALEKernel(fwhm=9), corrections=c, mask=MASK),
    "MKDADensity": lambda c: meta.MKDADensity(corrections=c, mask=MASK),
    "KDA": lambda c: meta.KDA(corrections=c, mask=MASK),
}
PAIRWISE = {
    "MKDAChi2": lambda c: meta.MKDAChi2(corrections=c, mask=MASK),
    "ALESubtraction": lambda c: meta.ALESubtraction(n_iters=20, seed=9, corrections=c,
                                                    mask=MASK),
}
IBMA = {
    "Fishers": lambda c: meta.Fishers(corrections=c),
    "Stouffers": lambda c: meta.Stouffers(True, corrections=c),
    "WeightedLeastSquares": lambda c: meta.WeightedLeastSquares(corrections=c),
    "DerSimonianLaird": lambda c: meta.DerSimonianLaird(corrections=c),
    "Hedges": lambda c: meta.Hedges(corrections=c),
    "VarianceBasedLikelihood": lambda c: meta.VarianceBasedLikelihood("reml", corrections=c),
    "SampleSizeBasedLikelihood": lambda c: meta.SampleSizeBasedLikelihood(corrections=c),
    "PermutedOLS": lambda c: meta.PermutedOLS(n_perm=50, seed=13, corrections=c),
}

CASES = (
    [(name, c) for name in CBMA for c in CORRECTIONS]
    + [(name, c) for name in PAIRWISE for c in CORRECTIONS]
    + [(name, c) for name in IBMA for c in CORRECTIONS if c != "montecarlo"]
)


def _fit(name, correction):
    corrections = CORRECTIONS[correction]()
    if name in CBMA:
        return CBMA[name](corrections).fit(GROUP1)
    if name in PAIRWISE:
        return PAIRWISE[name](corrections).fit(GROUP1, GROUP2)
    return IBMA[name](corrections).fit(IMAGES)


def _cited(result):
    """(first author, year) of every reference of the result."""
    out = set()
    for key in result.citations:
        text = REFERENCES[key]
        out.add((text.split()[0], re.search(r"\((\d{4})\)", text).group(1)))
    return out


@pytest.mark.parametrize(("name", "correction"), CASES)
def test_the_paragraph_says_what_ran_and_cites_what_it_mentions(name, correction):
    result = _fit(name, correction)
    text = result.description
    mentioned = set(MENTION.findall(text))
    assert mentioned == _cited(result), text
    assert "Salo et al., 2023" in text and "NiMARE 0.22.1" in text
    assert f"neurostore {versions()['neurostore']}" in text
    assert "8,000 voxels of 2 x 2 x 2 mm" in text
    clusters = correction == "montecarlo" and name != "ALESubtraction"  # voxel-level only
    assert ("uncorrected" in text) == (correction == "none" or clusters), text
    if correction == "none":
        assert "No correction for multiple comparisons was applied" in text
    if correction == "montecarlo":
        assert "12 iterations (seed 77)" in text
        if clusters:
            assert "cluster-forming threshold of uncorrected p < 0.01" in text
        assert "statistically, not draw for draw" in text
    if correction.startswith("fdr"):
        assert "false discovery rate" in text
    methods = result.methods("Reported as asked.")
    assert methods.index("Reported as asked.") < methods.index("\n\nReferences\n")
    assert all(reference in methods for reference in result.references())


def test_ale_names_the_fwhm_range_the_participants_and_the_within_experiment_maximum():
    text = meta.ALE(mask=MASK).fit(GROUP1).description
    fwhms = [eickhoff_fwhm(n) for n in GROUP1.sample_sizes]
    assert f"ranged from {min(fwhms):.2f} to {max(fwhms):.2f} mm" in text
    assert f"a total of {int(GROUP1.sample_sizes.sum())} participants" in text
    assert "voxel-wise maximum" in text and "Turkeltaub et al., 2012" in text
    assert "Summary statistics were converted to p-values with an approximate null" in text

    fixed = meta.ALE(meta.ALEKernel(fwhm=9), mask=MASK).fit(GROUP1).description
    assert "FWHM) of 9 mm for every experiment" in fixed and "ranged" not in fixed


def test_the_monte_carlo_null_and_permutations_state_their_iterations_and_seeds():
    null = meta.ALE(null=meta.MonteCarloNull(n_iters=11, seed=5), mask=MASK).fit(GROUP1)
    assert "Monte Carlo null distribution of 11 iterations (seed 5)" in null.description
    subtraction = meta.ALESubtraction(n_iters=20, seed=9, mask=MASK).fit(GROUP1, GROUP2)
    assert "20 random relabellings (seed 9)" in subtraction.description
    assert "counts here as a tie in both tails" in subtraction.description
    ols = meta.PermutedOLS(n_perm=50, seed=13).fit(IMAGES).description
    assert "50 random sign flips of the experiments (seed 13)" in ols
    assert "not comparable" in ols and "numerically equivalent" not in ols


def test_a_named_mask_is_named():
    assert "the MNI152NLin6Asym brain mask (228,483 voxels of 2 x 2 x 2 mm)" in (
        meta.Mask.default().description())


def test_the_software_sentence_falls_back_when_the_package_version_is_unknown():
    assert software_text({"neurostore": "1.2.3", "numpy": "2.0"}) == (
        "The analysis was computed with neurostore 1.2.3 (NumPy 2.0).")
    assert "neurostore (version unknown: not installed)." in software_text({"neurostore": None})
