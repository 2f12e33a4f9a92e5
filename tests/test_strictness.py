"""Strictness: every malformed input is rejected with the right exception and a useful message.

Decoding raises `tlcodec.DecodeError` (a `ValueError`) whose `.offset` points at the problem and
whose message names what was expected (the type, the hex id). Encoding raises `TypeError` for a
wrong Python type or a missing value and `ValueError` for a value that does not fit, naming
`Class.field`. Bytes from a socket are hostile: a count or a length must never make the decoder
allocate, read past the buffer or recurse without bound. (DESIGN.md "Strictness is a feature".)
"""

from __future__ import annotations

import gzip
import re
import struct
import zlib
from typing import Any, Callable

import pytest

from tlcodec import DecodeError

from support import (
    GZIP_PACKED_ID,
    JSON_ARRAY_ID,
    JSON_NULL_ID,
    MSGS_ACK_ID,
    VECTOR_ID,
    CodecBuild,
    memory_use,
)

TOKEN = bytes(range(1, 33))


def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def tl_blob(data: bytes) -> bytes:
    """A TL bytes/string value: length prefix, data, zero padding (PROTOCOL.md 1.3)."""
    if len(data) <= 253:
        header = bytes([len(data)])
    else:
        header = b"\xfe" + len(data).to_bytes(3, "little")
    return header + data + bytes(-(len(header) + len(data)) & 3)


def gzip_packed(payload: bytes, packed: bytes | None = None) -> bytes:
    """A boxed gzip_packed whose body is `packed` (default: a valid gzip of `payload`)."""
    return u32(GZIP_PACKED_ID) + tl_blob(gzip.compress(payload) if packed is None else packed)


def decode_error(tl: CodecBuild, data: Any, *args: Any, **kwargs: Any) -> DecodeError:
    """Decode `data`, which must fail with DecodeError; the error is returned for inspection."""
    with pytest.raises(DecodeError) as info:
        tl.decode(data, *args, **kwargs)
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error.offset, int)
    assert f"offset {error.offset}" in str(error)
    return error


# --------------------------------------------------------------------------------------------
# Valid encodings used as the base of the truncation and mutation tests


def login_token(tl: CodecBuild) -> Any:
    return tl.types.auth.LoginToken(expires=1707425135, token=TOKEN)


def full_user(tl: CodecBuild) -> Any:
    """A user with flags and flags2 fields, a photo, a status and usernames."""
    return tl.types.User(
        contact=True,
        id=123456789,
        access_hash=-987654321,
        first_name="Ann",
        last_name="Lee",
        username="ann",
        photo=tl.types.UserProfilePhoto(has_video=True, photo_id=42, stripped_thumb=b"\x01\x02",
                                        dc_id=2),
        status=tl.types.UserStatusOffline(was_online=1707425000),
        usernames=[tl.types.Username(editable=True, active=True, username="ann"),
                   tl.types.Username(active=False, username="ann_old")],
        color=tl.types.PeerColor(color=5),
    )


def login_token_success(tl: CodecBuild) -> Any:
    return tl.types.auth.LoginTokenSuccess(
        authorization=tl.types.auth.Authorization(tmp_sessions=1, future_auth_token=b"f" * 20,
                                                  user=full_user(tl))
    )


def invoke_with_layer(tl: CodecBuild) -> Any:
    return tl.functions.InvokeWithLayer(
        layer=228,
        query=tl.functions.InitConnection(
            api_id=12345,
            device_model="PC",
            system_version="Linux",
            app_version="1.0",
            system_lang_code="en",
            lang_pack="",
            lang_code="en",
            proxy=tl.types.InputClientProxy(address="127.0.0.1", port=443),
            params=tl.types.JsonObject(value=[
                tl.types.JsonObjectValue(key="k", value=tl.types.JsonNumber(value=1.5))]),
            query=tl.functions.auth.ExportLoginToken(api_id=12345, api_hash="h" * 32,
                                                     except_ids=[1, 2]),
        ),
    )


VALID_ENCODINGS: dict[str, Callable[[CodecBuild], Any]] = {
    "loginToken": login_token,
    "loginTokenSuccess_user_photo_status_usernames": login_token_success,
    "invokeWithLayer_initConnection": invoke_with_layer,
}


# --------------------------------------------------------------------------------------------
# Truncation and trailing bytes


@pytest.mark.parametrize("name", sorted(VALID_ENCODINGS))
def test_truncation_at_every_byte_raises_decode_error(tl: CodecBuild, name: str) -> None:
    obj = VALID_ENCODINGS[name](tl)
    data = tl.encode(obj)
    assert tl.decode(data) == obj
    for cut in range(len(data)):
        with pytest.raises(DecodeError) as info:
            tl.decode(data[:cut])
        # The problem is found inside what was given, never past it.
        assert 0 <= info.value.offset <= cut, (cut, str(info.value))


