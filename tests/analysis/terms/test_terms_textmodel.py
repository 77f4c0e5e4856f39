"""NeuroQuery's text-to-brain model against the package's own classes, on 300 real studies.

The model is fitted on 8 mm voxels with 20 smoothing components (the published model uses
4 mm and 300) to stay fast; the computation is the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from neuroquery.encoding import NeuroQueryModel
from neuroquery.img_utils import coordinates_to_maps, get_masker
from neuroquery.smoothed_regression import SmoothedRegression
from neuroquery.tokenization import TextVectorizer
from scipy import sparse

from analysis.terms import (
    DEFAULT_ALPHAS,
    TermsInputError,
    TextModel,
    density_maps,
    document_frequencies,
    fit_text_model,
    tfidf_from_counts,
)

from .fixtures import neuroquery_subset

# The package's NeuroQueryModel.__call__ sorts a table in place, which pandas deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:pandas.errors.Pandas4Warning")

VOXEL_SIZE = 8.0
N_COMPONENTS = 20
QUERIES = [
    "working memory in the prefrontal cortex",
    "Reading words",
    "face recognition and the amygdala",
    "pain",
]


@pytest.fixture(scope="module")
def subset():
    return neuroquery_subset()


@pytest.fixture(scope="module")
def tfidf(subset):
    return tfidf_from_counts(subset.counts)


@pytest.fixture(scope="module")
def model(subset, tfidf):
    return fit_text_model(
        tfidf,
        subset.terms,
        (subset.study_index, subset.xyz),
        study_ids=subset.ids,
        voxel_size=VOXEL_SIZE,
        n_components=N_COMPONENTS,
    )


def package_model(subset, tfidf, regression, mask_img, rows) -> NeuroQueryModel:
    """The package's NeuroQueryModel of a regression fitted on ``rows``, with its corpus."""
    vectorizer = TextVectorizer.from_vocabulary(
        subset.terms,
        frequencies=document_frequencies(tfidf),
        voc_mapping={},
        add_unigrams=False,
    )
    corpus = {
        "tfidf": sparse.csr_matrix(tfidf[rows], dtype=np.float32),
        "metadata": pd.DataFrame({"id": [subset.ids[i] for i in rows]}),
    }
    return NeuroQueryModel(vectorizer, regression, mask_img, corpus_info=corpus)


@pytest.fixture(scope="module")
def refitted(subset, tfidf):
    """The same studies fitted through the package's classes, as its training example does."""
    masker = get_masker(None, target_affine=VOXEL_SIZE)
    with_terms = np.flatnonzero(np.diff(tfidf.indptr) > 0)
    maps = density_maps(subset.study_index, subset.xyz, with_terms, masker)
    rows = with_terms[(maps != 0).any(axis=1)]
    regression = SmoothedRegression(
        alphas=np.array(DEFAULT_ALPHAS), n_components=N_COMPONENTS
    ).fit(sparse.csr_matrix(tfidf[rows], dtype=np.float32), maps[(maps != 0).any(axis=1)])
    return package_model(subset, tfidf, regression, masker.mask_img_, rows)


def assert_same_answer(ours: dict, theirs: dict, atol: float = 1e-6) -> None:
    """Check a query's answer against ``NeuroQueryModel.__call__``'s."""
    z = ours["z_map"].get_fdata()
    assert np.abs(z - theirs["brain_map"].get_fdata()).max() < atol
    assert np.allclose(ours["z_map"].affine, theirs["brain_map"].affine)
    words = theirs["similar_words"]
    in_query = words["weight_in_query"][words["weight_in_query"] > 0]
    assert {t["term"]: t["weight"] for t in ours["query_terms"]} == pytest.approx(
        in_query.to_dict()
    )
    for term in ours["similar_terms"]:
        row = words.loc[term["term"]]
        assert [term[k] for k in ("similarity", "weight_in_brain_map", "weight_in_query")] == (
            pytest.approx([row["similarity"], row["weight_in_brain_map"], row["weight_in_query"]])
        )
        assert term["n_studies"] == row["n_documents"]
    weights = [t["weight_in_brain_map"] for t in ours["similar_terms"]]
    assert weights == pytest.approx(list(words["weight_in_brain_map"][: len(weights)]))
    documents = theirs["similar_documents"]
    by_id = dict(zip(documents["id"].astype(str), documents["similarity"], strict=True))
    assert [s["similarity"] for s in ours["similar_studies"]] == pytest.approx(
        list(documents["similarity"][: len(ours["similar_studies"])])
    )
    assert all(by_id[s["id"]] == pytest.approx(s["similarity"]) for s in ours["similar_studies"])


def test_density_maps_are_the_package_maps(subset):
    studies = [1, 42, 299]
    rows = np.isin(subset.study_index, studies)
    coordinates = pd.DataFrame(subset.xyz[rows], columns=["x", "y", "z"])
    coordinates["pmid"] = [int(subset.ids[i]) for i in subset.study_index[rows]]
    expected, masker = coordinates_to_maps(coordinates, target_affine=(6, 6, 6), fwhm=9.0)

    maps = density_maps(subset.study_index, subset.xyz, studies, get_masker(None, 6.0))

    assert list(expected.index) == sorted(int(subset.ids[i]) for i in studies)
    order = np.argsort([int(subset.ids[i]) for i in studies])
    assert maps.dtype == np.float32
    assert np.allclose(maps[order], expected.to_numpy(), rtol=1e-6, atol=1e-9)


