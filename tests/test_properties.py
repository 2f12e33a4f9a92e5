"""Hypothesis round trips for every bundled constructor and function.

Objects are built generically from each class's compiled plan (tests/tl_strategies.py), so a
constructor added to the bundle is covered without touching this file. Each constructor gets
its own test id and a small example budget: breadth across the schema matters more here than
depth on any one class (test_fuzz.py and the hand-written tests go deep).
"""

from __future__ import annotations

import gzip
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tlcodec
from tlcodec import DecodeError

from support import CodecBuild, convert
from tl_strategies import (
    GZIP_PACKED_ID,
    Builder,
    RandomSource,
    any_object,
    has_nan,
    objects_of,
    same_tl,
)

CLASSES: dict[str, Any] = dict(tlcodec.bundled.classes)
BUILDER = Builder(CLASSES.values(), max_depth=3)

# Few examples per constructor, many constructors: ~140 ids x 3 properties (~15 s compiled).
PER_CONSTRUCTOR = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

by_constructor = pytest.mark.parametrize("key", sorted(CLASSES))


@by_constructor
def test_every_field_can_be_passed_by_keyword(tl: CodecBuild, key: str) -> None:
    # Fields keep their TL names, including `self` (user.self): `User(self=True, id=1)` must
    # work with both implementations, not collide with the constructor's own `self`.
    plan = CLASSES[key].__tl_plan__
    obj = convert(BUILDER.object(plan, RandomSource(random.Random(key), optional_present=True)),
                  tl.bundled)
    cls = type(obj)
    again = cls(**{attr: getattr(obj, attr) for attr in cls.__tl_plan__.attrs})
    assert same_tl(again, obj)
    assert tl.encode(again) == tl.encode(obj)


@by_constructor
@PER_CONSTRUCTOR
@given(data=st.data())
def test_round_trip_gives_back_the_same_object_and_bytes(
    tl: CodecBuild, key: str, data: st.DataObject
) -> None:
    drawn = data.draw(objects_of(BUILDER, CLASSES[key].__tl_plan__), label="object")
    obj = convert(drawn, tl.bundled)
    cls = type(obj)
    encoded = tl.encode(obj)
    assert len(encoded) % 4 == 0, "a TL value is always whole 32-bit words"
    assert encoded[:4] == cls.CONSTRUCTOR_ID.to_bytes(4, "little")
    assert bytes(obj) == encoded

    decoded = cls.from_bytes(encoded)
    assert type(decoded) is cls
    # Field by field with exact types and floats compared bit for bit (nan, -0.0) ...
    assert same_tl(decoded, obj), f"{decoded!r} != {obj!r}"
    # ... and `==` agrees wherever `==` can (nan is unequal to itself).
    if not has_nan(obj):
        assert decoded == obj
    assert tl.encode(decoded) == encoded

    if cls.CONSTRUCTOR_ID != GZIP_PACKED_ID:
        # Where any object (or `Object`) is accepted, gzip_packed means "inflate me": its own
        # bytes round-trip only where exactly gzip_packed is asked for (above).
        assert same_tl(tl.decode(encoded), obj)
        if not cls.__tl_plan__.is_function:
            assert same_tl(tl.decode(encoded, cls.TL_TYPE), obj)

    # Decoding from the other buffer types sees the same bytes.
    assert same_tl(tl.decode(bytearray(encoded), cls), obj)
    assert same_tl(tl.decode(memoryview(encoded), cls), obj)
    reader = tl.Reader(encoded + encoded)
    assert same_tl(reader.read_object(cls), obj)
    assert reader.position == len(encoded)
    assert same_tl(reader.read_object(cls), obj)
    assert reader.remaining == 0


@by_constructor
@PER_CONSTRUCTOR
@given(data=st.data())
def test_compiled_and_twin_agree_byte_for_byte(
    key: str, data: st.DataObject, other_tl: CodecBuild
) -> None:
    other_schema = other_tl.bundled
    cls = CLASSES[key]
    obj = data.draw(objects_of(BUILDER, cls.__tl_plan__), label="object")
    ours = tlcodec.encode(obj)

    twin_obj = convert(obj, other_schema)
    other_cls = type(twin_obj)
    assert other_cls.__tl_plan__.registry is other_schema.registry
    theirs = other_schema.codec.encode(twin_obj)
    assert theirs == ours

    # Each side decodes what the other wrote back to the same bytes.
    assert other_schema.codec.encode(other_schema.decode(ours, other_cls)) == ours
    assert tlcodec.encode(cls.from_bytes(theirs)) == ours
    assert same_tl(convert(other_schema.decode(ours, other_cls), tlcodec.bundled), obj)


@by_constructor
@PER_CONSTRUCTOR
@given(data=st.data())
def test_every_truncation_raises_decode_error(key: str, data: st.DataObject) -> None:
    cls = CLASSES[key]
    obj = data.draw(objects_of(BUILDER, cls.__tl_plan__), label="object")
    encoded = tlcodec.encode(obj)
    view = memoryview(encoded)
    # The decoder follows the same path as on the whole input until it needs byte `cut`: every
    # strict prefix must be reported as truncated, never as another exception (a bare
    # try/except: this loop runs a few hundred thousand times per session).
    for cut in range(len(encoded)):
        try:
            decoded = cls.from_bytes(view[:cut])
        except DecodeError as exc:
            assert 0 <= exc.offset <= cut, f"offset {exc.offset} outside a {cut}-byte input"
        else:
            pytest.fail(f"{cut} of {len(encoded)} bytes decoded as {decoded!r}")
    # The streaming reader reports the same; checked at a few cuts, the reads are the same code.
    for cut in {0, 3, len(encoded) // 2, len(encoded) - 1}:
        with pytest.raises(DecodeError):
            tlcodec.Reader(view[:cut]).read_object(cls)


@settings(PER_CONSTRUCTOR, max_examples=60)
@given(obj=any_object(BUILDER))
def test_gzip_packed_decodes_to_the_object_it_wraps(tl: CodecBuild, obj: Any) -> None:
    # A server may send gzip_packed in place of any value: it is transparent wherever the
    # expected type is not gzip_packed itself.
    obj = convert(obj, tl.bundled)
    GzipPacked, RpcResult = tl.types.GzipPacked, tl.types.RpcResult  # noqa: N806
    inner = tl.encode(obj)
    packed = GzipPacked(packed_data=gzip.compress(inner, mtime=0))
    wrapped = tl.encode(packed)
    assert same_tl(tl.decode(wrapped), obj)
    assert same_tl(tl.decode(wrapped, type(obj)), obj)
    if not type(obj).__tl_plan__.is_function:
        assert same_tl(tl.decode(wrapped, type(obj).TL_TYPE), obj)
    # Inside an Object field as well, and still itself when exactly gzip_packed is asked for.
    result = tl.encode(RpcResult(req_msg_id=1, result=packed))
    assert same_tl(tl.decode(result).result, obj)
    assert same_tl(GzipPacked.from_bytes(wrapped), packed)


def test_every_bundled_class_is_covered() -> None:
    # The parametrization is over the bundle itself; this pins that it is not accidentally empty
    # and that functions (keyed "fn:...") are part of it.
    assert len(CLASSES) > 100
    assert any(key.startswith("fn:") for key in CLASSES)
    assert "auth.loginTokenSuccess" in CLASSES and "msgs_ack" in CLASSES
