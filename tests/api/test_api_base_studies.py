"""Publications over HTTP: create with normalised unique identifiers, delete, restore,
history."""

from __future__ import annotations

from tests.support.factories import study_payload

PAPER = {"name": "A paper", "doi": "https://doi.org/10.1000/ABC.1", "pmid": "123",
         "pmcid": "PMC77", "year": 2019}


def test_create_normalises_identifiers_and_refuses_taken_ones(client, alice, bob):
    assert client.post("/api/base-studies", json=PAPER).status_code == 401
    r = client.post("/api/base-studies", json=PAPER, headers=alice.headers)
    assert r.status_code == 200, r.json
    assert r.json["doi"] == "10.1000/ABC.1" and r.json["versions"] == []
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"].endswith(f"/api/base-studies/{r.json['id']}")
    clash = client.post("/api/base-studies", json={"name": "Other", "doi": "10.1000/abc.1"},
                        headers=bob.headers)
    # DOIs are unique whatever their case.
    assert clash.status_code == 409 and "doi" in clash.json["errors"]
    found = client.get("/api/base-studies?doi=10.1000/Abc.1").json["results"]
    assert [b["id"] for b in found] == [r.json["id"]]
    bad = client.post("/api/base-studies", json={"pmid": "PMID x", "year": "soon"},
                      headers=bob.headers)
    assert bad.status_code == 422 and {"pmid", "year"} <= set(bad.json["errors"])
    assert client.post("/api/base-studies", json=[1], headers=bob.headers).status_code == 422


def test_delete_is_a_restorable_tombstone_for_curators(client, alice, curator):
    base = client.post("/api/base-studies", json=PAPER, headers=alice.headers).json["id"]
    assert client.delete(f"/api/base-studies/{base}", headers=alice.headers).status_code == 403
    assert client.delete(f"/api/base-studies/{base}").status_code == 401
    stale = client.delete(f"/api/base-studies/{base}",
                          headers={**curator.headers, "If-Match": '"7"'})
    assert stale.status_code == 412 and stale.json["current_version"] == 1
    r = client.delete(f"/api/base-studies/{base}", headers=curator.headers)
    assert r.status_code == 200 and r.json == {"id": base, "version": 2, "deleted": True}
    assert client.get(f"/api/base-studies/{base}").status_code == 404
    assert client.delete(f"/api/base-studies/{base}",
                         headers=curator.headers).status_code == 409
    # Its identifiers are free while it is deleted; restoring it then clashes.
    other = client.post("/api/base-studies", json={"pmid": "123"}, headers=alice.headers)
    assert other.status_code == 200
    r = client.post(f"/api/base-studies/{base}/restore", headers=curator.headers)
    assert r.status_code == 409 and "pmid" in r.json["errors"]
    client.patch(f"/api/base-studies/{other.json['id']}", json={"pmid": None},
                 headers=curator.headers)
    r = client.post(f"/api/base-studies/{base}/restore?message=undo", headers=curator.headers)
    assert r.status_code == 200 and r.json["version"] == 3 and r.json["pmid"] == "123"
    revisions = client.get(f"/api/base-studies/{base}/revisions").json
    assert [(v["version"], v["action"]) for v in revisions] == [
        (1, "create"), (2, "delete"), (3, "restore")]
    assert revisions[0]["user"] == alice.actor.id and revisions[2]["message"] == "undo"
    assert client.get(f"/api/base-studies/{base}/revisions/2").json["state"]["pmid"] == "123"
    assert client.get(f"/api/base-studies/{base}/revisions/9").status_code == 404
    assert client.get("/api/base-studies/nope/revisions").status_code == 404


def test_a_publication_with_study_versions_is_merged_not_deleted(client, alice, curator):
    study = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json
    r = client.delete(f"/api/base-studies/{study['base_study']}", headers=curator.headers)
    assert r.status_code == 409 and "merge" in r.json["detail"]
