"""Edit history: every change is a revision that can be read, diffed and reverted."""

from __future__ import annotations

import jsonpatch
import pytest

from neurostore.services.errors import Conflict, NotFound, RevisionConflict
from neurostore.services.history import Provenance
from tests.support.factories import study_payload


def test_create_edit_revert_delete_restore_reads_back_every_state(services, alice):
    studies = services.studies
    r1 = studies.create(alice, study_payload(seed=1), provenance=Provenance(message="first"))
    states = {1: r1.state}
    r2 = studies.update(alice, r1.id, {"name": "renamed"}, if_match=1)
    states[2] = r2.state
    analyses = r2.state["analyses"]
    edited = dict(analyses[0], points=analyses[0]["points"][:5])
    r3 = studies.update(alice, r1.id, {"analyses": [edited, *analyses[1:]]}, if_match=2)
    states[3] = r3.state
    r4 = studies.update(alice, r1.id, {"year": 2001, "doi": "https://doi.org/10.1000/XYZ.1"},
                        if_match=3)
    states[4] = r4.state
    assert r4.state["doi"] == "10.1000/XYZ.1"
    assert [r2.version, r3.version, r4.version] == [2, 3, 4]
    assert len(r3.state["analyses"][0]["points"]) == 5

    for version, state in states.items():
        assert studies.revision(alice, r1.id, version)["state"] == state
    assert studies.get(alice, r1.id).state == states[4]

    reverted = studies.revert(alice, r1.id, 2, if_match=4)
    assert reverted.version == 5
    assert reverted.state == states[2]
    assert studies.get(alice, r1.id).state == states[2]
    assert studies.revision(alice, r1.id, 5)["action"] == "revert"

    patch = studies.diff(alice, r1.id, 1, 4)
    assert jsonpatch.apply_patch(states[1], patch) == states[4]
    assert {op["path"] for op in patch} >= {"/name", "/year", "/doi"}

    deleted = studies.delete(alice, r1.id, if_match=5)
    assert deleted.deleted and deleted.version == 6
    with pytest.raises(NotFound):
        studies.get(alice, r1.id)
    with pytest.raises(Conflict):
        studies.update(alice, r1.id, {"name": "x"})
    restored = studies.restore(alice, r1.id)
    assert restored.version == 7
    assert studies.get(alice, r1.id).state == states[2]

    revs = studies.revisions(alice, r1.id)
    assert [r["action"] for r in revs] == [
        "create", "update", "update", "update", "revert", "delete", "restore"
    ]
    assert revs[0]["message"] == "first"
    assert all(r["user"] == alice.id for r in revs)


def test_revision_diff_is_stored_against_previous_state(services, alice):
    r1 = services.studies.create(alice, study_payload(seed=2))
    services.studies.update(alice, r1.id, {"description": "now described"})
    rev = services.studies.revision(alice, r1.id, 2)
    assert rev["diff"] == [{"op": "replace", "path": "/description", "value": "now described"}]


def test_unchanged_write_makes_no_revision(services, alice):
    r1 = services.studies.create(alice, study_payload(seed=3))
    again = services.studies.replace(alice, r1.id, r1.state, if_match=1)
    assert again.version == 1
    assert len(services.studies.revisions(alice, r1.id)) == 1


def test_stale_version_is_refused_and_changes_nothing(services, alice):
    r1 = services.studies.create(alice, study_payload(seed=4))
    services.studies.update(alice, r1.id, {"name": "winner"}, if_match=1)
    with pytest.raises(RevisionConflict) as err:
        services.studies.update(alice, r1.id, {"name": "loser"}, if_match=1)
    assert err.value.current_version == 2
    assert services.studies.get(alice, r1.id).state["name"] == "winner"
    assert len(services.studies.revisions(alice, r1.id)) == 2


def test_revert_brings_back_deleted_children_under_their_ids(services, alice):
    r1 = services.studies.create(alice, study_payload(seed=5))
    first = r1.state["analyses"][0]
    services.studies.update(alice, r1.id, {"analyses": r1.state["analyses"][1:]})
    back = services.studies.revert(alice, r1.id, 1)
    assert back.state["analyses"][0]["id"] == first["id"]
    assert back.state == r1.state


def test_history_of_private_study_is_hidden_from_others(services, alice, bob):
    r1 = services.studies.create(alice, study_payload(seed=6, public=False))
    for call in (
        lambda: services.studies.get(bob, r1.id),
        lambda: services.studies.revisions(bob, r1.id),
        lambda: services.studies.revision(bob, r1.id, 1),
    ):
        with pytest.raises(NotFound):
            call()


def test_dates_numbers_and_nulls_read_back_exactly(services, alice):
    payload = study_payload(seed=7, source="sleuth", source_id="file-1",
                            source_updated_at="2024-05-01T12:00:00.123456+02:00")
    payload["analyses"][0]["points"][0].update(coordinates=[None, None, None], cluster_size=12,
                                               subpeak=True, deactivation=False)
    payload["analyses"][0]["images"] = [
        {"url": "https://example.org/z.nii.gz", "value_type": "z", "space": "MNI152NLin6Asym",
         "add_date": "2023-01-02T03:04:05.000001Z", "metadata": {"n": 1}}
    ]
    created = services.studies.create(alice, payload)
    assert created.state["source_updated_at"] == "2024-05-01T10:00:00.123456+00:00"
    image = created.state["analyses"][0]["images"][0]
    assert image["add_date"] == "2023-01-02T03:04:05.000001+00:00"
    assert image["value_type"] == "Z"
    read = services.studies.get(alice, created.id).state
    assert read == created.state
    assert services.studies.revision(alice, created.id, 1)["state"] == read
