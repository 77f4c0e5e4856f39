"""PNG pictures of result maps: three orthogonal slices over the MNI brain, thresholded.

The background is the analysis mask (the MNI152 2 mm brain), drawn in grey; the map is
drawn where its p-value is below a threshold, through the voxel of its largest absolute
value (the centre of the brain when nothing survives). Figures are built with matplotlib's
object API on the Agg canvas, so no display or global state is involved.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure


@dataclass(frozen=True)
class Picture:
    """Which map to show, where which p map is below ``alpha``.

    Attributes
    ----------
    key : str
        Name of the picture in the results.
    value_map, p_map : str
        Map names of a :class:`~analysis.meta.MetaResult`.
    alpha : float
        Voxels with ``p < alpha`` are shown.
    label : str
        What the threshold means, for the title.
    """

    key: str
    value_map: str
    p_map: str
    alpha: float
    label: str


PICTURES = (
    Picture("z_uncorrected", "z", "p", 0.001, "uncorrected p < 0.001"),
    Picture("z_corr-FWE_level-cluster", "z",
            "p_desc-size_level-cluster_corr-FWE_method-montecarlo", 0.05,
            "cluster-level FWE p < 0.05 (size)"),
    Picture("z_corr-FWE_level-voxel", "z", "p_level-voxel_corr-FWE_method-montecarlo", 0.05,
            "voxel-level FWE p < 0.05"),
    Picture("z_corr-FDR", "z", "p_corr-FDR_method-indep", 0.05, "FDR q < 0.05"),
    Picture("z_corr-FDR", "z", "p_corr-FDR_method-negcorr", 0.05, "FDR q < 0.05 (BY)"),
    Picture("z_corr-FWE_method-bonferroni", "z", "p_corr-FWE_method-bonferroni", 0.05,
            "Bonferroni FWE p < 0.05"),
)


def _slices(volume: np.ndarray, ijk: tuple[int, int, int]) -> list[np.ndarray]:
    """Sagittal, coronal and axial slices, oriented for ``imshow(origin="lower")``."""
    i, j, k = ijk
    return [volume[i, :, :].T, volume[:, j, :].T, volume[:, :, k].T]


def orthogonal_png(values: np.ndarray, shown: np.ndarray, brain: np.ndarray,
                   affine: np.ndarray, title: str) -> bytes:
    """Draw one map as three orthogonal slices.

    Parameters
    ----------
    values : numpy.ndarray
        3D map.
    shown : numpy.ndarray
        3D boolean: the voxels to colour.
    brain : numpy.ndarray
        3D boolean background (the brain mask).
    affine : numpy.ndarray
        Voxel-to-MNI affine, to print the cut's coordinates.
    title : str

    Returns
    -------
    bytes
        A PNG image.
    """
    kept = np.where(shown, values, np.nan)
    if np.isfinite(kept).any():
        ijk = np.unravel_index(np.nanargmax(np.abs(kept)), kept.shape)
    else:
        ijk = tuple(int(round(c)) for c in np.argwhere(brain).mean(axis=0))
    ijk = tuple(int(c) for c in ijk)
    extent = float(np.nanmax(np.abs(kept))) if np.isfinite(kept).any() else 1.0
    negative = bool(np.nanmin(kept) < 0) if np.isfinite(kept).any() else False
    norm = Normalize(-extent if negative else 0.0, extent)
    cmap = "RdBu_r" if negative else "hot"
    mm = affine @ np.array([*ijk, 1.0])
    figure = Figure(figsize=(10, 3.6), dpi=80, facecolor="black")
    axes = figure.subplots(1, 3)
    image = None
    for ax, background, overlay, label in zip(
        axes, _slices(brain.astype(float), ijk), _slices(kept, ijk),
        (f"x = {mm[0]:.0f}", f"y = {mm[1]:.0f}", f"z = {mm[2]:.0f}"), strict=True,
    ):
        ax.imshow(background, origin="lower", cmap="gray", vmin=0, vmax=1.6)
        image = ax.imshow(np.ma.masked_invalid(overlay), origin="lower", cmap=cmap, norm=norm)
        ax.set_title(label, color="white", fontsize=10)
        ax.set_axis_off()
    colorbar = figure.colorbar(image, ax=list(axes), fraction=0.02, pad=0.01)
    colorbar.ax.tick_params(colors="white", labelsize=8)
    figure.suptitle(title, color="white", fontsize=11)
    out = io.BytesIO()
    FigureCanvasAgg(figure).print_png(out)
    return out.getvalue()


def result_pictures(result: object) -> dict[str, bytes]:
    """PNGs of every :data:`PICTURES` entry whose maps the result has.

    Parameters
    ----------
    result : MetaResult

    Returns
    -------
    dict of str to bytes
    """
    mask = result.mask
    out: dict[str, bytes] = {}
    for picture in PICTURES:
        if picture.key in out or picture.p_map not in result.maps:
            continue
        values = mask.unmask(result.get_map(picture.value_map).astype(np.float64))
        p = mask.unmask(result.get_map(picture.p_map).astype(np.float64), fill=1.0)
        shown = (p < picture.alpha) & mask.data
        title = f"{result.estimator}: {picture.value_map}, {picture.label}"
        out[picture.key] = orthogonal_png(values, shown, mask.data, mask.affine, title)
    return out
