"""Term maps, expressions and decoding through the API, on the Neurosynth subset's store."""

from __future__ import annotations

import csv
import gzip
import io

import nibabel as nib
import numpy as np
import pytest
from scipy import sparse

from analysis.meta import Mask
from neurostore.services.actors import SYSTEM
from tests.support.examples import import_example
from tests.support.runs import run_and_read, run_file
from tests.support.terms import (
    MATRIX,
    METADATA,
    MIN_STUDIES,
    VOCABULARY,
    build_subset,
    reference_maps,
    term_selection,
)


@pytest.fixture
def built(services, tmp_path):
    return build_subset(services, tmp_path / "var")


def _masked(data: bytes) -> np.ndarray:
    img = nib.Nifti1Image.from_bytes(gzip.decompress(data))
    return np.asanyarray(img.dataobj)[Mask.default().data]


def test_terms_list_counts_and_search(client, built):
    listed = client.get("/api/terms?limit=1000").get_json()
    assert listed["build"] == built["id"] and listed["count"] == 100
    counts = {t["term"]: t for t in listed["results"]}
    assert counts["activations"]["n_studies"] == len(term_selection("activations"))
    assert counts["activations"]["maps"] is True
    assert all(t["maps"] == (t["n_studies"] >= MIN_STUDIES) for t in listed["results"])
    found = client.get("/api/terms?search=ACTIV").get_json()["results"]
    assert found and all("activ" in t["term"] for t in found)
    only_built = client.get("/api/terms?built=true").get_json()
    assert only_built["count"] == built["result"]["n_terms_built"]
    assert client.get("/api/terms?limit=0").status_code == 400


def test_a_term_is_its_selection_s_maps_computed_from_the_release(client, built):
    term = client.get("/api/terms/activations?top=5").get_json()
    selected = term_selection("activations")
    assert term["n_studies"] == len(selected) and term["expression"] is False
    assert len(term["top_studies"]) == 5
    assert all(s["name"] and s["pmid"] in selected for s in term["top_studies"])
    weights = [s["weight"] for s in term["top_studies"]]
    assert weights == sorted(weights, reverse=True)
    assert term["related_terms"] and "activations" not in {
        r["term"] for r in term["related_terms"]}
    expected = reference_maps(selected)
    for name in ("z_desc-association", term["maps"][-1]):
        served = client.get(term["map_urls"][name]["nii.gz"])
        assert served.status_code == 200 and served.mimetype == "application/gzip"
        np.testing.assert_allclose(_masked(served.data), expected[name], atol=1e-6)
    picture = client.get(term["map_urls"]["z_desc-uniformity"]["png"])
    assert picture.status_code == 200 and picture.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_expression_is_computed_on_demand(client, built):
    wanted = "activations AND NOT acquisition"
    found = client.get("/api/terms/activations AND NOT acquisition").get_json()
    selected = sorted(set(term_selection("activations")) - set(term_selection("acquisition")))
    assert found["expression"] is True and found["n_studies"] == len(selected)
    assert {s["pmid"] for s in found["top_studies"]} <= set(selected)
    served = client.get(found["map_urls"]["z_desc-association"]["nii.gz"])
    np.testing.assert_allclose(_masked(served.data),
                               reference_maps(selected)["z_desc-association"], atol=1e-6)
    assert found["term"] == wanted


@pytest.mark.parametrize("query, said", [
    ("activationz", "did you mean 'activations'"),
    ("activations AND (", "position"),
    ("activations AND NOT activations", "selects 0"),
])
def test_a_bad_term_or_expression_is_a_422_naming_it(client, built, query, said):
    answer = client.get(f"/api/terms/{query}")
    assert answer.status_code == 422
    assert said in answer.get_data(as_text=True)


def test_an_unknown_map_name_and_format_are_refused(client, built):
    assert client.get("/api/terms/activations/maps/z.nii.gz").status_code == 422
    assert client.get("/api/terms/activations/maps/z_desc-association.gif").status_code == 422