@pytest.mark.parametrize("name", sorted(VALID_ENCODINGS))
def test_truncation_is_reported_with_the_expected_class_too(tl: CodecBuild, name: str) -> None:
    obj = VALID_ENCODINGS[name](tl)
    data = tl.encode(obj)
    for cut in range(0, len(data), 3):
        with pytest.raises(DecodeError):
            type(obj).from_bytes(data[:cut])


def test_truncated_header_names_what_was_being_read(tl: CodecBuild) -> None:
    error = decode_error(tl, tl.encode(login_token(tl))[:2])
    assert error.offset == 0
    assert "truncated" in str(error)


def test_bytes_length_beyond_the_buffer_is_rejected(tl: CodecBuild) -> None:
    # A token announced as 200 bytes, with only 4 of them present.
    login_token_id = tl.types.auth.LoginToken.CONSTRUCTOR_ID
    data = u32(login_token_id) + struct.pack("<i", 1) + bytes([200]) + b"abcd"
    error = decode_error(tl, data)
    assert error.offset == 8
    assert "200" in str(error)


def test_long_form_length_beyond_the_buffer_is_rejected(tl: CodecBuild) -> None:
    data = (u32(tl.types.auth.LoginToken.CONSTRUCTOR_ID) + struct.pack("<i", 1)
            + b"\xfe" + (0xFFFFFF).to_bytes(3, "little") + bytes(64))
    error = decode_error(tl, data)
    assert error.offset == 8


def test_trailing_bytes_after_a_top_level_value_are_rejected(tl: CodecBuild) -> None:
    data = tl.encode(login_token(tl))
    error = decode_error(tl, data + b"\x00\x00\x00\x00")
    assert error.offset == len(data)
    assert "4 trailing bytes" in str(error)
    status = tl.encode(tl.types.UserStatusOnline(expires=5))
    error = decode_error(tl, status + b"\x01", "UserStatus")
    assert "trailing" in str(error)


def test_trailing_bytes_are_allowed_when_asked(tl: CodecBuild) -> None:
    data = tl.encode(login_token(tl))
    assert tl.decode(data + b"\x01\x02\x03\x04", allow_trailing=True) == login_token(tl)
    assert tl.decode(data + b"\x01", "auth.LoginToken", allow_trailing=True) == login_token(tl)


def test_reader_reads_are_bounds_checked(tl: CodecBuild) -> None:
    for read, data in [
        ("read_int", b"\x01\x02\x03"),
        ("read_uint", b""),
        ("read_long", bytes(7)),
        ("read_double", bytes(4)),
        ("read_bool", b"\xb5\x75"),
        ("read_bytes", b""),
        ("read_string", b"\x05abc"),
        ("read_object", b"\x80\x19\x9f"),
    ]:
        with pytest.raises(DecodeError):
            getattr(tl.Reader(data), read)()
    reader = tl.Reader(bytes(8))
    with pytest.raises(DecodeError):
        reader.read_raw(9)
    assert reader.read_raw(8) == bytes(8)


def test_reader_rejects_a_non_bool_id_for_bool(tl: CodecBuild) -> None:
    with pytest.raises(DecodeError, match="Bool"):
        tl.Reader(u32(0x12345678)).read_bool()
    error = decode_error(tl, u32(0x12345678), "Bool")
    assert "0x12345678" in str(error)


# --------------------------------------------------------------------------------------------
# Constructor ids: unknown, and of the wrong type


def test_unknown_constructor_id_names_the_id_and_the_expected_type(tl: CodecBuild) -> None:
    data = u32(0xDEADBEEF) + bytes(8)
    error = decode_error(tl, data, "auth.LoginToken")
    assert error.offset == 0
    assert "0xdeadbeef" in str(error)
    assert "auth.LoginToken" in str(error)
    error = decode_error(tl, data)
    assert "0xdeadbeef" in str(error)


def test_unknown_constructor_id_inside_a_field_points_at_the_field(tl: CodecBuild) -> None:
    # auth.loginTokenSuccess whose authorization field starts with an unknown id.
    data = u32(tl.types.auth.LoginTokenSuccess.CONSTRUCTOR_ID) + u32(0x0BADF00D) + bytes(8)
    error = decode_error(tl, data)
    assert error.offset == 4
    assert "0x0badf00d" in str(error)
    assert "auth.Authorization" in str(error)


def test_constructor_of_the_wrong_type_in_a_typed_field(tl: CodecBuild) -> None:
    # auth.authorization expects a User in `user`; put a UserStatus there instead.
    authorization = tl.types.auth.Authorization(user=tl.types.UserEmpty(id=7))
    data = tl.encode(authorization)
    user_at = data.index(u32(tl.types.UserEmpty.CONSTRUCTOR_ID))
    bad = data[:user_at] + tl.encode(tl.types.UserStatusEmpty())
    error = decode_error(tl, bad)
    assert error.offset == user_at
    message = str(error)
    assert "expected User" in message
    assert "userStatusEmpty" in message and "09d05049" in message


