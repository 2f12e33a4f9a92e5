"""The pytest side of tools/mutate.py, loaded in its test runs with `-p mutation_pytest_plugin`.

MUTATION_TRACE_FILE=<path> records, for every test, which lines of that one source file ran
during its setup, call and teardown, and writes {node id: [lines]} to MUTATION_TRACE_OUT at the
end of the session: a mutant then runs only the tests that run its code.
MUTATION_SELECT=<file of node ids, one a line> runs only those tests, in collection order.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

_TRACED = os.environ.get("MUTATION_TRACE_FILE")
_TRACE_OUT = os.environ.get("MUTATION_TRACE_OUT")
_SELECTED = os.environ.get("MUTATION_SELECT")
_lines_by_test: dict[str, list[int]] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _SELECTED:
        return
    wanted = set(Path(_SELECTED).read_text().splitlines())
    deselected = [item for item in items if item.nodeid not in wanted]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.nodeid in wanted]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    if not _TRACED:
        yield
        return
    seen: set[int] = set()

    def in_traced_file(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            seen.add(frame.f_lineno)
        return in_traced_file

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        # Only frames of the traced file get a line tracer: the rest runs at near full speed.
        if frame.f_code.co_filename == _TRACED:
            seen.add(frame.f_lineno)
            return in_traced_file
        return None

    sys.settrace(on_call)
    threading.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
        _lines_by_test[item.nodeid] = sorted(seen)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _TRACED and _TRACE_OUT:
        Path(_TRACE_OUT).write_text(json.dumps(_lines_by_test))


def serve() -> None:
    """A fork server, so that a test run costs no interpreter start nor the imports of pytest,
    Hypothesis and the crypto libraries: those are imported once here (never tlcodec, which
    each run imports afresh from the mutated tree). One request a line on stdin, a JSON
    object {"args": [pytest arguments], "env": {...}, "output": path}; for each, one line
    {"pid": child} when the run starts and one {"exit": code} when it ends (negative: the
    signal that ended it). A run is a child in a session of its own, so killing its process
    group ends whatever it started."""
    import cryptography.hazmat.primitives.asymmetric.rsa  # noqa: F401
    import cryptography.hazmat.primitives.ciphers  # noqa: F401
    import cryptography.hazmat.primitives.serialization  # noqa: F401
    import gmpy2  # noqa: F401
    import hypothesis.extra.pytestplugin  # noqa: F401

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the run
            os.setsid()
            output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.environ.update(request["env"])
            code = 3
            try:
                code = int(pytest.main(request["args"]))
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
