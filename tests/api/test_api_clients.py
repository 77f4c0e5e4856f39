"""NeuroStore's own clients, unchanged, against a served app: the generated Python client
(``neurostore-sdk``) and NiMARE's loader (``nimare.io.fetch_neurostore_studyset``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from neurostore_sdk import ApiClient, Configuration, StoreApi
from neurostore_sdk.exceptions import ApiException

from tests.support.data import SAMPLE_DIR
from tests.support.factories import study_payload

ROOT = Path(__file__).resolve().parents[2]
NEUROSYNTH = SAMPLE_DIR / "neurosynth"


def _items(relationship):
    """The list inside one of the client's oneOf relationship wrappers (ids or objects)."""
    return getattr(relationship, "actual_instance", relationship)


def _store(url: str, token: str | None = None) -> StoreApi:
    config = Configuration(host=f"{url}/api", access_token=token)
    return StoreApi(ApiClient(config))


def test_sdk_creates_reads_and_edits_studies_and_studysets(served, alice):
    api = _store(served, alice.token)
    body = {**study_payload(2, 3), "description": "kept"}
    study = api.studies_post(study_request=body)
    assert study is not None and study.id and study.name == body["name"]
    table = api.tables_post(table_request={"study": study.id, "name": "Table 1"})
    assert table is not None and table.name == "Table 1"
    nested = api.studies_id_get(study.id, nested=True)
    assert len(nested.tables) == 1 and isinstance(nested.tables[0], str)
    analysis = nested.analyses[0]
    assert analysis.point_count == 3 and analysis.order == 0
    point = _items(analysis.points)[1]
    assert [point.x, point.y, point.z] == point.coordinates and point.order == 1
    assert nested.has_coordinates is True and nested.has_images is False
    # A PUT of only a name keeps everything else.
    renamed = api.studies_id_put(study.id, study_request={"name": "Renamed"})
    assert renamed.name == "Renamed" and renamed.description == "kept"
    assert renamed.year == body["year"] and len(renamed.analyses) == 2
    # Parts created through the client come back.
    added = api.analyses_post(analysis_request={"study": study.id, "name": "added"})
    assert added is not None and added.name == "added"
    peak = api.points_post(point_request={"analysis": added.id, "x": 1.0, "y": 2.0, "z": 3.0,
                                          "space": "MNI"})
    assert peak is not None and peak.coordinates == [1.0, 2.0, 3.0]
    moved = api.points_id_put(peak.id, point_request={"x": -4.0})
    assert moved.coordinates == [-4.0, 2.0, 3.0] and moved.space == "MNI"
    linked = api.analyses_id_put(added.id, analysis_request={"table_id": table.id})
    assert linked.table_id == table.id and linked.name == "added"
    studyset = api.studysets_post(studyset_request={"name": "set", "studies": [study.id]})
    assert studyset is not None and _items(studyset.studies) == [study.id]
    got = api.studysets_id_get(studyset.id, nested=True)
    assert [s.id for s in _items(got.studies)] == [study.id]
    assert [m.id for m in got.studyset_studies] == [study.id]
    holding = api.studies_id_get(study.id, studyset_owner=alice.actor.id)
    assert [(s.actual_instance.id, s.actual_instance.name) for s in holding.studysets] == \
        [(studyset.id, "set")]
    listed = api.studies_get(studyset_owner=alice.actor.id, name="Renamed").results
    assert [s.actual_instance.id for s in listed[0].studysets] == [studyset.id]
    assert api.studies_id_get(study.id, studyset_owner="nobody000000").studysets == []
    copy = api.studysets_post(source_id=studyset.id)
    assert copy.source == "neurostore" and copy.source_id == studyset.id
    listed = api.studies_get(name="Renamed")
    assert [s.id for s in listed.results] == [study.id] and listed.metadata.total_count == 1
    with pytest.raises(ApiException) as missing:
        api.studies_id_get("nosuchstudy0")
    assert missing.value.status == 404


def test_sdk_reads_annotations_and_edits_their_notes(served, alice, bob):
    api = _store(served, alice.token)
    study = api.studies_post(study_request=study_payload(2, 1))
    studyset = api.studysets_post(studyset_request={"name": "set", "studies": [study.id]})
    assert api.annotations_get(studyset_id=studyset.id).results == []
    # The client cannot send an annotation (it fails before any request): compose's body.
    keys = {"included": {"type": "boolean", "order": 0, "default": True}}
    created = requests.post(f"{served}/api/annotations/", headers=alice.headers,
                            json={"studyset": studyset.id, "name": "incl", "note_keys": keys})
    assert created.status_code == 200, created.text
    annotation = api.annotations_id_get(created.json()["id"])
    notes = _items(annotation.notes)
    assert len(notes) == 2 and all(n.note == {"included": True} for n in notes)
    assert {(n.study_name, n.analysis_name) for n in notes} == {
        (study.name, "contrast 0"), (study.name, "contrast 1")}
    first = notes[0].analysis
    changed = api.annotation_analyses_post(note_collection_request=[
        {"id": f"{annotation.id}_{first}", "note": {"included": False}}])
    assert [(c.analysis, c.note) for c in changed] == [(first, {"included": False})]
    got = api.annotation_analyses_id_get(f"{annotation.id}_{first}")
    assert got.note == {"included": False} and got.annotation == annotation.id
    listed = api.annotations_get(studyset_id=studyset.id).results
    assert [a.id for a in listed] == [annotation.id]
    # Another user may read the public annotation's notes, not change them.
    with pytest.raises(ApiException) as denied:
        _store(served, bob.token).annotation_analyses_post(note_collection_request=[
            {"id": f"{annotation.id}_{first}", "note": {"included": True}}])
    assert denied.value.status == 403


