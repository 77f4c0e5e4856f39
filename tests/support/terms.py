"""The Neurosynth subset as a term-maps store, and its maps computed straight from the files.

:func:`build_subset` loads the 20-study Neurosynth subset (``tests/data/neurosynth``) with
its released tf-idf weights into a store the way an operator does (an ingest run, a feature
set imported from the release's matrix, the term maps built), through the services and
the build executor a worker runs. :func:`reference_maps` computes a selection's maps from
the release files alone, without the store, to compare with what the store serves.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from analysis import termbuild
from analysis.meta import CoordinateInputs, Mask
from analysis.terms import ActivationMatrix, selection_maps
from ingest.runs import run_now
from ingest.sources import Environment
from neurostore.services.actors import SYSTEM
from neurostore.services.registry import Services
from tests.support.data import DATA

SUBSET = DATA / "neurosynth"
COORDINATES = SUBSET / "nimare-subset_coordinates.tsv.gz"
METADATA = SUBSET / "nimare-subset_metadata.tsv.gz"
MATRIX = SUBSET / "nimare-subset_tfidf_features.npz"
VOCABULARY = SUBSET / "nimare-subset_vocabulary.txt"
#: Terms of the subset selecting at least this many of its 20 studies get built maps (3).
MIN_STUDIES = 3


def _rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def build_subset(services: Services, data_dir: Path) -> dict[str, Any]:
    """Ingest the subset, import its tf-idf as a feature set, build its term maps."""
    env = Environment(services=services, data_dir=data_dir, files=services.terms.files)
    run_now(services, "neurosynth", {"coordinates": str(COORDINATES),
                                     "metadata": str(METADATA)}, env)
    import_matrix(services, "ns-subset", MATRIX, VOCABULARY)
    maps = services.terms.request(SYSTEM, "term_maps", {"min_studies": MIN_STUDIES})
    termbuild.execute(services, maps["id"])
    return services.terms.get_build(SYSTEM, maps["id"])


def import_matrix(services: Services, name: str, matrix: Path, vocabulary: Path) -> str:
    """Import a studies x terms matrix over the subset's studies (rows in its metadata's
    order) as feature set ``name``, weights as given, the way the worker does; its id."""
    files = services.terms.files
    stored = {"matrix": files.put_file(matrix, ".npz"),
              "ids": files.put_file(METADATA, ".tsv.gz"),
              "vocabulary": files.put_file(vocabulary, ".txt")}
    build = services.terms.request(SYSTEM, "features", {
        "name": name, "from": "matrix", "files": stored, "weighting": "none"})
    termbuild.execute(services, build["id"])
    return services.terms.get_build(SYSTEM, build["id"])["result"]["feature_set"]


def metadata_ids() -> list[str]:
    """The subset's study ids (PMIDs), in its metadata's order."""
    return [row["id"] for row in _rows(METADATA)]


def term_selection(term: str, threshold: float = 0.001) -> list[str]:
    """PMIDs whose released weight of ``term`` is at least ``threshold``."""
    terms = VOCABULARY.read_text().splitlines()
    weights = sparse.load_npz(MATRIX).tocsc()[:, terms.index(term)].toarray().ravel()
    ids = [row["id"] for row in _rows(METADATA)]
    return [pmid for pmid, w in zip(ids, weights, strict=True) if w >= threshold]


def reference_maps(selected: list[str]) -> dict[str, np.ndarray]:
    """The chi-square maps of the PMIDs ``selected`` against the rest of the subset,
    computed from the release files (Talairach studies converted, others taken as MNI)."""
    space = {row["id"]: row["space"] for row in _rows(METADATA)}
    rows = _rows(COORDINATES)
    inputs = CoordinateInputs.from_table(
        [r["id"] for r in rows], [float(r["x"]) for r in rows], [float(r["y"]) for r in rows],
        [float(r["z"]) for r in rows],
        space=["TAL" if space[r["id"]] == "TAL" else "MNI" for r in rows])
    activation = ActivationMatrix.build(inputs, Mask.default())
    chosen = np.isin(np.array(activation.study_ids), selected)
    return selection_maps(activation, chosen)
