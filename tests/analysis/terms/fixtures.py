"""The Neurosynth 20-study NiMARE subset with its real tf-idf weights (100 terms).

Coordinates, weights and vocabulary are in ``tests/data/neurosynth`` (see DATA_NOTICE.md).
"""

import csv
import gzip

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
