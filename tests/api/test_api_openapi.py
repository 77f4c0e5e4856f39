"""The OpenAPI document: complete, and every response of a fuzzed request conforms to it."""

from __future__ import annotations

import itertools
import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from neurostore.schemas.api_queries import StudyListArgs
from tests.neurostore.factories import study_payload

UNDOCUMENTED = ("/api/openapi.json", "/api/docs")


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_route_and_parameter_is_documented(app, client):
    spec = client.get("/api/openapi.json").json
    assert client.get("/api/docs").status_code == 200
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api") or rule.rule in UNDOCUMENTED \
                or rule.endpoint.startswith("api-docs"):
            continue
        path = _openapi_path(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = spec["paths"].get(path, {}).get(method.lower())
            if operation is None:
                missing.append(f"{method} {path}")
                continue
            params = {p["name"] for p in operation.get("parameters", [])}
            params |= {p["name"] for p in spec["paths"][path].get("parameters", [])}
            missing += [f"{method} {path} {{{arg}}}" for arg in rule.arguments
                        if arg not in params]
    assert not missing
    listed = {p["name"] for p in spec["paths"]["/api/studies"]["get"]["parameters"]}
    assert set(StudyListArgs().fields) <= listed
    assert {"search", "x", "y", "z", "radius", "has_coordinates", "cursor"} <= listed
    put = spec["paths"]["/api/studies/{id}"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("Study")
    assert put["responses"]["default"]["$ref"].endswith("DEFAULT_ERROR")
    problem = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert problem["application/problem+json"]["schema"]["$ref"].endswith("Problem")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _real_ids(client, services, alice):
    """An existing id for each resource, so fuzzed requests reach the services."""
    study = client.post("/api/studies?nested=true", json=study_payload(2, 2),
                        headers=alice.headers).json
    analysis = study["analyses"][0]
    table = client.post("/api/tables", json={"study": study["id"], "t_id": "T1"},
                        headers=alice.headers).json["id"]
    image = client.post("/api/images", json={"analysis": analysis["id"], "value_type": "T"},
                        headers=alice.headers).json["id"]
    studyset = client.post("/api/studysets", json={"name": "s", "studies": [study["id"]]},
                           headers=alice.headers).json["id"]
    annotation = client.post("/api/annotations", json={"studyset": studyset},
                             headers=alice.headers).json["id"]
    tokens = services.users.list_tokens(alice.actor, alice.actor.id)
    return {
        "studies": study["id"], "analyses": analysis["id"], "tables": table, "images": image,
        "points": analysis["points"][0]["id"], "conditions": analysis["conditions"][0]["id"],
        "studysets": studyset, "annotations": annotation, "base-studies": study["base_study"],
        "users": alice.actor.id, "tokens": tokens[0]["id"],
    }


def _checker(operation, mode, headers, ids):
    """A hypothesis test of ``operation`` sending ``headers``."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=10, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        if case.path_parameters and "id" in case.path_parameters:
            # Revoking the caller's own token would sign the rest of the run out.
            resource = case.path.split("/")[2]
            if resource != "tokens" and resource in ids:
                case.path_parameters["id"] = ids[resource]
        case.call_and_validate(headers=headers, checks=CHECKS)

    return check


def test_fuzzed_requests_never_fail_and_conform(app, client, services, alice):
    ids = _real_ids(client, services, alice)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    # As a user with a token, and anonymously.
    for operation, mode, headers in itertools.product(operations, GenerationMode,
                                                      (alice.headers, {})):
        check = _checker(operation, mode, headers, ids)
        try:
            check()
        except Unsatisfiable:
            # Nothing to make invalid (no parameters, no body): positive cases cover it.
            if mode is not GenerationMode.NEGATIVE:
                raise
