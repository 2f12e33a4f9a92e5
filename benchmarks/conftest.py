"""Shared payloads for the tlcodec vs Telethon 1.45 benchmarks (see benchmarks/README.md).

Every payload is built once per session, and before anything is timed we check that both
implementations do the same work on it: the two encoders produce the same bytes, and the two
decoders turn those bytes into equivalent objects. The timed callables (bench_support.py) are
chosen so that each side is called the way its users call it, with the same harness overhead:

- encode a prebuilt object: `tlcodec.encode(obj)` vs `bytes(obj)` (Telethon's `_bytes()`).
- build + encode: `tlcodec.encode(ImportLoginToken(token=t))` vs
  `bytes(ImportLoginTokenRequest(token=t))`.
- decode: `tlcodec.decode(data)` vs `BinaryReader(data).tgread_object()` (Telethon has no
  single decode call; this is how it reads a boxed object).
Each runs in the same batch loop inside one function per side (bench_support.py).
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import telethon
from telethon.crypto import aes as telethon_aes
from telethon.tl import functions as tl_functions
from telethon.tl import types as tl_types

import tlcodec
from tlcodec import types as ours_types
from tlcodec.functions.auth import ImportLoginToken
from tlcodec.functions.messages import SendMessage

from bench_support import (
    EXPIRES,
    PHOTO_FIELDS,
    STATUS_EXPIRES,
    TOKEN_1MIB,
    TOKEN_32,
    USER_FIELDS,
    telethon_build_encode,
    telethon_decode_once,
    tlcodec_build_encode,
)

# tests/telethon_peer.py (Telethon's half of the auth-key exchange, in memory) and
# tests/realistic_payloads.py (the full layer's realistic traffic) serve the benchmarks too: one
# copy of each.
sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))

import realistic_payloads  # noqa: E402  (found through the line above)

# ---------------------------------------------------------------------------------------------
# Equivalence of the two object models


def assert_equivalent(ours: Any, theirs: Any, path: str = "") -> None:
    """Field-by-field comparison of a tlcodec object with a Telethon object.

    Telethon renames the TL field `self` to `is_self`; every other field keeps its TL name in
    both libraries. Absent `flags.N?true` fields are False on both sides after decoding.
    Telethon turns date-like int fields (`expires`, `date`, ...) into aware datetimes, which is
    part of the work its decoder does; tlcodec keeps the wire int.
    """
    plan = getattr(type(ours), "__tl_plan__", None)
    if plan is not None:
        where = path or plan.tl_name
        assert type(ours).CONSTRUCTOR_ID == type(theirs).CONSTRUCTOR_ID, where
        for attr in plan.attrs:
            their_attr = "is_self" if attr == "self" else attr
            assert_equivalent(getattr(ours, attr), getattr(theirs, their_attr), f"{where}.{attr}")
    elif isinstance(ours, list):
        assert isinstance(theirs, list) and len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_equivalent(a, b, f"{path}[{i}]")
    elif isinstance(theirs, datetime.datetime):
        assert isinstance(ours, int), path
        assert ours == int(theirs.timestamp()), f"{path}: {ours!r} != {theirs!r}"
    else:
        assert type(ours) is type(theirs) and ours == theirs, f"{path}: {ours!r} != {theirs!r}"


def same_work(ours_obj: Any, theirs_obj: Any) -> bytes:
    """The wire bytes both libraries agree on, after checking encode and decode match."""
    data = tlcodec.encode(ours_obj)
    assert bytes(theirs_obj) == data, "tlcodec and Telethon encode the payload differently"
    assert_equivalent(tlcodec.decode(data), telethon_decode_once(data))
    return data


# ---------------------------------------------------------------------------------------------
# Payloads


def ours_login_token_success() -> Any:
    user = ours_types.User(
        **USER_FIELDS,
        photo=ours_types.UserProfilePhoto(**PHOTO_FIELDS),
        status=ours_types.UserStatusOnline(expires=STATUS_EXPIRES),
    )
    # Set after construction: the pure-Python twin cannot take `self=` by keyword yet (pinned by
    # tests/test_properties.py::test_every_field_can_be_passed_by_keyword).
    user.self = True
    return ours_types.auth.LoginTokenSuccess(authorization=ours_types.auth.Authorization(user=user))


def telethon_login_token_success() -> Any:
    user = tl_types.User(
        is_self=True,
        **USER_FIELDS,
        photo=tl_types.UserProfilePhoto(**PHOTO_FIELDS),
        status=tl_types.UserStatusOnline(expires=STATUS_EXPIRES),
    )
    return tl_types.auth.LoginTokenSuccess(authorization=tl_types.auth.Authorization(user=user))


@pytest.fixture(scope="session")
def import_login_token() -> dict[str, Any]:
    """A prebuilt ImportLoginToken(token=32 B) per implementation, checked to encode alike."""
    objs = {
        "tlcodec": ImportLoginToken(token=TOKEN_32),
        "telethon": tl_functions.auth.ImportLoginTokenRequest(token=TOKEN_32),
    }
    same_work(objs["tlcodec"], objs["telethon"])
    assert tlcodec_build_encode(TOKEN_32) == telethon_build_encode(TOKEN_32)
    return objs


@pytest.fixture(scope="session")
def import_login_token_1mib() -> dict[str, Any]:
    """A prebuilt ImportLoginToken with a 1 MiB token per implementation."""
    objs = {
        "tlcodec": ImportLoginToken(token=TOKEN_1MIB),
        "telethon": tl_functions.auth.ImportLoginTokenRequest(token=TOKEN_1MIB),
    }
    same_work(objs["tlcodec"], objs["telethon"])
    return objs


@pytest.fixture(scope="session")
def login_token_bytes() -> bytes:
    """auth.loginToken with a 32-byte token, as the server sends it."""
    return same_work(
        ours_types.auth.LoginToken(expires=EXPIRES, token=TOKEN_32),
        tl_types.auth.LoginToken(expires=EXPIRES, token=TOKEN_32),
    )


@pytest.fixture(scope="session")
def login_token_1mib_bytes() -> bytes:
    """auth.loginToken with a 1 MiB token (a 4-byte length header, then 1 MiB, no padding)."""
    return same_work(
        ours_types.auth.LoginToken(expires=EXPIRES, token=TOKEN_1MIB),
        tl_types.auth.LoginToken(expires=EXPIRES, token=TOKEN_1MIB),
    )


@pytest.fixture(scope="session")
def login_token_success_bytes() -> bytes:
    """auth.loginTokenSuccess{authorization{user{photo, status, username, phone, ...}}}."""
    return same_work(ours_login_token_success(), telethon_login_token_success())


@pytest.fixture(scope="session")
def history_bytes() -> bytes:
    """messages.messages: 100 messages with entities and media, 20 users, 5 chats
    (tests/realistic_payloads.py), built alike by both libraries."""
    return same_work(realistic_payloads.messages_messages(ours_types),
                     realistic_payloads.messages_messages(tl_types))


@pytest.fixture(scope="session")
def updates_bytes() -> bytes:
    """updates#74ae4240: 40-odd updates of a busy account with their users and chats."""
    return same_work(realistic_payloads.updates_batch(ours_types),
                     realistic_payloads.updates_batch(tl_types))


