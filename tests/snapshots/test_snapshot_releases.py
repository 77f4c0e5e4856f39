"""``/api/neurostore-studyset-releases``: NiMARE's own ``fetch_neurostore`` against a served app.

Studies, studysets, annotations and snapshots are made over HTTP; NiMARE lists the releases,
downloads one (checking its checksum), unpacks it and loads its parquet tables.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urljoin

import numpy as np
import pytest
import requests
from nimare.extract import fetch_neurostore, fetch_neurostore_releases
from nimare.nimads import Studyset

from neurostore.services.actors import SYSTEM
from tests.support.factories import make_user, study_payload

COORDINATES = ["id", "study_id", "contrast_id", "x", "y", "z", "space"]


@pytest.fixture
def index(served) -> str:
    """The release index URL, as NiMARE's default is spelled (with its trailing slash)."""
    return f"{served}/api/neurostore-studyset-releases/"


@pytest.fixture
def bob(services, session_factory) -> dict[str, str]:
    """Another user's Authorization header."""
    user = make_user(session_factory, name="bob")
    return {"Authorization": f"Bearer {services.users.issue_token(SYSTEM, user.id).token}"}


def _post(url: str, body: dict, headers: dict[str, str]) -> dict:
    response = requests.post(url, json=body, headers=headers, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _snapshot(base: str, headers: dict[str, str], seed: int, *, public: bool = True) -> dict:
    """Freeze a studyset of two studies whose first analyses are marked included."""
    studies = [_post(f"{base}/api/studies?nested=true",
                     study_payload(2, 3 + n, seed=seed + n, public=public), headers)
               for n in range(2)]
    studyset = _post(f"{base}/api/studysets", {
        "name": f"set {seed}", "public": public, "studies": [s["id"] for s in studies]},
        headers)
    notes = [{"analysis": a["id"], "note": {"included": i == 0}}
             for s in studies for i, a in enumerate(s["analyses"])]
    annotation = _post(f"{base}/api/annotations", {
        "studyset": studyset["id"], "public": public, "note_keys": {"included": "boolean"},
        "notes": notes}, headers)
    return _post(f"{base}/api/snapshots",
                 {"studyset": studyset["id"], "annotation": annotation["id"]}, headers)


def _frame(studyset: Studyset, name: str, columns: list[str]):
    frame = studyset.view.frame(name)[columns]
    return frame.sort_values(columns).reset_index(drop=True)


def test_nimare_fetches_public_snapshots_as_releases(served, index, auth, tmp_path):
    older = _snapshot(served, auth, seed=1)
    newer = _snapshot(served, auth, seed=5)
    releases = fetch_neurostore_releases(url=index)
    assert [r["version"] for r in releases] == [newer["id"], older["id"]]
    latest = releases[0]
    assert latest["release_type"] != "nightly" and latest["built_at"].endswith("Z")
    assert latest["built_at"] > releases[1]["built_at"]
    assert latest["study_count"] == 2 and latest["point_count"] == newer["n_points"]

    studyset = fetch_neurostore(url=index, data_dir=tmp_path)
    nimads = requests.get(f"{served}/api/snapshots/{newer['id']}/export",
                          params={"format": "nimads"}, timeout=30).json()
    expected = Studyset(nimads)
    assert sorted(studyset.study_ids) == sorted(s["id"] for s in nimads["studies"])
    assert sorted(studyset.ids) == sorted(expected.ids)
    got = _frame(studyset, "coordinates", COORDINATES)
    assert got.equals(_frame(expected, "coordinates", COORDINATES))
    peaks = sorted((s["id"], a["id"], *p["coordinates"]) for s in nimads["studies"]
                   for a in s["analyses"] for p in a["points"])
    assert sorted(got[["study_id", "contrast_id", "x", "y", "z"]].itertuples(
        index=False, name=None)) == peaks and len(peaks) == newer["n_points"]
    # The annotation and the sample sizes NiMARE's kernels read come along.
    notes = {n["analysis"]: n["note"]["included"] for n in nimads["annotations"][0]["notes"]}
    included = studyset.view.frame("annotations")
    assert {c: bool(v) for c, v in zip(included["contrast_id"], included["included"],
                                       strict=True)} == notes
    assert np.array_equal(studyset.sample_sizes(), expected.sample_sizes())

    # NiMARE checked the archive against the published checksum; so do we.
    archive = requests.get(urljoin(index, latest["download_path"]), timeout=30)
    assert archive.status_code == 200 and archive.headers["Content-Type"] == "application/gzip"
    assert hashlib.sha256(archive.content).hexdigest() == latest["archive_checksum"]
    assert len(archive.content) == latest["archive_size"]
    export = requests.get(f"{served}/api/snapshots/{newer['id']}/export",
                          params={"format": "release"}, timeout=30)
    assert export.content == archive.content
    manifest = requests.get(f"{index}{latest['version']}", timeout=30).json()
    assert manifest == latest

    first = fetch_neurostore(version=older["id"], url=index, data_dir=tmp_path,
                             return_type="files")
    assert sorted(Studyset(first).study_ids) == sorted(
        s["id"] for s in requests.get(f"{served}/api/snapshots/{older['id']}/export",
                                      timeout=30).json()["studies"])


def test_private_snapshots_are_not_published(served, index, auth, bob, tmp_path):
    private = _snapshot(served, auth, seed=9, public=False)
    assert private["public"] is False
    with pytest.raises(ValueError, match="No NeuroStore studyset releases"):
        fetch_neurostore_releases(url=index)
    public = _snapshot(served, auth, seed=1)
    assert [r["version"] for r in fetch_neurostore_releases(url=index)] == [public["id"]]
    with pytest.raises(ValueError, match="No NeuroStore studyset release named"):
        fetch_neurostore(version=private["id"], url=index, data_dir=tmp_path)
    for headers in ({}, bob):
        for path in (private["id"], f"{private['id']}/download"):
            response = requests.get(f"{index}{path}", headers=headers, timeout=30)
            assert response.status_code == 404
            assert response.headers["Content-Type"] == "application/problem+json"
    # Its owner sees it among the releases, and may download it.
    mine = requests.get(index, headers=auth, timeout=30).json()
    assert [r["version"] for r in mine["results"]] == [public["id"], private["id"]]
    assert requests.get(f"{index}{private['id']}/download", headers=auth,
                        timeout=30).status_code == 200


def test_unknown_versions_and_bad_parameters(served, index, auth):
    for path in ("0" * 64, "nope", f"{'0' * 64}/download"):
        response = requests.get(f"{index}{path}", timeout=30)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == 404
    assert requests.get(index, timeout=30).json() == {"metadata": {"total_count": 0},
                                                      "results": []}
    _snapshot(served, auth, seed=1)
    _snapshot(served, auth, seed=5)
    page = requests.get(index, params={"limit": 1}, timeout=30).json()
    assert page["metadata"]["total_count"] == 2 and len(page["results"]) == 1
    assert requests.get(index, params={"limit": 0}, timeout=30).status_code == 400
    assert requests.get(index, params={"page": 2}, timeout=30).status_code == 400
