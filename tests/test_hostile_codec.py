"""Hostile callers and hostile bytes against both codecs (an outside audit's findings).

Each test runs the compiled module and the pure-Python twin side by side in one process (the
compiled one is skipped where it is not built), so both runs of the suite check both. The
promise under test: whatever the codec is given, it answers with a clear exception, the same
type in both builds; it never crashes the interpreter, never lets one decode cost more than a
small multiple of its input plus max_inflated, and never writes bytes it would refuse to read.

Crashes are probed in a subprocess, which must end by itself and not by a signal.
"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import textwrap
from types import ModuleType
from typing import Any

import pytest

from tlcodec import DecodeError
from tlcodec.errors import InflateLimitError
from tlcodec.schema import Schema
from tlcodec.schema.generate import bundled_definitions

from support import (
    GZIP_PACKED_ID,
    JSON_STRING_ID,
    VECTOR_ID,
    memory_use,
    reference_file,
)



def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def tl_blob(data: bytes) -> bytes:
    header = bytes([len(data)]) if len(data) <= 253 else b"\xfe" + len(data).to_bytes(3, "little")
    return header + data + bytes(-(len(header) + len(data)) & 3)


_SCHEMAS: dict[tuple[str, str], Schema] = {}


def schema_for(codec: ModuleType, which: str = "bundled") -> Schema:
    """The bundled schema, or the official full layer (tests/data), over one implementation."""
    key = (codec.__name__, which)
    if key not in _SCHEMAS:
        if which == "bundled":
            definitions, layer = bundled_definitions()
            _SCHEMAS[key] = Schema(definitions, layer, codec=codec)
        else:
            texts = [reference_file(name).read_text(encoding="utf-8")
                     for name in ("api.tl", "mtproto.tl")]
            _SCHEMAS[key] = Schema.from_tl(*texts, codec=codec)
    return _SCHEMAS[key]


@pytest.fixture()
def schema(codec: ModuleType) -> Schema:
    return schema_for(codec)


@pytest.fixture()
def full_schema(codec: ModuleType) -> Schema:
    return schema_for(codec, "full")


# ------------------------------------------------------------------------------------------
# 1. No entry point of the compiled module crashes the interpreter

PROBE_PRELUDE = """
import importlib, sys
codec = importlib.import_module("tlcodec." + sys.argv[1])
from tlcodec.schema import Schema
schema = Schema.from_tl('''
jsonNull#3f6d7b68 = JSONValue;
jsonString#b71e767a value:string = JSONValue;
jsonArray#f7444763 value:Vector<JSONValue> = JSONValue;
rpc_result#f35c6d01 req_msg_id:long result:Object = RpcResult;
''', codec=codec)
T = schema.types
K = codec
def report(action):
    try:
        action()
    except BaseException as exc:
        print("OUTCOME", type(exc).__name__, exc)
    else:
        print("OUTCOME ok")