def test_fit_drops_studies_without_terms(subset, model):
    no_terms = [subset.ids[i] for i in np.flatnonzero(np.diff(subset.counts.indptr) == 0)]

    assert model.dropped == {"no_terms": tuple(no_terms), "no_coordinates": ()}
    assert len(model.study_ids) + len(no_terms) == len(subset.ids)
    assert model.corpus_tfidf.shape == (len(model.study_ids), len(subset.terms))
    assert list(model.terms) == subset.terms


@pytest.mark.parametrize("text", QUERIES)
def test_query_is_the_package_answer_on_the_same_model(subset, tfidf, model, text):
    rows = [subset.ids.index(study) for study in model.study_ids]
    encoder = model.encoder
    theirs = package_model(subset, tfidf, encoder.smoothed_regression, encoder.mask_img, rows)

    assert_same_answer(model.query(text, n_terms=10, n_studies=10), theirs(text))


@pytest.mark.parametrize("text", QUERIES)
def test_query_is_the_package_answer_fitted_by_the_package(model, refitted, text):
    ours = model.query(text)

    assert_same_answer(ours, refitted(text))
    if text != "pain":  # "pain" is in too few of these studies to be a selected feature
        assert np.abs(ours["z_map"].get_fdata()).max() > 1


def test_save_and_load(model, tmp_path):
    model.save(tmp_path / "model")
    loaded = TextModel.load(tmp_path / "model")

    assert loaded.study_ids == model.study_ids and loaded.dropped == model.dropped
    for text in QUERIES:
        ours, again = model.query(text), loaded.query(text)
        assert np.array_equal(ours["z_map"].get_fdata(), again["z_map"].get_fdata())
        assert {k: v for k, v in ours.items() if k != "z_map"} == {
            k: v for k, v in again.items() if k != "z_map"
        }
    # The directory is a complete model of the package's own, corpus included.
    assert_same_answer(model.query(QUERIES[0]),
                       NeuroQueryModel.from_data_dir(tmp_path / "model")(QUERIES[0]))


def test_save_wants_an_empty_directory_and_load_a_model(model, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("")

    with pytest.raises(TermsInputError, match="not empty"):
        model.save(tmp_path / "taken")
    with pytest.raises(TermsInputError, match="cannot load"):
        TextModel.load(tmp_path / "taken")


@pytest.mark.parametrize("text", ["", "qqxq zzyz of the", "The and of"])
def test_query_without_a_known_term(model, text):
    with pytest.raises(TermsInputError, match="no term of the model's vocabulary"):
        model.query(text)


def test_query_wants_a_string(model):
    with pytest.raises(TermsInputError, match="expected a string"):
        model.query(["pain"])


def test_fit_drops_studies_without_foci_and_reports_progress(subset, tfidf):
    with_terms = np.flatnonzero(np.diff(tfidf.indptr) > 0)[:40]
    tfidf = tfidf[with_terms]
    index = {study: row for row, study in enumerate(with_terms)}
    keep = np.isin(subset.study_index, with_terms) & (subset.study_index != with_terms[0])
    study_index = np.array([index[i] for i in subset.study_index[keep]])
    xyz = subset.xyz[keep]
    xyz[study_index == 1] = [500.0, 0.0, 0.0]  # outside the grid: no density
    calls = []

    model = fit_text_model(
        tfidf, subset.terms, (study_index, xyz), voxel_size=VOXEL_SIZE, n_components=5,
        progress=lambda *call: calls.append(call),
    )

    assert model.dropped == {"no_terms": (), "no_coordinates": ("0", "1")}
    assert model.study_ids == tuple(str(i) for i in range(2, 40))
    assert calls[:2] == [("maps", 1, 40), ("maps", 2, 40)]
    assert calls[-3:] == [("maps", 40, 40), ("regression", 0, 1), ("regression", 1, 1)]


def _bad(subset, tfidf, change: dict) -> dict:
    """The fixture's inputs to fit_text_model, with ``change`` applied."""
    inputs = {
        "tfidf": tfidf,
        "terms": subset.terms,
        "coordinates": (subset.study_index, subset.xyz),
    }
    inputs.update(change)
    return inputs


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s, t: {"tfidf": t.toarray()}, "sparse"),
        (lambda s, t: {"tfidf": t[:, :10]}, "10 columns"),
        (lambda s, t: {"coordinates": s.xyz}, r"expected \(study_index, xyz\)"),
        (lambda s, t: {"coordinates": (s.study_index * 1.0, s.xyz)}, "integer"),
        (lambda s, t: {"coordinates": (s.study_index, s.xyz[:, :2])}, "shape"),
        (lambda s, t: {"coordinates": (s.study_index + 1, s.xyz)}, "outside"),
        (lambda s, t: {"coordinates": (s.study_index, s.xyz * np.nan)}, "NaN"),
        (lambda s, t: {"study_ids": s.ids[:3]}, "3 ids for 300 rows"),
        (lambda s, t: {"terms": s.terms[::-1], "tfidf": t[:, ::-1]}, "standardised"),
        (lambda s, t: {"terms": [x.upper() for x in s.terms]}, "standardised"),
        (lambda s, t: {"tfidf": t.multiply(sparse.csr_matrix(
            (np.arange(t.shape[0]) == 1).astype(float)[:, None]))}, "fewer than two"),
    ],
)
def test_bad_fit_inputs(subset, tfidf, change, message):
    with pytest.raises(TermsInputError, match=message):
        fit_text_model(**_bad(subset, tfidf, change(subset, tfidf)), voxel_size=VOXEL_SIZE)
