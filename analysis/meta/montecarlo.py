"""Monte Carlo null distributions of CBMA maxima, and their cache.

The null of the maximum statistic (and of the largest cluster) depends only on the
*design*: each experiment's number of foci, its kernel (for ALE, its sample size), its
weight, the mask, the cluster-forming threshold, the number of iterations and the seed --
not on where the observed foci are. :class:`NullCache` keys results by that design, in
memory and optionally in a folder, so a later analysis with the same design reuses them.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import tempfile
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numba
import numpy as np

from ._simulate import MODE_ALE, MODE_KDA, run_iterations, work_arrays

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    from .kernels import KernelSupport
    from .mask import Mask

#: Bump when the simulation changes in a way that alters its output.
ENGINE_VERSION = "4"

#: Iterations drawn per block of random numbers (fixed, so results depend only on the seed).
_DRAW_BLOCK = 64

#: Iterations handed to a thread at a time (small enough to even out threads slowed by
#: other work on the machine; static halves took up to three times as long there).
_TASK = 8


@dataclass(frozen=True)
class NullMaxima:
    """Per-iteration maxima of a Monte Carlo null."""

    stat: NDArray[np.float64]
    size: NDArray[np.float64]
    mass: NDArray[np.float64]


def _runs(
    offsets: NDArray[np.int32], values: NDArray[np.float32], strides: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Cut a kernel support into runs of consecutive voxels along the last axis.

    Parameters
    ----------
    offsets : numpy.ndarray (k, 3)
        Voxel offsets of the support.
    values : numpy.ndarray (k,)
        Kernel value at each offset.
    strides : numpy.ndarray (3,)
        Flat strides of the padded grid.

    Returns
    -------
    tuple
        Flat offset of each run's first voxel, run lengths, index of each run's first
        value, and the values (float64) in run order.
    """
    order = np.lexsort((offsets[:, 2], offsets[:, 1], offsets[:, 0]))
    ordered = offsets[order].astype(np.int64)
    steps = np.diff(ordered, axis=0)
    breaks = (steps[:, 0] != 0) | (steps[:, 1] != 0) | (steps[:, 2] != 1)
    firsts = np.concatenate([[0], np.flatnonzero(breaks) + 1])
    lengths = np.diff(np.concatenate([firsts, [order.size]]))
    return (
        ordered[firsts] @ strides,
        lengths.astype(np.int64),
        firsts.astype(np.int64),
        np.asarray(values, dtype=np.float64)[order],
    )


