"""Inputs of a meta-analysis: coordinate tables and per-experiment images."""

from __future__ import annotations

import gzip
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

from .errors import MetaAnalysisInputError
from .space import tal_to_mni

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Self, TypeAlias, TypedDict

    from numpy.typing import ArrayLike, NDArray

    from .mask import Mask

    #: One experiment's image: a NIfTI image, a 3D array, or the path of a NIfTI file.
    ImageItem: TypeAlias = nib.Nifti1Image | np.ndarray | str | os.PathLike[str]

    class ExperimentFoci(TypedDict, total=False):
        """One experiment of :meth:`CoordinateInputs.from_experiments`."""

        coordinates: ArrayLike
        space: str
        sample_size: float | None

_MNI_NAMES = {"mni", "mni152", "mni152_2mm", "icbm"}
_TAL_NAMES = {"tal", "talairach"}


def _to_mni(xyz: ArrayLike, spaces: NDArray[np.str_]) -> NDArray[np.float64]:
    """Return MNI coordinates, converting the rows whose space is Talairach."""
    xyz = np.array(xyz, dtype=np.float64)
    for space in np.unique(spaces):
        key = str(space).strip().lower()
        if key in _TAL_NAMES:
            rows = spaces == space
            xyz[rows] = tal_to_mni(xyz[rows])
        elif key not in _MNI_NAMES:
            raise MetaAnalysisInputError(
                f"space: unknown coordinate space {space!r} (expected 'MNI' or 'TAL')"
            )
    return xyz


