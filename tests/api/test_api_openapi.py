"""The OpenAPI document: complete, and every response of a fuzzed request conforms to it."""

from __future__ import annotations

import itertools
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.generation import GenerationMode

from analysis.runspec import ESTIMATORS
from neurostore.schemas.api_queries import StudyListArgs
from tests.support.factories import study_payload
from tests.support.terms import build_subset

UNDOCUMENTED = ("/api/openapi.json", "/api/docs")
load_all_checks()
#: Every check schemathesis has.
CHECKS = REGISTRY.get_all()


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
    snapshot = client.post("/api/snapshots", json={"studyset": studyset},
                           headers=alice.headers).json["id"]
    tokens = services.users.list_tokens(alice.actor, alice.actor.id)
    return {
        "studies": study["id"], "analyses": analysis["id"], "tables": table, "images": image,
        "points": analysis["points"][0]["id"], "conditions": analysis["conditions"][0]["id"],
        "studysets": studyset, "annotations": annotation, "base-studies": study["base_study"],
        "users": alice.actor.id, "tokens": tokens[0]["id"], "snapshots": snapshot,
    }


#: Body members that name another resource, and which.
REFERENCES = {"study": "studies", "analysis": "analyses", "studyset": "studysets",
              "snapshot": "snapshots", "annotation": "annotations",
              "base_study": "base-studies"}
#: An analysis's table, by id: one of its study's tables at the time, which earlier cases
#: replace; left out (a table reference is tested in tests/api/test_api_parts.py).
TABLE_REFERENCES = ("table", "table_id")
#: Lists of a study's parts: an item's id must name a current part of that study, so a
#: made-up one is left out (the item is then a new part).
NESTED_PARTS = ("analyses", "tables", "points", "images")
#: Search parameters that only go together.
RADIUS_SEARCH = ("x", "y", "z", "radius")


def _one_note(notes, ids):
    """One note, of the studyset's analysis, with no keys the columns do not declare."""
    return [{**_references(n, ids), "note": {}} for n in notes
            if isinstance(n, dict)][:1]


