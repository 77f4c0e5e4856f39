"""A snapshot is immutable and named by the sha256 of its canonical NIMADS bytes."""

from __future__ import annotations

import hashlib

import pytest

from neurostore.services.errors import Conflict, Invalid, NotFound
from neurostore.snapshot import write_nimads
from neurostore.snapshot.frozen import studyset_of
from tests.support.factories import make_user


def _bytes(services, snapshot) -> bytes:
    with services.snapshots.files.open(snapshot["file"]) as fp:
        return fp.read()


def test_id_is_the_sha256_of_the_stored_bytes(services, alice, imported):
    snap, created = services.snapshots.create(alice, imported.studyset.id,
                                              annotation_id=imported.annotation.id)
    assert created
    data = _bytes(services, snap)
    assert hashlib.sha256(data).hexdigest() == snap["id"]
    assert snap["file"] == snap["id"] + ".json"
    assert (snap["n_studies"], snap["n_bytes"]) == (len(imported.studies), len(data))
    assert snap["studyset_version"] == 1 and snap["annotation_version"] == 1


def test_freezing_the_same_content_twice_gives_the_same_snapshot(services, alice, imported):
    first, _ = services.snapshots.create(alice, imported.studyset.id,
                                         annotation_id=imported.annotation.id)
    again, created = services.snapshots.create(alice, imported.studyset.id,
                                               annotation_id=imported.annotation.id)
    assert not created and again["id"] == first["id"]
    assert _bytes(services, again) == _bytes(services, first)


def test_exporting_the_stored_snapshot_as_nimads_gives_the_same_bytes(services, alice,
                                                                       imported, tmp_path):
    snap, _ = services.snapshots.create(alice, imported.studyset.id,
                                        annotation_id=imported.annotation.id, include="include")
    studyset, annotation = services.snapshots.frozen(snap["id"])
    for n in range(2):
        path = tmp_path / f"again{n}.json"
        with open(path, "wb") as out:
            summary = write_nimads(studyset, out, annotation)
        assert summary.sha256 == snap["id"]
        assert path.read_bytes() == _bytes(services, snap)


def test_an_edit_after_the_snapshot_does_not_change_it(services, alice, imported):
    snap, _ = services.snapshots.create(alice, imported.studyset.id,
                                        annotation_id=imported.annotation.id)
    before = _bytes(services, snap)
    study = next(s for s in imported.studies if s.state["analyses"])
    analyses = study.state["analyses"]
    moved = dict(analyses[0], points=[dict(p) for p in analyses[0]["points"]])
    x, y, z = moved["points"][0]["coordinates"]
    moved["points"][0]["coordinates"] = [x, y, z + 4.0]
    services.studies.update(alice, study.id, {"analyses": [moved, *analyses[1:]]})
    services.studysets.update(alice, imported.studyset.id, {"name": "renamed"})

    assert _bytes(services, services.snapshots.get(alice, snap["id"])) == before
    studyset, _ = services.snapshots.frozen(snap["id"])
    stored = next(s for s in studyset["studies"] if s["id"] == study.id)
    assert stored["analyses"][0]["points"][0]["coordinates"] == [x, y, z]
    edited, created = services.snapshots.create(alice, imported.studyset.id,
                                                annotation_id=imported.annotation.id)
    assert created and edited["id"] != snap["id"] and edited["studyset_version"] == 2


def test_include_keeps_only_included_analyses(services, alice, imported):
    notes = imported.annotation.state["notes"]
    dropped = [{"analysis": n["analysis"], "note": {"include": False}} for n in notes[:5]]
    annotation = services.annotations.update(alice, imported.annotation.id, {"notes": dropped})
    every, _ = services.snapshots.create(alice, imported.studyset.id,
                                         annotation_id=imported.annotation.id)
    some, _ = services.snapshots.create(alice, imported.studyset.id,
                                        annotation_id=imported.annotation.id, include="include")
    included = sum(n["note"]["include"] is True for n in annotation.state["notes"])
    assert some["n_analyses"] == included < every["n_analyses"]
    studyset, annotation = services.snapshots.frozen(some["id"])
    assert len(annotation["notes"]) == included
    assert all(n["note"]["include"] for n in annotation["notes"])


@pytest.mark.parametrize("include", ["missing", "nope"])
def test_a_bad_include_key_is_refused_naming_the_field(services, alice, imported, include):
    with pytest.raises(Invalid) as caught:
        services.snapshots.create(alice, imported.studyset.id,
                                  annotation_id=imported.annotation.id, include=include)
    assert "include" in caught.value.field_errors


def test_an_annotation_of_another_studyset_is_refused(services, alice, imported):
    other = services.studysets.create(alice, {"name": "other", "studies": []})
    with pytest.raises(Invalid) as caught:
        services.snapshots.create(alice, other.id, annotation_id=imported.annotation.id)
    assert "annotation" in caught.value.field_errors


def test_private_snapshots_are_invisible_and_only_unused_ones_are_deleted(
        services, alice, session_factory, imported):
    services.studysets.update(alice, imported.studyset.id, {"public": False})
    snap, _ = services.snapshots.create(alice, imported.studyset.id)
    assert not snap["public"]
    bob = make_user(session_factory, name="bob")
    with pytest.raises(NotFound):
        services.snapshots.get(bob, snap["id"])
    assert [s["id"] for s in services.snapshots.list(alice)] == [snap["id"]]
    assert services.snapshots.list(bob) == []
    run = services.analysis_runs.create(
        alice, {"snapshot": snap["id"], "estimator": "MKDADensity"})
    with pytest.raises(Conflict):
        services.snapshots.delete(alice, snap["id"])
    services.analysis_runs.cancel(alice, run["id"])
    assert services.analysis_runs.get(alice, run["id"])["status"] == "cancelled"


def test_an_unused_snapshot_is_deleted(services, alice, imported):
    snap, _ = services.snapshots.create(alice, imported.studyset.id)
    services.snapshots.delete(alice, snap["id"])
    with pytest.raises(NotFound):
        services.snapshots.get(alice, snap["id"])


def test_stored_header_and_studies_split_back(services, alice, imported):
    snap, _ = services.snapshots.create(alice, imported.studyset.id,
                                        annotation_id=imported.annotation.id)
    studyset, annotation = services.snapshots.frozen(snap["id"])
    assert annotation["id"] == imported.annotation.id
    assert studyset["id"] == imported.studyset.id
    assert [s["id"] for s in studyset["studies"]] == [s.id for s in imported.studies]
    assert studyset_of({"name": "x"}, [])[1] is None