@dataclass(frozen=True, eq=False)
class CoordinateInputs:
    """Peak coordinates grouped by experiment, in MNI space.

    Experiments are kept in one order, by default sorted by id (string order, as NiMARE
    sorts a Dataset), which fixes the order in which they enter every computation. Build
    instances with :meth:`from_table` or :meth:`from_experiments`, which validate and
    convert the input.

    Attributes
    ----------
    experiment_ids : tuple of str
        Experiment ids, in that order.
    xyz : numpy.ndarray of shape (n_foci, 3)
        MNI coordinates in mm.
    focus_experiment : numpy.ndarray of shape (n_foci,)
        Index into ``experiment_ids`` of each focus.
    sample_sizes : numpy.ndarray of shape (n_experiments,)
        Sample size of each experiment, NaN where unknown.
    """

    experiment_ids: tuple[str, ...]
    xyz: NDArray[np.float64]
    focus_experiment: NDArray[np.int32]
    sample_sizes: NDArray[np.float64]

    @classmethod
    def from_table(
        cls,
        experiment_id: ArrayLike,
        x: ArrayLike,
        y: ArrayLike,
        z: ArrayLike,
        space: ArrayLike = "MNI",
        sample_size: ArrayLike | None = None,
        order: str = "id",
    ) -> Self:
        """Build inputs from one row per focus.

        Parameters
        ----------
        experiment_id : array_like of str
            Experiment of each focus.
        x, y, z : array_like of float
            Coordinates in mm.
        space : str or array_like of str, optional
            ``"MNI"`` or ``"TAL"``, for all rows or per row. Talairach rows are converted
            to MNI (inverse Lancaster icbm2tal).
        sample_size : float, array_like or None, optional
            Sample size per row (constant within an experiment) or None.
        order : {"id", "given"}, optional
            Order of the experiments: by id (as NiMARE orders a Dataset), or as they first
            appear in ``experiment_id``. Sums over experiments round in this order.

        Returns
        -------
        CoordinateInputs

        Raises
        ------
        MetaAnalysisInputError
            On an empty table, a missing or non-finite coordinate, an unknown space, or
            sample sizes that differ within an experiment.
        """
        ids = np.asarray(experiment_id, dtype=str).ravel()
        if ids.size == 0:
            raise MetaAnalysisInputError("coordinates: no coordinates were given")
        xyz = np.column_stack([np.asarray(v, dtype=np.float64).ravel() for v in (x, y, z)])
        if xyz.shape[0] != ids.size:
            raise MetaAnalysisInputError(
                "coordinates: experiment_id, x, y and z must have the same length"
            )
        bad = ~np.isfinite(xyz).all(axis=1)
        if bad.any():
            first = str(ids[bad][0])
            raise MetaAnalysisInputError(
                f"coordinates: experiment {first!r} has a missing or non-finite coordinate"
            )
        spaces = np.broadcast_to(np.asarray(space, dtype=str), ids.shape)
        xyz = _to_mni(xyz, spaces)

        experiment_ids, first_row, focus_experiment = np.unique(ids, return_index=True,
                                                                return_inverse=True)
        if order == "given":
            by_appearance = np.argsort(first_row, kind="stable")
            rank = np.empty_like(by_appearance)
            rank[by_appearance] = np.arange(by_appearance.size)
            experiment_ids, focus_experiment = experiment_ids[by_appearance], rank[focus_experiment]
        elif order != "id":
            raise ValueError(f"order must be 'id' or 'given', not {order!r}")
        rows = np.argsort(focus_experiment, kind="stable")
        focus_experiment = focus_experiment[rows].astype(np.int32)
        xyz = xyz[rows]

        sample_sizes = np.full(experiment_ids.size, np.nan)
        if sample_size is not None:
            per_row = np.broadcast_to(np.asarray(sample_size, dtype=np.float64), ids.shape)
            per_row = per_row[rows]
            for index, exp_id in enumerate(experiment_ids):
                values = per_row[focus_experiment == index]
                if np.isnan(values).all():
                    continue
                if np.isnan(values).any() or np.ptp(values) > 0:
                    raise MetaAnalysisInputError(
                        f"sample_size: experiment {str(exp_id)!r} has inconsistent sample sizes"
                    )
                if values[0] <= 0:
                    raise MetaAnalysisInputError(
                        f"sample_size: experiment {str(exp_id)!r} has a non-positive sample size"
                    )
                sample_sizes[index] = values[0]
        return cls(tuple(experiment_ids.tolist()), xyz, focus_experiment, sample_sizes)

    @classmethod
    def from_experiments(cls, experiments: Mapping[str, ExperimentFoci]) -> Self:
        """Build inputs from a mapping of experiment id to its foci.

        Parameters
        ----------
        experiments : mapping
            ``{experiment_id: {"coordinates": [[x, y, z], ...], "space": "MNI",
            "sample_size": n}}``; ``space`` defaults to MNI and ``sample_size`` to unknown.

        Returns
        -------
        CoordinateInputs

        Raises
        ------
        MetaAnalysisInputError
            On no experiment, or an experiment with no coordinates, plus the errors of
            :meth:`from_table`.
        """
        if not experiments:
            raise MetaAnalysisInputError("experiments: no experiments were given")
        ids, coords, spaces, sizes = [], [], [], []
        for exp_id, exp in experiments.items():
            foci = np.asarray(exp.get("coordinates", []), dtype=np.float64).reshape(-1, 3)
            if foci.shape[0] == 0:
                raise MetaAnalysisInputError(
                    f"experiments: experiment {str(exp_id)!r} has no coordinates"
                )
            size = exp.get("sample_size")
            ids += [str(exp_id)] * foci.shape[0]
            coords.append(foci)
            spaces += [exp.get("space", "MNI")] * foci.shape[0]
            sizes += [np.nan if size is None else float(size)] * foci.shape[0]
        coords = np.vstack(coords)
        return cls.from_table(ids, coords[:, 0], coords[:, 1], coords[:, 2], spaces, sizes)

    @property
    def n_experiments(self) -> int:
        """Number of experiments."""
        return len(self.experiment_ids)

    @property
    def n_foci(self) -> int:
        """Number of foci."""
        return self.xyz.shape[0]

    @property
    def foci_per_experiment(self) -> NDArray[np.int64]:
        """Number of foci of each experiment, in experiment order."""
        return np.bincount(self.focus_experiment, minlength=self.n_experiments)

    def require_sample_sizes(self) -> NDArray[np.float64]:
        """Return the sample sizes, raising if any experiment lacks one."""
        missing = np.isnan(self.sample_sizes)
        if missing.any():
            names = [self.experiment_ids[i] for i in np.flatnonzero(missing)[:10]]
            raise MetaAnalysisInputError(
                f"sample_size: {int(missing.sum())} experiment(s) have no sample size "
                f"({', '.join(map(repr, names))}); the ALE kernel derives its width from it "
                "(or give ALEKernel a fixed fwhm or sample_size)"
            )
        return self.sample_sizes


def _read_image(item: ImageItem) -> nib.Nifti1Image | np.ndarray:
    """Return a NIfTI image for a path (read and decompressed in memory) or the item itself.

    A single-member gzip file is inflated by zlib in one call that holds the GIL only
    briefly (``gzip.decompress`` copies the data twice more under the GIL, which made
    threaded reading about 1.7 times slower); anything else falls back to ``gzip``.
    """
    if not isinstance(item, str | os.PathLike):
        return item
    raw = Path(item).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = inflater.decompress(raw)
        raw = data if inflater.eof and not inflater.unused_data else gzip.decompress(raw)
    return nib.Nifti1Image.from_bytes(raw)


