"""A jsonschema resolver over the OpenAPI document with `nullable` converted."""

import copy

import jsonschema

from .converter import to_json_schema


class ConvertingResolver(jsonschema.RefResolver):
    """Resolves $ref inside the document whose schemas were converted from
    OpenAPI 3.0 to JSON Schema (nullable -> anyOf with null)."""

    def __init__(self, base_uri, referrer, *args, nullable_name="nullable", is_response_schema=False, **kwargs):
        converted = to_json_schema(copy.deepcopy(referrer), nullable_name, is_response_schema)
        super().__init__(base_uri, converted, *args, **kwargs)
        self.nullable_name = nullable_name
        self.is_response_schema = is_response_schema
