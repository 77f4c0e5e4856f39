"""Studysets and annotations: membership, notes, clones, history and permissions."""

from __future__ import annotations

import pytest

from neurostore.services.errors import Invalid, NotFound, PermissionDenied
from tests.support.factories import study_payload


@pytest.fixture
def two_studies(services, alice):
    return services.studies.create_many(alice, [study_payload(seed=1), study_payload(seed=2)])


def test_studyset_keeps_order_and_creates_inline_studies(services, alice, two_studies):
    a, b = two_studies
    ss = services.studysets.create(
        alice, {"name": "set", "studies": [b.id, study_payload(seed=3), a.id]}
    )
    assert ss.state["studies"][0] == b.id and ss.state["studies"][2] == a.id
    inline = services.studies.get(alice, ss.state["studies"][1])
    assert inline.state["name"] == "A study 3"
    assert services.studysets.get(alice, ss.id).state == ss.state


def test_studyset_refuses_unknown_duplicate_and_private_studies(services, alice, bob,
                                                                 two_studies):
    a, _ = two_studies
    private = services.studies.create(bob, study_payload(seed=9, public=False))
    with pytest.raises(Invalid) as err:
        services.studysets.create(alice, {"name": "s", "studies": [a.id, a.id, "nope",
                                                                   private.id]})
    assert set(err.value.field_errors) == {"studies.1", "studies.2", "studies.3"}


def test_annotation_defaults_validation_and_partial_notes(services, alice, two_studies):
    ss = services.studysets.create(alice, {"name": "s", "studies": [s.id for s in two_studies]})
    ann = services.annotations.create(
        alice, {"studyset": ss.id, "note_keys": {"included": "boolean", "why": "string"}}
    )
    assert len(ann.state["notes"]) == 6
    assert all(n["note"] == {"included": None, "why": None} for n in ann.state["notes"])
    first = ann.state["notes"][0]["analysis"]
    updated = services.annotations.update(
        alice, ann.id, {"notes": [{"analysis": first, "note": {"included": True}}]}, if_match=1
    )
    note = next(n for n in updated.state["notes"] if n["analysis"] == first)
    assert note["note"] == {"included": True, "why": None}
    assert len(updated.state["notes"]) == 6
    with pytest.raises(Invalid) as err:
        services.annotations.update(
            alice, ann.id, {"notes": [{"analysis": first, "note": {"included": "yes"}}]}
        )
    assert "expected a boolean" in err.value.detail
    with pytest.raises(Invalid):
        services.annotations.update(
            alice, ann.id, {"notes": [{"analysis": first, "note": {"colour": "red"}}]}
        )
    reverted = services.annotations.revert(alice, ann.id, 1)
    assert reverted.state["notes"] == ann.state["notes"]


def test_clone_studyset_with_annotations_and_study_copy_on_write(services, alice, bob,
                                                                  two_studies):
    ss = services.studysets.create(alice, {"name": "s", "studies": [s.id for s in two_studies]})
    services.annotations.create(alice, {"studyset": ss.id, "note_keys": {"included": "boolean"}})
    copy = services.studysets.clone(bob, ss.id)
    assert copy.state["parent"] == ss.id and copy.state["user"] == bob.id
    assert copy.state["studies"] == ss.state["studies"]
    with pytest.raises(PermissionDenied):
        services.studies.update(bob, two_studies[0].id, {"name": "bob was here"})
    mine = services.studies.clone(bob, two_studies[0].id)
    assert mine.state["parent"] == two_studies[0].id
    assert mine.state["source"] == "neurostore"
    assert mine.state["base_study"] == two_studies[0].state["base_study"]
    strip = lambda st: [  # noqa: E731
        [(p["coordinates"], p["values"]) for p in a["points"]] for a in st["analyses"]
    ]
    assert strip(mine.state) == strip(two_studies[0].state)
    services.studies.update(bob, mine.id, {"name": "bob's version"})
    assert services.studies.get(alice, two_studies[0].id).state["name"] == "A study 1"


def test_curator_edits_public_but_not_private(services, alice, curator):
    public = services.studies.create(alice, study_payload(seed=1))
    private = services.studies.create(alice, study_payload(seed=2, public=False))
    edited = services.studies.update(curator, public.id, {"name": "curated"})
    assert services.studies.revisions(alice, public.id)[-1]["user"] == curator.id
    assert edited.state["user"] == alice.id
    with pytest.raises(NotFound):
        services.studies.update(curator, private.id, {"name": "nope"})
    with pytest.raises(PermissionDenied):
        services.studies.delete(curator, public.id)


def test_annotation_patch_refuses_notes_it_cannot_place(services, alice, two_studies):
    ss = services.studysets.create(alice, {"name": "s", "studies": [s.id for s in two_studies]})
    ann = services.annotations.create(alice, {"studyset": ss.id,
                                              "note_keys": {"included": "boolean"}})
    for bad in ([{"analysis": "not-in-the-set", "note": {"included": True}}],
                [{"analysis": ["a", "list"], "note": {}}], ["just a string"]):
        with pytest.raises(Invalid):
            services.annotations.update(alice, ann.id, {"notes": bad})
    assert services.annotations.get(alice, ann.id).version == 1
