"""A pytest plugin standing in for pytest-timeout (not packaged by Debian):
Qdrant's tests mark a few tests @pytest.mark.timeout(n) and rely on it to
stop loops that wait for a state (e.g. indexing) that may never come. A test
over its mark's seconds, or over QDRANT_TEST_TIMEOUT (default 60) without a
mark, fails with a TimeoutError instead of hanging the whole file.
Loaded by tests/qdrant/run.sh with `-p qdrant_timeout`."""

import os
import signal

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): fail the test after that many seconds")


def _on_alarm(signum, frame):
    raise TimeoutError("test timed out (tests/qdrant/qdrant_timeout.py)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    mark = item.get_closest_marker("timeout")
    seconds = int(mark.args[0]) if mark and mark.args else int(os.environ.get("QDRANT_TEST_TIMEOUT", "60"))
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(max(seconds, 1))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
