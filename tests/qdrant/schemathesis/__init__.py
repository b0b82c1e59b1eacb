"""A small stand-in for the few schemathesis symbols that Qdrant's
tests/openapi helpers import (schemathesis is not packaged by Debian).

Only what the helpers use is here: from_file() returning a schema indexed
by path and method, an operation's parameters and raw definition, the
OpenAPI 3.0 -> JSON Schema conversion of `nullable`, and response
validation (the response's documented status code, else `default`,
checked with the Draft 4 validator, as schemathesis 3 does).
Written for semcode's harness tests/qdrant/run.sh; not schemathesis."""

import json

from .specs.openapi.schemas import OpenApi30

__all__ = ["from_file", "OpenApi30"]


def from_file(file, **_kwargs):
    """Loads an OpenAPI 3.0 document from an open file (JSON)."""
    text = file.read() if hasattr(file, "read") else file
    return OpenApi30(json.loads(text))
