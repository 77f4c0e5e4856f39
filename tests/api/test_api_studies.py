"""Studies over HTTP: CRUD, round trips, ETag / If-Match, permissions, clone and history."""

from __future__ import annotations

import pytest

from neurostore.services.actors import SYSTEM
from neurostore.services.errors import Invalid
from tests.support.factories import study_payload


def _create(client, caller, **fields):
    r = client.post("/api/studies", json=study_payload(2, 3, **fields), headers=caller.headers)
    assert r.status_code == 200, r.json
    return r


def test_create_returns_location_etag_and_flat_view(client, alice):
    r = _create(client, alice)
    body = r.json
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"].endswith(f"/api/studies/{body['id']}")
    assert body["version"] == 1 and body["user"] == alice.actor.id
    assert all(isinstance(a, str) for a in body["analyses"]) and len(body["analyses"]) == 2
    nested = client.get(f"/api/studies/{body['id']}?nested=true").json
    assert [a["id"] for a in nested["analyses"]] == body["analyses"]
    assert nested["analyses"][0]["points"][0]["coordinates"] == [-30.0, -40.0, -10.0]


def test_get_output_is_a_valid_put_flat_and_nested(client, alice):
    sid = _create(client, alice).json["id"]
    for nested in ("false", "true"):
        before = client.get(f"/api/studies/{sid}?nested={nested}")
        r = client.put(f"/api/studies/{sid}", json=before.json, headers=alice.headers)
        assert r.status_code == 200, r.json
        assert r.json["version"] == before.json["version"], "an unchanged PUT writes nothing"
    after = client.get(f"/api/studies/{sid}?nested=true").json
    assert after["analyses"][1]["points"] == before.json["analyses"][1]["points"]


def test_put_keeps_what_it_is_not_sent_as_neurostore_does(client, alice):
    created = _create(client, alice).json
    sid = created["id"]
    r = client.put(f"/api/studies/{sid}", json={"name": "Only the name"}, headers=alice.headers)
    assert r.status_code == 200 and r.json["name"] == "Only the name"
    kept = {k: v for k, v in r.json.items() if k not in ("name", "version", "updated_at")}
    assert kept == {k: v for k, v in created.items() if k in kept}
    assert r.json["analyses"] == created["analyses"] and r.json["year"] == created["year"]
    ss = client.post("/api/studysets", json={"name": "s", "studies": [sid]},
                     headers=alice.headers).json
    r = client.put(f"/api/studysets/{ss['id']}", json={"name": "t"}, headers=alice.headers)
    assert r.json["name"] == "t" and r.json["studies"] == [sid]
    # Compose sends an annotation's notes alone, each with its analysis and study.
    note = client.post("/api/annotations", json={"studyset": ss["id"], "name": "n",
                                                 "note_keys": {"included": "boolean"}},
                       headers=alice.headers).json
    notes = [{"analysis": n["analysis"], "study": n["study"], "note": {"included": True}}
             for n in note["notes"]]
    r = client.put(f"/api/annotations/{note['id']}", json={"notes": notes},
                   headers=alice.headers)
    assert r.status_code == 200, r.json
    assert r.json["name"] == "n" and all(n["note"]["included"] for n in r.json["notes"])


def test_put_replace_resets_and_patch_merges(client, alice):
    sid = _create(client, alice).json["id"]
    flat = client.get(f"/api/studies/{sid}").json
    r = client.put(f"/api/studies/{sid}?replace=true",
                   json={"name": "Renamed", "analyses": flat["analyses"][:1]},
                   headers=alice.headers)
    assert r.status_code == 200, r.json
    assert r.json["name"] == "Renamed" and r.json["authors"] is None
    assert r.json["analyses"] == flat["analyses"][:1] and r.headers["ETag"] == '"2"'
    r = client.patch(f"/api/studies/{sid}", json={"year": 2001}, headers=alice.headers)
    assert r.json["year"] == 2001 and r.json["name"] == "Renamed" and r.json["version"] == 3