@pytest.fixture(scope="session")
def send_message() -> dict[str, Any]:
    """A prebuilt messages.sendMessage with seven entities per implementation, checked to
    encode alike (and to build alike: the build + encode callables return the same bytes)."""
    objs = {
        "tlcodec": realistic_payloads.send_message_request(ours_types, SendMessage),
        "telethon": realistic_payloads.send_message_request(
            tl_types, tl_functions.messages.SendMessageRequest),
    }
    data = tlcodec.encode(objs["tlcodec"])
    assert bytes(objs["telethon"]) == data, "tlcodec and Telethon encode sendMessage differently"
    return objs


def pytest_benchmark_update_machine_info(config: Any, machine_info: dict[str, Any]) -> None:
    # Recorded in the JSON so a table always says which codec and which Telethon it compared.
    machine_info["tlcodec_compiled"] = bool(tlcodec.IS_COMPILED)
    machine_info["tlcodec_version"] = tlcodec.__version__
    machine_info["telethon_version"] = telethon.__version__
    machine_info["telethon_aes"] = "cryptg" if telethon_aes.cryptg is not None else "not cryptg"


# Rounds of at least this long unless --benchmark-min-time is given: pytest-benchmark's default
# (5 us) leaves the timer's own cost at a few percent of each round for the ~100 ns operations.
MIN_ROUND_SECONDS = 20e-6


def pytest_configure(config: Any) -> None:
    if telethon_aes.cryptg is None:
        # Without it Telethon's AES runs through ctypes or pure Python: the ratios would flatter.
        pytest.exit("Telethon runs without cryptg here: pip install -e '.[bench]' first", 4)
    # Runs before pytest-benchmark's own (trylast) pytest_configure reads the option.
    given = " ".join([*config.invocation_params.args, os.environ.get("PYTEST_ADDOPTS", "")])
    if "--benchmark-min-time" not in given:
        config.option.benchmark_min_time = MIN_ROUND_SECONDS
    # pytest-benchmark writes --benchmark-json only at the very end, into an existing folder.
    json_path = getattr(config.option, "benchmark_json", None)
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
