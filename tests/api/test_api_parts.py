"""Analyses, tables, points, images and conditions: views into the study aggregate."""

from __future__ import annotations

from tests.support.factories import study_payload


def _study(client, caller):
    r = client.post("/api/studies?nested=true", json=study_payload(2, 3), headers=caller.headers)
    assert r.status_code == 200
    return r.json


def test_point_patch_goes_through_the_study(client, alice, bob):
    study = _study(client, alice)
    point = study["analyses"][0]["points"][1]
    r = client.get(f"/api/points/{point['id']}")
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    assert r.json["analysis"] == study["analyses"][0]["id"] and r.json["study"] == study["id"]
    r = client.patch(f"/api/points/{point['id']}?message=typo",
                     json={"coordinates": [10, 20, 30]},
                     headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 200, r.json
    assert r.json["coordinates"] == [10.0, 20.0, 30.0] and r.json["values"] == point["values"]
    assert r.headers["ETag"] == '"2"'
    revisions = client.get(f"/api/studies/{study['id']}/revisions").json
    assert revisions[-1]["message"] == "typo" and revisions[-1]["version"] == 2
    assert client.patch(f"/api/points/{point['id']}", json={"coordinates": [1, 2, 3]},
                        headers={**alice.headers, "If-Match": '"1"'}).status_code == 412
    assert client.patch(f"/api/points/{point['id']}", json={"coordinates": [1, 2, 3]},
                        headers=bob.headers).status_code == 403
    assert client.patch(f"/api/points/{point['id']}", json={"coordinates": [1, 2]},
                        headers=alice.headers).status_code == 422
    # NeuroStore's PUT keeps what it is not sent; replace=true resets it.
    r = client.put(f"/api/points/{point['id']}", json={"coordinates": [1, 2, 3]},
                   headers=alice.headers)
    assert r.json["values"] == point["values"] and r.json["coordinates"] == [1, 2, 3]
    r = client.put(f"/api/points/{point['id']}?replace=true", json={"coordinates": [1, 2, 3]},
                   headers=alice.headers)
    assert r.json["values"] == [] and r.json["space"] is None


def test_analysis_create_replace_delete_and_lists(client, alice):
    study = _study(client, alice)
    r = client.post("/api/analyses", json={"study": study["id"], "name": "new",
                                           "points": [{"coordinates": [0, 0, 0]}]},
                    headers=alice.headers)
    assert r.status_code == 200, r.json
    new = r.json
    assert new["name"] == "new" and len(new["points"]) == 1 and isinstance(new["points"][0], str)
    got = client.get(f"/api/analyses/{new['id']}")
    r = client.put(f"/api/analyses/{new['id']}", json=got.json, headers=alice.headers)
    assert r.status_code == 200, r.json
    assert r.headers["ETag"] == got.headers["ETag"], "an unchanged PUT writes nothing"
    r = client.post("/api/points", json={"analysis": new["id"], "coordinates": [1, 1, 1],
                                         "space": "TAL"}, headers=alice.headers)
    assert r.status_code == 200 and r.json["space"] == "TAL"
    listed = client.get(f"/api/points?analysis={new['id']}").json
    assert listed["metadata"]["total_count"] == 2
    assert client.get(f"/api/analyses?study={study['id']}").json["metadata"][
        "total_count"] == 3
    r = client.delete(f"/api/analyses/{new['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json["deleted"]
    assert client.get(f"/api/analyses/{new['id']}").status_code == 404
    assert len(client.get(f"/api/studies/{study['id']}").json["analyses"]) == 2
    r = client.post("/api/analyses", json={"name": "orphan"}, headers=alice.headers)
    assert r.status_code == 422 and "study" in r.json["errors"]


def test_tables_images_and_conditions(client, alice):
    study = _study(client, alice)
    r = client.post("/api/tables", json={"study": study["id"], "t_id": "T1", "name": "Table 1"},
                    headers=alice.headers)
    assert r.status_code == 200, r.json
    table = r.json["id"]
    analysis = study["analyses"][0]["id"]
    r = client.patch(f"/api/analyses/{analysis}", json={"table": table}, headers=alice.headers)
    assert r.json["table"] == table
    r = client.post("/api/images", json={"analysis": analysis, "url": "http://x/z.nii.gz",
                                         "value_type": "z map"}, headers=alice.headers)
    assert r.status_code == 200 and r.json["value_type"] == "Z"
    image = r.json["id"]
    assert client.get("/api/images?value_type=Z").json["results"][0]["id"] == image
    assert client.delete(f"/api/images/{image}", headers=alice.headers).status_code == 200
    assert client.delete(f"/api/tables/{table}", headers=alice.headers).status_code == 200
    assert client.get(f"/api/analyses/{analysis}").json["table"] is None
    condition = study["analyses"][0]["conditions"][0]
    got = client.get(f"/api/conditions/{condition['id']}").json
    assert got == {**condition, "user": alice.actor.id, "version": 1}
    assert client.get("/api/conditions?name=TAS").json["metadata"]["total_count"] == 2
