"""Compiled label-permutation loops of the two-group CBMA estimators.

Both groups' experiments are pooled into one CSR matrix (experiments x masked voxels); the
ALE subtraction reads it by voxel. A permutation is a row of ``perms``: its first
``n_group1`` entries are the experiments relabelled as group 1, the rest as group 2.
Permutations are drawn beforehand and split across threads, so results do not depend on
the thread count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from scipy import sparse


@numba.njit(cache=True)
def _accumulate(
    rows: NDArray[np.int32],
    indptr: NDArray[np.int32 | np.int64],
    indices: NDArray[np.int32 | np.int64],
    values: NDArray[np.float64],
    acc: NDArray[np.float64],
) -> None:
    """Add the CSR rows ``rows`` (in ascending order) into ``acc``."""
    for r in np.sort(rows):
        for j in range(indptr[r], indptr[r + 1]):
            acc[indices[j]] += values[j]


@numba.njit(cache=True)
def _ale(log_sum: float) -> np.float32:
    """ALE from a sum of log(1 - MA), as float32 (0 where nothing was added)."""
    if log_sum == 0.0:
        return np.float32(0.0)
    return np.float32(1.0 - np.exp(log_sum))


@numba.njit(cache=True)
def _fill_by_voxel(
    indptr: NDArray[np.int32 | np.int64],
    indices: NDArray[np.int32 | np.int64],
    row_start: int,
    row_logs: NDArray[np.float32],
    fill: NDArray[np.int64],
    rows: NDArray[np.int16 | np.int32],
    values: NDArray[np.float32],
) -> None:
    """Place rows ``row_start:`` (their logs ``row_logs``) in the by-voxel arrays.

    ``fill`` holds each voxel's next free slot; rows must come in ascending order.
    """
    first = indptr[row_start]
    r = row_start
    for j in range(first, first + row_logs.size):
        while j >= indptr[r + 1]:
            r += 1
        v = indices[j]
        rows[fill[v]] = r
        values[fill[v]] = row_logs[j - first]
        fill[v] += 1


@numba.njit(cache=True)
def _column_pointers(indices: NDArray[np.int32 | np.int64], n_voxels: int) -> NDArray[np.int64]:
    """Column pointers of a CSR matrix's transpose (no int64 copy of the indices)."""
    col_ptr = np.zeros(n_voxels + 1, dtype=np.int64)
    for v in indices:
        col_ptr[v + 1] += 1
    for v in range(n_voxels):
        col_ptr[v + 1] += col_ptr[v]
    return col_ptr


#: Experiments whose logs are computed at a time (bounds the temporary array).
_LOG_ROWS = 32


def logs_by_voxel(
    pooled: sparse.csr_matrix,
) -> tuple[NDArray[np.int64], NDArray[np.int16 | np.int32], NDArray[np.float32]]:
    """Return the pooled MA maps' ``log(1 - MA)`` by voxel (compressed sparse columns).

    Parameters
    ----------
    pooled : scipy.sparse.csr_matrix
        float32 MA maps, experiments x masked voxels.

    Returns
    -------
    col_ptr : int64 array (n_voxels + 1,)
    rows : int16 or int32 array
        Experiment of each stored value, ascending within a voxel (int16 when there are
        fewer than 32,767 experiments: this copy is what the memory peak holds).
    logs : float32 array
        ``log1p(-MA)`` of each stored value, with NumPy's float32 arithmetic (as ALE maps
        use), computed a few experiments at a time to keep the temporary array small.
    """
    n_experiments, n_voxels = pooled.shape
    col_ptr = _column_pointers(pooled.indices, n_voxels)
    row_type = np.int16 if n_experiments < np.iinfo(np.int16).max else np.int32
    rows = np.empty(pooled.nnz, dtype=row_type)
    logs = np.empty(pooled.nnz, dtype=np.float32)
    fill = col_ptr[:-1].copy()
    for start in range(0, n_experiments, _LOG_ROWS):
        stop = min(n_experiments, start + _LOG_ROWS)
        chunk = pooled.data[pooled.indptr[start] : pooled.indptr[stop]]
        _fill_by_voxel(pooled.indptr, pooled.indices, start, np.log1p(-chunk), fill, rows, logs)
    return col_ptr, rows, logs


