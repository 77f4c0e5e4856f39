"""How feature sets and term maps are written to files, and read back.

Every file is a plain ``.npy``/``.npz`` (no pickles), so a file from the store can be read
by anyone with numpy. A feature set's id is the sha256 of its content (terms, study ids
and matrix), not of the file's bytes: zip archives carry timestamps, the content does not.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from scipy import sparse

from analysis.meta import CoordinateInputs
from analysis.terms import ActivationMatrix, TermWeights

#: Version of the layouts below; part of a feature set's digest.
LAYOUT = "neurostore-features-1"


def _text(values: tuple[str, ...]) -> np.ndarray:
    return np.array(values, dtype=str) if values else np.empty(0, dtype="<U1")


def weights_digest(weights: TermWeights) -> str:
    """The sha256 of a feature set's content: its terms, study ids and weights."""
    digest = hashlib.sha256(LAYOUT.encode())
    matrix = weights.weights.tocsr()
    matrix.sort_indices()
    for part in ("\n".join(weights.terms), "\n".join(weights.study_ids)):
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    for array in (matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64),
                  matrix.data.astype(np.float64)):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def save_weights(weights: TermWeights, path: str | os.PathLike) -> None:
    """Write a feature set (CSR parts, study ids, terms) as a compressed ``.npz``."""
    matrix = weights.weights.tocsr()
    matrix.sort_indices()
    np.savez_compressed(path, data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                        shape=np.array(matrix.shape), study_ids=_text(weights.study_ids),
                        terms=_text(weights.terms))


def load_weights(path: str | os.PathLike) -> TermWeights:
    """Read what :func:`save_weights` wrote."""
    with np.load(path, allow_pickle=False) as parts:
        matrix = sparse.csr_matrix((parts["data"], parts["indices"], parts["indptr"]),
                                   shape=tuple(parts["shape"]))
        return TermWeights.from_matrix(matrix, parts["study_ids"].tolist(),
                                       parts["terms"].tolist())


def save_activation(activation: ActivationMatrix, path: str | os.PathLike) -> None:
    """Write an activation matrix as an uncompressed ``.npz`` (read back memory-mapped)."""
    np.savez(path, study_ids=_text(activation.study_ids), n_voxels=np.array(activation.n_voxels),
             indices=activation.indices, bounds=activation.bounds, totals=activation.totals)


def load_activation(path: str | os.PathLike) -> ActivationMatrix:
    """Read what :func:`save_activation` wrote."""
    with np.load(Path(path), allow_pickle=False) as parts:
        return ActivationMatrix(tuple(parts["study_ids"].tolist()), int(parts["n_voxels"]),
                                parts["indices"], parts["bounds"], parts["totals"])


def save_foci(inputs: CoordinateInputs, path: str | os.PathLike) -> None:
    """Write the foci of a build's studies (MNI mm), for decoding regions."""
    np.savez(path, experiment_ids=_text(inputs.experiment_ids), xyz=inputs.xyz,
             focus_experiment=inputs.focus_experiment, sample_sizes=inputs.sample_sizes)


def load_foci(path: str | os.PathLike) -> CoordinateInputs:
    """Read what :func:`save_foci` wrote."""
    with np.load(Path(path), allow_pickle=False) as parts:
        return CoordinateInputs(tuple(parts["experiment_ids"].tolist()), parts["xyz"],
                                parts["focus_experiment"], parts["sample_sizes"])
