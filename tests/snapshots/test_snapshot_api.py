"""``/api/snapshots``: freeze over HTTP, list, get, export in every format, delete."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tarfile

import pytest

from neurostore.services.actors import SYSTEM
from neurostore.snapshot.formats import FORMATS


def _freeze(client, auth, imported, **extra):
    body = {"studyset": imported.studyset.id, "annotation": imported.annotation.id, **extra}
    return client.post("/api/snapshots", json=body, headers=auth)


def test_post_freezes_and_a_second_post_finds_the_same_snapshot(client, auth, imported):
    first = _freeze(client, auth, imported)
    assert first.status_code == 201, first.json
    assert first.headers["Location"].endswith(f"/api/snapshots/{first.json['id']}")
    again = _freeze(client, auth, imported)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    nested = client.post(f"/api/studysets/{imported.studyset.id}/snapshots",
                         json={"annotation": imported.annotation.id}, headers=auth)
    assert nested.status_code == 200 and nested.json["id"] == first.json["id"]
    listed = client.get(f"/api/snapshots?studyset={imported.studyset.id}").json["results"]
    assert [s["id"] for s in listed] == [first.json["id"]]


def test_bad_requests_name_the_field(client, auth, imported):
    assert client.post("/api/snapshots", json={"studyset": imported.studyset.id}
                       ).status_code == 401
    missing = client.post("/api/snapshots", json={}, headers=auth)
    assert missing.status_code == 422 and "studyset" in missing.json["errors"]
    bad = _freeze(client, auth, imported, include="no_such_key")
    assert bad.status_code == 422 and "include" in bad.json["errors"]
    assert bad.headers["Content-Type"] == "application/problem+json"
    unknown = client.post("/api/snapshots", json={"studyset": "nope"}, headers=auth)
    assert unknown.status_code == 404
    assert client.get("/api/snapshots/nope").status_code == 404
    assert client.get("/api/snapshots/nope/export?format=tsv").status_code == 404


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_downloads_and_is_reused(client, auth, imported, fmt):
    snapshot = _freeze(client, auth, imported).json
    first = client.get(f"/api/snapshots/{snapshot['id']}/export?format={fmt}")
    assert first.status_code == 200, first.data[:300]
    assert first.mimetype == FORMATS[fmt].media_type.split(";")[0]
    assert "attachment" in first.headers["Content-Disposition"]
    again = client.get(f"/api/snapshots/{snapshot['id']}/export?format={fmt}")
    assert again.data == first.data
    if fmt == "nimads":
        assert hashlib.sha256(first.data).hexdigest() == snapshot["id"]
    elif fmt == "nimare":
        assert 0 < len(json.loads(first.data)) <= snapshot["n_studies"]
    elif fmt == "tsv":
        rows = list(csv.DictReader(io.StringIO(first.data.decode()), delimiter="\t"))
        assert len(rows) == snapshot["n_points"]
    elif fmt == "release":
        with tarfile.open(fileobj=io.BytesIO(first.data), mode="r:gz") as archive:
            assert {"studyset.json", "studies.parquet", "analyses.parquet"} <= set(
                archive.getnames())
    else:
        assert first.data.startswith(b"// Reference=")
    if fmt != "nimads":
        formats = [e["format"] for e in client.get(f"/api/snapshots/{snapshot['id']}")
                   .json["exports"]]
        assert formats == [fmt]


def test_unknown_format_is_a_bad_request(client, auth, imported):
    snapshot = _freeze(client, auth, imported).json
    response = client.get(f"/api/snapshots/{snapshot['id']}/export?format=xml")
    assert response.status_code == 400 and "format" in response.json["errors"]


def test_delete_needs_the_owner(client, auth, imported, services, session_factory):
    from tests.support.factories import make_user

    snapshot = _freeze(client, auth, imported).json
    bob = make_user(session_factory)
    bob_auth = {"Authorization": f"Bearer {services.users.issue_token(SYSTEM, bob.id).token}"}
    assert client.delete(f"/api/snapshots/{snapshot['id']}", headers=bob_auth
                         ).status_code == 403
    assert client.delete(f"/api/snapshots/{snapshot['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/snapshots/{snapshot['id']}").status_code == 404


def test_studies_screened_out_are_not_frozen(client, auth, imported):
    studyset = client.get(f"/api/studysets/{imported.studyset.id}").json
    whole = _freeze(client, auth, imported).json
    out = studyset["studies"][0]
    out = out["id"] if isinstance(out, dict) else out
    patched = client.put(
        f"/api/studysets/{imported.studyset.id}", headers={**auth, "If-Match": str(
            studyset["version"])},
        json={"metadata": {**(studyset.get("metadata") or {}), "screening": {
            "decisions": {out: {"status": "excluded", "reason": "wrong population"}}}}})
    assert patched.status_code == 200, patched.json
    screened = _freeze(client, auth, imported)
    assert screened.status_code == 201, screened.json
    assert screened.json["n_studies"] == whole["n_studies"] - 1
    document = json.loads(client.get(f"/api/snapshots/{screened.json['id']}/export?format=nimads"
                                     ).data)
    assert out not in {study["id"] for study in document["studies"]}
