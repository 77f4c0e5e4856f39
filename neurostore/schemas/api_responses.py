"""Response shapes of the HTTP API, for the OpenAPI document.

Views build their JSON directly from service states (dumping large trees through
marshmallow would cost more than the queries); these schemas describe that JSON, and the
fuzzing test checks every response against them.
"""

from __future__ import annotations

from marshmallow import Schema, fields


def _text() -> fields.String:
    return fields.String(allow_none=True)


def _ids_or_objects(description: str) -> fields.List:
    # Ids by default, whole objects with nested=true.
    return fields.List(
        fields.Raw(metadata={"oneOf": [{"type": "string"}, {"type": "object"}]}),
        metadata={"description": description},
    )


class ProblemSchema(Schema):
    """An error (RFC 9457 problem details)."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "messages by dotted field path"})
    current_version = fields.Integer(metadata={"description": "412 only"})


class VersionedSchema(Schema):
    """Version counter and timestamps of an editable resource (read-only)."""

    version = fields.Integer()
    created_at = _text()
    updated_at = _text()


class PointValueOut(Schema):
    """A statistic at a peak."""

    kind = _text()
    value = fields.Float(allow_none=True)


class PointOut(Schema):
    """A peak."""

    id = fields.String(required=True)
    coordinates = fields.List(fields.Float(allow_none=True))
    space = _text()
    kind = _text()
    label_id = _text()
    cluster_size = fields.Float(allow_none=True)
    subpeak = fields.Boolean(allow_none=True)
    deactivation = fields.Boolean(allow_none=True)
    values = fields.List(fields.Nested(PointValueOut))
    analysis = fields.String()
    study = fields.String()
    x = fields.Float(allow_none=True, metadata={"description": "coordinates[0], as NeuroStore"})
    y = fields.Float(allow_none=True, metadata={"description": "coordinates[1]"})
    z = fields.Float(allow_none=True, metadata={"description": "coordinates[2]"})
    order = fields.Integer(metadata={"description": "place in its analysis, from 0"})


class ImageOut(Schema):
    """A statistical map."""

    id = fields.String(required=True)
    url = _text()
    filename = _text()
    sha256 = _text()
    space = _text()
    value_type = _text()
    metadata = fields.Dict(allow_none=True)
    add_date = _text()
    analysis = fields.String()
    study = fields.String()
    order = fields.Integer(metadata={"description": "place in its analysis, from 0"})


class ConditionOut(Schema):
    """A condition."""

    id = fields.String(required=True)
    name = _text()
    description = _text()


class ConditionDetailOut(ConditionOut):
    """A condition on its own: with its owner and version (its ETag)."""

    user = _text()
    version = fields.Integer()


class TableOut(Schema):
    """A table of the publication."""

    id = fields.String(required=True)
    t_id = _text()
    name = _text()
    caption = _text()
    footer = _text()
    metadata = fields.Dict(allow_none=True)
    study = fields.String()
    order = fields.Integer(metadata={"description": "place in its study, from 0"})


class AnalysisOut(Schema):
    """A contrast."""

    id = fields.String(required=True)
    name = _text()
    description = _text()
    metadata = fields.Dict(allow_none=True)
    table = _text()
    conditions = fields.List(fields.Nested(ConditionOut))
    weights = fields.List(fields.Float())
    points = _ids_or_objects("point ids, or points with nested=true")
    images = _ids_or_objects("image ids, or images with nested=true")
    study = fields.String()
    table_id = _text()
    order = fields.Integer(metadata={"description": "place in its study, from 0"})
    point_count = fields.Integer()


class PublicationOut(VersionedSchema):
    """Descriptive fields of a publication."""

    id = fields.String(required=True)
    name = _text()
    description = _text()
    publication = _text()
    authors = _text()
    year = fields.Integer(allow_none=True)
    doi = _text()
    pmid = _text()
    pmcid = _text()
    metadata = fields.Dict(allow_none=True)


class StudyOut(PublicationOut):
    """A study version; send it back as a PUT unchanged to keep it."""

    source = _text()
    source_id = _text()
    source_updated_at = _text()
    public = fields.Boolean()
    base_study = _text()
    user = _text()
    parent = _text()
    tables = fields.List(fields.String(), metadata={"description": "table ids (as NeuroStore"
                                                                   ", also with nested=true)"})
    analyses = _ids_or_objects("analysis ids, or analyses with nested=true")
    has_coordinates = fields.Boolean(metadata={"description": "single study only"})
    has_images = fields.Boolean(metadata={"description": "single study only"})
    studysets = fields.List(fields.Dict(), metadata={
        "description": "with studyset_owner: that user's studysets holding it (those you may"
                       " read): {id, name, description}"})


class BaseStudyOut(PublicationOut):
    """A publication and its visible study versions."""

    merged_into = _text()
    versions = _ids_or_objects("study ids, or study summaries with nested=true")
    features = fields.Dict(metadata={
        "description": "with feature_display: {feature set name: [{term, weight}], heaviest "
                       "first}"})


class StudysetOut(PublicationOut):
    """A curated list of studies."""

    public = fields.Boolean()
    user = _text()
    parent = _text()
    studies = _ids_or_objects("study ids, or whole studies with nested=true")
    studyset_studies = fields.List(fields.Dict(), metadata={
        "description": "NeuroStore's list of members: {id, curation_stub_uuid}"})
    source = _text()
    source_id = _text()


def _id_or_object(description: str, **kwargs: bool) -> fields.Raw:
    # An id by default, an object with nested=true.
    return fields.Raw(metadata={"oneOf": [{"type": "string"}, {"type": "object"}],
                                "description": description}, **kwargs)


class NoteOut(Schema):
    """One analysis's note."""

    analysis = _id_or_object("analysis id, or its summary with nested=true", required=True)
    study = _id_or_object("study id, or the flat study with nested=true", allow_none=True)
    note = fields.Dict(allow_none=True)
    analysis_name = _text()
    study_name = _text()
    study_year = fields.Integer(allow_none=True)
    authors = _text()
    publication = _text()


