"""NeuroQuery's text-to-brain model: fitted, saved, loaded and queried with the package.

Training follows the package's example (``examples/training_neuroquery.py``): each study's
foci become a density map (peaks smoothed by a Gaussian of ``fwhm`` mm, on the package's
MNI152 brain mask resampled to ``voxel_size`` mm), and a
``neuroquery.smoothed_regression.SmoothedRegression`` (NMF term smoothing, then a ridge
regression of the maps on the terms that keeps the informative ones) is fitted to the
studies' tf-idf. The result wraps a ``neuroquery.encoding.NeuroQueryModel``.

The tf-idf and the maps are float32 (the package computes in its inputs' precision): on
the NeuroQuery release at 4 mm that halves the ridge's several-gigabyte peak.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import nibabel as nib
import numpy as np
from neuroquery.encoding import NeuroQueryModel
from neuroquery.img_utils import coords_to_peaks_img, get_masker
from neuroquery.smoothed_regression import SmoothedRegression
from neuroquery.tokenization import TextVectorizer
from nilearn.image import smooth_img
from nilearn.maskers import NiftiMasker
from scipy import sparse
from sklearn.preprocessing import normalize

from .errors import TermsInputError
from .textfeatures import document_frequencies

#: Called with (stage, done, total): stage "maps" per study, then "regression".
Progress = Callable[[str, int, int], None]

#: The ridge penalties the package's training example tries (its default tries nine).
DEFAULT_ALPHAS = (1.0, 10.0, 100.0)

_CORPUS_TFIDF = "corpus_tfidf.npz"
_CORPUS_METADATA = "corpus_metadata.csv"
_INFO = "textmodel.json"


def density_maps(
    study_index: np.ndarray,
    xyz: np.ndarray,
    studies: Sequence[int],
    masker: NiftiMasker,
    *,
    fwhm: float = 9.0,
    progress: Progress | None = None,
) -> np.ndarray:
    """Return the foci density map of each of ``studies``, masked, as float32 rows.

    The maps of ``neuroquery.img_utils.coordinates_to_maps``: the package's peaks image of
    a study's foci (voxels outside the grid are dropped), smoothed by nilearn. The mask is
    applied with numpy: nilearn's masker costs about 0.3 s a study (an hour on the release).

    Parameters
    ----------
    study_index, xyz : numpy.ndarray
        Row of each focus, and its MNI coordinates in mm (shape (n_foci, 3)).
    studies : sequence of int
        Rows whose maps to compute, in this order.
    masker : nilearn.maskers.NiftiMasker
        A fitted masker (``neuroquery.img_utils.get_masker``).
    fwhm : float
        Full width at half maximum of the Gaussian, in mm.
    progress : callable, optional
        Called as ``progress("maps", done, total)`` after each study.

    Returns
    -------
    numpy.ndarray of float32, shape (len(studies), n_voxels)
    """
    mask_img = masker.mask_img_
    mask = np.asanyarray(mask_img.dataobj).astype(bool)
    order = np.argsort(study_index, kind="stable")
    sorted_index = study_index[order]
    maps = np.empty((len(studies), int(mask.sum())), dtype=np.float32)
    for row, study in enumerate(studies):
        start, stop = np.searchsorted(sorted_index, [study, study + 1])
        peaks = coords_to_peaks_img(xyz[order[start:stop]], mask_img)
        maps[row] = np.asanyarray(smooth_img(peaks, fwhm=fwhm).dataobj)[mask]
        if progress is not None:
            progress("maps", row + 1, len(studies))
    return maps


def _check_inputs(
    tfidf: sparse.spmatrix, terms: Sequence[str], coordinates: tuple[np.ndarray, np.ndarray]
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    if not sparse.issparse(tfidf) or tfidf.ndim != 2:
        raise TermsInputError("tfidf: expected a 2-d scipy sparse matrix (studies x terms)")
    tfidf = sparse.csr_matrix(tfidf, dtype=np.float32)
    if tfidf.shape[1] != len(terms):
        raise TermsInputError(f"tfidf: {tfidf.shape[1]} columns for {len(terms)} terms")
    if not np.isfinite(tfidf.data).all() or (tfidf.data < 0).any():
        raise TermsInputError("tfidf: a weight is negative, NaN or infinite")
    try:
        study_index, xyz = coordinates
    except (TypeError, ValueError):
        raise TermsInputError("coordinates: expected (study_index, xyz)") from None
    study_index, xyz = np.asarray(study_index), np.asarray(xyz, dtype=np.float64)
    if study_index.ndim != 1 or not np.issubdtype(study_index.dtype, np.integer):
        raise TermsInputError("coordinates: study_index must be a 1-d integer array")
    if xyz.shape != (len(study_index), 3):
        raise TermsInputError(
            f"coordinates: xyz must have shape ({len(study_index)}, 3), got {xyz.shape}"
        )
    if len(study_index) and (study_index.min() < 0 or study_index.max() >= tfidf.shape[0]):
        raise TermsInputError(f"coordinates: a study index is outside [0, {tfidf.shape[0]})")
    if not np.isfinite(xyz).all():
        raise TermsInputError("coordinates: a coordinate is NaN or infinite")
    return tfidf, study_index, xyz


def _vectorizer(terms: Sequence[str], frequencies: np.ndarray) -> TextVectorizer:
    """Return the package's vectorizer of ``terms``, which must be its own vocabulary."""
    vectorizer = TextVectorizer.from_vocabulary(
        list(terms), frequencies=frequencies, voc_mapping={}, add_unigrams=False
    )
    if vectorizer.get_vocabulary() != list(terms):
        raise TermsInputError(
            "terms: must be NeuroQuery's standardised vocabulary, sorted and distinct (as "
            "vectorize_texts returns it)"
        )
    return vectorizer.fit()


