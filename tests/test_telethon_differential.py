"""Differential tests against Telethon 1.45, an independent implementation of the same wire format.

The whole bundled layer (228) is compared with Telethon's (229) on every definition whose
constructor id both hold: every constructor and function of api.tl, and every MTProto service
constructor Telethon also generates. Each is built with boundary values in eight flag patterns
(every optional field absent, every one present, six random subsets; tests/tl_strategies.py
walks the plans), and for each object, in each codec build (the `tl` fixture):

- tlcodec and Telethon encode it to the same bytes;
- tlcodec decodes Telethon's bytes back to the same object;
- Telethon decodes tlcodec's bytes, re-encodes them identically and holds the same field values.

What the two layers do not share is computed from Telethon itself, never written out by hand,
and each such definition is a skipped test saying why (`python -m pytest -rs` lists them):
its id changed in layer 229 (Telethon has the name under another id), it was removed in 229
(Telethon has the type but not this constructor), or Telethon generates no class for it at all
(the TL core types `error` and `null`). Layer 229 also adds flag-only `true` fields to a few
constructors without changing their ids (a `true` flag is not part of the id, PROTOCOL.md 2.3);
those fields are computed too, left unset on Telethon's side and must read back unset.

Telethon is a test peer, not an authority (PROTOCOL.md section 8). The harness stays on inputs
where both ought to be right instead of copying Telethon's quirks:

- it reads `string` with errors="replace", so only valid UTF-8 text is fed; that includes the
  two MTProto fields we declare `bytes` (msgs_state_info.info, msgs_all_info.info) but Telethon
  reads as text, which get UTF-8 bytes here (`telethon_safe`);
- it writes a corrupt length for bytes >= 2**24 and accepts a 0xff or a non-canonical 0xfe
  length byte on read: no value here comes near those;
- it represents some values differently (dates as datetime, int128/int256 as little-endian
  signed ints, some MTProto `string` fields as bytes, `self` as `is_self`): values are converted,
  never compared raw;
- it patches `message`, `messageService` and `messageEmpty` with its own `Message` class: the
  generated class underneath is what is compared, and the chat and channel ids of such a
  message's peers stay in 1..9999999999, which that class does not rewrite, and a message's
  media is never messageMediaEmpty, which that class drops (`telethon_safe`);
- it writes channels.getMessageAuthor's `id:int` unsigned, so that one is never negative.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import importlib
import inspect
import keyword
import random
import re
import struct
import zlib
from functools import cache
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import tlcodec
from tlcodec._runtime import codec
from tlcodec.schema import parse_schema

from support import CodecBuild, convert, reference_vectors
from tl_strategies import Builder, any_object, same_tl

pytest.importorskip("telethon", reason="Telethon is the differential peer of these tests")

from telethon.tl import core as telethon_core  # noqa: E402
from telethon.tl.alltlobjects import LAYER as TELETHON_LAYER  # noqa: E402
from telethon.tl.alltlobjects import tlobjects as TELETHON  # noqa: E402  (id -> class)
from telethon.extensions import BinaryReader  # noqa: E402
from telethon.tl.tlobject import TLRequest as TelethonRequest  # noqa: E402

K_INT, K_LONG, K_STRING, K_BYTES = codec.K_INT, codec.K_LONG, codec.K_STRING, codec.K_BYTES
K_INT128, K_INT256, K_FLAGS = codec.K_INT128, codec.K_INT256, codec.K_FLAGS
K_BOXED, K_QUERY, K_BARE = codec.K_BOXED, codec.K_QUERY, codec.K_BARE
K_VECTOR, K_BARE_VECTOR = codec.K_VECTOR, codec.K_BARE_VECTOR

CLASSES: dict[str, type] = dict(tlcodec.bundled.classes)  # "auth.loginToken", "fn:ping", ...
BY_ID: dict[int, type] = {cls.CONSTRUCTOR_ID: cls for cls in CLASSES.values()}

_MTPROTO_TL = resources.files("tlcodec.schema") / "data" / "mtproto.tl"
_MTPROTO_NAMES = {d.name for d in parse_schema(_MTPROTO_TL.read_text("utf-8")).definitions}
API_KEYS = sorted(k for k, cls in CLASSES.items() if cls.TL_NAME not in _MTPROTO_NAMES)
MTPROTO_KEYS = sorted(k for k, cls in CLASSES.items() if cls.TL_NAME in _MTPROTO_NAMES)
# Service messages Telethon has no generated class for: it parses them by hand in
# telethon.tl.core. Each has an explicit test at the end.
HAND_PARSED_BY_TELETHON = {"gzip_packed", "rpc_result"}

# --------------------------------------------------------------------------------------------
# What layer 228 and Telethon's layer 229 share, computed from Telethon's generated classes


def telethon_class_named(cls: type) -> type | None:
    """Telethon's class of the same TL name (whatever its id): Telethon names classes as we do,
    functions with a `Request` suffix, under telethon.tl.types / telethon.tl.functions."""
    module = cls.__module__.replace("tlcodec.", "telethon.tl.", 1)
    name = cls.__name__ + ("Request" if cls.__tl_plan__.is_function else "")
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:  # a namespace layer 229 no longer has
        return None


_TELETHON_TYPE_IDS = {getattr(t, "SUBCLASS_OF_ID", None) for t in TELETHON.values()}


def _why_not_shared(cls: type) -> str:
    named = telethon_class_named(cls)
    if named is not None:
        return (f"id changed in layer {TELETHON_LAYER}: {cls.TL_NAME} is "
                f"#{cls.CONSTRUCTOR_ID:08x} at 228, #{named.CONSTRUCTOR_ID:08x} in Telethon")
    if zlib.crc32(cls.TL_TYPE.encode()) in _TELETHON_TYPE_IDS:  # Telethon's SUBCLASS_OF_ID
        return f"removed in layer {TELETHON_LAYER}: Telethon's {cls.TL_TYPE} has no {cls.TL_NAME}"
    return f"Telethon generates no class for {cls.TL_NAME} nor for its type {cls.TL_TYPE}"


_COMPARABLE = [k for k in API_KEYS + MTPROTO_KEYS if CLASSES[k].TL_NAME not in HAND_PARSED_BY_TELETHON]
SHARED = [k for k in _COMPARABLE if CLASSES[k].CONSTRUCTOR_ID in TELETHON]
NOT_SHARED = {k: _why_not_shared(CLASSES[k]) for k in _COMPARABLE if k not in SHARED}


def generated_class(tcls: type) -> type:
    """The class Telethon generated for an id (under its custom class, if it patched one in)."""
    return next(c for c in tcls.__mro__
                if c.__module__.startswith(("telethon.tl.types", "telethon.tl.functions")))


# Nested objects are only chosen among constructors Telethon can build and read.
BUILDER = Builder([CLASSES[k] for k in SHARED], max_depth=4)


def _why_not_buildable(plan: Any) -> str:
    field, spec = next((a, s) for a, s, flag_index, *_ in plan.fields
                       if flag_index < 0 and not BUILDER.can_make(s))
    return (f"shared id, but its {field} is a {spec.name}, and no {spec.name} constructor of "
            f"layer 228 keeps its id in layer {TELETHON_LAYER}")


# Shared ids that cannot be compared: a field they must have is of a type whose constructors
# all changed (e.g. bots.requestWebViewButton needs a KeyboardButton).
NOT_BUILDABLE = {
    plan.tl_name if not plan.is_function else "fn:" + plan.tl_name: _why_not_buildable(plan)
    for plan in BUILDER.unbuildable
}
# Shared ids compared with some vectors always empty, for the same reason (keyboardButtonRow).
ONLY_EMPTY_VECTORS = sorted(
    key for key in SHARED
    if any(s.kind in (K_VECTOR, K_BARE_VECTOR) and not BUILDER.can_make(s.elem)
           for _, s, *_ in CLASSES[key].__tl_plan__.fields)
)

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_WIDE = {K_INT128: 16, K_INT256: 32}
# --------------------------------------------------------------------------------------------
# Values: the edges where two independent encoders are most likely to part ways


class EdgeValues:
    """A `tl_strategies` value source: boundary values from a seeded generator.

    `presence` decides the optional fields: "absent" (all), "present" (all) or "random" (each
    flag bit on a coin toss; fields sharing a bit follow it together, see `Builder.object`).
    """

    TEXTS = (
        "",
        "a",
        "hello",
        "héllo wörld",
        "Привет, мир",
        "日本語テキスト",
        "😀🙂 emoji",
        "tab\tnewline\nnul\x00",
        "x" * 253,  # the longest short-form length
        "é" * 127,  # 254 UTF-8 bytes: the first long-form length, in multi-byte characters
        "€" * 85,  # 255 bytes
        "я" * 150,  # 300 bytes
    )
    BLOB_SIZES = (0, 1, 2, 3, 4, 253, 254, 255, 256, 300, 1000)

    def __init__(self, rng: random.Random, presence: str) -> None:
        self.rng = rng
        self.presence = presence

    def integer(self, lo: int, hi: int) -> int:
        edges = [lo, hi, 0, 1, -1, 253, 254, 255, 256, self.rng.randint(lo, hi)]
        if hi > 1 << 32:  # a long: the 32-bit edges too
            edges += [(1 << 31) - 1, 1 << 31, -(1 << 31) - 1, 1 << 32]
        return self.rng.choice(edges)

    def double(self) -> float:
        return self.rng.choice(
            (0.0, -0.0, 1.5, -2.25e300, 5e-324, float("inf"), float("-inf"), self.rng.random())
        )

    def blob(self, size: int | None = None) -> bytes:
        if size is not None:  # int128/int256: the sign bit and all-ones matter to Telethon's ints
            return self.rng.choice(
                (
                    self.rng.randbytes(size),
                    b"\xff" * size,
                    b"\x00" * size,
                    b"\x00" * (size - 1) + b"\x80",
                    b"\xff" * (size - 1) + b"\x7f",
                )
            )
        return self.rng.randbytes(self.rng.choice(self.BLOB_SIZES))

    def text(self) -> str:
        return self.rng.choice(self.TEXTS)

    def boolean(self) -> bool:
        return self.rng.random() < 0.5

    def present(self) -> bool:
        if self.presence == "random":
            return self.rng.random() < 0.5
        return self.presence == "present"

    def length(self) -> int:
        return self.rng.choice((0, 1, 3))

    def pick(self, options: Any) -> Any:
        return self.rng.choice(options)


# Per constructor: every optional field absent, every one present, and six random subsets.
VARIANTS = ("absent", "present") + tuple(f"random-{i}" for i in range(1, 7))


def build_variant(cls: type, variant: str) -> Any:
    rng = random.Random(f"{cls.TL_NAME}/{variant}")  # str seeds are stable across runs
    presence = variant.split("-")[0]
    return BUILDER.object(cls.__tl_plan__, EdgeValues(rng, presence))


# --------------------------------------------------------------------------------------------
# tlcodec objects <-> Telethon objects


@cache
def _telethon_parameters(cls: type) -> tuple[dict[str, str], frozenset[str]]:
    """Our attribute -> Telethon's __init__ parameter, and the parameters Telethon has beyond
    ours, read from the signature of Telethon's generated class.

    Telethon keeps TL names except `self` -> `is_self` and Python keywords -> `name_`; those are
    the only spellings tried, so an unexpected renaming fails loudly instead of passing None.
    Its extra parameters may only be flag-only booleans (`Optional[bool]`, default None): the
    `true` fields layer 229 added without changing the id.
    """
    tcls = generated_class(TELETHON[cls.CONSTRUCTOR_ID])
    signature = inspect.signature(tcls.__init__).parameters
    params = {
        name: p for name, p in signature.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    mapping = {}
    for attr in cls.__tl_plan__.attrs:
        tl_name = attr[:-1] if attr.endswith("_") and keyword.iskeyword(attr[:-1]) else attr
        spellings = [n for n in (tl_name, tl_name + "_", "is_" + tl_name) if n in params]
        if not spellings:
            raise LookupError(f"{tcls.__name__} has no parameter for {cls.TL_NAME}.{attr}")
        mapping[attr] = spellings[0]
    extra = frozenset(params) - set(mapping.values())
    not_flags = sorted(n for n in extra if params[n].default is not None
                       or "bool" not in str(params[n].annotation))
    if not_flags:
        raise LookupError(f"{tcls.__name__} has parameters {not_flags} {cls.TL_NAME} lacks")
    return mapping, extra


def telethon_names(cls: type) -> dict[str, str]:
    return _telethon_parameters(cls)[0]


def telethon_only_flags(cls: type) -> frozenset[str]:
    """Flag-only `true` fields Telethon's layer has on this constructor and layer 228 lacks."""
    return _telethon_parameters(cls)[1]


