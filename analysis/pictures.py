"""PNG pictures of result maps, thresholded: slices over the MNI template and a glass brain.

Each threshold of :mod:`analysis.report` that a result has is drawn twice:

- ``<key>``: three orthogonal slices through the voxel of largest absolute value shown (the
  centre of the brain when nothing survives), over the MNI152 T1 template;
- ``<key>_glass``: a glass brain, the maximum-intensity projection of the shown voxels
  (the value of largest magnitude along each line of sight, with its sign) onto the
  sagittal, coronal and axial planes, inside the outline of the brain mask.

The colour bar starts at the smallest absolute value shown (the threshold on the map's own
scale, marked by a line and a tick); values below it are grey on the bar and never drawn.

The template is the skull-stripped MNI152 (ICBM 2009a, symmetric) T1 that nilearn ships as
package data (the file ``nilearn.datasets.load_mni152_template`` reads; no download). It is
read straight from the installed package, which does not import ``nilearn.datasets`` (3.6 s
of scikit-learn imports), and resampled once per process onto the mask's grid. Without it,
the mask's silhouette stands in. Figures use matplotlib's object API on the Agg canvas, so
no display and no pyplot state is involved: threads can draw at the same time.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

import nibabel as nib
import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from scipy import ndimage

from analysis.report import Threshold, thresholds

LOG = logging.getLogger(__name__)

#: The template inside the installed nilearn package.
TEMPLATE = ("datasets", "data", "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
#: Size of every picture: inches at DPI (800 x 288 pixels).
FIGSIZE = (10.0, 3.6)
DPI = 80
_BELOW = (0.35, 0.35, 0.35, 1.0)


@dataclass(frozen=True)
class Drawn:
    """One picture: its name, PNG bytes, the threshold it shows and where its bar starts."""

    name: str
    png: bytes
    threshold: Threshold
    glass: bool
    shown_from: float | None

    def summary(self) -> dict[str, Any]:
        """What the picture shows, as the run's results record it."""
        return {"map": self.threshold.value_map, "p_map": self.threshold.p_map,
                "alpha": self.threshold.alpha, "label": self.threshold.label,
                "view": "glass brain" if self.glass else "slices",
                "shown_from": self.shown_from}


@functools.lru_cache(maxsize=4)
def _template_on(shape: tuple[int, ...], affine: tuple[float, ...]) -> np.ndarray | None:
    """The MNI T1 template resampled (linearly) onto a grid, scaled to [0, 1], or None."""
    try:
        source = resources.files("nilearn").joinpath(*TEMPLATE)
        with resources.as_file(source) as path:
            img = nib.load(path)
            data = np.asarray(img.dataobj, dtype=np.float32)
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        LOG.warning("no MNI template for pictures (%s); drawing over the mask instead", exc)
        return None
    to_template = np.linalg.inv(img.affine) @ np.asarray(affine).reshape(4, 4)
    out = ndimage.affine_transform(data, to_template[:3, :3], to_template[:3, 3],
                                   output_shape=shape, order=1)
    top = float(np.percentile(out[out > 0], 99.5)) if (out > 0).any() else 1.0
    out = np.clip(out / top, 0.0, 1.0)
    out.flags.writeable = False
    return out


def background(mask: Any) -> np.ndarray:
    """The anatomy pictures are drawn over: the template on the mask's grid (or the mask)."""
    template = _template_on(mask.shape, tuple(np.asarray(mask.affine, float).ravel()))
    return template if template is not None else mask.data.astype(float) * 0.6


def _colours(vmax: float, threshold: float, signed: bool) -> tuple[ListedColormap, Normalize]:
    """A colour map that is grey below ``threshold`` in magnitude, and its normalisation."""
    levels = np.linspace(-vmax if signed else 0.0, vmax, 512)
    magnitude = np.clip((np.abs(levels) - threshold) / max(vmax - threshold, 1e-12), 0, 1)
    # Positive: hot from dark red to white; negative: its mirror, from blue to cyan.
    colours = colormaps["hot"](0.25 + 0.75 * magnitude)
    negative = levels < 0
    colours[negative, 0] = 0.0
    colours[negative, 1] = 0.25 + 0.75 * magnitude[negative]
    colours[negative, 2] = 1.0
    colours[np.abs(levels) < threshold] = _BELOW
    return ListedColormap(colours), Normalize(levels[0], vmax)


def _slices(volume: np.ndarray, ijk: tuple[int, ...]) -> list[np.ndarray]:
    """Sagittal, coronal and axial slices, oriented for ``imshow(origin="lower")``."""
    i, j, k = ijk
    return [volume[i, :, :].T, volume[:, j, :].T, volume[:, :, k].T]


def _projections(volume: np.ndarray) -> list[np.ndarray]:
    """Signed maximum-intensity projections along x, y and z (NaN where nothing is shown)."""
    filled = np.nan_to_num(volume, nan=0.0)
    out = []
    for axis in (0, 1, 2):
        index = np.expand_dims(np.argmax(np.abs(filled), axis=axis), axis)
        projected = np.take_along_axis(filled, index, axis=axis).squeeze(axis)
        out.append(np.where(projected == 0, np.nan, projected).T)
    return out


