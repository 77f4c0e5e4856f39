"""NIMADS studyset + annotation parser: real exports, nested or id-only relations."""

from __future__ import annotations

import copy
import json

import pytest

from ingest.nimads.parse import AnalysisRef, parse
from tests.support.examples import EXAMPLES

NIMADS = EXAMPLES


@pytest.fixture(scope="module")
def studyset():
    return json.loads((NIMADS / "nimads_studyset.json").read_text())


def test_neurostore_export_with_annotation():
    result = parse(NIMADS / "nimads_studyset.json", NIMADS / "nimads_annotation.json")
    assert result.skipped == []
    assert result.studyset["id"] == "Cv2LLUqG76W9"
    assert len(result.studies) == 38
    assert sum(len(s["analyses"]) for s in result.studies) == 27
    assert sum(len(a["points"]) for s in result.studies for a in s["analyses"]) == 212
    study = next(s for s in result.studies if s["source_id"] == "3mQSmpbX7J8a")
    assert study["source"] == "nimads"
    assert study["year"] == 2002
    assert study["authors"].startswith("Müller JL")
    annotation = result.annotation
    assert annotation.note_keys == {"include": "boolean"}
    assert len(annotation.notes) == 27
    assert annotation.notes[AnalysisRef("359AbepuGmEy", 0)] == {"include": True}


def test_notes_point_at_the_right_analysis():
    result = parse(NIMADS / "nimads_studyset.json", NIMADS / "nimads_annotation.json")
    raw_notes = json.loads((NIMADS / "nimads_annotation.json").read_text())["notes"]
    studies = {s["source_id"]: s for s in result.studies}
    for raw in raw_notes:
        ref = next(
            r
            for r in result.annotation.notes
            # Names are kept as given, white space included.
            if studies[r.study_source_id]["analyses"][r.analysis_index]["name"]
            == raw["analysis_name"]
            and r.study_source_id == raw["study"]
        )
        assert result.annotation.notes[ref] == raw["note"]


def test_nidm_pain_images_get_store_value_types():
    result = parse(NIMADS / "nidm_pain_studyset.json")
    assert len(result.studies) == 21
    images = [i for s in result.studies for a in s["analyses"] for i in a["images"]]
    assert {i["value_type"] for i in images} == {"BETA", "SE", "T", "Z"}
    analysis = result.studies[0]["analyses"][0]
    # An empty description stays empty.
    assert analysis["conditions"] == [{"name": "default", "description": ""}]
    assert analysis["weights"] == [1.0]


def test_null_coordinates_are_reported_and_skipped(studyset):
    document = copy.deepcopy(studyset)
    analysis = next(a for s in document["studies"] for a in s["analyses"])
    analysis["points"][0]["coordinates"] = [None, -10.0, 72.0]
    analysis["points"][1]["coordinates"] = None
    result = parse(document)
    assert len(result.skipped) == 2
    assert all("unusable coordinates" in s.reason for s in result.skipped)
    assert sum(len(a["points"]) for s in result.studies for a in s["analyses"]) == 210


def test_relations_given_by_id_only_are_reported(studyset):
    document = copy.deepcopy(studyset)
    study = next(s for s in document["studies"] if s["analyses"])
    analysis = study["analyses"][0]
    analysis["points"].append("7ee2WWccm8Ta")
    analysis["images"] = ["someImageId"]
    analysis["conditions"] = ["someConditionId"]
    study["analyses"].append("someAnalysisId")
    document["studies"].append("someStudyId")
    result = parse(document)
    reasons = " | ".join(s.reason for s in result.skipped)
    for needle in ("7ee2WWccm8Ta", "someImageId", "someConditionId", "someAnalysisId"):
        assert needle in reasons
    assert "someStudyId" in {s.source_id for s in result.skipped}
    assert len(result.studies) == 38


def test_nested_analysis_relation_in_a_note(studyset):
    annotation = json.loads((NIMADS / "nimads_annotation.json").read_text())
    annotation["notes"][0]["analysis"] = {"id": annotation["notes"][0]["analysis"]}
    annotation["notes"][1]["analysis"] = "notInTheStudyset"
    annotation["notes"][2]["note"] = {"include": "yes", "extra": 1}
    result = parse(studyset, annotation)
    assert len(result.annotation.notes) == 26
    reasons = [s.reason for s in result.skipped]
    assert any("not in the studyset" in r for r in reasons)
    assert any("'yes' is not a boolean" in r for r in reasons)
    assert any("'extra' is not in note_keys" in r for r in reasons)


def test_weights_that_do_not_match_conditions_are_dropped(studyset):
    document = copy.deepcopy(studyset)
    analysis = next(a for s in document["studies"] for a in s["analyses"])
    analysis["conditions"] = [{"name": "tapping", "description": None}]
    analysis["weights"] = [1, -1]
    result = parse(document)
    parsed = next(a for s in result.studies for a in s["analyses"] if a["conditions"])
    assert parsed["weights"] == []
    assert "do not match" in result.skipped[0].reason


def test_not_a_studyset():
    with pytest.raises(ValueError, match="'studies' list"):
        parse({"name": "nothing"})