def to_telethon(obj: Any) -> Any:
    """The Telethon object for a tlcodec object (same constructor, same values)."""
    plan = type(obj).__tl_plan__
    names = telethon_names(type(obj))
    kwargs = {
        names[attr]: _value_to_telethon(getattr(obj, attr), spec)
        for attr, spec, *_ in plan.fields
        if spec.kind != K_FLAGS
    }
    return generated_class(TELETHON[plan.constructor_id])(**kwargs)


def _value_to_telethon(value: Any, spec: Any) -> Any:
    kind = spec.kind
    if value is None:
        return None
    if kind in _WIDE:
        return int.from_bytes(value, "little", signed=True)  # Telethon's read_large_int
    if kind in (K_VECTOR, K_BARE_VECTOR):
        return [_value_to_telethon(v, spec.elem) for v in value]
    if kind in (K_BOXED, K_QUERY, K_BARE):
        return to_telethon(value)
    return value


def from_telethon(tobj: Any) -> Any:
    """The tlcodec object holding the same values as a Telethon object (whose fields of layer
    229 only must be unset: nothing in layer 228 can have set them)."""
    cls = BY_ID[tobj.CONSTRUCTOR_ID]
    names = telethon_names(cls)
    for name in telethon_only_flags(cls):
        assert not getattr(tobj, name), f"{cls.TL_NAME}: Telethon read {name}={getattr(tobj, name)!r}"
    values = [
        _value_from_telethon(getattr(tobj, names[attr]), spec)
        for attr, spec, *_ in cls.__tl_plan__.fields
        if spec.kind != K_FLAGS
    ]
    return cls(*values)