def _ingest_neurosynth(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url,
           "NEUROSTORE_DATA_DIR": str(tmp_path / "var")}
    done = subprocess.run(
        [sys.executable, "manage.py", "ingest", "neurosynth",
         "--coordinates", str(NEUROSYNTH / "sample-24studies_coordinates.tsv.gz"),
         "--metadata", str(NEUROSYNTH / "sample-24studies_metadata.tsv.gz")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_nimare_fetches_a_studyset_of_ingested_neurosynth_studies(
        served, alice, database_url, tmp_path, monkeypatch):
    from nimare.io import fetch_neurostore_studyset
    from nimare.utils import tal2mni

    _ingest_neurosynth(database_url, tmp_path)
    api = _store(served, alice.token)
    studies = api.studies_get(source="neurosynth", page_size=100).results
    assert len(studies) == 24
    ids = sorted(s.id for s in studies)
    studyset = api.studysets_post(studyset_request={"name": "ns", "studies": ids})
    client = ApiClient(Configuration(host=f"{served}/api"))
    monkeypatch.setattr(ApiClient, "_default", client)
    fetched = fetch_neurostore_studyset(studyset.id)
    dataset = fetched.to_dataset()
    nested = api.studysets_id_get(studyset.id, nested=True)
    # NiMARE brings Talairach peaks to MNI, as it does for a NeuroStore studyset.
    points = [(a.id, p.space, p.coordinates) for s in _items(nested.studies)
              for a in _items(s.analyses) for p in _items(a.points)]
    assert {"MNI", "TAL"} <= {space for _, space, _ in points}
    mni = [tal2mni(np.array([xyz]))[0] if space == "TAL" else xyz for _, space, xyz in points]
    expected = sorted((a, *xyz) for (a, _, _), xyz in zip(points, mni, strict=True))
    coords = dataset.coordinates
    got = sorted(zip(coords["id"].str.split("-", n=1).str[1], coords["x"], coords["y"],
                     coords["z"], strict=True))
    assert len(got) == len(expected) > 100
    assert [g[0] for g in got] == [e[0] for e in expected]
    np.testing.assert_allclose([g[1:] for g in got], [e[1:] for e in expected])


def test_sdk_list_parameters_filter_and_unknown_ones_are_refused(served, alice):
    api = _store(served, alice.token)
    with_peaks = api.studies_post(study_request={**study_payload(1, 2), "doi": "10.1234/same"})
    with_image = api.studies_post(study_request={
        "name": "maps", "doi": "10.1234/same",
        "analyses": [{"name": "a", "images": [{"url": "https://example.org/z.nii.gz",
                                               "value_type": "Z"}]}]})
    empty = api.studies_post(study_request={"name": "nothing"})
    requests.post(f"{served}/api/studies/", headers=alice.headers,
                  json={"name": "sourced", "source": "neurosynth", "source_id": "12345"})

    def ids(**params):
        return {s.id for s in api.studies_get(**params).results}

    assert ids(data_type="coordinate") == {with_peaks.id}
    assert ids(data_type="image") == {with_image.id}
    assert ids(data_type="both") == {with_peaks.id, with_image.id}
    assert ids(map_type="z") == ids(map_type="any") == {with_image.id}
    assert ids(map_type="t") == set()
    assert ids(level="group") >= {with_peaks.id, empty.id} and ids(level="meta") == set()
    assert [s.source_id for s in api.studies_get(source_id="12345").results] == ["12345"]
    assert len(ids(unique=True) & {with_peaks.id, with_image.id}) == 1
    flat = api.studies_get(flat=True, name="nothing").results[0]
    assert flat.analyses is None and flat.name == "nothing"
    assert len(api.studies_get(paginate=False).results) == 4
    assert {s.id for s in api.studysets_get(name="zzz").results} == set()
    # Every parameter the server does not take is a 400 naming it, never ignored.
    for url in ("/api/studies/?nonsense=1", "/api/studies/?semantic_search=x",
                f"/api/studies/{empty.id}?flat=true", "/api/snapshots?x=1",
                "/api/annotations/?info=true", "/api/base-studies/?feature_filter=a"):
        r = requests.get(f"{served}{url}", headers=alice.headers)
        assert r.status_code == 400, url
        assert r.headers["Content-Type"] == "application/problem+json"
        assert set(r.json()["errors"]) == {url.split("?")[1].split("=")[0]}
    with pytest.raises(ApiException) as refused:
        api.studies_get(map_type="nope")
    assert refused.value.status == 400
