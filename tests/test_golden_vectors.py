"""Golden vectors: exact bytes from the protocol test vectors and PROTOCOL.md, both directions.

Every test names where its bytes come from: a group of tests/data/test_vectors.json (its
"_source" says whether the values are official, copied from a library, or self-computed) or a
section of PROTOCOL.md (the protocol digest those vectors come with). Each vector must encode to
exactly those bytes and decode back to an equal object, so a codec that is only self-consistent
cannot pass.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

import tlcodec
from tlcodec import functions as F
from tlcodec import types as T
from tlcodec.mtproto.session import MSG_CONTAINER_ID, MSG_COPY_ID, _parse_container
from tlcodec.schema import compute_id, parse_schema

from support import API_HASH, CodecBuild, reference_file, reference_vectors

TOKEN_01_TO_20 = bytes(range(1, 33))  # "token_01to20": the 32 bytes 01..20
RPC_RESULT_KEY = "rpc_result_req_0x65c53d5000000004_rpc_error_400_AUTH_TOKEN_EXPIRED"
VECTOR_ID_WIRE = bytes.fromhex("15c4b51c")
BUNDLED_DATA = Path(tlcodec.schema.__file__).resolve().parent / "data"  # the bundled .tl files


@pytest.fixture(scope="module")
def tl_examples() -> dict[str, Any]:
    """test_vectors.json "tl_serialization_examples" (self-computed, ids from schema/*.tl)."""
    group = reference_vectors("tl_serialization_examples")
    assert group["_source"].startswith("self-computed")
    return group


@pytest.fixture(scope="module")
def auth_key_sample() -> dict[str, Any]:
    """test_vectors.json "auth_key_creation_sample" (official: core.telegram.org samples)."""
    group = reference_vectors("auth_key_creation_sample")
    assert group["_source"].startswith("official")
    return group


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text)


def wire_id(constructor_id: int) -> bytes:
    return struct.pack("<I", constructor_id)


def assert_round_trip(
    tl: CodecBuild, obj: Any, expected: bytes, expected_type: str | None = None
) -> None:
    """`obj` encodes to exactly `expected`, which decodes back to an equal object."""
    assert tl.encode(obj).hex() == expected.hex()
    assert bytes(obj) == expected
    decoded = tl.decode(expected)
    assert type(decoded) is type(obj)
    assert decoded == obj
    assert type(obj).from_bytes(expected) == obj
    if expected_type is not None:
        assert tl.decode(expected, expected_type) == obj


# --------------------------------------------------------------------------------------------
# tl_serialization_examples: primitives, read bare (Reader, decode(expected=...)) and written
# inside a one-field constructor that carries them (its id, then exactly the vector's bytes).


@pytest.mark.parametrize(
    ("key", "value"), [("int_1", 1), ("int_minus_404", -404)]
)
def test_int_examples(tl: CodecBuild, tl_examples: dict[str, Any], key: str, value: int) -> None:
    """Source: test_vectors.json tl_serialization_examples (PROTOCOL.md 1.2 examples)."""
    wire = hexbytes(tl_examples[key])
    assert tl.decode(wire, expected="int") == value
    reader = tl.Reader(wire)
    assert reader.read_int() == value
    assert reader.remaining == 0
    # userStatusOnline#edb93949 expires:int carries exactly one int.
    assert tl.encode(tl.types.UserStatusOnline(expires=value)) == wire_id(0xEDB93949) + wire


def test_long_example(tl: CodecBuild, tl_examples: dict[str, Any]) -> None:
    """Source: test_vectors.json tl_serialization_examples "long_0x0102030405060708"."""
    wire = hexbytes(tl_examples["long_0x0102030405060708"])
    assert tl.decode(wire, expected="long") == 0x0102030405060708
    assert tl.Reader(wire).read_long() == 0x0102030405060708
    # ping#7abe77ec ping_id:long carries exactly one long.
    ping = tl.functions.Ping(ping_id=0x0102030405060708)
    assert tl.encode(ping) == wire_id(0x7ABE77EC) + wire
    assert tl.decode(wire_id(0x7ABE77EC) + wire) == ping


def test_double_example(tl: CodecBuild, tl_examples: dict[str, Any]) -> None:
    """Source: test_vectors.json tl_serialization_examples "double_1.5"."""
    wire = hexbytes(tl_examples["double_1.5"])
    assert tl.decode(wire, expected="double") == 1.5
    assert tl.Reader(wire).read_double() == 1.5
    # jsonNumber#2be0dfa4 value:double
    assert_round_trip(tl, tl.types.JsonNumber(value=1.5), wire_id(0x2BE0DFA4) + wire, "JSONValue")


@pytest.mark.parametrize(("key", "value"), [("boolTrue", True), ("boolFalse", False)])
def test_bool_examples(tl: CodecBuild, tl_examples: dict[str, Any], key: str, value: bool) -> None:
    """Source: test_vectors.json tl_serialization_examples "boolTrue"/"boolFalse"."""
    wire = hexbytes(tl_examples[key])
    assert tl.decode(wire, expected="Bool") is value
    assert tl.Reader(wire).read_bool() is value
    # jsonBool#c7345e6a value:Bool: a boxed Bool, never 0/1.
    assert_round_trip(tl, tl.types.JsonBool(value=value), wire_id(0xC7345E6A) + wire, "JSONValue")


@pytest.mark.parametrize(("key", "value"), [("string_hello", "hello"), ("string_empty", "")])
def test_string_examples(tl: CodecBuild, tl_examples: dict[str, Any], key: str, value: str) -> None:
    """Source: test_vectors.json tl_serialization_examples (PROTOCOL.md 1.3 examples)."""
    wire = hexbytes(tl_examples[key])
    assert tl.decode(wire, expected="string") == value
    reader = tl.Reader(wire)
    assert reader.read_string() == value
    assert reader.position == len(wire)
    assert tl.Reader(wire).read_bytes() == value.encode()
    # jsonString#b71e767a value:string
    assert_round_trip(tl, tl.types.JsonString(value=value), wire_id(0xB71E767A) + wire, "JSONValue")


@pytest.mark.parametrize(
    ("length", "header_key", "total_key"),
    [
        (253, "bytes_253_header", "bytes_253_zero_bytes_len"),  # short form, 2 pad bytes
        (254, "bytes_254_header", "bytes_254_zero_bytes_len"),  # first length in the long form
        (1000, "bytes_1000_header", "bytes_1000_len"),  # 3-byte little-endian length
    ],
)
def test_bytes_length_prefix_examples(
    tl: CodecBuild,
    tl_examples: dict[str, Any], length: int, header_key: str, total_key: str
) -> None:
    """Source: test_vectors.json tl_serialization_examples bytes_* and PROTOCOL.md 1.3."""
    header = hexbytes(tl_examples[header_key])
    total = tl_examples[total_key]
    # The same numbers as PROTOCOL.md 1.3: 253 -> 256 bytes, 254 -> 260, 1000 -> 1004.
    assert {253: (256, "fd"), 254: (260, "fefe0000"), 1000: (1004, "fee80300")}[length] == (
        total,
        header.hex(),
    )
    token = bytes(length)
    data = tl.encode(tl.types.auth.LoginToken(expires=0, token=token))
    blob = data[8:]  # after the id and the int
    assert len(blob) == total
    assert blob.startswith(header)
    assert blob[len(header) :] == token + bytes(total - len(header) - length)
    reader = tl.Reader(blob)
    assert reader.read_bytes() == token
    assert reader.position == total
    assert tl.decode(data) == tl.types.auth.LoginToken(expires=0, token=token)


def test_vector_of_long_example(tl: CodecBuild, tl_examples: dict[str, Any]) -> None:
    """Source: test_vectors.json tl_serialization_examples "Vector_long_1_2" (PROTOCOL.md 1.5)."""
    wire = hexbytes(tl_examples["Vector_long_1_2"])
    assert tl.decode(wire, expected="Vector<long>") == [1, 2]
    # msgs_ack#62d6b459 msg_ids:Vector<long> is its id followed by exactly this vector.
    assert_round_trip(tl, tl.types.MsgsAck(msg_ids=[1, 2]), wire_id(0x62D6B459) + wire, "MsgsAck")


def test_empty_vector_example(tl: CodecBuild) -> None:
    """Source: PROTOCOL.md 1.5: empty vector = 15 c4 b5 1c 00 00 00 00."""
    wire = bytes.fromhex("15c4b51c00000000")
    assert tl.decode(wire, expected="Vector<long>") == []
    assert tl.decode(wire, expected="Vector<User>") == []
    assert_round_trip(tl, tl.types.MsgsAck(msg_ids=[]), wire_id(0x62D6B459) + wire)


def test_code_settings_example_with_runtime_schema(
    tl: CodecBuild, tl_examples: dict[str, Any]
) -> None:
    """Source: test_vectors.json "codeSettings_flashcall_currentnumber_token_abc_sandbox_false"
    (PROTOCOL.md 1.6). The single line of the official api.tl loaded at run time, and the
    bundled layer: two fields sharing flag bit 8 (token, app_sandbox) are both written."""
    api = reference_file("api.tl").read_text(encoding="utf-8")
    (line,) = [raw for raw in api.splitlines() if raw.startswith("codeSettings#")]
    schema = tlcodec.Schema.from_tl(line, codec=tl.codec)
    assert schema.mismatches == []
    code_settings = schema.get("codeSettings")
    assert code_settings.CONSTRUCTOR_ID == 0xAD253D78
    obj = code_settings(allow_flashcall=True, current_number=True, token="abc", app_sandbox=False)
    wire = hexbytes(tl_examples["codeSettings_flashcall_currentnumber_token_abc_sandbox_false"])
    assert tl.encode(obj) == wire
    decoded = schema.decode(wire)
    assert decoded == obj
    assert decoded.app_sandbox is False  # present (bit 8) and false, not absent
    assert decoded.allow_app_hash is False and decoded.logout_tokens is None
    assert schema.decode(wire, "CodeSettings") == obj
    # The bundled layer reads the same bytes as its own class, and writes them back.
    bundled = tl.decode(wire)
    assert type(bundled) is tl.types.CodeSettings
    assert bundled.to_dict() == obj.to_dict()
    assert tl.encode(bundled) == wire


def _export_login_token(tl: CodecBuild) -> Any:
    return tl.functions.auth.ExportLoginToken(api_id=12345, api_hash=API_HASH, except_ids=[])


AUTH_EXAMPLES = {
    "auth.exportLoginToken_12345_hash0123456789abcdef_x2_empty": (
        _export_login_token,
        "auth.LoginToken",  # a function: decode it as an Object, check RESULT_TYPE instead
    ),
    "auth.importLoginToken_token_01to20": (
        lambda tl: tl.functions.auth.ImportLoginToken(token=TOKEN_01_TO_20),
        "auth.LoginToken",
    ),
    "auth.loginToken_expires_1707425135_token_01to20": (
        lambda tl: tl.types.auth.LoginToken(expires=1707425135, token=TOKEN_01_TO_20),
        "auth.LoginToken",
    ),
    "auth.loginTokenMigrateTo_dc4_token_01to20": (
        lambda tl: tl.types.auth.LoginTokenMigrateTo(dc_id=4, token=TOKEN_01_TO_20),
        "auth.LoginToken",
    ),
    "updateShort_updateLoginToken_date_1707425120": (
        lambda tl: tl.types.UpdateShort(update=tl.types.UpdateLoginToken(), date=1707425120),
        "Updates",
    ),
    "rpc_error_420_FLOOD_WAIT_31": (
        lambda tl: tl.types.RpcError(error_code=420, error_message="FLOOD_WAIT_31"),
        "RpcError",
    ),
    "invokeWithLayer228_initConnection_PC_Linux_1.0_en_empty_en_exportLoginToken": (
        lambda tl: tl.functions.InvokeWithLayer(
            layer=228,
            query=tl.functions.InitConnection(
                api_id=12345,
                device_model="PC",
                system_version="Linux",
                app_version="1.0",
                system_lang_code="en",
                lang_pack="",
                lang_code="en",
                query=_export_login_token(tl),
            ),
        ),
        None,
    ),
    "msgs_ack_one_id": (lambda tl: tl.types.MsgsAck(msg_ids=[0x65C53D511E6E4C01]), "MsgsAck"),
}


@pytest.mark.parametrize("key", sorted(AUTH_EXAMPLES))
def test_tl_serialization_example_round_trips(
    tl: CodecBuild, tl_examples: dict[str, Any], key: str
) -> None:
    """Source: test_vectors.json tl_serialization_examples[key] (self-computed)."""
    build, tl_type = AUTH_EXAMPLES[key]
    obj = build(tl)
    is_function = isinstance(obj, tl.TLRequest)
    assert_round_trip(tl, obj, hexbytes(tl_examples[key]), None if is_function else tl_type)
    if is_function and tl_type is not None:
        assert type(obj).RESULT_TYPE == tl_type


def test_invoke_with_layer_prefix_matches_protocol_example(
    tl: CodecBuild, tl_examples: dict[str, Any]
) -> None:
    """Source: PROTOCOL.md 1.7: the invokeWithLayer(228, initConnection(...)) prefix, field by
    field, followed directly by the inner auth.exportLoginToken query."""
    wire = hexbytes(
        tl_examples["invokeWithLayer228_initConnection_PC_Linux_1.0_en_empty_en_exportLoginToken"]
    )
    prefix = bytes.fromhex(
        "0d0d9bda e4000000 a95ecdc1 00000000 39300000"
        " 02504300 054c696e75780000 03312e30 02656e00 00000000 02656e00"
    )
    assert wire.startswith(prefix)
    assert wire[len(prefix) :] == hexbytes(
        tl_examples["auth.exportLoginToken_12345_hash0123456789abcdef_x2_empty"]
    )
    decoded = tl.decode(wire)
    assert decoded.layer == tlcodec.LAYER == 228
    assert decoded.query.proxy is None and decoded.query.params is None
    assert decoded.query.query == _export_login_token(tl)


def test_rpc_result_carrying_rpc_error(tl: CodecBuild, tl_examples: dict[str, Any]) -> None:
    """Source: test_vectors.json tl_serialization_examples
    "rpc_result_req_0x65c53d5000000004_rpc_error_400_AUTH_TOKEN_EXPIRED" (PROTOCOL.md 1.8):
    rpc_result.result is an Object; here an RpcError instance."""
    wire = hexbytes(tl_examples[RPC_RESULT_KEY])
    decoded = tl.decode(wire)
    assert isinstance(decoded, tl.types.RpcResult)
    assert decoded.req_msg_id == 0x65C53D5000000004
    assert isinstance(decoded.result, tl.types.RpcError)
    assert (decoded.result.error_code, decoded.result.error_message) == (400, "AUTH_TOKEN_EXPIRED")
    expected = tl.types.RpcResult(
        req_msg_id=0x65C53D5000000004,
        result=tl.types.RpcError(error_code=400, error_message="AUTH_TOKEN_EXPIRED"),
    )
    assert decoded == expected
    assert tl.encode(decoded) == wire
    assert tl.encode(expected) == wire


def test_rpc_result_carrying_gzip_packed_result_is_unwrapped(tl: CodecBuild) -> None:
    """Source: PROTOCOL.md 1.8: rpc_result.result may be a gzip_packed whose inflated bytes are
    the boxed result; the decoder hands back the inner object."""
    inner = tl.types.auth.LoginToken(expires=1707425135, token=TOKEN_01_TO_20)
    packed = gzip.compress(tl.encode(inner))
    blob = bytes([len(packed)]) + packed + bytes(-(1 + len(packed)) & 3)
    wire = (
        wire_id(0xF35C6D01)
        + struct.pack("<q", 0x65C53D5000000004)
        + wire_id(0x3072CFA1)
        + blob
    )
    decoded = tl.decode(wire)
    assert decoded == tl.types.RpcResult(req_msg_id=0x65C53D5000000004, result=inner)


def test_gzip_packed_object_carries_a_binary_gzip_stream(tl: CodecBuild) -> None:
    """Source: PROTOCOL.md 1.8: `gzip_packed#3072cfa1 packed_data:string` holds a gzip (RFC 1952)
    stream, and a client may send its own queries gzip-packed, so a GzipPacked must accept the
    raw (non-UTF-8) gzip bytes on encode and give them back when decoded as exactly that class."""
    packed = gzip.compress(tl.encode(tl.functions.auth.ImportLoginToken(token=TOKEN_01_TO_20)))
    assert packed[:2] == b"\x1f\x8b"  # the gzip magic is not valid UTF-8
    blob = bytes([len(packed)]) + packed + bytes(-(1 + len(packed)) & 3)
    wire = wire_id(0x3072CFA1) + blob
    # Transparent unwrapping where the inner object is expected works already:
    assert tl.decode(wire) == tl.functions.auth.ImportLoginToken(token=TOKEN_01_TO_20)
    obj = tl.types.GzipPacked(packed_data=packed)
    assert tl.encode(obj) == wire
    decoded = tl.decode(wire, tl.types.GzipPacked)
    assert bytes(decoded.packed_data) == packed  # type: ignore[arg-type]


def test_every_tl_serialization_example_is_covered(tl_examples: dict[str, Any]) -> None:
    """Source: test_vectors.json tl_serialization_examples: a new entry must get a test here."""
    covered = set(AUTH_EXAMPLES) | {
        "int_1", "int_minus_404", "long_0x0102030405060708", "double_1.5",
        "boolTrue", "boolFalse", "string_hello", "string_empty",
        "bytes_253_zero_bytes_len", "bytes_253_header", "bytes_254_zero_bytes_len",
        "bytes_254_header", "bytes_1000_header", "bytes_1000_len",
        "Vector_long_1_2",
        "codeSettings_flashcall_currentnumber_token_abc_sandbox_false",
        RPC_RESULT_KEY,
    }
    assert {key for key in tl_examples if not key.startswith("_")} == covered


# --------------------------------------------------------------------------------------------
# PROTOCOL.md 1.4 and 1.9: the auth.LoginToken family on the wire


def test_import_login_token_example_from_section_1_4(tl: CodecBuild) -> None:
    """Source: PROTOCOL.md 1.4: auth.importLoginToken with a 32-byte token 01..20."""
    wire = bytes.fromhex(
        "e4 5c ac 95 20 01 02 03 04 05 06 07 08 09 0a 0b"
        "0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b"
        "1c 1d 1e 1f 20 00 00 00"
    )
    assert_round_trip(tl, tl.functions.auth.ImportLoginToken(token=TOKEN_01_TO_20), wire)


@pytest.mark.parametrize(
    ("cls", "tl_name", "id_hex", "wire_bytes"),
    [
        (T.auth.LoginToken, "auth.loginToken", "629f1980", "80 19 9f 62"),
        (T.auth.LoginTokenMigrateTo, "auth.loginTokenMigrateTo", "068e9916", "16 99 8e 06"),
        (T.auth.LoginTokenSuccess, "auth.loginTokenSuccess", "390d5c5e", "5e 5c 0d 39"),
        (F.auth.ExportLoginToken, "auth.exportLoginToken", "b7e085fe", "fe 85 e0 b7"),
        (F.auth.ImportLoginToken, "auth.importLoginToken", "95ac5ce4", "e4 5c ac 95"),
        (F.auth.AcceptLoginToken, "auth.acceptLoginToken", "e894ad4d", "4d ad 94 e8"),
        (T.UpdateLoginToken, "updateLoginToken", "564fe691", "91 e6 4f 56"),
        (T.UpdateShort, "updateShort", "78d4dec1", "c1 de d4 78"),
        (T.auth.Authorization, "auth.authorization", "2ea2c0d4", "d4 c0 a2 2e"),
        (
            T.auth.AuthorizationSignUpRequired,
            "auth.authorizationSignUpRequired",
            "44747e9a",
            "9a 7e 74 44",
        ),
    ],
)
def test_login_token_family_ids_and_wire_bytes(
    cls: type, tl_name: str, id_hex: str, wire_bytes: str
) -> None:
    """Source: PROTOCOL.md 1.9 table (id and its wire bytes for each family member)."""
    assert cls.TL_NAME == tl_name  # type: ignore[attr-defined]
    assert cls.CONSTRUCTOR_ID == int(id_hex, 16)  # type: ignore[attr-defined]
    assert wire_id(cls.CONSTRUCTOR_ID) == bytes.fromhex(wire_bytes)  # type: ignore[attr-defined]


def test_login_token_success_decodes_the_authorization_user_graph(tl: CodecBuild) -> None:
    """Source: PROTOCOL.md 1.9: auth.loginTokenSuccess needs the whole auth.Authorization -> User
    graph (user#b1b8cc83 with flags and flags2). Bytes assembled by hand from the schema lines."""
    user = (
        wire_id(0xB1B8CC83)
        + struct.pack("<II", (1 << 0) | (1 << 1) | (1 << 10) | (1 << 6), 1 << 0)  # flags, flags2
        + struct.pack("<q", 777)  # id
        + struct.pack("<q", -5)  # access_hash (flags.0)
        + b"\x03Ann"  # first_name (flags.1)
        + wire_id(0xEDB93949) + struct.pack("<i", 1707425200)  # status (flags.6)
        + VECTOR_ID_WIRE + struct.pack("<i", 1)  # usernames (flags2.0)
        + wire_id(0xB4073647) + struct.pack("<I", 3) + b"\x03ann"  # editable, active
    )
    wire = (
        wire_id(0x390D5C5E)
        + wire_id(0x2EA2C0D4)
        + struct.pack("<I", (1 << 1) | (1 << 0))  # otherwise_relogin_days + tmp_sessions
        + struct.pack("<ii", 30, 2)
        + user
    )
    expected = tl.types.auth.LoginTokenSuccess(
        authorization=tl.types.auth.Authorization(
            setup_password_required=True,
            otherwise_relogin_days=30,
            tmp_sessions=2,
            user=tl.types.User(
                self=True,
                id=777,
                access_hash=-5,
                first_name="Ann",
                status=tl.types.UserStatusOnline(expires=1707425200),
                usernames=[tl.types.Username(editable=True, active=True, username="ann")],
            ),
        )
    )
    assert_round_trip(tl, expected, wire, "auth.LoginToken")


# --------------------------------------------------------------------------------------------
# crc32_constructor_ids and PROTOCOL.md 2.3


def _crc_entries() -> list[tuple[str, int]]:
    group = reference_vectors("crc32_constructor_ids")
    return [(text, int(value, 16)) for text, value in group.items() if not text.startswith("_")]


@lru_cache(maxsize=None)
def _bundled_raw_definitions() -> dict[str, Any]:
    """Every declaration of the bundled .tl files, Bool/True included (the schema drops those)."""
    found = {}
    for name in ("api.tl", "mtproto.tl"):
        parsed = parse_schema((BUNDLED_DATA / name).read_text(encoding="utf-8"))
        for definition in parsed.definitions:
            found[definition.name] = definition
    return found


def test_crc32_vector_group_is_labelled_and_complete() -> None:
    """Source: test_vectors.json crc32_constructor_ids: present, and it says where it is from."""
    group = reference_vectors("crc32_constructor_ids")
    assert "PROTOCOL.md section 2" in group["_source"]
    assert len(_crc_entries()) == 18


@pytest.mark.parametrize(("normalized", "constructor_id"), _crc_entries())
def test_crc32_constructor_id(tl: CodecBuild, normalized: str, constructor_id: int) -> None:
    """Source: test_vectors.json crc32_constructor_ids (ids as published in schema/*.tl)."""
    # The strings are already normalized (PROTOCOL.md 2.3 steps 1-6): the id is their CRC32,
    # and compute_id, which normalizes a whole declaration line, must leave them unchanged.
    assert zlib.crc32(normalized.encode("ascii")) == constructor_id
    assert compute_id(normalized) == constructor_id
    name = normalized.split(" ", 1)[0]
    definitions = _bundled_raw_definitions()
    if name in ("vector", "int"):
        # Built-ins the codec implements natively: no bundled declaration, but the vector id is
        # what every boxed Vector starts with.
        if name == "vector":
            assert tl.encode(tl.types.MsgsAck(msg_ids=[]))[4:8] == wire_id(constructor_id)
        return
    if name in ("msg_container", "msg_copy"):
        # Commented out in the official mtproto.tl and in the bundled one (the session parses
        # containers by hand, api.tl's `message` has the name): the official line has the id.
        official = reference_file("mtproto.tl").read_text(encoding="utf-8")
        assert f"//{name}#{constructor_id:08x} " in official
        assert {"msg_container": MSG_CONTAINER_ID, "msg_copy": MSG_COPY_ID}[name] == constructor_id
        return
    definition = definitions[name]
    assert definition.id == constructor_id
    assert definition.computed_id == constructor_id
    assert compute_id(definition.line) == constructor_id


def test_crc32_of_bool_constructors_is_what_the_codec_writes(tl: CodecBuild) -> None:
    """Source: test_vectors.json crc32_constructor_ids boolTrue/boolFalse (PROTOCOL.md 1.2)."""
    assert tl.encode(tl.types.JsonBool(value=True))[4:] == wire_id(0x997275B5)
    assert tl.encode(tl.types.JsonBool(value=False))[4:] == wire_id(0xBC799737)


def test_section_2_3_worked_example(tl: CodecBuild) -> None:
    """Source: PROTOCOL.md 2.3 worked example: auth.authorization, step by step."""
    line = (
        "auth.authorization#2ea2c0d4 flags:# setup_password_required:flags.1?true "
        "otherwise_relogin_days:flags.1?int tmp_sessions:flags.0?int "
        "future_auth_token:flags.2?bytes user:User = auth.Authorization;"
    )
    step2 = (
        "auth.authorization flags:# setup_password_required:flags.1?true "
        "otherwise_relogin_days:flags.1?int tmp_sessions:flags.0?int "
        "future_auth_token:flags.2?bytes user:User = auth.Authorization"
    )
    step4 = (
        "auth.authorization flags:# otherwise_relogin_days:flags.1?int tmp_sessions:flags.0?int "
        "future_auth_token:flags.2?string user:User = auth.Authorization"
    )
    assert zlib.crc32(step2.encode()) == 0xF085AE3E  # "without step 3 and 4"
    assert zlib.crc32(step4.encode()) == 0x2EA2C0D4
    assert compute_id(line) == 0x2EA2C0D4
    assert compute_id(step2) == 0x2EA2C0D4  # the id token is optional for compute_id
    (definition,) = parse_schema(line).definitions
    assert definition.id == definition.computed_id == 0x2EA2C0D4
    assert tl.types.auth.Authorization.CONSTRUCTOR_ID == 0x2EA2C0D4


@pytest.mark.parametrize(
    ("normalized", "constructor_id"),
    [
        # PROTOCOL.md 2.3: the official examples of the TL page.
        ("vector t:Type # [ t ] = Vector t", 0x1CB5C415),
        ("int ? = Int", 0xA8509BDA),
        ("user id:int first_name:string last_name:string = User", 0xD23C81A3),
    ],
)
def test_section_2_3_official_examples(normalized: str, constructor_id: int) -> None:
    """Source: PROTOCOL.md 2.3 (core.telegram.org TL page examples)."""
    assert compute_id(normalized) == constructor_id


def test_compute_id_normalizes_a_raw_declaration_line() -> None:
    """Source: PROTOCOL.md 2.3 steps 1-7 on raw lines: the comment, the `;`, the `#id`, the
    `?true` fields, `:bytes`, `<>`, `{}` and extra spaces all go before hashing."""
    assert compute_id("msg_container#73f1f8dc messages:vector<message> = MessageContainer; // c") \
        == 0x73F1F8DC
    assert compute_id("invokeWithLayer#da9b0d0d {X:Type} layer:int query:!X = X;") == 0xDA9B0D0D
    assert compute_id("auth.importLoginToken#95ac5ce4   token:bytes = auth.LoginToken;") \
        == 0x95AC5CE4
    assert compute_id("auth.loginTokenMigrateTo#68e9916 dc_id:int token:bytes = auth.LoginToken;") \
        == 0x068E9916


# --------------------------------------------------------------------------------------------
# auth_key_creation_sample (official): the parts that are pure TL. Unencrypted messages are
# auth_key_id (8) + msg_id (8) + length (4), then the boxed body (PROTOCOL.md 3.2).

UNENCRYPTED_HEADER = 20


def test_req_pq_multi_sample(tl: CodecBuild, auth_key_sample: dict[str, Any]) -> None:
    """Source: auth_key_creation_sample.req_pq_multi_payload (official, PROTOCOL.md 3.2)."""
    payload = hexbytes(auth_key_sample["req_pq_multi_payload"])
    reader = tl.Reader(payload)
    assert reader.read_long() == 0  # auth_key_id
    assert reader.read_long() == 0x65C53D50000672D4  # msg_id
    assert reader.read_int() == 20
    request = reader.read_object()
    assert reader.remaining == 0
    nonce = hexbytes(auth_key_sample["nonce"])
    assert request == tl.functions.ReqPqMulti(nonce=nonce)
    assert request.nonce == nonce  # int128 stays bytes in wire order
    assert tl.encode(request) == payload[UNENCRYPTED_HEADER:]


def test_res_pq_sample(tl: CodecBuild, auth_key_sample: dict[str, Any]) -> None:
    """Source: auth_key_creation_sample.resPQ_payload (official). pq is a big-endian number in a
    TL `string` (PROTOCOL.md 3.3): its bytes (25 65 95 ed ...) are not UTF-8 text."""
    body = hexbytes(auth_key_sample["resPQ_payload"])[UNENCRYPTED_HEADER:]
    decoded = tl.decode(body, "ResPQ")
    assert isinstance(decoded, tl.types.ResPQ)
    assert decoded.nonce == hexbytes(auth_key_sample["nonce"])
    assert decoded.server_nonce == hexbytes(auth_key_sample["server_nonce"])
    assert isinstance(decoded.pq, bytes)
    assert int.from_bytes(decoded.pq, "big") == auth_key_sample["pq"]
    fingerprints = [f & 0xFFFFFFFFFFFFFFFF for f in decoded.server_public_key_fingerprints]
    assert fingerprints == [int(f, 16) for f in auth_key_sample["resPQ_fingerprints_as_uint64"]]
    assert tl.encode(decoded) == body


def test_p_q_inner_data_dc_sample(tl: CodecBuild, auth_key_sample: dict[str, Any]) -> None:
    """Source: auth_key_creation_sample.p_q_inner_data_dc_serialized (official): pq, p, q are
    big-endian byte strings inside TL `string` fields, nonces are bytes in wire order."""
    wire = hexbytes(auth_key_sample["p_q_inner_data_dc_serialized"])

    def be(number: int) -> bytes:
        return number.to_bytes((number.bit_length() + 7) // 8, "big")

    expected = tl.types.PQInnerDataDc(
        pq=be(auth_key_sample["pq"]),
        p=be(auth_key_sample["p"]),
        q=be(auth_key_sample["q"]),
        nonce=hexbytes(auth_key_sample["nonce"]),
        server_nonce=hexbytes(auth_key_sample["server_nonce"]),
        new_nonce=hexbytes(auth_key_sample["new_nonce"]),
        dc=2,
    )
    assert tl.encode(expected) == wire
    assert tl.decode(wire) == expected


def test_dh_gen_ok_sample(tl: CodecBuild, auth_key_sample: dict[str, Any]) -> None:
    """Source: auth_key_creation_sample.dh_gen_ok_payload (official): three int128 fields."""
    body = hexbytes(auth_key_sample["dh_gen_ok_payload"])[UNENCRYPTED_HEADER:]
    expected = tl.types.DhGenOk(
        nonce=hexbytes(auth_key_sample["nonce"]),
        server_nonce=hexbytes(auth_key_sample["server_nonce"]),
        new_nonce_hash1=hexbytes(auth_key_sample["new_nonce_hash1"]),
    )
    assert_round_trip(tl, expected, body, "Set_client_DH_params_answer")


# --------------------------------------------------------------------------------------------
# Decrypted inner messages: the TL part after salt, session_id, msg_id, seqno, length (32 bytes).


def test_server_message_container_from_grammers(tl: CodecBuild) -> None:
    """Source: test_vectors.json encrypted_server_message_grammers.plaintext (library: grammers,
    a real server message): msg_container (a bare vector of bare `message`) holding
    new_session_created (seqno 1) and pong (seqno 2)."""
    group = reference_vectors("encrypted_server_message_grammers")
    assert group["_source"].startswith("library")
    plaintext = hexbytes(group["plaintext"])
    header = tl.Reader(plaintext[:32])
    assert header.read_raw(8) == bytes.fromhex("fc826a02248b28fd")  # salt
    header.read_long()  # session_id
    assert header.read_long() == 0x5E308B91C2C1F001
    assert header.read_int() == 2
    length = header.read_int()
    assert length == 88
    body = plaintext[32 : 32 + length]
    # Containers are parsed by the session, not the codec (api.tl's `message` takes the name).
    assert struct.unpack_from("<I", body)[0] == MSG_CONTAINER_ID
    (first_id, first_seqno, first_body), (second_id, second_seqno, second_body) = (
        _parse_container(0x5E308B91C2C1F001, body, from_server=True)
    )
    assert (first_seqno, len(first_body), second_seqno, len(second_body)) == (1, 28, 2, 20)
    new_session, pong = tl.decode(first_body), tl.decode(second_body)
    assert isinstance(new_session, tl.types.NewSessionCreated)
    assert new_session.server_salt == struct.unpack("<q", bytes.fromhex("fc826a02248b28fd"))[0]
    assert isinstance(pong, tl.types.Pong)
    # The pong answers the client's ping, the message that also opened the session.
    assert pong.msg_id == new_session.first_msg_id == 0x5E308B91AD33FDC4
    assert pong.ping_id == 0x300864
    assert (tl.encode(new_session), tl.encode(pong)) == (first_body, second_body)


def test_client_ping_message_body(tl: CodecBuild) -> None:
    """Source: test_vectors.json encrypted_client_message_example.plaintext (self-computed):
    body = ping#7abe77ec ping_id=0x0102030405060708 after the 32-byte inner header."""
    plaintext = hexbytes(reference_vectors("encrypted_client_message_example")["plaintext"])
    reader = tl.Reader(plaintext)
    assert reader.read_long() == struct.unpack("<q", bytes.fromhex("49a6747298503dce"))[0]
    assert reader.read_long() == 0x1122334455667788
    assert reader.read_long() == 0x65C53D5100000004
    assert reader.read_int() == 1
    assert reader.read_int() == 12
    assert reader.read_object() == tl.functions.Ping(ping_id=0x0102030405060708)
    assert reader.remaining == 20  # the padding A0..B3
    assert tl.encode(tl.functions.Ping(ping_id=0x0102030405060708)) == plaintext[32:44]


def test_reader_read_object_narrows_by_tl_type_name(
    tl: CodecBuild, auth_key_sample: dict[str, Any]
) -> None:
    """Source: auth_key_creation_sample.dh_gen_ok_payload (official). Reader.read_object takes
    the same `expected` as decode: a TL type name is accepted and enforced."""
    payload = hexbytes(auth_key_sample["dh_gen_ok_payload"])
    reader = tl.Reader(payload)
    reader.read_raw(UNENCRYPTED_HEADER)
    answer = reader.read_object("Set_client_DH_params_answer")
    assert isinstance(answer, tl.types.DhGenOk)
    reader = tl.Reader(payload)
    reader.read_raw(UNENCRYPTED_HEADER)
    with pytest.raises(tlcodec.DecodeError, match="ResPQ"):
        reader.read_object("ResPQ")
