"""Nested annotations (a GET round trip) and If-None-Match -> 304 on versioned GETs."""

from __future__ import annotations

from tests.support.factories import study_payload


def _annotated(client, caller):
    ids = [client.post("/api/studies", json=study_payload(2, 1, seed=i),
                       headers=caller.headers).json["id"] for i in range(2)]
    ss = client.post("/api/studysets", json={"name": "set", "studies": ids},
                     headers=caller.headers).json
    body = {"studyset": ss["id"], "name": "incl", "note_keys": {"included": "boolean"}}
    return ss, client.post("/api/annotations", json=body, headers=caller.headers).json


def test_nested_annotation_embeds_and_round_trips(client, alice, bob):
    ss, annotation = _annotated(client, alice)
    url = f"/api/annotations/{annotation['id']}"
    nested = client.get(f"{url}?nested=true").json
    assert nested["studyset"]["id"] == ss["id"] and nested["studyset"]["name"] == "set"
    note = nested["notes"][0]
    assert note["analysis"]["name"].startswith("contrast")
    assert note["study"]["id"] in ss["studies"] and note["study"]["name"]
    assert [n["analysis"]["id"] for n in nested["notes"]] == \
        [n["analysis"] for n in annotation["notes"]]
    r = client.put(url, json=nested, headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json["version"] == 1, r.json
    note["note"] = {"included": True}
    r = client.patch(url, json={"notes": [note]}, headers=alice.headers)
    assert r.status_code == 200 and r.json["notes"][0]["note"] == {"included": True}
    listed = client.get("/api/annotations?nested=true").json["results"]
    assert listed[0]["notes"][0]["analysis"]["id"] == note["analysis"]["id"]
    # Notes of studies others may not read are left out for them, not shown as ids.
    client.patch(f"/api/studies/{ss['studies'][0]}", json={"public": False},
                 headers=alice.headers)
    theirs = client.get(f"{url}?nested=true", headers=bob.headers).json["notes"]
    assert theirs and all(n["study"]["id"] == ss["studies"][1] for n in theirs)
    assert len(client.get(f"{url}?nested=true", headers=alice.headers).json["notes"]) == 4


def test_if_none_match_answers_304_for_the_current_version(client, alice, bob):
    ss, annotation = _annotated(client, alice)
    study = ss["studies"][0]
    first = client.get(f"/api/studies/{study}")
    etag = first.headers["ETag"]
    for url in (f"/api/studies/{study}", f"/api/studies/{study}?nested=true"):
        tag = client.get(url).headers["ETag"]
        r = client.get(url, headers={"If-None-Match": f'W/"9", {tag}'})
        assert r.status_code == 304 and r.headers["ETag"] == tag and not r.data, url
        assert client.get(url, headers={"If-None-Match": '"99"'}).status_code == 200
    # What follows other aggregates (members, notes) is sent whole, its ETag still the
    # version for If-Match.
    for url in (f"/api/studysets/{ss['id']}", f"/api/annotations/{annotation['id']}",
                f"/api/annotations/{annotation['id']}/notes"):
        tag = client.get(url).headers["ETag"]
        assert client.get(url, headers={"If-None-Match": tag}).status_code == 200, url
    nested_set = f"/api/studysets/{ss['id']}?nested=true"
    assert client.get(nested_set, headers={"If-None-Match": '"1"'}).status_code == 200
    analysis = client.get(f"/api/studies/{study}").json["analyses"][0]
    r = client.get(f"/api/analyses/{analysis}", headers={"If-None-Match": etag})
    assert r.status_code == 304
    client.patch(f"/api/studies/{study}", json={"name": "new"}, headers=alice.headers)
    r = client.get(f"/api/studies/{study}", headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.json["name"] == "new"
    # A private study is as missing for a conditional GET as for any other.
    client.patch(f"/api/studies/{study}", json={"public": False}, headers=alice.headers)
    assert client.get(f"/api/studies/{study}", headers={**bob.headers,
                                                        "If-None-Match": "*"}).status_code == 404
    cond = client.post("/api/conditions", json={"name": "rest"}, headers=alice.headers)
    r = client.get(f"/api/conditions/{cond.json['id']}", headers={"If-None-Match": '"1"'})
    assert r.status_code == 304


def test_a_nested_list_embeds_each_annotation_own_studyset_and_notes(client, alice, bob):
    mine_set, mine = _annotated(client, alice)
    client.patch(f"/api/studysets/{mine_set['id']}", json={"public": False},
                 headers=alice.headers)
    theirs_set, theirs = _annotated(client, bob)
    listed = {a["id"]: a for a in client.get(
        "/api/annotations?nested=true", headers=bob.headers).json["results"]}
    # Alice's annotation is public, but it follows the private studyset it annotates.
    assert mine["id"] not in listed
    assert listed[theirs["id"]]["studyset"]["id"] == theirs_set["id"]
    listed = {a["id"]: a for a in client.get(
        "/api/annotations?nested=true", headers=alice.headers).json["results"]}
    assert set(listed) == {mine["id"], theirs["id"]}
    for annotation, studyset in ((mine, mine_set), (theirs, theirs_set)):
        got = listed[annotation["id"]]
        assert got["studyset"]["id"] == studyset["id"]
        assert [n["study"]["id"] for n in got["notes"]] == [n["study"] for n in annotation["notes"]]
        assert all(n["study"]["id"] in studyset["studies"] for n in got["notes"])


def test_annotations_filter_by_neurostore_studyset_id(client, alice):
    first_set, first = _annotated(client, alice)
    _annotated(client, alice)
    for key in ("studyset", "studyset_id"):
        listed = client.get(f"/api/annotations/?{key}={first_set['id']}").json["results"]
        assert [a["id"] for a in listed] == [first["id"]]