def _value_from_telethon(value: Any, spec: Any) -> Any:
    kind = spec.kind
    if value is None:
        return None
    if kind in _WIDE:
        return value.to_bytes(_WIDE[kind], "little", signed=True)
    if kind in (K_INT, K_LONG) and isinstance(value, datetime.datetime):
        # Telethon turns date-like ints (date, expires, until, was_online...) into datetimes.
        return int((value - _EPOCH).total_seconds())
    if kind == K_STRING and isinstance(value, bytes):
        return value.decode("utf-8")  # Telethon declares pq, p, q... as bytes
    if kind == K_BYTES and isinstance(value, str):
        return value.encode("utf-8")  # Telethon reads msgs_(state|all)_info.info as text
    if kind in (K_VECTOR, K_BARE_VECTOR):
        return [_value_from_telethon(v, spec.elem) for v in value]
    if kind in (K_BOXED, K_QUERY, K_BARE):
        return from_telethon(value)
    return value


def telethon_read(data: bytes) -> Any:
    """Telethon's decoding of one whole boxed object (it must consume every byte)."""
    reader = BinaryReader(data)
    value = reader.tgread_object()
    assert reader.tell_position() == len(data), (
        f"Telethon stopped at {reader.tell_position()} of {len(data)} bytes"
    )
    return value


