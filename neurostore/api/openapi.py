"""The OpenAPI document: problem+json errors, and every field's rules as JSON Schema.

The document says what the server enforces, so a client (or a fuzzer) generating requests
from it gets them accepted, and what it calls invalid is refused: strings exclude what
PostgreSQL cannot store, fields with rules of their own document them through
:data:`neurostore.schemas.fields.OPENAPI`, and free-form objects (``metadata``, run
parameters) hold :data:`JSON_VALUE`.
"""

from __future__ import annotations

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import resolve_schema_instance
from flask_smorest import Api
from marshmallow import EXCLUDE, Schema, fields, validate

from neurostore.api import errors
from neurostore.schemas.api_responses import ProblemSchema
from neurostore.schemas.fields import OPENAPI
from neurostore.schemas.patterns import STORABLE_TEXT

JSON_VALUE_REF = {"$ref": "#/components/schemas/JSONValue"}
#: Any JSON value whose strings, keys included, can be stored.
JSON_VALUE = {
    "description": "Any JSON value; strings and keys hold no NUL or lone surrogate.",
    "anyOf": [
        {"type": "null"},
        {"type": "string", "pattern": STORABLE_TEXT},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "array", "items": JSON_VALUE_REF},
        {"type": "object", "propertyNames": {"pattern": STORABLE_TEXT},
         "additionalProperties": JSON_VALUE_REF},
    ],
}


class _Converter(OpenAPIConverter):
    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        out = super().schema2jsonschema(schema)
        if resolve_schema_instance(schema).unknown == EXCLUDE:
            # Keys a schema does not know are ignored, but must still be valid JSON text.
            out.setdefault("propertyNames", {"pattern": STORABLE_TEXT})
            out.setdefault("additionalProperties", JSON_VALUE_REF)
        return out


class _Plugin(MarshmallowPlugin):
    Converter = _Converter


class NeurostoreApi(Api):
    """flask-smorest's Api, documenting errors as problem details."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_RESPONSE_CONTENT_TYPE = "application/json"

    def __init__(self, app: Any = None, **kwargs: Any) -> None:
        super().__init__(app, spec_kwargs={"marshmallow_plugin": _Plugin()}, **kwargs)
        self.spec.components.schema("JSONValue", JSON_VALUE)
        self.ma_plugin.converter.add_attribute_function(document_rules)

    def _register_responses(self) -> None:
        # Error responses are problem+json; only success bodies are plain JSON.
        self.DEFAULT_RESPONSE_CONTENT_TYPE = errors.PROBLEM_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = "application/json"


def _resolved(converter: Any, value: Any) -> Any:
    # Nested schemas in a field's own JSON Schema become references to their components.
    if isinstance(value, Schema):
        return converter.resolve_nested_schema(value)
    if isinstance(value, dict):
        return {k: _resolved(converter, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(converter, v) for v in value]
    return value


def document_rules(converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any
                   ) -> dict[str, Any]:
    """An attribute function of apispec's converter: what ``field`` accepts, in full."""
    own = field.metadata.get(OPENAPI)
    if own is not None:
        if "anyOf" in own or "oneOf" in own:
            # The alternatives carry their own types.
            ret.pop("type", None)
        return _resolved(converter, own)
    if isinstance(field, fields.Dict):
        keys = (converter.field2property(field.key_field) if field.key_field is not None
                else {"pattern": STORABLE_TEXT})
        keys.pop("type", None)
        if field.value_field is None:
            return {"propertyNames": keys, "additionalProperties": JSON_VALUE_REF}
        return {"propertyNames": keys}
    # Choices and patterns of their own already exclude what cannot be stored.
    if isinstance(field, fields.String) and not any(
            isinstance(v, validate.OneOf | validate.Regexp) for v in field.validators):
        return {"pattern": STORABLE_TEXT}
    return {}
