"""What the OpenAPI document promises, held to by the server: each case here was found by
fuzzing with every schemathesis check and is kept as a plain regression test."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest

from tests.support.factories import study_payload


def _patterns(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_the_document_is_openapi_3_1_and_every_pattern_compiles_everywhere(client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    patterns = set(_patterns(spec))
    assert len(patterns) > 5
    for pattern in patterns:
        # Python's engine (the server's), and a Rust one (no lone surrogates in patterns).
        re.compile(pattern)
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
    # Free-form objects say what their keys may hold (OpenAPI 3.1's propertyNames).
    metadata = spec["components"]["schemas"]["Study"]["properties"]["metadata"]
    assert metadata["propertyNames"]["pattern"] and "JSONValue" in str(metadata)


def _problem(r, status):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    return r.json


def test_a_nested_clone_answers_what_a_nested_get_does(client, alice):
    study = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json
    client.post("/api/tables", json={"study": study["id"], "t_id": "T1"}, headers=alice.headers)
    clone = client.post(f"/api/studies?source_id={study['id']}&nested=true",
                        headers=alice.headers).json
    got = client.get(f"/api/studies/{clone['id']}?nested=true").json
    assert clone == got
    assert all(isinstance(t, str) for t in clone["tables"]) and clone["tables"]


def test_numbers_are_json_numbers(client, alice):
    sid = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json["id"]
    aid = client.get(f"/api/studies/{sid}").json["analyses"][0]
    point = {"analysis": aid, "coordinates": [1, 2, 3]}
    # Strings are not numbers (marshmallow would read "5" as 5).
    errors = _problem(client.post("/api/points", json={**point, "cluster_size": "5"},
                                  headers=alice.headers), 422)["errors"]
    assert "cluster_size" in str(errors)
    assert "year" in _problem(client.patch(f"/api/studies/{sid}", json={"year": "2020"},
                                           headers=alice.headers), 422)["errors"]
    # 2020.0 is an integer to JSON Schema, so to the API.
    r = client.patch(f"/api/studies/{sid}", json={"year": 2020.0, "pmid": 123.0},
                     headers=alice.headers)
    assert r.status_code == 200 and (r.json["year"], r.json["pmid"]) == (2020, "123")
    assert "pmid" in _problem(client.get("/api/studies?pmid=123.0"), 400)["errors"]


def test_coordinates_are_bounded_and_big_numbers_elsewhere_are_kept(client, alice):
    sid = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json["id"]
    aid = client.get(f"/api/studies/{sid}").json["analyses"][0]
    # Found as a 500: the radius-search index overflowed on x = 1e300.
    r = client.post("/api/points", json={"analysis": aid, "coordinates": [1e300, 0, 0]},
                    headers=alice.headers)
    assert "x must be within" in str(_problem(r, 422)["errors"])
    r = client.post("/api/points", json={"analysis": aid, "x": 0, "y": -20000, "z": 0},
                    headers=alice.headers)
    _problem(r, 422)
    big = 2**70
    r = client.patch(f"/api/studies/{sid}", json={"metadata": {"n": big, "f": 1e300}},
                     headers=alice.headers)
    assert r.status_code == 200 and r.json["metadata"] == {"n": big, "f": 1e300}
    assert client.get(f"/api/studies/{sid}").json["metadata"]["n"] == big
    r = client.patch(f"/api/studies/{sid}", data=b'{"metadata": {"f": 1e999}}',
                     content_type="application/json", headers=alice.headers)
    assert "out of range" in str(_problem(r, 400)["errors"])


@pytest.mark.parametrize("given,stored", [
    ("mni152NLin2009cAsym", "MNI152NLin2009cAsym"), (" talairach ", "TAL"),
    ("MNI", "MNI"), ("unknown", "UNKNOWN"),
])
def test_image_spaces_are_stored_as_the_database_allows(client, alice, given, stored):
    # Found as a 500: a lower-case prefix passed validation and broke the CHECK constraint.
    study = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json
    r = client.post("/api/images", json={"analysis": study["analyses"][0], "space": given},
                    headers=alice.headers)
    assert r.status_code == 200 and r.json["space"] == stored


@pytest.mark.parametrize("space", ["MNI 152", "MNI152/2mm", "mnı", "Tal\u00e9"])
def test_other_image_spaces_are_422(client, alice, space):
    study = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json
    r = client.post("/api/images", json={"analysis": study["analyses"][0], "space": space},
                    headers=alice.headers)
    assert "space" in str(_problem(r, 422)["errors"])


@pytest.mark.parametrize("given,code", [
    ("univariate-beta map", "U"), ("Multivariate-Beta Map", "M"), ("t map", "T"),
])
def test_neurovault_map_types_get_nimads_codes(client, alice, given, code):
    study = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json
    r = client.post("/api/images", json={"analysis": study["analyses"][0],
                                         "value_type": given}, headers=alice.headers)
    assert r.status_code == 200 and r.json["value_type"] == code


def test_a_json_null_body_is_not_an_empty_one(client, alice):
    r = client.post("/api/tokens", data=b"null", content_type="application/json",
                    headers=alice.headers)
    _problem(r, 422)
    assert client.post("/api/tokens", headers=alice.headers).status_code == 201
    # No body creates an empty study (a body may be left out, as for a clone).
    r = client.post("/api/studies", headers=alice.headers)
    assert r.status_code == 200 and r.json["name"] is None


def test_annotation_columns_taken_out_take_their_values(client, alice):
    study = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json
    ssid = client.post("/api/studysets", json={"studies": [study["id"]]},
                       headers=alice.headers).json["id"]
    ann = client.post("/api/annotations", json={
        "studyset": ssid, "note_keys": {"keep": "boolean", "drop": "string"},
        "notes": [{"analysis": study["analyses"][0], "note": {"keep": True, "drop": "x"}}],
    }, headers=alice.headers).json
    r = client.patch(f"/api/annotations/{ann['id']}",
                     json={"note_keys": {"keep": "boolean", "new": {"type": "integer",
                                                                     "default": 3}}},
                     headers=alice.headers)
    assert r.status_code == 200, r.json
    assert [n["note"] for n in r.json["notes"]] == [{"keep": True, "new": 3}]
    # A replacement may leave out the studyset, which cannot change anyway.
    r = client.put(f"/api/annotations/{ann['id']}?replace=true", json={"name": "n"},
                   headers=alice.headers)
    assert r.status_code == 200 and r.json["studyset"] == ssid and r.json["note_keys"] == {}


def test_blank_condition_names_are_refused_everywhere(client, alice):
    assert "name" in _problem(client.post("/api/conditions", json={"name": " "},
                                          headers=alice.headers), 422)["errors"]
    body = study_payload(1, 1)
    body["analyses"][0]["conditions"] = [{"name": ""}]
    _problem(client.post("/api/studies", json=body, headers=alice.headers), 422)


def test_run_parameters_take_json_integers(client, alice):
    study = client.post("/api/studies", json=study_payload(2, 5), headers=alice.headers).json
    ssid = client.post("/api/studysets", json={"studies": [study["id"]]},
                       headers=alice.headers).json["id"]
    snapshot = client.post("/api/snapshots", json={"studyset": ssid},
                           headers=alice.headers).json["id"]
    r = client.post("/api/meta-analyses", json={
        "snapshot": snapshot, "estimator": "MKDADensity", "parameters": {"seed": 7.0},
        "correction": {"method": "montecarlo", "n_iters": 10.0}}, headers=alice.headers)
    assert r.status_code == 202, r.json
    assert r.json["spec"]["parameters"]["seed"] == 7
    spec = client.get("/api/openapi.json").json
    body = spec["paths"]["/api/meta-analyses"]["post"]["requestBody"]["content"]
    ref = body["application/json"]["schema"]["$ref"]
    variants = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["oneOf"]
    assert {v["properties"]["estimator"]["enum"][0] for v in variants} >= {"ALE", "KDA"}