# --------------------------------------------------------------------------------------------
# The differential check


def first_difference(a: bytes, b: bytes) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, at - 8)
    return (
        f"first difference at byte {at} (lengths {len(a)} / {len(b)}):\n"
        f"  tlcodec  ...{a[lo : at + 16].hex(' ')}\n"
        f"  Telethon ...{b[lo : at + 16].hex(' ')}"
    )


@cache
def telethon_text_fields(constructor_id: int) -> frozenset[str]:
    """Fields Telethon reads with tgread_string (lossy on binary) for one constructor."""
    tcls = TELETHON.get(constructor_id)
    if tcls is None or not hasattr(tcls, "from_reader"):
        return frozenset()
    source = inspect.getsource(tcls.from_reader)
    return frozenset(
        line.split("=")[0].strip().lstrip("_")
        for line in source.splitlines()
        if "reader.tgread_string()" in line
    )


@cache
def telethon_unsigned_fields(constructor_id: int) -> frozenset[str]:
    """`int` fields Telethon writes with struct.pack('<I') (so it cannot write a negative one),
    for one constructor (only channels.getMessageAuthor.id in Telethon 1.45)."""
    tcls = TELETHON.get(constructor_id)
    if tcls is None or not hasattr(tcls, "_bytes"):
        return frozenset()
    return frozenset(re.findall(r"struct\.pack\('<I', self\.(\w+)\)", inspect.getsource(tcls._bytes)))


# Telethon's own Message class (patched over message, messageService and messageEmpty) makes a
# sender id in its __init__ with utils.get_peer_id, which rewrites in place a peerChat.chat_id or
# peerChannel.channel_id outside 1..9999999999 "in case the user mixed things up", and which
# drops a messageMediaEmpty `media` (then written as no media at all).
PATCHED_BY_TELETHON = {i for i, t in TELETHON.items() if generated_class(t) is not t}
_PEER_ID_FIELDS = {"peerChat": "chat_id", "peerChannel": "channel_id"}
_TELETHON_PEER_IDS = range(1, 9_999_999_999 + 1)


