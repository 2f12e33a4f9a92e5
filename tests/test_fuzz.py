"""A short fuzz run of the decoder: hostile bytes may only ever raise DecodeError.

Decoding reads bytes from the network. Whatever arrives, `decode`, `Cls.from_bytes` and `Reader`
must either return a value or raise `DecodeError`: no other exception, no crash, no hang. What
they do return must be a value the encoder accepts and that decodes back to itself (not
necessarily to the input bytes: non-zero padding and unused flag bits are tolerated on input and
written as zeros). Both implementations are run on every input and must agree: same value, or a
DecodeError at the same offset.

The decoder is also asked for what a hostile caller may pass as `expected` (fuzz_inputs.py):
vectors of elements that take no bytes, %-bare types, names of nothing. A name the schema cannot
serve must be refused (SchemaError or TypeError) whatever the bytes, the same way in both builds.

Each input family is one Hypothesis test with a moderate budget (a few seconds in all). For a
longer run set TLCODEC_FUZZ_EXAMPLES (examples per family, e.g. 20000), or use the coverage-guided
atheris harness tests/fuzz_decode.py (docs/FUZZING.md).
"""

from __future__ import annotations

import faulthandler
import functools
import gzip
import os
import struct
import sys
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tlcodec
from tlcodec import DecodeError
from tlcodec.schema import Schema

from fuzz_inputs import HOSTILE_EXPECTED, json_chain, msg_container, nested_gzip, outcome
from support import BOOL_FALSE_ID, BOOL_TRUE_ID, VECTOR_ID, CodecBuild
from tl_strategies import Builder, any_object, same_tl

BUILDER = Builder(tlcodec.bundled.classes.values(), max_depth=3)
ANY_OBJECT = any_object(BUILDER)
CLASSES: dict[str, Any] = dict(tlcodec.bundled.classes)

KNOWN_IDS = sorted(
    {p.constructor_id for p in BUILDER.plans} | {VECTOR_ID, BOOL_TRUE_ID, BOOL_FALSE_ID}
)

# What the decoder is asked for: any object, boxed types, vectors of base, boxed and bare values,
# a bare constructor, and exact classes (from_bytes).
EXPECTED: list[Any] = [
    None,
    "Object",
    "auth.LoginToken",
    "User",
    "Bool",
    "Vector<long>",
    "Vector<User>",
    "Vector<Vector<int>>",
    "Vector<%future_salt>",
    "vector<long>",
    "msgs_ack",
    "JSONValue",
    "string",
    CLASSES["auth.loginTokenSuccess"],
    CLASSES["fn:invokeWithLayer"],
    CLASSES["msgs_ack"],
    CLASSES["rpc_result"],
    *HOSTILE_EXPECTED,
]

# Interesting 32-bit words for the "word soup" inputs: every id, and the counts and length
# prefixes that sit on boundaries.
BOUNDARY_WORDS = [
    0,
    1,
    2,
    3,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
    0xFD,  # a 253-byte short-form length
    0xFE | (254 << 8),  # the smallest long-form length
    0xFE | (253 << 8),  # a long form that should have been short
    0xFE | (0xFFFFFF << 8),  # the largest length
    0xFF,  # an undefined length byte
]

