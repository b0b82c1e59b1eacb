"""The schema object: operations by path and method, response validation."""

import json
from typing import Any, Dict

import jsonschema

from ...exceptions import CheckFailed
from ...models import APIOperation
from .references import ConvertingResolver

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class _Methods(dict):
    """Operations of one path; the method is looked up in any case."""

    def __getitem__(self, method: str) -> APIOperation:
        return dict.__getitem__(self, method.upper())


class OpenApi30:
    """An OpenAPI 3.0 document: schema[path][method] -> APIOperation."""

    nullable_name = "nullable"

    def __init__(self, raw_schema: Dict[str, Any], location: str = ""):
        self.raw_schema = raw_schema
        self.location = location
        self.resolver = ConvertingResolver(location, raw_schema, nullable_name=self.nullable_name,
                                           is_response_schema=True)
        self._paths: Dict[str, _Methods] = {}
        for path, item in raw_schema.get("paths", {}).items():
            common = [self._deref(p) for p in item.get("parameters", [])]
            methods = _Methods()
            for method in _METHODS:
                if method in item:
                    op = item[method]
                    own = [self._deref(p) for p in op.get("parameters", [])]
                    names = {(p["name"], p.get("in")) for p in own}
                    params = own + [p for p in common if (p["name"], p.get("in")) not in names]
                    methods[method.upper()] = APIOperation(self, path, method, op, params)
            self._paths[path] = methods

    def _deref(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def __getitem__(self, path: str) -> _Methods:
        return self._paths[path]

    def __contains__(self, path: str) -> bool:
        return path in self._paths

    def _response_schema(self, operation: APIOperation, status: int):
        responses = {str(k): v for k, v in operation.definition.raw.get("responses", {}).items()}
        definition = responses.get(str(status), responses.get("default"))
        if definition is None:
            return None
        definition = self._deref(definition)
        content = definition.get("content") or {}
        media = content.get("application/json") or next(iter(content.values()), None)
        if not media or "schema" not in media:
            return None
        return media["schema"]

    def validate_response(self, operation: APIOperation, response) -> None:
        """Checks the response against the schema of its status code (else
        `default`); no documented schema means nothing to check."""
        schema = self._response_schema(operation, response.status_code)
        if schema is None:
            return
        content_type = response.headers.get("Content-Type")
        if content_type is None:
            raise CheckFailed(f"{operation!r}: the response has no Content-Type header")
        if "json" not in content_type.split(";")[0].lower():
            return
        try:
            data = json.loads(response.text)
        except ValueError as exc:
            raise CheckFailed(f"{operation!r}: the response is not JSON: {exc}") from exc
        converted = ConvertingResolver("", {"s": schema}, nullable_name=self.nullable_name,
                                       is_response_schema=True).referrer["s"]
        try:
            jsonschema.validate(data, converted, cls=jsonschema.Draft4Validator, resolver=self.resolver)
        except jsonschema.ValidationError as exc:
            raise CheckFailed(f"{operation!r}: the response does not conform to the schema: {exc}") from exc