def telethon_safe(value: Any) -> Any:
    """Keep a value where Telethon reads it right (in place): binary values that Telethon would
    read as text made valid UTF-8, `int`s it writes unsigned made non-negative, and in a message,
    chat and channel ids in the range Telethon's Message leaves alone and no messageMediaEmpty."""
    if isinstance(value, list):
        for item in value:
            telethon_safe(item)
    elif hasattr(type(value), "__tl_plan__"):
        plan = type(value).__tl_plan__
        text_fields = telethon_text_fields(plan.constructor_id)
        unsigned = telethon_unsigned_fields(plan.constructor_id)
        patched = plan.constructor_id in PATCHED_BY_TELETHON
        for attr, spec, *_ in plan.fields:
            if spec.kind == K_FLAGS:
                continue
            field = getattr(value, attr)
            if attr in unsigned and field is not None:
                setattr(value, attr, field & 0x7FFFFFFF)
            elif patched and attr == "media" and type(field).__name__ == "MessageMediaEmpty":
                setattr(value, attr, None)
            elif attr in text_fields and isinstance(field, bytes):
                setattr(value, attr, field.hex().encode()[: len(field)])
            else:
                telethon_safe(field)
            id_field = _PEER_ID_FIELDS.get(getattr(type(field), "TL_NAME", ""))
            if patched and id_field is not None:
                peer_id = getattr(field, id_field)
                if peer_id not in _TELETHON_PEER_IDS:
                    setattr(field, id_field, peer_id % _TELETHON_PEER_IDS.stop or 1)
    return value


def assert_agrees_with_telethon(obj: Any, label: str) -> None:
    obj = telethon_safe(obj)
    ours = tlcodec.encode(obj)
    theirs = bytes(to_telethon(obj))
    assert ours == theirs, f"{label}: encodings differ, {first_difference(ours, theirs)}\n{obj!r}"

    # Each side reads the other's output (identical here, but read as what the peer sent).
    mine = tlcodec.decode(theirs)
    assert same_tl(mine, obj), f"{label}: tlcodec read Telethon's bytes as\n{mine!r}"
    peer = telethon_read(ours)
    assert bytes(peer) == ours, f"{label}: Telethon re-encodes tlcodec's bytes differently"
    back = from_telethon(peer)
    assert same_tl(back, obj), f"{label}: Telethon read tlcodec's bytes as\n{back!r}\nnot\n{obj!r}"


# --------------------------------------------------------------------------------------------
# Telethon knows our constructors


def _definition_problems(key: str) -> list[str]:
    cls = CLASSES[key]
    tcls = generated_class(TELETHON[cls.CONSTRUCTOR_ID])
    problems = []
    is_request = issubclass(tcls, TelethonRequest)
    if is_request != cls.__tl_plan__.is_function:
        what = "a request" if is_request else "not a request"
        problems.append(f"{key}: Telethon's {tcls.__name__} is {what}")
    expected_name = cls.__name__ + ("Request" if cls.__tl_plan__.is_function else "")
    if tcls.__name__ != expected_name:
        problems.append(f"{key}: Telethon names this id {tcls.__name__}, not {expected_name}")
    try:
        telethon_names(cls)
    except LookupError as exc:
        problems.append(f"{key}: {exc}")
    return problems


def test_every_shared_id_means_the_same_definition_in_telethon() -> None:
    # Same id, same kind, same class name, same field names (plus, at most, flag-only `true`
    # fields of layer 229): otherwise the tests below would compare different things.
    problems = [p for key in SHARED for p in _definition_problems(key)]
    assert not problems, "Telethon disagrees with the bundle:\n" + "\n".join(problems)


def test_what_telethon_does_not_share_is_few_and_each_has_its_reason() -> None:
    assert TELETHON_LAYER == 229
    assert len(SHARED) + len(NOT_SHARED) + len(HAND_PARSED_BY_TELETHON) == len(CLASSES)
    reasons: dict[str, list[str]] = {}
    for key, reason in NOT_SHARED.items():
        reasons.setdefault(reason.split(":")[0].split(" for ")[0], []).append(key)
    # The numbers of Telethon 1.45 against layer 228 (a new Telethon shows up here first).
    assert {why: len(keys) for why, keys in reasons.items()} == {
        "id changed in layer 229": 11,
        "removed in layer 229": 17,
        "Telethon generates no class": 2,
    }, reasons
    assert sorted(reasons["Telethon generates no class"]) == ["error", "null"]
    assert len(SHARED) == 2460
    # Of the shared ids, the few that need a type whose every constructor changed id in 229.
    assert sorted(NOT_BUILDABLE) == [
        "fn:bots.requestWebViewButton", "updateEditEphemeralMessage", "updateNewEphemeralMessage"
    ]
    assert ONLY_EMPTY_VECTORS == ["keyboardButtonRow"]
    # Layer 229's extra flag-only fields on ids it shares with 228, and nothing else.
    extra = {key: sorted(telethon_only_flags(CLASSES[key])) for key in SHARED}
    assert {key: names for key, names in extra.items() if names} == {
        "channelFull": ["has_welcome_messages"],
        "chatAdminRights": ["manage_welcome_messages"],
        "chatFull": ["has_welcome_messages"],
        "fn:messages.forwardMessages": ["from_ephemeral"],
        "pageBlockTable": ["compact"],
        "replyKeyboardMarkup": ["force_reply"],
    }


