"""Schemas of ingest runs: what to ingest, and the runs as the API shows them."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from neurostore.schemas.api_responses import PageMeta
from neurostore.schemas.fields import Identifier


class _Parameters(Schema):
    class Meta:
        unknown = RAISE


class ReleaseParameters(_Parameters):
    """NeuroQuery and Neurosynth: the release files (the public release by default)."""

    coordinates = fields.String(validate=validate.Length(min=1))
    metadata = fields.String(validate=validate.Length(min=1))


class NeuroVaultParameters(_Parameters):
    """NeuroVault: server and selection (every collection of neurovault.org by default)."""

    base_url = fields.Url(schemes={"http", "https"}, require_tld=False)
    collection_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1)),
                                 allow_none=True)
    require_doi = fields.Boolean()
    group_level_only = fields.Boolean()
    max_collections = fields.Integer(strict=True, allow_none=True,
                                     validate=validate.Range(min=1))
    max_images_per_collection = fields.Integer(strict=True, allow_none=True,
                                               validate=validate.Range(min=1))


class SleuthParameters(_Parameters):
    """Sleuth: text files on the server."""

    paths = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                        validate=validate.Length(min=1))
    skip_bad = fields.Boolean(load_default=False, metadata={
        "description": "leave out each experiment with a bad line instead of refusing"})


class NimadsParameters(_Parameters):
    """NIMADS: a studyset JSON on the server, and optionally its annotation."""

    studyset = fields.String(required=True, validate=validate.Length(min=1))
    annotation = fields.String(allow_none=True, validate=validate.Length(min=1))
    into = fields.String(allow_none=True, validate=validate.Length(min=1, max=32), metadata={
        "description": "update this studyset (made by an earlier import) instead of making"
                       " a new one"})
    skip_bad = fields.Boolean(load_default=False, metadata={
        "description": "leave out what cannot be read instead of refusing the file"})
    fetch_images = fields.Boolean(load_default=False, metadata={
        "description": "fetch the maps the images reference into the file store (checked;"
                       " NIDM-Results packs unpacked), so image-based meta-analyses can run"})
    images = fields.String(allow_none=True, validate=validate.Length(min=1), metadata={
        "description": "a folder on the server or an http(s) URL that relative image paths"
                       " are resolved against (implies fetch_images); the studyset file's"
                       " own folder by default"})


def _no_blank_pmids(pmids: list[str | None]) -> None:
    if None in pmids:
        raise ValidationError("every item must be a PMID")


class PubMedParameters(_Parameters):
    """PubMed: which base studies' PMIDs to fetch texts of, and NCBI's identity."""

    base_url = fields.Url(schemes={"http", "https"}, require_tld=False, metadata={
        "description": "the E-utilities server (NCBI's by default)"})
    pmids = fields.List(Identifier("pmid"), allow_none=True,
                        validate=validate.And(validate.Length(min=1), _no_blank_pmids),
                        metadata={"description": "only these PMIDs; by default those PubMed"
                                                 " has given no text yet"})
    limit = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    refresh = fields.Boolean(metadata={
        "description": "fetch every base study's PMID again, not only the missing ones"})
    api_key = fields.String(validate=validate.Length(min=1), metadata={
        "description": "NCBI API key; the worker's NCBI_API_KEY (not stored) by default"})
    email = fields.Email(metadata={"description": "contact address; NCBI_EMAIL by default"})
    tool = fields.String(validate=validate.Length(min=1, max=100))


#: The options schema of each source.
PARAMETERS: dict[str, type[Schema]] = {
    "neuroquery": ReleaseParameters,
    "neurosynth": ReleaseParameters,
    "neurovault": NeuroVaultParameters,
    "sleuth": SleuthParameters,
    "nimads": NimadsParameters,
    "pubmed": PubMedParameters,
}


class IngestRunBody(Schema):
    """A run to start."""

    source = fields.String(required=True, validate=validate.OneOf(list(PARAMETERS)))
    parameters = fields.Dict(load_default=dict,
                             metadata={"description": "the source's options (see schemas)"})
    batch_size = fields.Integer(strict=True, load_default=1000,
                                validate=validate.Range(min=1, max=100_000))

    @validates_schema
    def check_parameters(self, data: dict[str, Any], **kwargs: Any) -> None:
        schema = PARAMETERS.get(data.get("source", ""))
        if schema is None:
            return
        try:
            data["parameters"] = schema().load(data.get("parameters") or {})
        except ValidationError as exc:
            raise ValidationError({"parameters": exc.messages}) from exc


class IngestRunOut(Schema):
    """A run: its status, counts and errors."""

    id = fields.Integer(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "queued, running, succeeded, failed or cancelled"})
    parameters = fields.Dict()
    requested_by = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    skipped = fields.Integer()
    failed = fields.Integer()
    errors = fields.List(fields.Dict())


class IngestRunPage(Schema):
    """The latest runs, newest first."""

    metadata = fields.Nested(PageMeta, required=True)
    results = fields.List(fields.Nested(IngestRunOut), required=True)


class IngestRunListArgs(Schema):
    """Filters of the run list."""

    source = fields.String(validate=validate.OneOf(list(PARAMETERS)))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
