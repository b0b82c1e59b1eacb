"""One operation of the schema (a path and a method)."""

from dataclasses import dataclass, field
from typing import Any, Dict, List

from .exceptions import CheckFailed


@dataclass
class Parameter:
    """A path or query parameter as the helpers read it."""
    name: str
    is_required: bool
    definition: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ParameterSet:
    """The parameters of one location; `items` as in schemathesis."""
    items: List[Parameter] = field(default_factory=list)


@dataclass
class OperationDefinition:
    """The raw operation object of the document (unconverted)."""
    raw: Dict[str, Any]


class APIOperation:
    """A path + method of the schema: parameters, definition, response check."""

    def __init__(self, schema, path: str, method: str, raw: Dict[str, Any], parameters: List[Dict[str, Any]]):
        self.schema = schema
        self.path = path
        self.method = method.upper()
        self.definition = OperationDefinition(raw)
        self.path_parameters = ParameterSet()
        self.query = ParameterSet()
        for p in parameters:
            param = Parameter(p["name"], bool(p.get("required", False)), p)
            if p.get("in") == "path":
                self.path_parameters.items.append(param)
            elif p.get("in") == "query":
                self.query.items.append(param)

    def validate_response(self, response) -> None:
        """Raises CheckFailed when the response does not match its documented schema."""
        self.schema.validate_response(self, response)

    def __repr__(self) -> str:
        return f"APIOperation({self.method} {self.path})"


__all__ = ["APIOperation", "CheckFailed"]
