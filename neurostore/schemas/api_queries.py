"""Query-string and small body schemas of the HTTP API (validated and documented by them)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from neurostore.schemas.fields import (
    OPENAPI,
    Identifier,
    WholeNumber,
)
from neurostore.schemas.patterns import any_word, matches
from neurostore.vocabulary import PointSpace, Role, ValueType, values

#: The codes the list filters take (the stored ones: aliases are for bodies).
IMAGE_VALUE_TYPES = sorted(values(ValueType))
SPACES = sorted(values(PointSpace))

MAX_LIMIT = 1000
MAX_PAGE = 1_000_000
ID = validate.Length(min=1, max=32)
# Coordinates and radii in mm; anything outside this box is no brain location.
MM = validate.Range(min=-1000, max=1000)
#: The largest radius (mm) of a coordinate search.
MAX_RADIUS_MM = 100
RADIUS = validate.Range(0, MAX_RADIUS_MM, min_inclusive=False)


def _flag(description: str) -> fields.Boolean:
    return fields.Boolean(metadata={"description": description})


#: NeuroStore's data types of a study.
DATA_TYPES = ("coordinate", "image", "both")
#: NeuroStore's map types, as the image value types that satisfy each.
MAP_TYPES = {"z": ("Z",), "t": ("T",), "beta_variance": ("BETA", "VARIANCE"), "any": ()}
#: The columns ``unique`` may name; ``true`` means the first.
UNIQUE_COLUMNS = ("doi", "pmid", "pmcid", "name")


class UniqueColumn(fields.Field):
    """NeuroStore's ``unique``: a boolean (true: ``doi``) or the name of a column."""

    pattern = any_word(("true", "1", "false", "0", *UNIQUE_COLUMNS))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata[OPENAPI] = {"type": "string", "pattern": self.pattern}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not matches(self.pattern, value):
            raise ValidationError(f"true, false, or one of: {', '.join(UNIQUE_COLUMNS)}")
        text = value.strip().lower()
        if text in ("true", "1"):
            return UNIQUE_COLUMNS[0]
        if text in ("false", "0"):
            return None
        if text in UNIQUE_COLUMNS:
            return text
        raise ValidationError(f"true, false, or one of: {', '.join(UNIQUE_COLUMNS)}")


def _contains(what: str) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=500), metadata={
        "description": f"{what} contains this text (any case), as in NeuroStore"})


class ListArgs(Schema):
    """Page size and cursor (or page number), shared by every list."""

    limit = fields.Integer(load_default=20, validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": "page size (at most 1000)"})
    cursor = fields.String(validate=validate.Length(max=500),
                           metadata={"description": "`metadata.next` of the previous page"})
    desc = fields.Boolean(load_default=True, metadata={"description": "descending order"})
    page = fields.Integer(validate=validate.Range(1, MAX_PAGE), metadata={
        "description": "page number from 1, as NeuroStore's clients send it (rows are"
                       " skipped, so deep pages are slower than with `cursor`)"})
    page_size = fields.Integer(validate=validate.Range(1, MAX_LIMIT),
                               metadata={"description": "NeuroStore's name of `limit`"})
    paginate = fields.Boolean(metadata={
        "description": "false: every match in one page (400 beyond the largest page size,"
                       " 1000: page through them instead)"})

    @validates_schema
    def _one_way_to_page(self, data: dict[str, Any], **_: Any) -> None:
        if "page" in data and "cursor" in data:
            raise ValidationError("give either page or cursor", "page")

    @post_load
    def _page_size_is_limit(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "page_size" in data:
            data["limit"] = data.pop("page_size")
        if data.pop("paginate", True) is False:
            if "page" in data or "cursor" in data:
                raise ValidationError("paginate=false lists everything: give no page or"
                                      " cursor", "paginate")
            data["limit"], data["everything"] = MAX_LIMIT, True
        return data


class IdSortedListArgs(ListArgs):
    """A list ordered by id."""

    sort = fields.String(load_default="id", validate=validate.OneOf(["id"]))


class TimestampListArgs(ListArgs):
    """A list of versioned aggregates, ordered by a timestamp."""

    sort = fields.String(load_default="created_at",
                         validate=validate.OneOf(["created_at", "updated_at"]))
    user_id = fields.String(validate=ID, metadata={"description": "owner's user id"})


class NestedArgs(Schema):
    """``nested=true`` embeds related objects instead of their ids."""

    nested = _flag("embed related objects instead of listing their ids")


class BaseStudyArgs(NestedArgs):
    """``feature_display`` adds a publication's heaviest terms in a feature set."""

    feature_display = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "a feature set (id, 8+ character id prefix, or name): the response "
                       "gains `features`, the study's heaviest terms in it (NeuroStore's "
                       "`feature_display`)"})
    feature_count = fields.Integer(load_default=20, validate=validate.Range(min=1, max=500),
                                   metadata={"description": "how many terms `features` lists"})


