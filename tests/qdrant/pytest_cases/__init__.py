"""A small stand-in for the two pytest_cases names that Qdrant's
tests/openapi/test_group.py imports (pytest_cases is not packaged by Debian).

fixture_ref(fixture) stands for the value of a fixture; parametrize(name,
values) is pytest.mark.parametrize where a value that is a fixture_ref (the
whole value, as pytest_cases resolves it) is replaced by that fixture's
value when the test runs. fixture_refs inside other values are left alone
(pytest_cases leaves them too; test_group serialises those with jsons).
Written for semcode's harness tests/qdrant/run.sh; not pytest_cases."""

import functools
import inspect

import pytest

__all__ = ["fixture_ref", "parametrize"]


class fixture_ref:
    """A reference to a fixture (its function or its name)."""

    def __init__(self, fixture):
        self.fixture = fixture
        self.name = fixture if isinstance(fixture, str) else fixture.__name__

    def __repr__(self):
        return f"fixture_ref<{self.name}>"


def _resolve(value, request):
    return request.getfixturevalue(value.name) if isinstance(value, fixture_ref) else value


def parametrize(argnames, argvalues, ids=None, auto_refs=True, **kwargs):
    """pytest.mark.parametrize with fixture_ref values resolved at run time."""
    names = [n.strip() for n in argnames.split(",")] if isinstance(argnames, str) else list(argnames)

    def decorate(test):
        signature = inspect.signature(test)
        params = list(signature.parameters.values())
        has_request = "request" in signature.parameters
        if not has_request:
            params.append(inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(test)
        def run(*args, **kw):
            request = kw["request"] if has_request else kw.pop("request")
            for name in names:
                if name in kw:
                    kw[name] = _resolve(kw[name], request)
            return test(*args, **kw)

        run.__signature__ = signature.replace(parameters=params)
        return pytest.mark.parametrize(argnames, argvalues, ids=ids, **kwargs)(run)

    return decorate