class NullCache:
    """Cache of Monte Carlo nulls keyed by design, in memory and optionally on disk.

    Parameters
    ----------
    folder : str or pathlib.Path, optional
        Folder for ``.npz`` files (created if needed); None keeps results in memory only.
    max_items : int, optional
        Number of nulls kept in memory (least recently used are dropped).
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None, max_items: int = 32) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.max_items = max_items
        self._memory = OrderedDict()

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """Return the cached arrays for ``key`` or None."""
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        if self.folder is not None:
            path = self.folder / f"{key}.npz"
            if path.exists():
                with np.load(path) as stored:
                    value = {name: stored[name] for name in stored.files}
                self._remember(key, value)
                return value
        return None

    def put(self, key: str, value: dict[str, np.ndarray]) -> None:
        """Store the dict of arrays ``value`` under ``key``."""
        self._remember(key, value)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=self.folder, suffix=".npz")
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **value)
            os.replace(tmp, self.folder / f"{key}.npz")

    def _remember(self, key: str, value: dict[str, np.ndarray]) -> None:
        self._memory[key] = value
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_items:
            self._memory.popitem(last=False)


#: Process-wide default cache (memory only).
DEFAULT_CACHE = NullCache()


class MonteCarloDesign:
    """Everything a Monte Carlo null of a CBMA statistic depends on.

    Parameters
    ----------
    mode : int
        ``MODE_ALE``, ``MODE_MKDA`` or ``MODE_KDA`` from :mod:`analysis.meta._simulate`.
    supports : list of KernelSupport
        Kernel supports.
    support_index : numpy.ndarray
        Support used by each experiment.
    foci_counts : numpy.ndarray
        Foci per experiment.
    weights : numpy.ndarray
        Experiment weights (used by MKDA).
    mask : Mask
        Analysis mask; random foci are drawn uniformly from its voxels.
    """

    def __init__(
        self,
        mode: int,
        supports: Sequence[KernelSupport],
        support_index: ArrayLike,
        foci_counts: ArrayLike,
        weights: ArrayLike,
        mask: Mask,
    ) -> None:
        self.mode = mode
        self.supports = supports
        self.support_index = np.asarray(support_index, dtype=np.int64)
        self.foci_counts = np.asarray(foci_counts, dtype=np.int64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.mask = mask

    def key(
        self, n_iters: int, seed: int, threshold: float, bins: np.ndarray | None = None
    ) -> str:
        """Return the sha256 key of this design for a given run."""
        digest = hashlib.sha256()
        header = {
            "engine": ENGINE_VERSION,
            "mode": self.mode,
            "mask": self.mask.fingerprint,
            "n_iters": int(n_iters),
            "seed": int(seed),
            "threshold": repr(float(threshold)),
            "bins": None if bins is None else [repr(float(bins[1] - bins[0])), len(bins)],
        }
        digest.update(json.dumps(header, sort_keys=True).encode())
        for array in (self.support_index, self.foci_counts, self.weights):
            digest.update(np.ascontiguousarray(array).tobytes())
        for support in self.supports:
            digest.update(np.ascontiguousarray(support.offsets).tobytes())
            digest.update(np.ascontiguousarray(support.values).tobytes())
        return digest.hexdigest()

    def _padded(
        self,
    ) -> tuple[
        NDArray[np.int32],
        NDArray[np.int64],
        NDArray[np.int64],
        tuple[
            NDArray[np.int64],
            NDArray[np.int64],
            NDArray[np.int64],
            NDArray[np.int64],
            NDArray[np.float32],
        ],
    ]:
        """Return the padded grid's in-mask index table, strides, voxel centres and runs.

        Returns
        -------
        tuple
            ``(masked, strides, centers, runs)``, ``runs`` being the arguments
            ``run_offsets, run_lengths, run_values, run_starts, values`` of
            :func:`~analysis.meta._simulate.run_iterations`.
        """
        # The grid is cropped to the mask's bounding box before padding: the per-thread
        # work arrays cover it whole, and the smaller they are the better two threads
        # share the cache (about a third smaller for the MNI152 brain mask).
        ijk = self.mask.ijk.astype(np.int64)
        low = ijk.min(axis=0)
        pad = 1 + max(int(np.abs(s.offsets).max()) for s in self.supports)
        shape = tuple(int(n) + 2 * pad for n in ijk.max(axis=0) - low + 1)
        strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=np.int64)
        centers = (ijk - low + pad) @ strides
        masked = np.full(int(np.prod(shape)), -1, dtype=np.int32)
        masked[centers] = np.arange(centers.size, dtype=np.int32)
        runs = [_runs(s.offsets, s.values, strides) for s in self.supports]
        sizes = np.cumsum([0] + [r[3].size for r in runs])
        run_offsets = np.concatenate([r[0] for r in runs])
        run_lengths = np.concatenate([r[1] for r in runs])
        run_values = np.concatenate([r[2] + sizes[i] for i, r in enumerate(runs)])
        run_starts = np.cumsum([0] + [r[0].size for r in runs]).astype(np.int64)
        values = np.concatenate([r[3] for r in runs])
        if self.mode == MODE_ALE:
            values = -np.log1p(-values)
        runs = (run_offsets, run_lengths, run_values, run_starts, values.astype(np.float32))
        return masked, strides, centers, runs

    def run(
        self, n_iters: int, seed: int, threshold: float, bins: np.ndarray | None = None
    ) -> tuple[NullMaxima, NDArray[np.int64] | None]:
        """Simulate ``n_iters`` null datasets.

        Parameters
        ----------
        n_iters : int
            Number of iterations.
        seed : int
            Seed of the random draws; the same seed gives the same output.
        threshold : float
            Cluster-forming threshold on the statistic.
        bins : numpy.ndarray, optional
            Uniform bin centres; when given, also return the voxel-wise histogram of
            every iteration's statistic over the mask.

        Returns
        -------
        tuple
            (NullMaxima, histogram counts or None)
        """
        masked, strides, centers, runs = self._padded()
        reach2 = np.array(
            [4 * int((s.offsets.astype(np.int64) ** 2).sum(axis=1).max()) for s in self.supports]
        )
        n_bins = 0 if bins is None else bins.size
        inv_step = 1.0 if bins is None else 1.0 / (bins[1] - bins[0])
        n_workers = numba.get_num_threads()
        # Counts of integer weights and values are exact in float32 (below 2^24).
        largest = (
            float(np.abs(self.weights).sum())
            * max(float(np.abs(s.values).max()) for s in self.supports)
            * max(1, int(self.foci_counts.max()) if self.mode == MODE_KDA else 1)
        )
        exact = (
            self.mode != MODE_ALE
            and largest < 2**24
            and np.all(self.weights == np.round(self.weights))
            and all(np.all(s.values == np.round(s.values)) for s in self.supports)
        )
        acc_dtype = np.float32 if exact else np.float64
        by_edges = bool(exact) and all(np.all(s.values == s.values[0]) for s in self.supports)
        free = queue.SimpleQueue()
        works = [
            work_arrays(
                acc_dtype,
                masked.size,
                centers.size,
                self.foci_counts,
                masked.size // strides[0],
                n_bins,
            )
            for _ in range(n_workers)
        ]
        for work in works:
            free.put(work)
        shared = (
            centers,
            self.foci_counts,
            self.support_index,
            *runs,
            self.weights.astype(acc_dtype),
            masked,
            self.mask.ijk.astype(np.int64),
            reach2,
            strides,
            self.mode,
            float(threshold),
            centers.size,
            inv_step,
            n_bins,
            np.repeat(np.arange(self.foci_counts.size), self.foci_counts),
            by_edges,
        )
        stat, size, mass = (np.zeros(n_iters) for _ in range(3))

        def task(draws: NDArray[np.int32], start: int, low: int, high: int) -> None:
            work = free.get()
            try:
                outputs = (stat[start:], size[start:], mass[start:])
                run_iterations(low, high, draws, *shared, *work, *outputs)
            finally:
                free.put(work)

        rng = np.random.default_rng(seed)
        n_foci = int(self.foci_counts.sum())
        with ThreadPoolExecutor(n_workers) as pool:
            pending = []
            for start in range(0, n_iters, _DRAW_BLOCK):
                block = min(_DRAW_BLOCK, n_iters - start)
                draws = rng.integers(0, centers.size, size=(block, n_foci), dtype=np.int64)
                draws = draws.astype(np.int32)
                # Drawing the next block overlaps the tasks of this one; at most two
                # blocks of draws are alive at a time.
                for future in pending:
                    future.result()
                pending = [
                    pool.submit(task, draws, start, low, min(low + _TASK, block))
                    for low in range(0, block, _TASK)
                ]
            for future in pending:
                future.result()
        hist = sum(work[-1] for work in works)
        maxima = NullMaxima(stat, size, mass)
        return maxima, (hist if bins is not None else None)

    def maxima(
        self, n_iters: int, seed: int, threshold: float, cache: NullCache | None = None
    ) -> NullMaxima:
        """Return the null maxima, from ``cache`` when this design was run before."""
        key = self.key(n_iters, seed, threshold)
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            return NullMaxima(cached["stat"], cached["size"], cached["mass"])
        maxima, _ = self.run(n_iters, seed, threshold)
        if cache is not None:
            cache.put(key, {"stat": maxima.stat, "size": maxima.size, "mass": maxima.mass})
        return maxima
