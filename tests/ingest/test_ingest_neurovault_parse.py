"""NeuroVault records -> study dicts, on real recorded API responses."""

from __future__ import annotations

import json

import pytest

from ingest.neurovault.parse import (
    Selection,
    collection_selected,
    image_selected,
    parse_collection,
)
from ingest.value_types import normalise_value_type
from tests.support.data import DATA

API = DATA / "neurovault" / "api"


def _collections():
    records = {}
    for name in ("collections_page1.json", "collections_limit100_offset100.json"):
        for record in json.loads((API / name).read_text())["results"]:
            records[record["id"]] = record
    return records


def _images(collection_id):
    return json.loads((API / f"collections_{collection_id}_images.json").read_text())["results"]


@pytest.fixture(scope="module")
def collections():
    return _collections()


def test_collection_becomes_a_study_with_its_doi(collections):
    result = parse_collection(collections[1197], _images(1197))
    (study,) = result.studies
    assert study["source"] == "neurovault"
    assert study["source_id"] == "1197"
    assert study["doi"] == "10.1038/jcbfm.2014.21"
    assert study["publication"] == "Journal of Cerebral Blood Flow & Metabolism"
    assert study["authors"].startswith("Gaia Rizzo")
    assert study["metadata"]["owner_name"] == "ChrisFiloGorgolewski"
    assert "DOI" not in study["metadata"]  # mapped fields are not repeated
    assert "scanner_make" not in study["metadata"]  # null values are dropped
    # the newest of the collection's and its images' modification dates
    assert study["source_updated_at"] == "2018-06-30T06:09:18.754004+02:00"


def test_image_becomes_an_analysis_with_one_image(collections):
    (study,) = parse_collection(collections[1197], _images(1197)).studies
    analysis = study["analyses"][0]
    assert analysis["name"] == "[11C]CUMI PET (serotonin)"
    assert analysis["metadata"]["neurovault_image_id"] == 16256
    assert analysis["metadata"]["analysis_level"] == "group"
    (image,) = analysis["images"]
    assert image["url"] == "http://neurovault.org/media/images/1197/CUMl_BP_MNI.nii.gz"
    assert image["filename"] == "CUMl_BP_MNI.nii.gz"
    assert image["space"] == "GenericMNI"
    assert image["value_type"] == "Z"
    assert image["metadata"]["map_type"] == "Z map"
    assert image["metadata"]["file_size"] == 11705440


def test_every_image_key_is_kept_somewhere(collections):
    (study,) = parse_collection(collections[555], _images(555)).studies
    raw = _images(555)[0]
    analysis = study["analyses"][0]
    image = analysis["images"][0]
    kept = set(analysis["metadata"]) | set(image["metadata"]) | {"id", "name", "description"}
    kept |= {"file", "target_template_image"}
    assert {k for k, v in raw.items() if v not in (None, "", [], {})} <= kept


def test_unknown_top_level_keys_are_kept(collections):
    collection = dict(collections[1197], brand_new_key={"a": 1})
    image = dict(_images(1197)[0], another_new_key=3)
    (study,) = parse_collection(collection, [image]).studies
    assert study["metadata"]["brand_new_key"] == {"a": 1}
    assert study["analyses"][0]["images"][0]["metadata"]["another_new_key"] == 3


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("T map", "T"),
        ("Z map", "Z"),
        ("F map", "F"),
        ("Chi squared map", "X2"),
        ("P map (given null hypothesis)", "P"),
        ('1-P map ("inverted" probability)', "IP"),
        ("multivariate-beta map", "M"),
        ("univariate-beta map", "U"),
        ("ROI/mask", "R"),
        ("parcellation", "PA"),
        ("anatomical", "A"),
        ("variance", "VARIANCE"),
        ("other", "OTHER"),
        ("something new", "OTHER"),
        ("beta", "BETA"),
        ("varcope", "VARCOPE"),
        (None, None),
    ],
)
def test_value_type_labels(label, code):
    assert normalise_value_type(label) == code


def test_real_labels_map_to_codes(collections):
    codes = {}
    for collection_id in (555, 1056, 1058, 1195):
        (study,) = parse_collection(collections[collection_id], _images(collection_id)).studies
        for analysis in study["analyses"]:
            image = analysis["images"][0]
            codes[image["metadata"].get("map_type")] = image["value_type"]
    assert codes == {
        "P map (given null hypothesis)": "P",
        "parcellation": "PA",
        None: None,
        "Z map": "Z",
    }


def test_group_level_only(collections):
    selection = Selection(group_level_only=True)
    (study,) = parse_collection(collections[1056], _images(1056), selection).studies
    assert len(study["analyses"]) == 14
    assert {a["metadata"]["analysis_level"] for a in study["analyses"]} == {"group"}
    # a meta-analysis collection has no group-level map: no study, and each map left out
    # is reported with the reason
    result = parse_collection(collections[555], _images(555), selection)
    assert result.studies == [] and len(result.skipped) == len(_images(555))
    assert all("not a group-level map (analysis_level 'meta-analysis')" in s.reason
               for s in result.skipped)


def test_value_type_selection(collections):
    selection = Selection(value_types=frozenset({"P"}))
    (study,) = parse_collection(collections[1056], _images(1056), selection).studies
    assert len(study["analyses"]) == 14
    assert {a["images"][0]["value_type"] for a in study["analyses"]} == {"P"}
    selection = Selection(value_types=frozenset({"T", "Z"}))
    assert parse_collection(collections[1058], _images(1058), selection).studies == []


def test_collection_filters(collections):
    with_doi, without_doi = collections[1197], collections[862]
    assert collection_selected(with_doi, Selection(require_doi=True))
    assert not collection_selected(without_doi, Selection(require_doi=True))
    assert collection_selected(with_doi, Selection(collection_ids=frozenset({1197})))
    assert not collection_selected(with_doi, Selection(collection_ids=frozenset({555})))
    assert image_selected(_images(1197)[0], Selection(group_level_only=True))
    assert not image_selected(_images(1195)[0], Selection(group_level_only=True))


def test_malformed_images_are_reported(collections):
    images = _images(1197)
    broken = [
        dict(images[0], id=None),
        dict(images[0], file=""),
        dict(images[0], collection_id=1),
        images[1],
    ]
    result = parse_collection(collections[1197], broken)
    assert len(result.studies[0]["analyses"]) == 1
    reasons = [s.reason for s in result.skipped]
    assert "without an id" in reasons[0]
    assert "no file URL" in reasons[1]
    assert "belongs to collection 1" in reasons[2]
    assert {s.source_id for s in result.skipped} == {"1197"}
