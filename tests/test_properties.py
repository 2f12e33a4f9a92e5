"""Hypothesis round trips for every constructor and function of the bundled layer (all ~2,500).

Objects are built generically from each class's compiled plan (tests/tl_strategies.py), so a
constructor added to the layer is covered without touching this file. Each class gets its own
test id and a small example budget: breadth across the layer matters more here than depth on any
one class (test_fuzz.py and the hand-written tests go deep). One property test per class checks
everything that is cheap once an object is drawn, in the build this run selected and, where
that is the compiled one, in the pure-Python twin too, byte for byte: one test rather than one
per property and build keeps the whole layer within a few tens of seconds.

The deterministic tests below walk every class once more with one object each: every strict
prefix of its encoding is a truncation error, and every field can be passed by keyword.
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
from tlcodec._runtime import acceleration
from tlcodec.schema import bundled_definitions

from support import CodecBuild, codec_build, convert
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

# Few examples per class, many classes: ~2,500 ids (~35 s compiled, twin included).
PER_CONSTRUCTOR = settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

by_constructor = pytest.mark.parametrize("key", sorted(CLASSES))


@pytest.fixture(scope="module")
def twin() -> CodecBuild | None:
    """The pure-Python twin beside the compiled codec this run selected; None in a run that
    selected the twin itself (TLCODEC_NO_EXTENSIONS=1), which checks it alone."""
    return codec_build("plain") if acceleration("codec") else None


@by_constructor
def test_round_trip_in_each_build_gives_the_same_object_and_bytes(
    key: str, twin: CodecBuild | None
) -> None:
    # A @given function of its own for each class: Hypothesis's pytest plugin wraps the
    # settings of a parametrized @given test once per case, and ~2,500 cases nest them past
    # the recursion limit (with the `ci` profile, whose database lookups walk the chain).
    @PER_CONSTRUCTOR
    @given(data=st.data())
    def round_trip(data: st.DataObject) -> None:
        check_round_trip(key, data, twin)

    round_trip()


def check_round_trip(key: str, data: st.DataObject, twin: CodecBuild | None) -> None:
    cls = CLASSES[key]
    obj = data.draw(objects_of(BUILDER, cls.__tl_plan__), label="object")
    encoded = tlcodec.encode(obj)
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
    assert tlcodec.encode(decoded) == encoded

    if cls.CONSTRUCTOR_ID != GZIP_PACKED_ID:
        # Where any object (or `Object`) is accepted, gzip_packed means "inflate me": its own
        # bytes round-trip only where exactly gzip_packed is asked for (above).
        assert same_tl(tlcodec.decode(encoded), obj)
        if not cls.__tl_plan__.is_function:
            assert same_tl(tlcodec.decode(encoded, cls.TL_TYPE), obj)

    # Decoding from the other buffer types sees the same bytes.
    assert same_tl(tlcodec.decode(bytearray(encoded), cls), obj)
    assert same_tl(tlcodec.decode(memoryview(encoded), cls), obj)
    reader = tlcodec.Reader(encoded + encoded)
    assert same_tl(reader.read_object(cls), obj)
    assert reader.position == len(encoded)
    assert same_tl(reader.read_object(cls), obj)
    assert reader.remaining == 0

    # A strict prefix is a truncation, reported as such (every prefix: test below).
    cut = data.draw(st.integers(0, len(encoded) - 1), label="cut")
    with pytest.raises(DecodeError) as truncated:
        cls.from_bytes(encoded[:cut])
    assert 0 <= truncated.value.offset <= cut

    if twin is not None:
        # The twin writes the same bytes and each reads what the other wrote.
        twin_obj = convert(obj, twin.bundled)
        twin_cls = type(twin_obj)
        assert twin_cls.__tl_plan__.registry is twin.bundled.registry
        assert twin.encode(twin_obj) == encoded
        twin_decoded = twin.decode(encoded, twin_cls)
        assert same_tl(twin_decoded, twin_obj)
        assert twin.encode(twin_decoded) == encoded
        assert same_tl(convert(twin_decoded, tlcodec.bundled), obj)
        with pytest.raises(DecodeError) as twin_truncated:
            twin.decode(encoded[:cut], twin_cls)
        assert twin_truncated.value.offset == truncated.value.offset


@pytest.fixture(scope="module")
def one_of_each() -> dict[str, Any]:
    """One deterministic object per class, every optional field present."""
    return {
        key: BUILDER.object(cls.__tl_plan__, RandomSource(random.Random(key), optional_present=True))
        for key, cls in CLASSES.items()
    }


def test_every_truncation_raises_decode_error(one_of_each: dict[str, Any]) -> None:
    # The decoder follows the same path as on the whole input until it needs byte `cut`: every
    # strict prefix must be reported as truncated, never as another exception (a bare
    # try/except: this loop runs a few hundred thousand times). Failures are collected.
    # The compiled codec, which must never crash, is given every prefix; the twin (30 times
    # slower) every eighth and the last four, and one random prefix per example above.
    step = 1 if tlcodec.IS_COMPILED else 8
    failed = []
    for key, obj in one_of_each.items():
        cls = type(obj)
        encoded = tlcodec.encode(obj)
        view = memoryview(encoded)
        cuts = set(range(0, len(encoded), step)) | set(range(max(0, len(encoded) - 4), len(encoded)))
        for cut in sorted(cuts):
            try:
                decoded = cls.from_bytes(view[:cut])
            except DecodeError as exc:
                if not 0 <= exc.offset <= cut:
                    failed.append(f"{key}: offset {exc.offset} outside a {cut}-byte input")
            except Exception as exc:  # noqa: BLE001 - every failure is collected and reported
                failed.append(f"{key}: {cut} of {len(encoded)} bytes: {type(exc).__name__}: {exc}")
            else:
                failed.append(f"{key}: {cut} of {len(encoded)} bytes decoded as {decoded!r}")
        # The streaming reader reports the same; checked at a few cuts, the reads are the same.
        for cut in {0, 3, len(encoded) // 2, len(encoded) - 1}:
            try:
                tlcodec.Reader(view[:cut]).read_object(cls)
            except DecodeError:
                pass
            else:
                failed.append(f"{key}: the Reader read {cut} of {len(encoded)} bytes")
    assert not failed, f"{len(failed)} failures:\n" + "\n".join(failed[:40])


def test_every_field_can_be_passed_by_keyword(tl: CodecBuild, one_of_each: dict[str, Any]) -> None:
    # Fields keep their TL names, including `self` (user.self) and Python keywords with a
    # trailing underscore (`from_`): `User(self=True, id=1)` must work with both builds, not
    # collide with the constructor's own `self`.
    failed = []
    for key, built in one_of_each.items():
        obj = convert(built, tl.bundled)
        cls = type(obj)
        try:
            again = cls(**{attr: getattr(obj, attr) for attr in cls.__tl_plan__.attrs})
            assert same_tl(again, obj)
            assert tl.encode(again) == tl.encode(obj)
        except Exception as exc:  # noqa: BLE001 - every failure is collected and reported
            failed.append(f"{key}: {type(exc).__name__}: {exc}")
    assert not failed, f"{len(failed)} failures:\n" + "\n".join(failed[:40])


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


def test_every_definition_of_the_layer_is_covered() -> None:
    # The parametrization is over the bundle itself: this pins that it is the whole layer (every
    # definition of both bundled files except the three the codec implements natively), that
    # functions (keyed "fn:...") are part of it, and that every class can be built.
    definitions, _layer = bundled_definitions()
    native = {"boolFalse", "boolTrue", "true"}
    expected = {("fn:" if d.is_function else "") + d.name for d in definitions} - native
    assert set(CLASSES) == expected
    assert len(CLASSES) > 2400
    assert sum(key.startswith("fn:") for key in CLASSES) > 800
    assert BUILDER.unbuildable == []