def fit_text_model(
    tfidf: sparse.spmatrix,
    terms: Sequence[str],
    coordinates: tuple[np.ndarray, np.ndarray],
    *,
    study_ids: Sequence[str] | None = None,
    frequencies: np.ndarray | None = None,
    mask_img: nib.Nifti1Image | None = None,
    voxel_size: float = 4.0,
    fwhm: float = 9.0,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    n_components: int = 300,
    progress: Progress | None = None,
) -> TextModel:
    """Fit NeuroQuery's model of brain maps from text, as the package's example does.

    Studies without a term, or whose foci leave a zero density map (none given, or none
    inside the grid), are dropped; :attr:`TextModel.dropped` lists them.

    Parameters
    ----------
    tfidf : scipy sparse matrix, shape (n_studies, n_terms)
        The studies' term weights (:func:`~analysis.terms.textfeatures.tfidf_from_counts`).
    terms : sequence of str
        The columns' terms: NeuroQuery's standardised, sorted vocabulary, as
        :func:`~analysis.terms.textfeatures.vectorize_texts` returns it (the release's
        ``vocab-neuroquery7547`` list is).
    coordinates : (numpy.ndarray of int, numpy.ndarray of float)
        Row of ``tfidf`` of each focus, and its MNI coordinates in mm, shape (n_foci, 3).
    study_ids : sequence of str, optional
        Id of each row, reported by queries; default: the row numbers.
    frequencies : numpy.ndarray, optional
        Document frequency of each term, with which queries are weighted; default: the
        fraction of rows of ``tfidf`` holding the term (what ``tfidf_from_counts`` used).
    mask_img : nibabel image, optional
        Brain mask; default: the package's (nilearn's MNI152 brain mask). It is resampled
        to ``voxel_size``.
    voxel_size : float
        Voxel size of the maps, in mm (the package's published model uses 4).
    fwhm : float
        Smoothing of the foci, in mm.
    alphas : sequence of float
        Ridge penalties, chosen among by generalised cross-validation.
    n_components : int
        NMF components of the term smoothing.
    progress : callable, optional
        ``progress(stage, done, total)``: "maps" after each study, "regression" before
        (0 of 1) and after (1 of 1) the regression.

    Returns
    -------
    TextModel

    Raises
    ------
    TermsInputError
        If the inputs do not fit together, or fewer than two studies remain.
    """
    tfidf, study_index, xyz = _check_inputs(tfidf, terms, coordinates)
    ids = tuple(str(i) for i in (range(tfidf.shape[0]) if study_ids is None else study_ids))
    if len(ids) != tfidf.shape[0]:
        raise TermsInputError(f"study_ids: {len(ids)} ids for {tfidf.shape[0]} rows")
    vectorizer = _vectorizer(
        terms, document_frequencies(tfidf) if frequencies is None else frequencies
    )
    masker = get_masker(mask_img, target_affine=voxel_size)

    with_terms = np.flatnonzero(np.diff(tfidf.indptr) > 0)
    maps = density_maps(study_index, xyz, with_terms, masker, fwhm=fwhm, progress=progress)
    mapped = maps.any(axis=1)
    kept = with_terms[mapped]
    if len(kept) < 2:
        raise TermsInputError(f"fewer than two studies have both terms and foci ({len(kept)})")
    # The maps are the largest input: copy them only when a row must go.
    maps = maps if mapped.all() else maps[mapped]
    corpus = tfidf[kept]

    if progress is not None:
        progress("regression", 0, 1)
    regression = SmoothedRegression(
        alphas=np.asarray(alphas, dtype=np.float64), n_components=n_components
    ).fit(corpus, maps)
    if progress is not None:
        progress("regression", 1, 1)
    no_terms = np.ones(tfidf.shape[0], dtype=bool)
    no_terms[with_terms] = False
    dropped = {
        "no_terms": tuple(ids[i] for i in np.flatnonzero(no_terms)),
        "no_coordinates": tuple(ids[i] for i in with_terms[~mapped]),
    }
    encoder = NeuroQueryModel(vectorizer, regression, masker.mask_img_)
    return TextModel(encoder, corpus, tuple(ids[i] for i in kept), dropped)


