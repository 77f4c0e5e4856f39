"""Stored study documents are reused while a study is unchanged and never served stale;
points carry their study; a search's count and page come from one pass."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from neurostore.app import create_app
from neurostore.config import Settings
from neurostore.services.reads import documents as study_documents
from neurostore.services.reads.documents import DocumentCache, TreeText
from tests.support.factories import study_payload


@pytest.fixture
def uncached(services):
    """A client of an app without the per-process document cache (reads hit the store)."""
    return create_app(Settings(read_cache_mb=0), services=services).test_client()


def _stored(session_factory) -> dict[str, str]:
    with session_factory() as s:
        return dict(s.execute(text("SELECT study_id, body FROM study_documents")).all())


def _mark(session_factory, study_id: str, name: str) -> None:
    """Change the stored document only (not the study), to tell where a read came from."""
    with session_factory() as s:
        s.execute(text("UPDATE study_documents SET body = jsonb_set(body::jsonb, '{name}',"
                       " to_jsonb(CAST(:name AS text)))::text WHERE study_id = :id"),
                  {"id": study_id, "name": name})
        s.commit()


def test_bulk_writes_and_reads_store_documents_and_an_edit_replaces_them(
        uncached, services, alice, session_factory):
    client = uncached
    bulk = services.studies.create_many(alice.actor, [
        study_payload(1, 2, seed=n) for n in range(study_documents.BULK_WRITE)])
    assert sorted(_stored(session_factory)) == sorted(r.id for r in bulk)
    built = client.get(f"/api/studies/{bulk[0].id}?nested=true").json
    with session_factory() as s:
        s.execute(text("DELETE FROM study_documents"))
        s.commit()
    assert client.get(f"/api/studies/{bulk[0].id}?nested=true").json == built

    study = client.post("/api/studies", json=study_payload(2, 3), headers=alice.headers).json
    url = f"/api/studies/{study['id']}?nested=true"
    assert study["id"] not in _stored(session_factory)
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"] == '"1"'
    assert study["id"] in _stored(session_factory)
    _mark(session_factory, study["id"], "from the store")
    assert client.get(url).json["name"] == "from the store"
    flat = client.get(f"/api/studies/{study['id']}").json
    assert flat["name"] == "from the store" and flat["analyses"] == study["analyses"]

    r = client.patch(f"/api/studies/{study['id']}", json={"name": "edited"},
                     headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 200
    again = client.get(url)
    assert again.headers["ETag"] == '"2"'
    expected = {**first.json, "name": "edited", "version": 2,
                "updated_at": again.json["updated_at"]}
    assert again.json == expected
    assert client.get(url, headers={"If-None-Match": '"2"'}).status_code == 304


@pytest.mark.parametrize("cache", [True, False], ids=["cached", "uncached"])
def test_a_change_without_a_new_version_still_rebuilds(
        client, uncached, cache, alice, curator, session_factory):
    client = client if cache else uncached
    keep = client.post("/api/studies", json=study_payload(1, 1, doi="10.1000/keep"),
                       headers=alice.headers).json
    dup = client.post("/api/studies", json=study_payload(1, 1, seed=1, doi="10.1000/dup"),
                      headers=alice.headers).json
    url = f"/api/studies/{dup['id']}?nested=true"
    assert client.get(url).json["base_study"] == dup["base_study"]
    _mark(session_factory, dup["id"], "stale")
    r = client.post(f"/api/base-studies/{keep['base_study']}/merge",
                    json={"duplicate": dup["base_study"]}, headers=curator.headers)
    assert r.status_code == 200, r.json
    now = client.get(url).json
    assert now["base_study"] == keep["base_study"] and now["name"] != "stale"


def test_nested_studyset_and_list_show_the_same_documents(client, alice, bob):
    ids = [client.post("/api/studies", json=study_payload(2, 2, seed=i),
                       headers=alice.headers).json["id"] for i in range(3)]
    client.patch(f"/api/studies/{ids[1]}", json={"public": False}, headers=alice.headers)
    ss = client.post("/api/studysets", json={"name": "s", "studies": ids},
                     headers=alice.headers).json
    singles = [client.get(f"/api/studies/{i}?nested=true", headers=alice.headers).json
               for i in ids]
    mine = client.get(f"/api/studysets/{ss['id']}?nested=true", headers=alice.headers).json
    assert mine["studies"] == singles
    theirs = client.get(f"/api/studysets/{ss['id']}?nested=true", headers=bob.headers).json
    assert theirs["studies"] == [singles[0], singles[2]]
    listed = client.get("/api/studies?nested=true&limit=10", headers=alice.headers).json
    assert sorted(listed["results"], key=lambda s: s["id"]) == \
        sorted(singles, key=lambda s: s["id"])
    client.delete(f"/api/studies/{ids[2]}", headers=alice.headers)
    after = client.get(f"/api/studysets/{ss['id']}?nested=true", headers=alice.headers).json
    # A deleted study is left out of nested reads (never a bare {"id": ...} stub).
    assert after["studies"] == singles[:2]
    assert client.get(f"/api/studies/{ids[2]}?nested=true").status_code == 404


def test_points_carry_the_study_of_their_analysis(client, alice, session_factory):
    study = client.post("/api/studies", json=study_payload(3, 4), headers=alice.headers).json
    clone = client.post(f"/api/studies?source_id={study['id']}", headers=alice.headers).json
    body = client.get(f"/api/studies/{study['id']}?nested=true").json
    body["analyses"] = body["analyses"][1:] + [study_payload(1, 2, seed=5)["analyses"][0]]
    r = client.put(f"/api/studies/{study['id']}", json=body, headers=alice.headers)
    assert r.status_code == 200, r.json
    with session_factory() as s:
        rows = s.execute(text(
            "SELECT p.study_id, a.study_id FROM points p JOIN analyses a ON a.id = p.analysis_id"
        )).all()
    assert len(rows) == 2 * 4 + 2 + 3 * 4
    assert all(mine == theirs for mine, theirs in rows)
    assert {mine for mine, _ in rows} == {study["id"], clone["id"]}


def test_a_search_page_past_the_last_match_is_empty_with_the_count(client, services, alice):
    services.studies.create_many(alice.actor, [
        study_payload(0, 0, name=f"{word} insula") for word in ("alpha", "beta", "gamma")
    ])
    order = {"sort": "created_at", "desc": "false"}
    everything = client.get("/api/studies", query_string={**order, "limit": 3}).json["results"]
    first_two = client.get("/api/studies", query_string={**order, "limit": 2}).json
    after_second = first_two["metadata"]["next"]
    page = client.get("/api/studies", query_string={
        **order, "search": everything[0]["name"].split()[0], "cursor": after_second}).json
    assert page["results"] == [] and page["metadata"] == {"total_count": 1, "next": None,
                                                          "total_count_exact": True}
    page = client.get("/api/studies", query_string={
        **order, "search": "insula", "cursor": after_second}).json
    assert [s["id"] for s in page["results"]] == [everything[2]["id"]]
    assert page["metadata"] == {"total_count": 3, "next": None, "total_count_exact": True}


def test_the_process_cache_serves_documents_until_the_study_changes(
        client, alice, session_factory):
    study = client.post("/api/studies", json=study_payload(1, 2), headers=alice.headers).json
    url = f"/api/studies/{study['id']}?nested=true"
    first = client.get(url).json
    _mark(session_factory, study["id"], "only in the database")
    assert client.get(url).json == first
    client.patch(f"/api/studies/{study['id']}", json={"name": "edited"}, headers=alice.headers)
    assert client.get(url).json["name"] == "edited"


def test_document_cache_drops_the_least_recently_used_beyond_its_size():
    def doc(id_: str) -> TreeText:
        return TreeText(id_, 1, None, True, None, "{" + "x" * 1000 + "}")

    cache = DocumentCache(max_bytes=2 * (1002 + 200))
    cache.put(7, doc("a"))
    cache.put(7, doc("b"))
    assert cache.get("a", 7) is not None
    cache.put(8, doc("c"))
    assert cache.get("b", 7) is None
    assert cache.get("a", 7) is not None and cache.get("c", 8) is not None
    assert cache.get("a", 9) is None
    DocumentCache(max_bytes=10).put(1, doc("too big"))


def test_an_edit_writes_only_what_changed(client, alice,
                                                                  session_factory):
    study = client.post("/api/studies", json=study_payload(2, 3), headers=alice.headers).json

    def peak_rows():
        with session_factory() as s:
            return s.execute(text("SELECT analysis_id, id, xmin::text FROM points"
                                  " WHERE study_id = :id ORDER BY id"), {"id": study["id"]}).all()

    rows = peak_rows()
    r = client.patch(f"/api/studies/{study['id']}", json={"name": "renamed", "public": False},
                     headers=alice.headers)
    assert r.status_code == 200 and r.json["name"] == "renamed" and r.json["version"] == 2
    assert peak_rows() == rows
    nested = client.get(f"/api/studies/{study['id']}?nested=true", headers=alice.headers).json
    nested["analyses"][0]["points"][0]["coordinates"] = [1.0, 2.0, 3.0]
    r = client.put(f"/api/studies/{study['id']}", json=nested, headers=alice.headers)
    assert r.status_code == 200
    after = peak_rows()
    assert [r[1] for r in after] == [r[1] for r in rows]
    edited = nested["analyses"][0]["id"]
    # Only the edited analysis' peaks were written again.
    assert [r for r in after if r[0] != edited] == [r for r in rows if r[0] != edited]
    assert all(r not in rows for r in after if r[0] == edited)
    got = client.get(f"/api/studies/{study['id']}?nested=true", headers=alice.headers).json
    assert got["analyses"][0]["points"][0]["coordinates"] == [1, 2, 3]
    assert got["name"] == "renamed" and got["public"] is False
