"""Publishing to NeuroVault: what a publication request holds, what its state shows."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from neurostore.schemas.patterns import NOT_BLANK
from neurostore.schemas.terms import FeatureSetArg
from neurostore.vocabulary import RunStatus, values

#: A NeuroVault API token: letters and digits (its tokens are 40 hex digits).
TOKEN_PATTERN = "^[A-Za-z0-9_-]{8,200}$"
#: A Cognitive Atlas task id, as NeuroVault's ``cognitive_paradigm_cogatlas`` takes it.
COGATLAS_TASK = "^(trm|tsk)_[0-9a-f]{6,32}$"


class PublishOptions(Schema):
    """How a result is published (for an upload and for a bundle alike)."""

    name = fields.String(validate=[validate.Length(min=1, max=200),
                                   validate.Regexp(NOT_BLANK, error="must not be blank")],
                         metadata={"description": "The collection's name (unique on "
                                   "NeuroVault); by default one naming the run."})
    private = fields.Boolean(load_default=False,
                             metadata={"description": "A private collection (a secret link)."})
    cognitive_paradigm_cogatlas = fields.String(
        validate=validate.Regexp(COGATLAS_TASK, error="must be a Cognitive Atlas task id "
                                 "such as trm_4f24126c22011"),
        metadata={"description": "The task, as a Cognitive Atlas id, when known."})


class TermPublishOptions(PublishOptions, FeatureSetArg):
    """A term map bundle's options, with the term API's feature set selector."""


class PublishRequest(PublishOptions):
    """A request to upload a run's maps to NeuroVault with the user's API token."""

    token = fields.String(required=True, load_only=True,
                          validate=validate.Regexp(TOKEN_PATTERN, error="must be a NeuroVault "
                                                   "API token (8 to 200 letters or digits)"),
                          metadata={"description": "Your NeuroVault API token; kept only until"
                                    " a worker starts the upload, never shown."})


class PublicationOut(Schema):
    """A publication: its upload job's state and, once made, the NeuroVault collection."""

    id = fields.String(required=True)
    kind = fields.String(required=True)
    source = fields.String(required=True, metadata={
        "description": "the run's id; a term map's <build id>/<user id>/<term>"})
    status = fields.String(validate=validate.OneOf(values(RunStatus)))
    progress = fields.Dict(metadata={"description": "stage, images done and to do"})
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    options = fields.Dict()
    server = fields.String(allow_none=True)
    collection_id = fields.Integer(allow_none=True)
    collection_url = fields.String(allow_none=True)
    images = fields.Dict(metadata={"description": "map name -> NeuroVault image id"})
    created_at = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