"""

# name -> (probe body, the outcomes allowed for its report() calls: one set for all, or one
# set per call in order). Uninitialised objects may answer with RuntimeError (compiled) or the
# twin's AttributeError: neither has state to use.
CRASH_PROBES: dict[str, tuple[str, Any]] = {
    "decode with a spec made by __new__": (
        "report(lambda: schema.decode(b'\\0' * 8, K.TypeSpec.__new__(K.TypeSpec)))",
        ("TypeError",),
    ),
    "a bare spec without its plan": (
        "report(lambda: schema.decode(b'\\0' * 8, K.TypeSpec(K.K_BARE, 'x')))",
        ("ValueError",),
    ),
    "a vector spec without an element type": (
        "report(lambda: schema.decode(u'\\x15\\xc4\\xb5\\x1c'.encode('latin1') + bytes(8),"
        " K.TypeSpec(K.K_VECTOR, 'x')))",
        ("ValueError",),
    ),
    "a vector of a spec made by __new__": (
        "report(lambda: K.TypeSpec(K.K_VECTOR, 'x', elem=K.TypeSpec.__new__(K.TypeSpec)))",
        ("ValueError",),
    ),
    "a spec changed after it was made": (
        "spec = K.TypeSpec(K.K_INT, 'int')\n"
        "report(lambda: setattr(spec, 'kind', K.K_BARE))\n"
        "report(lambda: schema.decode(bytes(4), spec))",
        [("AttributeError",), ("ok",)],
    ),
    "a flags word alone as the expected type": (
        "report(lambda: schema.decode(bytes(4), K.TypeSpec(K.K_FLAGS, '#')))",
        ("TypeError",),
    ),
    "Reader.__new__(Reader).read_object()": (
        "report(lambda: K.Reader.__new__(K.Reader).read_object())",
        ("RuntimeError", "AttributeError"),
    ),
    "Registry.__new__(Registry).decode()": (
        "report(lambda: K.Registry.__new__(K.Registry).decode(bytes(8)))\n"
        "report(lambda: K.Registry.__new__(K.Registry).plan_for_id(1))\n"
        "report(lambda: K.Reader(bytes(8), K.Registry.__new__(K.Registry)).read_object())",
        ("RuntimeError", "AttributeError"),
    ),
    "a registry of things that are not plans": (
        "report(lambda: K.Registry([None], []))\nreport(lambda: K.Registry([K.Plan.__new__(K.Plan)], []))",
        ("TypeError",),
    ),
    "a resolver that answers None": (
        "schema.registry.resolver = lambda expected: None\n"
        "report(lambda: schema.registry.decode(bytes(8), 'JSONValue'))",
        ("TypeError",),
    ),
    "a bare spec over a plan made by __new__": (
        "report(lambda: schema.decode(b'', K.TypeSpec(K.K_BARE, 'x', plan=K.Plan.__new__(K.Plan))))",
        ("TypeError", "AttributeError"),
    ),
    "a flag word slot past the flag words": (
        "flags = K.TypeSpec(K.K_FLAGS, '#')\n"
        "report(lambda: K.Plan(1, 'x', 0, False, [('flags', flags, -1, 0, 100000)]))\n"
        "report(lambda: K.Plan(1, 'x', 0, False, [('a', K.TypeSpec(K.K_INT, 'int'), 7, 1, 0)]))",
        ("ValueError",),
    ),
    "fields changed after the plan is bound": (
        "plan = T.JsonString.__tl_plan__\n"
        "report(lambda: plan.set_fields(list(plan.fields)))\n"
        "report(lambda: schema.decode(u'\\x7a\\x76\\x1e\\xb7\\x01x\\0\\0'.encode('latin1')))",
        [("ValueError",), ("ok",)],
    ),
    "a plan bound again to another class": (
        "class Other(K.TLObject):\n    __slots__ = ()\n"
        "report(lambda: T.JsonString.__tl_plan__.bind(Other))",
        ("ValueError",),
    ),
    "a class that copies another's __tl_plan__": (
        "class Thief(K.TLObject):\n    __slots__ = ()\n    __tl_plan__ = T.JsonString.__tl_plan__\n"
        "report(lambda: codec.encode(Thief.__new__(Thief)))\n"
        "report(lambda: Thief.__new__(Thief).to_dict())",
        # The twin reads attributes by name, which is safe whatever the class holds.
        ("TypeError", "AttributeError", "ok"),
    ),
    "a class whose field is another class's slot": (
        "class Donor:\n    __slots__ = ('a', 'b', 'c', 'value')\n"
        "Taker = type('Taker', (K.TLObject,), {'__slots__': (), 'value': Donor.__dict__['value']})\n"
        "plan = K.Plan(0x1234, 'taker', 0, False, [('value', K.TypeSpec(K.K_STRING, 'string'), -1, 0, 0)])\n"
        "report(lambda: plan.bind(Taker))",
        ("TypeError",),
    ),
    "Reader.read with a negative depth": (
        "data = codec.encode(T.JsonArray(value=[]))\n"
        "report(lambda: schema.reader(data).read(schema.spec('JSONValue'), -10**6))",
        ("ValueError",),
    ),
    "to_dict on an object that contains itself": (
        "a = T.RpcResult(req_msg_id=1, result=T.JsonNull()); a.result = a\n"
        "report(a.to_dict)\n"
        "b = T.JsonArray(value=[]); b.value.append(b)\n"
        "report(b.to_dict)",
        ("ValueError",),
    ),
    "repr and == on objects that contain themselves": (
        "a = T.RpcResult(req_msg_id=1, result=T.JsonNull()); a.result = a\n"
        "b = T.RpcResult(req_msg_id=1, result=T.JsonNull()); b.result = b\n"
        "report(lambda: repr(a))\nreport(lambda: a == b)\nreport(lambda: a != b)",
        ("RecursionError",),
    ),
    "encode of an object that contains itself": (
        "a = T.RpcResult(req_msg_id=1, result=T.JsonNull()); a.result = a\n"
        "report(lambda: codec.encode(a))",
        ("ValueError",),
    ),
}


@pytest.mark.parametrize("probe", sorted(CRASH_PROBES))
def test_no_entry_point_crashes_the_interpreter(probe: str, codec: ModuleType) -> None:
    body, allowed = CRASH_PROBES[probe]
    module = codec.__name__.rpartition(".")[2]
    script = PROBE_PRELUDE + "\n" + body + "\n"
    done = subprocess.run([sys.executable, "-c", script, module], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode >= 0, (
        f"{probe} ({module}) killed the interpreter with signal {-done.returncode}"
    )
    assert done.returncode == 0, done.stderr
    outcomes = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("OUTCOME")]
    per_call = allowed if isinstance(allowed, list) else [allowed] * len(outcomes)
    assert len(outcomes) == len(per_call), done.stdout + done.stderr
    assert all(outcome in ok for outcome, ok in zip(outcomes, per_call)), (probe, done.stdout)


# ------------------------------------------------------------------------------------------
# 2. Vectors of elements that take no bytes

def nested_empty_vectors(outer: int) -> bytes:
    """Vector<Vector<inputPeerEmpty>>: `outer` inner vectors, each claiming as many bare
    inputPeerEmpty (no bytes each) as there are bytes left after its count."""
    size = 8 + 8 * outer
    data = bytearray(u32(VECTOR_ID) + u32(outer))
    for _ in range(outer):
        data += u32(VECTOR_ID) + u32(size - len(data) - 8)
    return bytes(data)


def test_nested_vectors_of_zero_size_elements_stay_proportional_to_the_input(
    full_schema: Schema,
) -> None:
    data = nested_empty_vectors(256)
    expected = full_schema.spec("Vector<Vector<inputPeerEmpty>>")
    full_schema.get("inputPeerEmpty")  # its class is made on first use: not what is measured
    peak, _, _, error = memory_use(lambda: full_schema.decode(data, expected), DecodeError)
    bound = 200 * len(data) + 64 * 1024
    assert peak <= bound, f"{len(data)} bytes of input peaked at {peak} bytes (bound {bound})"
    assert isinstance(error, DecodeError), error
    # The first inner vector spends the budget (one element per input byte); the second is
    # refused at its count.
    assert "take no bytes" in str(error) and error.offset == 20


def test_zero_size_elements_are_one_per_input_byte_in_both_directions(full_schema: Schema) -> None:
    cls = full_schema.get("inputPeerEmpty")
    expected = full_schema.spec("Vector<inputPeerEmpty>")
    # Eight bytes (id and count) carry up to eight elements, even with no bytes left after.
    data = full_schema.encode_as([cls()] * 8, expected)
    assert data == u32(VECTOR_ID) + u32(8)
    assert full_schema.decode(data, expected) == [cls()] * 8
    with pytest.raises(ValueError, match=r"Vector<inputPeerEmpty>: 9 vector elements that take no"):
        full_schema.encode_as([cls()] * 9, expected)
    with pytest.raises(DecodeError, match="take no bytes"):
        full_schema.decode(u32(VECTOR_ID) + u32(9), expected)


# ------------------------------------------------------------------------------------------
# 3. max_inflated is a budget for one decode

def json_string_bomb(size: int) -> bytes:
    """A gzip_packed jsonString of `size` bytes of 'a': a few KB that inflate to `size`."""
    body = u32(JSON_STRING_ID) + tl_blob(b"a" * size)
    return u32(GZIP_PACKED_ID) + tl_blob(gzip.compress(body, compresslevel=9))


def test_a_vector_of_gzip_bombs_spends_one_budget(schema: Schema) -> None:
    bomb = json_string_bomb(1 << 20)
    data = u32(VECTOR_ID) + u32(16) + bomb * 16
    budget = 2 << 20
    peak, _, _, error = memory_use(
        lambda: schema.decode(data, "Vector<JSONValue>", max_inflated=budget), DecodeError)
    bound = 3 * budget + 10 * len(data)
    assert peak <= bound, (
        f"{len(data)} bytes of input with max_inflated={budget} peaked at {peak} bytes "
        f"(bound {bound})"
    )
    assert isinstance(error, InflateLimitError), error
    assert f"past the limit of {budget} bytes for one decode" in str(error)


def test_one_inflater_refuses_alike_for_the_codec_and_the_session(codec: ModuleType) -> None:
    """`inflate_gzip` is the one gzip_packed inflater: the codec's reads and the session's
    messages both go through it (the session with its own scope and budget)."""
    stream = gzip.compress(b"a" * 1000)
    assert codec.inflate_gzip(stream, 1000, 1000) == b"a" * 1000
    with pytest.raises(InflateLimitError, match="limit of 5000 bytes for one received message "
                                                 r"\(999 bytes of that budget were left\)"):
        codec.inflate_gzip(stream, 999, 5000, "received message", 8)
    for damaged, reason in ((stream[:-4], "truncated"), (stream + b"\0", "1 bytes after"),
                            (b"not gzip", "not valid gzip")):
        with pytest.raises(DecodeError, match=reason) as raised:
            codec.inflate_gzip(damaged, 1000, 1000, "decode", 8)
        assert raised.value.offset == 8 and not isinstance(raised.value, InflateLimitError)


def test_the_budget_spans_every_read_of_one_reader(schema: Schema) -> None:
    bomb = json_string_bomb(1000)
    reader = schema.reader(bomb * 3, max_inflated=2500)
    assert reader.read_object().value == "a" * 1000
    assert reader.read_object().value == "a" * 1000
    start = reader.position
    with pytest.raises(DecodeError, match="for one decode"):
        reader.read_object()
    assert reader.position == start


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (-(2**70), ValueError), ("1", TypeError),
                                        (1.5, TypeError)])
def test_max_inflated_is_checked_the_same_way(schema: Schema, bad: Any, error: type) -> None:
    with pytest.raises(error, match="max_inflated"):
        schema.decode(json_string_bomb(10), max_inflated=bad)
    with pytest.raises(error, match="max_inflated"):
        schema.codec.Reader(b"", schema.registry, bad)


@pytest.mark.parametrize("large", [sys.maxsize, sys.maxsize + 1, 2**200])
def test_max_inflated_accepts_any_large_value(schema: Schema, large: int) -> None:
    assert schema.decode(json_string_bomb(10), max_inflated=large).value == "a" * 10


# ------------------------------------------------------------------------------------------
# 4. What encode writes, decode reads back

class LyingList(list):  # noqa: FURB189 - the point is a list whose parts disagree
    def __len__(self) -> int:
        return 1


class GrowingList(list):  # noqa: FURB189
    def __iter__(self) -> Any:
        yield from list.__iter__(self)
        yield from list.__iter__(self)


def test_a_list_whose_len_and_iteration_disagree_is_refused(schema: Schema) -> None:
    T = schema.types  # noqa: N806
    for value in (LyingList([T.JsonNull(), T.JsonNull()]), GrowingList([T.JsonNull()])):
        with pytest.raises(ValueError, match=r"^JsonArray\.value: the list yields"):
            schema.codec.encode(T.JsonArray(value=value))


def nested_vector(depth: int) -> tuple[Any, str]:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value, "Vector<" * depth + "int" + ">" * depth


@pytest.mark.parametrize("depth", range(60, 70))
def test_encode_and_decode_share_one_nesting_bound(schema: Schema, depth: int) -> None:
    T = schema.types  # noqa: N806
    value, tl_type = nested_vector(depth)
    chain: Any = T.JsonNull()
    for _ in range(depth):
        chain = T.JsonArray(value=[chain])
    for original, expected in ((value, tl_type), (chain, "JSONValue")):
        try:
            data = schema.encode_as(original, expected)
        except ValueError as exc:
            assert "nesting deeper than 64" in str(exc)
            with pytest.raises(DecodeError, match="nesting deeper than 64"):
                schema.decode(encode_unbounded(original, expected), expected)
            continue
        assert schema.decode(data, expected) == original  # whatever is written reads back


def encode_unbounded(value: Any, tl_type: str) -> bytes:
    """What an encoder without a nesting bound would write (to show the decoder refuses it)."""
    if tl_type.startswith("Vector<"):
        return u32(VECTOR_ID) + u32(1) + encode_unbounded(value[0], tl_type[7:-1])
    if isinstance(value, int):
        return struct.pack("<i", value)
    if type(value).__name__ == "JsonArray":
        return u32(0xF7444763) + u32(VECTOR_ID) + u32(1) + encode_unbounded(value.value[0], "JSONValue")
    return u32(0x3F6D7B68)  # jsonNull


@pytest.mark.parametrize("value, error, message", [
    (10**400, ValueError, r"^JsonNumber\.value: an int of 1329 bits is out of range for double"),
    (2**1024, ValueError, r"^JsonNumber\.value: .* out of range for double"),
    (True, TypeError, r"^JsonNumber\.value: expected float, got bool"),
])
def test_double_refusals_name_the_field(schema: Schema, value: Any, error: type,
                                        message: str) -> None:
    with pytest.raises(error, match=message):
        schema.codec.encode(schema.types.JsonNumber(value=value))


def test_encode_value_messages_match(schema: Schema) -> None:
    with pytest.raises(TypeError, match=r"^double: expected float, got bool$"):
        schema.encode_as(True, "double")


def test_memoryviews_encode_as_the_bytes_they_show(schema: Schema) -> None:
    F = schema.functions  # noqa: N806
    strided = memoryview(b"abcdefgh")[::2]
    data = schema.codec.encode(F.auth.ImportLoginToken(token=strided))
    assert schema.decode(data) == F.auth.ImportLoginToken(token=b"aceg")
    nonce = memoryview(bytes(range(32)))[::2]
    assert schema.decode(schema.codec.encode(F.ReqPqMulti(nonce=nonce))).nonce == bytes(range(0, 32, 2))
    wide = memoryview(bytes(8)).cast("I")
    with pytest.raises(TypeError, match=r"^ImportLoginToken\.token: expected bytes, got a memoryview of format 'I'"):
        schema.codec.encode(F.auth.ImportLoginToken(token=wide))
    released = memoryview(b"abcd")
    released.release()
    with pytest.raises(ValueError, match=r"^ImportLoginToken\.token: the memoryview is released"):
        schema.codec.encode(F.auth.ImportLoginToken(token=released))


# ------------------------------------------------------------------------------------------
# 5. Reader positions

def test_read_raw_refuses_a_negative_count(schema: Schema) -> None:
    reader = schema.reader(bytes(8))
    reader.read_raw(4)
    assert reader.read_raw(0) == b""
    for negative in (-1, -4):
        with pytest.raises(ValueError, match="negative"):
            reader.read_raw(negative)
    assert reader.position == 4


def test_read_takes_a_depth_from_0_to_max_depth(schema: Schema) -> None:
    codec = schema.codec
    int_spec = codec.TypeSpec(codec.K_INT, "int")
    for depth in (0, codec.MAX_DEPTH):
        assert schema.reader(u32(7)).read(int_spec, depth) == 7
    for depth in (-1, codec.MAX_DEPTH + 1):
        with pytest.raises(ValueError, match="depth must be between 0 and"):
            schema.reader(u32(7)).read(int_spec, depth)


def test_max_inflated_zero_decodes_all_but_gzip_packed(schema: Schema) -> None:
    T = schema.types  # noqa: N806
    plain = schema.codec.encode(T.JsonString(value="x"))
    assert schema.decode(plain, max_inflated=0) == T.JsonString(value="x")
    assert schema.codec.Reader(plain, schema.registry, 0).read_object() == T.JsonString(value="x")
    with pytest.raises(DecodeError, match="for one decode"):
        schema.decode(json_string_bomb(1), max_inflated=0)


TWO_TYPES_TL = """
first_a#11111111 = First;
first_b#22222222 x:int = First;
second_a#33333333 = Second;
second_b#44444444 = Second;
"""


def test_the_first_boxed_type_refuses_constructors_of_another(codec: ModuleType) -> None:
    # First is boxed type 0, the first index of the registry's type table (Object is -1).
    schema = Schema.from_tl(TWO_TYPES_TL, codec=codec)
    assert schema.spec("First").type_id == 0
    assert schema.decode(u32(0x22222222) + u32(5), "First").x == 5
    with pytest.raises(DecodeError, match="expected First, got second_a#33333333 of type Second"):
        schema.decode(u32(0x33333333), "First")


def test_a_run_time_schema_makes_a_class_when_decoding_first_meets_it(codec: ModuleType) -> None:
    schema = Schema.from_tl(TWO_TYPES_TL, codec=codec)
    plan = schema.registry.plan_for_id(0x22222222)
    assert plan.cls is None  # not looked up yet
    value = schema.decode(u32(0x22222222) + u32(5))
    assert type(value) is plan.cls is schema.get("first_b")
    # A factory that binds nothing leaves the plan without a class: a TypeError, not a crash.
    unbound = schema.registry.plan_for_id(0x44444444)
    unbound.factory = lambda plan: None
    with pytest.raises(TypeError, match="second_b is not bound to a class"):
        schema.decode(u32(0x44444444))


def test_a_registry_without_a_schema_takes_only_typespecs(codec: ModuleType) -> None:
    # Registry.decode's `expected` without a Schema to resolve names: None (any object) or a
    # complete TypeSpec; anything else, even an object posing as a complete spec, is refused.
    registry = codec.Registry([], [])
    with pytest.raises(DecodeError, match="unknown constructor id 0x12345678 where Object"):
        registry.decode(u32(0x12345678))
    assert registry.decode(u32(7), codec.TypeSpec(codec.K_INT, "int")) == 7

    class PosingAsSpec:
        complete = True

    for expected in ("int", PosingAsSpec()):
        with pytest.raises(TypeError, match="expected must be a TypeSpec"):
            registry.decode(u32(7), expected)
    # What a resolver gives is checked as well: a complete TypeSpec of a value, nothing else.
    for resolved, message in ((PosingAsSpec(), "does not give a complete TypeSpec"),
                              (codec.TypeSpec(codec.K_FLAGS, "#"), "# is part of a constructor"),
                              (codec.TypeSpec(codec.K_TRUE, "true"), "true is part of a")):
        registry.resolver = lambda expected, resolved=resolved: resolved
        with pytest.raises(TypeError, match=message):
            registry.decode(u32(7), "int")


def test_a_failed_read_leaves_the_reader_where_it_began(schema: Schema) -> None:
    T = schema.types  # noqa: N806
    whole = schema.codec.encode(T.JsonString(value="x" * 40)) + schema.codec.encode(T.JsonNull())
    partial = whole[:4] + whole[:30]  # one int, then the start of an object
    reader = schema.reader(partial)
    reader.read_int()
    for read in (reader.read_object, reader.read_string, reader.read_bool,
                 lambda: reader.read(schema.spec("JSONValue"))):
        with pytest.raises(DecodeError):
            read()
        assert reader.position == 4
    # With the rest of the bytes, the same read from the same place succeeds.
    retry = schema.reader(whole[:4] + whole)
    retry.read_raw(reader.position)
    assert retry.read_object() == T.JsonString(value="x" * 40)
    bad_utf8 = schema.reader(tl_blob(b"\xff\xfe"))
    with pytest.raises(DecodeError, match="UTF-8"):
        bad_utf8.read_string()
    assert bad_utf8.position == 0
