"""The package imports, the selected implementation is the one asked for, and a round trip works."""

from __future__ import annotations

import os

import tlcodec
from tlcodec import _runtime
from tlcodec.functions.auth import ImportLoginToken


def test_compiled_module_loaded_unless_twin_requested() -> None:
    # A failed build must never hide behind the pure-Python twin.
    if os.environ.get("TLCODEC_NO_EXTENSIONS"):
        assert not _runtime.IS_COMPILED
    else:
        assert _runtime.IS_COMPILED, "tlcodec._codec did not load: the extension is not built"
        assert tlcodec.IS_COMPILED


def test_import_login_token_round_trip() -> None:
    token = bytes(range(1, 33))
    data = tlcodec.encode(ImportLoginToken(token=token))
    assert data.hex() == "e45cac9520" + token.hex() + "000000"
    assert tlcodec.decode(data) == ImportLoginToken(token=token)