def _label_sides(axes: list, affine: np.ndarray) -> None:
    """Write L and R on the coronal and axial views (x grows to the right when a[0,0] > 0)."""
    left, right = ("L", "R") if affine[0, 0] > 0 else ("R", "L")
    for ax in axes[1:]:
        for x, text in ((0.02, left), (0.98, right)):
            ax.text(x, 0.02, text, transform=ax.transAxes, color="white", fontsize=9,
                    ha="left" if x < 0.5 else "right", va="bottom")


def draw(values: np.ndarray, shown: np.ndarray, anatomy: np.ndarray, brain: np.ndarray,
         affine: np.ndarray, title: str, *, glass: bool) -> tuple[bytes, float | None]:
    """Draw one thresholded map as slices over ``anatomy`` or as a glass brain.

    Parameters
    ----------
    values : numpy.ndarray
        3D map.
    shown : numpy.ndarray
        3D boolean: the voxels that passed the threshold.
    anatomy : numpy.ndarray
        3D background in [0, 1] (the template on the map's grid).
    brain : numpy.ndarray
        3D boolean brain mask (the glass brain's outline; the centre when nothing shows).
    affine : numpy.ndarray
        Voxel-to-MNI affine, to print the cuts' coordinates.
    title : str
    glass : bool
        A glass brain instead of slices.

    Returns
    -------
    (bytes, float or None)
        The PNG and the smallest absolute value shown (None when nothing is).
    """
    kept = np.where(shown, values, np.nan)
    any_shown = bool(np.isfinite(kept).any())
    if any_shown:
        ijk = np.unravel_index(np.nanargmax(np.abs(kept)), kept.shape)
        magnitude = np.abs(kept[np.isfinite(kept)])
        threshold, vmax = float(magnitude.min()), float(magnitude.max())
        signed = bool(np.nanmin(kept) < 0)
    else:
        ijk = tuple(int(round(c)) for c in np.argwhere(brain).mean(axis=0))
        threshold, vmax, signed = 0.0, 1.0, False
    ijk = tuple(int(c) for c in ijk)
    vmax = max(vmax, threshold * 1.02 + 1e-6)
    cmap, norm = _colours(vmax, threshold, signed)
    figure = Figure(figsize=FIGSIZE, dpi=DPI, facecolor="black")
    axes = list(figure.subplots(1, 3))
    if glass:
        outlines = [brain.any(axis=a).T.astype(float) for a in (0, 1, 2)]
        overlays = _projections(kept)
        names = ("sagittal", "coronal", "axial")
    else:
        outlines = _slices(anatomy, ijk)
        overlays = _slices(kept, ijk)
        mm = affine @ np.array([*ijk, 1.0])
        names = (f"x = {mm[0]:.0f}", f"y = {mm[1]:.0f}", f"z = {mm[2]:.0f}")
    for ax, under, overlay, name in zip(axes, outlines, overlays, names, strict=True):
        if glass:
            ax.imshow(under * 0.18, origin="lower", cmap="gray", vmin=0, vmax=1)
            ax.contour(under, levels=[0.5], colors=["0.7"], linewidths=0.8)
        else:
            ax.imshow(under, origin="lower", cmap="gray", vmin=0, vmax=1)
        ax.imshow(np.ma.masked_invalid(overlay), origin="lower", cmap=cmap, norm=norm,
                  interpolation="nearest")
        ax.set_title(name, color="white", fontsize=10)
        ax.set_axis_off()
    _label_sides(axes, affine)
    if any_shown:
        bar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, fraction=0.02,
                              pad=0.01)
        ticks = [threshold, vmax] + ([-threshold, -vmax] if signed else [])
        bar.set_ticks(sorted(ticks), labels=[f"{t:.2f}" for t in sorted(ticks)])
        for t in (threshold, -threshold) if signed else (threshold,):
            bar.ax.axhline(t, color="white", linewidth=1.0)
        bar.ax.tick_params(colors="white", labelsize=8)
    else:
        title += " (no voxel passes the threshold)"
    figure.suptitle(title, color="white", fontsize=11)
    out = io.BytesIO()
    FigureCanvasAgg(figure).print_png(out)
    return out.getvalue(), (threshold if any_shown else None)


def result_pictures(result: Any) -> list[Drawn]:
    """Slices and a glass brain of every threshold of :mod:`analysis.report` the result has.

    Parameters
    ----------
    result : MetaResult

    Returns
    -------
    list of Drawn
    """
    mask = result.mask
    anatomy = background(mask)
    out: list[Drawn] = []
    for threshold in thresholds(result):
        values = mask.unmask(result.get_map(threshold.value_map).astype(np.float64))
        p = mask.unmask(result.get_map(threshold.p_map).astype(np.float64), fill=1.0)
        shown = (p < threshold.alpha) & mask.data
        title = f"{result.estimator}: {threshold.value_map}, {threshold.label}"
        for glass in (False, True):
            png, shown_from = draw(values, shown, anatomy, mask.data, mask.affine,
                                   title + (" (glass brain)" if glass else ""), glass=glass)
            name = threshold.key + ("_glass" if glass else "")
            out.append(Drawn(name, png, threshold, glass, shown_from))
    return out
