"""Compiled Monte Carlo loop: random foci -> summary statistic -> maxima (and histogram).

Every iteration draws each focus uniformly from the in-mask voxels, stamps the kernels,
combines experiments into the summary statistic, and records the maximum statistic and
the largest cluster size and mass above a cluster-forming threshold (face connectivity).
Iterations are shared out among threads a few at a time; the draws are made beforehand
and every iteration starts from cleared work arrays, so results do not depend on the
thread count or on which thread ran which iteration.

Layout. Kernels are stamped on a zero-padded copy of the grid (the padding spares bounds
checks) as runs of voxels along the last axis, each run one contiguous, vectorised loop.
Foci of one experiment whose supports can meet are first combined by maximum into a
float32 scratch grid, which is then added into the accumulator (float64, or float32 where
sums are exact) and cleared, run by run (a second visit of a voxel where foci overlap adds
zero); the other foci are added straight in. For constant supports with exact sums
(MKDA, KDA) every focus goes in as the ends of its runs instead, those of meeting foci as
the union of their runs (a merge of sorted run lists), and one running sum over the grid
gives the statistic. The grid is cropped to the mask's bounding
box before padding, so that two threads' work arrays share the cache. This replaced a
per-voxel loop that tagged each voxel with the experiment that last wrote it: about 1.7
times faster, the branches and tag traffic being what limited it.

Statistic. The accumulator holds a sum over experiments: the weighted MA value (MKDA), the
summed MA value (KDA, whose foci are added directly), or, for ALE, ``-log(1 - MA)``, so that
``ALE = 1 - exp(-sum)``. The log is taken once per kernel value (rounded to float32, a
relative error under 1e-7 on each term, some 1e-9 on ALE values: far below Monte Carlo
error) and the per-voxel product becomes a sum. ALE is increasing in the sum, so the
maximum and the threshold test are done on sums; ALE values are computed only for the
maximum, supra-threshold voxels and the optional histogram.

Voxels outside the mask are stamped too (it spares a branch) but never read; in-mask
voxels are reset as they are scanned, the others are left to accumulate (finite, small).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

MODE_ALE = 0
MODE_MKDA = 1
MODE_KDA = 2


@numba.njit(cache=True)
def _stat(total: float, mode: int) -> float:
    if mode == MODE_ALE:
        return -math.expm1(-total)
    return total


@numba.njit(cache=True, nogil=True, inline="always")
def _max_into(
    scratch: NDArray[np.float32], start: int, values: NDArray[np.float32], first: int, n: int
) -> None:
    """``scratch[start:][:n] = max(scratch[start:][:n], values[first:][:n])``."""
    dst = scratch[start : start + n]
    src = values[first : first + n]
    for t in range(n):
        if src[t] > dst[t]:
            dst[t] = src[t]


@numba.njit(cache=True, nogil=True, inline="always")
def _flush(
    acc: NDArray[np.float32 | np.float64],
    scratch: NDArray[np.float32],
    start: int,
    n: int,
    weight: float,
) -> None:
    """Add ``weight * scratch`` into ``acc`` over one run and clear the run of ``scratch``."""
    dst = acc[start : start + n]
    src = scratch[start : start + n]
    for t in range(n):
        dst[t] += weight * src[t]
        src[t] = 0.0


@numba.njit(cache=True, nogil=True, inline="always")
def _add_into(
    acc: NDArray[np.float32 | np.float64],
    start: int,
    values: NDArray[np.float32],
    first: int,
    n: int,
    weight: float,
) -> None:
    """``acc[start:][:n] += weight * values[first:][:n]``."""
    dst = acc[start : start + n]
    src = values[first : first + n]
    for t in range(n):
        dst[t] += weight * src[t]


@numba.njit(cache=True, nogil=True)
def _add_union(
    foci: NDArray[np.int64],
    heads: NDArray[np.int64],
    run_offsets: NDArray[np.int64],
    run_lengths: NDArray[np.int64],
    first_run: int,
    stop_run: int,
    step: float,
    edges: NDArray[np.float32],
    low: int,
    high: int,
) -> tuple[int, int]:
    """Mark the ends of the union of the runs of the supports centred at ``foci``.

    The supports are one support's runs (``first_run:stop_run``, in grid order) moved to
    each centre; a k-way merge of those sorted lists joins the runs that meet (a run never
    leaves its line), and each joined run adds ``step`` at its first voxel and takes it
    off after its last, so a voxel several foci cover counts once. Returns the grown
    ``(low, high)`` span of marked voxels.
    """
    k = foci.size
    heads[:k] = first_run
    start, end = -1, -1
    while True:
        best, best_start = -1, 0
        for j in range(k):
            if heads[j] < stop_run:
                candidate = foci[j] + run_offsets[heads[j]]
                if best < 0 or candidate < best_start:
                    best, best_start = j, candidate
        if best < 0:
            break
        best_end = best_start + run_lengths[heads[best]]
        heads[best] += 1
        if best_start <= end:
            end = max(end, best_end)
            continue
        if end >= 0:
            edges[start] += step
            edges[end] -= step
        start, end = best_start, best_end
    edges[start] += step
    edges[end] -= step
    return min(low, foci.min() + run_offsets[first_run]), max(high, end + 1)


@numba.njit(cache=True, nogil=True)
def _mark_alone(
    draws: NDArray[np.int32],
    it: int,
    first: int,
    stop: int,
    coords: NDArray[np.int64],
    reach2: int,
    alone: NDArray[np.uint8],
) -> None:
    """Set ``alone[f - first]`` for the foci ``first:stop`` whose supports meet no other's.

    Two supports of radius rho can share a voxel only if their centres are within
    2 rho, so a focus farther than that from every other focus of its experiment is
    stamped straight into the accumulator (the maximum with nothing is itself).
    """
    for f in range(first, stop):
        alone[f - first] = 1
    for f in range(first, stop):
        a = draws[it, f]
        for g in range(f + 1, stop):
            b = draws[it, g]
            dx = coords[a, 0] - coords[b, 0]
            dy = coords[a, 1] - coords[b, 1]
            dz = coords[a, 2] - coords[b, 2]
            if dx * dx + dy * dy + dz * dz <= reach2:
                alone[f - first] = 0
                alone[g - first] = 0


@numba.njit(cache=True, nogil=True)
def _sum_threshold(threshold: float, mode: int) -> float:
    """Return the accumulator value above which a voxel may exceed ``threshold``."""
    if mode != MODE_ALE:
        return threshold
    if threshold >= 1.0:
        return np.inf
    # A hair below the exact bound: candidates are then tested on the ALE value itself.
    return -math.log1p(-threshold) * (1.0 - 1e-9)


@numba.njit(cache=True, nogil=True)
def _run_iteration(
    it: int,
    draws: NDArray[np.int32],
    centers: NDArray[np.int64],
    foci_counts: NDArray[np.int64],
    support_index: NDArray[np.int64],
    run_offsets: NDArray[np.int64],
    run_lengths: NDArray[np.int64],
    run_values: NDArray[np.int64],
    run_starts: NDArray[np.int64],
    values: NDArray[np.float32],
    weights: NDArray[np.float32 | np.float64],
    masked: NDArray[np.int32],
    coords: NDArray[np.int64],
    reach2: NDArray[np.int64],
    mode: int,
    threshold: float,
    sum_threshold: float,
    n_mask: int,
    inv_step: float,
    n_bins: int,
    neighbours: NDArray[np.int64],
    focus_experiment: NDArray[np.int64],
    plane_size: int,
    by_edges: bool,
    acc: NDArray[np.float32 | np.float64],
    scratch: NDArray[np.float32],
    alone: NDArray[np.uint8],
    shared: NDArray[np.int64],
    heads: NDArray[np.int64],
    direct: NDArray[np.int64],
    ordered: NDArray[np.int64],
    planes: NDArray[np.int64],
    flags: NDArray[np.uint8],
    excess: NDArray[np.float64],
    supra: NDArray[np.int64],
    stack: NDArray[np.int64],
    hist: NDArray[np.int64],
) -> tuple[float, float, float]:
    """Run iteration ``it`` on one worker's arrays; return its three maxima.

    Arguments are those of :func:`run_iterations`, plus :func:`_sum_threshold`, the
    face-neighbour offsets and the padded plane size. Foci whose supports meet no other
    focus of their experiment skip the scratch grid (:func:`_mark_alone`): at 900
    experiments about four in five MKDA spheres, a third fewer passes over memory. Those
    foci (and all of KDA's) are then added in order of position, which keeps the
    accumulator's working set in cache; the order changes only the rounding of ALE sums.
    """
    n_exp = foci_counts.size
    first = 0
    n_direct = 0
    low, high = scratch.size, 0
    for e in range(n_exp):
        s = support_index[e]
        stop = first + foci_counts[e]
        if mode == MODE_KDA:
            for f in range(first, stop):
                direct[n_direct] = f
                n_direct += 1
            first = stop
            continue
        _mark_alone(draws, it, first, stop, coords, reach2[s], alone)
        n_shared = 0
        for f in range(first, stop):
            if alone[f - first] == 1:
                direct[n_direct] = f
                n_direct += 1
                continue
            if by_edges:
                shared[n_shared] = centers[draws[it, f]]
                n_shared += 1
                continue
            n_shared += 1
            c = centers[draws[it, f]]
            for r in range(run_starts[s], run_starts[s + 1]):
                _max_into(scratch, c + run_offsets[r], values, run_values[r], run_lengths[r])
        if by_edges and n_shared > 0:
            low, high = _add_union(
                shared[:n_shared], heads, run_offsets, run_lengths, run_starts[s],
                run_starts[s + 1], weights[e] * values[run_values[run_starts[s]]], scratch,
                low, high,
            )
        elif n_shared > 0:
            for f in range(first, stop):
                if alone[f - first] == 1:
                    continue
                c = centers[draws[it, f]]
                for r in range(run_starts[s], run_starts[s + 1]):
                    _flush(acc, scratch, c + run_offsets[r], run_lengths[r], weights[e])
        first = stop
    # Foci added straight into the accumulator commute, so they go in order of their
    # first axis (a counting sort): consecutive stamps then fall in nearby planes that stay
    # in cache instead of all over the grid.
    planes[:] = 0
    for i in range(n_direct):
        planes[centers[draws[it, direct[i]]] // plane_size + 1] += 1
    for p in range(planes.size - 1):
        planes[p + 1] += planes[p]
    for i in range(n_direct):
        f = direct[i]
        p = centers[draws[it, f]] // plane_size
        ordered[planes[p]] = f
        planes[p] += 1
    if not by_edges:
        for i in range(n_direct):
            f = ordered[i]
            e = focus_experiment[f]
            s = support_index[e]
            w = weights[e]
            c = centers[draws[it, f]]
            for r in range(run_starts[s], run_starts[s + 1]):
                _add_into(acc, c + run_offsets[r], values, run_values[r], run_lengths[r], w)
    else:
        # Constant runs, exact sums: mark each run's two ends in the (clear) scratch grid
        # and add them all up in one running sum over the grid, two writes per run
        # instead of one per voxel. Every run closes within its line, so the running sum
        # is zero between runs.
        for i in range(n_direct):
            f = ordered[i]
            e = focus_experiment[f]
            s = support_index[e]
            c = centers[draws[it, f]]
            first_run, stop_run = run_starts[s], run_starts[s + 1]
            step = weights[e] * values[run_values[first_run]]
            for r in range(first_run, stop_run):
                start = c + run_offsets[r]
                scratch[start] += step
                scratch[start + run_lengths[r]] -= step
            # Runs are in grid order: the first starts lowest, the last ends highest.
            low = min(low, c + run_offsets[first_run])
            high = max(high, c + run_offsets[stop_run - 1] + run_lengths[stop_run - 1] + 1)
        running = np.float32(0.0)
        for v in range(low, high):
            running += scratch[v]
            scratch[v] = 0
            acc[v] += running
    top = 0.0
    n_supra = 0
    for m in range(n_mask):
        v = centers[m]
        total = acc[v]
        acc[v] = 0.0
        if total > top:
            top = total
        if n_bins > 0:
            b = int(np.floor(_stat(total, mode) * inv_step + 0.5))
            hist[min(max(b, 0), n_bins - 1)] += 1
        if total > sum_threshold:
            stat = _stat(total, mode)
            if stat > threshold:
                flags[m] = 1
                supra[n_supra] = m
                excess[m] = stat - threshold
                n_supra += 1
    best_size = 0.0
    best_mass = 0.0
    for i in range(n_supra):
        seed = supra[i]
        if flags[seed] != 1:
            continue
        flags[seed] = 2
        stack[0] = seed
        depth = 1
        n_vox = 0.0
        mass = 0.0
        while depth > 0:
            depth -= 1
            u = stack[depth]
            n_vox += 1.0
            mass += excess[u]
            for d in neighbours:
                nb = masked[centers[u] + d]
                if nb >= 0 and flags[nb] == 1:
                    flags[nb] = 2
                    stack[depth] = nb
                    depth += 1
        best_size = max(best_size, n_vox)
        best_mass = max(best_mass, mass)
    for i in range(n_supra):
        flags[supra[i]] = 0
    return _stat(top, mode), best_size, best_mass


def work_arrays(
    acc_dtype: type[np.float32 | np.float64],
    grid_size: int,
    n_mask: int,
    foci_counts: NDArray[np.int64],
    n_planes: int,
    n_bins: int,
) -> tuple[
    NDArray[np.float32 | np.float64],
    NDArray[np.float32],
    NDArray[np.uint8],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.uint8],
    NDArray[np.float64],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int64],
]:
    """Return one worker's arrays for :func:`run_iterations`, zeroed where it matters.

    Parameters
    ----------
    acc_dtype : numpy dtype
        float64, or float32 for sums it holds exactly (MKDA and KDA counts of integer
        weights and values below 2^24: the same output, with twice the values per vector
        operation on the short kernel runs).
    grid_size : int
        Size of the padded, flattened grid.
    n_mask : int
        Number of in-mask voxels.
    foci_counts : numpy.ndarray
        Foci per experiment.
    n_planes : int
        Number of planes of the padded grid along its first axis.
    n_bins : int
        Histogram bins (0 for none).

    Returns
    -------
    tuple
        ``acc, scratch, alone, direct, ordered, planes, flags, excess, supra, stack, hist``.
    """
    n_foci = int(foci_counts.sum())
    return (
        np.zeros(grid_size, dtype=acc_dtype),
        np.zeros(grid_size, dtype=np.float32),
        np.zeros(max(int(foci_counts.max()), 1), dtype=np.uint8),
        np.empty(max(int(foci_counts.max()), 1), dtype=np.int64),
        np.empty(max(int(foci_counts.max()), 1), dtype=np.int64),
        np.empty(n_foci, dtype=np.int64),
        np.empty(n_foci, dtype=np.int64),
        np.zeros(n_planes + 2, dtype=np.int64),
        np.zeros(n_mask, dtype=np.uint8),
        np.zeros(n_mask),
        np.empty(n_mask, dtype=np.int64),
        np.empty(n_mask, dtype=np.int64),
        np.zeros(max(n_bins, 1), dtype=np.int64),
    )


@numba.njit(cache=True, nogil=True)
def run_iterations(
    first: int,
    stop: int,
    draws: NDArray[np.int32],
    centers: NDArray[np.int64],
    foci_counts: NDArray[np.int64],
    support_index: NDArray[np.int64],
    run_offsets: NDArray[np.int64],
    run_lengths: NDArray[np.int64],
    run_values: NDArray[np.int64],
    run_starts: NDArray[np.int64],
    values: NDArray[np.float32],
    weights: NDArray[np.float32 | np.float64],
    masked: NDArray[np.int32],
    coords: NDArray[np.int64],
    reach2: NDArray[np.int64],
    strides: NDArray[np.int64],
    mode: int,
    threshold: float,
    n_mask: int,
    inv_step: float,
    n_bins: int,
    focus_experiment: NDArray[np.int64],
    by_edges: bool,
    acc: NDArray[np.float32 | np.float64],
    scratch: NDArray[np.float32],
    alone: NDArray[np.uint8],
    shared: NDArray[np.int64],
    heads: NDArray[np.int64],
    direct: NDArray[np.int64],
    ordered: NDArray[np.int64],
    planes: NDArray[np.int64],
    flags: NDArray[np.uint8],
    excess: NDArray[np.float64],
    supra: NDArray[np.int64],
    stack: NDArray[np.int64],
    hist: NDArray[np.int64],
    max_stat: NDArray[np.float64],
    max_size: NDArray[np.float64],
    max_mass: NDArray[np.float64],
) -> None:
    """Run iterations ``first:stop`` of ``draws`` on one worker's arrays.

    It releases the GIL: callers run it on several threads, each with its own
    :func:`work_arrays` (left as found: in-mask accumulator voxels zero, scratch zero,
    flags clear), handing out a few iterations at a time so that a thread slowed by other
    work on the machine does not hold the others up.

    Parameters
    ----------
    first, stop : int
        Iterations (rows of ``draws``) to run.
    draws : int32 array (n_iters, n_foci)
        Index into ``centers`` of each focus of each iteration.
    centers : int64 array (n_mask,)
        Padded flat index of each in-mask voxel.
    foci_counts, support_index : int64 arrays (n_experiments,)
        Foci per experiment and which support it uses.
    run_offsets, run_lengths, run_values : int64 arrays (n_runs,)
        The supports as runs of voxels along the last axis: padded flat offset of a run's
        first voxel, its length, and the index of its first value in ``values``.
    run_starts : int64 array (n_supports + 1,)
        Support ``s`` is runs ``run_starts[s]:run_starts[s + 1]``.
    values : float32 array
        Stamped value of each support voxel: ``-log(1 - MA)`` for ALE, MA otherwise.
    weights : array (n_experiments,) of ``acc``'s type
        Experiment weights (MKDA; ones for ALE and KDA).
    masked : int32 array
        In-mask index of each voxel of the padded, flattened grid (-1 outside the mask).
    coords : int64 array (n_mask, 3)
        Voxel coordinates of the in-mask voxels.
    reach2 : int64 array (n_supports,)
        Squared distance (in voxels) within which two foci's supports may overlap:
        (2 rho)^2, rho being the largest distance of a support voxel from its centre.
    strides : int64 array (3,)
        Padded flat strides of the three axes.
    mode : int
        MODE_ALE, MODE_MKDA or MODE_KDA.
    threshold : float
        Cluster-forming threshold on the statistic (clusters are stat > threshold).
    n_mask : int
        Number of in-mask voxels.
    inv_step, n_bins : float, int
        Histogram grid (bin centres k / inv_step); n_bins = 0 skips the histogram.
    focus_experiment : int64 array (n_foci,)
        Experiment of each focus.
    by_edges : bool
        Add the foci that need no max-combination by their runs' ends and one running
        sum (for supports of constant value whose sums are exact: MKDA and KDA in float32).
    acc, scratch, alone, direct, ordered, planes, flags, excess, supra, stack, hist
        The worker's arrays (:func:`work_arrays`); ``hist`` gathers the histogram.
    max_stat, max_size, max_mass : float64 arrays (n_iters,)
        Where each iteration's maxima are written.
    """
    neighbours = np.array(
        [strides[0], -strides[0], strides[1], -strides[1], strides[2], -strides[2]]
    )
    sum_threshold = _sum_threshold(threshold, mode)
    for it in range(first, stop):
        max_stat[it], max_size[it], max_mass[it] = _run_iteration(
            it,
            draws,
            centers,
            foci_counts,
            support_index,
            run_offsets,
            run_lengths,
            run_values,
            run_starts,
            values,
            weights,
            masked,
            coords,
            reach2,
            mode,
            threshold,
            sum_threshold,
            n_mask,
            inv_step,
            n_bins,
            neighbours,
            focus_experiment,
            strides[0],
            by_edges,
            acc,
            scratch,
            alone,
            shared,
            heads,
            direct,
            ordered,
            planes,
            flags,
            excess,
            supra,
            stack,
            hist,
        )