def test_telethon_lacks_only_the_hand_parsed_mtproto_definitions() -> None:
    # Telethon generates classes for the MTProto service schema too, except the few it parses
    # by hand (telethon.tl.core); those are covered by the explicit tests at the end.
    missing = {
        CLASSES[k].TL_NAME for k in MTPROTO_KEYS if CLASSES[k].CONSTRUCTOR_ID not in TELETHON
    }
    assert missing == HAND_PARSED_BY_TELETHON
    assert not [k for k in NOT_SHARED if k in MTPROTO_KEYS]


# --------------------------------------------------------------------------------------------
# Every shared constructor and function, every flag pattern, both builds


@cache
def telethon_encoding(key: str, variant: str) -> tuple[int, bytes]:
    """The length and digest of Telethon's encoding of one variant, once Telethon has been seen
    to read those bytes back to the same object (done once, for whichever build comes first;
    the bytes themselves are not kept: ~20,000 of them would hold tens of megabytes)."""
    obj = telethon_safe(build_variant(CLASSES[key], variant))
    theirs = bytes(to_telethon(obj))
    peer = telethon_read(theirs)
    assert bytes(peer) == theirs, f"{key} [{variant}]: Telethon re-encodes its own bytes differently"
    back = from_telethon(peer)
    assert same_tl(back, obj), f"{key} [{variant}]: Telethon read its bytes as\n{back!r}\nnot\n{obj!r}"
    return len(theirs), hashlib.blake2b(theirs, digest_size=16).digest()


def _as_build(obj: Any, tl: CodecBuild) -> Any:
    return obj if tl.bundled is tlcodec.bundled else convert(obj, tl.bundled)


_SKIPPED = {**NOT_SHARED, **NOT_BUILDABLE}


@pytest.mark.parametrize("key", [
    pytest.param(key, marks=pytest.mark.skip(reason=_SKIPPED[key])) if key in _SKIPPED else key
    for key in _COMPARABLE
])
def test_telethon_and_tlcodec_agree_on_every_shared_definition(tl: CodecBuild, key: str) -> None:
    cls = CLASSES[key]
    for variant in VARIANTS:
        label = f"{key} [{variant}]"
        obj = _as_build(telethon_safe(build_variant(cls, variant)), tl)
        ours = tl.encode(obj)
        if (len(ours), hashlib.blake2b(ours, digest_size=16).digest()) != telethon_encoding(key, variant):
            theirs = bytes(to_telethon(telethon_safe(build_variant(cls, variant))))
            pytest.fail(f"{label}: encodings differ, {first_difference(ours, theirs)}\n{obj!r}")
        # Telethon's bytes are ours (just checked); tlcodec reads them back to the object, and
        # Telethon read them back to the same object in telethon_encoding.
        mine = tl.decode(ours)
        assert same_tl(mine, obj), f"{label}: tlcodec read Telethon's bytes as\n{mine!r}"


def test_variants_cover_absent_present_and_mixed_flags() -> None:
    # The variants must really differ where it matters: user (two flag words, shared bits)
    # gets an all-zero flags pattern, an all-set one, and mixed ones in between.
    from tlcodec.types import User

    set_counts = []
    for variant in VARIANTS:
        user = build_variant(User, variant)
        optional = [a for a, spec, fi, *_ in User.__tl_plan__.fields if fi >= 0]
        values = [getattr(user, a) for a in optional]
        set_counts.append(sum(v is not None and v is not False for v in values))
    assert set_counts[0] == 0
    assert set_counts[1] == max(set_counts) == len(optional)
    assert all(0 < n < len(optional) for n in set_counts[2:])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=any_object(BUILDER))
def test_telethon_and_tlcodec_agree_on_random_objects(obj: Any) -> None:
    # Hypothesis explores values beyond the fixed edges (any text, nan, any length 0-262),
    # and shrinks a disagreement to a small object.
    assert_agrees_with_telethon(obj, type(obj).TL_NAME)


