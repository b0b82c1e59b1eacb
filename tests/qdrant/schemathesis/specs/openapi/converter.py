"""OpenAPI 3.0 schema objects to JSON Schema, in place."""

from typing import Any


def to_json_schema(node: Any, nullable_name: str = "nullable", is_response_schema: bool = False) -> Any:
    """Converts every schema object under node: `nullable: true` becomes
    anyOf [the schema, null]; readOnly properties leave request schemas and
    writeOnly ones leave response schemas. Returns the converted node."""
    if isinstance(node, list):
        return [to_json_schema(x, nullable_name, is_response_schema) for x in node]
    if not isinstance(node, dict):
        return node
    for key in list(node.keys()):
        node[key] = to_json_schema(node[key], nullable_name, is_response_schema)
    props = node.get("properties")
    if isinstance(props, dict):
        hidden = "writeOnly" if is_response_schema else "readOnly"
        for name in [n for n, s in props.items() if isinstance(s, dict) and s.get(hidden) is True]:
            del props[name]
            if isinstance(node.get("required"), list) and name in node["required"]:
                node["required"].remove(name)
    if node.get(nullable_name) is True:
        del node[nullable_name]
        return {"anyOf": [node, {"type": "null"}]}
    return node
