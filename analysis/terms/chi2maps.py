"""MKDA chi-square maps of terms (Neurosynth's term-based meta-analyses), all in one pass.

Each term's studies (group 1) are compared with every other study of the dataset
(group 2), as NiMARE's term-based analyses do, with NiMARE's ``MKDAChi2`` tests: the
uniformity test (forward inference, ``desc-uniformity``) and the association test
(reverse inference, ``desc-association``), each with its FDR-corrected maps
(Benjamini-Hochberg, as NiMARE's ``FDRCorrector(method="indep")`` names them).

Both statistics depend only on a voxel's counts (active studies of group 1, and of
both groups), so voxels sharing their counts share every value: p- and z-values and the
FDR adjustment are computed once per distinct count (a few thousand instead of 228,483
voxels) and the maps are read from those tables. The FDR adjustment of tied values is
the same whether tests are adjusted one by one or per distinct value with its
multiplicity, so the maps are those of NiMARE.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from analysis.meta.corrections import corrected_maps, fdr_nlogp, p_map_nlogp
from analysis.meta.estimators.chi2 import Chi2Fit, chi2_test_maps
from analysis.meta.stats import one_way_chi2, two_way_chi2

from .activation import ActivationMatrix
from .errors import TermsInputError

#: Suffix NiMARE's ``FDRCorrector(method="indep")`` gives MKDA chi-square maps.
FDR_SUFFIX = f"{Chi2Fit.fdr_indep_level}_corr-FDR_method-indep"

#: The two tests, NiMARE's descriptions of them.
TESTS = ("uniformity", "association")

#: Maps of each term, in this order.
MAP_NAMES = tuple(
    f"{kind}_desc-{desc}{suffix}" for desc in TESTS for suffix in ("", FDR_SUFFIX)
    for kind in ("z", "p")
)

#: Called with (terms done, terms to do).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TermMaps:
    """One term's maps.

    Attributes
    ----------
    term : str
        The term (or expression).
    n_studies : int
        Number of studies it selects (group 1).
    maps : dict of str to numpy.ndarray
        Float32 masked maps, named as in :data:`MAP_NAMES`.
    """

    term: str
    n_studies: int
    maps: dict[str, np.ndarray]


def _groups(key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group voxels by a non-negative integer key below ``n_keys``.

    Returns one voxel of each group, each voxel's group, and each group's size. Counting
    keys is linear in the voxels and keys; when there are many more possible keys than
    voxels, sorting them is cheaper.
    """
    if n_keys > 8 * key.size:
        _, first, inverse, sizes = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        return first, inverse, sizes
    sizes = np.bincount(key, minlength=n_keys)
    present = np.flatnonzero(sizes)
    group = np.zeros(n_keys, dtype=np.int64)
    group[present] = np.arange(present.size)
    inverse = group[key]
    member = np.empty(present.size, dtype=np.int64)
    member[inverse] = np.arange(key.size)
    return member, inverse, sizes[present]


def _test_maps(
    desc: str, chi2: np.ndarray, sign: np.ndarray, key: np.ndarray, n_keys: int
) -> dict[str, np.ndarray]:
    """Return a test's z and p maps, uncorrected and FDR-corrected, one per voxel.

    ``key`` is equal at two voxels whenever their counts are, so it groups voxels whose
    statistics are the same; the values are computed once per group.
    """
    member, inverse, multiplicity = _groups(key, n_keys)
    table = chi2_test_maps(desc, chi2[member], sign[member])
    p_name = f"p_desc-{desc}"
    adjusted = fdr_nlogp(p_map_nlogp(table, p_name), "bh", multiplicity)
    table.update(corrected_maps(table, p_name, adjusted, FDR_SUFFIX))
    return {
        name: table[name][inverse]
        for name in (f"z_desc-{desc}", p_name, f"z_desc-{desc}{FDR_SUFFIX}", p_name + FDR_SUFFIX)
    }