def test_constructor_of_the_wrong_type_at_top_level(tl: CodecBuild) -> None:
    error = decode_error(tl, tl.encode(tl.types.UserStatusEmpty()), "User")
    assert error.offset == 0
    assert "expected User" in str(error) and "userStatusEmpty" in str(error)
    # A function where a constructor type is expected is the wrong type too.
    request = tl.encode(tl.functions.auth.ImportLoginToken(token=TOKEN))
    error = decode_error(tl, request, "auth.LoginToken")
    assert "auth.LoginToken" in str(error) and "95ac5ce4" in str(error)


def test_expected_class_rejects_another_constructor_of_the_same_type(tl: CodecBuild) -> None:
    data = tl.encode(tl.types.auth.LoginTokenMigrateTo(dc_id=4, token=TOKEN))
    error = decode_error(tl, data, tl.types.auth.LoginToken)
    assert error.offset == 0
    assert "auth.loginToken" in str(error) and "068e9916" in str(error)
    with pytest.raises(DecodeError, match="auth.loginTokenMigrateTo"):
        tl.types.auth.LoginToken.from_bytes(data)
    migrate_to = tl.types.auth.LoginTokenMigrateTo(dc_id=4, token=TOKEN)
    assert tl.decode(data, "auth.LoginToken") == migrate_to


def test_generic_query_field_rejects_a_constructor(tl: CodecBuild) -> None:
    # invokeWithLayer's query:!X must be a function call, not a plain object.
    data = (
        u32(tl.functions.InvokeWithLayer.CONSTRUCTOR_ID)
        + struct.pack("<i", 228)
        + tl.encode(login_token(tl))
    )
    error = decode_error(tl, data)
    assert error.offset == 8
    assert "function" in str(error)


def test_vector_without_its_id_is_rejected(tl: CodecBuild) -> None:
    error = decode_error(tl, u32(0x12345678) + struct.pack("<i", 0), "Vector<long>")
    assert "0x1cb5c415" in str(error) and "0x12345678" in str(error)


# --------------------------------------------------------------------------------------------
# Lengths of bytes/string


def test_length_byte_0xff_is_rejected(tl: CodecBuild) -> None:
    login_token_id = tl.types.auth.LoginToken.CONSTRUCTOR_ID
    data = u32(login_token_id) + struct.pack("<i", 1) + b"\xff" + bytes(300)
    error = decode_error(tl, data)
    assert error.offset == 8
    assert "0xff" in str(error)


@pytest.mark.parametrize("length", [0, 1, 253])
def test_long_form_length_below_254_is_rejected(tl: CodecBuild, length: int) -> None:
    content = bytes(length)
    blob = b"\xfe" + length.to_bytes(3, "little") + content + bytes(-(4 + length) & 3)
    data = u32(tl.types.auth.LoginToken.CONSTRUCTOR_ID) + struct.pack("<i", 1) + blob
    error = decode_error(tl, data)
    assert error.offset == 8
    assert str(length) in str(error) and "254" in str(error)


def test_long_form_length_of_254_is_accepted(tl: CodecBuild) -> None:
    blob = b"\xfe\xfe\x00\x00" + bytes(254) + bytes(2)
    data = u32(tl.types.auth.LoginToken.CONSTRUCTOR_ID) + struct.pack("<i", 1) + blob
    assert tl.decode(data).token == bytes(254)


def test_non_zero_padding_is_tolerated(tl: CodecBuild) -> None:
    # PROTOCOL.md 1.3: padding is zero when written, not checked when read.
    data = bytearray(tl.encode(tl.types.auth.LoginToken(expires=1, token=b"x")))
    assert data[-2:] == b"\x00\x00"
    data[-2:] = b"\xaa\xbb"
    assert tl.decode(bytes(data)) == tl.types.auth.LoginToken(expires=1, token=b"x")


# --------------------------------------------------------------------------------------------
# Vector counts


def msgs_ack_with_count(count: int, payload: bytes) -> bytes:
    return u32(MSGS_ACK_ID) + u32(VECTOR_ID) + struct.pack("<i", count) + payload


def test_vector_count_larger_than_the_bytes_left_is_rejected(tl: CodecBuild) -> None:
    # Three longs announced, two present.
    data = msgs_ack_with_count(3, struct.pack("<qq", 1, 2))
    error = decode_error(tl, data)
    assert error.offset == 8  # the count
    assert "3" in str(error)


@pytest.mark.parametrize("count", [0x7FFFFFFF, -1, -0x80000000])
def test_hostile_vector_count_is_rejected_at_the_count(tl: CodecBuild, count: int) -> None:
    error = decode_error(tl, msgs_ack_with_count(count, struct.pack("<q", 1)))
    assert error.offset == 8
    assert str(count) in str(error)


