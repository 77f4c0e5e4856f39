"""Meta-analysis runs: list filters, a run as the API returns it, the estimator catalogue."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from neurostore.vocabulary import RunStatus, values


class RunListArgs(Schema):
    """Filters of the run list."""

    snapshot = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf(values(RunStatus)))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class RunOut(Schema):
    """A run: its spec, status and progress, then its results and provenance."""

    id = fields.String(required=True)
    snapshot = fields.String(required=True)
    user = fields.String(allow_none=True)
    estimator = fields.String(required=True)
    spec = fields.Dict()
    status = fields.String(validate=validate.OneOf(values(RunStatus)))
    progress = fields.Dict(metadata={"description": "stage, and Monte Carlo iterations done"})
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    results = fields.Dict(allow_none=True, metadata={
        "description": "maps and pictures (name -> file), the cluster table (clusters, "
                       "clusters_file) with the maps and thresholds it was taken from, one "
                       "part per contrast (cluster_tables; the first as cluster_map, "
                       "cluster_threshold, cluster_peak_map, cluster_criterion) and its "
                       "min_cluster_size, picture_thresholds, methods (methods_file) and "
                       "citations; files download from /api/meta-analyses/{run_id}/files/{name}"})
    provenance = fields.Dict(allow_none=True)
    created_at = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)


class RunPage(Schema):
    """Runs, newest first."""

    results = fields.List(fields.Nested(RunOut), required=True)


class EstimatorList(Schema):
    """The estimators that can be requested, with their parameters and corrections, and the
    report options every run takes."""

    estimators = fields.List(fields.Dict(), required=True)
    corrections = fields.Dict(required=True)
    report = fields.List(fields.Dict(), required=True, metadata={
        "description": "options of how results are reported (the spec's `report`), e.g. "
                       "min_cluster_size"})
