"""Studysets and annotations over HTTP: nesting, round trips, clone with annotations, notes."""

from __future__ import annotations

from tests.support.factories import study_payload


def _studyset(client, caller, n=3):
    ids = [client.post("/api/studies", json=study_payload(2, 2, seed=i),
                       headers=caller.headers).json["id"] for i in range(n)]
    r = client.post("/api/studysets", json={"name": "set", "studies": ids},
                    headers=caller.headers)
    assert r.status_code == 200, r.json
    return r.json


def test_studyset_nested_round_trip_and_history(client, alice):
    ss = _studyset(client, alice)
    nested = client.get(f"/api/studysets/{ss['id']}?nested=true").json
    assert [s["id"] for s in nested["studies"]] == ss["studies"]
    assert nested["studies"][0]["analyses"][0]["points"]
    r = client.put(f"/api/studysets/{ss['id']}", json=nested,
                   headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json["version"] == 1
    r = client.patch(f"/api/studysets/{ss['id']}", json={"studies": ss["studies"][:1]},
                     headers={**alice.headers, "If-Match": '"1"'})
    assert r.json["studies"] == ss["studies"][:1] and r.headers["ETag"] == '"2"'
    assert client.patch(f"/api/studysets/{ss['id']}", json={"name": "x"},
                        headers={**alice.headers, "If-Match": '"1"'}).status_code == 412
    diff = client.get(f"/api/studysets/{ss['id']}/revisions/1/diff?to=2").json["patch"]
    assert diff and all(op["path"].startswith("/studies") for op in diff)
    r = client.post(f"/api/studysets/{ss['id']}/revert", json={"revision": 1},
                    headers=alice.headers)
    assert r.json["studies"] == ss["studies"]
    listed = client.get("/api/studysets?nested=true").json
    assert listed["metadata"]["total_count"] == 1
    assert listed["results"][0]["studies"][0]["id"] == ss["studies"][0]
    r = client.post("/api/studysets", json={"studies": ["missing"]}, headers=alice.headers)
    assert r.status_code == 422 and "studies.0" in r.json["errors"]


def test_annotations_notes_and_studyset_clone(client, alice, bob):
    ss = _studyset(client, alice, 2)
    body = {"studyset": ss["id"], "name": "incl", "note_keys": {"included": "boolean"}}
    r = client.post("/api/annotations", json=body, headers=alice.headers)
    assert r.status_code == 200, r.json
    annotation = r.json
    assert len(annotation["notes"]) == 4
    assert all(n["note"] == {"included": None} for n in annotation["notes"])
    first = annotation["notes"][0]["analysis"]
    r = client.patch(f"/api/annotations/{annotation['id']}/notes",
                     json=[{"analysis": first, "note": {"included": True}}],
                     headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    assert {n["analysis"]: n["note"]["included"] for n in r.json}[first] is True
    r = client.patch(f"/api/annotations/{annotation['id']}/notes",
                     json=[{"analysis": first, "note": {"included": "yes"}}],
                     headers=alice.headers)
    assert r.status_code == 422
    assert client.patch(f"/api/annotations/{annotation['id']}/notes", json=[],
                        headers=bob.headers).status_code == 403
    got = client.get(f"/api/annotations/{annotation['id']}")
    assert client.put(f"/api/annotations/{annotation['id']}", json=got.json,
                      headers=alice.headers).json["version"] == 2
    assert client.get(f"/api/annotations?studyset={ss['id']}").json["metadata"][
        "total_count"] == 1
    r = client.post(f"/api/studysets?source_id={ss['id']}", headers=bob.headers)
    assert r.status_code == 200 and r.json["parent"] == ss["id"]
    copies = client.get(f"/api/annotations?studyset={r.json['id']}").json["results"]
    assert len(copies) == 1 and copies[0]["user"] == bob.actor.id
    assert copies[0]["notes"] == got.json["notes"]
    r = client.post(f"/api/annotations?source_id={annotation['id']}", headers=bob.headers)
    assert r.status_code == 200 and r.json["parent"] == annotation["id"]
    r = client.delete(f"/api/annotations/{annotation['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json["deleted"]
    assert client.get(f"/api/annotations/{annotation['id']}/revisions").json[-1]["action"] \
        == "delete"


def test_nested_studyset_embeds_exactly_each_studys_nested_get(client, alice, bob):
    mine = [client.post("/api/studies", json=study_payload(n, 2), headers=alice.headers).json
            for n in range(3)]
    private = client.post("/api/studies", json={**study_payload(9, 1), "public": False},
                          headers=bob.headers).json
    ss = client.post("/api/studysets",
                     json={"name": "s", "studies": [m["id"] for m in mine]},
                     headers=alice.headers).json
    nested = client.get(f"/api/studysets/{ss['id']}?nested=true").json
    for embedded, study in zip(nested["studies"], mine, strict=True):
        alone = client.get(f"/api/studies/{study['id']}?nested=true").json
        assert {k: alone[k] for k in embedded} == embedded
    # A study the reader may not see is left out, even inside someone's public studyset.
    bobs = client.post("/api/studysets", json={"name": "b", "studies": [private["id"]]},
                       headers=bob.headers).json
    client.patch(f"/api/studysets/{bobs['id']}", json={"public": True}, headers=bob.headers)
    seen = client.get(f"/api/studysets/{bobs['id']}?nested=true", headers=alice.headers).json
    assert seen["studies"] == []
    assert client.get(f"/api/studysets/{bobs['id']}?nested=true",
                      headers=bob.headers).json["studies"][0]["id"] == private["id"]


def test_notes_follow_membership_at_once(client, alice):
    ss = _studyset(client, alice, 1)
    note = client.post("/api/annotations", json={"studyset": ss["id"],
                                                 "note_keys": {"included": "boolean"}},
                       headers=alice.headers).json
    url = f"/api/annotations/{note['id']}"
    first = note["notes"][0]["analysis"]
    client.patch(f"{url}/notes", json=[{"analysis": first, "note": {"included": True}}],
                 headers=alice.headers)
    added = client.post("/api/studies", json=study_payload(3, 1, seed=5),
                        headers=alice.headers).json
    client.patch(f"/api/studysets/{ss['id']}", json={"studies": [*ss["studies"], added["id"]]},
                 headers=alice.headers)
    notes = {n["analysis"]: n for n in client.get(url).json["notes"]}
    assert len(notes) == 2 + 3 and notes[first]["note"] == {"included": True}
    assert all(notes[a]["note"] == {"included": None} for a in added["analyses"])
    # An analysis added to a member study gets a note; a removed one loses it.
    new = client.post("/api/analyses", json={"study": added["id"], "name": "late"},
                      headers=alice.headers).json
    client.delete(f"/api/analyses/{added['analyses'][0]}", headers=alice.headers)
    notes = {n["analysis"]: n for n in client.get(url).json["notes"]}
    assert new["id"] in notes and added["analyses"][0] not in notes and len(notes) == 5
    # A deleted study leaves the studyset's reads, its notes and its exports.
    client.delete(f"/api/studies/{added['id']}", headers=alice.headers)
    assert client.get(f"/api/studysets/{ss['id']}").json["studies"] == ss["studies"]
    assert {n["study"] for n in client.get(f"{url}/notes").json} == set(ss["studies"])
    # Removing the study from the studyset keeps the other notes as they were.
    client.patch(f"/api/studysets/{ss['id']}", json={"studies": []}, headers=alice.headers)
    assert client.get(url).json["notes"] == []
    client.patch(f"/api/studysets/{ss['id']}", json={"studies": ss["studies"]},
                 headers=alice.headers)
    assert {n["analysis"]: n["note"] for n in client.get(url).json["notes"]}[first] == \
        {"included": True}


def test_note_keys_in_neurostore_object_form_give_their_defaults(client, alice):
    ss = _studyset(client, alice, 1)
    keys = {"included": {"type": "boolean", "order": 0, "default": True},
            "label": {"type": "string", "order": 1}}
    r = client.post("/api/annotations", json={"studyset": ss["id"], "note_keys": keys},
                    headers=alice.headers)
    assert r.status_code == 200, r.json
    assert r.json["note_keys"] == keys
    assert {tuple(n["note"].items()) for n in r.json["notes"]} == \
        {(("included", True), ("label", None))}
    added = client.post("/api/analyses", json={"study": ss["studies"][0], "name": "new"},
                        headers=alice.headers).json
    notes = {n["analysis"]: n["note"] for n in client.get(
        f"/api/annotations/{r.json['id']}").json["notes"]}
    assert notes[added["id"]] == {"included": True, "label": None}
    for bad in ({"included": {"type": "colour"}}, {"included": {"type": "boolean",
                                                                "default": "yes"}},
                {"included": {"type": "boolean", "extra": 1}}, {"included": 3}):
        r = client.post("/api/annotations", json={"studyset": ss["id"], "note_keys": bad},
                        headers=alice.headers)
        assert r.status_code == 422 and "note_keys" in str(r.json["errors"]), bad