@numba.njit(cache=True)
def log_totals(col_ptr: NDArray[np.int64], logs: NDArray[np.float32]) -> NDArray[np.float64]:
    """Sum over all experiments of each voxel's logs (in ascending experiment order)."""
    total = np.zeros(col_ptr.size - 1)
    for v in range(total.size):
        for j in range(col_ptr[v], col_ptr[v + 1]):
            total[v] += logs[j]
    return total


@numba.njit(cache=True)
def ale_difference(
    n_group1: int,
    n_experiments: int,
    col_ptr: NDArray[np.int64],
    rows: NDArray[np.int16 | np.int32],
    logs: NDArray[np.float32],
    total: NDArray[np.float64],
) -> NDArray[np.float32]:
    """Return the observed ALE difference (group 1 minus group 2) as the null computes it.

    Only the smaller group's logs are added up (in ascending experiment order); the other
    group's sums are ``total`` minus them. A voxel's two sums therefore depend only on
    which experiments covering it fall in each group, so a relabelling that keeps them in
    their observed groups reproduces the observed difference exactly.

    Parameters
    ----------
    n_group1, n_experiments : int
        Size of group 1 (the first experiments) and of both groups.
    col_ptr, rows, logs : arrays
        Pooled logs by voxel, from :func:`logs_by_voxel`.
    total : float64 array (n_voxels,)
        :func:`log_totals` of the same.

    Returns
    -------
    float32 array (n_voxels,)
    """
    first_smaller = 2 * n_group1 <= n_experiments
    out = np.zeros(total.size, dtype=np.float32)
    for v in range(total.size):
        small = 0.0
        for j in range(col_ptr[v], col_ptr[v + 1]):
            if (rows[j] < n_group1) == first_smaller:
                small += logs[j]
        a = _ale(small)
        b = _ale(total[v] - small)
        out[v] = a - b if first_smaller else b - a
    return out


#: Permutations handled together per voxel: their slice of the membership table (per
#: covering experiment) and their sums stay in the L1 cache.
_PERM_BLOCK = 64

#: Voxels per parallel task (their columns are reused by every block of permutations).
_VOXEL_CHUNK = 4096


