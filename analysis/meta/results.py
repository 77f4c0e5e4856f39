"""MetaResult: maps, cluster tables, methods text and provenance of a fit."""

from __future__ import annotations

import functools
import platform
from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np

from .clusters import cluster_table, signed_cluster_table

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import nibabel as nib
    from numpy.typing import ArrayLike

    from .clusters import Cluster
    from .mask import Mask

REFERENCES = {
    "eickhoff2009": "Eickhoff SB et al. (2009). Coordinate-based activation likelihood "
    "estimation meta-analysis of neuroimaging data. Hum Brain Mapp 30:2907-2926.",
    "eickhoff2012": "Eickhoff SB et al. (2012). Activation likelihood estimation meta-analysis "
    "revisited. NeuroImage 59:2349-2361.",
    "turkeltaub2002": "Turkeltaub PE et al. (2002). Meta-analysis of the functional "
    "neuroanatomy of single-word reading. NeuroImage 16:765-780.",
    "turkeltaub2012": "Turkeltaub PE et al. (2012). Minimizing within-experiment and "
    "within-group effects in activation likelihood estimation meta-analyses. Hum Brain Mapp "
    "33:1-13.",
    "laird2005": "Laird AR et al. (2005). ALE meta-analysis: controlling the false discovery "
    "rate and performing statistical contrasts. Hum Brain Mapp 25:155-164.",
    "wager2004": "Wager TD et al. (2004). Neuroimaging studies of shifting attention: a "
    "meta-analysis. NeuroImage 22:1679-1693.",
    "wager2007": "Wager TD et al. (2007). Meta-analysis of functional neuroimaging data: "
    "current and future directions. Soc Cogn Affect Neurosci 2:150-158.",
    "lancaster2007": "Lancaster JL et al. (2007). Bias between MNI and Talairach coordinates "
    "analyzed using the ICBM-152 brain template. Hum Brain Mapp 28:1194-1205.",
    "benjamini1995": "Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate. "
    "J R Stat Soc B 57:289-300.",
    "benjamini2001": "Benjamini Y, Yekutieli D (2001). The control of the false discovery rate "
    "in multiple testing under dependency. Ann Stat 29:1165-1188.",
    "salo2023": "Salo T et al. (2023). NiMARE: Neuroimaging Meta-Analysis Research "
    "Environment. Aperture Neuro 3.",
    "yarkoni2019": "Yarkoni T et al. (2019). PyMARE: Python Meta-Analysis & Regression Engine.",
    "dersimonian1986": "DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. "
    "Control Clin Trials 7:177-188.",
    "hedges1985": "Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis.",
    "stouffer1949": "Stouffer SA et al. (1949). The American Soldier.",
    "fisher1925": "Fisher RA (1925). Statistical Methods for Research Workers.",
    "nichols2002": "Nichols TE, Holmes AP (2002). Nonparametric permutation tests for "
    "functional neuroimaging: a primer with examples. Hum Brain Mapp 15:1-25.",
}


#: The implementation whose maps the engine reproduces, and against which it is tested.
REFERENCE_IMPLEMENTATION = "NiMARE 0.22.1"


def versions() -> dict[str, str | None]:
    """Return the versions of the packages a result depends on."""
    return dict(_versions())


def software_text(found: Mapping[str, str | None] | None = None) -> str:
    """Return the sentence naming the software that computed a result, with its version.

    Parameters
    ----------
    found : dict, optional
        Package versions as :func:`versions` returns them (read here by default); a
        missing ``neurostore`` version (a source tree that was never installed) is said so.
    """
    found = versions() if found is None else found
    version = found.get("neurostore")
    name = f"neurostore {version}" if version else "neurostore (version unknown: not installed)"
    libraries = ", ".join(f"{label} {found[key]}" for key, label in
                          (("python", "Python"), ("numpy", "NumPy"), ("scipy", "SciPy"))
                          if found.get(key))
    return f"The analysis was computed with {name}" + (f" ({libraries})." if libraries else ".")


