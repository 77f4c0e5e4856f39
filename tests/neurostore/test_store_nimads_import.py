"""Real NIMADS documents imported through the services read back equal (ids aside)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from neurostore.models import Study
from neurostore.services.errors import Invalid
from neurostore.services.nimads import import_studyset
from neurostore.vocabulary import VALUE_TYPE_ALIASES
from tests.support.examples import example as load_example

STUDY_KEYS = ("name", "description", "publication", "authors", "year", "doi", "pmid", "metadata")


def _analysis_view(a: dict) -> dict:
    return {
        "name": a.get("name"),
        "description": a.get("description"),
        "conditions": [
            (c.get("name"), c.get("description")) for c in a.get("conditions") or []
        ],
        "weights": [float(w) for w in a.get("weights") or [1.0] * len(a.get("conditions") or [])],
        "points": [
            (tuple(p["coordinates"]), p.get("space"), p.get("kind"),
             [(v.get("kind"), v.get("value")) for v in p.get("values") or []])
            for p in a.get("points") or []
        ],
        "images": [
            (i.get("url"), i.get("filename"), i.get("space"),
             VALUE_TYPE_ALIASES[i["value_type"].upper()] if i.get("value_type") else None)
            for i in a.get("images") or []
        ],
    }


def _study_view(s: dict) -> dict:
    view = {k: s.get(k) for k in STUDY_KEYS}
    view["analyses"] = [_analysis_view(a) for a in s.get("analyses") or []]
    return view


@pytest.mark.parametrize("name", ["nimads_studyset.json", "nidm_pain_studyset.json"])
def test_import_reads_back_equal_to_input(services, alice, name):
    doc = load_example(name)
    result = import_studyset(services, alice, doc)
    stored = services.studysets.get(alice, result.studyset.id).state
    assert len(stored["studies"]) == len(doc["studies"])
    states = [services.studies.get(alice, sid).state for sid in stored["studies"]]
    assert [_study_view(s) for s in states] == [_study_view(s) for s in doc["studies"]]
    n_points = sum(len(a["points"]) for s in states for a in s["analyses"])
    assert n_points == sum(len(a["points"]) for s in doc["studies"] for a in s["analyses"])


def test_annotation_notes_follow_their_analyses(services, alice):
    doc = load_example("nimads_studyset.json")
    annotation = load_example("nimads_annotation.json")
    result = import_studyset(services, alice, doc, annotation)
    notes = services.annotations.get(alice, result.annotation.id).state["notes"]
    by_new = {n["analysis"]: n["note"] for n in notes}
    for item in annotation["notes"]:
        assert by_new[result.analysis_ids[item["analysis"]]] == item["note"]
    assert result.annotation.state["note_keys"] == annotation["note_keys"]


def test_import_of_a_document_with_a_bad_study_writes_nothing(services, alice):
    doc = load_example("nimads_studyset.json")
    doc["studies"][3]["analyses"] = [{"name": "x", "points": [{"coordinates": ["a", 1, 2]}]}]
    with pytest.raises(Invalid) as err:
        import_studyset(services, alice, doc)
    assert "3.analyses.0.points.0.coordinates" in err.value.field_errors
    with services.session_factory() as s:
        assert s.execute(select(func.count()).select_from(Study)).scalar() == 0