def test_vector_count_checked_against_element_size_for_boxed_elements(tl: CodecBuild) -> None:
    # Vector<User>: each element is at least 4 bytes (an id), so 5 elements need 20 bytes.
    data = u32(VECTOR_ID) + struct.pack("<i", 5) + bytes(16)
    error = decode_error(tl, data, "Vector<User>")
    assert error.offset == 4


@pytest.mark.parametrize("count", [1_000_000, 0x7FFFFFFF])
def test_hostile_vector_count_allocates_nothing(tl: CodecBuild, count: int) -> None:
    # A naive decoder reserves `count` list slots before reading them (8 MB for a million);
    # the count must be checked against the bytes left first.
    data = msgs_ack_with_count(count, struct.pack("<q", 1))
    used = memory_use(lambda: tl.decode(data), expected_errors=DecodeError)
    assert isinstance(used.error, DecodeError), used
    assert used.peak < 256 * 1024, f"decoding a hostile count allocated {used.peak} bytes"


# --------------------------------------------------------------------------------------------
# UTF-8


def user_with_first_name_bytes(tl: CodecBuild, raw: bytes) -> tuple[bytes, int]:
    """A valid `user` encoding whose first_name content is replaced by `raw`."""
    placeholder = "Q" * len(raw)
    data = tl.encode(tl.types.User(id=1, first_name=placeholder))
    at = data.index(tl_blob(placeholder.encode()))
    return data[:at] + tl_blob(raw) + data[at + len(tl_blob(raw)):], at


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe",  # never valid in UTF-8
        b"\xc0\xaf",  # overlong encoding of "/"
        b"\xed\xa0\x80",  # an encoded UTF-16 surrogate
        b"ab\xe2\x82",  # a sequence cut short
    ],
)
def test_invalid_utf8_in_a_string_field_is_rejected(tl: CodecBuild, raw: bytes) -> None:
    data, at = user_with_first_name_bytes(tl, raw)
    error = decode_error(tl, data)
    assert error.offset == at
    assert "UTF-8" in str(error)


def test_the_same_bytes_in_a_bytes_field_decode(tl: CodecBuild) -> None:
    for raw in (b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"ab\xe2\x82"):
        data = tl.encode(tl.types.auth.LoginToken(expires=1, token=raw))
        assert tl.decode(data).token == raw


def test_valid_utf8_in_a_string_field_decodes(tl: CodecBuild) -> None:
    data, _ = user_with_first_name_bytes(tl, "Zoë 🚀".encode())
    assert tl.decode(data).first_name == "Zoë 🚀"


# --------------------------------------------------------------------------------------------
# Nesting


def nested_json_arrays(depth: int) -> bytes:
    """jsonArray([jsonArray([... jsonNull ...])]) nested `depth` times (JSONValue is recursive)."""
    return (u32(JSON_ARRAY_ID) + u32(VECTOR_ID) + struct.pack("<i", 1)) * depth + u32(JSON_NULL_ID)


def test_moderate_nesting_decodes(tl: CodecBuild) -> None:
    value = tl.decode(nested_json_arrays(10), "JSONValue")
    for _ in range(10):
        assert isinstance(value, tl.types.JsonArray)
        (value,) = value.value
    assert isinstance(value, tl.types.JsonNull)


@pytest.mark.parametrize("depth", [200, 100_000])
def test_nesting_deeper_than_the_bound_raises_decode_error(tl: CodecBuild, depth: int) -> None:
    # Not RecursionError (or a crash): hostile input must not exhaust the stack.
    error = decode_error(tl, nested_json_arrays(depth))
    assert "nesting" in str(error)


def test_nested_json_objects_deeper_than_the_bound_raise_decode_error(tl: CodecBuild) -> None:
    # jsonObject([jsonObjectValue(key="k", value=jsonObject([...]))]): the bare-looking
    # JSONObjectValue element is boxed, so depth grows through two constructors per level.
    level = (
        u32(0x99C1D49D) + u32(VECTOR_ID) + struct.pack("<i", 1) + u32(0xC0DE1BD9) + tl_blob(b"k")
    )
    error = decode_error(tl, level * 300 + u32(JSON_NULL_ID))
    assert "nesting" in str(error)


def test_gzip_inside_gzip_deeper_than_the_bound_raises_decode_error(tl: CodecBuild) -> None:
    data = tl.encode(tl.types.JsonNull())
    for _ in range(100):
        data = gzip_packed(data)
    error = decode_error(tl, data)
    assert "nesting" in str(error)


def test_encoding_nesting_deeper_than_the_bound_raises_value_error(tl: CodecBuild) -> None:
    value: Any = tl.types.JsonNull()
    for _ in range(1000):
        value = tl.types.JsonArray(value=[value])
    with pytest.raises(ValueError, match="nesting"):
        tl.encode(value)


# --------------------------------------------------------------------------------------------
# gzip_packed


