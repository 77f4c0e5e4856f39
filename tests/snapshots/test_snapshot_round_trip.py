"""Round trip: a NIMADS document imported, frozen and exported comes back the same (ids aside)."""

from __future__ import annotations

import json

from tests.support.examples import example

STUDY_FIELDS = ("name", "description", "publication", "authors", "year", "pmid", "metadata")
ANALYSIS_FIELDS = ("name", "description")
POINT_FIELDS = ("coordinates", "space", "kind")


def _study(study: dict) -> dict:
    return {
        **{k: study.get(k) for k in STUDY_FIELDS},
        "doi": study.get("doi") or None,  # its case kept
        "analyses": [
            {**{k: a.get(k) for k in ANALYSIS_FIELDS},
             "points": [{k: p.get(k) for k in POINT_FIELDS} for p in a["points"]]}
            for a in study["analyses"]
        ],
    }


def test_import_freeze_export_gives_back_the_document(client, auth, services, alice, imported):
    original = example("nimads_studyset.json")
    annotation = example("nimads_annotation.json")
    snapshot, _ = services.snapshots.create(alice, imported.studyset.id,
                                            annotation_id=imported.annotation.id)
    exported = json.loads(
        client.get(f"/api/snapshots/{snapshot['id']}/export?format=nimads").data)

    assert exported["name"] == original["name"]
    assert [_study(s) for s in exported["studies"]] == [_study(s) for s in original["studies"]]
    notes = exported["annotations"][0]
    assert notes["note_keys"] == annotation["note_keys"]
    by_new_id = {n["analysis"]: n["note"] for n in notes["notes"]}
    assert {imported.analysis_ids[n["analysis"]]: n["note"] for n in annotation["notes"]} \
        == by_new_id
