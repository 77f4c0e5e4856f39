"""Feature sets, term builds, terms, decoding and text-to-brain answers, as the API gives
them, and the query arguments of those endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from neurostore.vocabulary import RunStatus, TermBuildKind, values

_REF = validate.Length(min=1, max=128)


class FeatureSetOut(Schema):
    """An immutable studies x terms matrix, named by the sha256 of its content."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    vocabulary = fields.String(required=True)
    weighting = fields.String(required=True, metadata={
        "description": "tfidf, or none (values as given)"})
    n_studies = fields.Integer(required=True)
    n_terms = fields.Integer(required=True)
    nnz = fields.Integer(required=True)
    file = fields.String(required=True)
    built_from = fields.Dict(required=True, metadata={
        "description": "what it was built from: a matrix (files, rows matched) or texts "
                       "(kinds, studies), and the weighting"})
    user = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)


class FeatureSetPage(Schema):
    """Feature sets, newest first."""

    results = fields.List(fields.Nested(FeatureSetOut), required=True)


class TermBuildIn(Schema):
    """A build to run: its kind and parameters (checked in full; 422 names each)."""

    kind = fields.String(required=True, validate=validate.OneOf(values(TermBuildKind)))
    parameters = fields.Dict(load_default=dict, metadata={
        "description": "features: name, from (matrix|texts), files, weighting, kinds; "
                       "term_maps: feature_set, min_studies, threshold, source; "
                       "text_model: feature_set, voxel_size, fwhm, source"})


class TermBuildOut(Schema):
    """A build: status, progress and, once done, its result files and counts."""

    id = fields.String(required=True)
    kind = fields.String(required=True)
    feature_set = fields.String(allow_none=True)
    parameters = fields.Dict()
    status = fields.String(validate=validate.OneOf(values(RunStatus)))
    progress = fields.Dict()
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True)
    user = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)


class TermBuildArgs(Schema):
    """Filters of the build list."""

    kind = fields.String(validate=validate.OneOf(values(TermBuildKind)))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class TermBuildPage(Schema):
    """Builds, newest first."""

    results = fields.List(fields.Nested(TermBuildOut), required=True)


class FeatureSetArg(Schema):
    """Which feature set's newest build to read (default: the newest build)."""

    feature_set = fields.String(validate=_REF)


class TermListArgs(FeatureSetArg):
    """Term search and paging."""

    search = fields.String(validate=validate.Length(min=1, max=200))
    built = fields.Boolean(load_default=False, metadata={
        "description": "only terms whose maps were built (enough studies)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**6))


class TermCount(Schema):
    """A term: how many studies it selects, and whether its maps were built."""

    term = fields.String(required=True)
    n_studies = fields.Integer(required=True)
    maps = fields.Boolean(required=True)


class TermPage(Schema):
    """Terms, most studies first."""

    build = fields.String(required=True)
    feature_set = fields.String(allow_none=True)
    count = fields.Integer(required=True)
    results = fields.List(fields.Nested(TermCount), required=True)


class TermArgs(FeatureSetArg):
    """How many top studies and related terms to list."""

    top = fields.Integer(load_default=20, validate=validate.Range(min=1, max=500))


class TermOut(Schema):
    """A term or boolean expression: its studies, maps and related terms."""

    build = fields.String(required=True)
    feature_set = fields.String(allow_none=True)
    term = fields.String(required=True)
    expression = fields.Boolean(required=True, metadata={
        "description": "computed on demand (not one of the built terms)"})
    n_studies = fields.Integer(required=True)
    maps = fields.List(fields.String(), required=True)
    map_urls = fields.Dict(metadata={"description": "map name -> NIfTI and PNG addresses"})
    top_studies = fields.List(fields.Dict(), required=True)
    related_terms = fields.List(fields.Dict(), required=True)


class DecodeArgs(FeatureSetArg):
    """Decoding options given as query arguments (with a file upload)."""

    method = fields.String(validate=validate.OneOf(["neurosynth", "brainmap"]))
    top = fields.Integer(load_default=20, validate=validate.Range(min=1, max=1000))


class DecodeOut(Schema):
    """Terms ranked for a map (by correlation) or a region (by the decoders' statistics)."""

    build = fields.String(required=True)
    feature_set = fields.String(allow_none=True)
    method = fields.String(required=True)
    map = fields.String()
    n_studies_selected = fields.Integer()
    terms = fields.List(fields.Dict(), required=True)
    studies = fields.List(fields.Dict())
    source = fields.Dict(metadata={"description": "the run and map decoded, if one was"})


class TextQueryArgs(FeatureSetArg):
    """A text to map."""

    text = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class TextQueryOut(Schema):
    """A text-to-brain map and what it was made from."""

    build = fields.String(required=True)
    feature_set = fields.String(allow_none=True)
    text = fields.String(required=True)
    map_url = fields.String()
    terms = fields.List(fields.Dict(), required=True)
    similar_terms = fields.List(fields.Dict(), required=True)
    similar_studies = fields.List(fields.Dict(), required=True)


class StudyFeaturesOut(Schema):
    """A base study's heaviest terms in a feature set (NeuroStore's ``features``)."""

    base_study = fields.String(required=True)
    feature_set = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "the feature set's name"})
    terms = fields.List(fields.Dict(), required=True, metadata={
        "description": "term and weight, heaviest first; empty when the feature set does "
                       "not hold the study"})


class StudyTextOut(Schema):
    """One text of a publication from one source."""

    source = fields.String(required=True)
    kind = fields.String(required=True)
    text = fields.String(required=True)
    updated_at = fields.String(required=True)


class StudyTextPage(Schema):
    """A base study's texts, by source and kind."""

    results = fields.List(fields.Nested(StudyTextOut), required=True)