def _references(value, ids):
    """``value`` with every id it names replaced by an existing one."""
    if isinstance(value, list):
        return [_references(v, ids) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in TABLE_REFERENCES and isinstance(item, str):
            item = None
        elif key in REFERENCES and isinstance(item, str):
            item = ids[REFERENCES[key]]
        elif key == "conditions" and isinstance(item, list):
            item = [ids["conditions"] if isinstance(c, str)
                    else {**c, "id": ids["conditions"]} if isinstance(c, dict) and "id" in c
                    else _references(c, ids) for c in item]
        elif key == "studies" and isinstance(item, list):
            # One existing study to name, and a studyset lists a study once.
            item = [ids["studies"] if isinstance(s, str)
                    else {**_references(s, ids), "id": ids["studies"]}
                    if isinstance(s, dict) and "id" in s
                    else _references(s, ids) for s in item][:1]
        elif key == "notes" and isinstance(item, list):
            item = _one_note(item, ids)
        elif key in NESTED_PARTS and isinstance(item, list):
            item = [_references({k: v for k, v in part.items() if k != "id"}, ids)
                    if isinstance(part, dict) else _references(part, ids) for part in item]
        elif key == "weights":
            # One weight per condition: left out, each condition weighs 1.
            item = None
        elif key in ("metadata", "note"):
            pass
        else:
            item = _references(item, ids)
        out[key] = item
    return out


def as_valid(case, ids, now):
    """Make a schema-valid case also satisfy what an OpenAPI document cannot say.

    Each rule is a fact about the store or a dependency between members: a cursor is
    issued by the server (a made-up one is refused); ``page`` excludes ``cursor`` and
    ``paginate=false`` both; ids in bodies must name existing resources, of the resource
    written (an annotation keeps its studyset, a note's analysis is in the studyset, a
    nested part's id is one of the study's parts); a
    note holds only the keys its annotation declares; an annotation is created for a
    studyset; x, y, z and radius search together; an image estimator needs a snapshot of
    images (here: of coordinates); a snapshot's inclusion column must be one the
    annotation has. ``now()`` is an analysis the annotation has a note of now (earlier
    cases change the store).
    """
    resource = case.path.split("/")[2]
    query = case.query if isinstance(case.query, dict) else {}
    query.pop("cursor", None)
    if str(query.get("paginate")).lower() == "false":
        query.pop("page", None)
    if not all(k in query for k in RADIUS_SEARCH):
        for key in RADIUS_SEARCH:
            query.pop(key, None)
    if case.method == "POST" and "source_id" in query and resource in ids:
        query["source_id"] = ids[resource]
    if case.method == "POST" and resource == "annotations" and "source_id" not in query \
            and not isinstance(case.body, dict):
        case.body = {}
    if isinstance(case.body, dict | list):
        noted = now() if resource in ("annotations", "annotation-analyses") else None
        live = {**ids, "analyses": noted or ids["analyses"]}
        case.body = (_one_note(case.body, live)
                     if case.path.endswith("/notes") and isinstance(case.body, list)
                     else _references(case.body, live))
    if resource == "annotations" and case.method == "POST" and isinstance(case.body, dict):
        case.body["studyset"] = ids["studysets"]
    if resource == "annotation-analyses":
        body = case.body if isinstance(case.body, list) else []
        case.body = [{**n, "id": f"{ids['annotations']}_{now()}", "note": {}}
                     for n in body[:1] if isinstance(n, dict)]
    if resource == "snapshots" and isinstance(case.body, dict):
        case.body.pop("include", None)
    if resource in ("terms", "decode", "feature-sets", "neuroquery"):
        query.pop("feature_set", None)
    if resource == "terms" and case.path_parameters:
        case.path_parameters["term"] = "activations"
        if "file" in case.path_parameters:
            case.path_parameters["file"] = "z_desc-association.nii.gz"
    if resource == "feature-sets" and case.path_parameters:
        case.path_parameters["ref"] = ids["feature-sets"]
    if resource == "decode":
        # Coordinates of a study of the subset; uploads are tested in tests/terms.
        case.body = {"coordinates": [38, -48, 49], "radius": 10}
        case.media_type = "application/json"
    if resource == "meta-analyses" and isinstance(case.body, dict):
        estimator = ESTIMATORS.get(case.body.get("estimator"))
        # Image estimators need maps and two-group ones an annotation column or a second
        # snapshot; the fuzzed snapshot has neither.
        assume(estimator is None
               or (estimator.kind == "coordinates" and not estimator.pairwise))


def _checker(operation, mode, headers, ids, now):
    """A hypothesis test of ``operation`` sending ``headers``, with every check."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=10, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        if case.path_parameters and "id" in case.path_parameters:
            # Revoking the caller's own token would sign the rest of the run out.
            resource = case.path.split("/")[2]
            if resource != "tokens" and resource in ids:
                case.path_parameters["id"] = ids[resource]
        if mode is GenerationMode.POSITIVE:
            as_valid(case, ids, now)
        case.call_and_validate(headers=headers, checks=CHECKS)

    return check


@pytest.mark.slow
def test_fuzzed_requests_never_fail_and_conform(app, client, services, alice, tmp_path):
    ids = _real_ids(client, services, alice)
    # Term maps of the Neurosynth subset, so the term endpoints have something to serve.
    ids["feature-sets"] = build_subset(services, tmp_path / "var")["feature_set"]
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    failures = {}

    def now():
        # Put back what earlier cases may have deleted, moved or emptied.
        for resource in ("studies", "studysets", "annotations"):
            client.post(f"/api/{resource}/{ids[resource]}/restore", headers=alice.headers)
        client.patch(f"/api/studysets/{ids['studysets']}", json={"studies": [ids["studies"]]},
                     headers=alice.headers)
        notes = client.get(f"/api/annotations/{ids['annotations']}/notes",
                           headers=alice.headers).json
        if isinstance(notes, list) and not notes:
            client.post("/api/analyses", json={"study": ids["studies"]}, headers=alice.headers)
            notes = client.get(f"/api/annotations/{ids['annotations']}/notes",
                               headers=alice.headers).json
        return notes[0]["analysis"] if isinstance(notes, list) and notes else None

    # As a user with a token, and anonymously.
    for operation, mode, headers in itertools.product(operations, GenerationMode,
                                                      (alice.headers, {})):
        check = _checker(operation, mode, headers, ids, now)
        try:
            check()
        except Unsatisfiable:
            # Nothing to make invalid (no parameters, no body): positive cases cover it.
            if mode is not GenerationMode.NEGATIVE:
                raise
        except (AssertionError, BaseExceptionGroup) as exc:
            who = "with a token" if headers else "anonymously"
            failures[f"{operation.method.upper()} {operation.path} {mode.name} {who}"] = exc
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