class StudyListArgs(ListArgs, NestedArgs):
    """Search and filters of the study and base-study lists."""

    sort = fields.String(load_default="created_at",
                         validate=validate.OneOf(["created_at", "updated_at", "name", "year"]))
    search = fields.String(validate=validate.Length(min=1, max=1000), metadata={
        "description": 'full text over title, abstract, authors and journal: words, "phrases",'
                       " AND, OR, NOT, parentheses; side-by-side words are ANDed"})
    name = _contains("the title")
    description = _contains("the abstract")
    authors = _contains("the authors")
    journal = _contains("the journal")
    publication = _contains("the journal (NeuroStore's name of `journal`)")
    pmid = Identifier("pmid", integers=False)
    doi = Identifier("doi", integers=False)
    pmcid = Identifier("pmcid", integers=False)
    year_min = fields.Integer(validate=validate.Range(1800, 2200))
    year_max = fields.Integer(validate=validate.Range(1800, 2200))
    source = fields.String(validate=validate.Length(min=1, max=64))
    source_id = fields.String(validate=validate.Length(min=1, max=255),
                              metadata={"description": "the id in its source (exact)"})
    unique = UniqueColumn(metadata={
        "description": "one study per value of a column (true: doi; or doi, pmid, pmcid,"
                       " name): the first created; studies without a value are all kept"})
    data_type = fields.String(validate=validate.OneOf(DATA_TYPES), metadata={
        "description": "coordinate: has peaks; image: has images; both: has either"})
    map_type = fields.String(validate=validate.OneOf(list(MAP_TYPES)), metadata={
        "description": "has a Z map, a T map, beta and variance maps, or any image"})
    level = fields.String(validate=validate.OneOf(["group", "meta"]), metadata={
        "description": "NeuroStore's study level: every study here is group-level"})
    flat = _flag("leave out tables and analyses (NeuroStore's flat listing)")
    studyset_owner = fields.String(validate=ID, metadata={
        "description": "list with each study the studysets of this user holding it"})
    has_coordinates = _flag("has (or, false: has no) peak coordinates")
    has_images = _flag("has (or, false: has no) images")
    value_type = fields.String(validate=validate.OneOf(IMAGE_VALUE_TYPES), metadata={
        "description": "has an image of this statistic"})
    space = fields.String(validate=validate.OneOf(SPACES), metadata={
        "description": "has peaks (or images) in this space"})
    user_id = fields.String(validate=ID, metadata={"description": "owner's user id"})
    base_study = fields.String(validate=ID)
    x = fields.Float(allow_nan=False, validate=MM, metadata={"description": "MNI x (mm)"})
    y = fields.Float(allow_nan=False, validate=MM, metadata={"description": "MNI y (mm)"})
    z = fields.Float(allow_nan=False, validate=MM, metadata={"description": "MNI z (mm)"})
    radius = fields.Float(allow_nan=False, validate=RADIUS,
                          metadata={"description": "mm around (x, y, z); Talairach peaks are"
                                                   " converted to MNI to match"})


class BaseStudyListArgs(StudyListArgs):
    """Search and filters of the publication list (a publication is in no studyset)."""

    class Meta:
        exclude = ("studyset_owner",)


class StudyArgs(NestedArgs):
    """How one study is shown."""

    studyset_owner = fields.String(validate=ID, metadata={
        "description": "list with the study the studysets of this user holding it"})


class StudysetListArgs(TimestampListArgs, NestedArgs):
    """Filters of the studyset list."""

    study = fields.String(validate=ID, metadata={"description": "holding this study"})
    search = _contains("the name or the description")
    name = _contains("the name")
    description = _contains("the description")
    authors = _contains("the authors")


class AnnotationListArgs(TimestampListArgs, NestedArgs):
    """Filters of the annotation list."""

    studyset = fields.String(validate=ID)
    studyset_id = fields.String(validate=ID, metadata={"description": "NeuroStore's name of"
                                                                      " `studyset`"})

    @post_load
    def _studyset_id_is_studyset(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "studyset_id" in data:
            data.setdefault("studyset", data.pop("studyset_id"))
        return data


class ChildListArgs(IdSortedListArgs, NestedArgs):
    """Filters of the lists of analyses, tables, points and images."""

    study = fields.String(validate=ID)
    analysis = fields.String(validate=ID, metadata={"description": "points and images only"})
    value_type = fields.String(validate=validate.OneOf(IMAGE_VALUE_TYPES),
                               metadata={"description": "images only"})


class ConditionListArgs(IdSortedListArgs):
    """Filters of the condition list."""

    name = fields.String(validate=validate.Length(min=1, max=255))


class WriteArgs(Schema):
    """What any write may carry: the change message kept in the history."""

    message = fields.String(validate=validate.Length(max=2000),
                            metadata={"description": "why: kept with the revision"})


class ReplaceArgs(WriteArgs):
    """A PUT: NeuroStore's, which changes the fields it is sent and keeps the others."""

    replace = _flag("replace the whole state instead: fields not sent are reset to their"
                    " defaults (and lists not sent emptied)")


class CreateArgs(WriteArgs, NestedArgs):
    """A create, or a clone of ``source_id`` into the caller's own copy."""

    source_id = fields.String(validate=ID, metadata={
        "description": "clone this resource (the body is then ignored)"})


class DiffArgs(Schema):
    """The other end of a diff."""

    to = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))


class RevertBody(Schema):
    """Which revision's state to bring back."""

    revision = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))


class TokenBody(Schema):
    """A new API token."""

    name = fields.String(load_default="default", validate=validate.Length(min=1, max=255))
    expires_in_days = WholeNumber(allow_none=True, load_default=None,
                                  validate=validate.Range(1, 3650))
    user = fields.String(validate=ID, metadata={"description": "administrators only"})


class UserBody(Schema):
    """A new user (administrators only)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    external_id = fields.String(allow_none=True, load_default=None,
                                validate=validate.Length(min=1, max=255))
    email = fields.Email(allow_none=True, load_default=None, validate=validate.Length(max=320))
    role = fields.String(load_default=Role.USER.value, validate=validate.OneOf(values(Role)))


class UserPatchBody(Schema):
    """Changes to a user: your own name and email; roles by administrators only."""

    name = fields.String(validate=validate.Length(min=1, max=255))
    email = fields.Email(allow_none=True, validate=validate.Length(max=320))
    role = fields.String(validate=validate.OneOf(values(Role)),
                         metadata={"description": "administrators only"})


class MergeBody(Schema):
    """The duplicate publication to merge into this one."""

    duplicate = fields.String(required=True, validate=ID)