@numba.njit(cache=True, parallel=True)
def ale_difference_null(
    perms: NDArray[np.int32],
    n_group1: int,
    col_ptr: NDArray[np.int64],
    rows: NDArray[np.int16 | np.int32],
    logs: NDArray[np.float32],
    total: NDArray[np.float64],
    observed: NDArray[np.float32],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Permutation null of the ALE difference (group 1 minus group 2).

    Voxel by voxel rather than permutation by permutation: for a block of permutations,
    a voxel's sums over the smaller group are built from its covering experiments (a
    0/1 membership table times their logs, vectorised over the block), so the logs are
    read once per block instead of once per permutation, and threads share no large work
    arrays. The sums are the additions of :func:`ale_difference`, in the same order, plus
    exact zeros: each permutation's differences are those it would compute.

    Parameters
    ----------
    perms : int32 array (n_iters, n_experiments)
        Permuted experiment indices of each iteration.
    n_group1 : int
        Size of group 1.
    col_ptr, rows, logs : arrays
        Pooled logs by voxel, from :func:`logs_by_voxel`.
    total : float64 array (n_voxels,)
        :func:`log_totals` of the same.
    observed : float32 array (n_voxels,)
        Observed difference from :func:`ale_difference`.

    Returns
    -------
    upper, lower : int64 arrays (n_voxels,)
        Iterations whose difference is >= (upper) and <= (lower) the observed one.
    max_abs : float64 array (n_iters,)
        Largest absolute difference of each iteration.
    """
    n_vox = observed.size
    n_iters, n_exp = perms.shape
    first_smaller = 2 * n_group1 <= n_exp
    member = np.zeros((n_exp, n_iters))
    for it in range(n_iters):
        if first_smaller:
            for r in perms[it, :n_group1]:
                member[r, it] = 1.0
        else:
            for r in perms[it, n_group1:]:
                member[r, it] = 1.0
    upper = np.zeros(n_vox, dtype=np.int64)
    lower = np.zeros(n_vox, dtype=np.int64)
    n_tasks = (n_vox + _VOXEL_CHUNK - 1) // _VOXEL_CHUNK
    task_max = np.zeros((n_tasks, n_iters))
    for task in numba.prange(n_tasks):
        _difference_voxels(
            task * _VOXEL_CHUNK,
            min(n_vox, (task + 1) * _VOXEL_CHUNK),
            col_ptr,
            rows,
            logs,
            member,
            total,
            observed,
            first_smaller,
            upper,
            lower,
            task_max[task],
        )
    max_abs = np.zeros(n_iters)
    for task in range(n_tasks):
        for it in range(n_iters):
            max_abs[it] = max(max_abs[it], task_max[task, it])
    return upper, lower, max_abs


@numba.njit(cache=True, nogil=True)
def _difference_voxels(
    v_start: int,
    v_stop: int,
    col_ptr: NDArray[np.int64],
    rows: NDArray[np.int16 | np.int32],
    values: NDArray[np.float32],
    member: NDArray[np.float64],
    total: NDArray[np.float64],
    observed: NDArray[np.float32],
    first_smaller: bool,
    upper: NDArray[np.int64],
    lower: NDArray[np.int64],
    max_abs: NDArray[np.float64],
) -> None:
    """Count and maximise the permuted differences of voxels ``v_start:v_stop``.

    Compiled outside the parallel region so its loops are optimised as ordinary code.
    """
    n_iters = member.shape[1]
    acc = np.empty(_PERM_BLOCK)
    for b0 in range(0, n_iters, _PERM_BLOCK):
        nb = min(_PERM_BLOCK, n_iters - b0)
        sums = acc[:nb]
        tops = max_abs[b0 : b0 + nb]
        for v in range(v_start, v_stop):
            sums[:] = 0.0
            for j in range(col_ptr[v], col_ptr[v + 1]):
                log = np.float64(values[j])
                weights = member[rows[j], b0 : b0 + nb]
                for t in range(nb):
                    sums[t] += log * weights[t]
            total_v = total[v]
            observed_v = observed[v]
            n_upper = 0
            n_lower = 0
            for t in range(nb):
                small = _ale(sums[t])
                other = _ale(total_v - sums[t])
                diff = small - other if first_smaller else other - small
                if diff >= observed_v:
                    n_upper += 1
                if diff <= observed_v:
                    n_lower += 1
                top = abs(np.float64(diff))
                if top > tops[t]:
                    tops[t] = top
            upper[v] += n_upper
            lower[v] += n_lower


@numba.njit(cache=True)
def max_cluster(
    stat: NDArray[np.float64],
    threshold: float,
    centers: NDArray[np.int64],
    lookup: NDArray[np.int64],
    neighbours: NDArray[np.int64],
    flags: NDArray[np.uint8],
    supra: NDArray[np.int64],
    stack: NDArray[np.int64],
) -> tuple[float, float]:
    """Largest cluster size and mass of ``stat > threshold`` (face connectivity).

    Parameters
    ----------
    stat : float64 array (n_voxels,)
        Masked statistic.
    threshold : float
        Cluster-forming threshold; mass is the sum of ``stat - threshold``.
    centers : int64 array (n_voxels,)
        Flat index of each masked voxel in a grid padded by at least one voxel.
    lookup : int64 array
        Masked index of each padded flat index (-1 outside the mask).
    neighbours : int64 array (6,)
        Flat offsets of the six face neighbours.
    flags : uint8 array
        Zeroed work array of the padded grid's size (left zeroed).
    supra, stack : int64 arrays (n_voxels,)
        Work arrays.

    Returns
    -------
    (float, float)
    """
    n_supra = 0
    for i in range(stat.size):
        if stat[i] > threshold:
            flags[centers[i]] = 1
            supra[n_supra] = centers[i]
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
        size = 0.0
        mass = 0.0
        while depth > 0:
            depth -= 1
            u = stack[depth]
            size += 1.0
            mass += stat[lookup[u]] - threshold
            for d in neighbours:
                nb = u + d
                if flags[nb] == 1:
                    flags[nb] = 2
                    stack[depth] = nb
                    depth += 1
        best_size = max(best_size, size)
        best_mass = max(best_mass, mass)
    for i in range(n_supra):
        flags[supra[i]] = 0
    return best_size, best_mass


@numba.njit(cache=True)
def _one_way(counts: NDArray[np.float64], n: float, out: NDArray[np.float64]) -> None:
    expected = counts.mean()
    denominator = expected * (n - expected)
    for v in range(counts.size):
        out[v] = 0.0 if denominator == 0 else (counts[v] - expected) ** 2 * n / denominator


@numba.njit(cache=True)
def _two_way(
    counts1: NDArray[np.float64],
    counts2: NDArray[np.float64],
    n1: float,
    n2: float,
    out: NDArray[np.float64],
) -> None:
    total = n1 + n2
    for v in range(counts1.size):
        active = counts1[v] + counts2[v]
        denominator = active * (total - active) * n1 * n2
        if denominator == 0:
            out[v] = 2.0
        else:
            out[v] = total * (counts1[v] * n2 - counts2[v] * n1) ** 2 / denominator


@numba.njit(cache=True, parallel=True)
def chi2_null(
    perms: NDArray[np.int32],
    n_group1: int,
    indptr: NDArray[np.int32 | np.int64],
    indices: NDArray[np.int32 | np.int64],
    values: NDArray[np.float64],
    total: NDArray[np.float64],
    threshold: float,
    centers: NDArray[np.int64],
    lookup: NDArray[np.int64],
    grid_size: int,
    neighbours: NDArray[np.int64],
    n_chunks: int,
) -> NDArray[np.float64]:
    """Permutation null maxima of the MKDA chi-square maps.

    For each permutation, group 1's activation counts are summed from its rows and group
    2's are the pooled counts minus them; the one-way chi-square of each group and the
    two-way (association) chi-square are formed, and their maxima and largest cluster
    size and mass above ``threshold`` recorded.

    Parameters
    ----------
    perms : int32 array (n_iters, n_experiments)
        Permuted experiment indices of each iteration.
    n_group1 : int
        Size of group 1.
    indptr, indices, values : arrays
        Pooled CSR matrix of MA maps.
    total : float64 array (n_voxels,)
        Pooled activation counts.
    threshold : float
        Cluster-forming chi-square threshold.
    centers, lookup, neighbours : int64 arrays
        Padded-grid geometry (see :func:`max_cluster`).
    grid_size : int
        Number of voxels of the padded grid.
    n_chunks : int
        Number of parallel chunks.

    Returns
    -------
    float64 array (n_iters, 3, 3)
        [iteration, map (group 1, group 2, association), (max, size, mass)].
    """
    n_iters = perms.shape[0]
    n_vox = total.size
    n1 = float(n_group1)
    n2 = float(perms.shape[1] - n_group1)
    out = np.zeros((n_iters, 3, 3))
    for chunk in numba.prange(n_chunks):
        counts1 = np.zeros(n_vox)
        counts2 = np.zeros(n_vox)
        stat = np.zeros(n_vox)
        flags = np.zeros(grid_size, dtype=np.uint8)
        supra = np.empty(n_vox, dtype=np.int64)
        stack = np.empty(n_vox, dtype=np.int64)
        for it in range(chunk, n_iters, n_chunks):
            counts1[:] = 0.0
            _accumulate(perms[it, :n_group1], indptr, indices, values, counts1)
            for v in range(n_vox):
                counts2[v] = total[v] - counts1[v]
            for k in range(3):
                if k == 0:
                    _one_way(counts1, n1, stat)
                elif k == 1:
                    _one_way(counts2, n2, stat)
                else:
                    _two_way(counts1, counts2, n1, n2, stat)
                out[it, k, 0] = stat.max()
                size, mass = max_cluster(
                    stat, threshold, centers, lookup, neighbours, flags, supra, stack
                )
                out[it, k, 1] = size
                out[it, k, 2] = mass
    return out
