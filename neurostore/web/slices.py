"""Pictures of brain maps for the pages: one slice of a NIfTI volume as a PNG, thumbnails.

The slice viewer (``static/slice_viewer.js``, the ``slice_viewer`` macro) asks for one
slice per axis as the user moves its sliders; each slice is a small PNG (one pixel per
voxel, scaled up by the browser), so no map is ever sent whole. Volumes are read once and
kept by their content-addressed file name (the same name always means the same bytes).
"""

from __future__ import annotations

import gzip
import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nibabel as nib
import numpy as np
from matplotlib import colormaps

AXES = "xyz"
#: Volumes kept in memory (a 2 mm MNI map is 3.6 MB as float32).
CACHED = 16


@dataclass(frozen=True)
class Volume:
    """A 3-D map: its voxels (float32, NaN outside the data), affine and colour scale."""

    data: np.ndarray
    affine: np.ndarray
    vmax: float
    signed: bool

    @property
    def peak(self) -> tuple[int, int, int]:
        """The voxel of the largest absolute value (the centre of the shape when empty)."""
        finite = np.nan_to_num(np.abs(self.data), nan=0.0)
        if not finite.any():
            return tuple(int(n) // 2 for n in self.data.shape)  # type: ignore[return-value]
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(finite)), finite.shape))  # type: ignore[return-value]

    def viewer(self) -> dict[str, Any]:
        """What the viewer needs: the shape, the starting voxel and each axis' mm scale
        (from the affine's diagonal: maps on a standard grid are not oblique)."""
        origin = self.affine @ np.array([0.0, 0.0, 0.0, 1.0])
        steps = [float(self.affine[i, i]) for i in range(3)]
        return {"shape": list(self.data.shape), "peak": list(self.peak),
                "origin": [round(float(o), 3) for o in origin[:3]],
                "step": [round(s, 3) for s in steps], "vmax": round(self.vmax, 4),
                "signed": self.signed}


def load_volume(raw: bytes) -> Volume:
    """Read a NIfTI-1/2 file (gzipped or not) into a :class:`Volume`.

    Raises
    ------
    ValueError
        When the bytes are not a NIfTI image or the image is not 3-D (a 4-D image with one
        volume counts as 3-D).
    """
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        img = nib.Nifti1Image.from_bytes(raw)
    except Exception as exc:  # nibabel raises many types for a bad header
        try:
            img = nib.Nifti2Image.from_bytes(raw)
        except Exception:
            raise ValueError(f"not a NIfTI image: {exc}") from exc
    data = np.asarray(img.dataobj, dtype=np.float32)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValueError(f"the image has shape {data.shape}; a 3-D map is needed")
    data = np.where(np.isfinite(data) & (data != 0), data, np.nan)
    finite = np.abs(data[np.isfinite(data)])
    vmax = float(np.percentile(finite, 99.5)) if finite.size else 1.0
    signed = bool(finite.size) and bool(np.nanmin(data) < 0)
    return Volume(data=data, affine=img.affine, vmax=vmax or 1.0, signed=signed)


class VolumeCache:
    """The last :data:`CACHED` volumes read, by content-addressed file name (thread safe)."""

    def __init__(self, size: int = CACHED) -> None:
        self.size = size
        self._volumes: OrderedDict[str, Volume] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, read: Callable[[], bytes]) -> Volume:
        """The volume stored as ``name``; ``read`` returns its bytes when not cached."""
        with self._lock:
            if name in self._volumes:
                self._volumes.move_to_end(name)
                return self._volumes[name]
        volume = load_volume(read())
        with self._lock:
            self._volumes[name] = volume
            while len(self._volumes) > self.size:
                self._volumes.popitem(last=False)
        return volume


VOLUMES = VolumeCache()


def _plane(volume: Volume, axis: str, index: int) -> np.ndarray:
    if axis not in AXES:
        raise ValueError(f"axis must be one of x, y, z (got {axis!r})")
    size = volume.data.shape[AXES.index(axis)]
    if not 0 <= index < size:
        raise ValueError(f"index must be between 0 and {size - 1} for axis {axis}")
    plane = np.take(volume.data, index, axis=AXES.index(axis))
    return np.rot90(plane)  # first remaining voxel axis runs left to right, the second up


def _png(rgba: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(out, format="PNG", optimize=False)
    return out.getvalue()


def _colour(plane: np.ndarray, volume: Volume, vmax: float | None) -> np.ndarray:
    top = vmax or volume.vmax
    if volume.signed:
        cmap, scaled = colormaps["RdBu_r"], (plane / top + 1.0) / 2.0
    else:
        cmap, scaled = colormaps["inferno"], 0.15 + 0.85 * (plane / top)
    rgba = cmap(np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0), bytes=True)
    rgba[..., 3] = np.where(np.isnan(plane), 0, 255)
    return rgba


def slice_png(volume: Volume, axis: str, index: int | None = None,
              vmax: float | None = None) -> bytes:
    """One slice as a PNG with one pixel per voxel; empty voxels are transparent.

    Parameters
    ----------
    volume
        The map.
    axis
        ``"x"`` (sagittal), ``"y"`` (coronal) or ``"z"`` (axial).
    index
        Voxel index along ``axis``; the peak's when ``None``.
    vmax
        Top of the colour scale (the 99.5th percentile of absolute values by default);
        signed maps use a blue-red scale symmetric around 0.

    Raises
    ------
    ValueError
        For an unknown axis or an index outside the volume.
    """
    if index is None:
        index = volume.peak[AXES.index(axis)] if axis in AXES else 0
    return _png(_colour(_plane(volume, axis, index), volume, vmax))


def thumbnail_png(volume: Volume) -> bytes:
    """The three slices through the peak, side by side, as one PNG (for result lists)."""
    planes = [_colour(_plane(volume, axis, volume.peak[n]), volume, None)
              for n, axis in enumerate(AXES)]
    height = max(p.shape[0] for p in planes)
    padded = [np.pad(p, ((0, height - p.shape[0]), (0, 2), (0, 0))) for p in planes]
    return _png(np.concatenate(padded, axis=1))
