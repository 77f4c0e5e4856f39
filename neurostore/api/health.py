"""``/api/health``: the probe of load balancers and container health checks.

It answers 200 only when this API process can reach its database, so a balancer stops
sending requests to a replica that cannot serve them; it reads no data and needs no token.
"""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from neurostore.api import errors, http
from neurostore.api.context import reads
from neurostore.schemas.api_responses import ProblemSchema
from neurostore.schemas.health import HealthOut

blp = Blueprint("health", __name__, url_prefix="/api/health",
                description="Liveness and readiness of this API process")


@blp.route("", methods=["GET"])
@blp.response(200, HealthOut)
@blp.alt_response(503, schema=ProblemSchema, content_type=errors.PROBLEM_TYPE,
                  description="The database does not answer")
def health() -> Response:
    """Whether this process answers and its database does (200), or not (503)."""
    if not reads().database_answers():
        return errors.problem(503, "Service Unavailable", "the database does not answer",
                              headers={"Retry-After": "5"})
    return http.respond({"status": "ok", "database": "ok"})