class AnnotationOut(VersionedSchema):
    """Typed notes over a studyset's analyses."""

    id = fields.String(required=True)
    studyset = _id_or_object("studyset id, or the flat studyset with nested=true")
    name = _text()
    description = _text()
    metadata = fields.Dict(allow_none=True)
    public = fields.Boolean()
    note_keys = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "key -> type, or key -> {type, order, default}"})
    notes = fields.List(fields.Nested(NoteOut))
    user = _text()
    parent = _text()


class DeletedOut(Schema):
    """A deleted resource: a restorable tombstone."""

    id = fields.String(required=True)
    version = fields.Integer(required=True)
    deleted = fields.Boolean(required=True)


class RevisionOut(Schema):
    """One revision: who, when, what, why."""

    version = fields.Integer(required=True)
    action = fields.String(required=True)
    user = _text()
    created_at = fields.String()
    message = _text()
    ingest_run = fields.Integer(allow_none=True)
    job = fields.Integer(allow_none=True)
    state = fields.Dict(metadata={"description": "the full state then (single revision only)"})
    diff = fields.List(fields.Dict(), metadata={"description": "RFC 6902 patch from the"
                                                              " previous revision"})


class DiffOut(Schema):
    """The JSON patch between two revisions."""

    from_ = fields.Integer(data_key="from")
    to = fields.Integer()
    patch = fields.List(fields.Dict())


class PageMeta(Schema):
    """Where a page is in its list."""

    total_count = fields.Integer(required=True)
    total_count_exact = fields.Boolean(metadata={
        "description": "false when total_count is an estimate: a search matching more than"
                       " 1,000 rows of a large store is counted from a sample and rounded"
                       " to two significant digits"})
    next = fields.String(allow_none=True, required=True,
                         metadata={"description": "cursor of the next page; null at the end"})


class UserOut(Schema):
    """A user's profile (email and external id for oneself and administrators)."""

    id = fields.String(required=True)
    name = fields.String()
    role = fields.String()
    email = _text()
    external_id = fields.String()


class TokenOut(Schema):
    """An API token (the secret only in the answer to its creation)."""

    id = fields.String(required=True)
    name = fields.String()
    prefix = fields.String()
    token = fields.String(metadata={"description": "shown once, at creation"})
    user = fields.String()
    created_at = _text()
    expires_at = _text()
    revoked = fields.Boolean()


class _Page(Schema):
    metadata = fields.Nested(PageMeta, required=True)


class StudyPage(_Page):
    """A page of studies."""

    results = fields.List(fields.Nested(StudyOut), required=True)


class BaseStudyPage(_Page):
    """A page of base studies."""

    results = fields.List(fields.Nested(BaseStudyOut), required=True)


class StudysetPage(_Page):
    """A page of studysets."""

    results = fields.List(fields.Nested(StudysetOut), required=True)


class AnnotationPage(_Page):
    """A page of annotations."""

    results = fields.List(fields.Nested(AnnotationOut), required=True)


class AnalysisPage(_Page):
    """A page of analyses."""

    results = fields.List(fields.Nested(AnalysisOut), required=True)


class TablePage(_Page):
    """A page of tables."""

    results = fields.List(fields.Nested(TableOut), required=True)


class PointPage(_Page):
    """A page of points."""

    results = fields.List(fields.Nested(PointOut), required=True)


class ImagePage(_Page):
    """A page of images."""

    results = fields.List(fields.Nested(ImageOut), required=True)


class ConditionPage(_Page):
    """A page of conditions."""

    results = fields.List(fields.Nested(ConditionOut), required=True)


class UserPage(_Page):
    """A page of users."""

    results = fields.List(fields.Nested(UserOut), required=True)


class TokenPage(_Page):
    """A page of tokens."""

    results = fields.List(fields.Nested(TokenOut), required=True)
