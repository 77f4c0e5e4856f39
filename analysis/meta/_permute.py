"""Compiled label-permutation loops of the two-group CBMA estimators.

Both groups' experiments are pooled into one CSR matrix (experiments x masked voxels). A
permutation is a row of ``perms``: its first ``n_group1`` entries are the experiments
relabelled as group 1, the rest as group 2. Permutations are drawn beforehand and split
across threads, so results do not depend on the thread count.
"""

import numba
import numpy as np


@numba.njit(cache=True)
def _accumulate(rows, indptr, indices, values, acc):
    """Add the CSR rows ``rows`` (in ascending order) into ``acc``."""
    for r in np.sort(rows):
        for j in range(indptr[r], indptr[r + 1]):
            acc[indices[j]] += values[j]


@numba.njit(cache=True)
def _ale(log_sum):
    """ALE from a sum of log(1 - MA), as float32 (0 where nothing was added)."""
    if log_sum == 0.0:
        return np.float32(0.0)
    return np.float32(1.0 - np.exp(log_sum))


@numba.njit(cache=True)
def _totals(indptr, indices, logs, n_voxels):
    """Sum of every pooled row (in row order): both groups' log sums together."""
    total = np.zeros(n_voxels)
    _accumulate(np.arange(indptr.size - 1), indptr, indices, logs, total)
    return total


@numba.njit(cache=True)
def _difference(perm, n_group1, indptr, indices, logs, total, acc, out):
    """Write ALE(group 1) - ALE(group 2) (float32) into ``out``, ``acc`` being work space.

    Only the smaller group's rows are added up; the other group's log sums are ``total``
    minus them, which halves the scattering at equal group sizes. A voxel's two sums
    still depend only on which experiments covering it fall in each group (the rows are
    added in ascending order, and ``total`` is fixed), so a relabelling that keeps them in
    their observed groups reproduces the observed difference exactly.
    """
    first_smaller = 2 * n_group1 <= perm.size
    acc[:] = 0.0
    _accumulate(perm[:n_group1] if first_smaller else perm[n_group1:], indptr, indices, logs, acc)
    for v in range(out.size):
        small = acc[v]
        other = total[v] - small
        if first_smaller:
            out[v] = _ale(small) - _ale(other)
        else:
            out[v] = _ale(other) - _ale(small)


@numba.njit(cache=True)
def ale_difference(n_group1, indptr, indices, logs, n_voxels):
    """Return the observed ALE difference with the arithmetic of the permutation loop.

    Parameters
    ----------
    n_group1 : int
        Size of group 1 (the first rows of the pooled matrix).
    indptr, indices : int arrays
        Pooled CSR structure.
    logs : float32 array
        ``log1p(-MA)`` of each stored MA value.
    n_voxels : int
        Number of masked voxels.

    Returns
    -------
    float32 array (n_voxels,)
    """
    out = np.zeros(n_voxels, dtype=np.float32)
    _difference(
        np.arange(indptr.size - 1),
        n_group1,
        indptr,
        indices,
        logs,
        _totals(indptr, indices, logs, n_voxels),
        np.zeros(n_voxels),
        out,
    )
    return out


@numba.njit(cache=True, parallel=True)
def ale_difference_null(perms, n_group1, indptr, indices, logs, observed, n_chunks):
    """Permutation null of the ALE difference (group 1 minus group 2).

    Parameters
    ----------
    perms : int32 array (n_iters, n_experiments)
        Permuted experiment indices of each iteration.
    n_group1 : int
        Size of group 1.
    indptr, indices : int arrays
        Pooled CSR structure.
    logs : float32 array
        ``log1p(-MA)`` of each stored MA value.
    observed : float32 array (n_voxels,)
        Observed difference from :func:`ale_difference` (same arithmetic, so a relabelling
        that reproduces the observed groups at a voxel ties with it exactly).
    n_chunks : int
        Number of parallel chunks.

    Returns
    -------
    upper, lower : int64 arrays (n_voxels,)
        Iterations whose difference is >= (upper) and <= (lower) the observed one.
    max_abs : float64 array (n_iters,)
        Largest absolute difference of each iteration.
    """
    n_vox = observed.size
    upper = np.zeros((n_chunks, n_vox), dtype=np.int64)
    lower = np.zeros((n_chunks, n_vox), dtype=np.int64)
    max_abs = np.zeros(perms.shape[0])
    total = _totals(indptr, indices, logs, n_vox)
    for chunk in numba.prange(n_chunks):
        _difference_chunk(
            chunk,
            n_chunks,
            perms,
            n_group1,
            indptr,
            indices,
            logs,
            total,
            observed,
            upper[chunk],
            lower[chunk],
            max_abs,
        )
    return upper.sum(axis=0), lower.sum(axis=0), max_abs


@numba.njit(cache=True, nogil=True)
def _difference_chunk(
    chunk, n_chunks, perms, n_group1, indptr, indices, logs, total, observed, upper, lower, max_abs
):
    """Run permutations ``chunk, chunk + n_chunks, ...`` of :func:`ale_difference_null`.

    Compiled outside the parallel region so its loops are optimised as ordinary code.
    """
    n_vox = observed.size
    acc = np.zeros(n_vox)
    diff = np.zeros(n_vox, dtype=np.float32)
    for it in range(chunk, perms.shape[0], n_chunks):
        _difference(perms[it], n_group1, indptr, indices, logs, total, acc, diff)
        top = 0.0
        for v in range(n_vox):
            if diff[v] >= observed[v]:
                upper[v] += 1
            if diff[v] <= observed[v]:
                lower[v] += 1
            top = max(top, abs(diff[v]))
        max_abs[it] = top


@numba.njit(cache=True)
def max_cluster(stat, threshold, centers, lookup, neighbours, flags, supra, stack):
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
def _one_way(counts, n, out):
    expected = counts.mean()
    denominator = expected * (n - expected)
    for v in range(counts.size):
        out[v] = 0.0 if denominator == 0 else (counts[v] - expected) ** 2 * n / denominator


@numba.njit(cache=True)
def _two_way(counts1, counts2, n1, n2, out):
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
    perms,
    n_group1,
    indptr,
    indices,
    values,
    total,
    threshold,
    centers,
    lookup,
    grid_size,
    neighbours,
    n_chunks,
):
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
