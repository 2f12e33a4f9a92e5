"""What the decoder fuzzers share (tests/test_fuzz.py, tests/fuzz_decode.py): the hostile
`expected` values a caller may pass, the outcome rule for them, and hand-built inputs of the
shapes that random mutation seldom reaches: msg_containers, gzip_packed (nested, and bombs
against a `max_inflated` budget), deep nesting, and vectors of elements that take no bytes.
"""

from __future__ import annotations

import struct
from typing import Any, Callable

from tlcodec import DecodeError, SchemaError

from test_hostile_codec import json_string_bomb, nested_empty_vectors, u32
from support import JSON_ARRAY_ID, JSON_NULL_ID, MSG_CONTAINER_ID, RPC_RESULT_ID, VECTOR_ID
from test_mtproto_session_hostile import gzip_packed

# Type names a caller may ask for that the schema serves oddly or not at all: vectors of bare
# constructors without fields (no bytes per element), %-bare types and constructors, names of
# nothing, and malformed names. The last ones must be refused whatever the bytes.
HOSTILE_EXPECTED = [
    "Vector<Vector<inputPeerEmpty>>",
    "Vector<%inputPeerEmpty>",
    "vector<%jsonNull>",
    "Vector<Vector<Vector<%jsonNull>>>",
    "Vector<Vector<%inputPeerEmpty>>",
    "%user",
    "%Object",
    "%msgs_ack",
    "Vector<%int>",
    "int128",
    "Vector<Bool>",
    "nosuch",
    "%User",
    "Vector<%true>",
    "Vector<",
]

# What a bad `expected` (not bad bytes) may be refused with: a name the schema cannot serve
# (SchemaError) or a value that is no type at all (TypeError).
ARGUMENT_REFUSALS = (SchemaError, TypeError)


def outcome(decode: Callable[[bytes], Any], data: bytes,
            comparable: Callable[[Any], Any]) -> tuple[str, Any]:
    """("ok", comparable(value)), ("error", offset) or ("refused", exception type name).

    A refusal must be about the argument, not the bytes: the same call on no bytes is refused
    the same way. Anything else propagates (and fails the run)."""
    try:
        value = decode(data)
    except DecodeError as exc:
        assert isinstance(exc.offset, int) and exc.offset >= 0, exc
        return "error", exc.offset
    except ARGUMENT_REFUSALS as exc:
        try:
            decode(b"")
        except type(exc):
            return "refused", type(exc).__name__
        raise AssertionError(f"{exc!r} depends on the bytes: no bytes are not refused") from exc
    return "ok", comparable(value)


# ----------------------------------------------------------------------------------------------
# Hand-built inputs (bytes, the `expected` they are meant for)


def json_chain(levels: int) -> bytes:
    """jsonArray([jsonArray([... jsonNull ...])]): `levels` nested vectors."""
    return b"".join(u32(v) for v in [JSON_ARRAY_ID, VECTOR_ID, 1] * levels + [JSON_NULL_ID])


def msg_container(bodies: list[bytes]) -> bytes:
    """A msg_container holding `bodies` (each a boxed object) with consistent item headers."""
    items = b"".join(struct.pack("<qii", (1 << 32) * (i + 1) + 1, 2 * i + 1, len(body)) + body
                     for i, body in enumerate(bodies))
    return struct.pack("<Ii", MSG_CONTAINER_ID, len(bodies)) + items


def rpc_result(req_msg_id: int, result: bytes) -> bytes:
    return struct.pack("<Iq", RPC_RESULT_ID, req_msg_id) + result


def nested_gzip(body: bytes, layers: int) -> bytes:
    for _ in range(layers):
        body = gzip_packed(body)
    return body


def structural_inputs(objects: list[bytes]) -> list[tuple[str, bytes, str | None]]:
    """(name, bytes, expected) for every shape named in the module doc, built around `objects`
    (a few valid encodings)."""
    first = objects[0]
    bomb = json_string_bomb(1 << 20)
    inputs: list[tuple[str, bytes, str | None]] = [
        ("container", msg_container(objects[:8]), None),
        ("container-of-gzip", msg_container([gzip_packed(o) for o in objects[:4]]), None),
        ("container-in-container", msg_container([msg_container(objects[:2])]), None),
        ("rpc_result-gzip", rpc_result(7, gzip_packed(first)), None),
        ("bomb", bomb, None),
        ("vector-of-bombs", u32(VECTOR_ID) + u32(4) + bomb * 4, "Vector<JSONValue>"),
        ("zero-size-vectors", nested_empty_vectors(32), "Vector<Vector<inputPeerEmpty>>"),
        ("zero-size-bare", u32(VECTOR_ID) + u32(2) + u32(VECTOR_ID) + u32(8),
         "Vector<Vector<%inputPeerEmpty>>"),
    ]
    for layers in (2, 3, 8):
        inputs.append((f"gzip-{layers}-layers", nested_gzip(first, layers), None))
    for levels in (32, 33, 200):  # 32 jsonArrays are 64 levels: the bound
        inputs.append((f"json-{levels}-deep", json_chain(levels), "JSONValue"))
    return inputs