def test_decoding_a_term_s_own_map_ranks_that_term_first(client, built):
    term = client.get("/api/terms/acquisition").get_json()
    data = client.get(term["map_urls"]["z_desc-association"]["nii.gz"]).data
    decoded = client.post("/api/decode?top=3", data={"image": (io.BytesIO(data), "m.nii.gz")},
                          content_type="multipart/form-data").get_json()
    assert decoded["method"] == "correlation"
    assert decoded["terms"][0] == {"term": "acquisition", "r": pytest.approx(1.0, abs=1e-5)}
    assert len(decoded["terms"]) == 3


def test_decoding_a_map_on_another_grid_resamples_it(client, built):
    term = client.get("/api/terms/acquisition").get_json()
    img = nib.Nifti1Image.from_bytes(gzip.decompress(
        client.get(term["map_urls"]["z_desc-association"]["nii.gz"]).data))
    from nilearn.image import resample_img

    coarse = resample_img(img, target_affine=np.diag([4.0, 4.0, 4.0]), interpolation="linear",
                          force_resample=True, copy_header=True)
    decoded = client.post("/api/decode", data={"image": (io.BytesIO(coarse.to_bytes()),
                                                         "coarse.nii")},
                          content_type="multipart/form-data").get_json()
    assert decoded["terms"][0]["term"] == "acquisition" and decoded["terms"][0]["r"] > 0.8


def test_decoding_a_region_by_coordinates_with_the_neurosynth_and_brainmap_decoders(
        client, built):
    for method in ("neurosynth", "brainmap"):
        decoded = client.post("/api/decode", json={
            "coordinates": [38, -48, 49], "radius": 10, "method": method, "top": 5})
        body = decoded.get_json()
        assert decoded.status_code == 200, body
        assert body["method"] == method and body["n_studies_selected"] >= 1
        assert len(body["terms"]) == 5 and {"pReverse", "zReverse"} <= set(body["terms"][0])
        assert any(s["pmid"] == "9065511" for s in body["studies"])


@pytest.mark.parametrize("body, field", [
    ({"coordinates": [1, 2]}, "coordinates"),
    ({"coordinates": [0, 0, 0], "radius": 0}, "radius"),
    ({"coordinates": [0, 0, 0], "method": "magic"}, "method"),
    ({}, "_schema"),
    ({"meta_analysis": "nope"}, None),
    ({"coordinates": [0, 0, 0], "top": "many"}, "top"),
    ({"coordinates": [0, 0, 0], "top": 0}, "top"),
    ({"meta_analysis": 5}, "meta_analysis"),
])
def test_a_bad_decode_request_is_refused_naming_the_field(client, built, body, field):
    answer = client.post("/api/decode", json=body)
    assert answer.status_code in (404, 422)
    if field is not None:
        assert field in answer.get_data(as_text=True)


def test_an_upload_that_is_not_nifti_is_a_422(client, built):
    answer = client.post("/api/decode", data={"image": (io.BytesIO(b"not a map"), "x.nii")},
                         content_type="multipart/form-data")
    assert answer.status_code == 422 and "NIfTI" in answer.get_data(as_text=True)
    two = client.post("/api/decode", data={"image": (io.BytesIO(b"a"), "a.nii"),
                                           "roi": (io.BytesIO(b"b"), "b.nii")},
                      content_type="multipart/form-data")
    assert two.status_code == 422


def test_feature_sets_and_builds_are_listed(client, built):
    sets = client.get("/api/feature-sets").get_json()["results"]
    assert len(sets) == 1 and sets[0]["n_studies"] == 20 and sets[0]["n_terms"] == 100
    assert sets[0]["built_from"]["matched"] == 20
    assert client.get(f"/api/feature-sets/{sets[0]['id'][:10]}").get_json() == sets[0]
    assert client.get("/api/feature-sets/ns-subset").get_json()["id"] == sets[0]["id"]
    assert client.get("/api/feature-sets/nothing").status_code == 404
    build = client.get(f"/api/term-builds/{built['id']}").get_json()
    assert build["status"] == "succeeded" and build["feature_set"] == sets[0]["id"]
    assert build["result"]["n_studies_without_coordinates"] == 0
    kinds = [b["kind"] for b in client.get("/api/term-builds").get_json()["results"]]
    assert kinds == ["term_maps", "features"]


