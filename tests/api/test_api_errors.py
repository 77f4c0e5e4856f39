"""Bad input never gets a 500: every error is a problem+json with a fitting 4xx."""

from __future__ import annotations

import re

import pytest

from tests.support.factories import study_payload


def _problem(r, status):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.mimetype == "application/problem+json"
    assert {"type", "title", "status", "detail"} <= set(r.json) and r.json["status"] == status
    return r.json


@pytest.mark.parametrize("data,content_type,status", [
    (b"{not json", "application/json", 400),
    (b'{"name": NaN}', "application/json", 400),
    (b'{"year": 1' + b"0" * 30 + b"}", "application/json", 422),
    (b'{"name": "a\\u0000b"}', "application/json", 400),
    (b'{"name": "\\ud800x"}', "application/json", 400),
    (b'{"analyses": [{"name": "\\udfff"}]}', "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b"name=x", "application/x-www-form-urlencoded", 415),
    (b'{"name": "x"}', "text/plain", 415),
    (b"[1, 2]", "application/json", 422),
    (b'"a string"', "application/json", 422),
])
def test_malformed_bodies(client, alice, data, content_type, status):
    r = client.post("/api/studies", data=data, content_type=content_type, headers=alice.headers)
    _problem(r, status)


def test_a_paired_surrogate_is_a_character_not_an_error(client, alice):
    r = client.post("/api/studies", data=b'{"name": "fish \\ud83d\\udc1f"}',
                    content_type="application/json", headers=alice.headers)
    assert r.status_code == 200 and r.json["name"] == "fish \U0001f41f"


def test_a_taken_source_id_is_409_naming_the_study_that_holds_it(client, alice, bob):
    body = {**study_payload(1, 1), "source": "neurosynth", "source_id": "123"}
    first = client.post("/api/studies", json=body, headers=alice.headers).json
    r = client.post("/api/studies", json=body, headers=bob.headers)
    assert first["id"] in _problem(r, 409)["detail"]
    other = client.post("/api/studies", json={**body, "source_id": "456"},
                        headers=alice.headers).json
    r = client.patch(f"/api/studies/{other['id']}", json={"source_id": "123"},
                     headers=alice.headers)
    assert first["id"] in _problem(r, 409)["detail"]
    # Freed by a delete, the pair can be taken again.
    client.delete(f"/api/studies/{first['id']}", headers=alice.headers)
    assert client.patch(f"/api/studies/{other['id']}", json={"source_id": "123"},
                        headers=alice.headers).status_code == 200


def test_oversized_body_is_413(client, alice):
    big = b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    r = client.post("/api/studies", data=big, content_type="application/json",
                    headers=alice.headers)
    _problem(r, 413)


@pytest.mark.parametrize("query", [
    "limit=0", "limit=abc", "limit=100000", "sort=nope", "year_min=99", "x=1&y=2",
    "x=1&y=2&z=3&radius=-1", "x=nan&y=1&z=1&radius=5", "search=(pain", 'search="open',
    "search=AND", "cursor=@@@", "cursor=WzEsMl0", "pmid=abc", "space=MARS",
    "value_type=foo", "has_images=maybe", "search=a%00b",
])
def test_bad_query_parameters_are_400(client, query):
    body = _problem(client.get(f"/api/studies?{query}"), 400)
    assert body["detail"] and (body.get("errors") or "NUL" in body["detail"])


def test_unknown_ids_routes_and_methods(client, alice):
    for path in ("/api/studies/nope", "/api/analyses/nope", "/api/points/nope",
                 "/api/studysets/nope", "/api/annotations/nope", "/api/base-studies/nope",
                 "/api/users/nope", "/api/conditions/nope", "/api/tables/nope",
                 "/api/images/nope", "/api/studies/nope/revisions", "/api/nothing"):
        _problem(client.get(path, headers=alice.headers), 404)
    _problem(client.delete("/api/studies", headers=alice.headers), 405)
    _problem(client.get("/api/studies/x%00y"), 400)


def test_wrong_types_are_422_with_field_paths(client, alice):
    body = study_payload(1, 1, year="nineteen", pmid="abc")
    body["analyses"][0]["points"][0]["values"] = [{"value": "high"}]
    errors = _problem(client.post("/api/studies", json=body, headers=alice.headers), 422)
    assert {"year", "pmid"} <= set(errors["errors"])
    assert any(k.startswith("analyses.0.points.0.values") for k in errors["errors"])
    sid = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json["id"]
    r = client.patch(f"/api/studies/{sid}", json={"analyses": [{"id": []}]},
                     headers=alice.headers)
    _problem(r, 422)


@pytest.mark.parametrize("body", [
    {"public": "yes"}, {"public": 1}, {"public": "true"},
    {"analyses": [{"points": [{"coordinates": [1, 2, 3], "subpeak": "no"}]}]},
])
def test_booleans_in_bodies_are_json_booleans(client, alice, body):
    r = client.post("/api/studies", json={"name": "b", **body}, headers=alice.headers)
    assert "boolean" in str(_problem(r, 422)["errors"])


def test_flat_with_nested_and_studyset_owner_on_publications_are_400(client):
    assert "flat" in _problem(client.get("/api/studies?flat=true&nested=true"), 400)["errors"]
    body = _problem(client.get("/api/base-studies?studyset_owner=abc"), 400)
    assert "studyset_owner" in body["errors"]


def test_repeated_and_overlong_query_parameters(client):
    body = _problem(client.get("/api/studies?limit=1&limit=2"), 400)
    assert body["errors"] == {"limit": ["give this parameter once"]}
    r = client.get("/api/studies?name=" + "a" * 70000)
    assert _problem(r, 414)["title"] == "URI Too Long"


@pytest.mark.parametrize("body", [{"analyses": 1.5}, {"analyses": "x"}, {"tables": 3},
                                  {"analyses": [{"points": 2.0}]}])
def test_patch_with_lists_of_the_wrong_type_is_422(client, alice, body):
    sid = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json["id"]
    _problem(client.patch(f"/api/studies/{sid}", json=body, headers=alice.headers), 422)


@pytest.mark.parametrize("url,body,field", [
    ("/api/studysets", {"name": "   "}, "name"),
    ("/api/studies", {"name": ""}, "name"),
    ("/api/studies", {"source": " ", "source_id": "x"}, "source"),
    ("/api/studies", {"source": "s", "source_id": "\t"}, "source_id"),
    ("/api/base-studies", {"name": " "}, "name"),
])
def test_blank_text_is_422_and_documented_as_refused(client, alice, url, body, field):
    assert field in _problem(client.post(url, json=body, headers=alice.headers), 422)["errors"]
    spec = client.get("/api/openapi.json").json["components"]["schemas"]
    documented = spec["Study"]["properties"][field]["pattern"]
    assert re.search(documented, "x") and not re.search(documented, " \t")