def count_maps(
    counts1: np.ndarray, n1: int, activation: ActivationMatrix
) -> dict[str, np.ndarray]:
    """Return the chi-square maps of a group of studies from its activation counts.

    Parameters
    ----------
    counts1 : numpy.ndarray of int
        Studies of the group activating each voxel.
    n1 : int
        Studies in the group.
    activation : ActivationMatrix
        The dataset; group 2 is every study outside the group.

    Returns
    -------
    dict of str to numpy.ndarray
        Float32 maps named as in :data:`MAP_NAMES`.
    """
    n2 = activation.n_studies - n1
    a = counts1.astype(np.float64)
    b = activation.totals - a
    # NiMARE's signs, computed as it does: above or below the mean count, and group 1's
    # activation rate above or below group 2's.
    most = int(counts1.max())
    maps = _test_maps(
        "uniformity", one_way_chi2(a, n1), np.sign(a - np.mean(a)), counts1, most + 1
    )
    # Voxels with the same (group 1, total) counts; totals only take a few thousand values.
    total_values, total_rank = activation.distinct_totals
    pair = counts1.astype(np.int64) * total_values.size + total_rank
    maps.update(
        _test_maps(
            "association",
            two_way_chi2(a, b, n1, n2),
            np.sign(a / n1 - b / n2),
            pair,
            (most + 1) * total_values.size,
        )
    )
    return {name: maps[name] for name in MAP_NAMES}


def selection_maps(activation: ActivationMatrix, selected: np.ndarray) -> dict:
    """Return the chi-square maps of one selection of studies (a term or an expression).

    Parameters
    ----------
    activation : ActivationMatrix
        The dataset.
    selected : numpy.ndarray of bool
        One entry per study of ``activation``: the studies of group 1.

    Returns
    -------
    dict of str to numpy.ndarray
        Float32 maps named as in :data:`MAP_NAMES`; they equal NiMARE's
        ``MKDAChi2().fit(selected, unselected)`` followed by ``FDRCorrector("indep")``.

    Raises
    ------
    TermsInputError
        If the selection does not have one entry per study, or selects no study or all.
    """
    selected = np.asarray(selected, dtype=bool)
    if selected.shape != (activation.n_studies,):
        raise TermsInputError(
            f"selected: expected {activation.n_studies} entries (one per study), "
            f"got shape {selected.shape}"
        )
    n1 = int(selected.sum())
    if not 0 < n1 < activation.n_studies:
        raise TermsInputError(
            f"selected: selects {n1} of {activation.n_studies} studies; a chi-square "
            "comparison needs at least one study in each group"
        )
    counts1 = activation.count(np.flatnonzero(selected))
    return count_maps(counts1, n1, activation)


def term_maps(
    activation: ActivationMatrix,
    indicator: sparse.csr_matrix,
    terms: tuple[str, ...] | list[str],
    *,
    min_studies: int = 1,
    progress: Progress | None = None,
) -> Iterator[TermMaps]:
    """Yield the chi-square maps of every term selecting at least ``min_studies`` studies.

    Terms are done one at a time, so memory stays at the activation matrix plus one
    term's counts and maps; a caller writes each out as it comes.

    Parameters
    ----------
    activation : ActivationMatrix
        The dataset.
    indicator : scipy.sparse.csr_matrix of bool
        Terms x studies selections (see :meth:`TermWeights.indicator`), columns in the
        order of ``activation``'s studies.
    terms : sequence of str
        Name of each row of ``indicator``.
    min_studies : int, optional
        Smallest number of selected studies for a term to be analysed. Terms selecting
        every study are skipped too (group 2 would be empty).
    progress : callable, optional
        Called with (terms done, terms to do) after each term.

    Yields
    ------
    TermMaps
        In the order of ``terms``.

    Raises
    ------
    TermsInputError
        If the sizes of ``indicator``, ``terms`` and ``activation`` disagree.
    """
    indicator = sparse.csr_matrix(indicator, dtype=bool, copy=True)
    if indicator.shape != (len(terms), activation.n_studies):
        raise TermsInputError(
            f"indicator: shape {indicator.shape} does not match {len(terms)} terms x "
            f"{activation.n_studies} studies"
        )
    indicator.eliminate_zeros()
    n_selected = np.diff(indicator.indptr)
    todo = np.flatnonzero((n_selected >= min_studies) & (n_selected < activation.n_studies))
    for done, term in enumerate(todo, start=1):
        studies = indicator.indices[indicator.indptr[term] : indicator.indptr[term + 1]]
        counts1 = activation.count(studies)
        n1 = int(n_selected[term])
        maps = count_maps(counts1, n1, activation)
        yield TermMaps(str(terms[term]), n1, maps)
        if progress is not None:
            progress(done, todo.size)