# --------------------------------------------------------------------------------------------
# Named cases


def test_import_login_token_with_32_byte_token_is_the_golden_bytes() -> None:
    from telethon.tl.functions.auth import ImportLoginTokenRequest

    from tlcodec.functions.auth import ImportLoginToken

    token = bytes(range(1, 33))
    golden = bytes.fromhex("e45cac95 20" + token.hex() + "000000")  # PROTOCOL.md 1.4
    assert tlcodec.encode(ImportLoginToken(token=token)) == golden
    assert bytes(ImportLoginTokenRequest(token=token)) == golden
    assert tlcodec.decode(golden) == ImportLoginToken(token=token)
    assert telethon_read(golden).token == token


def realistic_login_token_success() -> Any:
    from tlcodec.types import (
        EmojiStatus,
        PeerColor,
        User,
        UserProfilePhoto,
        Username,
        UserStatusOffline,
    )
    from tlcodec.types.auth import Authorization, LoginTokenSuccess

    user = User(
        self=True,
        contact=False,
        premium=True,
        id=5_123_456_789,
        access_hash=-7_212_345_678_901_234_567,
        first_name="Алиса",
        last_name="Ünal 🌷",
        username="alice_w",
        phone="15551234567",
        photo=UserProfilePhoto(
            has_video=True,
            photo_id=5_012_345_678_901_234_567,
            stripped_thumb=bytes.fromhex("0128280a") + bytes(range(40)),
            dc_id=4,
        ),
        status=UserStatusOffline(was_online=1_707_425_135),
        lang_code="de",
        emoji_status=EmojiStatus(document_id=5_368_324_170_671_202_286, until=1_710_000_000),
        usernames=[
            Username(editable=True, active=True, username="alice_w"),
            Username(active=False, username="alice_collectible"),
        ],
        color=PeerColor(color=5, background_emoji_id=5_433_653_135_799_228_968),
        profile_color=PeerColor(color=2),
    )
    return LoginTokenSuccess(
        authorization=Authorization(tmp_sessions=3, future_auth_token=b"\x9c" * 32, user=user)
    )


def test_login_token_success_with_realistic_user_matches_telethon() -> None:
    # The QR-login success answer, the deepest object of the login flow (PROTOCOL.md 1.9).
    obj = realistic_login_token_success()
    assert_agrees_with_telethon(obj, "auth.loginTokenSuccess")
    data = tlcodec.encode(obj)
    assert data[:8] == bytes.fromhex("5e5c0d39 d4c0a22e")  # loginTokenSuccess, auth.authorization

    # What a Telethon client sees in our bytes, field by field.
    user = telethon_read(data).authorization.user
    assert user.is_self and user.premium and not user.contact and not user.bot
    assert (user.first_name, user.last_name) == ("Алиса", "Ünal 🌷")
    assert user.username == "alice_w"
    assert user.phone == "15551234567" and user.lang_code == "de"
    assert user.photo.has_video and user.photo.dc_id == 4 and len(user.photo.stripped_thumb) == 44
    assert user.status.was_online == _EPOCH + datetime.timedelta(seconds=1_707_425_135)
    assert [(u.username, u.editable, u.active) for u in user.usernames] == [
        ("alice_w", True, True),
        ("alice_collectible", False, False),
    ]
    assert user.emoji_status.document_id == 5_368_324_170_671_202_286
    assert (user.color.color, user.profile_color.background_emoji_id) == (5, None)
    assert user.restriction_reason is None and user.stories_max_id is None

    # And what tlcodec sees in Telethon's.
    assert tlcodec.decode(bytes(to_telethon(obj))) == obj


def test_invoke_with_layer_init_connection_vector_matches_telethon() -> None:
    from tlcodec.functions import InitConnection, InvokeWithLayer
    from tlcodec.functions.auth import ExportLoginToken

    vectors = reference_vectors("tl_serialization_examples")
    golden = bytes.fromhex(
        vectors["invokeWithLayer228_initConnection_PC_Linux_1.0_en_empty_en_exportLoginToken"]
    )
    obj = InvokeWithLayer(
        layer=228,
        query=InitConnection(
            api_id=12345,
            device_model="PC",
            system_version="Linux",
            app_version="1.0",
            system_lang_code="en",
            lang_pack="",
            lang_code="en",
            query=ExportLoginToken(
                api_id=12345, api_hash="0123456789abcdef0123456789abcdef", except_ids=[]
            ),
        ),
    )
    assert tlcodec.encode(obj) == golden
    assert_agrees_with_telethon(obj, "invokeWithLayer")


