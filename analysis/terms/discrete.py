"""Discrete decoding: which terms characterise the studies with foci in a region.

The studies reporting a focus in a region of interest (a mask image, or within a radius
of points) are compared with the other studies of the dataset, term by term, with the
statistics of NiMARE's ``NeurosynthDecoder`` (Yarkoni et al., 2011) and
``BrainMapDecoder`` (Amft et al., 2015), vectorised over terms.
"""

from dataclasses import dataclass

import nibabel as nib
import numpy as np
from scipy import sparse, stats

from analysis.meta.corrections import fdr_nlogp
from analysis.meta.inputs import CoordinateInputs
from analysis.meta.space import mm_to_voxel
from analysis.meta.stats import chi2_to_nlogp, nlogp_to_z, one_way_chi2, two_way_chi2

from .errors import TermsInputError

#: Corrections across terms, as NiMARE's decoders name them (None: uncorrected).
CORRECTIONS = (None, "bh", "by", "bonferroni")


def studies_in_mask(inputs: CoordinateInputs, roi: nib.Nifti1Image) -> np.ndarray:
    """Return which studies have a focus in the non-zero voxels of an ROI image.

    Foci are placed on the image's grid by rounding, and foci outside the image are
    moved to its nearest edge voxel, as NiMARE's ``Dataset.get_studies_by_mask`` does.

    Returns
    -------
    numpy.ndarray of bool
        One entry per study of ``inputs``.
    """
    data = np.asanyarray(roi.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise TermsInputError(f"roi: expected a 3D image, got shape {data.shape}")
    ijk = np.clip(mm_to_voxel(inputs.xyz, roi.affine), 0, np.array(data.shape) - 1)
    inside = data[ijk[:, 0], ijk[:, 1], ijk[:, 2]] != 0
    return np.bincount(inputs.focus_experiment[inside], minlength=inputs.n_experiments) > 0


def studies_near(inputs: CoordinateInputs, xyz: np.ndarray, radius: float) -> np.ndarray:
    """Return which studies have a focus within ``radius`` mm of any of the points ``xyz``.

    As NiMARE's ``Dataset.get_studies_by_coordinate`` (distances in MNI space, <= radius).
    """
    points = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    near = np.zeros(inputs.n_foci, dtype=bool)
    for point in points:
        near |= np.sqrt(np.sum((inputs.xyz - point) ** 2, axis=1)) <= radius
    return np.bincount(inputs.focus_experiment[near], minlength=inputs.n_experiments) > 0


@dataclass(frozen=True)
class DecodingTable:
    """Statistics per term, in NiMARE's column names.

    Attributes
    ----------
    terms : tuple of str
        Terms, one per row.
    columns : dict of str to numpy.ndarray
        Each column, one float64 value per term.
    """

    terms: tuple[str, ...]
    columns: dict[str, np.ndarray]

    def ranked(self, column: str, *, descending: bool = True) -> list[tuple[str, float]]:
        """Return (term, value) pairs of a column, best first (NaN last)."""
        values = self.columns[column]
        key = -values if descending else values
        order = np.argsort(np.where(np.isnan(values), np.inf, key), kind="stable")
        return [(self.terms[i], float(values[i])) for i in order]


@dataclass(frozen=True)
class _Counts:
    """Per-term counts of the selected and unselected studies that carry each term."""

    terms: tuple[str, ...]
    selected_term: np.ndarray
    unselected_term: np.ndarray
    n_selected: int
    n_unselected: int

    @property
    def term(self) -> np.ndarray:
        return self.selected_term + self.unselected_term

    @property
    def selected_noterm(self) -> np.ndarray:
        return self.n_selected - self.selected_term

    @property
    def unselected_noterm(self) -> np.ndarray:
        return self.n_unselected - self.unselected_term

    def subset(self, keep: np.ndarray) -> "_Counts":
        """Return the counts of the terms where ``keep`` is true."""
        return _Counts(
            tuple(term for term, kept in zip(self.terms, keep, strict=True) if kept),
            self.selected_term[keep],
            self.unselected_term[keep],
            self.n_selected,
            self.n_unselected,
        )

    def association_nlogp(self) -> np.ndarray:
        """Natural-log p of the two-way chi-square of term against selection."""
        chi2 = two_way_chi2(
            self.selected_term, self.unselected_term, self.n_selected, self.n_unselected
        )
        return chi2_to_nlogp(chi2)


def _counts(
    indicator: sparse.csr_matrix, terms: tuple[str, ...] | list[str], selected: np.ndarray
) -> tuple[_Counts, sparse.csr_matrix]:
    """Count each term's selected and unselected studies; drop terms with no study."""
    indicator = sparse.csr_matrix(indicator, dtype=bool, copy=True)
    selected = np.asarray(selected, dtype=bool)
    if indicator.shape != (len(terms), selected.size):
        raise TermsInputError(
            f"indicator: shape {indicator.shape} does not match {len(terms)} terms x "
            f"{selected.size} studies"
        )
    indicator.eliminate_zeros()
    # NiMARE's decoders leave out the terms no study of the dataset carries.
    present = np.flatnonzero(np.diff(indicator.indptr) > 0)
    if present.size == 0:
        raise TermsInputError("indicator: no term selects any study")
    indicator = indicator[present]
    n_term = np.diff(indicator.indptr).astype(np.int64)
    selected_term = indicator.astype(np.int64) @ selected.astype(np.int64)
    n_selected = int(selected.sum())
    counts = _Counts(
        tuple(terms[i] for i in present),
        selected_term,
        n_term - selected_term,
        n_selected,
        selected.size - n_selected,
    )
    return counts, indicator


def _corrected(nlogp: np.ndarray, correction: str | None) -> np.ndarray:
    """Correct natural-log p-values across terms."""
    if correction is None:
        return nlogp
    if correction in ("bh", "by"):
        return fdr_nlogp(nlogp, correction)
    if correction == "bonferroni":
        return np.minimum(nlogp + np.log(nlogp.size), 0.0)
    raise TermsInputError(f"correction: expected one of {CORRECTIONS}, got {correction!r}")


def _p(nlogp: np.ndarray) -> np.ndarray:
    """p-values from natural-log p, clipped to the positive float64 range."""
    return np.clip(np.exp(nlogp), np.finfo(np.float64).tiny, 1.0)


def neurosynth_decode(
    indicator: sparse.csr_matrix,
    terms: tuple[str, ...] | list[str],
    selected: np.ndarray,
    *,
    prior: float | None = 0.5,
    correction: str | None = "bh",
    min_studies: float = 1,
) -> DecodingTable:
    """Rank terms by Neurosynth's tests of the selected studies against the others.

    As NiMARE's ``NeurosynthDecoder.transform(ids)``: the uniformity test (``*Forward``,
    a one-way chi-square of each term's count among the selected studies against the
    mean count) and the association test (``*Reverse``, a two-way chi-square of term
    against selection), corrected across terms, with the posterior probabilities under a
    uniform ``prior``.

    Parameters
    ----------
    indicator : scipy.sparse.csr_matrix of bool
        Terms x studies selections (see :meth:`TermWeights.indicator`).
    terms : sequence of str
        Term of each row.
    selected : numpy.ndarray of bool
        One entry per study: the studies of the region.
    prior : float or None, optional
        Prior probability of a term; None uses each term's frequency.
    correction : {None, "bh", "by", "bonferroni"}, optional
        Correction across terms.
    min_studies : int or float, optional
        Terms carried by fewer studies are left out; a float in (0, 1) is a proportion
        of the studies.

    Returns
    -------
    DecodingTable
        Columns ``pForward``, ``zForward``, ``probForward``, ``pReverse``, ``zReverse``,
        ``probReverse``.

    Raises
    ------
    TermsInputError
        On sizes that disagree, an unknown correction, or no term left.
    """
    counts, _ = _counts(indicator, terms, selected)
    if min_studies < 0:
        raise TermsInputError(f"min_studies: must be >= 0, got {min_studies!r}")
    n_studies = counts.n_selected + counts.n_unselected
    proportion = isinstance(min_studies, float) and min_studies < 1
    keep = counts.term >= (min_studies * n_studies if proportion else min_studies)
    if not keep.any():
        raise TermsInputError(f"min_studies: no term is carried by {min_studies} studies")
    counts = counts.subset(keep)
    n_term = counts.term
    n_noterm = counts.selected_noterm + counts.unselected_noterm
    with np.errstate(divide="ignore", invalid="ignore"):
        p_selected_g_term = counts.selected_term / n_term
        p_selected_g_noterm = counts.selected_noterm / n_noterm
    prior_values = n_term / (n_term + n_noterm) if prior is None else prior

    chi2_forward = one_way_chi2(counts.selected_term, counts.n_selected)
    sign_forward = np.sign(counts.selected_term - np.mean(counts.selected_term))
    nlogp_forward = _corrected(chi2_to_nlogp(chi2_forward), correction)
    nlogp_reverse = _corrected(counts.association_nlogp(), correction)
    sign_reverse = np.sign(p_selected_g_term - p_selected_g_noterm)

    with np.errstate(divide="ignore", invalid="ignore"):
        prob_forward = prior_values * p_selected_g_term + (1 - prior_values) * p_selected_g_noterm
        prob_reverse = p_selected_g_term * prior_values / prob_forward
    return DecodingTable(
        counts.terms,
        {
            "pForward": _p(nlogp_forward),
            "zForward": nlogp_to_z(nlogp_forward, two_sided=True) * sign_forward,
            "probForward": prob_forward,
            "pReverse": _p(nlogp_reverse),
            "zReverse": nlogp_to_z(nlogp_reverse, two_sided=True) * sign_reverse,
            "probReverse": prob_reverse,
        },
    )


def brainmap_decode(
    indicator: sparse.csr_matrix,
    terms: tuple[str, ...] | list[str],
    selected: np.ndarray,
    foci_per_study: np.ndarray,
    *,
    correction: str | None = "bh",
) -> DecodingTable:
    """Rank terms by the BrainMap method's tests of the selected studies against the others.

    As NiMARE's ``BrainMapDecoder.transform(ids)``: forward inference is a one-sided
    binomial test of the term's selected studies among its foci (``*Forward``), reverse
    inference the two-way chi-square of term against selection (``*Reverse``); terms
    carried by fewer than 5 selected studies get p = 1.

    Parameters
    ----------
    indicator : scipy.sparse.csr_matrix of bool
        Terms x studies selections.
    terms : sequence of str
        Term of each row.
    selected : numpy.ndarray of bool
        One entry per study: the studies of the region.
    foci_per_study : numpy.ndarray of int
        Number of foci of each study (``CoordinateInputs.foci_per_experiment``).
    correction : {None, "bh", "by", "bonferroni"}, optional
        Correction across terms.

    Returns
    -------
    DecodingTable
        Columns ``pForward``, ``zForward``, ``likelihoodForward``, ``pReverse``,
        ``zReverse``, ``probReverse``.
    """
    selected = np.asarray(selected, dtype=bool)
    counts, indicator = _counts(indicator, terms, selected)
    foci = np.asarray(foci_per_study, dtype=np.int64)
    if foci.shape != (selected.size,):
        raise TermsInputError(f"foci_per_study: expected {selected.size} entries")
    # As NiMARE: the selection's probability is its number of studies over all foci.
    p_selected = counts.n_selected / foci.sum()
    p_term = counts.term / indicator.nnz
    term_foci = indicator.astype(np.int64) @ foci
    with np.errstate(divide="ignore", invalid="ignore"):
        p_selected_g_term = counts.selected_term / term_foci
        p_selected_g_noterm = counts.selected_noterm / (foci.sum() - term_foci)
        p_term_g_selected = p_selected_g_term * p_term / p_selected
    p_term_g_selected = p_term_g_selected / np.nansum(p_term_g_selected)

    nlogp_forward = stats.binom.logsf(counts.selected_term - 1, term_foci, p_selected)
    nlogp_reverse = counts.association_nlogp()
    rare = counts.selected_term < 5
    nlogp_forward[rare] = 0.0
    nlogp_reverse[rare] = 0.0
    nlogp_forward = _corrected(nlogp_forward, correction)
    nlogp_reverse = _corrected(nlogp_reverse, correction)
    sign_reverse = np.sign(p_selected_g_term - p_selected_g_noterm)
    return DecodingTable(
        counts.terms,
        {
            "pForward": _p(nlogp_forward),
            "zForward": nlogp_to_z(nlogp_forward),
            "likelihoodForward": p_selected_g_term / p_selected,
            "pReverse": _p(nlogp_reverse),
            "zReverse": nlogp_to_z(nlogp_reverse, two_sided=True) * sign_reverse,
            "probReverse": p_term_g_selected,
        },
    )
