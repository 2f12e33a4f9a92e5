"""What several test files share (conftest.py holds the fixtures; this module the helpers).

- Reference data: tests/data and its labelled protocol vectors.
- The two builds of the codec and of the session side by side (`codec_module`, `CodecBuild`,
  `SessionBuild`).
- Constructor ids, written out from the schema's .tl lines (tests do not ask the code under test).
- Clocks: one moved by hand, one running with the real time plus a shift.
- Memory: the traced peak of one operation.
- Sockets and test DCs: a free port, the app credentials, one RSA key for the test DCs, a
  scenario runner that fails on leftover tasks, the factories, a login by the DCs' shortcut,
  and a record of the methods they are asked.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import json
import socket
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest

import tlcodec
from tlcodec import _runtime
from tlcodec.client import Client
from tlcodec.crypto import RSAPrivateKey, auth_key_id
from tlcodec.schema import Schema, bundled_definitions
from tlcodec.testing import DataCentres

# ----------------------------------------------------------------------------------------------
# Reference data

# The official layer-228 schema and the labelled protocol test vectors, verbatim (see its README).
REFERENCE_DATA = Path(__file__).resolve().parent / "data"
TEST_VECTORS = "test_vectors.json"


def reference_file(name: str) -> Path:
    """tests/data/`name`. It ships with the tests (source tree and sdist alike), so a missing
    file is a packaging error: the test fails, it does not skip."""
    path = REFERENCE_DATA / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: tests/data must ship with the tests "
                    "(see tests/data/README.md)", pytrace=False)
    return path


@functools.lru_cache(maxsize=1)
def _reference_vectors() -> dict[str, Any]:
    return json.loads(reference_file(TEST_VECTORS).read_text(encoding="utf-8"))


def reference_vectors(group: str) -> dict[str, Any]:
    """One group of tests/data/test_vectors.json (its `_source` says official or self-computed).
    Read once per process; a test gets its own copy, so it cannot change another's."""
    return json.loads(json.dumps(_reference_vectors()[group]))


# ----------------------------------------------------------------------------------------------
# Both builds in one run

BUILDS = ("compiled", "plain")  # the ids of the parametrized fixtures


def _compiled_runs(part: str) -> None:
    """Skip the test, with the reason, where this run does not run `part` compiled: a run with
    TLCODEC_NO_EXTENSIONS for it (that run is there for the plain code alone; the compiled run
    already puts both side by side), or a compiled module that is absent or unusable here. Where
    TLCODEC_REQUIRE_EXTENSIONS=1 asks for it, that is a failure."""
    if part in _runtime.PLAIN_REQUESTED:
        pytest.skip(f"TLCODEC_NO_EXTENSIONS asks this run for the plain {part}")
    runs = _runtime.acceleration(part)
    if not runs:
        if _runtime.REQUIRE_EXTENSIONS:
            pytest.fail(f"TLCODEC_REQUIRE_EXTENSIONS=1 but the compiled {part} does not run: "
                        f"{runs.why_not}", pytrace=False)
        pytest.skip(f"the compiled {part} does not run here: {runs.why_not}")


def codec_module(which: str) -> ModuleType:
    """The compiled codec (`tlcodec._codec`) or the plain one (`tlcodec._codec_py`)."""
    if which == "compiled":
        _compiled_runs("codec")
        return _runtime.codec
    return importlib.import_module(_runtime.PARTS["codec"].plain_module)


class CodecBuild:
    """One codec build with the bundled schema, used the way tests use `tlcodec` itself:
    `encode`, `decode`, `Reader`, `types`, `functions`, `TLObject`, `TLRequest`, `bundled`.

    The build this run selected is `tlcodec` itself (the generated classes); the other is the
    same definitions compiled over the other codec (classes made by `Schema`)."""

    def __init__(self, name: str, codec: ModuleType) -> None:
        self.name = name
        self.codec = codec
        if codec is _runtime.codec:
            self.bundled: Schema = tlcodec.bundled
            self.types: Any = tlcodec.types
            self.functions: Any = tlcodec.functions
        else:
            definitions, layer = bundled_definitions()
            self.bundled = Schema(definitions, layer, codec=codec)
            self.types = self.bundled.types
            self.functions = self.bundled.functions
        self.encode = codec.encode
        self.decode = self.bundled.decode
        self.TLObject = codec.TLObject
        self.TLRequest = codec.TLRequest
        self.DEFAULT_MAX_INFLATED: int = codec.DEFAULT_MAX_INFLATED

    def Reader(self, data: Any, *, max_inflated: int | None = None) -> Any:  # noqa: N802
        return self.bundled.reader(data, max_inflated=max_inflated)

    def __repr__(self) -> str:
        return f"<CodecBuild {self.name}: {self.codec.__name__}>"


@functools.lru_cache(maxsize=None)
def _codec_build(name: str, codec: ModuleType) -> CodecBuild:
    return CodecBuild(name, codec)


def codec_build(which: str) -> CodecBuild:
    """The bundled schema over the `which` codec (made once per process)."""
    return _codec_build(which, codec_module(which))


def convert(value: Any, schema: Schema) -> Any:
    """Rebuild a TL object (from any schema) as an instance of `schema`'s classes."""
    if hasattr(value, "__tl_plan__"):
        plan = type(value).__tl_plan__
        cls = schema.get(plan.tl_name, function=plan.is_function)
        return cls(**{a: convert(getattr(value, a), schema) for a in plan.attrs})
    if isinstance(value, list):
        return [convert(v, schema) for v in value]
    return value