@dataclass(frozen=True, eq=False)
class TextModel:
    """A fitted NeuroQuery model and the studies it was fitted on.

    Build with :func:`fit_text_model` or :meth:`load`; ask with :meth:`query`.

    Attributes
    ----------
    encoder : neuroquery.encoding.NeuroQueryModel
        The package's model (vectorizer, smoothed regression, mask), without its
        ``corpus_info``: the corpus is kept here, with the study ids as strings.
    corpus_tfidf : scipy.sparse.csr_matrix of float32, shape (n_studies, n_terms)
        Term weights of the studies the model was fitted on.
    study_ids : tuple of str
        Id of each row of ``corpus_tfidf``.
    dropped : dict of str to tuple of str
        Studies left out of the fit: ``"no_terms"`` and ``"no_coordinates"``.
    """

    encoder: NeuroQueryModel
    corpus_tfidf: sparse.csr_matrix
    study_ids: tuple[str, ...]
    dropped: dict[str, tuple[str, ...]]

    @cached_property
    def terms(self) -> tuple[str, ...]:
        """The model's vocabulary, in column order."""
        # The package sorts its vocabulary anew on each call (7 ms for 7,547 terms).
        return tuple(self.encoder.full_vocabulary())

    @cached_property
    def _mask(self) -> nib.Nifti1Image:
        return self.encoder.get_masker().mask_img_

    @cached_property
    def _mask_data(self) -> np.ndarray:
        return np.asanyarray(self._mask.dataobj).astype(bool)

    @cached_property
    def _brain_map_weights(self) -> np.ndarray:
        # A term's weight in a brain map is its smoothed tf-idf times the norm of its
        # coefficients (the package's "weight_in_brain_map"); unselected terms weigh 0.
        regression = self.encoder.smoothed_regression.regression_
        norms = np.zeros(len(self.terms))
        norms[regression.selected_features_] = np.linalg.norm(regression.coef_, axis=0)
        return norms

    @cached_property
    def _n_studies(self) -> np.ndarray:
        return np.bincount(self.corpus_tfidf.indices, minlength=len(self.terms))

    def query(self, text: str, *, n_terms: int = 20, n_studies: int = 20) -> dict:
        """Predict the brain map of a text, with its terms, related terms and studies.

        The same computation as ``NeuroQueryModel.__call__`` (the package's vectorizer,
        smoothing and z map), without building its tables of every term and study.

        Parameters
        ----------
        text : str
            The query, e.g. ``"reading words"``.
        n_terms, n_studies : int
            How many similar terms and studies to return at most.

        Returns
        -------
        dict
            - ``"z_map"``: the predicted z map (a nibabel image on the model's mask grid);
            - ``"query_terms"``: the terms found in ``text``, as dicts with ``"term"`` and
              ``"weight"`` (the query's tf-idf), heaviest first;
            - ``"similar_terms"``: dicts with ``"term"``, ``"similarity"`` (the smoothed
              tf-idf), ``"weight_in_brain_map"``, ``"weight_in_query"`` and ``"n_studies"``
              (fitted studies holding the term), by decreasing weight in the brain map;
            - ``"similar_studies"``: dicts with ``"id"`` and ``"similarity"`` (dot product
              of the smoothed query with the study's tf-idf), most similar first.

        Raises
        ------
        TermsInputError
            If ``text`` is not a string or contains no term of the model's vocabulary.
        """
        if not isinstance(text, str):
            raise TermsInputError(f"text: expected a string, got {type(text).__name__}")
        raw = normalize(self.encoder.vectorizer.transform([text]))
        if raw.nnz == 0:
            raise TermsInputError(f"text: no term of the model's vocabulary in {text!r}")
        regression = self.encoder.smoothed_regression
        z = np.asarray(regression.transform_to_brain_maps(raw)).ravel()
        smoothed = normalize(regression.smoothing_.transform(raw)).ravel()
        volume = np.zeros(self._mask_data.shape, dtype=np.float32)
        volume[self._mask_data] = z
        terms = self.terms
        query = raw.toarray().ravel()

        in_map = smoothed * self._brain_map_weights
        related = np.flatnonzero(smoothed > 0)
        related = related[np.lexsort((-smoothed[related], -in_map[related]))][:n_terms]
        similarity = self.corpus_tfidf @ smoothed
        studies = np.argsort(-similarity, kind="stable")[:n_studies]
        studies = studies[similarity[studies] > 0]
        return {
            "z_map": nib.Nifti1Image(volume, self._mask.affine),
            "query_terms": [
                {"term": terms[i], "weight": float(query[i])}
                for i in raw.indices[np.argsort(-raw.data, kind="stable")]
            ],
            "similar_terms": [
                {
                    "term": terms[i],
                    "similarity": float(smoothed[i]),
                    "weight_in_brain_map": float(in_map[i]),
                    "weight_in_query": float(query[i]),
                    "n_studies": int(self._n_studies[i]),
                }
                for i in related
            ],
            "similar_studies": [
                {"id": self.study_ids[i], "similarity": float(similarity[i])} for i in studies
            ],
        }

    def save(self, directory: str | os.PathLike) -> None:
        """Write the model into a new (or empty) directory.

        The package's ``to_data_dir`` files (``vocabulary.csv``, ``smoothing/``,
        ``regression/``, ``mask_img.nii.gz``), with the corpus (``corpus_tfidf.npz``,
        ``corpus_metadata.csv``: column ``id``) so that
        ``NeuroQueryModel.from_data_dir`` also loads it, and ``textmodel.json`` (the
        dropped studies).

        Raises
        ------
        TermsInputError
            If the directory exists and is not empty.
        """
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise TermsInputError(f"directory: {directory} is not empty")
        self.encoder.to_data_dir(directory)
        sparse.save_npz(directory / _CORPUS_TFIDF, self.corpus_tfidf)
        with (directory / _CORPUS_METADATA).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["id"])
            writer.writerows([study] for study in self.study_ids)
        info = {"dropped": {reason: list(ids) for reason, ids in self.dropped.items()}}
        (directory / _INFO).write_text(json.dumps(info))

    @classmethod
    def load(cls, directory: str | os.PathLike) -> TextModel:
        """Read a model :meth:`save` wrote (with the package's ``from_data_dir``).

        Raises
        ------
        TermsInputError
            If a file is missing or the parts do not fit together.
        """
        directory = Path(directory)
        try:
            encoder = NeuroQueryModel.from_data_dir(directory)
            with (directory / _CORPUS_METADATA).open(newline="", encoding="utf-8") as handle:
                study_ids = tuple(row["id"] for row in csv.DictReader(handle))
            info = json.loads((directory / _INFO).read_text())
        except (OSError, ValueError, KeyError) as error:
            raise TermsInputError(
                f"directory: cannot load a model from {directory}: {error}"
            ) from None
        if encoder.corpus_info is None:
            raise TermsInputError(f"directory: {directory} has no corpus")
        corpus = sparse.csr_matrix(encoder.corpus_info["tfidf"], dtype=np.float32)
        # The package's metadata table parses the ids as numbers; they are kept as written.
        encoder.corpus_info = None
        if corpus.shape != (len(study_ids), len(encoder.full_vocabulary())):
            raise TermsInputError(
                f"directory: corpus of shape {corpus.shape} for {len(study_ids)} studies and "
                f"{len(encoder.full_vocabulary())} terms"
            )
        dropped = {reason: tuple(ids) for reason, ids in info["dropped"].items()}
        return cls(encoder, corpus, study_ids, dropped)