def _masked_row(item: ImageItem, mask: Mask, label: str) -> np.ndarray:
    """Check one image (or 3D array, or path) against the mask; return its masked values."""
    img = _read_image(item)
    if hasattr(img, "affine"):
        mask.check_image(img, label)
        data = np.asanyarray(img.dataobj)
        if data.ndim == 4 and data.shape[3] == 1:
            data = data[..., 0]
    else:
        data = np.asarray(img)
        if data.shape != mask.shape:
            raise MetaAnalysisInputError(
                f"{label}: array shape {data.shape} does not match the mask shape {mask.shape}"
            )
    if data.ndim != 3:
        raise MetaAnalysisInputError(f"{label}: expected a 3D image, got shape {data.shape}")
    return data[mask.data]


def _stack_images(
    images: Sequence[ImageItem] | None, mask: Mask, name: str
) -> NDArray[np.float64] | None:
    """Check a list of images against the mask and return their masked values (k x v).

    Paths are read and decompressed on several threads (zlib releases the GIL), each
    image straight into its row of the result.
    """
    if images is None:
        return None
    if len(images) == 0:
        raise MetaAnalysisInputError(f"{name}: no images were given")
    out = np.empty((len(images), mask.n_voxels))

    def fill(index: int) -> None:
        out[index] = _masked_row(images[index], mask, f"{name}[{index}]")

    with ThreadPoolExecutor(min(len(images), os.cpu_count() or 1)) as pool:
        list(pool.map(fill, range(len(images))))
    return out


@dataclass(frozen=True, eq=False)
class ImageInputs:
    """Per-experiment statistical images, masked to the analysis mask.

    Build with :meth:`from_images`. Each map attribute is a (n_experiments, n_voxels)
    float64 array or None.
    """

    mask: Mask
    z: NDArray[np.float64] | None = None
    t: NDArray[np.float64] | None = None
    beta: NDArray[np.float64] | None = None
    varcope: NDArray[np.float64] | None = None
    sample_sizes: NDArray[np.float64] | None = None

    @classmethod
    def from_images(
        cls,
        mask: Mask,
        *,
        z: Sequence[ImageItem] | None = None,
        t: Sequence[ImageItem] | None = None,
        beta: Sequence[ImageItem] | None = None,
        varcope: Sequence[ImageItem] | None = None,
        se: Sequence[ImageItem] | None = None,
        sample_sizes: ArrayLike | None = None,
    ) -> Self:
        """Validate and mask per-experiment images.

        Parameters
        ----------
        mask : Mask
            Analysis mask; every image must share its shape and affine.
        z, t, beta, varcope, se : list of nibabel images, 3D arrays or NIfTI paths, optional
            One image per experiment, in the same order. Paths (``.nii`` or ``.nii.gz``)
            are read on several threads. ``se`` is squared into ``varcope`` when no
            varcope is given.
        sample_sizes : array_like, optional
            One sample size per experiment.

        Returns
        -------
        ImageInputs

        Raises
        ------
        MetaAnalysisInputError
            On no image at all, an image whose shape or affine differs from the mask's, or
            inputs with different numbers of experiments.
        """
        given = {"z": z, "t": t, "beta": beta, "varcope": varcope, "se": se}
        arrays = {name: _stack_images(images, mask, name) for name, images in given.items()}
        present = {name: a for name, a in arrays.items() if a is not None}
        if not present:
            raise MetaAnalysisInputError("images: no images were given")
        counts = {name: a.shape[0] for name, a in present.items()}
        if sample_sizes is not None:
            sample_sizes = np.asarray(sample_sizes, dtype=np.float64).ravel()
            counts["sample_sizes"] = sample_sizes.size
        if len(set(counts.values())) > 1:
            raise MetaAnalysisInputError(
                f"images: inputs have different numbers of experiments: {counts}"
            )
        varcope_arr = arrays["varcope"]
        if varcope_arr is None and arrays["se"] is not None:
            varcope_arr = arrays["se"] ** 2
        return cls(mask, arrays["z"], arrays["t"], arrays["beta"], varcope_arr, sample_sizes)

    def require(self, name: str) -> NDArray[np.float64]:
        """Return the named input, raising if it was not given."""
        value = getattr(self, name)
        if value is None:
            raise MetaAnalysisInputError(f"{name}: this estimator needs {name} inputs")
        return value
