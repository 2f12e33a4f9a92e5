"""Constants and timed callables shared by the benchmark files (fixtures are in conftest.py).

The timed callables are module-level functions or builtins, so both sides pay the same call
overhead: see conftest.py for how each operation is called on each side.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import pytest

from telethon.extensions import BinaryReader
from telethon.tl import types as telethon_types
from telethon.tl.functions.auth import ImportLoginTokenRequest
from telethon.tl.functions.messages import SendMessageRequest

import tlcodec
from tlcodec import encode as tlcodec_encode
from tlcodec import types as tlcodec_types
from tlcodec.functions.auth import ImportLoginToken
from tlcodec.functions.messages import SendMessage

# The tests' reference data (the official layer-228 schema, verbatim): see tests/data/README.md.
REFERENCE_DATA = Path(__file__).resolve().parents[1] / "tests" / "data"

IMPLS = ["tlcodec", "telethon"]

EXPIRES = 1_767_225_600  # 2026-01-01, a plausible expiry for a login token
TOKEN_32 = bytes((i * 37 + 11) % 256 for i in range(32))
ONE_MIB = 1 << 20
# Not all zeros, so nothing can cheat with a calloc'ed or shared zero page.
TOKEN_1MIB = bytes(range(256)) * (ONE_MIB // 256)

# A realistic logged-in user as auth.loginTokenSuccess returns it: self, access hash, names,
# username, phone, a profile photo with its stripped thumbnail, and an online status.
USER_FIELDS: dict[str, Any] = dict(
    id=5_912_345_678,
    access_hash=-6_148_914_691_236_517_206,
    first_name="Alice",
    last_name="Liddell",
    username="alice_in_wonderland",
    phone="447700900123",
)
PHOTO_FIELDS: dict[str, Any] = dict(
    photo_id=5_334_512_345_678_901_234,
    stripped_thumb=bytes([1, 40, 40]) + bytes((i * 131 + 7) % 256 for i in range(117)),
    dc_id=4,
)
STATUS_EXPIRES = 1_767_225_900


def reference_file(name: str) -> Path:
    """tests/data/`name`. It ships with the source tree, so a missing file is an error: the
    benchmark fails, it does not skip."""
    path = REFERENCE_DATA / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: the benchmarks read the tests' reference data "
                    "(see tests/data/README.md)", pytrace=False)
    return path


# ---------------------------------------------------------------------------------------------
# The timed callables. A sub-microsecond operation is timed in batches of OPS_PER_CALL inside one
# module-level function, the same loop on both sides, so pytest-benchmark's per-call overhead
# (~80 ns here, as much as the operation itself) is spread over the batch; the report divides
# by `extra_info["ops_per_call"]`. What remains per operation is one `for` step (~10 ns), the
# same for both columns.

OPS_PER_CALL = 100
_BATCH = range(OPS_PER_CALL)


def tlcodec_build_encode(token: bytes) -> bytes:
    for _ in _BATCH:
        data = tlcodec_encode(ImportLoginToken(token=token))
    return data


def telethon_build_encode(token: bytes) -> bytes:
    for _ in _BATCH:
        data = bytes(ImportLoginTokenRequest(token=token))
    return data


def tlcodec_encode_prebuilt(obj: Any) -> bytes:
    for _ in _BATCH:
        data = tlcodec_encode(obj)
    return data


def telethon_encode_prebuilt(obj: Any) -> bytes:
    for _ in _BATCH:
        data = bytes(obj)
    return data


def tlcodec_decode(data: bytes) -> Any:
    decode = tlcodec.decode
    for _ in _BATCH:
        obj = decode(data)
    return obj


def telethon_decode(data: bytes) -> Any:
    for _ in _BATCH:
        obj = BinaryReader(data).tgread_object()
    return obj


def telethon_decode_once(data: bytes) -> Any:
    return BinaryReader(data).tgread_object()


def tlcodec_build_encode_send_message(build: Callable[[Any, type], Any]) -> bytes:
    return tlcodec_encode(build(tlcodec_types, SendMessage))


def telethon_build_encode_send_message(build: Callable[[Any, type], Any]) -> bytes:
    return bytes(build(telethon_types, SendMessageRequest))


def loop_overhead(x: Any) -> Any:
    for _ in _BATCH:
        y = id(x)
    return y


BUILD_ENCODE: dict[str, Callable[[bytes], bytes]] = {
    "tlcodec": tlcodec_build_encode,
    "telethon": telethon_build_encode,
}
ENCODE: dict[str, Callable[[Any], bytes]] = {
    "tlcodec": tlcodec_encode_prebuilt,
    "telethon": telethon_encode_prebuilt,
}
DECODE: dict[str, Callable[[bytes], Any]] = {
    "tlcodec": tlcodec_decode,
    "telethon": telethon_decode,
}
# One operation per call, for the 1 MiB rows.
ENCODE_ONCE: dict[str, Callable[[Any], bytes]] = {"tlcodec": tlcodec_encode, "telethon": bytes}
DECODE_ONCE: dict[str, Callable[[bytes], Any]] = {
    "tlcodec": tlcodec.decode,
    "telethon": telethon_decode_once,
}

# Build (the same builder function, given each library's classes) + encode messages.sendMessage;
# one operation per call (several microseconds: the harness's ~80 ns is noise).
BUILD_ENCODE_SEND_MESSAGE: dict[str, Callable[[Callable[[Any, type], Any]], bytes]] = {
    "tlcodec": tlcodec_build_encode_send_message,
    "telethon": telethon_build_encode_send_message,
}


def warm(fn: Callable[[Any], Any], arg: Any, seconds: float = 0.02) -> None:
    """Call `fn(arg)` for a moment before timing it.

    pytest-benchmark calibrates the iterations per round on the very first call; a cold first
    call (CPU caches, first-use allocations) can make it settle on one iteration per round, and
    then the timer's own cost (~50-100 ns here) sits in every sample of a sub-microsecond op.
    """
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            fn(arg)
