"""Conditions over HTTP: create, edit by owner or curator, ETags, delete only when unused."""

from __future__ import annotations

from tests.support.factories import study_payload


def test_condition_life_cycle(client, services, alice, bob, curator):
    assert client.post("/api/conditions", json={"name": "2-back"}).status_code == 401
    r = client.post("/api/conditions", json={"name": "2-back"}, headers=alice.headers)
    assert r.status_code == 200, r.json
    cid = r.json["id"]
    assert r.json == {"id": cid, "name": "2-back", "description": None,
                      "user": alice.actor.id, "version": 1}
    assert r.headers["Location"].endswith(f"/api/conditions/{cid}")
    assert client.patch(f"/api/conditions/{cid}", json={"name": "x"},
                        headers=bob.headers).status_code == 403
    assert client.patch(f"/api/conditions/{cid}", json={"name": "x"}).status_code == 401
    r = client.patch(f"/api/conditions/{cid}", json={"description": "working memory"},
                     headers=alice.headers)
    assert r.status_code == 200 and r.json["name"] == "2-back"
    assert r.headers["ETag"] == '"2"'
    stale = client.put(f"/api/conditions/{cid}", json={"name": "n-back"},
                       headers={**curator.headers, "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json["current_version"] == 2
    r = client.put(f"/api/conditions/{cid}?message=rename&replace=true", json={"name": "n-back"},
                   headers={**curator.headers, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json["description"] is None and r.json["version"] == 3
    got = client.get(f"/api/conditions/{cid}")
    assert got.json["name"] == "n-back" and got.headers["ETag"] == '"3"'
    assert services.conditions.get(alice.actor, cid).version == 3
    for body in ({"name": "  "}, {"name": 5}, ["x"]):
        assert client.patch(f"/api/conditions/{cid}", json=body,
                            headers=alice.headers).status_code == 422
    assert client.delete(f"/api/conditions/{cid}", headers=bob.headers).status_code == 403
    r = client.delete(f"/api/conditions/{cid}", headers=alice.headers)
    assert r.status_code == 200 and r.json == {"id": cid, "version": 4, "deleted": True}
    assert client.get(f"/api/conditions/{cid}").status_code == 404
    assert client.patch("/api/conditions/nope", json={},
                        headers=alice.headers).status_code == 404


def test_a_condition_in_use_is_not_deleted_and_edits_show_in_studies(client, alice, curator):
    study = client.post("/api/studies?nested=true", json=study_payload(1, 1),
                        headers=alice.headers).json
    cid = study["analyses"][0]["conditions"][0]["id"]
    got = client.get(f"/api/conditions/{cid}")
    assert got.headers["ETag"] == '"1"' and got.json["user"] == alice.actor.id
    r = client.delete(f"/api/conditions/{cid}", headers=curator.headers)
    assert r.status_code == 409 and "weighted" in r.json["detail"]
    r = client.patch(f"/api/conditions/{cid}?message=typo", json={"name": "rest"},
                     headers=curator.headers)
    assert r.status_code == 200 and r.json["version"] == 2
    nested = client.get(f"/api/studies/{study['id']}?nested=true")
    assert nested.json["analyses"][0]["conditions"][0]["name"] == "rest"
    assert nested.headers["ETag"] == '"2"', "the study shows the new name: a new version"
    revision = client.get(f"/api/studies/{study['id']}/revisions/2").json
    assert revision["user"] == curator.actor.id and revision["message"] == "typo"
    assert revision["diff"] == [{"op": "replace", "value": "rest",
                                 "path": "/analyses/0/conditions/0/name"}]
