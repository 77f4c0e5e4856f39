"""Continuous decoding: correlate a map with every term's map (NiMARE's CorrelationDecoder).

NiMARE's ``CorrelationDecoder`` correlates the input map, masked, with each term's
meta-analytic map (by default ``z_desc-association`` of ``MKDAChi2``) with Pearson's r.
Here each term map is centred and scaled to unit norm once, and stored as float32; a
decoding is then one matrix-vector product with the standardised input.
"""

import mmap
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from analysis.meta.mask import Mask

from .errors import TermsInputError

#: The term map NiMARE's CorrelationDecoder correlates by default.
DEFAULT_MAP = "z_desc-association"

_MATRIX_FILE = "standardised.npy"
_TERMS_FILE = "terms.txt"
#: Rows of the matrix multiplied at a time (and, when it is mapped, then released).
_BLOCK_BYTES = 64 << 20


def _release(matrix: np.ndarray, start: int, stop: int) -> None:
    """Drop rows ``start:stop`` of a memory-mapped matrix from this process's memory.

    The pages stay in the kernel's page cache, so the next decoding maps them again at
    memory speed; without this a 3,000-term matrix would stay resident (2.7 GB) in every
    API and worker process that ever decoded.
    """
    if not (isinstance(matrix, np.memmap) and isinstance(matrix.base, mmap.mmap)
            and hasattr(mmap, "MADV_DONTNEED")):
        return  # an array in memory, a view of a mapping, or a platform without madvise
    row = matrix.shape[1] * matrix.itemsize
    first = (matrix.offset + start * row) // mmap.PAGESIZE * mmap.PAGESIZE
    matrix._mmap.madvise(mmap.MADV_DONTNEED, first, matrix.offset + stop * row - first)


def _standardise(values: np.ndarray) -> np.ndarray:
    """Centre a vector and scale it to unit norm, in float64 (NaN if it is constant)."""
    centred = np.asarray(values, dtype=np.float64) - np.mean(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return centred / np.sqrt(np.sum(centred**2))


def masked_values(img: nib.Nifti1Image, mask: Mask) -> np.ndarray:
    """Return an image's values at the mask's voxels (the image must be on its grid)."""
    mask.check_image(img, "img")
    data = np.asanyarray(img.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    return np.asarray(data[mask.data], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class TermMapMatrix:
    """Standardised term maps: one row per term, centred and of unit norm, float32.

    Build with :meth:`from_maps`; keep with :meth:`save` and :meth:`load` (which can map
    the matrix from disk instead of reading it into memory).

    Attributes
    ----------
    terms : tuple of str
        Term of each row.
    standardised : numpy.ndarray of float32, shape (n_terms, n_voxels)
        Rows are NaN where a term's map is constant (its correlation is undefined).
    """

    terms: tuple[str, ...]
    standardised: np.ndarray

    @classmethod
    def from_maps(
        cls,
        terms: Sequence[str],
        maps: Iterable[np.ndarray],
        n_voxels: int,
        *,
        out: np.ndarray | None = None,
    ) -> "TermMapMatrix":
        """Standardise term maps one at a time into a matrix.

        Parameters
        ----------
        terms : sequence of str
            Term of each map.
        maps : iterable of numpy.ndarray
            One masked map per term (e.g. a generator over term results).
        n_voxels : int
            Length of each map.
        out : numpy.ndarray, optional
            A float32 (n_terms, n_voxels) array to fill, such as a memory-mapped file from
            ``numpy.lib.format.open_memmap``; default: a new array.

        Returns
        -------
        TermMapMatrix

        Raises
        ------
        TermsInputError
            If a map has the wrong length or the number of maps differs from the terms.
        """
        terms = tuple(terms)
        if out is None:
            out = np.empty((len(terms), n_voxels), dtype=np.float32)
        if out.shape != (len(terms), n_voxels) or out.dtype != np.float32:
            raise TermsInputError(f"out: expected float32 of shape {(len(terms), n_voxels)}")
        row = -1
        for row, values in enumerate(maps):
            if row >= len(terms) or np.shape(values) != (n_voxels,):
                raise TermsInputError(
                    f"maps: map {row} does not fit (expected {len(terms)} maps of "
                    f"{n_voxels} voxels)"
                )
            out[row] = _standardise(values)
        if row + 1 != len(terms):
            raise TermsInputError(f"maps: got {row + 1} maps for {len(terms)} terms")
        return cls(terms, out)

    def save(self, directory: str | os.PathLike) -> None:
        """Write the matrix (``standardised.npy``) and its terms (``terms.txt``)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / _MATRIX_FILE, self.standardised)
        (directory / _TERMS_FILE).write_text("".join(f"{term}\n" for term in self.terms))

    @classmethod
    def load(cls, directory: str | os.PathLike, *, mmap: bool = True) -> "TermMapMatrix":
        """Read what :meth:`save` wrote; with ``mmap`` the matrix stays on disk."""
        directory = Path(directory)
        matrix = np.load(directory / _MATRIX_FILE, mmap_mode="r" if mmap else None)
        terms = tuple((directory / _TERMS_FILE).read_text().splitlines())
        if matrix.shape[0] != len(terms):
            raise TermsInputError(f"{directory}: {matrix.shape[0]} maps for {len(terms)} terms")
        return cls(terms, matrix)

    def correlate(self, values: np.ndarray) -> np.ndarray:
        """Return Pearson's r between a masked map and every term map.

        Parameters
        ----------
        values : numpy.ndarray of shape (n_voxels,)
            The input map at the mask's voxels (see :func:`masked_values`).

        Returns
        -------
        numpy.ndarray of float64
            One r per term, NaN for a constant map.
        """
        values = np.asarray(values)
        if values.shape != (self.standardised.shape[1],):
            raise TermsInputError(
                f"values: expected {self.standardised.shape[1]} voxels, got shape {values.shape}"
            )
        vector = _standardise(values).astype(np.float32)
        matrix = self.standardised
        r = np.empty(matrix.shape[0], dtype=np.float64)
        step = max(1, _BLOCK_BYTES // max(1, matrix.shape[1] * matrix.itemsize))
        for start in range(0, matrix.shape[0], step):
            stop = min(start + step, matrix.shape[0])
            r[start:stop] = matrix[start:stop] @ vector
            _release(matrix, start, stop)
        return r

    def decode(self, values: np.ndarray) -> list[tuple[str, float]]:
        """Return (term, r) pairs from the highest r to the lowest (NaN last)."""
        r = self.correlate(values)
        order = np.argsort(np.where(np.isnan(r), np.inf, -r), kind="stable")
        return [(self.terms[i], float(r[i])) for i in order]