def test_gzip_packed_decodes_transparently_where_the_object_is_expected(tl: CodecBuild) -> None:
    inner = login_token(tl)
    packed = gzip_packed(tl.encode(inner))
    assert tl.decode(packed) == inner
    assert tl.decode(packed, "auth.LoginToken") == inner
    assert tl.decode(packed, tl.types.auth.LoginToken) == inner
    # Inside a typed field: loginTokenSuccess.authorization sent gzip-packed.
    authorization = tl.types.auth.Authorization(user=tl.types.UserEmpty(id=7))
    success_id = tl.types.auth.LoginTokenSuccess.CONSTRUCTOR_ID
    data = u32(success_id) + gzip_packed(tl.encode(authorization))
    assert tl.decode(data) == tl.types.auth.LoginTokenSuccess(authorization=authorization)


def test_gzip_packed_content_must_match_the_expected_type(tl: CodecBuild) -> None:
    packed = gzip_packed(tl.encode(tl.types.UserEmpty(id=7)))
    error = decode_error(tl, packed, "auth.LoginToken")
    assert error.offset == 0
    assert "auth.LoginToken" in str(error) and "userEmpty" in str(error)


def test_gzip_packed_body_with_trailing_bytes_is_rejected(tl: CodecBuild) -> None:
    packed = gzip_packed(tl.encode(login_token(tl)) + b"\x00\x00\x00\x00")
    assert "trailing" in str(decode_error(tl, packed))


def test_gzip_packed_inflating_past_a_small_limit_is_rejected(tl: CodecBuild) -> None:
    inner = tl.encode(tl.types.auth.LoginToken(expires=1, token=bytes(1000)))
    packed = gzip_packed(inner)
    assert tl.decode(packed, max_inflated=len(inner)) == tl.decode(inner)
    error = decode_error(tl, packed, max_inflated=len(inner) - 1)
    assert error.offset == 0
    assert "limit" in str(error) and str(len(inner) - 1) in str(error)


def test_gzip_bomb_past_the_default_limit_is_rejected(tl: CodecBuild) -> None:
    # 17 MiB of zeros compress to ~17 KB: a small packet must not become a huge allocation.
    assert tl.DEFAULT_MAX_INFLATED == 16 * 1024 * 1024
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    packed = bomb.compress(bytes(17 * 1024 * 1024)) + bomb.flush()
    assert len(packed) < 64 * 1024
    error = decode_error(tl, gzip_packed(b"", packed=packed))
    assert "limit" in str(error) and str(tl.DEFAULT_MAX_INFLATED) in str(error)


def test_corrupt_gzip_is_rejected(tl: CodecBuild) -> None:
    packed = bytearray(gzip.compress(tl.encode(login_token(tl))))
    packed[12] ^= 0xFF  # inside the deflate stream
    error = decode_error(tl, gzip_packed(b"", packed=bytes(packed)))
    assert error.offset == 0
    assert "gzip" in str(error)


def test_gzip_with_a_bad_checksum_is_rejected(tl: CodecBuild) -> None:
    packed = bytearray(gzip.compress(tl.encode(login_token(tl))))
    packed[-8] ^= 0x01  # the CRC32 of the trailer
    assert "gzip" in str(decode_error(tl, gzip_packed(b"", packed=bytes(packed))))


def test_not_gzip_at_all_is_rejected(tl: CodecBuild) -> None:
    assert "gzip" in str(decode_error(tl, gzip_packed(b"", packed=tl.encode(login_token(tl)))))


@pytest.mark.parametrize("keep", [1, 10, -8, -1])
def test_truncated_gzip_is_rejected(tl: CodecBuild, keep: int) -> None:
    packed = gzip.compress(tl.encode(login_token(tl)))
    error = decode_error(tl, gzip_packed(b"", packed=packed[:keep]))
    assert "gzip" in str(error)


def test_bytes_after_a_top_level_gzip_packed_are_trailing_bytes(tl: CodecBuild) -> None:
    packed = gzip_packed(tl.encode(tl.types.UserEmpty(id=1)))
    error = decode_error(tl, packed + b"\x00\x00\x00\x00")
    assert "trailing" in str(error) and error.offset == len(packed)


@pytest.mark.parametrize(
    "extra",
    [b"junk", gzip.compress(b"\x00" * 8)],
    ids=["garbage", "second_gzip_member"],
)
def test_bytes_after_the_gzip_stream_inside_packed_data_are_rejected(
    tl: CodecBuild, extra: bytes
) -> None:
    # packed_data is one gzip stream (PROTOCOL.md 1.8). Anything after its end is malformed;
    # accepting it would silently drop data (a second member is never looked at), the same
    # thing the codec refuses for bytes after the inflated object or after a top-level value.
    packed = gzip.compress(tl.encode(tl.types.UserEmpty(id=1))) + extra
    error = decode_error(tl, gzip_packed(b"", packed=packed))
    assert error.offset == 0
    assert "gzip" in str(error)


