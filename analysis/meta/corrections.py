"""Multiple-comparison corrections, applied to a fitted model.

A correction receives the :class:`~analysis.meta.estimators.base.FittedModel` of a fit
and returns new maps named like NiMARE's (``<kind>[_desc-x][_level-y]_corr-<TYPE>_method-
<method>``) plus a sentence for the methods paragraph. The uncorrected maps are never
modified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .clusters import cluster_measures
from .stats import clip_p, nlogp_to_logp, nlogp_to_z, null_to_p, p_to_z

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Protocol

    from numpy.typing import NDArray

    from .estimators.base import FittedModel
    from .mask import Mask
    from .montecarlo import NullCache, NullMaxima

    class Correction(Protocol):
        """What an estimator needs of a correction: maps and a sentence from a fit."""

        def apply(self, model: FittedModel) -> tuple[dict[str, NDArray[np.float32]], str]: ...

_FLOAT32_TINY = float(np.nextafter(np.float32(0), np.float32(1)))


def _p_maps(maps: Mapping[str, np.ndarray]) -> list[str]:
    """Yield the uncorrected p-map names of a map dictionary."""
    return [name for name in maps if name.split("_")[0] == "p" and "_corr-" not in name]


def p_map_nlogp(maps: Mapping[str, np.ndarray], p_name: str) -> NDArray[np.float64]:
    """Natural-log p-values of a p map, taken from logp where p hit its float32 floor.

    Corrections start from the stored float32 p map (as NiMARE's do), so this is what they
    adjust.
    """
    p = np.asarray(maps[p_name])
    nlogp = np.log(np.clip(p.astype(np.float64), np.finfo(np.float64).tiny, 1.0))
    logp_name = p_name.replace("p", "logp", 1)
    if logp_name in maps:
        floored = p <= _FLOAT32_TINY
        nlogp = np.where(floored, -np.log(10.0) * maps[logp_name].astype(np.float64), nlogp)
    return nlogp


def corrected_maps(
    maps: Mapping[str, np.ndarray], p_name: str, nlogp: NDArray[np.float64], suffix: str
) -> dict[str, NDArray[np.float32]]:
    """Return the corrected p, z and logp maps for one p map."""
    z_name = p_name.replace("p", "z", 1)
    logp_name = p_name.replace("p", "logp", 1)
    out = {p_name + suffix: clip_p(np.exp(nlogp))}
    if z_name in maps:
        out[z_name + suffix] = (nlogp_to_z(nlogp, two_sided=True) * np.sign(maps[z_name])).astype(
            np.float32
        )
    if logp_name in maps:
        out[logp_name + suffix] = nlogp_to_logp(nlogp)
    return out


def _adjusted(
    model: FittedModel,
    p_name: str,
    adjust: Callable[[NDArray[np.float64]], NDArray[np.float64]],
) -> NDArray[np.float64]:
    """Apply ``adjust`` to one p map's natural-log p-values over the voxels tested.

    Like NiMARE, which adjusts only the p-values that are not NaN, a correction counts
    only the voxels where a test was made: NaN voxels stay NaN, and voxels an estimator
    left out (see :attr:`FittedModel.tested`) keep p = 1.
    """
    nlogp = p_map_nlogp(model.maps, p_name)
    tested = ~np.isnan(nlogp)
    if model.tested is not None:
        tested &= model.tested
    adjusted = np.where(np.isnan(nlogp), np.nan, 0.0)
    adjusted[tested] = adjust(nlogp[tested])
    return adjusted


def fdr_nlogp(nlogp: NDArray[np.float64], method: str = "bh",
              multiplicity: NDArray[np.int64] | None = None) -> NDArray[np.float64]:
    """Benjamini-Hochberg ("bh") or -Yekutieli ("by") step-up adjustment in log space.

    Parameters
    ----------
    nlogp : numpy.ndarray
        Natural-log p-values.
    method : {"bh", "by"}, optional
        Step-up rule.
    multiplicity : numpy.ndarray of int, optional
        How many tests share each value (default: one each). Tied tests all get the value
        of the last of them in the sorted order, so adjusting distinct values with their
        multiplicities gives exactly what adjusting every test would.

    Returns
    -------
    numpy.ndarray
        Adjusted natural-log p-values, one per entry of ``nlogp``.
    """
    order = np.argsort(nlogp)
    if multiplicity is None:
        n_tests = nlogp.size
        ranks = np.arange(1, n_tests + 1)
    else:
        ranks = np.cumsum(multiplicity[order])
        n_tests = int(ranks[-1])
    log_factor = np.log(ranks / n_tests)
    if method == "by":
        log_factor = log_factor - np.log(np.sum(1 / np.arange(1, n_tests + 1)))
    adjusted = nlogp[order] - log_factor
    adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
    out = np.empty_like(adjusted)
    out[order] = np.minimum(adjusted, 0.0)
    return out


@dataclass(frozen=True)
class FDRCorrection:
    """False discovery rate adjustment of every uncorrected p map.

    Parameters
    ----------
    method : {"indep", "negcorr"}
        Benjamini-Hochberg (independent or positively dependent tests) or
        Benjamini-Yekutieli (any dependence).
    """

    method: str = "indep"

    def __post_init__(self) -> None:
        if self.method not in ("indep", "negcorr"):
            raise ValueError(
                f"FDRCorrection: method must be 'indep' or 'negcorr', not {self.method!r}"
            )

    def apply(self, model: FittedModel) -> tuple[dict[str, NDArray[np.float32]], str]:
        """Return the FDR-adjusted maps and a description."""
        rule = "bh" if self.method == "indep" else "by"
        level = model.fdr_indep_level if rule == "bh" else ""
        suffix = f"{level}_corr-FDR_method-{self.method}"
        maps = {}
        for p_name in _p_maps(model.maps):
            adjusted = _adjusted(model, p_name, lambda nlogp: fdr_nlogp(nlogp, rule))
            maps.update(corrected_maps(model.maps, p_name, adjusted, suffix))
        return maps, (
            "P-values were adjusted for the false discovery rate (FDR) over the voxels tested "
            + ("with the Benjamini-Hochberg procedure (Benjamini and Hochberg, 1995)."
               if rule == "bh" else
               "with the Benjamini-Yekutieli procedure, valid under any dependence between "
               "tests (Benjamini and Yekutieli, 2001).")
        )

    @property
    def citations(self) -> tuple[str, ...]:
        """Keys of the references the description cites."""
        return ("benjamini1995",) if self.method == "indep" else ("benjamini2001",)


@dataclass(frozen=True)
class BonferroniCorrection:
    """Bonferroni family-wise error correction of every uncorrected p map."""

    def apply(self, model: FittedModel) -> tuple[dict[str, NDArray[np.float32]], str]:
        """Return the Bonferroni-corrected maps and a description."""
        maps = {}
        for p_name in _p_maps(model.maps):
            corrected = _adjusted(
                model, p_name, lambda nlogp: np.minimum(nlogp + np.log(nlogp.size), 0.0)
            )
            suffix = "_corr-FWE_method-bonferroni"
            maps.update(corrected_maps(model.maps, p_name, corrected, suffix))
        return maps, ("P-values were corrected for family-wise error (FWE) with the Bonferroni "
                      "method over the voxels tested.")


@dataclass(frozen=True)
class MonteCarloFWE:
    """Family-wise error correction from a Monte Carlo null of maxima.

    Voxel level: each statistic is compared with the maximum statistic of every random
    dataset. Cluster level: clusters above the cluster-forming threshold (``voxel_thresh``,
    an uncorrected p-value) are compared by size and by mass with the largest random
    cluster. The null depends only on the design and is cached (see
    :class:`~analysis.meta.montecarlo.NullCache`).

    Parameters
    ----------
    n_iters : int
        Number of random datasets.
    voxel_thresh : float
        Cluster-forming uncorrected p-value threshold.
    seed : int
        Seed; the same seed gives the same output.
    cache : NullCache or None
        Where nulls are cached; None uses the process-wide in-memory cache
        (:data:`~analysis.meta.montecarlo.DEFAULT_CACHE`); ``NullCache(max_items=0)`` keeps
        nothing.
    """

    n_iters: int = 1000
    voxel_thresh: float = 0.001
    seed: int = 0
    cache: NullCache | None = None

    #: What of the analysis this correction draws at random (see the methods paragraph).
    draws = "the family-wise error correction"

    def apply(self, model: FittedModel) -> tuple[dict[str, NDArray[np.float32]], str]:
        """Return the FWE-corrected maps and a description."""
        return model.correct_fwe_montecarlo(self)

    def description(self, threshold: float | None = None) -> str:
        """Return sentences describing the correction.

        Parameters
        ----------
        threshold : float, optional
            The summary statistic the cluster-forming p-value came to, to name it too.
        """
        statistic = (f" (a summary statistic above {threshold:.4g})"
                     if threshold is not None else "")
        return (
            "Family-wise error (FWE) was controlled with a Monte Carlo procedure of "
            f"{self.n_iters} iterations (seed {self.seed}): in each, every focus was replaced "
            "by one drawn uniformly from the mask, and the largest summary statistic, the "
            "largest cluster size and the largest cluster mass were recorded, giving the "
            "null distributions of voxel-level and cluster-level (size and mass) FWE "
            "p-values. Clusters were formed, with face connectivity (6 neighbours), from "
            f"the voxels above a cluster-forming threshold of uncorrected p < "
            f"{self.voxel_thresh:g}{statistic}."
        )


def fwe_montecarlo_maps(
    desc: str,
    p_voxel: NDArray[np.float64],
    p_size: NDArray[np.float64] | None,
    p_mass: NDArray[np.float64] | None,
    sign: NDArray[np.float32] | None = None,
) -> dict[str, NDArray[np.float32]]:
    """Name NiMARE-style p, z and logp maps for voxel- and cluster-level FWE p-values.

    Parameters
    ----------
    desc : str
        Statistic description ("" for a single-statistic estimator, e.g. "association").
    p_voxel, p_size, p_mass : numpy.ndarray
        Voxel-level, cluster-size and cluster-mass corrected p-values; ``p_size`` and
        ``p_mass`` may be None (no cluster-level maps).
    sign : numpy.ndarray, optional
        Direction of each voxel's effect (two-group estimators): z-values are then
        two-sided and signed; without it they are one-sided and non-negative.

    Returns
    -------
    dict
    """
    suffix = "_corr-FWE_method-montecarlo"
    voxel = f"_desc-{desc}_level-voxel" if desc else "_level-voxel"
    size = f"_desc-{desc}Size_level-cluster" if desc else "_desc-size_level-cluster"
    mass = f"_desc-{desc}Mass_level-cluster" if desc else "_desc-mass_level-cluster"
    maps = {}
    for name, p in ((voxel, p_voxel), (size, p_size), (mass, p_mass)):
        if p is None:
            continue
        p32 = clip_p(p)
        maps[f"p{name}{suffix}"] = p32
        if sign is None:
            maps[f"z{name}{suffix}"] = p_to_z(p).astype(np.float32)
        else:
            nlogp = np.log(p32.astype(np.float64))
            maps[f"z{name}{suffix}"] = (nlogp_to_z(nlogp, two_sided=True) * sign).astype(np.float32)
        maps[f"logp{name}{suffix}"] = -np.log10(p32)
    return maps


def cluster_level_p(
    volume: NDArray[np.float64], threshold: float, mask: Mask, null: NullMaxima
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return cluster-size and cluster-mass FWE p-values of every in-mask voxel.

    Voxels outside supra-threshold clusters get the largest p-value the null allows.

    Parameters
    ----------
    volume : numpy.ndarray
        3D statistic map (zero outside the mask).
    threshold : float
        Cluster-forming threshold on the statistic.
    mask : Mask
        Analysis mask.
    null : NullMaxima
        Null maxima of cluster size and mass.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Size and mass p-values, masked.
    """
    labels, sizes, masses = cluster_measures(volume, threshold)
    masses[0] = 0.0
    p_size = null_to_p(sizes.astype(np.float64), null.size)[labels]
    p_mass = null_to_p(masses, null.mass)[labels]
    return p_size[mask.data], p_mass[mask.data]
