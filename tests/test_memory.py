"""Memory: the codec leaks nothing per call, and copies a large token exactly once.

The compiled codec manages references by hand (objects are allocated without __init__ and their
slots filled directly; buffers are exported and released), so a missing DECREF or release
would leak on every call. Leaks are looked for three ways, each catching what the others miss:

- `sys.getallocatedblocks()`: every live small-object block; one leaked object per call shows
  as one block per iteration. Cheap, so it runs over the long loop.
- reference counts of objects every call touches (the classes: each instance holds a reference
  to its type; the plans; True/False/None; the input), which drift on an INCREF without DECREF
  even when nothing is allocated.
- `tracemalloc` on a shorter loop: any net traced growth, with a snapshot diff on failure.

Loop counts: tracemalloc hooks every allocation and makes a decode ~10x slower, and the twin is
~20x slower than the compiled codec, so the million-iteration loop is the compiled codec's
untraced loop; traced loops and the twin use fewer iterations. Any per-call leak still shows
as at least `loops` blocks or `loops * 16` traced bytes, far above the tolerances.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from typing import Any, Callable

import pytest

import tlcodec
from tlcodec import DecodeError
from tlcodec.functions.auth import ImportLoginToken
from tlcodec.types import (
    EmojiStatus,
    PeerColor,
    User,
    UserProfilePhoto,
    UserStatusOffline,
    Username,
)
from tlcodec.types.auth import Authorization, LoginToken, LoginTokenSuccess

from support import memory_use

IS_COMPILED = tlcodec.IS_COMPILED
LOOPS = 1_000_000 if IS_COMPILED else 20_000  # the untraced loop
TRACED_LOOPS = 20_000 if IS_COMPILED else 2_000  # under tracemalloc
ERROR_LOOPS = 100_000 if IS_COMPILED else 6_000  # raising DecodeError costs more than decoding
WARM_UP = 2_000 if IS_COMPILED else 500

BLOCK_TOLERANCE = 100  # free lists and caches settle during the warm-up
REFCOUNT_TOLERANCE = 10
TRACED_TOLERANCE = 4 * 1024  # bytes
MiB = 1 << 20

ONE_COPY_IS_COMPILED_ONLY = pytest.mark.skipif(
    not IS_COMPILED,
    reason="the one-copy guarantee is the compiled codec's: the twin encodes into a bytearray "
    "and copies it into bytes, and copies non-bytes input before slicing",
)


def realistic_login_token_success() -> LoginTokenSuccess:
    """What the server sends when a QR login is accepted: a full user, as a real client sees it."""
    user = User(
        self=True,
        premium=True,
        id=5_123_456_789,
        access_hash=-7_654_321_987_654_321,
        first_name="Alice",
        last_name="Liddell",
        username="alice",
        phone="15550001111",
        photo=UserProfilePhoto(
            photo_id=6_000_000_001, dc_id=2, stripped_thumb=b"\x01\x28\x28" * 30
        ),
        status=UserStatusOffline(was_online=1_700_000_000),
        lang_code="en",
        emoji_status=EmojiStatus(document_id=5_000_000_123, until=1_800_000_000),
        usernames=[Username(username="alice", editable=True, active=True)],
        color=PeerColor(color=3, background_emoji_id=77),
    )
    return LoginTokenSuccess(
        authorization=Authorization(user=user, tmp_sessions=3, future_auth_token=b"\x02" * 32)
    )


TOKEN = realistic_login_token_success()
DATA = tlcodec.encode(TOKEN)

# Objects each decode or encode touches: a reference kept by mistake shows on one of them.
WATCHED: dict[str, Any] = {
    "True": True,
    "False": False,
    "None": None,
    "input bytes": DATA,
    **{cls.__name__: cls for cls in (LoginTokenSuccess, Authorization, User, Username)},
    **{f"plan of {cls.__name__}": cls.__tl_plan__ for cls in (LoginTokenSuccess, User)},
}


def refcounts(watched: dict[str, Any]) -> dict[str, int]:
    return {name: sys.getrefcount(obj) for name, obj in watched.items()}


def assert_no_growth(operation: Callable[[], Any], loops: int, watched: dict[str, Any]) -> None:
    """Run `operation` `loops` times; no blocks, GC objects or references may accumulate."""
    for _ in range(WARM_UP):
        operation()
    gc.collect()
    blocks = sys.getallocatedblocks()
    gc_objects = len(gc.get_objects())
    refs = refcounts(watched)

    for _ in range(loops):
        operation()

    gc.collect()
    grown_blocks = sys.getallocatedblocks() - blocks
    grown_objects = len(gc.get_objects()) - gc_objects
    drift = {
        name: after - refs[name]
        for name, after in refcounts(watched).items()
        if abs(after - refs[name]) > REFCOUNT_TOLERANCE
    }
    assert grown_blocks <= BLOCK_TOLERANCE, f"{grown_blocks} blocks more after {loops} calls"
    assert grown_objects <= BLOCK_TOLERANCE, f"{grown_objects} GC objects more after {loops} calls"
    assert not drift, f"reference counts drifted after {loops} calls: {drift}"


def assert_no_traced_growth(operation: Callable[[], Any], loops: int) -> None:
    """Under tracemalloc, after a warm-up: the traced memory does not grow over `loops` calls."""
    tracemalloc.start()
    try:
        for _ in range(WARM_UP):
            operation()
        gc.collect()
        before_snapshot = tracemalloc.take_snapshot()
        before = tracemalloc.get_traced_memory()[0]  # after the snapshot, which is traced too
        for _ in range(loops):
            operation()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        if grown > TRACED_TOLERANCE:
            top = tracemalloc.take_snapshot().compare_to(before_snapshot, "lineno")[:5]
            pytest.fail(
                f"{grown} traced bytes more after {loops} calls; largest growth:\n"
                + "\n".join(str(stat) for stat in top)
            )
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------------------------
# (a) No growth per call


def test_decoding_a_login_token_success_many_times_keeps_no_memory() -> None:
    assert_no_growth(lambda: tlcodec.decode(DATA), LOOPS, WATCHED)


def test_decoding_under_tracemalloc_leaves_no_traced_growth() -> None:
    assert_no_traced_growth(lambda: tlcodec.decode(DATA), TRACED_LOOPS)


def test_decoding_other_buffer_types_and_the_reader_keep_no_memory() -> None:
    array, view = bytearray(DATA), memoryview(DATA)

    def decode_every_way() -> None:
        tlcodec.decode(array)
        tlcodec.decode(view, LoginTokenSuccess)
        reader = tlcodec.Reader(array)
        reader.read_object("auth.LoginToken")

    assert_no_growth(decode_every_way, LOOPS // 10, {**WATCHED, "bytearray": array})
    assert_no_traced_growth(decode_every_way, TRACED_LOOPS // 10)


def test_decoded_values_hold_no_extra_references() -> None:
    # Once the decoded tree is dropped, a value taken out of it is referenced by this frame
    # (and getrefcount's argument) only: an extra INCREF in the decoder would show here.
    token = tlcodec.decode(DATA).authorization.future_auth_token
    user = tlcodec.decode(DATA).authorization.user
    name = tlcodec.decode(DATA).authorization.user.first_name
    usernames = tlcodec.decode(DATA).authorization.user.usernames
    assert token == b"\x02" * 32 and name == "Alice"
    assert sys.getrefcount(token) == 2
    assert sys.getrefcount(user) == 2
    assert sys.getrefcount(name) == 2
    assert sys.getrefcount(usernames) == 2
    assert sys.getrefcount(tlcodec.decode(DATA)) == 2


def test_encoding_many_times_keeps_no_memory() -> None:
    user = TOKEN.authorization.user
    watched = {
        **WATCHED,
        "object": TOKEN,
        "user": user,
        "first_name": user.first_name,
        "usernames": user.usernames,
        "future_auth_token": TOKEN.authorization.future_auth_token,
    }
    assert_no_growth(lambda: tlcodec.encode(TOKEN), LOOPS, watched)
    assert_no_traced_growth(lambda: tlcodec.encode(TOKEN), TRACED_LOOPS)
    encoded = tlcodec.encode(TOKEN)
    assert encoded == DATA
    assert sys.getrefcount(encoded) == 2  # the result is owned by the caller alone


# Cut points that fail at different depths: in the outer id, in a flag word, inside the user's
# strings, inside the usernames vector, in the last field.
CUTS = [2, 9, 60, len(DATA) // 2, len(DATA) - 40, len(DATA) - 1]


@pytest.mark.parametrize("cut", CUTS)
def test_rejecting_truncated_input_keeps_no_memory(cut: int) -> None:
    # A decode that fails part-way has already built some objects: all of them must be freed.
    truncated = DATA[:cut]

    def reject() -> None:
        try:
            tlcodec.decode(truncated)
        except DecodeError:
            return
        raise AssertionError("truncated input was accepted")

    loops = ERROR_LOOPS // len(CUTS)
    assert_no_growth(reject, loops, {**WATCHED, "input bytes": truncated})
    assert_no_traced_growth(reject, TRACED_LOOPS // len(CUTS))


def test_buffers_are_released_after_decoding_and_after_errors() -> None:
    # A bytearray cannot be resized while a buffer export is held: a decode (or a failed one,
    # or a Reader that was dropped) that forgot to release its export would make this raise.
    array = bytearray(DATA)
    for _ in range(1000):
        tlcodec.decode(array)
        with pytest.raises(DecodeError):
            tlcodec.decode(array, "User")
        reader = tlcodec.Reader(array)
        reader.read_object()
        del reader
    array.extend(b"\0\0\0\0")  # BufferError if an export leaked
    with pytest.raises(DecodeError):
        tlcodec.decode(array)  # four trailing bytes
    del array[-4:]
    assert tlcodec.decode(array) == TOKEN


# --------------------------------------------------------------------------------------------
# (b) A 1 MiB token is copied once


BUFFER_TYPES = pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
BIG_TOKEN = bytes(range(256)) * 4096  # 1 MiB


def as_kind(kind: type, data: bytes) -> Any:
    return kind(data) if kind is not memoryview else memoryview(bytearray(data))


@ONE_COPY_IS_COMPILED_ONLY
@BUFFER_TYPES
def test_encoding_a_1mib_token_copies_it_once(kind: type) -> None:
    request = ImportLoginToken(token=as_kind(kind, BIG_TOKEN))
    peak, retained, encoded, _ = memory_use(lambda: tlcodec.encode(request))
    assert len(encoded) == 4 + 4 + MiB
    # The output is the one copy: no intermediate buffer of the token's size on the way.
    assert retained <= 1.1 * MiB, f"{retained} bytes kept for a {MiB}-byte token"
    assert peak <= 1.1 * MiB, f"encoding peaked {peak} bytes above the baseline"
    assert encoded[8:] == BIG_TOKEN


@ONE_COPY_IS_COMPILED_ONLY
@BUFFER_TYPES
def test_decoding_a_1mib_token_copies_it_once(kind: type) -> None:
    data = as_kind(kind, tlcodec.encode(LoginToken(expires=1_700_000_000, token=BIG_TOKEN)))
    peak, retained, decoded, _ = memory_use(lambda: tlcodec.decode(data))
    # The token's bytes object is the one copy; the input is read in place.
    assert retained <= 1.1 * MiB, f"{retained} bytes kept for a {MiB}-byte token"
    assert peak <= 1.1 * MiB, f"decoding peaked {peak} bytes above the baseline"
    assert type(decoded.token) is bytes and decoded.token == BIG_TOKEN


@ONE_COPY_IS_COMPILED_ONLY
@BUFFER_TYPES
def test_reading_a_1mib_token_from_a_reader_copies_it_once(kind: type) -> None:
    data = as_kind(kind, tlcodec.encode(LoginToken(expires=1, token=BIG_TOKEN)))

    def read() -> Any:
        reader = tlcodec.Reader(data)
        reader.read_raw(8)  # the id and `expires`
        return reader.read_bytes()

    peak, retained, token, _ = memory_use(read)
    assert retained <= 1.1 * MiB and peak <= 1.1 * MiB, (peak, retained)
    assert token == BIG_TOKEN


def test_decoding_a_1mib_token_from_bytes_copies_it_once_in_both_implementations() -> None:
    # Where the twin can keep the promise too (bytes input: one slice), it is held to it.
    data = tlcodec.encode(LoginToken(expires=1_700_000_000, token=BIG_TOKEN))
    peak, retained, decoded, _ = memory_use(lambda: tlcodec.decode(data))
    assert retained <= 1.1 * MiB and peak <= 1.1 * MiB, (peak, retained)
    assert decoded.token == BIG_TOKEN