# --------------------------------------------------------------------------------------------
# Encoding: Python types


def field_error(tl: CodecBuild, exc: type[Exception], obj: Any, where: str) -> Exception:
    """Encode `obj`, which must fail with `exc` naming `where` ("Class.field")."""
    with pytest.raises(exc) as info:
        tl.encode(obj)
    assert where in str(info.value), str(info.value)
    return info.value


@pytest.mark.parametrize("value", ["1", 1.0, None, b"1", True])
def test_int_field_rejects_a_non_int(tl: CodecBuild, value: Any) -> None:
    token = tl.types.auth.LoginToken(expires=value, token=TOKEN)
    field_error(tl, TypeError, token, "LoginToken.expires")


@pytest.mark.parametrize("value", ["1", 1.5, False])
def test_long_field_rejects_a_non_int(tl: CodecBuild, value: Any) -> None:
    peer = tl.types.InputPeerUser(user_id=value, access_hash=0)
    field_error(tl, TypeError, peer, "InputPeerUser.user_id")


@pytest.mark.parametrize("value", [b"Ann", 1, bytearray(b"Ann")])
def test_string_field_rejects_a_non_str(tl: CodecBuild, value: Any) -> None:
    field_error(tl, TypeError, tl.types.User(id=1, first_name=value), "User.first_name")


@pytest.mark.parametrize("value", ["token", 1, [1, 2]])
def test_bytes_field_rejects_a_non_bytes(tl: CodecBuild, value: Any) -> None:
    field_error(tl, TypeError, tl.types.auth.LoginToken(expires=1, token=value), "LoginToken.token")


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_bool_field_rejects_a_non_bool(tl: CodecBuild, value: Any) -> None:
    field_error(tl, TypeError, tl.types.JsonBool(value=value), "JsonBool.value")


@pytest.mark.parametrize("value", [1, "yes"])
def test_flag_true_field_rejects_a_non_bool(tl: CodecBuild, value: Any) -> None:
    field_error(tl, TypeError, tl.types.User(id=1, contact=value), "User.contact")


@pytest.mark.parametrize("value", ["1.5", None])
def test_double_field_rejects_a_non_number(tl: CodecBuild, value: Any) -> None:
    field_error(tl, TypeError, tl.types.JsonNumber(value=value), "JsonNumber.value")


@pytest.mark.parametrize("value", [{1, 2}, 1, "12", b"12"])
def test_vector_field_rejects_a_non_list(tl: CodecBuild, value: Any) -> None:
    field_error(tl, TypeError, tl.types.MsgsAck(msg_ids=value), "MsgsAck.msg_ids")


def test_vector_field_rejects_a_bad_element(tl: CodecBuild) -> None:
    field_error(tl, TypeError, tl.types.MsgsAck(msg_ids=[1, "2"]), "MsgsAck.msg_ids")
    field_error(tl, TypeError, tl.types.MsgsAck(msg_ids=[1, None]), "MsgsAck.msg_ids")
    # A boxed element of another type: entities is Vector<MessageEntity>.
    terms = tl.types.help.TermsOfService(id=tl.types.DataJSON(data="{}"), text="t",
                                         entities=[tl.types.UserEmpty(id=1)])
    field_error(tl, TypeError, terms, "TermsOfService.entities")


def test_boxed_field_rejects_a_constructor_of_another_type(tl: CodecBuild) -> None:
    obj = tl.types.auth.Authorization(user=tl.types.UserStatusEmpty())
    error = field_error(tl, TypeError, obj, "Authorization.user")
    assert "User" in str(error) and "UserStatusEmpty" in str(error)


@pytest.mark.parametrize("value", ["user", 1, {"_": "user"}])
def test_boxed_field_rejects_a_non_tl_object(tl: CodecBuild, value: Any) -> None:
    field_error(tl, TypeError, tl.types.auth.Authorization(user=value), "Authorization.user")


def test_boxed_field_rejects_a_function_call(tl: CodecBuild) -> None:
    request = tl.functions.auth.ImportLoginToken(token=b"")
    obj = tl.types.auth.LoginTokenSuccess(authorization=request)
    field_error(tl, TypeError, obj, "LoginTokenSuccess.authorization")


def test_generic_query_field_rejects_a_constructor_on_encode(tl: CodecBuild) -> None:
    obj = tl.functions.InvokeWithLayer(layer=228, query=login_token(tl))
    field_error(tl, TypeError, obj, "InvokeWithLayer.query")


@pytest.mark.parametrize(
    ("value", "exc"), [("n" * 16, TypeError), (b"short", ValueError), (bytes(32), ValueError)]
)
def test_int128_field_needs_exactly_16_bytes(
    tl: CodecBuild, value: Any, exc: type[Exception]
) -> None:
    field_error(tl, exc, tl.functions.ReqPqMulti(nonce=value), "ReqPqMulti.nonce")


