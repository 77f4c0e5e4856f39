"""LDA topics as a feature set: a release's topic weights imported with its topic names
(Neurosynth's 50-topic vocabulary), then topic maps built and served like term maps.

The topic weights here are drawn (Dirichlet) for the Neurosynth subset's 20 studies: the
release's own weights file is not bundled. A topic's selection is its studies with a weight
of at least 0.05, and its served maps must equal the chi-square maps of that selection
computed from the release's coordinates.
"""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest
from scipy import sparse

from analysis import termbuild
from analysis.meta import Mask
from neurostore.services.actors import SYSTEM
from tests.support.data import DATA
from tests.support.terms import build_subset, import_matrix, metadata_ids, reference_maps

TOPICS = DATA / "neurosynth" / "vocab-LDA50_vocabulary.txt"
THRESHOLD = 0.05


@pytest.fixture
def topics(services, tmp_path):
    build_subset(services, tmp_path / "var")
    ids = metadata_ids()
    names = TOPICS.read_text().splitlines()
    weights = np.random.default_rng(7).dirichlet(np.full(len(names), 0.1), size=len(ids))
    path = tmp_path / "topics.npz"
    sparse.save_npz(path, sparse.csr_matrix(weights))
    feature_set = import_matrix(services, "lda50", path, TOPICS)
    maps = services.terms.request(SYSTEM, "term_maps", {
        "feature_set": feature_set, "min_studies": 3, "threshold": THRESHOLD})
    termbuild.execute(services, maps["id"])
    return {"ids": ids, "names": names, "weights": weights, "feature_set": feature_set}


def test_topic_maps_are_their_selections_maps(client, topics):
    listed = client.get(f"/api/terms?feature_set={topics['feature_set']}&built=true"
                        "&limit=100").get_json()
    assert listed["count"] > 0
    assert {t["term"] for t in listed["results"]} <= set(topics["names"])
    column = topics["names"].index(listed["results"][0]["term"])
    name = topics["names"][column]
    selected = [i for i, w in zip(topics["ids"], topics["weights"][:, column], strict=True)
                if w >= THRESHOLD]
    topic = client.get(f"/api/terms/{name}?feature_set={topics['feature_set']}").get_json()
    assert topic["n_studies"] == len(selected)
    served = client.get(topic["map_urls"]["z_desc-association"]["nii.gz"])
    assert served.status_code == 200
    values = np.asanyarray(nib.Nifti1Image.from_bytes(gzip.decompress(served.data)).dataobj)
    np.testing.assert_allclose(values[Mask.default().data],
                               reference_maps(selected)["z_desc-association"], atol=1e-6)
    feature_set = client.get(f"/api/feature-sets/{topics['feature_set']}").get_json()
    assert feature_set["name"] == "lda50" and feature_set["n_terms"] == 50
