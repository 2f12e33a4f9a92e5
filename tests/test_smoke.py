"""The package imports, the selected implementation is the one asked for, and a round trip works."""

from __future__ import annotations

import os

import tlcodec
from tlcodec import _runtime
from tlcodec.client.connection import DcConnection, _Reply
from tlcodec.functions.auth import ImportLoginToken
from tlcodec.mtproto.session import EncryptedSession, PendingRequest


def test_compiled_module_loaded_unless_twin_requested() -> None:
    # A failed build must never hide behind the pure-Python twin.
    if os.environ.get("TLCODEC_NO_EXTENSIONS"):
        assert not _runtime.IS_COMPILED
    else:
        assert _runtime.IS_COMPILED, "tlcodec._codec did not load: the extension is not built"
        assert tlcodec.IS_COMPILED


def test_compiled_builds_of_session_and_connection_in_use_unless_twin_requested() -> None:
    # session.py and connection.py are each also built by Cython (_session_c, _connection_c);
    # their modules hand out the compiled classes, or their own with TLCODEC_NO_EXTENSIONS.
    twin = bool(os.environ.get("TLCODEC_NO_EXTENSIONS"))
    for cls, plain, compiled in (
        (EncryptedSession, "tlcodec.mtproto.session", "tlcodec.mtproto._session_c"),
        (PendingRequest, "tlcodec.mtproto.session", "tlcodec.mtproto._session_c"),
        (DcConnection, "tlcodec.client.connection", "tlcodec.client._connection_c"),
        (_Reply, "tlcodec.client.connection", "tlcodec.client._connection_c"),
    ):
        assert cls.__module__ == (plain if twin else compiled), f"{compiled} is not in use"


def test_import_login_token_round_trip() -> None:
    token = bytes(range(1, 33))
    data = tlcodec.encode(ImportLoginToken(token=token))
    assert data.hex() == "e45cac9520" + token.hex() + "000000"
    assert tlcodec.decode(data) == ImportLoginToken(token=token)