def test_top_level_encode_rejects_a_non_tl_object(tl: CodecBuild) -> None:
    with pytest.raises(TypeError):
        tl.encode(b"\x00\x00\x00\x00")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tl.encode({"_": "auth.loginToken"})  # type: ignore[arg-type]


def test_unencodable_string_is_rejected(tl: CodecBuild) -> None:
    # A lone surrogate has no UTF-8 form.
    field_error(tl, ValueError, tl.types.User(id=1, first_name="\ud800"), "User.first_name")


# --------------------------------------------------------------------------------------------
# Encoding: ranges and sizes


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**64])
def test_int_out_of_range_is_rejected(tl: CodecBuild, value: int) -> None:
    obj = tl.types.auth.LoginToken(expires=value, token=b"")
    error = field_error(tl, ValueError, obj, "LoginToken.expires")
    assert str(value) in str(error)


def test_int_range_limits_encode(tl: CodecBuild) -> None:
    for value in (2**31 - 1, -(2**31)):
        obj = tl.types.auth.LoginToken(expires=value, token=b"")
        assert tl.decode(tl.encode(obj)) == obj


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**100])
def test_long_out_of_range_is_rejected(tl: CodecBuild, value: int) -> None:
    obj = tl.types.InputPeerUser(user_id=value, access_hash=0)
    error = field_error(tl, ValueError, obj, "InputPeerUser.user_id")
    assert str(value) in str(error)


def test_long_range_limits_encode(tl: CodecBuild) -> None:
    for value in (2**63 - 1, -(2**63)):
        obj = tl.types.InputPeerUser(user_id=value, access_hash=value)
        assert tl.decode(tl.encode(obj)) == obj


def test_bytes_of_2_pow_24_are_rejected(tl: CodecBuild) -> None:
    # PROTOCOL.md 1.3: the length prefix has 3 bytes; 2**24 does not fit.
    token = tl.types.auth.LoginToken(expires=1, token=bytes(2**24))
    field_error(tl, ValueError, token, "LoginToken.token")


def test_string_of_2_pow_24_bytes_is_rejected(tl: CodecBuild) -> None:
    field_error(tl, ValueError, tl.types.User(id=1, first_name="a" * 2**24), "User.first_name")


def test_bytes_of_2_pow_24_minus_1_encode_with_header_fe_ff_ff_ff(tl: CodecBuild) -> None:
    token = bytes(2**24 - 1)
    data = tl.encode(tl.types.auth.LoginToken(expires=1, token=token))
    assert data[8:12] == b"\xfe\xff\xff\xff"
    assert len(data) == 8 + 4 + 2**24 - 1 + 1  # one pad byte
    assert tl.decode(data).token == token


# --------------------------------------------------------------------------------------------
# Encoding: flags


def test_fields_sharing_a_flag_bit_set_inconsistently_are_rejected(tl: CodecBuild) -> None:
    # auth.authorization: setup_password_required:flags.1?true otherwise_relogin_days:flags.1?int
    user = tl.types.UserEmpty(id=1)
    for obj in (
        tl.types.auth.Authorization(setup_password_required=True, user=user),
        tl.types.auth.Authorization(otherwise_relogin_days=7, user=user),
    ):
        with pytest.raises(ValueError) as info:
            tl.encode(obj)
        message = str(info.value)
        assert "Authorization" in message
        assert "bit 1" in message
        assert "setup_password_required" in message and "otherwise_relogin_days" in message


def test_fields_sharing_a_flag_bit_set_together_encode(tl: CodecBuild) -> None:
    obj = tl.types.auth.Authorization(
        setup_password_required=True, otherwise_relogin_days=7, user=tl.types.UserEmpty(id=1)
    )
    data = tl.encode(obj)
    assert data[4:8] == u32(1 << 1)
    assert tl.decode(data) == obj


def test_a_decoded_flag_bit_sets_every_field_sharing_it(tl: CodecBuild) -> None:
    # Bit 1 on the wire means both the `true` and the int are present.
    data = (
        u32(tl.types.auth.Authorization.CONSTRUCTOR_ID)
        + u32(1 << 1)
        + struct.pack("<i", 7)
        + tl.encode(tl.types.UserEmpty(id=1))
    )
    decoded = tl.decode(data)
    assert decoded.setup_password_required is True and decoded.otherwise_relogin_days == 7


# --------------------------------------------------------------------------------------------
# Construction


def test_missing_required_field_at_construction_is_a_type_error(tl: CodecBuild) -> None:
    with pytest.raises(TypeError, match="token"):
        tl.types.auth.LoginToken(expires=1)
    with pytest.raises(TypeError, match="user"):
        tl.types.auth.Authorization()