@functools.cache
def _versions() -> tuple[tuple[str, str | None], ...]:
    # Read once per process: looking the packages up took 8 ms of every fit.
    out = {"python": platform.python_version()}
    for name in ("neurostore", "numpy", "scipy", "nibabel", "numba", "pymare"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return tuple(out.items())


class MetaResult:
    """The outcome of a meta-analysis.

    Parameters
    ----------
    estimator : str
        Name of the estimator.
    mask : Mask
        Analysis mask; maps hold one value per in-mask voxel.
    maps : dict of str to numpy.ndarray
        Named maps (NiMARE-style names such as ``z``, ``p``, ``stat``, ``logp``,
        ``z_level-voxel_corr-FWE_method-montecarlo``).
    description : str
        Methods paragraph.
    citations : list of str
        Keys of :data:`REFERENCES` cited by ``description``.
    params : dict
        Parameters of the estimator, kernel, null and corrections.
    null_distributions : dict of str to numpy.ndarray, optional
        Null distributions used.
    """

    def __init__(
        self,
        estimator: str,
        mask: Mask,
        maps: Mapping[str, ArrayLike],
        description: str,
        citations: Iterable[str],
        params: dict[str, object],
        null_distributions: Mapping[str, np.ndarray] | None,
    ) -> None:
        self.estimator = estimator
        self.mask = mask
        self.maps = {name: np.asarray(value) for name, value in maps.items()}
        self.description = description
        self.citations = sorted(set(citations))
        self.params = params
        self.null_distributions = dict(null_distributions or {})
        self.versions = versions()

    def get_map(self, name: str) -> np.ndarray:
        """Return a map as a masked 1D array."""
        if name not in self.maps:
            raise KeyError(f"no map named {name!r}; available: {sorted(self.maps)}")
        return self.maps[name]

    def get_image(self, name: str) -> nib.Nifti1Image:
        """Return a map as a NIfTI image on the mask grid."""
        return self.mask.to_image(self.get_map(name))

    def references(self) -> list[str]:
        """Return the full references cited by the methods paragraph."""
        return [REFERENCES[key] for key in self.citations]

    def methods(self, report: str = "") -> str:
        """Return the methods paragraph, then ``report`` (how results were reported), then
        the references."""
        parts = [self.description] + ([report] if report else [])
        return "\n\n".join(parts) + "\n\nReferences\n" + "\n".join(self.references())

    def cluster_table(
        self,
        map_name: str = "z",
        threshold: float = 3.090232306167813,
        min_size: int = 1,
        peak_map: str | None = None,
    ) -> list[Cluster]:
        """Return the clusters of a map above a threshold, largest peak first.

        Parameters
        ----------
        map_name : str
            Map to cluster.
        threshold : float
            Voxels strictly above it form clusters (face connectivity); the default is
            z for p = 0.001.
        min_size : int
            Smallest cluster reported, in voxels.
        peak_map : str, optional
            Map whose maximum in each cluster gives the peak (default ``map_name``); use
            ``"stat"`` or ``"z"`` with a cluster-level corrected map, which is constant
            within a cluster.

        Returns
        -------
        list of Cluster
            Peak MNI coordinates, peak value, size in voxels and in mm3.
        """
        volume = self.mask.unmask(self.get_map(map_name).astype(np.float64))
        peaks = self.mask.unmask(self.get_map(peak_map or map_name).astype(np.float64))
        return cluster_table(volume, self.mask.affine, threshold, min_size, peaks)

    def significant_clusters(
        self, p_map: str, alpha: float, peak_map: str = "z", min_size: int = 1
    ) -> list[Cluster]:
        """Return the clusters of the voxels where ``p_map < alpha``, signed by ``peak_map``.

        Parameters
        ----------
        p_map : str
            Map of (uncorrected or corrected) p-values.
        alpha : float
            Voxels with p strictly below it form clusters (face connectivity), positive
            and negative values of ``peak_map`` apart.
        peak_map : str
            Map whose value of largest magnitude in each cluster gives the peak.
        min_size : int
            Smallest cluster reported, in voxels.

        Returns
        -------
        list of Cluster
            Positive clusters first; peak MNI coordinates, peak value, size in voxels and
            in mm3.
        """
        values = self.mask.unmask(self.get_map(peak_map).astype(np.float64))
        p = self.mask.unmask(self.get_map(p_map).astype(np.float64), fill=1.0)
        shown = (p < alpha) & self.mask.data
        return signed_cluster_table(values, shown, self.mask.affine, min_size)
