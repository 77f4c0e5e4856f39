"""What a run may ask for, described for clients: the estimator catalogue the API and CLI
list, and the JSON Schema of each estimator's spec (the API's OpenAPI document)."""

from __future__ import annotations

from typing import Any

from analysis import rungroups
from analysis.runparams import Param
from analysis.runspec import CORRECTIONS, ESTIMATORS, REPORT, corrections_for


def catalogue() -> dict[str, Any]:
    """Every estimator and correction that can be requested, as the API and CLI list them.

    Returns
    -------
    dict
        ``{"estimators": [EstimatorSpec.as_json(), ...], "corrections": {method:
        [Param.as_json(), ...]}, "report": [Param.as_json(), ...]}``.
    """
    return {"estimators": [e.as_json() for e in ESTIMATORS.values()],
            "corrections": {name: [p.as_json() for p in params]
                            for name, params in CORRECTIONS.items()},
            "report": [p.as_json() for p in REPORT]}


def _params_schema(params: tuple[Param, ...], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "properties": {**extra, **{p.name: p.json_schema() for p in params}}}


def spec_schemas() -> list[dict[str, Any]]:
    """One JSON Schema per estimator of the specs :func:`validate` accepts (what the
    snapshot must hold aside); other keys of a spec are the caller's."""
    return [
        {"type": "object", "required": ["estimator", *(["groups"] if e.pairwise else [])],
         "properties": {
            "estimator": {"type": "string", "enum": [e.name]},
            **({"groups": rungroups.json_schema()} if e.pairwise else {}),
            "parameters": {"anyOf": [_params_schema(e.params), {"type": "null"}]},
            "correction": {"oneOf": [{"type": "null"}, *(
                _params_schema(CORRECTIONS[method], method={
                    "type": "string", "enum": [method],
                    **({"default": "none"} if method == "none" else {})})
                | ({} if method == "none" else {"required": ["method"]})
                for method in corrections_for(e))]},
            "report": {"anyOf": [_params_schema(REPORT), {"type": "null"}]},
        }}
        for e in ESTIMATORS.values()
    ]