def test_unknown_keyword_at_construction_is_a_type_error(tl: CodecBuild) -> None:
    with pytest.raises(TypeError, match="tokn"):
        tl.types.auth.LoginToken(expires=1, token=TOKEN, tokn=TOKEN)
    with pytest.raises(TypeError, match="flags"):
        # Flag words are not fields.
        tl.types.auth.Authorization(flags=2, user=tl.types.UserEmpty(id=1))


def test_too_many_positional_arguments_is_a_type_error(tl: CodecBuild) -> None:
    with pytest.raises(TypeError):
        tl.types.auth.LoginToken(1, TOKEN, 3)
    assert tl.types.auth.LoginToken(1, TOKEN) == tl.types.auth.LoginToken(expires=1, token=TOKEN)


def test_required_field_set_to_none_fails_at_encode(tl: CodecBuild) -> None:
    obj = tl.types.auth.LoginToken(expires=1, token=None)
    field_error(tl, TypeError, obj, "LoginToken.token")
    obj = tl.types.auth.LoginToken(expires=1, token=TOKEN)
    obj.expires = None
    field_error(tl, TypeError, obj, "LoginToken.expires")
    field_error(tl, TypeError, tl.types.auth.Authorization(user=None), "Authorization.user")


def test_optional_field_set_to_none_is_absent(tl: CodecBuild) -> None:
    obj = tl.types.auth.Authorization(tmp_sessions=None, user=tl.types.UserEmpty(id=1))
    assert tl.encode(obj)[4:8] == u32(0)


# --------------------------------------------------------------------------------------------
# Buffer types


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview], ids=lambda w: w.__name__)
def test_bytes_field_accepts_buffers_and_encodes_identically(
    tl: CodecBuild,
    wrap: Callable[[bytes], Any],
) -> None:
    reference = tl.encode(tl.types.auth.LoginToken(expires=1, token=TOKEN))
    assert tl.encode(tl.types.auth.LoginToken(expires=1, token=wrap(TOKEN))) == reference
    long_token = bytes(range(256)) * 4
    assert tl.encode(tl.types.auth.LoginToken(expires=1, token=wrap(long_token))) == tl.encode(
        tl.types.auth.LoginToken(expires=1, token=long_token)
    )


def test_bytes_field_accepts_a_memoryview_slice(tl: CodecBuild) -> None:
    big = b"xx" + TOKEN + b"yy"
    sliced = memoryview(big)[2:-2]
    reference = tl.encode(tl.types.auth.LoginToken(expires=1, token=TOKEN))
    assert tl.encode(tl.types.auth.LoginToken(expires=1, token=sliced)) == reference


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview], ids=lambda w: w.__name__)
def test_int128_field_accepts_buffers(tl: CodecBuild, wrap: Callable[[bytes], Any]) -> None:
    nonce = bytes(range(16))
    reference = tl.encode(tl.functions.ReqPqMulti(nonce=nonce))
    assert tl.encode(tl.functions.ReqPqMulti(nonce=wrap(nonce))) == reference


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview], ids=lambda w: w.__name__)
def test_decode_accepts_buffers(tl: CodecBuild, wrap: Callable[[bytes], Any]) -> None:
    obj = login_token_success(tl)
    data = tl.encode(obj)
    assert tl.decode(wrap(data)) == obj
    assert tl.decode(wrap(data), "auth.LoginToken") == obj
    assert type(obj).from_bytes(wrap(data)) == obj
    reader = tl.Reader(wrap(data))
    assert reader.read_object() == obj


def test_decode_accepts_a_memoryview_slice_of_a_bigger_buffer(tl: CodecBuild) -> None:
    obj = login_token_success(tl)
    data = tl.encode(obj)
    big = bytearray(b"\xee" * 5 + data + b"\xee" * 7)
    view = memoryview(big)[5 : 5 + len(data)]
    assert tl.decode(view) == obj
    # The slice ends where the value ends: the bytes after it in `big` are not trailing bytes...
    # ...but a slice one byte short is truncated, even though `big` holds the byte.
    with pytest.raises(DecodeError):
        tl.decode(memoryview(big)[5 : 4 + len(data)])
    reader = tl.Reader(memoryview(big)[5:])
    assert reader.read_object() == obj
    assert reader.remaining == 7


def test_decoded_bytes_do_not_alias_a_mutable_input(tl: CodecBuild) -> None:
    data = bytearray(tl.encode(login_token(tl)))
    decoded = tl.decode(data)
    data[9:41] = bytes(32)
    assert decoded.token == TOKEN
    assert isinstance(decoded.token, bytes)


def test_decode_rejects_a_non_buffer(tl: CodecBuild) -> None:
    with pytest.raises(TypeError):
        tl.decode("80199f62")  # type: ignore[arg-type]


def test_error_messages_carry_the_offset_in_text_and_attribute(tl: CodecBuild) -> None:
    data = tl.encode(login_token(tl))[:20]
    error = decode_error(tl, data)
    assert re.search(r"at offset \d+", str(error))
    assert error.offset == 8
