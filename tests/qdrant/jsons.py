"""A small stand-in for the three jsons functions that Qdrant's
tests/openapi/test_group.py uses (jsons is not packaged by Debian).

dump(obj) turns obj into plain JSON data: dicts, lists and tuples are
dumped item by item, an object whose class has a serializer registered with
set_serializer(fn, cls) becomes fn(obj), anything else stays as it is.
load(data) returns plain JSON data unchanged (test_group loads dicts only).
Written for semcode's harness tests/qdrant/run.sh; not jsons."""

_serializers = {}


def set_serializer(func, cls, **_kwargs):
    """Registers func(obj, **kwargs) -> JSON data for instances of cls."""
    _serializers[cls] = func


def dump(obj, **kwargs):
    """obj as plain JSON data (see the module comment)."""
    for cls, func in _serializers.items():
        if isinstance(obj, cls):
            return func(obj, **kwargs)
    if isinstance(obj, dict):
        return {key: dump(value, **kwargs) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [dump(value, **kwargs) for value in obj]
    return obj


def load(data, cls=None, **_kwargs):
    """Plain JSON data back: returned as it is (cls is not supported)."""
    if cls is not None:
        raise NotImplementedError("this jsons stand-in loads plain JSON data only")
    return data