def test_stale_if_match_is_412_with_current_version_and_changes_nothing(client, alice):
    sid = _create(client, alice).json["id"]
    client.patch(f"/api/studies/{sid}", json={"name": "v2"}, headers=alice.headers)
    for method in (client.patch, client.put):
        r = method(f"/api/studies/{sid}", json={"name": "lost"},
                   headers={**alice.headers, "If-Match": '"1"'})
        assert r.status_code == 412
        assert r.mimetype == "application/problem+json"
        assert r.json["current_version"] == 2 and r.headers["ETag"] == '"2"'
    r = client.delete(f"/api/studies/{sid}", headers={**alice.headers, "If-Match": "garbage"})
    assert r.status_code == 412
    assert client.get(f"/api/studies/{sid}").json["name"] == "v2"
    r = client.patch(f"/api/studies/{sid}", json={"name": "v3"},
                     headers={**alice.headers, "If-Match": '"2"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"3"'


def test_permissions_and_private_rows(client, alice, bob, curator):
    sid = _create(client, alice).json["id"]
    assert client.post("/api/studies", json=study_payload(1, 1)).status_code == 401
    r = client.patch(f"/api/studies/{sid}", json={"name": "x"})
    assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]
    assert client.patch(f"/api/studies/{sid}", json={"name": "x"},
                        headers=bob.headers).status_code == 403
    r = client.patch(f"/api/studies/{sid}", json={"name": "curated"}, headers=curator.headers)
    assert r.status_code == 200
    revisions = client.get(f"/api/studies/{sid}/revisions").json
    assert revisions[-1]["user"] == curator.actor.id
    assert client.delete(f"/api/studies/{sid}", headers=curator.headers).status_code == 403
    secret = _create(client, alice, public=False).json["id"]
    for path in (f"/api/studies/{secret}", f"/api/studies/{secret}/revisions"):
        assert client.get(path, headers=bob.headers).status_code == 404
        assert client.get(path).status_code == 404
        assert client.get(path, headers=alice.headers).status_code == 200
    listed = {s["id"] for s in client.get("/api/studies?limit=100").json["results"]}
    assert secret not in listed and sid in listed
    mine = client.get("/api/studies?limit=100", headers=alice.headers).json["results"]
    assert secret in {s["id"] for s in mine}


def test_bad_tokens_are_401(client, alice, services):
    assert client.get("/api/studies", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/studies", headers={"Authorization": "Basic abc"}).status_code == 401
    token_id = services.users.list_tokens(alice.actor, alice.actor.id)[0]["id"]
    services.users.revoke_token(SYSTEM, token_id)
    assert client.get("/api/studies", headers=alice.headers).status_code == 401


def test_delete_restore_and_clone(client, alice, bob):
    sid = _create(client, alice).json["id"]
    r = client.delete(f"/api/studies/{sid}?message=duplicate", headers=alice.headers)
    assert r.status_code == 200 and r.json == {"id": sid, "version": 2, "deleted": True}
    assert client.get(f"/api/studies/{sid}").status_code == 404
    assert client.patch(f"/api/studies/{sid}", json={}, headers=alice.headers).status_code == 409
    r = client.post(f"/api/studies/{sid}/restore", headers=alice.headers)
    assert r.status_code == 200 and r.json["version"] == 3
    r = client.post(f"/api/studies?source_id={sid}", headers=bob.headers)
    assert r.status_code == 200, r.json
    assert r.json["parent"] == sid and r.json["user"] == bob.actor.id
    assert r.json["source"] == "neurostore" and r.json["source_id"] == sid
    assert client.post("/api/studies?source_id=unknown", headers=bob.headers).status_code == 404


def test_history_revision_diff_and_revert(client, alice):
    sid = _create(client, alice).json["id"]
    client.patch(f"/api/studies/{sid}?message=fix%20title", json={"name": "Fixed"},
                 headers=alice.headers)
    revisions = client.get(f"/api/studies/{sid}/revisions").json
    assert [(r["version"], r["action"], r["message"]) for r in revisions] == [
        (1, "create", None), (2, "update", "fix title")]
    first = client.get(f"/api/studies/{sid}/revisions/1").json
    assert first["state"]["name"] == "A study 0"
    diff = client.get(f"/api/studies/{sid}/revisions/1/diff?to=2").json
    assert diff["patch"] == [{"op": "replace", "path": "/name", "value": "Fixed"}]
    assert client.get(f"/api/studies/{sid}/revisions/9").status_code == 404
    assert client.get(f"/api/studies/{sid}/revisions/1/diff").status_code == 400
    r = client.post(f"/api/studies/{sid}/revert", json={"revision": 1},
                    headers={**alice.headers, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json["name"] == "A study 0" and r.json["version"] == 3
    r = client.post(f"/api/studies/{sid}/revert", json={"revision": "one"}, headers=alice.headers)
    assert r.status_code == 422 and "revision" in r.json["errors"]


def test_invalid_study_names_the_field(client, alice):
    body = study_payload(1, 1)
    body["analyses"][0]["points"][0]["coordinates"] = [1, 2]
    r = client.post("/api/studies", json=body, headers=alice.headers)
    assert r.status_code == 422
    assert any("coordinates" in key for key in r.json["errors"])
    sid = _create(client, alice).json["id"]
    r = client.put(f"/api/studies/{sid}", json={"analyses": ["not-an-analysis"]},
                   headers=alice.headers)
    assert r.status_code == 422 and "analyses.0" in r.json["errors"]


def test_service_patch_with_unhashable_analysis_id_is_invalid(client, services, alice):
    sid = _create(client, alice).json["id"]
    with pytest.raises(Invalid) as caught:
        services.studies.update(alice.actor, sid, {"analyses": [{"id": ["x"]}, {"id": {}}]})
    assert set(caught.value.field_errors) == {"analyses.0.id", "analyses.1.id"}
