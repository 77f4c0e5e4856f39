"""NeuroQuery text-to-brain maps through the API: a model fitted on 300 real NeuroQuery
studies as a term build, answering as the ``neuroquery`` package's own model does."""

from __future__ import annotations

import gzip
import tarfile
import warnings

import nibabel as nib
import numpy as np
import pytest

from analysis import termbuild
from ingest.runs import run_now
from ingest.sources import Environment
from neurostore.services.actors import SYSTEM
from tests.support.data import DATA

encoding = pytest.importorskip("neuroquery.encoding")

NQ = DATA / "neuroquery"
METADATA = NQ / "first300_metadata.tsv.gz"


@pytest.fixture
def model(services, tmp_path):
    env = Environment(services=services, data_dir=tmp_path / "var", files=services.terms.files)
    run_now(services, "neuroquery", {"coordinates": str(NQ / "first300_coordinates.tsv.gz"),
                                     "metadata": str(METADATA)}, env)
    files = services.terms.files
    stored = {"matrix": files.put_file(
                  NQ / "first300_vocab-neuroquery7547_source-keywords_type-count_features.npz",
                  ".npz"),
              "ids": files.put_file(METADATA, ".tsv.gz"),
              "vocabulary": files.put_file(NQ / "vocab-neuroquery7547_vocabulary.txt", ".txt")}
    features = services.terms.request(SYSTEM, "features", {
        "name": "nq-300", "from": "matrix", "files": stored})
    termbuild.execute(services, features["id"])
    fit = services.terms.request(SYSTEM, "text_model", {"voxel_size": 8.0})
    termbuild.execute(services, fit["id"])
    return services.terms.get_build(SYSTEM, fit["id"])


def test_a_text_s_map_is_the_neuroquery_package_s_on_the_same_model(client, services, model,
                                                                   tmp_path):
    assert model["status"] == "succeeded", model["error"]
    answer = client.get("/api/neuroquery?text=visual motion perception&top=5")
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert body["terms"] and {t["term"] for t in body["terms"]} <= {
        "visual", "motion", "perception", "visual motion", "motion perception"}
    assert 1 <= len(body["similar_terms"]) <= 5 and len(body["similar_studies"]) == 5
    assert all(s["name"] for s in body["similar_studies"])
    served = client.get(body["map_url"])
    assert served.status_code == 200
    ours = nib.Nifti1Image.from_bytes(gzip.decompress(served.data))

    with tarfile.open(services.terms.files.path(model["result"]["files"]["model"])) as tar:
        tar.extractall(tmp_path / "model", filter="data")
    package = encoding.NeuroQueryModel.from_data_dir(tmp_path / "model")
    with warnings.catch_warnings():
        # The package sorts a pandas table in place, which pandas deprecates.
        warnings.simplefilter("ignore")
        expected = package("visual motion perception")["brain_map"]
    np.testing.assert_allclose(ours.get_fdata(), expected.get_fdata(), atol=1e-6)


def test_a_text_with_no_known_term_is_a_422(client, model):
    answer = client.get("/api/neuroquery?text=zzzz qqqq")
    assert answer.status_code == 422 and "text" in answer.get_data(as_text=True)
    assert client.get("/api/neuroquery").status_code == 400


def test_no_model_yet_is_a_404(client, services):
    assert client.get("/api/neuroquery?text=memory").status_code == 404
