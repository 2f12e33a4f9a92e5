"""The package imports, the selected implementation is the one asked for, and a round trip works."""

from __future__ import annotations

import pytest

import tlcodec
from tlcodec import _runtime
from tlcodec.client._plumbing import Reply
from tlcodec.client.calls import DcCalls
from tlcodec.client.connection import DcConnection
from tlcodec.functions.auth import ImportLoginToken
from tlcodec.mtproto.client_session import ClientSession, PendingRequest
from tlcodec.mtproto.server_session import ServerSession
from tlcodec.mtproto.session import EncryptedSession


def compiled_expected(part: str) -> bool:
    """Whether `part` must run compiled here. A failed build must never hide behind the plain
    code: only TLCODEC_NO_EXTENSIONS, or an install that has no compiled module for the part at
    all (built without a compiler, or a platform it is not built on: a skip saying so), excuse
    it; TLCODEC_REQUIRE_EXTENSIONS=1 (CI) excuses only the first."""
    if part in _runtime.PLAIN_REQUESTED:
        return False
    runs = tlcodec.ACCELERATED[part]
    if not runs and not _runtime.REQUIRE_EXTENSIONS and "not built" in str(runs.why_not):
        pytest.skip(f"this install has no compiled {part}: {runs.why_not}")
    return True


def test_compiled_module_loaded_unless_twin_requested() -> None:
    if not compiled_expected("codec"):
        assert not _runtime.IS_COMPILED
    else:
        assert _runtime.IS_COMPILED, (
            f"tlcodec._codec did not load: {tlcodec.ACCELERATED['codec'].why_not}")
        assert tlcodec.IS_COMPILED


def test_compiled_builds_of_session_and_connection_in_use_unless_twin_requested() -> None:
    # session.py and connection.py are each also built by Cython (_session_c, which the builds
    # of client_session.py and server_session.py cimport, and _connection_c, which cimports the
    # builds of calls.py and _plumbing.py); their modules hand out the
    # compiled classes, or their own with TLCODEC_NO_EXTENSIONS.
    for cls, part, plain, compiled in (
        (EncryptedSession, "session", "tlcodec.mtproto.session", "tlcodec.mtproto._session_c"),
        (ClientSession, "session", "tlcodec.mtproto.client_session",
         "tlcodec.mtproto._client_session_c"),
        (PendingRequest, "session", "tlcodec.mtproto.client_session",
         "tlcodec.mtproto._client_session_c"),
        (ServerSession, "session", "tlcodec.mtproto.server_session",
         "tlcodec.mtproto._server_session_c"),
        (DcConnection, "connection", "tlcodec.client.connection", "tlcodec.client._connection_c"),
        (DcCalls, "connection", "tlcodec.client.calls", "tlcodec.client._calls_c"),
        (Reply, "connection", "tlcodec.client._plumbing", "tlcodec.client._plumbing_c"),
    ):
        declared = _runtime.PARTS[part]
        assert compiled in (declared.compiled_module, *(m for m, _ in declared.cimported))
        assert cls.__module__ == (compiled if compiled_expected(part) else plain), (
            f"{compiled} is not in use: {tlcodec.ACCELERATED[part].why_not}")


def test_import_login_token_round_trip() -> None:
    token = bytes(range(1, 33))
    data = tlcodec.encode(ImportLoginToken(token=token))
    assert data.hex() == "e45cac9520" + token.hex() + "000000"
    assert tlcodec.decode(data) == ImportLoginToken(token=token)


WIRE_CONSTANTS = ("K_INT", "K_LONG", "K_DOUBLE", "K_INT128", "K_INT256", "K_STRING", "K_BYTES",
                  "K_BOOL", "K_TRUE", "K_FLAGS", "K_BOXED", "K_QUERY", "K_BARE", "K_VECTOR",
                  "K_BARE_VECTOR", "VECTOR_ID", "BOOL_TRUE_ID", "BOOL_FALSE_ID", "GZIP_PACKED_ID",
                  "MAX_DEPTH", "DEFAULT_MAX_INFLATED", "MAX_BYTES_LENGTH")


def test_both_codecs_number_kinds_and_limits_alike() -> None:
    # The compiled codec switches on C enum values, which its twin cannot import: each writes
    # them, and this is where they must agree (a TypeSpec made with one build's kind is read
    # by the other's plans in the differential tests).
    from tlcodec import _codec_py

    compiled = _runtime.compiled_module("codec")
    if compiled is None:
        pytest.skip("the compiled codec does not run here")
    assert {name: getattr(compiled, name) for name in WIRE_CONSTANTS} == {
        name: getattr(_codec_py, name) for name in WIRE_CONSTANTS}