def test_only_administrators_ask_for_builds(client, built, alice, admin):
    body = {"kind": "term_maps", "parameters": {"min_studies": 2}}
    assert client.post("/api/term-builds", json=body).status_code == 401
    assert client.post("/api/term-builds", json=body, headers=alice.headers).status_code == 403
    made = client.post("/api/term-builds", json=body, headers=admin.headers)
    assert made.status_code == 202 and made.get_json()["status"] == "queued"
    bad = client.post("/api/term-builds", json={"kind": "term_maps",
                                                "parameters": {"min_studies": 0}},
                      headers=admin.headers)
    assert bad.status_code == 422 and "min_studies" in bad.get_data(as_text=True)
    unknown = client.post("/api/term-builds", json={"kind": "term_maps",
                                                    "parameters": {"radius": 3}},
                          headers=admin.headers)
    assert unknown.status_code == 422 and "radius" in unknown.get_data(as_text=True)


def test_a_base_study_s_features_and_texts(client, services, built):
    study = client.get("/api/base-studies?page_size=1").get_json()["results"][0]
    found = client.get(f"/api/base-studies/{study['id']}/features?top=3").get_json()
    assert found["feature_set"] == built["feature_set"]
    row = [r["id"] for r in _metadata()].index(study["pmid"])
    released = sparse.load_npz(MATRIX).tocsr()[row].toarray().ravel()
    terms = VOCABULARY.read_text().splitlines()
    heaviest = [terms[i] for i in np.argsort(-released, kind="stable")[:3] if released[i] > 0]
    assert [t["term"] for t in found["terms"]] == heaviest
    assert client.get("/api/base-studies/nope/features").status_code == 404
    inline = client.get(f"/api/base-studies/{study['id']}?feature_display="
                        f"{built['feature_set'][:12]}&feature_count=3")
    assert inline.status_code == 200
    (name, listed), = inline.get_json()["features"].items()
    assert listed == found["terms"] and name == client.get(
        f"/api/feature-sets/{built['feature_set']}").get_json()["name"]
    assert "features" not in client.get(f"/api/base-studies/{study['id']}").get_json()
    unknown = client.get(f"/api/base-studies/{study['id']}?feature_display=nosuchset")
    assert unknown.status_code == 404 and "nosuchset" in unknown.get_json()["detail"]
    assert client.get(f"/api/base-studies/{study['id']}?feature_display=x&feature_count=0"
                      ).status_code == 400
    services.texts.put(SYSTEM, [{"base_study": study["id"], "source": "pubmed",
                                 "kind": "abstract", "text": "An abstract."}])
    texts = client.get(f"/api/base-studies/{study['id']}/texts").get_json()["results"]
    assert [(t["source"], t["kind"], t["text"]) for t in texts] == [
        ("pubmed", "abstract", "An abstract.")]
    assert client.get("/api/base-studies/nope/texts").status_code == 404


def _metadata() -> list[dict[str, str]]:
    with gzip.open(METADATA, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_a_meta_analysis_result_lists_its_top_terms(client, services, built, alice):
    imported = import_example(services, alice)
    snapshot = services.snapshots.create(alice, imported.studyset.id,
                                         annotation_id=imported.annotation.id,
                                         include="include")[0]
    run = run_and_read(services, alice, snapshot, estimator="MKDADensity",
                       correction={"method": "none"})
    answer = client.get(f"/api/meta-analyses/{run['id']}/terms?top=5", headers=alice.headers)
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert body["method"] == "correlation" and len(body["terms"]) == 3
    assert body["source"] == {"meta_analysis": run["id"], "map": body["source"]["map"]}
    assert body["source"]["map"].startswith("z")
    z = run_file(client, run["id"], run["results"]["maps"][body["source"]["map"]])
    again = client.post("/api/decode", json={"meta_analysis": run["id"]},
                        headers=alice.headers).get_json()
    uploaded = client.post("/api/decode", data={"image": (io.BytesIO(z), "z.nii.gz")},
                           content_type="multipart/form-data").get_json()
    assert again["terms"] == uploaded["terms"] and again["terms"][:3] == body["terms"]
    assert client.get("/api/meta-analyses/nope/terms").status_code == 404