EXAMPLES = int(os.environ.get("TLCODEC_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # hangs are caught by the watchdog below, not by timing examples
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


# A decoder stuck in a C loop never returns to Python, so nothing short of ending the process can
# stop it: each input is given this long (decoding one takes well under a millisecond), after
# which every thread's stack is dumped to the real stderr and the process exits (the run fails).
HANG_SECONDS = 60
_watchdog_out: Any = None


@pytest.fixture(autouse=True)
def hang_watchdog(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    global _watchdog_out
    with capsys.disabled():  # the dump must reach the terminal, not pytest's capture
        _watchdog_out = os.fdopen(os.dup(sys.stderr.fileno()), "w")
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        _watchdog_out.close()
        _watchdog_out = None


@pytest.fixture(scope="module")
def other_schema(other_tl: CodecBuild) -> Schema:
    """The bundled definitions compiled by the implementation this run does not use."""
    return other_tl.bundled


# --------------------------------------------------------------------------------------------
# The harness


def comparable(value: Any, encode: Callable[[Any], bytes]) -> Any:
    """A value with TL objects replaced by their encodings and floats by their bits."""
    if isinstance(value, list):
        return [comparable(v, encode) for v in value]
    if isinstance(value, float):
        return struct.pack("<d", value)
    if hasattr(type(value), "__tl_plan__"):
        return ("tl", encode(value))
    return value


def check_stable(value: Any) -> None:
    """A decoded value must be encodable, and decode back to itself from its own encoding."""
    if isinstance(value, list):
        for item in value:
            check_stable(item)
        return
    if not hasattr(type(value), "__tl_plan__"):
        return
    encoded = tlcodec.encode(value)
    assert len(encoded) % 4 == 0
    again = tlcodec.decode(encoded, type(value))
    assert same_tl(again, value), f"{again!r} != {value!r}"
    assert tlcodec.encode(again) == encoded


def other_expected(expected: Any, schema: Schema) -> Any:
    if isinstance(expected, type):
        plan = expected.__tl_plan__
        return schema.get(plan.tl_name, function=plan.is_function)
    return expected


def exercise(data: bytes, other: Schema) -> None:
    """Every way of decoding `data`; only DecodeError may escape (and then the test fails)."""
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=_watchdog_out or sys.stderr)
    try:
        decode_every_way(data, other)
    finally:
        faulthandler.cancel_dump_traceback_later()


def decode_every_way(data: bytes, other: Schema) -> None:
    ours_as = functools.partial(comparable, encode=tlcodec.encode)
    theirs_as = functools.partial(comparable, encode=other.codec.encode)
    for expected in EXPECTED:
        ours = outcome(lambda blob: tlcodec.decode(blob, expected), data, ours_as)
        if ours[0] == "ok":
            check_stable(tlcodec.decode(data, expected))
        # The same bytes in the other buffer types, and in the other implementation.
        for buffer in (bytearray, memoryview):
            assert outcome(lambda blob: tlcodec.decode(buffer(blob), expected), data,
                           ours_as) == ours
        theirs_expected = other_expected(expected, other)
        theirs = outcome(lambda blob: other.decode(blob, theirs_expected), data, theirs_as)
        assert theirs == ours, f"expected={expected!r}: this codec {ours}, the other {theirs}"

    # Trailing bytes allowed, and a tight inflate limit (gzip_packed bodies).
    for options in ({"allow_trailing": True}, {"max_inflated": 64}):
        try:
            value = tlcodec.decode(data, **options)
        except DecodeError:
            continue
        check_stable(value)  # outside the try: its own DecodeError would be a bug

    read_stream(tlcodec.Reader(data), len(data))
    read_primitives(tlcodec.Reader(memoryview(data)))


def read_stream(reader: Any, size: int) -> None:
    """Objects one after another until the input ends or is rejected; always moving forward."""
    while reader.remaining:
        before = reader.position
        try:
            value = reader.read_object()
        except DecodeError:
            return
        assert before < reader.position <= size
        check_stable(value)


def read_primitives(reader: Any) -> None:
    """Each primitive read in turn; a failed read is a DecodeError and leaves a valid reader."""
    reads = [
        reader.read_int,
        reader.read_uint,
        reader.read_long,
        reader.read_double,
        reader.read_bytes,
        reader.read_string,
        reader.read_bool,
        lambda: reader.read_raw(3),
        lambda: reader.read_object("Vector<int>"),
    ]
    for read in reads * 3:
        try:
            read()
        except DecodeError:
            pass
        assert 0 <= reader.position and reader.remaining >= 0


# --------------------------------------------------------------------------------------------
# Input families


def words(values: list[int]) -> bytes:
    return b"".join(struct.pack("<I", v) for v in values)


@st.composite
def mutated_encodings(draw: Any) -> bytes:
    """A valid encoding with random flips, insertions, deletions and a random final length."""
    data = bytearray(tlcodec.encode(draw(ANY_OBJECT)))
    # Zero operations now and then: the untouched encoding exercises the success paths.
    for _ in range(draw(st.integers(0, 3))):
        operation = draw(st.sampled_from(["flip", "insert", "delete", "word", "resize"]))
        at = draw(st.integers(0, len(data)))
        if operation == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif operation == "word" and len(data) >= 4:
            # Overwrite an aligned word with an id or a boundary value: the structural bytes.
            at = min(at, len(data) - 4) & ~3
            data[at : at + 4] = words([draw(st.sampled_from(KNOWN_IDS + BOUNDARY_WORDS))])
        elif operation == "resize":
            data = data[:at] + draw(st.binary(max_size=8))
    return bytes(data)


word_soup = st.lists(
    st.sampled_from(KNOWN_IDS + BOUNDARY_WORDS) | st.integers(0, 0xFFFFFFFF), max_size=48
).map(words)


@given(data=st.binary(max_size=300))
@FUZZ
def test_random_bytes_only_raise_decode_error(data: bytes, other_schema: Schema) -> None:
    exercise(data, other_schema)


@given(constructor_id=st.sampled_from(KNOWN_IDS), tail=st.binary(max_size=200))
@FUZZ
def test_known_id_with_random_fields_only_raises_decode_error(
    constructor_id: int, tail: bytes, other_schema: Schema
) -> None:
    exercise(words([constructor_id]) + tail, other_schema)


@given(data=word_soup)
@FUZZ
def test_soup_of_ids_and_boundary_words_only_raises_decode_error(
    data: bytes, other_schema: Schema
) -> None:
    exercise(data, other_schema)


@given(data=mutated_encodings())
@FUZZ
def test_mutated_valid_encodings_only_raise_decode_error(data: bytes, other_schema: Schema) -> None:
    exercise(data, other_schema)


@given(body=mutated_encodings() | word_soup, wrap=st.sampled_from(["gzip_packed", "rpc_result"]))
@FUZZ
def test_gzip_packed_bodies_only_raise_decode_error(
    body: bytes, wrap: str, other_schema: Schema
) -> None:
    # A well-formed gzip stream around a broken body: the inner decode runs on inflated bytes.
    packed = CLASSES["gzip_packed"](packed_data=gzip.compress(body, mtime=0))
    if wrap == "rpc_result":
        packed = CLASSES["rpc_result"](req_msg_id=7, result=packed)
    exercise(tlcodec.encode(packed), other_schema)


@given(levels=st.integers(0, 80), tail=st.sampled_from([b"", b"\0\0\0\0"]))
@settings(FUZZ, max_examples=max(40, EXAMPLES // 4))
def test_deep_nesting_is_decoded_or_rejected_never_overflows(
    levels: int, tail: bytes, other_schema: Schema
) -> None:
    # jsonArray([jsonArray([... jsonNull ...])]): a decoded value must also be encodable, so
    # the decoder's depth limit may not be looser than the encoder's.
    exercise(json_chain(levels) + tail, other_schema)


@given(bodies=st.lists(mutated_encodings() | word_soup, max_size=5),
       nest=st.integers(0, 3), tail=st.binary(max_size=8))
@settings(FUZZ, max_examples=max(40, EXAMPLES // 3))
def test_msg_containers_only_raise_decode_error(
    bodies: list[bytes], nest: int, tail: bytes, other_schema: Schema
) -> None:
    # Item headers that agree with their bodies (so the decoder reaches the bodies), nested
    # containers, and a ragged end.
    data = msg_container(bodies)
    for _ in range(nest):
        data = msg_container([data])
    exercise(data + tail, other_schema)


@given(body=mutated_encodings(), layers=st.integers(1, 6), copies=st.integers(1, 6),
       zeros=st.integers(0, 1 << 16), budget=st.sampled_from([0, 100, 4096, 1 << 15, 1 << 20]))
@settings(FUZZ, max_examples=max(40, EXAMPLES // 3))
def test_nested_gzip_and_bombs_spend_one_budget_in_both_builds(
    body: bytes, layers: int, copies: int, zeros: int, budget: int, other_schema: Schema
) -> None:
    # `copies` gzip_packed bodies in a vector, each `layers` deep around a mutated encoding
    # padded by `zeros` bytes that compress to almost nothing: whatever the nesting, the
    # inflated bytes of the whole decode are paid from one max_inflated budget.
    inner = body + bytes(zeros & ~3)
    packed = nested_gzip(inner, layers)
    data = words([VECTOR_ID, copies]) + packed * copies
    inflated = copies * sum(len(nested_gzip(inner, depth)) for depth in range(layers))
    exercise(packed, other_schema)
    ours = outcome(lambda blob: tlcodec.decode(blob, "Vector<Object>", max_inflated=budget),
                   data, functools.partial(comparable, encode=tlcodec.encode))
    theirs = outcome(lambda blob: other_schema.decode(blob, "Vector<Object>", max_inflated=budget),
                     data, functools.partial(comparable, encode=other_schema.codec.encode))
    assert ours == theirs
    assert ours[0] != "ok" or inflated <= budget, f"{inflated} bytes inflated, budget {budget}"