# --------------------------------------------------------------------------------------------
# The service messages Telethon parses by hand (telethon.tl.core)


def test_rpc_result_carrying_rpc_error_reads_in_telethon() -> None:
    from tlcodec.types import RpcError, RpcResult

    error = RpcError(error_code=420, error_message="FLOOD_WAIT_31")
    data = tlcodec.encode(RpcResult(req_msg_id=0x65C53D5000000004, result=error))
    result = telethon_read(data)
    assert isinstance(result, telethon_core.RpcResult)
    assert (result.req_msg_id, result.body) == (0x65C53D5000000004, None)
    assert (result.error.error_code, result.error.error_message) == (420, "FLOOD_WAIT_31")


def test_rpc_result_body_is_the_encoded_result_for_telethon() -> None:
    from tlcodec.types import RpcResult
    from tlcodec.types.auth import LoginToken

    token = LoginToken(expires=1_707_425_135, token=bytes(range(1, 33)))
    result = telethon_read(tlcodec.encode(RpcResult(req_msg_id=-1, result=token)))
    # Telethon keeps the body raw until it knows which request it answers.
    assert (result.req_msg_id, result.body) == (-1, tlcodec.encode(token))


def test_msg_container_reads_in_telethon() -> None:
    # Containers have no class (the session writes and parses them): the bytes are built as
    # the session's writer lays them out, and Telethon reads them.
    from tlcodec.functions import Ping
    from tlcodec.mtproto.session import MSG_CONTAINER_ID, _parse_container
    from tlcodec.types import MsgsAck

    bodies = [MsgsAck(msg_ids=[1, 2**63 - 1]), Ping(ping_id=-(2**63))]
    bodies.append(realistic_login_token_success())
    ids = [0x65C53D5000000004 + 4 * i for i in range(3)]
    items = [
        (msg_id, 2 * n + 1, tlcodec.encode(body)) for n, (msg_id, body) in enumerate(zip(ids, bodies))
    ]
    data = struct.pack("<II", MSG_CONTAINER_ID, len(items)) + b"".join(
        struct.pack("<qii", msg_id, seqno, len(raw)) + raw for msg_id, seqno, raw in items
    )
    messages = telethon_read(data).messages
    assert [(m.msg_id, m.seq_no) for m in messages] == [(i, 2 * n + 1) for n, i in enumerate(ids)]
    assert [from_telethon(m.obj) for m in messages] == bodies
    assert _parse_container(ids[-1] + 4, data) == items


def test_gzip_packed_written_by_telethon_is_inflated_by_tlcodec() -> None:
    # In an Object position gzip_packed is transparent: the decoder returns the packed object.
    obj = realistic_login_token_success()
    packed = bytes(telethon_core.GzipPacked(bytes(to_telethon(obj))))
    assert tlcodec.decode(packed) == obj
    assert tlcodec.decode(packed, "auth.LoginToken") == obj


# Disagreements on well-formed input where PROTOCOL.md sides with Telethon: mtproto.tl declares
# binary fields as `string` (gzip_packed.packed_data; pq, p, q, dh_prime, g_a, g_b and the
# encrypted payloads of the auth-key handshake). PROTOCOL.md 1.8 and 3.3 say they carry a gzip
# stream or big-endian numbers, not UTF-8 text; Telethon declares them `bytes` and reads them.


def test_gzip_packed_written_by_telethon_decodes_as_gzip_packed() -> None:
    from tlcodec.types import GzipPacked

    inner = tlcodec.encode(realistic_login_token_success())
    packed = bytes(telethon_core.GzipPacked(inner))
    wrapper = GzipPacked.from_bytes(packed)  # asked for the wrapper itself: no inflating
    assert gzip.decompress(wrapper.packed_data) == inner
    assert tlcodec.encode(wrapper) == packed


def test_official_res_pq_sample_decodes_like_telethon() -> None:
    # core.telegram.org's auth-key sample: pq's bytes 25 65 95 ed... are not valid UTF-8.
    sample = reference_vectors("auth_key_creation_sample")
    payload = bytes.fromhex(sample["resPQ_payload"])[20:]  # after auth_key_id, msg_id, length
    theirs = telethon_read(payload)
    ours = tlcodec.decode(payload)
    assert int.from_bytes(ours.pq, "big") == int.from_bytes(theirs.pq, "big") == sample["pq"]
    assert ours.nonce == bytes.fromhex(sample["nonce"])
    assert ours.server_public_key_fingerprints == theirs.server_public_key_fingerprints
    assert tlcodec.encode(ours) == payload == bytes(theirs)