class SessionBuild:
    """One build of the MTProto sessions: every name their modules export (`ClientSession`,
    `ServerSession`, `PendingRequest`, `encrypt_payload`, ...) as an attribute, all of that
    build."""

    def __init__(self, name: str, modules: list[ModuleType]) -> None:
        self.name = name
        self.modules = modules
        for module in modules:
            for attribute in module.__all__:
                setattr(self, attribute, getattr(module, attribute))

    def __repr__(self) -> str:
        return f"<SessionBuild {self.name}: {', '.join(m.__name__ for m in self.modules)}>"


@functools.lru_cache(maxsize=None)
def _session_build(which: str, compiled_runs: bool) -> SessionBuild:
    part = _runtime.PARTS["session"]
    if which == "plain" and compiled_runs:
        # The package's modules hand out the compiled classes: their source loaded afresh.
        return SessionBuild(which, list(_runtime.plain_build("session").values()))
    # The package's modules run the compiled classes exactly when the session runs compiled.
    names = (part.plain_module, *part.plain_companions)
    return SessionBuild(which, [importlib.import_module(name) for name in names])


def session_build(which: str) -> SessionBuild:
    """The compiled or the plain build of the encrypted session (made once per process)."""
    if which == "compiled":
        _compiled_runs("session")
    return _session_build(which, bool(_runtime.acceleration("session")))


def both_session_builds() -> tuple[SessionBuild, SessionBuild]:
    """(compiled, plain), for a test that compares the two itself (skipped where the compiled
    session does not run)."""
    return session_build("compiled"), session_build("plain")


# ----------------------------------------------------------------------------------------------
# Constructor ids (from the .tl lines; the built-ins' from the codec's contract)

VECTOR_ID = 0x1CB5C415
BOOL_TRUE_ID = 0x997275B5
BOOL_FALSE_ID = 0xBC799737
GZIP_PACKED_ID = 0x3072CFA1
MSG_CONTAINER_ID = 0x73F1F8DC
MSGS_ACK_ID = 0x62D6B459
RPC_RESULT_ID = 0xF35C6D01
RPC_ERROR_ID = 0x2144CA19
JSON_NULL_ID = 0x3F6D7B68
JSON_STRING_ID = 0xB71E767A
JSON_ARRAY_ID = 0xF7444763


# ----------------------------------------------------------------------------------------------
# Clocks

SAMPLE_TIME = 1707425104.25  # the official auth-key sample's unixtime, and a quarter second


class ManualClock:
    """`now()` for a session: a time the test sets (`.t`) or moves (`advance`) by hand."""

    def __init__(self, t: Any = SAMPLE_TIME) -> None:
        self.t = t

    def __call__(self) -> Any:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class ShiftedClock:
    """A clock for the test DCs' world: the real time plus a shift the test moves forward."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


# ----------------------------------------------------------------------------------------------
# Memory


class MemoryUse(NamedTuple):
    peak: int  # traced bytes at the highest, above those live when the operation started
    retained: int  # traced bytes still held when it ended
    result: Any  # what it returned (None when it raised)
    error: BaseException | None  # what it raised, one of the errors it was expected to raise


def memory_use(operation: Callable[[], Any],
               expected_errors: type[BaseException] | tuple[type[BaseException], ...] = (),
               ) -> MemoryUse:
    """What `operation()` allocated, traced by tracemalloc (the compiled modules allocate
    through the traced allocators too). An exception it raises that is not one of
    `expected_errors` goes through."""
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        try:
            result, error = operation(), None
        except expected_errors as exc:
            result, error = None, exc
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return MemoryUse(peak - baseline, current - baseline, result, error)


# ----------------------------------------------------------------------------------------------
# Sockets and the test DCs


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


API_ID = 12345
API_HASH = "0123456789abcdef0123456789abcdef"


@functools.lru_cache(maxsize=1)
def rsa_key() -> RSAPrivateKey:
    """The test DCs' key, generated once per process (a generation takes a noticeable moment)."""
    return RSAPrivateKey.generate()


def run_scenario(coroutine_function: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Run a scenario with a deadline; fail if it leaves any task behind. Returns its result."""

    async def main() -> Any:
        result = await asyncio.wait_for(coroutine_function(), timeout)
        await asyncio.sleep(0)
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not leftover, f"tasks left behind: {leftover}"
        return result

    return asyncio.run(main())


def cluster(dc_ids: tuple[int, ...] = (1, 2, 3), **options: Any) -> DataCentres:
    """Test DCs on loopback with the shared key (not started: `async with` them)."""
    return DataCentres(dc_ids=dc_ids, rsa_key=rsa_key(), **options)


def client_for(dcs: DataCentres, dc_id: int = 2, session: Any = None, **options: Any) -> Client:
    """A client whose home is `dc_id` of `dcs`, trusting their key (not connected)."""
    host, port = dcs.address(dc_id)
    return Client(API_ID, API_HASH, session, dc=(dc_id, host, port), rsa_keys=[dcs.public_key],
                  **options)


def authorize_new_account(dcs: DataCentres, client: Client, dc_id: int = 2) -> Any:
    """A new account (Alice) whose session is the client's auth key on `dc_id`: the test DCs'
    shortcut for a login, no QR code. The client must have connected to `dc_id`."""
    account = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=dc_id)
    connection = client.connection(dc_id)
    assert connection is not None and connection.auth_key is not None
    dcs.authorize(auth_key_id(connection.auth_key), account)
    return account


def record_calls(dcs: DataCentres) -> list[str]:
    """The names of the methods the DCs are asked from now on, in order (inside the
    invokeWithLayer / initConnection / invokeWithoutUpdates wrappers), each then answered as
    usual; through `request_hook`, which this takes."""
    seen: list[str] = []

    def record(held: Any) -> bool:
        request = held.request
        while hasattr(request, "query"):
            request = request.query
        seen.append(request.TL_NAME)
        return False  # not held: the world answers it

    dcs.request_hook = record
    return seen
