"""Real data of the term engine's tests (see DATA_NOTICE.md).

- the Neurosynth 20-study NiMARE subset with its real tf-idf weights (100 terms), in
  ``tests/data/neurosynth``;
- the NeuroQuery release's first 300 studies (keyword counts, foci, titles), in
  ``tests/data/neuroquery``.
"""

import csv
import gzip
from dataclasses import dataclass

import numpy as np
import pandas as pd
from nimare.dataset import Dataset
from scipy import sparse

from analysis.terms import TermWeights
from tests.support.data import DATA
from tests.support.datasets import neurosynth_rows, to_nimare_dataset

NEUROSYNTH = DATA / "neurosynth"


def subset_weights() -> TermWeights:
    """The subset's tf-idf weights, rows in the metadata's order."""
    with gzip.open(NEUROSYNTH / "nimare-subset_metadata.tsv.gz", "rt") as handle:
        ids = [row["id"] for row in csv.DictReader(handle, delimiter="\t")]
    terms = (NEUROSYNTH / "nimare-subset_vocabulary.txt").read_text().splitlines()
    weights = sparse.load_npz(NEUROSYNTH / "nimare-subset_tfidf_features.npz")
    return TermWeights.from_matrix(weights, ids, terms)


def nimare_dataset(weights: TermWeights) -> Dataset:
    """The same studies as a NiMARE Dataset (id ``<pmid>-1``) with the weights as annotations."""
    dataset = to_nimare_dataset(neurosynth_rows())
    annotations = pd.DataFrame(weights.weights.toarray(), columns=list(weights.terms))
    annotations.insert(0, "contrast_id", "1")
    annotations.insert(0, "study_id", list(weights.study_ids))
    annotations.insert(0, "id", [f"{study}-1" for study in weights.study_ids])
    dataset.annotations = annotations
    return dataset


NEUROQUERY = DATA / "neuroquery"
#: NeuroQuery's 7,547-term vocabulary (one term a line).
NQ_VOCABULARY = NEUROQUERY / "vocab-neuroquery7547_vocabulary.txt"


@dataclass(frozen=True)
class NeuroQuerySubset:
    """The release's first 300 studies: ids, titles, keyword counts and foci."""

    ids: list[str]
    titles: list[str]
    counts: sparse.csr_matrix
    terms: list[str]
    study_index: np.ndarray
    xyz: np.ndarray


def neuroquery_subset() -> NeuroQuerySubset:
    """Read the NeuroQuery fixture (rows of the counts in metadata order)."""
    with gzip.open(NEUROQUERY / "first300_metadata.tsv.gz", "rt", newline="") as handle:
        metadata = list(csv.DictReader(handle, delimiter="\t"))
    ids = [row["id"] for row in metadata]
    row = {study: index for index, study in enumerate(ids)}
    with gzip.open(NEUROQUERY / "first300_coordinates.tsv.gz", "rt", newline="") as handle:
        foci = list(csv.DictReader(handle, delimiter="\t"))
    counts = sparse.load_npz(
        NEUROQUERY / "first300_vocab-neuroquery7547_source-keywords_type-count_features.npz"
    )
    return NeuroQuerySubset(
        ids,
        [row["title"] for row in metadata],
        sparse.csr_matrix(counts),
        NQ_VOCABULARY.read_text().splitlines(),
        np.array([row[focus["id"]] for focus in foci]),
        np.array([[float(focus[axis]) for axis in "xyz"] for focus in foci]),
    )
